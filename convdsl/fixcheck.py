"""Only fixes that fix: each fix a diagnostic offers is applied to the text, the network is
built and inferred again, and the fix is kept only if its error is gone and no new error
appeared. A fix that changes an output's shape says so ("also changes output `y` to ...").

Each check re-reads the network (parse, lowering, inference without size hints), so the
checks share a work budget counted in layers inferred (or, for a long text with few layers,
in its characters / 200); fixes beyond it are not offered.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from .fixes import EditError, apply


def keep_working_fixes(analysis, *, budget: int, reanalyze) -> tuple:
    """The analysis's diagnostics, each with only the fixes that were checked and work.

    reanalyze(network) -> Analysis infers a rebuilt network (without size hints): the caller's own
    inference, handed in, since inference is what calls this module. A network is rebuilt by its
    own `rebuild`; one without (not built from text) keeps no fix, as none can be checked.
    """
    network = analysis.network
    layers = max(1, sum(1 for data in network.layer_graph.nodes.values() if data.kind not in ("input", "output")))
    # a check reads all the text again too: a file of many statements and few layers costs by its size
    text = sum(len(source.text) for source in network.sources.values())
    checks = budget // max(layers, text // 200)
    errors = _errors(analysis.diagnostics)
    outputs = analysis.output_shapes()
    out = []
    for diag in analysis.diagnostics:
        if not diag.fixes:
            out.append(diag)
            continue
        kept = []
        for fix in diag.fixes:
            if checks <= 0:
                break
            checks -= 1
            verdict = check(analysis, fix, diag, errors, outputs, reanalyze)
            if verdict is not None:
                kept.append(replace(fix, also=verdict) if verdict else fix)
        out.append(replace(diag, fixes=tuple(kept)))
    return tuple(out)


def _errors(diagnostics) -> Counter:
    """Errors by (code, file, line): a fix moves columns on its own line, never lines."""
    return Counter(_key(d) for d in diagnostics if d.is_error)


def _key(diag):
    span = diag.span
    return (diag.code.code, span.path if span else None, span.line if span else None)


def check(analysis, fix, diag, errors: Counter, outputs: dict, reanalyze) -> str | None:
    """None if the fix does not work; else what else it changes ("" for nothing)."""
    network = analysis.network
    if network.rebuild is None:
        return None
    try:
        texts = apply(network.sources, fix.edits)
    except EditError:
        return None
    if any("\n" in e.text for e in fix.edits):
        return None
    after = reanalyze(network.rebuild(network, texts))
    remaining = _errors(after.diagnostics)
    expected = errors.copy()
    if diag.is_error:
        expected[_key(diag)] -= 1
    elif any(_key(d) == _key(diag) and d.code is diag.code for d in after.diagnostics):
        return None  # a warning or note that is still there
    if any(count > expected.get(key, 0) for key, count in remaining.items()):
        return None
    changed = []
    for name, shape in after.output_shapes().items():
        before = outputs.get(name)
        if shape is not None and before is not None and shape != before:
            changed.append(f"`{name}` to {' x '.join(map(str, shape))}")
    return f"also changes output {', '.join(changed)}" if changed else ""
