"""Analysis of an edit from the version before it, where the edit is one number written over another.

Typing in an architecture mostly changes numbers: channels, kernels, strides. A whole analysis of
ResNet-152 takes 8 to 14 ms on the benchmark's machine; this one re-infers only what the new number can
change (patch.py: the new network from the old; inference.py: what is inferred again), and its
diagnostics are those of the whole analysis (tests/test_incremental.py compares them on every number of
every file in the repository). Anything else is analysed whole: `reanalyse` says None.

    state = keep(path, source, network, inference, lowering, strict)   # after a whole analysis
    done = reanalyse(state, source)                                    # a later text of the same file
"""

from __future__ import annotations

from dataclasses import dataclass

from ..diagnostics import Diagnostic
from ..network import Network
from ..source import Source
from .edit import NumberEdit, number_edit
from .inference import RecordingInference, reinfer
from .patch import patch

__all__ = ["NumberEdit", "Reanalysis", "RecordingInference", "State", "keep", "number_edit", "reanalyse"]


@dataclass(frozen=True)
class State:
    """What a later edit of the same file is analysed from."""

    path: str
    source: Source  # the text analysed, as lowering read it
    network: Network
    inference: RecordingInference
    strict: bool
    call_lines: frozenset  # the lines of this file where a block call is written (its instances keep its span)


@dataclass(frozen=True)
class Reanalysis:
    diagnostics: tuple[Diagnostic, ...]  # as analyze() gives them: before suppressions
    network: Network
    state: State  # for the edit after this one


def keep(path: str, source: Source, network: Network, inference, lowering, strict: bool) -> State | None:
    """The state of a whole analysis (made with RecordingInference), or None if no edit can start from it."""
    if not isinstance(inference, RecordingInference) or not inference.reusable():
        return None
    lines = set()
    for site in lowering.sites:
        span = site.call_span
        if span is not None and span.path == path:
            lines.update(range(span.line, span.end_line + 1))
    return State(path, source, network, inference, strict, frozenset(lines))


def reanalyse(state: State, source: Source, *, strict: bool = False) -> Reanalysis | None:
    """The analysis of `source` (a later text of state's file, its included files unchanged) from `state`,
    or None where the edit is not one this can analyse (the caller analyses the text whole)."""
    if source.path != state.path or strict != state.strict:
        return None
    edit = number_edit(state.source.text, source.text)
    if edit is None:
        return None
    patched = patch(state, edit, source)
    if patched is None:
        return None
    network, dirty = patched
    inference = reinfer(state.inference, network, dirty)
    analysis = inference._conclude()
    if not inference.reusable():
        return Reanalysis(analysis.diagnostics, network, None)
    return Reanalysis(
        analysis.diagnostics, network, State(state.path, source, network, inference, strict, state.call_lines)
    )
