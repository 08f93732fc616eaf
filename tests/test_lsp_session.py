"""`convdsl lsp` driven through editor sessions: the order of events an editor produces (files opened,
closed, changed on disk, requests about files it never opened), rename and completion mid-typing.

Expectations come from `convdsl check --format json` on the same text and from the language's rules
written out here (what a name may be, what may be typed where).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import check_json, require

require("pygls")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from lsp_client import ROOT, LspClient, LspError


@pytest.fixture(scope="module")
def client():
    c = LspClient()
    c.initialize()
    yield c
    c.close()


def _check_json(path: Path) -> list[dict]:
    return check_json(path, cwd=path.parent)[str(path.resolve())]


def _at_end(text: str) -> tuple[int, int]:
    return text.count("\n"), len(text) - (text.rfind("\n") + 1)


# requests the server cannot answer from an open document ----------------------------------------------


def test_requests_about_documents_never_opened_are_answered_empty(client, tmp_path):
    """An editor may ask about a file it has not opened (or one that is gone): an empty answer, never an
    internal error, and the file is not taken as opened (no diagnostics are published for it)."""
    missing = (tmp_path / "gone.cdsl").as_uri()
    on_disk = tmp_path / "disk.cdsl"
    on_disk.write_text("input x: 3 x 8 x 8\ny = x -> conv(4, 30)\n")  # an error, were it analysed
    for uri in (missing, on_disk.as_uri(), "untitled:Untitled-9", tmp_path.as_uri() + "/"):
        assert client.at("textDocument/hover", uri, 1, 10) is None
        assert client.at("textDocument/definition", uri, 1, 10) is None
        assert not client.at("textDocument/completion", uri, 1, 10)
        assert not client.at("textDocument/references", uri, 1, 10, context={"includeDeclaration": True})
        assert not client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
        assert not client.request(
            "textDocument/formatting", {"textDocument": {"uri": uri}, "options": {"tabSize": 4, "insertSpaces": True}}
        )
        whole = {"start": {"line": 0, "character": 0}, "end": {"line": 3, "character": 0}}
        assert not client.request("textDocument/inlayHint", {"textDocument": {"uri": uri}, "range": whole})
        assert not client.request(
            "textDocument/codeAction", {"textDocument": {"uri": uri}, "range": whole, "context": {"diagnostics": []}}
        )
    # the server still works, and published nothing for the files it was only asked about
    uri = client.open(tmp_path / "open.cdsl", "input x: 3 x 8 x 8\ny = x -> relu\noutput y\n")
    assert client.diagnostics(uri, 1) == []
    published = {m["params"]["uri"] for m in client.passed_over if m.get("method") == "textDocument/publishDiagnostics"}
    assert on_disk.as_uri() not in published


def test_a_request_waiting_for_an_analysis_is_answered_when_its_document_closes(tmp_path):
    """A hover sent while the first analysis runs waits for it; closing the document meanwhile must still
    answer it (an editor waits for every request it sent). 40,000 layers take seconds to analyse."""
    c = LspClient()
    try:
        c.initialize()
        text = "input x: 8 x 16 x 16\ny = x -> (conv(8, 3, p=1) -> relu) * 20000\noutput y\n"
        uri = c.open(tmp_path / "big.cdsl", text)
        answer = {}

        def hover():
            try:
                answer["hover"] = c.request(
                    "textDocument/hover",
                    {"textDocument": {"uri": uri}, "position": {"line": 1, "character": 12}},
                    timeout=120,
                )
            except Exception as err:  # recorded, asserted below
                answer["hover"] = err

        asking = threading.Thread(target=hover)
        asking.start()
        c.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        asking.join(150)
        assert "hover" in answer and not isinstance(answer["hover"], Exception), answer
        assert c.process.poll() is None
    finally:
        c.close()


# diagnostics of included files ---------------------------------------------------------------------------


def _library_and_network(tmp_path, library_text: str):
    """lib.cdsl with `library_text` (a block `cbr(c)`), and main.cdsl, a network that includes it and uses
    cbr(4) on a 3 x 8 x 8 input, in a folder of their own (its pyproject.toml: no settings from outside)."""
    (tmp_path / "pyproject.toml").write_text("")
    library = tmp_path / "lib.cdsl"
    library.write_text(library_text)
    main = tmp_path / "main.cdsl"
    main.write_text('include "lib.cdsl"\ninput x: 3 x 8 x 8\ny = x -> cbr(4)\noutput y\n')
    return library, main


def test_an_error_in_an_open_included_file_is_shown_there_once(client, tmp_path):
    """The library is open and the network that includes it too: both analyses find the library's syntax
    error; the editor must show it once, as `check lib.cdsl` does."""
    good = "block cbr(c) {\n    out = in -> conv(c, 3, p=1, bias=false) -> bn -> relu\n}\n"
    library, main = _library_and_network(tmp_path, good)
    main_uri = client.open(main)
    assert client.diagnostics(main_uri, 1) == []
    lib_uri = client.open(library)
    assert client.diagnostics(lib_uri, 1) == []
    broken = good.replace("-> bn", "-> bn(")
    library.write_text(broken)
    expected = sorted((d["code"], d["line"] - 1, d["column"] - 1, d["message"]) for d in _check_json(library))
    assert [e[0] for e in expected] == ["E002"]
    version = client.change(lib_uri, broken)
    client.diagnostics(lib_uri, version)
    client.diagnostics(main_uri)  # the network, analysed again with the library's new text
    shown = client.published(lib_uri)
    assert (
        sorted((d["code"], d["range"]["start"]["line"], d["range"]["start"]["character"], d["message"]) for d in shown)
        == expected
    )


def test_an_open_included_file_that_is_not_utf8_is_refused_as_check_refuses_it(client, tmp_path):
    """An editor's JSON can carry a lone surrogate (`\\ud800`). In the file being analysed it was refused as
    not UTF-8, as `check` refuses those bytes; in an open included file it ended the analysis with an internal
    error. Both are now read the one way (snapshot._load)."""
    good = "block cbr(c) = conv(c, 3, p=1) -> relu\n"
    library, main = _library_and_network(tmp_path, good)
    main_uri = client.open(main)
    assert client.diagnostics(main_uri, 1) == []
    lib_uri = client.open(library)
    client.diagnostics(lib_uri, 1)
    hostile = good + "# \ud800\n"
    version = client.change(lib_uri, hostile)
    shown_lib = client.diagnostics(lib_uri, version)
    shown_main = client.diagnostics(main_uri)  # the network, analysed again with the library's new text
    library.write_bytes(hostile.encode("utf-8", "surrogatepass"))  # the same text on disk, for `check`
    for shown, path, code in ((shown_lib, library, "E001"), (shown_main, main, "E016")):
        expected = sorted((d["code"], d["message"]) for d in _check_json(path))
        assert code in [c for c, _ in expected], expected  # unreadable; cannot include it
        assert sorted((d["code"], d["message"]) for d in shown) == expected
    assert not any("internal error" in str(m) for m in client.passed_over)


def test_a_change_on_disk_of_an_included_file_is_seen(client, tmp_path):
    """An included file that is not open changes on disk (a checkout, another editor): the editor sends
    workspace/didChangeWatchedFiles, and the networks that include it are analysed again."""
    library, main = _library_and_network(tmp_path, "block cbr(c) = conv(c, 3, p=1) -> relu\n")
    uri = client.open(main)
    assert client.diagnostics(uri, 1) == []
    library.write_text("block cbr(c) = conv(c, 30, p=1) -> relu\n")  # a kernel larger than 8 + 2
    expected = [(d["code"], d["path"].endswith("lib.cdsl")) for d in _check_json(main)]
    assert ("E106", True) in expected
    client.notify("workspace/didChangeWatchedFiles", {"changes": [{"uri": library.as_uri(), "type": 2}]})
    shown = client.diagnostics(library.resolve().as_uri(), timeout=20)
    assert [d["code"] for d in shown] == [code for code, in_library in expected if in_library]


def test_a_change_of_pyproject_toml_is_seen(client, tmp_path):
    """[tool.convdsl] edited while the server runs: the watched-file event makes it read again."""
    config = tmp_path / "pyproject.toml"
    config.write_text("[tool.convdsl]\nignore = []\n")
    path = tmp_path / "net.cdsl"
    path.write_text("input x: 3 x 8 x 8\ny = x -> relu\nz = x -> relu\noutput y\n")
    uri = client.open(path)
    assert [d["code"] for d in client.diagnostics(uri, 1)] == ["W001"]  # z is never used
    config.write_text('[tool.convdsl]\nignore = ["unused-tensor"]\n')
    assert _check_json(path) == []
    client.notify("workspace/didChangeWatchedFiles", {"changes": [{"uri": config.as_uri(), "type": 2}]})
    assert client.diagnostics(uri, timeout=20) == []


# rename -------------------------------------------------------------------------------------------------

RENAMED = """const k = 3
input x: 3 x 32 x 32
block b(c) {
    t = in -> conv(c, k)
    out = t -> relu
}
a = x -> conv(8, 3) -> relu
bb = a -> b(8)
z = add(a, a)
output z
output bb
"""


def _apply(text: str, edits: list[dict]) -> str:
    lines = text.split("\n")
    for edit in sorted(edits, key=lambda e: (e["range"]["start"]["line"], e["range"]["start"]["character"]))[::-1]:
        start, end = edit["range"]["start"], edit["range"]["end"]
        assert start["line"] == end["line"]
        row = lines[start["line"]]
        lines[start["line"]] = row[: start["character"]] + edit["newText"] + row[end["character"] :]
    return "\n".join(lines)


def _summary(path: Path) -> tuple:
    run = subprocess.run(
        [sys.executable, "-m", "convdsl", "summary", "--format", "json", str(path)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        check=False,
    )
    found = json.loads(run.stdout)
    return found["params"], found["macs"], len(found["layers"]), [d["code"] for d in found["diagnostics"]]


@pytest.mark.parametrize(
    ("where", "new_name", "why"),
    [
        ("a = x", "conv", "layer kind"),  # `bb = conv -> b(8)` would read as a layer with no input (E018)
        ("a = x", "relu", "layer kind"),
        ("a = x", "gap", "layer kind"),  # an alias of global_avgpool
        ("a = x", "z", "exists already"),
        ("a = x", "if", "keyword"),
        ("a = x", "in", "keyword"),
        ("a = x", "2a", "not a name"),
        ("a = x", "a-b", "not a name"),
        ("b(8)", "maxpool", "layer kind"),
        ("b(8)", "network", "keyword"),
        ("t = in", "out", "keyword"),
    ],
)
def test_rename_refuses_a_name_that_would_change_the_network_and_says_why(client, tmp_path, where, new_name, why):
    uri = client.open(tmp_path / "net.cdsl", RENAMED)
    client.diagnostics(uri, 1)
    line = RENAMED[: RENAMED.index(where)].count("\n")
    character = RENAMED.index(where) - (RENAMED.rfind("\n", 0, RENAMED.index(where)) + 1)
    with pytest.raises(LspError) as refused:
        client.at("textDocument/rename", uri, line, character, newName=new_name)
    assert why in str(refused.value)


@pytest.mark.parametrize(
    ("where", "new_name"), [("a = x", "first"), ("a = x", "k"), ("a = x", "b"), ("b(8)", "a"), ("t = in", "c")]
)
def test_a_rename_the_server_accepts_keeps_the_network(client, tmp_path, where, new_name):
    """Accepted renames leave the same network: `summary` gives the same totals, layers and diagnostics
    before and after (names of tensors, blocks, constants and parameters live apart)."""
    before = tmp_path / "before.cdsl"
    before.write_text(RENAMED)
    uri = client.open(before)
    client.diagnostics(uri, 1)
    line = RENAMED[: RENAMED.index(where)].count("\n")
    character = RENAMED.index(where) - (RENAMED.rfind("\n", 0, RENAMED.index(where)) + 1)
    edit = client.at("textDocument/rename", uri, line, character, newName=new_name)
    after = tmp_path / "after.cdsl"
    after.write_text(_apply(RENAMED, edit["changes"][uri]))
    assert after.read_text() != RENAMED
    assert _summary(after) == _summary(before)


# completion mid-typing ----------------------------------------------------------------------------------

LAYERS = {"conv", "maxpool", "relu"}
ARGUMENT_NAMES = {"out_channels=", "kernel=", "stride=", "padding="}


@pytest.mark.parametrize(
    ("typed", "offered", "not_offered"),
    [
        # comments and strings: nothing (a space is a trigger character: a list at every word would pop up)
        ("# a comment ", set(), LAYERS | {"x", "network"}),
        ("y = x -> relu  # then conv(", set(), ARGUMENT_NAMES | LAYERS),
        ('y = x -> conv(8, 3, p="sa', set(), ARGUMENT_NAMES | LAYERS | {"x", "k"}),
        # a string argument with choices: the choices
        ('y = x -> gelu(approximate="', {"tanh", "none"}, ARGUMENT_NAMES | {"x", "k"}),
        ("y = x -> gelu(approximate=", {'"tanh"', '"none"'}, {"approximate="}),
        # statements whose next word is a new name or a number: no layers
        ("network ", set(), LAYERS | {"x"}),
        ("input y: ", {"k"}, LAYERS | {"x"}),
        ("input y: 3 x ", {"k"}, LAYERS | {"x"}),
        ("param w: ", {"k"}, LAYERS | {"x"}),
        ("const k2 = ", {"k", "max", "true"}, LAYERS | {"x"}),
        ("const k2 = 2 * ", {"k", "max"}, LAYERS | {"x"}),
        ("const k2 = 3 ", set(), LAYERS | {"x", "k", "k2"}),
        ("block b(c", set(), LAYERS | {"x", "k", "c="}),
        ("block b(c) ", set(), LAYERS | {"x"}),
        ("block b(c) = ", LAYERS, {"x"}),
        ("output ", {"x"}, LAYERS),
        # after a complete element: an operator comes next, nothing to offer
        ("y = x -> conv(8, 3) ", set(), LAYERS | {"x"}),
        ("y = x ", set(), LAYERS | {"x"}),
        ("y = x -> conv(8, 3)", set(), LAYERS | {"x"}),
        # arguments given by position are not offered again by keyword; after `name=` come values
        ("y = x -> conv(8, 3, ", {"stride=", "padding=", "k", "x"}, {"out_channels=", "kernel="}),
        ("y = x -> conv(8, ", {"kernel=", "stride="}, {"out_channels="}),
        ("y = x -> conv(8, 3, s=", {"k"}, ARGUMENT_NAMES | {"dilation="}),
        ("y = x -> conv(8, 3, bias=", {"true", "false"}, ARGUMENT_NAMES),
        # conditions and repeat counts are values
        ("y = x -> conv(8, 3) if ", {"k", "true"}, LAYERS),
        ("y = x -> relu * ", {"k"}, LAYERS),
        # still offered where they belong
        ("y = x -> ", LAYERS, {"stride="}),
        ("y = x -> t: ", LAYERS, {"x"}),
        ("y = x -> conv(", {"out_channels=", "kernel=", "x", "k"}, LAYERS),
        ("y = ", {"x", "add"}, {"conv"}),
        ("", {"input", "block", "x"}, LAYERS),
    ],
)
def test_completion_offers_what_may_be_typed_there(client, tmp_path, typed, offered, not_offered):
    text = "const k = 3\ninput x: 3 x 32 x 32\n" + typed
    uri = client.open(tmp_path / "typing.cdsl", text)
    client.diagnostics(uri, 1)
    line, character = _at_end(text)
    found = client.request(
        "textDocument/completion",
        {
            "textDocument": {"uri": uri},
            "position": {"line": line, "character": character},
            "context": {"triggerKind": 2, "triggerCharacter": typed[-1]} if typed else {"triggerKind": 1},
        },
    )
    labels = {item["label"] for item in (found or {}).get("items", [])}
    assert offered <= labels, sorted(labels)[:20]
    assert not (not_offered & labels), sorted(not_offered & labels)


# hover --------------------------------------------------------------------------------------------------


def test_hover_on_a_layer_without_spatial_axes_has_no_empty_receptive_field_row(client):
    """Attention on 1024 tokens of 768 has no spatial axes, so no receptive field (`summary` shows `-`): the
    hover leaves the row out rather than showing it empty. Its other numbers, by hand: the four projections
    4 * (768 * 768 + 768) = 2,362,368 parameters."""
    path = ROOT / "examples" / "gpt2_small.cdsl"
    text = path.read_text()
    uri = client.open(path)
    client.diagnostics(uri, 1)
    offset = text.index("attn: attention") + len("attn: ")
    line = text.count("\n", 0, offset)
    shown = client.at("textDocument/hover", uri, line, offset - (text.rfind("\n", 0, offset) + 1) + 1)
    value = shown["contents"]["value"]
    assert f"| params | {4 * (768 * 768 + 768):,} |" in value
    assert "receptive field" not in value


# formatting ---------------------------------------------------------------------------------------------


def test_formatting_a_long_file_does_not_hold_up_other_requests(client, tmp_path):
    """Formatting 20,000 lines takes seconds: it runs off the event loop, so a hover asked after it is
    answered first (the order of the answers is asserted, not a time)."""
    text = "input x: 3 x 8 x 8\n" + "".join(f"t{i} = {'x' if i == 0 else f't{i - 1}'}->relu\n" for i in range(20000))
    uri = client.open(tmp_path / "long.cdsl", text)
    client.diagnostics(uri, 1, timeout=120)
    assert "3 x 8 x 8" in client.at("textDocument/hover", uri, 5000, 1)["contents"]["value"]  # indexed now
    order = []
    boxes = {}
    for method, params in (
        ("textDocument/formatting", {"textDocument": {"uri": uri}, "options": {"tabSize": 4, "insertSpaces": True}}),
        ("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 10000, "character": 1}}),
    ):
        client.next_id += 1
        boxes[method] = client.responses.setdefault(client.next_id, __import__("queue").Queue())
        client._send({"jsonrpc": "2.0", "id": client.next_id, "method": method, "params": params})

    def wait(method):
        reply = boxes[method].get(timeout=300)
        order.append(method)
        return reply

    waiting = [threading.Thread(target=wait, args=(m,)) for m in boxes]
    for thread in waiting:
        thread.start()
    for thread in waiting:
        thread.join(310)
    assert order == ["textDocument/hover", "textDocument/formatting"]


def test_closing_an_included_file_unsaved_goes_back_to_its_text_on_disk(client, tmp_path):
    """The library is edited (a kernel of 30 on 8 x 8: E106, shown in the library) and closed without
    saving: the network that includes it is analysed again with the library on disk, which has no error."""
    library, main = _library_and_network(tmp_path, "block cbr(c) = conv(c, 3, p=1) -> relu\n")
    assert _check_json(main) == []
    main_uri = client.open(main)
    assert client.diagnostics(main_uri, 1) == []
    lib_uri = client.open(library)
    client.diagnostics(lib_uri, 1)
    client.change(lib_uri, "block cbr(c) = conv(c, 30, p=1) -> relu\n")
    while "E106" not in [d["code"] for d in client.diagnostics(lib_uri, timeout=20)]:
        pass  # the library's own analysis publishes first, then the network's finds the error there
    client.notify("textDocument/didClose", {"textDocument": {"uri": lib_uri}})
    while client.diagnostics(lib_uri, timeout=20):
        pass  # the network analysed again with the text on disk: nothing left to show in the library
    # 8 + 2 - 3 + 1 = 8: the block keeps 8 x 8 with 4 channels
    shown = client.at("textDocument/hover", main_uri, 2, len("y = x -> c"))["contents"]["value"]
    assert "3 x 8 x 8 -> **4 x 8 x 8**" in shown


# navigation ---------------------------------------------------------------------------------------------


def test_definition_of_an_include_that_names_no_file_is_none(client, tmp_path):
    """Go to definition on `include "missing.cdsl"` (or a folder) has nowhere to go: no location for the
    editor to fail to open. On an include of a file, the file."""
    (tmp_path / "lib.cdsl").write_text("const k = 3\n")
    text = 'include "missing.cdsl"\ninclude "."\ninclude "lib.cdsl"\ninput x: 3 x 8 x 8\ny = x -> relu\noutput y\n'
    uri = client.open(tmp_path / "net.cdsl", text)
    client.diagnostics(uri, 1)
    assert client.at("textDocument/definition", uri, 0, 10) is None
    assert client.at("textDocument/definition", uri, 1, 9) is None
    [found] = client.at("textDocument/definition", uri, 2, 10)
    assert found["uri"] == (tmp_path / "lib.cdsl").resolve().as_uri()


# malformed requests ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"position": {"line": 1, "character": -2}},
        {"position": {"line": -1, "character": 0}},
        {"position": {"line": 2**32, "character": 0}},  # past an LSP uinteger
        {},  # no position
    ],
)
def test_a_request_with_invalid_params_gets_an_error_answer(client, tmp_path, params):
    """JSON-RPC: a request the server cannot read still gets an answer (InvalidParams, -32602), or the
    editor waits for it forever; and the server goes on answering."""
    uri = client.open(tmp_path / "net.cdsl", "input x: 3 x 8 x 8\ny = x -> relu\noutput y\n")
    client.diagnostics(uri, 1)
    with pytest.raises(LspError) as refused:
        client.request("textDocument/hover", {"textDocument": {"uri": uri}, **params}, timeout=20)
    assert refused.value.error["code"] == -32602
    assert "3 x 8 x 8" in client.at("textDocument/hover", uri, 1, 10)["contents"]["value"]


# quick fixes in included files ------------------------------------------------------------------------------


def test_quick_fixes_for_an_error_in_an_open_included_file(client, tmp_path):
    """A block's stride-2 convolution rounds 32 down (E101) only where a network calls it: the error is
    shown in the library, and the library offers its fixes there, the edits `check --format json` gives
    for the network. Applying the first one (edited here by hand) leaves `check` without the error."""
    (tmp_path / "pyproject.toml").write_text("")
    library = tmp_path / "lib.cdsl"
    library.write_text("block down(c) = conv(c, 3, s=2) -> relu\n")
    main = tmp_path / "main.cdsl"
    main.write_text('include "lib.cdsl"\ninput x: 3 x 32 x 32\ny = x -> down(4)\noutput y\n')
    [expected] = [d for d in _check_json(main) if d["code"] == "E101"]
    assert expected["path"].endswith("lib.cdsl") and expected["fixes"]
    main_uri = client.open(main)
    client.diagnostics(main_uri, 1)
    lib_uri = client.open(library)
    client.diagnostics(lib_uri, 1)
    shown = client.published(lib_uri)
    while not shown:
        shown = client.diagnostics(lib_uri, timeout=20)
    [error] = [d for d in shown if d["code"] == "E101"]
    actions = client.request(
        "textDocument/codeAction",
        {"textDocument": {"uri": lib_uri}, "range": error["range"], "context": {"diagnostics": [error]}},
    )
    assert [a["title"].split(": ", 1)[1] for a in actions] == [
        f["description"] + (f" ({f['also']})" if f["also"] else "") for f in expected["fixes"]
    ]
    for action, fix in zip(actions, expected["fixes"]):  # in the library, or the network's input sizes
        edits = [
            (uri, e["range"]["start"]["line"] + 1, e["range"]["start"]["character"] + 1, e["newText"])
            for uri, changes in action["edit"]["changes"].items()
            for e in changes
        ]
        assert sorted(edits) == sorted(
            (lib_uri if e["path"].endswith("lib.cdsl") else main_uri, e["line"], e["column"], e["text"])
            for e in fix["edits"]
        )
    library.write_text(_apply(library.read_text(), actions[0]["edit"]["changes"][lib_uri]))
    assert "E101" not in [d["code"] for d in _check_json(main)]


# layout ---------------------------------------------------------------------------------------------------


def test_the_outline_and_completion_show_shapes_in_the_files_layout(client, tmp_path):
    """`set layout = NHWC` changes how shapes are shown: `summary` shows them H x W x C, and so must every
    feature (hover and hints did; the outline and completion showed C x H x W)."""
    path = tmp_path / "nhwc.cdsl"
    path.write_text("set layout = NHWC\ninput x: 3 x 32 x 24\ny = x -> conv(8, 3, p=1)\nz = y -> relu\noutput z\n")
    shown = subprocess.run(
        [sys.executable, "-m", "convdsl", "summary", str(path)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        check=False,
    ).stdout
    assert "x: 32 x 24 x 3" in shown and "z: 32 x 24 x 8" in shown
    uri = client.open(path)
    client.diagnostics(uri, 1)
    symbols = client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
    details = [(s["name"], s["detail"]) for s in symbols]
    assert details == [("x", "input 32 x 24 x 3"), ("y", "32 x 24 x 8"), ("z", "32 x 24 x 8"), ("z", "output")]
    items = client.at("textDocument/completion", uri, 3, 4)["items"]
    assert {i["label"]: i["detail"] for i in items if i["label"] in ("x", "y")} == {
        "x": "32 x 24 x 3",
        "y": "32 x 24 x 8",
    }


# position encoding ---------------------------------------------------------------------------------------


def test_the_server_speaks_utf16_even_when_the_client_prefers_utf8(tmp_path):
    """Neovim offers `positionEncodings: ["utf-8", "utf-16"]`. convdsl's positions are UTF-16 units (which
    every client supports): the server must say so, not take UTF-8 and then send UTF-16 columns. By hand:
    `p="😀"` starts after 22 ASCII characters and is 3 characters, 4 UTF-16 units, 6 UTF-8 bytes long."""
    c = LspClient()
    try:
        answer = c.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": None,
                "capabilities": {"general": {"positionEncodings": ["utf-8", "utf-32", "utf-16"]}},
            },
        )
        c.notify("initialized", {})
        assert answer["capabilities"].get("positionEncoding", "utf-16") == "utf-16"
        uri = c.open(tmp_path / "net.cdsl", 'input x: 3 x 8 x 8  # 😀\ny = x -> conv(4, 3, p="😀") -> relu\n')
        [error] = c.diagnostics(uri, 1)
        assert error["code"] == "E008"
        assert error["range"]["start"] == {"line": 1, "character": 22} and error["range"]["end"]["character"] == 26
        # an edit after the emoji, at UTF-16 columns: `relu` (from 31) becomes `gelu`
        version = c.change(uri, "g", {"start": {"line": 1, "character": 31}, "end": {"line": 1, "character": 32}})
        c.diagnostics(uri, version)
        shown = c.at("textDocument/hover", uri, 1, 32)["contents"]["value"]
        assert shown.startswith("**gelu**")
    finally:
        c.close()


@pytest.mark.parametrize("separator", ["\u2028", "\x0c", "\x85", "\x1c"])
def test_incremental_edits_count_lines_as_lsp_does(client, tmp_path, separator):
    """LSP line breaks are \\n, \\r\\n and \\r only: a U+2028, form feed or NEL in a comment is not one (Python's
    splitlines() says it is, and an edit below it landed a line too high)."""
    text = f"input x: 3 x 8 x 8\n# a{separator}b\ny = x -> relu\noutput y\n"
    uri = client.open(tmp_path / "net.cdsl", text)
    client.diagnostics(uri, 1)
    version = client.change(uri, "gelu", {"start": {"line": 2, "character": 9}, "end": {"line": 2, "character": 13}})
    client.diagnostics(uri, version)
    assert client.at("textDocument/hover", uri, 2, 10)["contents"]["value"].startswith("**gelu**")
    # the server's text is the editor's: formatting it changes nothing but the comment's place
    edits = client.request(
        "textDocument/formatting", {"textDocument": {"uri": uri}, "options": {"tabSize": 4, "insertSpaces": True}}
    )
    assert all("y = x -> gelu" in e["newText"] for e in edits)


def test_an_edit_past_the_end_of_a_line_or_the_file_lands_at_its_end(client, tmp_path):
    """LSP: a character past the line's end means the line's end; a line past the last, the file's end."""
    uri = client.open(tmp_path / "net.cdsl", "input x: 3 x 8 x 8\ny = x -> relu\noutput y")
    client.diagnostics(uri, 1)
    client.change(uri, " -> gelu", {"start": {"line": 1, "character": 500}, "end": {"line": 1, "character": 500}})
    version = client.change(uri, "\nz = y", {"start": {"line": 9, "character": 0}, "end": {"line": 9, "character": 0}})
    published = client.diagnostics(uri, version)
    assert [d["message"] for d in published] == ["tensor `z` is never used"]
    assert client.at("textDocument/hover", uri, 1, 19)["contents"]["value"].startswith("**gelu**")
    assert client.at("textDocument/hover", uri, 2, 7)["contents"]["value"].startswith("tensor `y`")


