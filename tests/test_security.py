"""Hostile files: one test (or more) per item of issue 14, each with the attack in it.

Files with hostile names are made at test time. What a file says must never
run code, damage a file that is not the output, exhaust the machine, or reach
a terminal, XML or Python as anything but inert text. The bombs themselves are
run under memory limits in tests/test_resources.py.
"""

from __future__ import annotations

import ast
import json
import os
import stat
import subprocess
import sys
import threading
import tokenize
from io import BytesIO
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT, require

NET = "input x: 3 x 8 x 8\noutput y = x -> conv(4, 3, p=1)\n"


def run(*args, cwd=ROOT, env=None, stdin=subprocess.DEVNULL, timeout=120):
    environment = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "convdsl", *map(str, args)],
        capture_output=True,
        cwd=cwd,
        env=environment,
        stdin=stdin,
        timeout=timeout,
    )


# 1. a coding declaration smuggled into the export ----------------------------------------------------------

UTF7_PAYLOAD = '# +AAo-open("pwned.txt", "w").write("x") +ACM-\n'


@pytest.mark.parametrize(
    "folder, name",
    [
        (".", "coding=utf-7.cdsl"),
        ("coding:unicode_escape", "net.cdsl"),
        ("coding:utf-7", "coding=utf-7.cdsl"),
        (".", "x\\u000aopen('pwned.txt','w').cdsl"),
    ],
)
def test_the_export_never_takes_its_encoding_from_a_name_or_a_path(tmp_path, folder, name):
    (tmp_path / folder).mkdir(exist_ok=True)
    source = tmp_path / folder / name
    source.write_text(UTF7_PAYLOAD + NET)
    relative = os.path.join(folder, name)
    result = run("export", relative, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split(b"\n")
    # Python reads lines 1 and 2 for the encoding: both are convdsl's fixed text
    assert lines[0] == b"# -*- coding: utf-8 -*-"
    assert lines[1].startswith(b"# PyTorch model exported by convdsl ") and b"coding" not in lines[1]
    assert tokenize.detect_encoding(BytesIO(result.stdout).readline)[0] == "utf-8"
    tree = ast.parse(result.stdout)  # as Python reads the file: bytes, with their declared encoding
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert "open" not in names  # the payload never became code
    docstrings = [
        node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]
    assert all("\n" not in text or "pwned" not in text for text in docstrings)


def test_verify_of_a_hostile_name_runs_no_code_from_it(tmp_path):
    require("torch")
    folder = tmp_path / "coding:unicode_escape"
    folder.mkdir()
    (folder / "coding=utf-7.cdsl").write_text(UTF7_PAYLOAD + NET)
    result = run("verify", "coding:unicode_escape/coding=utf-7.cdsl", cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not list(tmp_path.rglob("pwned.txt"))


# 2. pickles and an unsafe cache directory ------------------------------------------------------------------

# In a fresh process: any unpickling at all is recorded, then a file with a syntax error is checked (Lark
# describes it, so Lark's parser is built, from the cache or not).
_NO_PICKLE = """
import pickle, sys
def refuse(*args, **kwargs):
    open(sys.argv[2], "w").write("unpickled")
    raise RuntimeError("pickle used")
pickle.load = pickle.loads = refuse
pickle.Unpickler = refuse
import convdsl.cli
code = convdsl.cli.main(["check", "--format", "json", sys.argv[1]])
print("EXIT", code)
"""


def _check_in_fresh_process(path, cache_home, tmp, marker):
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home), "TMPDIR": str(tmp), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", _NO_PICKLE, str(path), str(marker)], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.mark.parametrize("cache_state", ["missing", "not a directory", "private"])
def test_no_pickle_is_ever_loaded_and_nothing_lands_in_the_shared_temporary_directory(tmp_path, cache_state):
    bad = tmp_path / "bad.cdsl"
    bad.write_text("input x: 3 x 8 x 8\ny = x -> conv(4, 3\n")
    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    cache_home = tmp_path / "cache"
    if cache_state == "not a directory":
        cache_home.write_text("")
    elif cache_state == "missing":
        cache_home = Path("relative/so/unusable")
    marker = tmp_path / "unpickled"
    for _ in range(2):  # the second run reads what the first saved
        result = _check_in_fresh_process(bad, cache_home, shared, marker)
        assert "EXIT 1" in result.stdout, result.stderr
        assert "E002" in result.stdout
    assert not marker.exists()
    assert list(shared.iterdir()) == []  # Lark's own cache (a pickle at a guessable name) is never written
    if cache_state == "private":
        saved = list((cache_home / "convdsl").iterdir())
        assert saved and all(p.suffix == ".marshal" for p in saved)


def _planted_cache(tmp_path, monkeypatch):
    from convdsl import cache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    directory = tmp_path / "convdsl"
    return cache, directory


@pytest.mark.parametrize("attack", ["other owner", "group writable", "world writable", "symlink"])
def test_a_cache_directory_another_user_controls_is_not_used(tmp_path, monkeypatch, attack):
    from convdsl import frontend
    from convdsl.fastparse import FORMAT

    cache, directory = _planted_cache(tmp_path, monkeypatch)
    if attack == "symlink":
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir(mode=0o700)
        directory.symlink_to(elsewhere)
    else:
        directory.mkdir(mode=0o700)
    if attack == "other owner":
        if os.getuid() != 0:
            pytest.skip("making a directory of another user takes root")
        os.chown(directory, 65534, 65534)
    elif attack == "group writable":
        directory.chmod(0o770)
    elif attack == "world writable":
        directory.chmod(0o777)
    assert cache.cache_dir() is None
    cache.write_tables(frontend.grammar_text(), FORMAT, (FORMAT, "planted"))
    assert list(directory.iterdir()) == []  # nothing written through it ...
    # ... and a file planted there is not read
    (directory / cache._tables_file(frontend.grammar_text(), FORMAT)).write_bytes(
        __import__("marshal").dumps((frontend.grammar_text(), (FORMAT, "planted")))
    )
    assert cache.read_tables(frontend.grammar_text(), FORMAT) is None


def test_a_symlink_in_the_cache_is_never_written_through(tmp_path, monkeypatch):
    from convdsl import frontend
    from convdsl.fastparse import FORMAT

    cache, directory = _planted_cache(tmp_path, monkeypatch)
    directory.mkdir(mode=0o700)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    name = cache._tables_file(frontend.grammar_text(), FORMAT)
    (directory / name).symlink_to(victim)
    (directory / f".{name}.{os.getpid()}.tmp").symlink_to(victim)  # the temporary name too
    assert cache.read_tables(frontend.grammar_text(), FORMAT) is None  # a link is not read
    cache.write_tables(frontend.grammar_text(), FORMAT, (FORMAT, "data"))
    assert victim.read_text() == "precious"


def test_a_cache_file_of_another_user_or_holding_code_is_not_read(tmp_path, monkeypatch):
    import marshal

    from convdsl import frontend
    from convdsl.fastparse import FORMAT

    cache, directory = _planted_cache(tmp_path, monkeypatch)
    grammar = frontend.grammar_text()
    cache.write_tables(grammar, FORMAT, (FORMAT, "data"))
    assert cache.read_tables(grammar, FORMAT) == (FORMAT, "data")
    path = directory / cache._tables_file(grammar, FORMAT)
    path.write_bytes(marshal.dumps((grammar, (FORMAT, compile("1", "x", "eval")))))  # a code object
    assert cache.read_tables(grammar, FORMAT) is None
    if os.getuid() == 0:
        cache.write_tables(grammar, FORMAT, (FORMAT, "data"))
        os.chown(path, 65534, 65534)
        assert cache.read_tables(grammar, FORMAT) is None


# 3. output targets that are not regular files ---------------------------------------------------------------


@pytest.fixture
def net(tmp_path):
    path = tmp_path / "net.cdsl"
    path.write_text(NET)
    return path


@pytest.mark.skipif(os.getuid() != 0, reason="only root can replace /dev/null")
def test_dev_null_as_root_stays_a_device(net):
    before = os.stat("/dev/null")
    result = run("export", net, "-o", "/dev/null")
    assert result.returncode == 0, result.stderr
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev and after.st_ino == before.st_ino


@pytest.mark.parametrize("command", [("export",), ("render", "--format", "dot")])
def test_a_link_to_a_device_stays_a_link(tmp_path, net, command):
    link = tmp_path / "out.py"
    link.symlink_to("/dev/null")
    result = run(*command, net, "-o", link)
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == "/dev/null"


def test_dev_stdout_is_written_into(net):
    result = run("export", net, "-o", "/dev/stdout")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"# -*- coding: utf-8 -*-")
    assert os.path.islink("/dev/stdout") or not os.path.exists("/dev/stdout")


