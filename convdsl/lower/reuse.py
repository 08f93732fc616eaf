"""`reuse(LABEL)`: a layer, labelled group or block instance called again on a new input, with its weights.

Lowering copies what the label names: every layer it made, under the name the
reuse takes (`reuse1`, or its own label), each copy marked with the layer whose
parameters it uses (model.LayerNode.shares, always the owner, also for a reuse
of a reuse). So every consumer sees ordinary layers: shapes are inferred per
use (a reused convolution at another scale is fine), MACs counted per use;
inference counts the parameters once, at the owner, and reports a use whose
input would give the layer other parameters (reusing.py). The export calls the
original module again.

The label is looked up as `tie=` looks one up: from the scope the reuse is in
outwards (its labelled groups, its block instance, the instances around it, the
top level). The labelled thing must have been made by then, in file order.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import diagnostics as codes
from ..diagnostics import did_you_mean
from ..model import LayerNode, Reuse, Scope, TensorRef
from ..syntax import Name
from .state import _Abort, _Deferred


@dataclass(eq=False)
class _Extent:
    """What one label made: the layers self.made[start:end], the tensor that went in, what came out."""

    start: int
    end: int
    entry: object  # a tensor value (TensorRef or _Deferred), None after an error or for a source (param)
    outputs: list | None
    kind: str  # layer | group | block | param | merge
    depth: int  # how many scopes were open around it (its own scope, for a group or block, is the next)
    origin: str | None = None  # made by a reuse: the full name of what that reuse called again


class Reuses:
    """Lowering's `reuse(LABEL)`, as a mixin; the extents are recorded by statements.py and blocks.py."""

    def _extent_open(self, full: str) -> tuple[int, int]:
        self.opening.add(full)
        return len(self.made), len(self.scopes)

    def _extent_close(self, full: str, opened, entry, outputs, kind: str) -> None:
        self.opening.discard(full)
        start, depth = opened
        self.extents[full] = _Extent(start, len(self.made), entry, outputs, kind, depth)

    def _reuse(self, call, current, scope, names, label):
        label_text, label_span = self._reuse_label(call)
        if label_text is None:
            return None
        found = self._find_reused(label_text, names)
        if found is None:
            self._reuse_missing(label_text, label_span, names, scope)
            return None
        full, extent = found
        if full in self.opening:
            self.error(
                codes.RECURSIVE_BLOCK,
                label_span,
                f"`reuse({label_text})` is inside `{full}` itself: it would call itself without end",
                "reused from inside",
                f"reuse `{label_text}` after it, outside its own layers",
            )
            return None
        if extent.kind in ("param", "merge"):
            what = (
                "a learnable tensor (`param`); read it by name, e.g. `add(" + label_text + ")`"
                if extent.kind == "param"
                else "a merge of several tensors, and `reuse` applies a layer to one tensor"
            )
            self.error(
                codes.ARGUMENT_TYPE,
                label_span,
                f"`{label_text}` is {what.split(';')[0].split(',')[0]}",
                "not a layer to reuse",
                f"`{label_text}` is {what}"
                if extent.kind == "param"
                else "reuse a layer, a labelled group or a block instance",
            )
            return None
        if current is None:
            return None  # an error upstream, reported there
        value = self._single(current, call.span)
        if value is None:
            return None
        local = self._claim(names, label.id, label.span) if label is not None else self._auto_name(names, "reuse")
        new_full = names.prefix + local
        return self._copy(extent, full, new_full, local, value, call, names, label_text)

    def _reuse_label(self, call):
        """The label `reuse(...)` names, as text (`tower`, `tower.conv1`), with its span; None after an error."""
        arg = call.args[0] if len(call.args) == 1 and not call.kwargs else None
        if isinstance(arg, Name):
            return arg.id, arg.span
        self.error(
            codes.ARGUMENT_TYPE,
            (arg.span if arg is not None else call.span),
            "`reuse` takes one label: the layer, labelled group or block instance to call again",
            "not a label",
            "label what you reuse and name it: `a = x -> tower: conv(64, 3)`, then `b = y -> reuse(tower)`",
        )
        return None, None

    def _candidates(self, names):
        """The name prefixes a label is looked up in, innermost first: the reuse's own scope, then outwards."""
        prefix = names.prefix
        parts = prefix.split(".")[:-1] if prefix else []
        for n in range(len(parts), -1, -1):
            yield "".join(part + "." for part in parts[:n])

    def _find_reused(self, label: str, names):
        for prefix in self._candidates(names):
            if prefix + label in self.opening:  # being made now: the reuse is inside it
                return prefix + label, None
            extent = self.extents.get(prefix + label)
            if extent is not None:
                return prefix + label, extent
        return None

    def _reuse_missing(self, label, span, names, scope) -> None:
        later = label.split(".")[0] in names.taken or label.split(".")[0] in self.top_labels
        if label in scope.tensors or label in self.inputs:
            self.error(
                codes.ARGUMENT_TYPE,
                span,
                f"`{label}` is a tensor; `reuse` calls a layer again, by its label",
                "a tensor, not a layer",
                "label the layer, labelled group or block instance that made it "
                "(`a = x -> tower: conv(64, 3)`) and reuse that: `reuse(tower)`",
            )
            return
        if label in self.blocks:
            self.error(
                codes.ARGUMENT_TYPE,
                span,
                f"`{label}` is a block definition; `reuse` calls one instance of it again, by its label",
                "a block, not an instance",
                f"label a use of it (`a = x -> tower: {label}(...)`) and reuse that: `reuse(tower)`",
            )
            return
        if later:
            self.error(
                codes.UNDEFINED_NAME,
                span,
                f"`reuse({label})` comes before `{label}` is made",
                "not made yet",
                f"reuse `{label}` in a statement after the one that labels it (statements are read in order)",
            )
            return
        visible = set()
        for prefix in self._candidates(names):
            for full in self.extents:  # only on an error: every name made so far
                if full.startswith(prefix) and "." not in full[len(prefix) :]:
                    visible.add(full[len(prefix) :])
        help_ = did_you_mean(label, visible) or (
            "label what you reuse and name it: `a = x -> tower: conv(64, 3)`, then `b = y -> reuse(tower)`"
        )
        self.error(
            codes.UNDEFINED_NAME,
            span,
            f"no layer, labelled group or block instance `{label}` to reuse here",
            "not defined",
            help_,
        )

    def _copy(self, extent, full, new_full, local, value, call, names, label_text):
        """The layers of `extent` made again under `new_full`, fed `value` where the original took its entry."""
        graph = self.graph
        self.reuse_count += 1  # a copy that reuses is not stamped (stamping.py)
        originals = self.made[extent.start : extent.end]
        single = extent.kind == "layer"
        renamed = {}
        for node in originals:
            renamed[node] = new_full if single else new_full + node[len(full) :]
        # the copy's own scope: a cluster titled `reuse1: reuse(tower)`; a block's folds as a block does
        own = (
            ()
            if single
            else (Scope(new_full, "block" if extent.kind == "block" else "group", "reuse", ((None, label_text),)),)
        )
        outer = tuple(self.scopes)
        entry = self._tensor_key(extent.entry)
        made = []
        others = False
        for node in originals:
            data = graph.nodes[node]
            if not self.builder.count_layer(call.span):
                raise _Abort
            self._spend(1, call.span)
            inner = data.scopes[extent.depth + 1 :] if not single else ()
            scopes = outer + own + tuple(_moved(s, full, new_full) for s in inner)
            copy = renamed[node]
            inputs = []
            for port, source in self.node_inputs.get(node, ()):
                if entry is not None and self._tensor_key(source) == entry:
                    source = value
                else:
                    key = self._tensor_key(source)
                    if isinstance(key, TensorRef) and key.node in renamed:
                        source = TensorRef(renamed[key.node], key.port)
                    else:  # the same tensor as the original's (attention's memory, a block's tensor parameter)
                        others = True
                inputs.append((port, source))
            self.builder.add_layer(
                copy,
                LayerNode(
                    data.kind,
                    data.written,
                    data.args,
                    call.span,
                    local if single else data.label,
                    names.block_path,
                    scopes,
                    self.site,
                    {},
                    data.explicit,
                    data.incomplete,
                    (),
                    data.shares or node,
                ),
            )
            self._record(copy, inputs)
            made.append(copy)
            for port, source in inputs:
                self.pending_edges.append((source, copy, port))
        outputs = None
        if extent.outputs is not None:
            outputs = []
            for out in extent.outputs:
                key = self._tensor_key(out)
                if entry is not None and key == entry:
                    outputs.append(value)
                elif isinstance(key, TensorRef) and key.node in renamed:
                    outputs.append(TensorRef(renamed[key.node], key.port))
                else:
                    outputs.append(out)
        origin = extent.origin or full
        self.extents[new_full] = _Extent(
            len(self.made) - len(made), len(self.made), value, outputs, extent.kind, len(self.scopes), origin
        )
        refs = tuple(
            (key.node, key.port) if isinstance(key := self._tensor_key(out), TensorRef) else None
            for out in (outputs or ())
        )
        record = Reuse(origin, new_full, extent.kind, refs, others)
        self.site.reuses.setdefault(call.span, []).append(record)
        return outputs

    def _record(self, node: str, inputs) -> None:
        """A layer made: in order, with its inputs, so that a reuse can copy it."""
        self.made.append(node)
        if inputs:
            self.node_inputs[node] = inputs

    def _tensor_key(self, value):
        """What a tensor value stands for, comparable: its producer where known, else the name it was read by."""
        if value is None:
            return None
        seen = set()
        while isinstance(value, _Deferred):
            if id(value) in seen:
                return None
            seen.add(id(value))
            entry = value.scope.tensors.get(value.name)
            if entry is None or entry[0] is None:
                return (id(value.scope), value.name)
            value = entry[0]
        return TensorRef(value.node, value.port) if isinstance(value, TensorRef) else value


def _moved(scope: Scope, old: str, new: str) -> Scope:
    """A scope inside the reused group, for its copy: its own id, so figures fold and draw it apart."""
    if scope.id == old or scope.id.startswith(old + "."):
        ident = new + scope.id[len(old) :]
    else:  # a repeat's `#N`, shared by its copies
        ident = f"{scope.id}@{new}"
    return Scope(ident, scope.kind, scope.name, scope.args, scope.index, scope.count)
