"""The language server's quick path (convdsl.incremental): an edit that changes one number a layer's call
writes is published at once, from the state of the version before, as `check` reports the new text; the
whole analysis follows (hovers, definitions... wait for it) and publishes again only where it differs, which
it never should: one test makes it differ on purpose, and the whole analysis's diagnostics are published."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

from conftest import check_json, require

require("pygls")

from lsp_client import LspClient

from convdsl.lsp import convert
from convdsl.lsp import server as server_module
from convdsl.lsp.server import ConvdslServer
from convdsl.lsp.snapshot import Quick

NET = """input image: 3 x 64 x 64
features = image
    -> conv1: conv(16, 3, s=2, p=1, bias=false) -> bn -> relu
    -> conv2: conv(32, 3, s=2, p=1, bias=false) -> bn -> relu
    -> pool: maxpool(2)
output logits = features -> adaptive_avgpool(1) -> flatten -> fc: linear(10)
"""

# each edit changes one number of the text as it is by then
EDITS = [
    ("conv(16", "conv(24"),  # channels: nothing to report
    ("conv(32, 3", "conv(32, 99"),  # a kernel larger than the input: E106
    ("conv(32, 99", "conv(32, 9"),  # mended, and a number of another length
    ("maxpool(2)", "maxpool(3)"),  # 16 / 3 does not divide: E101, with fixes
    ("linear(10)", "linear(1000)"),
]
SEVERITY = {"error": 1, "warning": 2, "note": 3}


def _check(path: Path) -> list:
    return _rows(check_json(path)[str(path.resolve())])


def _rows(checked: list) -> list:
    """`check --format json`'s diagnostics of one file as _shown gives the published ones."""
    return sorted(
        (
            d["code"],
            SEVERITY[d["severity"]],
            d["message"],
            d["line"] - 1,
            d["column"] - 1,
            json.dumps(d.get("fixes") or None, sort_keys=True),
        )
        for d in checked
    )


def _shown(published: list) -> list:
    return sorted(
        (
            d["code"],
            d["severity"],
            d["message"],
            d["range"]["start"]["line"],
            d["range"]["start"]["character"],
            json.dumps(d.get("data") or None, sort_keys=True),  # the fixes, in check's JSON form
        )
        for d in published
    )


def _number_range(text: str, old: str, new: str) -> tuple[dict, str]:
    """The range of the one number `old` -> `new` changes, and the new number."""
    start = text.index(old)
    offset = start + next((i for i, (x, y) in enumerate(zip(old, new)) if x != y), min(len(old), len(new)))
    while text[offset - 1].isdigit():  # back to the number's first digit
        offset -= 1
    end = offset
    while text[end].isdigit():
        end += 1
    line = text.count("\n", 0, offset)
    column = offset - (text.rfind("\n", 0, offset) + 1)
    after = text.replace(old, new, 1)
    number = after[offset : end + len(after) - len(text)]
    edit = {"start": {"line": line, "character": column}, "end": {"line": line, "character": column + end - offset}}
    return edit, number


def test_number_edits_are_published_as_check_reports_them_and_once(tmp_path):
    path = tmp_path / "net.cdsl"
    path.write_text(NET)
    client = LspClient()
    try:
        client.initialize()
        uri = client.open(path, NET)
        assert _shown(client.diagnostics(uri, 1)) == _check(path)
        text = NET
        for old, new in EDITS:
            edit, number = _number_range(text, old, new)
            text = text.replace(old, new, 1)
            version = client.change(uri, number, edit)
            published = client.diagnostics(uri, version)
            path.write_text(text)
            assert _shown(published) == _check(path), (old, new)
            # a hover waits for the whole analysis: the layer's new shape
            line = text[: text.index("pool: maxpool")].count("\n")
            hover = client.at("textDocument/hover", uri, line, text.splitlines()[line].index("maxpool(") + 1)
            assert hover is not None
        # the E101 of the fourth edit came with its fixes (the last edit left it)
        assert any(d[0] == "E101" and d[5] != "null" for d in _check(path))
        # once per version: the whole analyses agreed, and published nothing more
        client.request("shutdown", None)
        versions = [
            m["params"].get("version")
            for m in [*client.passed_over, *_drain(client)]
            if m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
        ]
        assert versions == [], versions  # every publication was read by diagnostics() above, none came twice
    finally:
        client.close()