def test_a_link_to_a_regular_file_keeps_the_link_and_replaces_the_file(tmp_path, net):
    real = tmp_path / "real.py"
    real.write_text("old")
    link = tmp_path / "link.py"
    link.symlink_to(real)
    assert run("export", net, "-o", link).returncode == 0
    assert link.is_symlink() and real.read_text().startswith("# -*- coding: utf-8 -*-")


def test_a_fifo_is_written_into_not_replaced(tmp_path, net):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    try:
        result = run("export", net, "-o", fifo, timeout=60)
    finally:
        if reader.is_alive():  # unblock the reader if convdsl never opened the FIFO
            with open(fifo, "wb", opener=lambda p, f: os.open(p, f | os.O_NONBLOCK)):
                pass
        reader.join(10)
    assert result.returncode == 0, result.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert received and received[0].startswith(b"# -*- coding: utf-8 -*-")


def test_a_fifo_no_one_reads_is_an_error_not_a_hang(tmp_path, net):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    result = run("export", net, "-o", fifo, timeout=60)
    assert result.returncode == 2
    assert b"no process is reading" in result.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


# 4-7. exhaustion: each bomb ends within its budget, with an error naming the limit (memory: test_resources.py) -


def block_bomb(levels: int) -> str:
    lines = ["input x: 3 x 8 x 8", "block b0() = relu if false"]
    lines += [f"block b{i}() = b{i - 1}() -> b{i - 1}()" for i in range(1, levels + 1)]
    return "\n".join([*lines, f"output y = x -> b{levels}()"]) + "\n"


