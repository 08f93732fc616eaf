"""How the language server reads standard input (convdsl/lsp/stdio.py): a pipe on the event loop, anything
else through pygls' threaded reader, and a stream that is not LSP ends the server cleanly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import require

require("pygls")

ROOT = Path(__file__).resolve().parent.parent
SERVER = [sys.executable, "-m", "convdsl", "lsp"]


def _frame(message: dict) -> bytes:
    body = json.dumps(message).encode("utf-8")
    return f"Content-Length: {len(body)}\r\n\r\n".encode("ascii") + body


def _session() -> bytes:
    return b"".join(
        _frame(m)
        for m in (
            {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "capabilities": {}}},
            {"jsonrpc": "2.0", "method": "initialized", "params": {}},
            {"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": None},
            {"jsonrpc": "2.0", "method": "exit", "params": None},
        )
    )


def _server(stdin) -> subprocess.CompletedProcess:
    """`convdsl lsp` reading an open file as its stdin."""
    return subprocess.run(SERVER, stdin=stdin, capture_output=True, env=_env(), timeout=60)


def _server_pipe(data: bytes) -> subprocess.CompletedProcess:
    """`convdsl lsp` reading `data` from a pipe."""
    return subprocess.run(SERVER, input=data, capture_output=True, env=_env(), timeout=60)


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _responses(stdout: bytes) -> dict:
    """The responses in a stdout stream, by id."""
    found = {}
    while stdout:
        header, _, rest = stdout.partition(b"\r\n\r\n")
        fields = dict(line.split(b": ", 1) for line in header.split(b"\r\n"))
        length = int(fields[b"Content-Length"])
        message = json.loads(rest[:length])
        stdout = rest[length:]
        if "id" in message:
            found[message["id"]] = message
    return found


@pytest.mark.parametrize("kind", ["pipe", "file"])
def test_a_whole_session_is_answered_from_a_pipe_or_a_regular_file(kind, tmp_path):
    session = _session()
    if kind == "file":  # a regular file cannot be watched by epoll: pygls' own reader reads it
        path = tmp_path / "session.bin"
        path.write_bytes(session)
        with path.open("rb") as stdin:
            done = _server(stdin)
    else:
        done = _server_pipe(session)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    responses = _responses(done.stdout)
    assert responses[1]["result"]["serverInfo"]["name"] == "convdsl"
    assert "textDocumentSync" in responses[1]["result"]["capabilities"]
    assert responses[2]["result"] is None  # shutdown answered, then exit ended the process


def test_a_header_line_past_the_limit_ends_the_server_without_a_traceback():
    from convdsl.lsp.stdio import MAX_HEADER_LINE

    junk = b"X" * (MAX_HEADER_LINE + 10) + b"\r\n"
    done = _server_pipe(junk + _session())
    assert done.returncode == 1  # ended without a shutdown request (LSP's rule)
    assert b"Traceback" not in done.stderr
    assert b"not the Language Server Protocol" in done.stderr
    assert _responses(done.stdout) == {}  # nothing after the junk was read as messages


def test_the_editor_going_away_mid_message_ends_the_server():
    session = _session()
    done = _server_pipe(session[: len(session) // 3])  # stops inside a body
    assert done.returncode == 1  # ended without a shutdown request (LSP's rule)
    assert b"Traceback" not in done.stderr
