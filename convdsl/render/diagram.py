"""What a diagram shows, before any drawing syntax: boxes, clusters and the
tensors between them, built from an Analysis with folded scopes and errors in place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..layers import KINDS
from ..model import Analysis, LayerInfo, Scope
from ..walk import topological_order
from . import text
from .fold import Folding
from .problems import Problems, locate


@dataclass(frozen=True)
class Box:
    """One node of the drawing: a layer, an input or output, or a folded block, group or repeat."""

    id: str
    role: str  # input | output | layer | block | group | repeat
    heading: str
    lines: tuple[str, ...]  # below the heading
    family: str  # colour group: a LayerKind.family, or io | block
    tooltip: str
    errors: tuple[str, ...]  # lines of the error messages drawn in it
    cluster: str | None  # the innermost cluster it is drawn in
    # what labels and the blocks style are made of (labels.py, blocks.py)
    name: str = ""  # the layer's full name, the folded scope's id, or the input's or output's name
    kind: str = ""  # the kind as written (`conv`), the block's name, or the role
    out: str = ""  # the shape of the tensor it makes, as shown (`64×56×56`); `?` when unknown
    dims: tuple | None = None  # that shape, channels first, without the batch; None when unknown
    ins: tuple[str, ...] = ()  # the shapes of the tensors into it, as shown
    params: int | str = 0  # an expression's text when the count is symbolic
    macs: int | str = 0
    count: int = 1  # copies, for a folded repeat


@dataclass(frozen=True)
class Cluster:
    id: str
    title: str
    role: str  # block | group
    parent: str | None


@dataclass(frozen=True)
class Link:
    """A tensor from one box to another."""

    tail: str
    head: str
    label: str  # its shape, `?` when unknown
    state: str  # ok | error (into a failing layer) | unknown (after one)
    dims: tuple | None = None  # its shape, channels first, without the batch


@dataclass(frozen=True)
class Diagram:
    name: str
    totals: str
    boxes: tuple[Box, ...]
    clusters: tuple[Cluster, ...]
    links: tuple[Link, ...]
    loose: tuple[str, ...]  # lines of the errors tied to no layer


def build(analysis: Analysis, folding: Folding = Folding()) -> Diagram:
    return _Builder(analysis, folding).build()


class _Builder:
    def __init__(self, analysis: Analysis, folding: Folding):
        self.analysis = analysis
        self.graph = analysis.network.layer_graph  # not `.graph`: drawing needs no networkx
        self.layout = analysis.network.settings.layout
        self.folding = folding
        self.problems: Problems = locate(analysis)
        self.key_of: dict[str, str] = {}  # graph node -> box key (a node name or a scope id)
        self.members: dict[str, list[str]] = {}  # box key -> graph nodes, in order
        self.folded: dict[str, tuple[Scope, int]] = {}  # box key -> (scope, its index in the members' scopes)
        self.cluster_of: dict[str, str | None] = {}  # box key -> cluster scope id
        self.clusters: dict[str, tuple[Scope, str | None]] = {}  # scope id -> (scope, parent id)

    def build(self) -> Diagram:
        for node in topological_order(self.graph):
            self._place(node)
        ids = {key: f"n{i}" for i, key in enumerate(self.members)}
        cluster_ids = {key: f"cluster_{i}" for i, key in enumerate(self.clusters)}
        boxes = tuple(self._box(key, ids[key], cluster_ids) for key in self.members)
        clusters = tuple(
            Cluster(
                cluster_ids[key],
                self._cluster_title(scope, parent),
                scope.kind,
                cluster_ids[parent] if parent else None,
            )
            for key, (scope, parent) in self.clusters.items()
        )
        loose = tuple(
            line
            for d in self.problems.loose
            for line in text.wrap(_message(d) + (f" ({_where(d)})" if d.span else ""), 60)
        )
        return Diagram(self.analysis.network.name, self._totals(), boxes, clusters, self._links(ids), loose)

    # grouping ---------------------------------------------------------------
    def _place(self, node: str) -> None:
        data = self.graph.nodes[node]
        scopes: tuple[Scope, ...] = data.get("scopes", ())
        at = self.folding.fold_at(scopes) if data["kind"] not in ("input", "output") else None
        key = node if at is None else scopes[at].id
        if at is not None:
            self.folded.setdefault(key, (scopes[at], at))
        parent = None
        for scope in scopes[:at]:
            if scope.kind == "repeat":
                continue
            self.clusters.setdefault(scope.id, (scope, parent))
            parent = scope.id
        self.key_of[node] = key
        self.members.setdefault(key, []).append(node)
        self.cluster_of.setdefault(key, parent)

    # boxes ------------------------------------------------------------------
    def _box(self, key: str, box_id: str, cluster_ids: dict) -> Box:
        cluster = self.cluster_of[key]
        where = cluster_ids[cluster] if cluster else None
        messages = dict.fromkeys(_message(d) for n in self.members[key] for d in self.problems.by_node.get(n, ()))
        errors = tuple(line for message in messages for line in text.wrap(message))
        if key in self.folded:
            scope, at = self.folded[key]
            role, heading, lines, family, tooltip = self._folded(key, scope, at)
        else:
            role, heading, lines, family, tooltip = self._single(key, cluster is not None)
        return Box(box_id, role, heading, lines, family, tooltip, errors, where, **self._facts(key, role))

    def _facts(self, key: str, role: str) -> dict:
        """Name, kind, shapes and counts of a box, for labels and the blocks style."""
        nodes = self.members[key]
        inside = set(nodes)
        layout = self.layout
        ins = [
            self.analysis.shapes.get((tail, data["src_port"]))
            for node in nodes
            for tail, _, data in self.graph.in_edges(node, data=True)
            if tail not in inside
        ]
        if role == "input":
            dims = self.analysis.network.inputs[key].dims
            return {"name": key, "kind": "input", "out": text.shape(dims, layout), "dims": dims}
        if role == "output":
            dims = ins[0] if ins else None
            return {
                "name": self.graph.nodes[key]["label"],
                "kind": "output",
                "out": text.shape(dims, layout),
                "dims": dims,
                "ins": (text.shape(dims, layout),),
            }
        # the tensor it makes: the first one that leaves it (the last member's, for a folded box)
        leaving = [node for node in nodes if any(h not in inside for h in self.graph.successors(node))]
        last = (leaving or nodes)[-1]
        info = self._info(last)
        dims = info.output_shapes[0] if info.output_shapes else None
        infos = [self._info(n) for n in nodes]
        params = sum(i.params for i in infos) if len(infos) > 1 else infos[0].params
        macs = sum(i.macs for i in infos) if len(infos) > 1 else infos[0].macs
        if key in self.folded:
            scope = self.folded[key][0]
            name, kind, count = scope.id, scope.name or scope.kind, scope.count if scope.kind == "repeat" else 1
            if scope.kind == "repeat":
                name = text.span_of_names(nodes[0], nodes[-1])
        else:
            name, kind, count = key, self.graph.nodes[key]["written"], 1
        return {
            "name": name,
            "kind": kind,
            "out": text.shape(dims, layout),
            "dims": dims,
            "ins": tuple(text.shape(d, layout) for d in dict.fromkeys(ins)),
            "params": params,
            "macs": macs,
            "count": count,
        }

    def _single(self, node: str, in_cluster: bool):
        data = self.graph.nodes[node]
        kind = data["kind"]
        if kind == "input":
            spec = self.analysis.network.inputs[node]
            batch = f", batch {spec.batch}" if spec.batch is not None else ""
            return "input", node, (text.shape(spec.dims, self.layout) + batch,), "io", f"input {node}"
        if kind == "output":
            name = data["label"]
            edges = self.graph.in_edges(node, data=True)
            shape = self.analysis.shapes.get((edges[0][0], edges[0][2]["src_port"])) if edges else None
            return "output", name, (text.shape(shape, self.layout),), "io", f"output {name}"
        info = self._info(node)
        shown = data["label"] if in_cluster else node
        if not text.telling(data["label"], data["written"]):
            shown = ""  # the heading says it all; the full name is in the tooltip
        params = f"{text.count(info.params)} params" if info.params else ""
        owner = self.analysis.layers.get(data.get("shares") or "")
        if owner is not None and (owner.params or owner.buffers):  # made by `reuse(...)`: another layer's weights
            shown = node if not in_cluster else data["label"]
            params = f"shared with {data['shares']}"
        line = " · ".join(part for part in (shown, params) if part)
        family = KINDS[data["written"]].family
        return (
            "layer",
            text.heading(data["written"], self._shown_args(data, info)),
            _nonempty(line),
            family,
            f"{node} ({kind})",
        )

    def _shown_args(self, data: dict, info: LayerInfo) -> dict:
        """A layer's arguments with each tensor it refers to (`center_crop(x)`) given as that
        tensor's shape: its name is local to a block and drawn nowhere."""
        args = data["args"]
        refs = [arg.name for arg in KINDS[data["written"]].args if arg.type == "tensor" and args.get(arg.name)]
        if not refs:
            return args
        shown = dict(args)
        for index, name in enumerate(refs, start=1):  # inputs: the main one, then the references in order
            if index < len(info.input_shapes) and info.input_shapes[index] is not None:
                shown[name] = text.shape(info.input_shapes[index], self.layout)
        return shown

    def _folded(self, key: str, scope: Scope, at: int):
        nodes = self.members[key]
        infos = [self._info(n) for n in nodes]
        stats = " · ".join(
            part
            for part in (
                f"{text.count(sum(i.params for i in infos))} params" if any(i.params for i in infos) else "",
                text.macs(sum(i.macs for i in infos)) if any(i.macs for i in infos) else "",
            )
            if part
        )
        # a folded box names its layers in full: `layer2.0`, not the `0` a cluster title would explain
        if scope.kind == "block":
            return "block", text.call(scope.name, scope.args), _nonempty(scope.id, stats), "block", scope.id
        if scope.kind == "group":
            count = f"{len(nodes)} layer{'s' if len(nodes) != 1 else ''}"
            if _reused(scope):  # `reuse(tower)` of a labelled group: what it calls again, then its own name
                return "group", text.call(scope.name, scope.args), _nonempty(scope.id, count, stats), "block", scope.id
            return "group", scope.id, _nonempty(count, stats), "block", scope.id
        return self._repeat(scope, at, nodes, stats)

    def _info(self, node: str) -> LayerInfo:
        """What inference learnt about a layer; nothing when it could not run (a cycle)."""
        info = self.analysis.layers.get(node)
        return (
            info if info is not None else LayerInfo(node, self.graph.nodes[node]["kind"], (), (), 0, 0, 0, None, None)
        )

    def _repeat(self, scope: Scope, at: int, nodes: list[str], stats: str):
        def copy(index):
            return [n for n in nodes if self.graph.nodes[n]["scopes"][at].index == index]

        first, last = copy(0), copy(scope.count - 1)
        inner = {self.graph.nodes[n]["scopes"][at + 1 : at + 2] for n in first}
        family = "block"
        if len(inner) == 1 and (only := next(iter(inner))) and only[0].kind == "block":
            # each copy is one block instance: name the block and the instances
            block = only[0]
            what = text.call(block.name, block.args)
            first_name, last_name = block.id, self.graph.nodes[last[0]]["scopes"][at + 1].id if last else block.id
        else:
            data = [self.graph.nodes[n] for n in first]
            if len(first) == 1:
                what = text.heading(data[0]["written"], data[0]["args"])
                family = KINDS[data[0]["written"]].family
            elif len(first) <= 4:
                what = "(" + " → ".join(text.heading(d["written"], d["args"]) for d in data) + ")"
            else:
                what = f"({len(first)} layers)"
            first_name, last_name = first[0], (last or first)[-1]
        names = text.span_of_names(first_name, last_name)
        return "repeat", f"{what} ×{scope.count}", _nonempty(names, stats), family, names

    def _cluster_title(self, scope: Scope, parent: str | None) -> str:
        shown = scope.id.rpartition(".")[2] if parent else scope.id
        if scope.kind == "block" or _reused(scope):
            return f"{shown}: {text.call(scope.name, scope.args)}"
        return shown

    # links ------------------------------------------------------------------
    def _links(self, ids: dict[str, str]) -> tuple[Link, ...]:
        order = {key: i for i, key in enumerate(self.members)}
        position = {node: i for i, node in enumerate(self.key_of)}
        found: dict[tuple, Link] = {}
        edges = (
            (tail, head, data) for node in self.key_of for tail, head, data in self.graph.in_edges(node, data=True)
        )
        for tail, head, data in edges:
            a, b = self.key_of[tail], self.key_of[head]
            if a == b:
                continue
            # one line per tensor into a box, though a folded box may use it twice
            key = (order[a], order[b], position[tail], data["src_port"])
            if key in found:
                continue
            dims = self.analysis.shapes.get((tail, data["src_port"]))
            into_error = head in self.problems.failed or head in self.problems.by_node
            state = "error" if into_error else "unknown" if dims is None else "ok"
            found[key] = Link(ids[a], ids[b], text.shape(dims, self.layout), state, dims)
        return tuple(found[key] for key in sorted(found))

    def _totals(self) -> str:
        a = self.analysis
        partial = f" ({a.partial_note})" if a.partial else ""
        return f"{text.count(a.params)} params · {text.macs(a.macs)}{partial}"


def _reused(scope: Scope) -> bool:
    """The scope of what `reuse(LABEL)` made again (lower/reuse.py names it `reuse` with the label)."""
    return scope.name == "reuse" and bool(scope.args)


def _nonempty(*lines: str) -> tuple[str, ...]:
    return tuple(line for line in lines if line)


def _message(diag) -> str:
    return f"{diag.code.code}: {diag.message}"


def _where(diag) -> str:
    span = diag.span
    return f"{Path(span.path).name}:{span.line}:{span.column}"