def symbolic_growth(repeats: int) -> str:
    return f"input x: 3 x H x 8\noutput y = x -> (conv(3, 3, s=2, p=1) -> upsample(scale=3)) * {repeats}\n"


def include_fan_out(folder: Path, files: int = 10, fan: int = 4) -> Path:
    for i in range(files):
        (folder / f"f{i}.cdsl").write_text(f'include "f{i + 1}.cdsl"\n' * fan + f"const c{i} = {i}\n")
    (folder / f"f{files}.cdsl").write_text("block leaf() = relu\n")
    main = folder / "fan.cdsl"
    main.write_text('include "f0.cdsl"\ninput x: 3 x 8 x 8\noutput y = x -> leaf()\n')
    return main


def concat_inputs(count: int) -> str:
    lines = [f"input x{i}: 3 x 32 x 32" for i in range(count)]
    return "\n".join([*lines, f"output y = concat({', '.join(f'x{i}' for i in range(count))}) -> conv(8, 3)"]) + "\n"


@pytest.mark.parametrize("levels", [20, 60])
def test_a_block_bomb_stops_at_the_step_budget(levels):
    import convdsl
    from convdsl.model import Limits

    diagnostics = convdsl.loads(block_bomb(levels)).analyze().diagnostics
    (limit,) = [d for d in diagnostics if d.code.code == "E019"]
    assert "steps" in limit.message and "--max-layers" in limit.help
    # the budget follows --max-layers: a smaller limit stops it sooner, with the number it used
    small = convdsl.loads(block_bomb(levels), limits=Limits(max_layers=10)).analyze().diagnostics
    assert any(d.code.code == "E019" and "10,020 steps" in d.message for d in small)


def test_expansions_that_make_layers_are_not_cut_short():
    import convdsl

    text = "input x: 3 x 8 x 8\nblock b(c) = conv(c, 3, p=1) -> relu\noutput y = x -> s: (b(4) -> b(4)) * 20000\n"
    analysis = convdsl.loads(text).analyze()
    assert not analysis.has_errors and len(analysis.layers) == 80_000


def test_symbolic_growth_stops_at_the_expression_size_limit():
    import convdsl
    from convdsl.symbolic import MAX_EXPRESSION_SIZE

    diagnostics = convdsl.loads(symbolic_growth(22)).analyze().diagnostics
    (limit,) = [d for d in diagnostics if d.code.code == "E019"]
    assert f"{MAX_EXPRESSION_SIZE:,} terms" in limit.message
    assert not [d for d in convdsl.loads(symbolic_growth(3)).analyze().diagnostics if d.is_error]


