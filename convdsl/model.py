"""The network's data model: what lowering (or a builder) makes and every consumer reads.

Settings, limits and inputs; the scopes and sites layers were made in; the
per-layer results of inference and the Analysis that gathers them. Plain
records, no behaviour beyond reading themselves: everything else in convdsl
depends on this module, and it depends on nothing above the catalogue.
"""

from __future__ import annotations

import dataclasses
from _thread import allocate_lock  # threading's Lock, without importing threading (0.8 ms of every `check`)
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import TYPE_CHECKING

from .diagnostics import Diagnostic
from .layers.base import prod
from .records import frozen
from .source import Span

if TYPE_CHECKING:  # for the annotation only: the Network sits above this module
    from .network import Network

ROUNDINGS = ("pytorch", "caffe", "tensorflow", "darknet")
LAYOUTS = ("NCHW", "NHWC")
INPUT_LAYOUTS = ("channels", "tokens")  # `input x: ..., layout=tokens`
DTYPES = ("float", "long")  # `input ids: ..., dtype=long`
BYTES_PER_VALUE = 4  # float32
SWEEP_BUDGET = 200_000  # layer evaluations analyze() may spend on size sweeps (symbolic sizes, size hints)


@frozen
class Limits:
    """Bounds that keep a pathological file from exhausting time or memory."""

    # 100,000 layers take seconds and a few hundred MB to check; a million, minutes and gigabytes.
    max_layers: int = 100_000
    max_depth: int = 64  # blocks inside blocks, and groups inside groups
    max_include_depth: int = 16
    max_repeat: int = 1_000_000
    # Folders besides the project that includes may read (--include-path): see include_policy.py.
    include_path: tuple = ()


@frozen
class Settings:
    rounding: str = "pytorch"
    layout: str = "NCHW"


@frozen
class InputSpec:
    name: str
    dims: tuple  # (C, *spatial); an entry is an int, or a str for a symbolic size
    axes: tuple[str, ...]  # a name per entry: C, then L | D H W | the file's own symbols
    batch: int | str | None
    span: Span
    dim_spans: tuple[Span, ...] = ()  # where each of dims is written: a size fix edits it
    layout: str = "channels"  # `layout=tokens`: the last axis is the features, the others sequence or grid
    dtype: str = "float"  # `dtype=long`: integer ids (embedding's input), every axis a sequence axis

    def moved(self, move) -> InputSpec:
        """The input with its places (its declaration, each size) put through `move` (Span -> Span, as an edit
        moved the text), as LayerNode.moved does a layer's."""
        return replace(
            self,
            span=move(self.span) if self.span is not None else None,
            dim_spans=tuple(move(place) for place in self.dim_spans),
        )

    def spatial_indices(self) -> range:
        """The indices of dims that are spatial or sequence axes (the ones `sizes` sweeps)."""
        if self.dtype == "long":
            return range(0, len(self.dims))
        if self.layout == "tokens":
            return range(0, len(self.dims) - 1)
        return range(1, len(self.dims))