def _keystrokes(text: str, at: int, typed: str) -> list[tuple[int, int, str]]:
    """(offset, end offset, text) of each key: `typed` typed at `at` a character at a time (a line break
    as Enter), then taken out a backspace at a time."""
    keys = [(at + i, at + i, char) for i, char in enumerate(typed)]
    keys += [(at + i - 1, at + i, "") for i in range(len(typed), 0, -1)]
    return keys


def _position(text: str, offset: int) -> dict:
    line = text.count("\n", 0, offset)
    return {"line": line, "character": offset - (text.rfind("\n", 0, offset) + 1)}


def test_a_line_typed_key_by_key_is_published_as_check_reports_each_text(tmp_path):
    """An editor session: a layer, then a new line of layers, typed into a chain a key at a time and taken out
    again. On the way: spaces (analysed from the text before), numbers (the same), syntax errors (published
    from the parse), kinds half typed (analysed whole), a line break. Every version's diagnostics are
    `check`'s for its text, fixes included."""
    path = tmp_path / "net.cdsl"
    path.write_text(NET)
    at = NET.index("-> bn -> relu") + len("-> bn -> relu")
    keys = _keystrokes(NET, at, " -> gelu\n    -> conv(16, 30, p=1) -> maxpool(3)  ")
    client = LspClient()
    texts, published = [], []
    try:
        client.initialize()
        uri = client.open(path, NET)
        client.diagnostics(uri, 1)
        text = NET
        for start, end, char in keys:
            version = client.change(uri, char, {"start": _position(text, start), "end": _position(text, end)})
            text = text[:start] + char + text[end:]
            texts.append(text)
            published.append(_shown(client.diagnostics(uri, version)))
    finally:
        client.close()
    assert text == NET
    files = []
    for i, version_text in enumerate(texts):
        files.append(tmp_path / f"v{i}.cdsl")
        files[-1].write_text(version_text)
    checked = check_json(*files)
    for file, shown in zip(files, published):
        expected = _rows(checked[str(file.resolve())])
        # a message or a fix that names the file names the editor's (net.cdsl), not the copy checked here
        named = [
            (code, severity, message.replace(file.name, path.name), line, column, fixes.replace(str(file), str(path)))
            for code, severity, message, line, column, fixes in expected
        ]
        assert shown == named, file.read_text()
    kinds = {tuple(code for code, *_ in shown) for shown in published}
    assert ("E002",) in kinds and () in kinds and any("E101" in k for k in kinds), kinds  # the cases met


def _drain(client) -> list:
    out = []
    while not client.notifications.empty():
        out.append(client.notifications.get())
    return out


# in this process: which path published what ---------------------------------------------------------------


class _Recorded(ConvdslServer):
    def __init__(self):
        super().__init__()
        self.publications: list[tuple] = []  # (version, codes, "quick" | "whole")
        self.quick_next = False

    def _quick_done(self, doc, text, version, result):
        self.quick_next = True
        super()._quick_done(doc, text, version, result)
        self.quick_next = False

    def _publish(self, doc, version, diagnostics, sources, nodes):
        self.publications.append(
            (version, tuple(d.code.code for d in diagnostics), "quick" if self.quick_next else "whole")
        )


def _run(server, uri, texts):
    async def scenario():
        for version, text in enumerate(texts, 1):
            server.changed(uri, text, version)
            await server.current(uri)

    try:
        asyncio.run(scenario())
    finally:
        server.worker.shutdown(wait=True)


def _checked_codes(path, texts: list[str]) -> list[tuple]:
    """Each text's codes as `check` reports them (the file holds the last text afterwards)."""
    expected = []
    for text in texts:
        path.write_text(text)
        expected.append(tuple(sorted(row[0] for row in _check(path))))
    return expected


def test_a_number_edit_is_published_from_the_quick_path_then_left_alone(tmp_path):
    path = tmp_path / "net.cdsl"
    path.write_text(NET)
    server = _Recorded()
    second = NET.replace("conv(32, 3", "conv(32, 99")
    third = second.replace("-> pool:", "-> relu * 2 -> pool:")  # a repeat put in: analysed whole
    _run(server, convert.path_to_uri(str(path)), [NET, second, third])
    assert server.publications == [(1, (), "whole"), (2, ("E106",), "quick"), (3, ("E106",), "whole")]