def test_formatting_replaces_the_whole_text_whatever_its_line_breaks(client, tmp_path):
    """The formatting edit's range ends at the text's end as LSP counts lines (a lone \\r breaks one too):
    applied as an editor applies it, it leaves exactly the formatter's text."""
    import convdsl.fmt as fmt

    for text in ("input x:3 x 8 x 8\ry = x->relu\routput y\r", "input x:3 x 8 x 8\r\ny = x->relu\r\noutput y"):
        uri = client.open(tmp_path / "net.cdsl", text)
        client.diagnostics(uri, 1)
        [edit] = client.request(
            "textDocument/formatting", {"textDocument": {"uri": uri}, "options": {"tabSize": 4, "insertSpaces": True}}
        )
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")  # the lines as LSP counts them
        assert edit["range"]["start"] == {"line": 0, "character": 0}
        assert edit["range"]["end"] == {"line": len(lines) - 1, "character": len(lines[-1])}
        assert edit["newText"] == fmt.format_text(text, path=str(tmp_path / "net.cdsl"))


# the end of a session -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("shut_down", "code"), [(True, 0), (False, 1)])
def test_exit_code_says_whether_the_session_was_shut_down(tmp_path, shut_down, code):
    """LSP: after `exit` the server ends with 0 if `shutdown` came first, else with 1."""
    c = LspClient()
    c.initialize()
    uri = c.open(tmp_path / "net.cdsl", "input x: 3 x 8 x 8\ny = x -> relu\noutput y\n")
    c.diagnostics(uri, 1)
    if shut_down:
        assert c.request("shutdown", None) is None
    c.notify("exit", None)
    try:
        assert c.process.wait(timeout=60) == code
    finally:
        c.process.kill()
        for stream in (c.process.stdin, c.process.stdout, c.process.stderr):
            stream.close()