_SPATIAL_NAMES = {0: (), 1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


def input_axes(dims, layout: str, dtype: str) -> tuple[str, ...]:
    """A name per axis: C then L | H W | D H W (channels); L or H W, then D (tokens); L... (long ids)."""
    if dtype == "long":
        names = ("L",) if len(dims) == 1 else _SPATIAL_NAMES[min(len(dims), 3)][-len(dims) :]
        return tuple(d if isinstance(d, str) else a for d, a in zip(dims, names))
    if layout == "tokens":
        names = _SPATIAL_NAMES[min(len(dims) - 1, 3)] + ("D",)
        return tuple(d if isinstance(d, str) else a for d, a in zip(dims, names))
    spatial = _SPATIAL_NAMES[len(dims) - 1]
    return ("C",) + tuple(d if isinstance(d, str) else a for d, a in zip(dims[1:], spatial))


@frozen
class Scope:
    """A block instance, labelled group or repeat copy a layer was made in.

    Diagrams draw blocks and groups as clusters, and fold a block or all the
    copies of a repeat into one node; a layer's `scopes` lists them outermost first.
    """

    id: str  # blocks and groups: their name prefix (`layer1.0`); repeats: `#N`, shared by its copies
    kind: str  # block | group | repeat
    name: str = ""  # the block's name or the group's label
    args: tuple = ()  # a block's arguments as given: (keyword or None if positional, value)
    index: int = 0  # a repeat: this copy's index, of `count`
    count: int = 1


@dataclass(eq=False)
class Site:
    """Where layers were made: the network's top level, or one block instance.

    Each layer node's `site` is the innermost one. The PyTorch export reads them
    to write one class per block definition: the definition (definition.py's
    records, from the top level's `definitions`), each instance's arguments and
    the tensors it received.
    """

    prefix: str  # the instance's name prefix (`layer1.0.`); "" at the top level
    block: str | None  # the name of the block definition it is an instance of; None at the top level
    env: dict  # constants visible there and, in a block, its parameters' values
    call_span: Span | None = None  # where the use of the block that made the instance is written
    block_path: tuple = ()  # the blocks it is nested in, its own last
    parent: Site | None = None
    inputs: dict = field(default_factory=dict)  # `in` and tensor parameters -> (node, port), once resolved
    # top level: the network's definitions, read on request: top() -> definition.Definition, block(name),
    # names() (lower.record.Records); None for a network built without any (convdsl.build)
    definitions: object = None
    # `reuse(LABEL)` steps made here: the reuse call's span -> [model.Reuse], one per time the step was expanded
    reuses: dict = field(default_factory=dict)


@frozen
class Reuse:
    """One expansion of `reuse(LABEL)`: the layer, labelled group or block instance it calls again (`target`,
    its full name), and the name its copy took (`name`): the copy's layers are `name` + what follows `target`
    in the original's names."""

    target: str
    name: str
    kind: str  # layer | group | block
    outputs: tuple = ()  # the tensors it gives, (node, port) each; None for one not known (after an error)
    others: bool = False  # its layers also read tensors besides the one flowing in (the original's: a memory)


@frozen
class TensorRef:
    """A tensor in the graph: output `port` of `node`. `name` is what the network calls it, if anything
    (the `.cdsl` tensor's name, an importer's blob name); str() gives it, or the node's name."""

    node: str
    port: int = 0
    name: str | None = dataclasses.field(default=None, compare=False)

    def __str__(self) -> str:
        return self.name or (self.node if self.port == 0 else f"{self.node}:{self.port}")


_LAYER_KEYS = (
    "kind",
    "written",
    "args",
    "span",
    "block_path",
    "scopes",
    "label",
    "arg_spans",
    "explicit",
    "site",
    "incomplete",
    "shares",
)
_INPUT_KEYS = ("kind", "args", "span", "block_path", "label", "written")
_OUTPUT_KEYS = (*_INPUT_KEYS, "incomplete", "dim_spans")
_NO_NAMES = frozenset()


class LayerNode:
    """One node of the layer graph: a layer instance, a network input (kind `input`) or an output (`output`).

    kind: the catalogue's name for the layer's kind; written: the name the call used
    (`bn` for batchnorm); args: its bound arguments by spec name, defaults filled in
    (one dict may be shared by equal layers: never change it); span: where it was
    made, in whichever file made it (a .cdsl file, or an importer's YAML or
    prototxt); label: its own name inside its scope (`conv1`); block_path: the
    blocks it is nested in, outermost first; scopes: the model.Scope block
    instances, groups and repeat copies it is in; site: the model.Site it was made
    in (None where the builder made it without one); arg_spans: where each given
    argument is written; explicit: the names of the arguments given, not defaulted;
    incomplete: one of its inputs is missing (an error was reported upstream);
    dim_spans: an output's declared sizes, where each is written (`output y: 3 x 64
    x 64`; the sizes themselves are its args["shape"]); shares: for a layer made by
    `reuse(LABEL)`, the layer whose parameters it uses (they are counted there), else None.

    Reads (and writes) as a mapping too (`node["kind"]`, `node.get("site")`): the
    form `Network.graph`'s networkx nodes carry (`as_dict`), and the form the node
    data had before it was a record. convdsl's own code reads the attributes.
    """

    __slots__ = (*_LAYER_KEYS, "dim_spans")

    def __init__(
        self,
        kind: str,
        written: str,
        args: dict,
        span,
        label: str = "",
        block_path: tuple = (),
        scopes: tuple = (),
        site=None,
        arg_spans: dict | None = None,
        explicit: frozenset = _NO_NAMES,
        incomplete: bool = False,
        dim_spans: tuple = (),
        shares: str | None = None,
    ):
        self.kind = kind
        self.written = written
        self.args = args
        self.span = span
        self.label = label
        self.block_path = block_path
        self.scopes = scopes
        self.site = site
        self.arg_spans = arg_spans if arg_spans is not None else {}
        self.explicit = explicit
        self.incomplete = incomplete
        self.dim_spans = dim_spans
        self.shares = shares

    def keys(self) -> tuple[str, ...]:
        """The keys the mapping form has: an input has no scopes, site, argument spans or incompleteness."""
        kind = self.kind
        return _INPUT_KEYS if kind == "input" else _OUTPUT_KEYS if kind == "output" else _LAYER_KEYS

    def __getitem__(self, key: str):
        if key not in self.keys():
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key: str, value) -> None:
        if key not in self.keys():
            raise KeyError(key)
        setattr(self, key, value)

    def get(self, key: str, default=None):
        return getattr(self, key) if key in self.keys() else default

    def __contains__(self, key) -> bool:
        return key in self.keys()

    def as_dict(self) -> dict:
        return {key: getattr(self, key) for key in self.keys()}

    def copy(self) -> LayerNode:
        node = LayerNode.__new__(LayerNode)
        for slot in LayerNode.__slots__:
            setattr(node, slot, getattr(self, slot))
        return node

    def moved(self, move) -> LayerNode:
        """The node with every place it holds (its call, its arguments, its declared sizes) put through `move`
        (Span -> Span, as an edit moved the text): a copy, or the node itself where none moved."""
        span = move(self.span) if self.span is not None else None
        arg_spans, dim_spans = self.arg_spans, self.dim_spans
        # asked of every node of a network on an editor's edits: nothing is made where nothing moved
        for place in arg_spans.values():
            if move(place) is not place:
                arg_spans = {arg: move(place) for arg, place in arg_spans.items()}
                break
        for place in dim_spans:
            if move(place) is not place:
                dim_spans = tuple(move(place) for place in dim_spans)
                break
        if span is self.span and arg_spans is self.arg_spans and dim_spans is self.dim_spans:
            return self
        node = self.copy()
        node.span, node.arg_spans, node.dim_spans = span, arg_spans, dim_spans
        return node

    def __repr__(self) -> str:
        return f"LayerNode({self.kind!r}, {self.label!r}, {self.args!r})"


