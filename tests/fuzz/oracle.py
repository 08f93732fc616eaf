"""What every case must satisfy, however bad its input.

The API (decode, loads, analyze, to_json, the reporters) only ever returns
diagnostics: it never raises, never hangs. Every diagnostic has a registered
code, a non-empty message free of parser internals, and a span inside the
file it names. A program's results are JSON-native and deterministic: the
summary JSON survives json.dumps/json.loads unchanged, and loading and
analysing it again gives the same JSON. The generators (the DOT diagram, the
PyTorch export) keep every name from the file inert. The CLI never exits 3
and never shows a traceback.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import re
import signal
import traceback
from dataclasses import dataclass

import convdsl
from convdsl import cli, report
from convdsl.diagnostics import Diagnostic, lookup
from convdsl.export import export_pytorch
from convdsl.model import Limits
from convdsl.loading import decode
from convdsl.render import to_dot
from convdsl.summary import table, to_json

# A case taking longer than this is a hang: the largest takes a few seconds on a busy machine.
CASE_SECONDS = 60
# Lower than the default: a mutation that multiplies a repeat count reaches the limit in a
# fraction of the time, and the limit's own code runs more often. test_bad_input.py tests the default.
LIMITS = Limits(max_layers=20_000)
# Words from the parser or from Python that must never reach a user.
LEAKS = ("Token(", "Tree(", "__ANON", "$END", "<lark", "Traceback", "object at 0x")
# DOT attributes that make Graphviz read a file: never written by convdsl, so never injectable.
FILE_ATTRIBUTES = re.compile(r"\b(image|imagepath|fontpath|shapefile|URL|href)\s*=")
QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')


class Failure(AssertionError):
    """A case broke a rule; `reason` says which, the same for every input that breaks it the same way."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}\n{detail}" if detail else reason)
        self.reason = reason


class _Timeout(BaseException):
    """Raised by the alarm; a BaseException so that no `except Exception` in convdsl swallows it."""


