"""Highlighting: the Pygments lexer on every file the repository has, its words taken from the grammar and
the catalogue, and the VS Code extension (TextMate grammar tests and `vsce package`, through npm).

CI sets CONVDSL_REQUIRE_NPM=1, so that a machine without npm fails the extension's test instead of
skipping it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import EXAMPLES, ROOT, require
from fuzz.generate import generate

pygments = require("pygments")
from pygments.token import Comment, Error, Keyword, Name, Number, Operator, String

from convdsl.highlight import ConvdslLexer
from convdsl.highlight import textmate, vocabulary
from convdsl.layers import KINDS

FILES = sorted(EXAMPLES.glob("*.cdsl")) + sorted((ROOT / "tests" / "fixtures").rglob("*.cdsl"))
VSCODE = ROOT / "editors" / "vscode"


def lex(text: str) -> list[tuple]:
    return [(token, value) for token, value in ConvdslLexer().get_tokens(text) if value.strip()]


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_error_tokens_and_nothing_lost(path):
    text = path.read_text(encoding="utf-8")
    tokens = list(ConvdslLexer().get_tokens_unprocessed(text))
    assert [(i, v) for i, t, v in tokens if t in Error] == []
    assert "".join(v for _, _, v in tokens) == text


@pytest.mark.parametrize("seed", range(0, 200, 5))
def test_no_error_tokens_on_generated_programs(seed):
    for hostile in (False, True):
        text = generate(seed, hostile=hostile)
        assert [v for t, v in lex(text) if t in Error] == []


def test_token_kinds():
    tokens = lex(
        "network n\ninput x: 3 x H x 32\nblock b(c, k=1) = conv(c, k=3x1) -> bn\n"
        "y = x -> conv1: b(8) * 2 if true and not small else x  # note\nz = x -> 'a' -> \"b\" -> 1.5e3\n"
    )
    assert (Keyword.Declaration, "network") in tokens and (Name.Namespace, "n") in tokens
    assert (Name.Variable, "x") in tokens  # the input
    assert tokens.count((Operator.Word, "x")) == 3  # `3 x H x 32` and `3x1`
    assert (Name, "H") in tokens
    assert (Name.Function, "b") in tokens and (Name.Attribute, "k") in tokens
    assert (Name.Builtin, "conv") in tokens and (Name.Builtin, "bn") in tokens
    assert (Name.Label, "conv1") in tokens
    assert (Keyword, "if") in tokens and (Keyword, "else") in tokens and (Keyword.Constant, "true") in tokens
    assert (Operator.Word, "and") in tokens and (Operator.Word, "not") in tokens
    assert (Name, "x") in tokens  # `else x`: a tensor named x is a name, not the shape operator
    assert (Comment.Single, "# note") in tokens
    assert (String.Single, "'a'") in tokens and (String.Double, '"b"') in tokens
    assert (Number.Float, "1.5e3") in tokens


def test_reuse_is_a_word_of_the_language_before_its_parenthesis():
    tokens = lex("e2 = other -> reuse(tower) -> reuse (tower)\nreuse = x -> add(reuse)\n")
    assert tokens.count((Keyword.Pseudo, "reuse")) == 2
    assert (Name, "tower") in tokens
    # a tensor named `reuse` (allowed: only a block may not take the name) stays a name
    assert (Name.Variable, "reuse") in tokens and (Name, "reuse") in tokens
    assert "reuse" not in KINDS  # not a layer kind, so not coloured as one


def test_words_come_from_the_grammar_and_the_catalogue():
    grammar = (ROOT / "grammar" / "convdsl.lark").read_text()
    literals = set(re.findall(r'"([A-Za-z_]\w*)"', re.sub(r"//[^\n]*", "", grammar)))
    assert set(vocabulary.grammar_words()) == literals
    highlighted = {
        *vocabulary.keywords(),
        *vocabulary.constants(),
        *vocabulary.operator_words(),
        *vocabulary.control_words(),
        vocabulary.SHAPE_OPERATOR,
    }
    assert highlighted == literals  # a new word of the grammar is a keyword without a change elsewhere
    for word in vocabulary.keywords():
        assert lex(word)[0][0] in Keyword, word
    assert set(vocabulary.layer_kinds()) == set(KINDS)
    for kind in KINDS:
        assert lex(f"y = x -> {kind}(1)")[4] == (Name.Builtin, kind)


def test_committed_textmate_grammar_is_generated():
    committed = (VSCODE / "syntaxes" / "convdsl.tmLanguage.json").read_text()
    assert committed == textmate.text(), (
        "run `python -m convdsl.highlight.textmate > editors/vscode/syntaxes/convdsl.tmLanguage.json`"
    )
    grammar = json.loads(committed)
    assert grammar["scopeName"] == "source.convdsl"
    kinds = next(
        p["match"]
        for p in grammar["repository"]["common"]["patterns"]
        if p.get("name") == "support.function.layer.convdsl"
    )
    assert all(re.search(rf"\b{re.escape(kind)}\b", kinds) for kind in KINDS)


def test_extension_manifest():
    manifest = json.loads((VSCODE / "package.json").read_text())
    (language,) = manifest["contributes"]["languages"]
    assert language["id"] == "convdsl" and ".cdsl" in language["extensions"]
    (grammar,) = manifest["contributes"]["grammars"]
    assert grammar["scopeName"] == "source.convdsl" and (VSCODE / grammar["path"]).is_file()
    settings = manifest["contributes"]["configuration"]["properties"]
    assert settings["convdsl.server.path"]["default"] == "convdsl"
    assert settings["convdsl.server.args"]["default"] == ["lsp"]
    configuration = json.loads((VSCODE / language["configuration"]).read_text())
    assert configuration["comments"]["lineComment"] == "#"
    lock = json.loads((VSCODE / "package-lock.json").read_text())
    for name, version in {**manifest["dependencies"], **manifest["devDependencies"]}.items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version  # pinned exactly


def _npm():
    npm = shutil.which("npm")
    if npm is None:
        if os.environ.get("CONVDSL_REQUIRE_NPM"):
            pytest.fail("CONVDSL_REQUIRE_NPM is set but npm is not installed")
        pytest.skip("npm is not installed")
    return npm


def test_extension_grammar_tests_and_package(tmp_path):
    npm = _npm()
    if not (VSCODE / "node_modules" / ".bin" / "vscode-tmgrammar-test").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=VSCODE, check=True, timeout=900, capture_output=True)
    tested = subprocess.run([npm, "test"], cwd=VSCODE, capture_output=True, text=True, timeout=600)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert tested.stdout.count("run successfuly") == len(list((VSCODE / "tests").glob("*.cdsl")))
    out = tmp_path / "convdsl.vsix"
    packaged = subprocess.run(
        [npm, "run", "package", "--", "-o", str(out)], cwd=VSCODE, capture_output=True, text=True, timeout=600
    )
    assert packaged.returncode == 0, packaged.stdout + packaged.stderr
    import zipfile

    names = zipfile.ZipFile(out).namelist()
    for needed in (
        "extension/package.json",
        "extension/extension.js",
        "extension/language-configuration.json",
        "extension/syntaxes/convdsl.tmLanguage.json",
        "extension/node_modules/vscode-languageclient/package.json",
    ):
        assert needed in names
    assert not any(name.startswith("extension/tests/") for name in names)


def test_extension_grammar_tests_fail_on_a_wrong_scope(tmp_path):
    """The grammar tests can fail: a wrong expectation is reported."""
    _npm()
    if not (VSCODE / "node_modules" / ".bin" / "vscode-tmgrammar-test").exists():
        pytest.skip("run test_extension_grammar_tests_and_package first (npm ci)")
    wrong = tmp_path / "wrong.cdsl"
    wrong.write_text('# SYNTAX TEST "source.convdsl"\nnetwork n\n# <------- entity.name.function.block.convdsl\n')
    result = subprocess.run(
        [
            str(VSCODE / "node_modules" / ".bin" / "vscode-tmgrammar-test"),
            "-g",
            str(VSCODE / "syntaxes" / "convdsl.tmLanguage.json"),
            str(wrong),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0, result.stdout