@frozen
class LayerInfo:
    name: str
    kind: str
    input_shapes: tuple
    output_shapes: tuple  # one per output; None where unknown
    params: int
    buffers: int
    macs: int
    receptive_field: tuple[int, ...] | None  # per spatial axis of the network input
    effective_stride: tuple[int | Fraction, ...] | None  # an int where whole, a Fraction after upsampling
    # per spatial axis: every output position sees all of the input there (after a global pool, or a merge
    # with one, as a squeeze-and-excitation gate); the receptive field then counts the padded input
    whole_input: tuple[bool, ...] | None = None
    shares: str | None = None  # made by `reuse(...)`: the layer whose parameters it uses (counted there)

    @property
    def output_shape(self):
        return self.output_shapes[0] if self.output_shapes else None

    @property
    def activations(self) -> int:
        """Values this layer writes (batch of 1)."""
        return sum(prod(s) for s in self.output_shapes if s is not None)


@dataclass
class Analysis:
    """A network with every layer's shapes, counts and receptive field, and the diagnostics found."""

    network: Network
    _layers: dict[str, LayerInfo]
    shapes: dict[tuple[str, int], tuple | None]  # (node, output port) -> shape
    diagnostics: tuple[Diagnostic, ...]
    strict: bool
    # Inference's last pass, the receptive fields, run when `layers` is first read: no diagnostic depends on
    # them, so an editor's diagnostics are sent without waiting for it (infer.py, _Inference.fields).
    _pending: Callable[[], None] | None = field(default=None, repr=False, compare=False)
    _lock: object = field(default_factory=allocate_lock, repr=False, compare=False)  # an editor reads from two threads

    @property
    def layers(self) -> dict[str, LayerInfo]:
        """Each layer's LayerInfo, by node, in the order inference met them."""
        if self._pending is not None:
            with self._lock:
                if self._pending is not None:
                    self._pending()
                    self._pending = None
        return self._layers

    @property
    def params(self) -> int:
        return sum(info.params for info in self.layers.values())

    @property
    def buffers(self) -> int:
        return sum(info.buffers for info in self.layers.values())

    @property
    def macs(self) -> int:
        return sum(info.macs for info in self.layers.values())

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    @property
    def partial(self) -> bool:
        """Totals that leave layers out: a layer whose shape is unknown after an error, or layers the
        network lacks because it could not be built (a rounding lint alone leaves every shape known)."""
        return self.network.has_errors or any(
            None in info.output_shapes or not info.output_shapes for info in self.layers.values()
        )

    @property
    def partial_note(self) -> str:
        """Why the totals are partial, as the summary and the figures say it ("" when they are not)."""
        if not self.partial:
            return ""
        if self.has_errors or self.network.has_errors:
            return "partial: layers after an error are not counted"
        return "partial: layers whose shape is unknown are not counted"

    def input_shapes(self) -> dict[str, tuple]:
        return {name: spec.dims for name, spec in self.network.inputs.items()}

    def output_shapes(self) -> dict[str, tuple | None]:
        graph = self.network.layer_graph
        out = {}
        for name in self.network.outputs:
            node = f"output:{name}"
            edges = list(graph.in_edges(node, data=True))
            out[name] = self.shapes.get((edges[0][0], edges[0][2]["src_port"])) if edges else None
        return out