def test_each_included_file_is_read_once(tmp_path, monkeypatch):
    import convdsl
    from convdsl import loading

    main = include_fan_out(tmp_path)
    reads = []
    real = loading.read_source
    monkeypatch.setattr(loading, "read_source", lambda path, **kw: reads.append(path) or real(path, **kw))
    analysis = convdsl.load(main).analyze()
    assert not analysis.diagnostics, [d.message for d in analysis.diagnostics]
    assert len(reads) == 1 + 11  # the main file, then f0 ... f10 once each (4^10 includes as written)


def test_included_text_has_a_total_budget(tmp_path, monkeypatch):
    import convdsl
    from convdsl import include_policy as includes

    monkeypatch.setattr(includes, "MAX_INCLUDED_FILES", 5)
    main = include_fan_out(tmp_path)
    (limit,) = [d for d in convdsl.load(main).analyze().diagnostics if d.code.code == "E019"]
    assert "more than 5 files are included" in limit.message
    monkeypatch.setattr(includes, "MAX_INCLUDED_FILES", 1000)
    monkeypatch.setattr(includes, "MAX_INCLUDED_BYTES", 100)
    (limit,) = [d for d in convdsl.load(main).analyze().diagnostics if d.code.code == "E019"]
    assert "MiB" in limit.message


@pytest.mark.parametrize(
    "case", ["20 inputs", "50 inputs", "resnet50 --max 1000000", "unet --max 1000000", "lenet --max 1000000"]
)
def test_sizes_stays_within_its_budget(tmp_path, case):
    from convdsl import sizes

    if "inputs" in case:
        path = tmp_path / "cat.cdsl"
        path.write_text(concat_inputs(int(case.split()[0])))
        args = [path]
    else:
        name, _, limit = case.split()
        args = [EXAMPLES / f"{name}.cdsl", "--max", limit]
    result = run("sizes", *args, "--format", "json", timeout=120)
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    if report["problem"]:
        assert f"{sizes.BUDGET:,}" in report["problem"]
    else:
        assert report["inputs"]


def test_the_size_rule_is_found_for_a_million_sizes_without_a_quadratic_search():
    from convdsl.sizes import derive_rule

    valid = list(range(12, 1_000_001, 16))
    rule = derive_rule(valid, 1_000_000)
    assert rule.text == "16k + 12 for k >= 0"


# 8. only regular files are included ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["fifo", "/dev/stdin", "/dev/zero"])
def test_only_regular_files_are_included(tmp_path, kind):
    if kind == "fifo":
        os.mkfifo(tmp_path / "lib.cdsl")
        target, extra = "lib.cdsl", []
    else:
        target, extra = kind, ["--include-path", "/dev", "--include-path", "/proc"]
    main = tmp_path / "main.cdsl"
    main.write_text(f'include "{target}"\n' + NET)
    result = run("check", main, *extra, stdin=subprocess.PIPE, timeout=60)  # stdin open, never written
    assert result.returncode == 1
    assert b"E016" in result.stdout and (b"not a regular file" in result.stdout or b"outside" in result.stdout)