def test_block_signatures_show_their_parameters_defaults(client):
    """`block cbr(c, k=3, s=1)` (tests/fixtures/includes/layers.cdsl): completion and hover show the defaults
    as written, not `k=...`."""
    path = ROOT / "tests" / "fixtures" / "features" / "include_library.cdsl"
    text = path.read_text()
    uri = client.open(path)
    client.diagnostics(uri, 1)
    line = text.count("\n", 0, text.index("output y"))
    character = text.split("\n")[line].index("cbr(16)") + 1
    shown = client.at("textDocument/hover", uri, line, character)["contents"]["value"]
    assert "block cbr(c, k=3, s=1)" in shown
    items = client.at("textDocument/completion", uri, line, len("output y = x -> "))["items"]
    assert {i["label"]: i["detail"] for i in items}["cbr"] == "block cbr(c, k=3, s=1)"


@pytest.mark.parametrize(
    ("text", "line", "character", "offset"),
    [
        ("ab\ncd", 1, 1, 4),  # 'd'
        ("ab\r\ncd", 1, 1, 5),
        ("ab\rcd", 1, 1, 4),  # a lone \r breaks a line
        ("a\u2028b\ncd", 0, 2, 2),  # U+2028 does not
        ("😀x\ny", 0, 2, 1),  # the emoji is 2 UTF-16 units, one character
        ("ab\ncd", 0, 9, 2),  # past the line's end: its end, before the break
        ("ab\ncd", 7, 0, 5),  # past the last line: the end
        ("ab\r\ncd", 0, 9, 2),
    ],
)
def test_lsp_positions_to_offsets_by_hand(text, line, character, offset):
    from lsprotocol import types

    from convdsl.lsp.convert import text_offset

    assert text_offset(text, types.Position(line, character)) == offset