@contextlib.contextmanager
def deadline(seconds: float):
    """Fail a case that runs longer than `seconds` (where SIGALRM exists: the main thread on Unix)."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum, frame):
        raise _Timeout()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _Timeout:
        raise Failure(f"hang: the case ran longer than {seconds} s") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Outcome:
    kind: str  # clean | errors | unreadable
    codes: tuple[str, ...]


def check_case(data: bytes, path: str, *, consistency: bool = False, reload: bool = False) -> Outcome:
    """Run one input through the API and check every rule; raise Failure if one is broken.

    consistency: also analyse it twice and expect the same; reload: also load it twice.
    """
    with deadline(CASE_SECONDS):
        try:
            return _check(data, path, consistency, reload)
        except Failure:
            raise
        except Exception as err:
            raise Failure(f"the API raised {type(err).__name__}", traceback.format_exc(limit=-12)) from None


def _check(data: bytes, path: str, consistency: bool, reload: bool) -> Outcome:
    source = decode(path, data)
    if isinstance(source, Diagnostic):
        check_diagnostic(source, {})
        if source.code.code != "E001":
            raise Failure(f"an undecodable file gave {source.code.code}, not E001")
        return Outcome("unreadable", ("E001",))
    network = convdsl.loads(source.text, path, limits=LIMITS)
    for diag in network.diagnostics:
        check_diagnostic(diag, network.sources)
    analysis = network.analyze()
    for diag in analysis.diagnostics:
        check_diagnostic(diag, network.sources)
        report.text(diag, network.sources)
        report.concise(diag)
        report.github(diag, path)
    summary = to_json(analysis)
    try:
        encoded = json.dumps(summary, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise Failure(f"the summary JSON cannot be encoded: {err}") from None
    if json.loads(encoded) != summary:
        raise Failure("the summary JSON changes in a json.dumps/json.loads round trip (a non-JSON value)")
    _check_totals(summary)
    if consistency:
        table(analysis)
        check_generators(analysis, path)
        if to_json(network.analyze()) != summary:
            raise Failure("analysing the same network twice gives different results")
    if reload and to_json(convdsl.loads(source.text, path, limits=LIMITS).analyze()) != summary:
        raise Failure("loading the same text twice gives different results")
    codes = tuple(d.code.code for d in analysis.diagnostics)
    return Outcome("errors" if analysis.has_errors else "clean", codes)


def check_generators(analysis, path: str) -> None:
    """The diagram and the PyTorch export of any analysis: made without an exception, and inert.

    Names in the file are hostile (see HOSTILE_NAMES, HOSTILE_STEMS): outside its quoted strings the
    DOT text must hold no markup and no attribute that reads a file, with braces balanced; the
    exported Python must parse, import nothing but torch, and compile.
    """
    bare = QUOTED.sub('""', to_dot(analysis))
    if "<" in bare or bare.count("{") != bare.count("}") or FILE_ATTRIBUTES.search(bare):
        raise Failure("a name escaped its quotes in the DOT text", bare[:3000])
    if analysis.has_errors:
        return
    source = export_pytorch(analysis, source_label=path).source
    if source is None:
        return  # a layer PyTorch cannot compute: said in the export's diagnostics
    try:
        tree = ast.parse(source)
        compile(tree, "exported.py", "exec")
    except SyntaxError as err:
        raise Failure("the exported Python does not compile", f"{err}\n{source[:3000]}") from None
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    if not imported <= {"torch", "torch.nn", "torch.nn.functional", "__future__"}:
        raise Failure("the exported Python imports more than torch", ", ".join(sorted(imported)))


def _check_totals(summary: dict) -> None:
    layers = summary["layers"]
    for key in ("params", "macs"):
        values = [layer[key] for layer in layers]
        if isinstance(summary[key], int) and all(isinstance(v, int) for v in values) and sum(values) != summary[key]:
            raise Failure(f"the layers' {key} do not add up to the total")
    if isinstance(summary["macs"], int) and summary["flops"] != 2 * summary["macs"]:
        raise Failure("flops is not 2 x macs")


def check_diagnostic(diag: Diagnostic, sources: dict) -> None:
    if not isinstance(diag.message, str) or not diag.message.strip():
        raise Failure(f"{diag.code.code}: an empty message")
    if lookup(diag.code.code) is not diag.code:
        raise Failure(f"{diag.code.code}: not in the registry")
    words = " ".join((diag.message, diag.label or "", diag.help or "", *diag.notes))
    for leak in LEAKS:
        if leak in words:
            raise Failure(f"{diag.code.code}: the message shows {leak!r}", words)
    span = diag.span
    if span is None:
        return
    source = sources.get(span.path)
    if source is None:
        raise Failure(f"{diag.code.code}: the span names {span.path!r}, which is not among the sources")
    lines = source.text.split("\n")
    for line, column in ((span.line, span.column), (span.end_line, span.end_column)):
        if not 1 <= line <= len(lines) or not 1 <= column <= len(lines[line - 1]) + 1:
            raise Failure(
                f"{diag.code.code}: a span outside the file",
                f"{line}:{column} in a file of {len(lines)} lines: {diag.message}",
            )
    if (span.end_line, span.end_column) < (span.line, span.column):
        raise Failure(f"{diag.code.code}: the span ends before it starts")


def check_cli(path: str, command: list[str]) -> int:
    """Run the CLI in-process on a file; it may exit 0, 1 or 2, and never show a traceback."""
    out, err = io.StringIO(), io.StringIO()
    with deadline(CASE_SECONDS), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([*command, "--max-layers", str(LIMITS.max_layers), path])
    stderr = err.getvalue()
    if code not in (0, 1, 2):
        raise Failure(f"`convdsl {' '.join(command)}` exited {code}", stderr[-2000:])
    if "Traceback" in stderr or "internal error" in stderr:
        raise Failure(f"`convdsl {' '.join(command)}` showed an internal error", stderr[-2000:])
    if "--format" in command and "json" in command and code != 2:  # exit 2: nothing to report on
        try:
            json.loads(out.getvalue())
        except ValueError:
            raise Failure(f"`convdsl {' '.join(command)}` printed invalid JSON", out.getvalue()[:2000]) from None
    return code