def test_a_kind_edit_is_published_from_the_quick_path_as_check_reports_it(tmp_path):
    """A layer's kind typed over another: published from the version before (rebind.py), as `check` reports
    the new text, and the whole analysis that follows names the layer after its new kind for hovers."""
    path = tmp_path / "net.cdsl"
    path.write_text(NET)
    texts = [
        NET,
        NET.replace("adaptive_avgpool(1)", "adaptive_maxpool(1)"),  # renamed: adaptive_maxpool1
        NET.replace("adaptive_avgpool(1)", "adaptive_maxpool(1)").replace("pool: maxpool(2)", "pool: avgpool(3)"),
    ]
    server = _Recorded()
    _run(server, convert.path_to_uri(str(path)), texts)
    expected = _checked_codes(path, texts)
    assert "E101" in expected[2]  # 16 / 3 does not divide: the third text reports it
    assert [(version, tuple(sorted(codes)), how) for version, codes, how in server.publications] == [
        (1, expected[0], "whole"),
        (2, expected[1], "quick"),
        (3, expected[2], "quick"),
    ]
    client = LspClient()
    try:
        client.initialize()
        uri = client.open(path, texts[1])
        client.diagnostics(uri, 1)
        version = client.change(uri, "avgpool(3)", _range(texts[1], "maxpool(2)"))
        published = client.diagnostics(uri, version)
        assert _shown(published) == _check(path)  # the file holds the third text
        line = texts[2][: texts[2].index("adaptive_maxpool")].count("\n")
        hover = client.at("textDocument/hover", uri, line, texts[2].splitlines()[line].index("adaptive_maxpool") + 1)
        assert "adaptive_maxpool1" in json.dumps(hover)
    finally:
        client.close()


def test_a_layer_typed_in_is_published_from_the_quick_path_at_every_key(tmp_path):
    """` -> gelu` typed at the end of the line before `-> pool:` a key at a time: the texts that parse (` -> g`: a name no kind has,
    the layers after it without input; ` -> gelu`: a layer more) are published from the version before
    (splice.py, rebind.py), the others (` -`, ` ->`) from their syntax errors; each as `check` reports it.
    The whole analysis after each is left alone where it agrees."""
    path = tmp_path / "net.cdsl"
    at = NET.index("\n    -> pool:")
    typed = [NET[:at] + " -> gelu"[:n] + NET[at:] for n in range(1, len(" -> gelu") + 1)]
    texts = [NET, *typed, *reversed(typed[:-1]), NET]
    server = _Recorded()
    _run(server, convert.path_to_uri(str(path)), texts)
    expected = _checked_codes(path, texts)
    assert "E005" in expected[len(" -> g")] and expected[len(" -> gelu")] == expected[0]
    published = [(version, tuple(sorted(codes))) for version, codes, _ in server.publications]
    # each version published once (the whole analysis agreed), as check reports it
    assert published == [(version, codes) for version, codes in enumerate(expected, 1)]
    how = {version: path for version, _, path in server.publications}
    for version, text in enumerate(texts, 1):
        if " -> g" in text or version == 2:  # (2: a space typed at the line's end)
            assert how[version] == "quick", (version, text[at - 5 : at + 10])


def test_the_enter_key_is_published_from_the_quick_path_at_the_new_places(tmp_path):
    """conv1's line broken before `-> bn`, indented a key at a time, then joined again: each text published once
    from the version before (trivia.py), as `check` reports it, its E101 (after the break) a line lower with
    its fixes; and a hover after the break reads the layer at its new place."""
    path = tmp_path / "net.cdsl"
    base = NET.replace("maxpool(2)", "maxpool(3)")  # 16 / 3 does not divide: E101, with fixes
    at = base.index(" -> bn")
    broken = [base[:at] + "\n" + " " * width + base[at:] for width in range(4)]
    texts = [base, *broken, *reversed(broken[:-1]), base]
    server = _Recorded()
    _run(server, convert.path_to_uri(str(path)), texts)
    expected = _checked_codes(path, texts)
    assert all("E101" in codes for codes in expected)
    assert [(version, tuple(sorted(codes))) for version, codes, _ in server.publications] == [
        (version, codes) for version, codes in enumerate(expected, 1)
    ]
    assert all(how == "quick" for version, _, how in server.publications if version > 1)
    client = LspClient()
    try:
        client.initialize()
        path.write_text(broken[-1])
        uri = client.open(path, base)
        client.diagnostics(uri, 1)
        version = client.change(uri, "\n" + " " * 3, {"start": _position(base, at), "end": _position(base, at)})
        published = client.diagnostics(uri, version)
        assert _shown(published) == _check(path)
        line = broken[-1][: broken[-1].index("-> bn")].count("\n")
        hover = client.at("textDocument/hover", uri, line, len("    -> b"))
        assert "bn1" in json.dumps(hover)
    finally:
        client.close()


