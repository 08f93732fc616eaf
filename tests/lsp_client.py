"""A small LSP client over stdio, as an editor talks to `convdsl lsp`: for the end-to-end tests and the
latency benchmark. JSON-RPC with Content-Length framing; a reader thread sorts what the server sends
into responses (by id), notifications, and requests from the server (answered with null)."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class LspClient:
    def __init__(self, *, env: dict | None = None, cwd: str | None = None):
        environment = dict(os.environ)
        environment["PYTHONPATH"] = str(ROOT) + os.pathsep + environment.get("PYTHONPATH", "")
        environment.update(env or {})
        self.process = subprocess.Popen(
            [sys.executable, "-m", "convdsl", "lsp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
            cwd=cwd or str(ROOT),
        )
        self.next_id = 0
        self.responses: dict[int, queue.Queue] = {}
        self.notifications: queue.Queue = queue.Queue()
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.versions: dict[str, int] = {}
        self.received = 0.0  # perf_counter() when the reader thread had the last diagnostics diagnostics() returned
        self.passed_over: list[dict] = []  # notifications diagnostics() read while waiting for another

    # framing -----------------------------------------------------------------
    def _send(self, message: dict) -> None:
        body = json.dumps(message).encode("utf-8")
        with self.lock:
            self.process.stdin.write(f"Content-Length: {len(body)}\r\n\r\n".encode("ascii") + body)
            self.process.stdin.flush()

    def _read(self) -> None:
        stream = self.process.stdout
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            message = json.loads(stream.read(length))
            if "id" in message and "method" not in message:
                self.responses.setdefault(message["id"], queue.Queue()).put(message)
            elif "id" in message:  # a request from the server (configuration, refresh...): answer null
                self._send({"jsonrpc": "2.0", "id": message["id"], "result": None})
            else:
                message["received"] = time.perf_counter()
                self.notifications.put(message)

    # calls -------------------------------------------------------------------
    def request(self, method: str, params, timeout: float = 30.0):
        self.next_id += 1
        number = self.next_id
        box = self.responses.setdefault(number, queue.Queue())
        self._send({"jsonrpc": "2.0", "id": number, "method": method, "params": params})
        reply = box.get(timeout=timeout)
        del self.responses[number]
        if "error" in reply:
            raise LspError(reply["error"])
        return reply.get("result")

    def notify(self, method: str, params) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def initialize(self, options: dict | None = None) -> dict:
        result = self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": ROOT.as_uri(),
                "capabilities": {},
                "initializationOptions": options or {},
            },
        )
        self.notify("initialized", {})
        return result

    def open(self, path: str | Path, text: str | None = None) -> str:
        path = Path(path).resolve()
        uri = path.as_uri()
        text = path.read_text(encoding="utf-8") if text is None else text
        self.versions[uri] = 1
        self.notify(
            "textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "convdsl", "version": 1, "text": text}}
        )
        return uri

    def change(self, uri: str, text: str, range_: dict | None = None) -> int:
        self.versions[uri] += 1
        change = {"text": text} if range_ is None else {"range": range_, "text": text}
        self.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": self.versions[uri]}, "contentChanges": [change]},
        )
        return self.versions[uri]

    def diagnostics(self, uri: str, version: int | None = None, timeout: float = 30.0) -> list:
        """The next publishDiagnostics for uri (for `version` when given)."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.notifications.get(timeout=max(0.01, deadline - time.monotonic()))
            params = message.get("params") or {}
            if (
                message.get("method") == "textDocument/publishDiagnostics"
                and params["uri"] == uri
                and (version is None or params.get("version") == version)
            ):
                self.received = message["received"]  # when the reader thread had it (a benchmark's clock)
                return params["diagnostics"]
            self.passed_over.append(message)

    def published(self, uri: str, timeout: float = 30.0) -> list:
        """The latest diagnostics published for uri, among those passed over and those to come."""
        for message in reversed(self.passed_over):
            if message.get("method") == "textDocument/publishDiagnostics" and message["params"]["uri"] == uri:
                return message["params"]["diagnostics"]
        return self.diagnostics(uri, timeout=timeout)

    def at(self, method: str, uri: str, line: int, character: int, **extra):
        return self.request(
            method, {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}, **extra}
        )

    def close(self) -> None:
        try:
            self.request("shutdown", None, timeout=10)
            self.notify("exit", None)
            self.process.wait(timeout=10)
        except Exception:
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            try:
                stream.close()
            except OSError:
                pass


class LspError(Exception):
    def __init__(self, error: dict):
        super().__init__(error.get("message"))
        self.error = error
