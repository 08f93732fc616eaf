"""Analysis of an edit from the version before it: one number written over another, spaces typed or taken
out between two tokens, text typed in a comment, a layer's call or kind, an element put in or taken out, a
line broken or joined.

Typing in an architecture mostly changes numbers (channels, kernels, strides), spaces and comments. A whole
analysis of ResNet-152 takes 8 to 14 ms on the benchmark's machine. Here:
- a number a layer's call writes: the new network is the old graph with the new argument (patch.py), and
  inference runs again only where something can differ (inference.py);
- a number a block's use is given (`bottleneck(128)` -> `bottleneck(129)`, one of a repeat's copies or
  alone), where the block's body reads its parameter only in layers' arguments: the old graph, with the
  layers of the call's instances that read it bound again (blockargs.py), inferred as for a number;
- a repeat's count where the copies are a block's instances, the last element of a labelled group (a stage's
  depth: `layer3: (... -> bottleneck(256) * 35)` -> `* 36`): the old graph with copies put in after the last
  one, made from it as lowering stamps them, or the last ones taken out (recount.py); the copies put in are
  inferred, with the wiring around them made again;
- spaces typed or taken out where no token begins, ends or changes (edit.space_edit): the old graph, the
  nodes written on the line with their places moved (patch.respace); only what reported is inferred again;
- an edit inside a comment: the network is the old one (a comment changes nothing lowered); only a
  suppression comment can change what is shown, and suppressions are applied afterwards, to the new text;
- any other edit within one layer's call (`bias=false` -> `bias=true`, an argument typed or taken out,
  `relu` -> `gelu`) whose arguments read no name: the old graph, with that call's layers bound again from the
  new text's syntax tree (rebind.py), inferred as for a number; where the kind changed, renamed as lowering
  names it, its neighbours' wiring made again (`reinfer_rewired`: what feeds it lints what follows it);
- one element put into a chain or taken out of it, at the top level or in a block's body (one in each of its
  instances) (`-> relu -> gelu -> maxpool`, a paste or an undo; ` -> g`, a name no kind has, typed on the way
  to ` -> gelu`): the old graph with the element's node and edges put in or taken out, named as lowering names
  it (splice.py), before a layer, a group, a block's use or a repeat. A name no kind has cuts the chain (the layers after it lose their shapes, a block's use after it
  makes nothing: cut.py); the edit that mends it is inferred from the state before the cut
  (`State.before_cut`), whose layers after it have the shapes they will have again, or spliced from that state
  where what a block's use made was left out (`_mended`);
- white space and comments typed or taken out, line breaks included (the Enter key, a continued line joined,
  a line's indentation, a comment line typed, pasted or deleted), where the new syntax tree is the old one's
  but for its places: the diagnostics before, their places moved (trivia.py); no state is kept, and the next
  text is analysed from the one before.
The diagnostics are those of the whole analysis: tests/test_incremental.py compares them on every number,
every run of spaces, every comment, every call's arguments (edited several ways), every layer's kind of every
file in the repository (of the kinds KIND_SWAPS has), and elements put in and taken out after every element
(a layer typed in a key at a time too). Any other edit is analysed whole (`reanalyse` says None), and there too
the state helps: `reinfer_lowered` takes over the inference of every layer that lowered to the same data,
with the same inputs and consumers, as before (a layer put in a block's body, a kind whose name moves
others' numbers).

    state = keep(path, source, network, inference, lowering, strict, diagnostics)  # after a whole analysis
    done = reanalyse(state, source)                                                # a later text of the file
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..diagnostics import Diagnostic
from ..network import Network
from ..source import Source
from .blockargs import block_argument
from .edit import NumberEdit, SpaceEdit, changed, comment_edit, number_edit, space_edit, trivia_change
from .inference import RecordingInference, reinfer, reinfer_lowered, reinfer_rewired
from .patch import CALL_GOES_ON, patch, respace
from .rebind import rebind
from .recount import repeat_count
from .splice import splice
from .trivia import relaid

__all__ = [
    "Expansion",
    "NumberEdit",
    "Reanalysis",
    "RecordingInference",
    "SpaceEdit",
    "State",
    "changed",
    "comment_edit",
    "keep",
    "number_edit",
    "reanalyse",
    "reinfer_lowered",
    "space_edit",
]


@dataclass(frozen=True)
class Expansion:
    """What the file's lowering counted against its limits: an element put in or taken out counts one step
    (and a layer) more or less (splice.py)."""

    steps: int
    step_budget: int
    layers: int
    max_layers: int


@dataclass(frozen=True)
class State:
    """What a later edit of the same file is analysed from."""

    path: str
    source: Source  # the text analysed, as lowering read it
    network: Network
    inference: RecordingInference
    strict: bool
    # line -> the column where the block calls written on it end (exclusive; CALL_GOES_ON where one goes on to the
    # next line), for the lines of this file where one is: its instances' sites keep its span, which an edit
    # before that column may move (patch.calls_reach)
    call_ends: dict
    diagnostics: tuple  # the analysis's, before suppressions
    carry: object = None  # what the last whole lowering left for the next (lower/carrying.py), or None
    expansion: Expansion | None = None
    # The state of a text before a name no kind has cut a chain (` -> g` typed: the layers after it lost their
    # shapes, or were not made at all where a block's use follows): the edit that mends it (` -> gelu`, or the
    # name taken out) is inferred from its inference, whose layers after the cut have the shapes they will have
    # again; where the cut left out what a block's use made, the mended text is spliced from it (splice.py:
    # from its text, the mended one differs by one element). Any earlier state of the file is a correct start
    # (reinfer_lowered compares every node, splice compares the texts); this one takes most over.
    before_cut: State | None = None
    # The syntax tree of `source`, or of a text alike but for places (syntax.alike); None where not known (a
    # number edited since): what a trivia edit's new tree is compared with (trivia.py).
    program: object = None


@dataclass(frozen=True)
class Reanalysis:
    diagnostics: tuple[Diagnostic, ...]  # as analyze() gives them: before suppressions
    network: Network
    state: State | None  # for the edit after this one (None: analyse the next text from the state before)


def keep(
    path: str,
    source: Source,
    network: Network,
    inference,
    lowering,
    strict: bool,
    diagnostics: tuple,
    previous: State | None = None,
    program=None,
) -> State | None:
    """The state of a whole analysis (made with RecordingInference), or None if no edit can start from it.
    previous: the state the analysis started from, if any: a chain it left cut stays cut in a text analysed
    whole (the server's analysis after each quick one), and the state before the cut is carried on. program:
    the text's syntax tree."""
    if not isinstance(inference, RecordingInference) or not inference.reusable():
        return None
    ends: dict[int, int] = {}
    for site in lowering.sites:
        span = site.call_span
        if span is not None and span.path == path:
            for line in range(span.line, span.end_line):
                ends[line] = CALL_GOES_ON
            ends[span.end_line] = max(ends.get(span.end_line, 0), span.end_column)
    expansion = Expansion(
        lowering.steps, lowering.step_budget, lowering.builder.layer_count, lowering.limits.max_layers
    )
    before_cut = (
        previous.before_cut if previous is not None and (previous.path, previous.strict) == (path, strict) else None
    )
    return State(
        path,
        source,
        network,
        inference,
        strict,
        ends,
        tuple(diagnostics),
        lowering.carry(),
        expansion,
        before_cut,
        program,
    )


def reanalyse(state: State, source: Source, *, strict: bool = False, parse=None) -> Reanalysis | None:
    """The analysis of `source` (a later text of state's file, its included files unchanged) from `state`,
    or None where the edit is not one this can analyse (the caller analyses the text whole). parse: a function
    giving source's syntax tree (None where it has syntax errors), asked only for an edit that is not a number
    a layer's call writes, spaces or a comment: an edit within a layer's call is read from it."""
    if source.path != state.path or strict != state.strict:
        return None
    old, new = state.source.text, source.text
    change = changed(old, new)
    if old == new or (change is not None and comment_edit(old, change)):
        # no change (an editor's edit that wrote what was there), or one inside a comment: the same network,
        # and only the suppressions may differ
        network = replace(state.network, sources={**state.network.sources, state.path: source})
        return Reanalysis(state.diagnostics, network, replace(state, source=source, network=network))
    if change is None:  # across lines
        return _relaid(state, source, parse) or _mended_across(state, source, strict, parse)
    edit = number_edit(old, new, change)
    program = None  # the new text's syntax tree, where known
    if edit is not None:
        patched = patch(state, edit, source)
    else:
        spaced = space_edit(old, new, change)
        patched = respace(state, spaced, source) if spaced is not None else None
        if patched is not None:
            program = state.program  # alike but for places
    start = state  # the state the new text is analysed from
    if patched is None and parse is not None:
        program = parse()  # (None: it has syntax errors)
        if program is not None:
            patched = (
                (
                    edit is not None
                    and (block_argument(state, edit, source, program) or repeat_count(state, edit, source, program))
                )
                or rebind(state, change, source, program)
                or splice(state, change, source, program)
            )
            if patched is None and state.before_cut is not None:
                mended = _mended(state.before_cut, source, program)
                if isinstance(mended, Reanalysis):
                    return mended
                if mended is not None:
                    patched, start = mended, state.before_cut
        if patched is None and edit is None:  # a line's indentation, a comment's `#`...
            return _relaid(state, source, parse)
    if patched is None:
        return None
    return _answered(state, start, patched, source, strict, program)


def _answered(state: State, start: State, patched, source: Source, strict: bool, program) -> Reanalysis | None:
    """The analysis of the network an edit patched, spliced or bound again (Patched) from `start` (the state
    before it, or the state before a cut that it mends), inferred again where it may differ."""
    network, previous, before_cut = patched.network, start.inference, start.before_cut
    if patched.cut is False and before_cut is not None:
        # a chain mended: inferred from before it was cut, each node compared with the one there
        inference = reinfer_lowered(before_cut.inference, network)
        before_cut = None
    elif patched.rewired is not None:
        # nodes put in, taken out or renamed: their wiring made again
        inference = reinfer_rewired(previous, network, patched.rewired, patched.dirty)
        if patched.cut and before_cut is None:
            before_cut = _uncut(start)
    else:
        inference = reinfer(previous, network, patched.dirty)
    expansion = patched.expansion or start.expansion
    if inference is None:
        return None
    analysis = inference._conclude()
    if not inference.reusable():
        return Reanalysis(analysis.diagnostics, network, None)
    diagnostics = analysis.diagnostics
    return Reanalysis(
        diagnostics,
        network,
        State(
            state.path,
            source,
            network,
            inference,
            strict,
            start.call_ends if patched.call_ends is None else patched.call_ends,
            diagnostics,
            start.carry,
            expansion,
            before_cut,
            program,
        ),
    )


def _uncut(state: State) -> State:
    """The state kept as a cut chain's state before the cut: without its syntax tree, and without a state before
    a cut of its own (one State each, not a chain of them)."""
    return replace(state, before_cut=None, program=None)


def _mended_across(state: State, source: Source, strict: bool, parse) -> Reanalysis | None:
    """A cut chain mended by an edit across lines (a line the cut was typed on taken out whole, an undo): from
    the state before the cut (`_mended`)."""
    before = state.before_cut
    if before is None or parse is None:
        return None
    program = parse()
    if program is None:
        return None
    mended = _mended(before, source, program)
    if mended is None or isinstance(mended, Reanalysis):
        return mended
    return _answered(state, before, mended, source, strict, program)


def _mended(before: State, source: Source, program):
    """A text that mends a cut chain where the text before the cut differs from it by one element between two
    others, or not at all (the cut taken back): the network spliced from the state before the cut (Patched),
    or that state's analysis itself (a Reanalysis); None where it does not."""
    old, new = before.source.text, source.text
    if old == new:
        network = replace(before.network, sources={**before.network.sources, before.path: source})
        kept = replace(before, source=source, network=network, program=program)
        return Reanalysis(before.diagnostics, network, kept)
    change = changed(old, new)
    if change is None or comment_edit(old, change):
        return None
    return splice(before, change, source, program)


def _relaid(state: State, source: Source, parse) -> Reanalysis | None:
    """White space and comments typed or taken out, line breaks included (trivia.py): the diagnostics of the
    text before, their places moved; no state (the next text is analysed from this one's)."""
    change = trivia_change(state.source.text, source.text)
    if change is None or parse is None:
        return None
    found = relaid(state, change, source, parse())
    if found is None:
        return None
    diagnostics, network = found
    return Reanalysis(diagnostics, network, None)