BLOCKS_NET = """block pair(c) {
    out = in -> conv(c, 3, p=1) -> relu
}
input image: 3 x 32 x 32
features = image
    -> conv1: conv(16, 3, p=1)
    -> stage: (pair(16) -> pair(16) * 2)
output logits = features -> adaptive_avgpool(1) -> flatten -> fc: linear(10)
"""


def test_a_new_line_typed_before_a_group_of_blocks_is_published_from_the_quick_path_at_every_key(tmp_path):
    """`-> d: gelu` typed a key at a time on a new line before a group of block calls, then erased: ` -> d`
    cuts the chain, and lowering makes none of the group's instances; `d: gelu` mends it. Every
    version after the first is published once from the version before (syntax errors, white space, splice.py,
    rebind.py), as `check` reports it."""
    path = tmp_path / "net.cdsl"
    at = BLOCKS_NET.index("\n    -> stage:")
    typed = "\n    -> d: gelu"
    texts = [BLOCKS_NET[:at] + typed[:n] + BLOCKS_NET[at:] for n in range(len(typed) + 1)]
    texts += reversed(texts[:-1])
    server = _Recorded()
    _run(server, convert.path_to_uri(str(path)), texts)
    expected = _checked_codes(path, texts)
    assert "E005" in expected[len("\n    -> d")] and expected[len(typed)] == expected[0] == ()
    assert [(version, tuple(sorted(codes))) for version, codes, _ in server.publications] == [
        (version, codes) for version, codes in enumerate(expected, 1)
    ]
    assert all(how == "quick" for version, _, how in server.publications if version > 1)


def _typed_over(tmp_path, at: int, length: int, numbers: list[str]) -> None:
    """BLOCKS_NET with the number of `length` characters at offset `at` written over by each of `numbers` in
    turn: every version after the first is published once, from the quick path, as `check` reports it."""
    path = tmp_path / "net.cdsl"
    texts = [BLOCKS_NET[:at] + number + BLOCKS_NET[at + length :] for number in numbers]
    server = _Recorded()
    _run(server, convert.path_to_uri(str(path)), texts)
    expected = _checked_codes(path, texts)
    assert [(version, tuple(sorted(codes))) for version, codes, _ in server.publications] == [
        (version, codes) for version, codes in enumerate(expected, 1)
    ]
    assert all(how == "quick" for version, _, how in server.publications if version > 1)


def test_a_stages_width_typed_over_is_published_from_the_quick_path_at_every_key(tmp_path):
    """A block's argument typed over a key at a time (`pair(16` -> `pair(1` -> `pair(12` -> `pair(128`, and
    back), the stage's repeat after it on the line (blockargs.py: its instances' layers bound again, the calls
    after it moved)."""
    at = BLOCKS_NET.index("pair(16) ->") + len("pair(")
    _typed_over(tmp_path, at, 2, ["16", "1", "12", "128", "12", "1", "16", "2", "24"])


def test_a_stages_depth_typed_over_is_published_from_the_quick_path_at_every_key(tmp_path):
    """A repeat's count in a labelled group typed over a key at a time (`* 2` -> `* 1` -> `* 12` -> `* 1`...)
    (recount.py: copies put in after the last, or the last ones taken out)."""
    _typed_over(tmp_path, BLOCKS_NET.index("* 2)") + len("* "), 1, ["2", "1", "12", "1", "3", "30", "3", "2"])


def _range(text: str, old: str) -> dict:
    start = text.index(old)
    return {"start": _position(text, start), "end": _position(text, start + len(old))}


def test_a_text_with_a_syntax_error_leaves_the_state_before_it_for_the_next_edit(tmp_path):
    """While a call is typed the text has a syntax error, and no state of its own (its network is of a repaired
    text). The state of the last text that had one is kept: an edit that leaves that text one number apart
    is still analysed quickly from it, and is what `check` says."""
    path = tmp_path / "net.cdsl"
    path.write_text(NET)
    server = _Recorded()
    broken = NET.replace("bias=false) -> bn -> relu\n    -> conv2", "bias=false -> bn -> relu\n    -> conv2")
    mended = NET.replace("conv(16, 3", "conv(24, 3")  # one number from NET: from NET's state
    different = mended.replace("maxpool(2)", "maxpool(3)")  # one number from `mended`, E101
    uri = convert.path_to_uri(str(path))
    _run(server, uri, [NET, broken, mended, different])
    assert server.publications == [
        (1, (), "whole"),
        (2, ("E002",), "quick"),  # the syntax error, before what could be read is analysed
        (3, (), "quick"),
        (4, ("E101",), "quick"),
    ]
    assert server.documents[uri].state.source.text == different
    path.write_text(different)
    assert [d["code"] for d in check_json(path)[str(path.resolve())]] == ["E101"]