def test_a_request_after_shutdown_is_answered_with_an_error(tmp_path):
    """LSP: after `shutdown`, requests get InvalidRequest (-32600), not silence."""
    c = LspClient()
    try:
        c.initialize()
        uri = c.open(tmp_path / "net.cdsl", "input x: 3 x 8 x 8\ny = x -> relu\noutput y\n")
        c.diagnostics(uri, 1)
        assert c.request("shutdown", None) is None
        with pytest.raises(LspError) as refused:
            c.request(
                "textDocument/hover",
                {"textDocument": {"uri": uri}, "position": {"line": 1, "character": 9}},
                timeout=20,
            )
        assert refused.value.error["code"] == -32600
    finally:
        c.close()


def test_completion_in_an_include_offers_the_cdsl_files_beside(client, tmp_path):
    """`include "` offers the .cdsl files of the folder (and its subfolders), as the include names them."""
    (tmp_path / "blocks.cdsl").write_text("const k = 3\n")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "more.cdsl").write_text("const j = 3\n")
    (tmp_path / "notes.txt").write_text("not convdsl\n")
    text = 'include "'
    uri = client.open(tmp_path / "net.cdsl", text)
    client.diagnostics(uri, 1)
    found = client.at("textDocument/completion", uri, 0, len(text))
    labels = {item["label"]: item["kind"] for item in found["items"]}
    assert labels == {"blocks.cdsl": 17, "lib/more.cdsl": 17}  # CompletionItemKind.File; not the file itself