# 13. includes stay inside the project -------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path):
    """A project (it has pyproject.toml) with a secret beside it, outside."""
    root = tmp_path / "project"
    (root / "nets").mkdir(parents=True)
    (root / "pyproject.toml").write_text("")
    (root / "lib").mkdir()
    (root / "lib" / "blocks.cdsl").write_text("block cbr(c) = conv(c, 3, p=1) -> relu\n")
    (tmp_path / ".env").write_text("SECRET_TOKEN=hunter2\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "blocks.cdsl").write_text("block far(c) = conv(c, 1)\n")
    return root


@pytest.mark.parametrize(
    "include", ["/etc/passwd", "../../.env", "{tmp}/.env", "link.cdsl", "../../outside/blocks.cdsl"]
)
def test_an_include_outside_the_project_is_refused_without_showing_the_file(project, include):
    main = project / "nets" / "net.cdsl"
    (project / "nets" / "link.cdsl").symlink_to(project.parent / ".env")  # a link inside, to a file outside
    main.write_text(f'include "{include.format(tmp=project.parent)}"\n' + NET)
    result = run("check", main)
    assert result.returncode == 1
    assert b"outside the project" in result.stdout and b"--include-path" in result.stdout
    assert b"hunter2" not in result.stdout + result.stderr and b"root:" not in result.stdout + result.stderr


def test_includes_inside_the_project_work_from_any_folder_of_it(project):
    main = project / "nets" / "net.cdsl"
    main.write_text(
        f'include "../lib/blocks.cdsl"\ninclude "{project}/lib/blocks.cdsl"\n'
        "input x: 3 x 8 x 8\noutput y = x -> cbr(4)\n"
    )
    result = run("check", main)
    assert result.returncode == 0, result.stdout


def test_include_path_allows_another_folder_and_is_searched(project):
    main = project / "nets" / "net.cdsl"
    main.write_text('include "blocks.cdsl"\ninput x: 3 x 8 x 8\noutput y = x -> far(4)\n')
    assert run("check", main).returncode == 1  # not beside the file, and not allowed
    result = run("check", main, "--include-path", project.parent / "outside")
    assert result.returncode == 0, result.stdout


def test_without_a_project_marker_the_checked_files_folder_is_the_root(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "lib.cdsl").write_text("block b(c) = relu\n")
    main = tmp_path / "a" / "net.cdsl"
    main.write_text('include "../lib.cdsl"\n' + NET)
    if any((parent / marker).exists() for parent in tmp_path.parents for marker in (".git", "pyproject.toml")):
        pytest.skip("the temporary directory is inside a project")
    assert b"outside the project" in run("check", main).stdout


# 10. control characters from a file never reach the terminal ------------------------------------------------

ESCAPES = "\x1b]52;c;aGVsbG8=\x07\x1b]0;title\x07\x1b[2J\x1b[1A\u202e\x9b31m"


def _raw_controls(data: bytes) -> list[str]:
    text = data.decode("utf-8", "replace")
    text = __import__("re").sub(r"\x1b\[[0-9;]*m", "", text)  # convdsl's own colours, with --color always
    return [c for c in text if (ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F or c == "\u202e"]


@pytest.mark.parametrize(
    "command",
    [
        ("check",),
        ("check", "--format", "concise"),
        ("check", "--format", "github"),
        ("check", "--color", "always"),
        ("summary",),
        ("sizes",),
        ("export",),
        ("render", "--format", "dot", "-o", "/dev/null"),
    ],
)
def test_escape_sequences_in_names_strings_and_paths_are_shown_escaped(tmp_path, command):
    name = f"net{ESCAPES}.cdsl".replace("/", "")
    path = tmp_path / name
    path.write_text(f'input x: 3 x 8 x 8\noutput y = x -> conv(4, 3, padding="{ESCAPES}") -> maxpool(3)\n# {ESCAPES}\n')
    result = run(*command, name, cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr
    assert _raw_controls(result.stdout) == [] and _raw_controls(result.stderr) == []
    if command[0] == "check":
        assert b"\\x1b]52" in result.stdout  # shown, as an escape


def test_the_caret_stays_under_an_escaped_string():
    from convdsl import report
    import convdsl

    net = convdsl.loads('input x: 3 x 8 x 8\noutput y = x -> conv(4, 3, padding="\x1b[2J")\n', "a.cdsl")
    diag = next(d for d in net.analyze().diagnostics if d.is_error)
    lines = report.text(diag, net.sources).splitlines()
    code, caret = lines[3], lines[4]
    start = code.index('"\\x1b')
    assert caret.index("^") == start and caret.count("^") == len('"\\x1b[2J"')


# 11. SVG stays well-formed XML whatever a name or string holds ---------------------------------------------


@pytest.mark.parametrize("text", ["\uffff", "\ufffe", "\x0c\x1b", "\udcff", "\ufdd0", "a]]>b", "--", "\U0010ffff"])
def test_svg_is_well_formed_xml_for_any_text(tmp_path, text):
    from xml.dom import minidom

    require("wasmtime")
    name = f"n{text}.cdsl" if "\udcff" not in text else "nosurrogate.cdsl"
    source = f'input x: 3 x 8 x 8\noutput y = x -> conv(4, 3, padding="{text}")\n'
    (tmp_path / name).write_bytes(
        source.encode("utf-8", "surrogateescape" if "\udcff" in text else "strict")
        if "\udcff" not in text
        else source.replace(text, "\\xff").encode()
    )
    result = run("render", name, "-o", "out.svg", cwd=tmp_path)
    assert result.returncode == 1, result.stderr  # the padding is an error, drawn in red
    minidom.parse(str(tmp_path / "out.svg"))


def test_the_dot_quoting_replaces_noncharacters():
    from convdsl.render.quoting import quote

    for char in ("\uffff", "\ufffe", "\ufdd0", "\U0001fffe"):
        assert char not in quote(f"a{char}b")


# 12. a parameter named `__k` (Python would mangle it inside a class) ----------------------------------------

MANGLED = (
    "input x: 3 x 8 x 8\nblock b(__k, _b__c=2) = conv(__k, 3, p=1) -> conv(_b__c, 1)\n"
    "block r(c, __s: tensor) {\n  __m = in -> __a: conv(c, 3, p=1)\n  out = add(__m, __s)\n}\n"
    "__t = x -> b(4) -> b(__k=5)\noutput y = __t -> __lab: r(2, __s=__t)\n"
)


def test_names_python_would_mangle_export_and_verify(tmp_path):
    import convdsl
    from convdsl.export import export_pytorch

    exported = export_pytorch(convdsl.loads(MANGLED).analyze())
    tree = ast.parse(exported.source)
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            assert not (node.arg.startswith("__") and not node.arg.endswith("__")), node.arg
        if isinstance(node, ast.keyword) and node.arg:
            assert not (node.arg.startswith("__") and not node.arg.endswith("__")), node.arg
    require("torch")
    (tmp_path / "m.cdsl").write_text(MANGLED)
    result = run("verify", "m.cdsl", cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


# 14. export of a chunk of a symbolic size -------------------------------------------------------------------


@pytest.mark.parametrize("tail", ["", " -> linear(10)"])
def test_export_of_a_symbolic_chunk_is_a_diagnostic_not_a_crash(tmp_path, tail):
    # chunk's parts of a symbolic axis are expressions now (issue 14): the chunk itself exports
    # (x.chunk(2, dim=1) needs no number); a linear layer on 3*H*W features does need one: E301
    (tmp_path / "c.cdsl").write_text(
        f"input x: 3 x H x W\nu, v = x -> flatten -> chunk(2)\noutput y = concat(u, v){tail}\n"
    )
    result = run("export", "c.cdsl", cwd=tmp_path)
    assert b"internal error" not in result.stderr
    if tail:
        assert result.returncode == 1 and b"E301" in result.stderr
    else:
        assert result.returncode == 0 and b".chunk(2, dim=1)" in result.stdout
        compile(result.stdout, "c.py", "exec")


# 15. verify's usage errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "option",
    [("--device", "cuda"), ("--device", "mps"), ("--device", "nonsense"), ("--batch", "99999999999"), ("--batch", "0")],
)
def test_verify_refuses_an_unusable_device_or_batch(option):
    torch = require("torch")
    if option[1] == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = run("verify", EXAMPLES / "lenet.cdsl", *option)
    assert result.returncode == 2, result.stdout + result.stderr
    assert option[0].encode() in result.stderr and b"Traceback" not in result.stderr


# 16. an output encoding without the characters degrades to escapes -------------------------------------------


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
@pytest.mark.parametrize("command", [("check",), ("summary",), ("check", "--format", "concise"), ("sizes",)])
def test_a_narrow_output_encoding_escapes_instead_of_crashing(tmp_path, encoding, command):
    (tmp_path / "ünï ✓.cdsl").write_text('input x: 3 x 8 x 8\noutput y = x -> conv(4, 3, padding="héllo ✓ 🙂")\n')
    result = run(*command, "ünï ✓.cdsl", cwd=tmp_path, env={"PYTHONIOENCODING": encoding})
    assert result.returncode == 1, result.stderr
    assert b"Traceback" not in result.stderr and b"internal error" not in result.stderr
    assert b"\\u2713" in result.stdout + result.stderr


# 17. render without a writable cache ------------------------------------------------------------------------


def test_render_works_when_no_file_can_grow(tmp_path):
    require("wasmtime")
    limit = "import resource; resource.setrlimit(resource.RLIMIT_FSIZE, (100 * 1024, 100 * 1024))"
    code = f"{limit}; import sys, convdsl.cli; sys.exit(convdsl.cli.main(sys.argv[1:]))"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    result = subprocess.run(
        [sys.executable, "-c", code, "render", str(EXAMPLES / "lenet.cdsl"), "-o", str(tmp_path / "out.svg")],
        capture_output=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.svg").read_bytes().startswith(b"<?xml")


def test_wasmtimes_code_cache_is_kept_only_in_the_private_directory(tmp_path, monkeypatch):
    from convdsl.render import wasm

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    settings = wasm._cache_config()
    assert settings == str(tmp_path / "convdsl" / "wasmtime-cache.toml")
    assert str(tmp_path / "convdsl" / "wasmtime") in Path(settings).read_text()
    (tmp_path / "convdsl").chmod(0o777)  # another user could plant compiled code here now
    assert wasm._cache_config() is None


# 18. every tensor and count stays below 2^53 ----------------------------------------------------------------

HUGE = 2**62


@pytest.mark.parametrize(
    "text, words",
    [
        (f"output y = x -> conv({HUGE}, 3)", "parameters"),
        (f"output y = x -> conv({HUGE}, 3) -> conv({HUGE}, 3)", "parameters"),
        (f"output y = x -> adaptive_maxpool({HUGE})", "elements"),
        (f"output y = x -> upsample(size={HUGE})", "elements"),
        (f"output y = x -> conv({2**26}, 1) -> conv({2**26}, 1)", "FLOPs"),
        ("block b() = conv(8, 1) -> conv(4611686018, 1) -> conv(8, 1)\noutput y = x -> b() * 5000", "the network's"),
    ],
)
def test_counts_beyond_2_53_are_errors(text, words):
    import convdsl

    analysis = convdsl.loads("input x: 3 x 8 x 8\n" + text + "\n").analyze()
    limits = [d for d in analysis.diagnostics if d.code.code == "E019"]
    assert limits and words in limits[0].message and "2^53" in limits[0].message
    from convdsl.summary import to_json

    def numbers(value):
        if isinstance(value, dict):
            for v in value.values():
                yield from numbers(v)
        elif isinstance(value, list):
            for v in value:
                yield from numbers(v)
        elif type(value) is int:
            yield value

    assert all(abs(n) < 2**53 for n in numbers(to_json(analysis)))


def test_a_count_beyond_a_floats_range_is_said_in_its_error():
    """An opaque layer declares any output shape: 300 sizes of 16 are 2^1200 (1.72e+361) elements, past a
    float's range (about 1.8e308). The count is said, not an internal error (inputs and params have at most 4
    sizes, each in range, so they cannot get there)."""
    import convdsl

    text = "input x: 3 x 8 x 8\noutput y = x -> opaque((" + ", ".join(["16"] * 300) + "))\n"
    messages = [d.message for d in convdsl.loads(text).analyze().diagnostics]
    assert messages == ["an output of 1.72e+361 elements, beyond the limit of 2^53"]


def test_an_input_beyond_2_53_elements_is_an_error():
    import convdsl

    diagnostics = convdsl.loads(f"input x: 3 x {2**40} x {2**40}\noutput y = x -> relu\n").analyze().diagnostics
    assert any(d.code.code == "E019" and "2^53" in d.message for d in diagnostics)


# 19. UTF-16 and UTF-32 files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be-bom", "utf-32", "utf-8-sig"])
def test_files_with_a_byte_order_mark_are_read(tmp_path, encoding):
    text = (EXAMPLES / "lenet.cdsl").read_text()
    data = b"\xfe\xff" + text.encode("utf-16-be") if encoding == "utf-16-be-bom" else text.encode(encoding)
    (tmp_path / "lenet.cdsl").write_bytes(data)
    result = run("summary", "--format", "json", "lenet.cdsl", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["params"] == 61_706


def test_utf16_without_a_mark_is_named():
    from convdsl.loading import decode

    found = decode("x.cdsl", "input x: 3 x 8 x 8\n".encode("utf-16-le"))
    assert "UTF-16" in found.message and "byte-order mark" in found.message
    found = decode("x.cdsl", b"\xff\xfea")
    assert "not valid UTF-16" in found.message