def test_a_syntax_error_is_published_before_the_rest_is_analysed_and_once(tmp_path):
    """A text being typed: its diagnostics are its syntax errors alone (as `check` reports them), published
    from the parse; the analysis of what could be read follows for hovers, and publishes nothing more."""
    path = tmp_path / "net.cdsl"
    path.write_text(NET)
    server = _Recorded()
    texts = [
        NET,
        NET.replace("-> bn -> relu\n    -> conv2", "-> bn -> relu -\n    -> conv2"),  # `-` typed
        NET.replace("-> bn -> relu\n    -> conv2", "-> bn -> relu ->\n    -> conv2"),
        NET.replace("-> bn -> relu\n    -> conv2", "-> bn -> relu -> \n    -> conv2"),
        NET.replace("-> pool: maxpool(2)", "-> pool: maxpool(2"),  # two errors at once, far apart
    ]
    texts[4] = texts[4].replace("-> bn -> relu\n    -> conv2", "-> bn -> relu -> \n    -> conv2")
    uri = convert.path_to_uri(str(path))
    snapshots = []

    async def scenario():
        for version, text in enumerate(texts, 1):
            server.changed(uri, text, version)
            snapshots.append(await server.current(uri))

    try:
        asyncio.run(scenario())
    finally:
        server.worker.shutdown(wait=True)
    expected = []
    for text in texts:
        path.write_text(text)
        expected.append(tuple(d["code"] for d in check_json(path)[str(path.resolve())]))
    assert [p[1] for p in server.publications] == expected
    assert [p[2] for p in server.publications] == ["whole", "quick", "quick", "quick", "quick"]
    assert [p[0] for p in server.publications] == [1, 2, 3, 4, 5]  # each once: the whole analyses agreed
    # what could be read of the last one was analysed: conv2 has its shape
    assert snapshots[-1].analysis.layers["conv2"].output_shapes == ((32, 16, 16),)


def test_lark_is_loaded_while_the_editor_is_quiet_not_at_the_first_syntax_error(tmp_path):
    """A valid text is parsed without Lark; the first text with a syntax error would wait for it to load (70 ms
    and more). Once the first diagnostics are out and the editor is quiet, the server loads it."""
    from convdsl import grammar

    path = tmp_path / "net.cdsl"
    path.write_text(NET)
    server = _Recorded()
    uri = convert.path_to_uri(str(path))
    grammar.parser.cache_clear()

    async def scenario():
        server.changed(uri, NET, 1)
        await server.current(uri)
        assert grammar.parser.cache_info().currsize == 0  # the valid text did not need it
        await asyncio.sleep(server_module.WARM_SECONDS * 3)
        await asyncio.get_running_loop().run_in_executor(server.worker, lambda: None)  # the worker's queue done

    try:
        asyncio.run(scenario())
    finally:
        server.worker.shutdown(wait=True)
    assert grammar.parser.cache_info().currsize == 1


def test_a_quick_result_that_differs_is_corrected_by_the_whole_analysis(tmp_path, monkeypatch, caplog):
    """The safety net: were the quick path wrong, the whole analysis publishes the right diagnostics."""
    path = tmp_path / "net.cdsl"
    path.write_text(NET)
    real = server_module.quick

    def wrong(*args, **kwargs):
        result = real(*args, **kwargs)
        return Quick((), result.network, None) if result is not None else None

    monkeypatch.setattr(server_module, "quick", wrong)
    server = _Recorded()
    with caplog.at_level(logging.ERROR, logger="convdsl.lsp.server"):
        _run(server, convert.path_to_uri(str(path)), [NET, NET.replace("conv(32, 3", "conv(32, 99")])
    assert server.publications == [(1, (), "whole"), (2, (), "quick"), (2, ("E106",), "whole")]
    assert any("other diagnostics than the whole one" in r.getMessage() for r in caplog.records)
