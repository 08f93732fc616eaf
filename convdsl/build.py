"""The public way to build a Network: inputs, layers and outputs added one by one, checked as `.cdsl` is.

Lowering builds every `.cdsl` network through this builder, and importers (a
YAML model, a prototxt, a traced graph) build theirs through it too, so all of
them give the same Network, which analysis, summary, render and export read
alike. A layer's arguments are checked through its kind's own specs
(layers.Arg, in arguments.py) exactly as a `.cdsl` call's are, with the same
diagnostics; defaults are filled in. Nothing is raised for bad input: every
problem is a Diagnostic in the network, at the span the caller gave (a span in
the caller's own file, YAML or prototxt; None where there is none).

    >>> from convdsl.build import Argument, NetworkBuilder
    >>> b = NetworkBuilder("tiny")
    >>> x = b.input("x", (3, 32, 32))
    >>> (y,) = b.layer("conv", [x], 16, 3, padding=1)
    >>> (z,) = b.layer("relu", [y])
    >>> b.output("z", z)
    >>> b.network().analyze().params
    448
"""

from __future__ import annotations

from pathlib import Path

from . import diagnostics as codes
from .arguments import Argument, bind
from .diagnostics import Diagnostic, did_you_mean
from .layergraph import LayerGraph
from .layers import KINDS, LayerKind, canonical_kinds
from .model import DTYPES, INPUT_LAYOUTS, InputSpec, LayerNode, Limits, Settings, TensorRef, input_axes
from .network import Network
from .source import Source, Span

__all__ = ["Argument", "NetworkBuilder", "TensorRef"]


def numbered_name(written: str, counts: dict[str, int], taken) -> str:
    """The automatic name of the next layer of kind `written` (as written: `bn`): `conv1`, `conv2`... and
    `relu6_1`, not `relu61`, the first not in `taken`. counts[written] is where the numbering got to: lowering
    (per scope) and the builder (per network) each keep their own."""
    n = counts.get(written, 0)
    separator = number_separator(written)
    while True:
        n += 1
        name = f"{written}{separator}{n}"
        if name not in taken:
            break
    counts[written] = n
    return name


def number_separator(written: str) -> str:
    """What comes between a kind as written and its number in an automatic name: `relu6_1`, not `relu61`."""
    return "_" if written[-1].isdigit() else ""


class NetworkBuilder:
    """Builds one Network. Tensors are TensorRefs: what `input` and `layer` return, and `layer` and `output` take.

    path names the network's file in diagnostics (and, without `name`, the
    network: its stem); sources are the texts spans point into (path ->
    Source), for diagnostics' snippets. settings: rounding and layout. limits:
    max_layers bounds how many layers may be added.
    """

    def __init__(
        self,
        path: str = "<builder>",
        *,
        name: str | None = None,
        sources: dict[str, Source] | None = None,
        settings: Settings = Settings(),
        limits: Limits = Limits(),
    ):
        self.path = path
        self.name = name
        self.sources: dict[str, Source] = sources if sources is not None else {}
        self.settings = settings
        self.limits = limits
        self.graph = LayerGraph()
        self.diagnostics: list[Diagnostic] = []
        self.inputs: dict[str, InputSpec] = {}
        self.outputs: dict[str, Span | None] = {}  # output name -> where it is declared
        self.layer_count = 0
        self.args: dict[tuple, dict] = {}  # (kind, explicit, values) -> the one args dict for them: share_args
        self._counts: dict[str, int] = {}  # automatic names: how many of each written kind so far

    # the public steps -------------------------------------------------------------------------
    def input(
        self,
        name: str,
        dims,
        *,
        span: Span | None = None,
        batch: int | str | None = None,
        dim_spans: tuple = (),
        layout: str = "channels",
        dtype: str = "float",
    ) -> TensorRef | None:
        """A network input of shape (C, *spatial): an int per axis, or a name for a symbolic spatial size.

        layout="tokens": (L, D) or (H, W, D), the last axis the features; dtype="long": ids, every axis a
        sequence (as `.cdsl`'s `layout=` and `dtype=` input options)."""
        dims = tuple(dims)
        problem = _input_problem(dims, layout, dtype)
        if problem is not None:
            self.error(
                codes.INVALID_INPUT,
                span,
                f"input `{name}`: {problem}",
                "not a valid shape",
                "give C, then up to 3 spatial sizes: an integer from 1, or a name for a symbolic size",
            )
            return None
        if name in self.graph:
            self.error(codes.DUPLICATE_DEFINITION, span, f"`{name}` is defined twice", "defined again here")
            return None
        axes = input_axes(dims, layout, dtype)
        self.add_input(InputSpec(name, dims, axes, batch, span, tuple(dim_spans), layout=layout, dtype=dtype))
        return TensorRef(name, 0, name)

    def layer(
        self,
        kind: str,
        inputs=(),
        *args,
        name: str | None = None,
        label: str | None = None,
        span: Span | None = None,
        scopes: tuple = (),
        site=None,
        block_path: tuple = (),
        **kwargs,
    ) -> tuple[TensorRef, ...] | None:
        """A layer of `kind` (a catalogue name or alias) on `inputs`, with arguments as a `.cdsl` call takes them.

        inputs: the tensors flowing in: one, or for a merge (add, concat...) two or more;
        tensor-valued arguments (`crop(like=t)`) are given as arguments. args, kwargs:
        values, or Arguments carrying where each is written. name: the node's name, made
        unique (`conv1`, `conv2`...) from the kind if not given; label: its name inside its
        scope (the name's last dotted part if not given). scopes, site, block_path: where
        it was made (model.Scope, model.Site), for diagrams and export.
        Returns the layer's outputs, or None after reporting why it was not added.
        """
        found = KINDS.get(kind)
        if found is None:
            self.error(
                codes.UNKNOWN_LAYER,
                span,
                f"unknown layer `{kind}`",
                "not a layer kind",
                did_you_mean(kind, [k.name for k in canonical_kinds()]) or did_you_mean(kind, KINDS),
            )
            return None
        positional = [a if isinstance(a, Argument) else Argument(a, span) for a in args]
        keywords = [
            Argument(a.value, a.span, a.value_span, key, a.name_span or a.span)
            if isinstance(a, Argument)
            else Argument(a, span, None, key, span)
            for key, a in kwargs.items()
        ]
        bound, tensors, spans, explicit = self.bind(found, kind, span, positional, keywords)
        if bound is None:
            return None
        flowing = list(inputs)
        for tensor in flowing:
            if not isinstance(tensor, TensorRef):  # a mistake in the calling code, not in a model: raised
                raise TypeError(f"layer inputs are TensorRefs (what input() and layer() return), got {tensor!r}")
        if found.variadic:
            flowing += tensors
            if len(flowing) < 2:
                self.error(
                    codes.WRONG_INPUT_COUNT,
                    span,
                    f"{kind} needs at least two tensors, got {len(flowing)}",
                    "one tensor",
                    f"give `{kind}` two or more inputs",
                )
                return None
        elif not found.takes_input and flowing:
            self.error(
                codes.WRONG_INPUT_COUNT,
                span,
                f"{kind} takes no input tensor, got {len(flowing)}",
                f"{len(flowing)} tensors in",
                "a learnable tensor is a source: give it no inputs",
            )
            return None
        elif found.takes_input and len(flowing) != 1:
            self.error(
                codes.WRONG_INPUT_COUNT,
                span,
                f"{kind} takes one input tensor, got {len(flowing)}",
                f"{len(flowing)} tensors in",
                "give it one input; merge several with add or concat first",
            )
            return None
        else:
            flowing += tensors
        if name is None:
            name = self._auto_name(kind)
        elif name in self.graph:
            self.error(
                codes.DUPLICATE_DEFINITION,
                span,
                f"`{name}` is defined twice",
                "defined again here",
                "give every layer its own name",
            )
            return None
        if not self.count_layer(span):
            return None
        if label is None:
            label = name.rsplit(".", 1)[-1]
        node = LayerNode(
            found.name,
            kind,
            self.share_args(found, bound, explicit),
            span,
            label,
            tuple(block_path),
            tuple(scopes),
            site,
            spans,
            explicit,
        )
        self.add_layer(name, node)
        for port, tensor in enumerate(flowing):
            if tensor.node not in self.graph:
                self.error(codes.UNDEFINED_NAME, span, f"undefined tensor `{tensor}`", "not defined", None)
                node.incomplete = True
                continue
            self.connect(tensor, name, port)
        return tuple(TensorRef(name, port) for port in range(found.output_count(node.args)))

    def output(self, name: str, tensor: TensorRef | None, *, span: Span | None = None) -> None:
        """Declare `tensor` an output of the network, named `name`; None marks one whose producer failed."""
        if name in self.outputs:
            self.error(codes.DUPLICATE_DEFINITION, span, f"output `{name}` is declared twice", "declared again here")
            return
        if tensor is not None and tensor.node not in self.graph:
            self.error(codes.UNDEFINED_NAME, span, f"undefined tensor `{tensor}`", "not defined", None)
            tensor = None
        self.add_output(name, tensor, span)

    def network(self) -> Network:
        """The Network: the graph, inputs, outputs and settings, and every diagnostic once, in order.

        Call it once, when every layer is added: the network shares the builder's graph."""
        # The copies of a repeat repeat its mistakes word for word: each is reported once.
        diagnostics = sorted(dict.fromkeys(self.diagnostics), key=Diagnostic.sort_key)
        # Lowering stopped by a limit declares outputs it never made nodes for; only those made are outputs.
        outputs = tuple(out for out in self.outputs if f"output:{out}" in self.graph)
        name = self.name or Path(self.path).stem
        return Network(
            name, self.path, self.graph, self.inputs, outputs, self.settings, tuple(diagnostics), self.sources
        )

    # the steps they are made of (lowering takes these, as it resolves tensors after making layers) ----
    def error(self, code, span, message, label="", help=None, notes=()) -> None:
        self.diagnostics.append(Diagnostic(code, span, message, label, help, tuple(notes)))

    def bind(
        self,
        kind: LayerKind,
        written: str,
        call_span,
        positional,
        keywords,
        *,
        env=None,
        value_of=None,
        tensor_of=None,
        report_eval=None,
    ):
        """A call's arguments checked and bound (arguments.bind): (values, tensors, spans, explicit) or Nones.

        By default arguments are values as they are and tensors are TensorRefs; lowering
        passes its own value_of (evaluate an expression) and tensor_of (resolve a name).
        """
        return bind(
            kind,
            written,
            call_span,
            positional,
            keywords,
            env=env if env is not None else {},
            report=self.error,
            report_eval=report_eval or self._report_eval,
            value_of=value_of or _value_as_given,
            tensor_of=tensor_of or _tensor_as_given,
        )

    def share_args(self, kind: LayerKind, args: dict, explicit: frozenset) -> dict:
        """One `args` dict for all layers of a kind with equal values and equally written arguments (`relu`,
        every `bn` before a 3x3 convolution...): inference infers such layers once."""
        try:  # types too: True == 1 == 1.0 as keys, not as arguments
            key = (kind.name, explicit, *[(name, type(value), value) for name, value in args.items()])
            return self.args.setdefault(key, args)
        except TypeError:  # a value that cannot be a key
            return args

    def count_layer(self, span) -> bool:
        """Count one more layer; False (and reported) past limits.max_layers."""
        self.layer_count += 1
        if self.layer_count > self.limits.max_layers:
            self.error(
                codes.LIMIT_EXCEEDED,
                span,
                f"the network expands to more than {self.limits.max_layers:,} layers",
                "limit reached here",
                "check the repeat counts, or raise the limit with --max-layers",
            )
            return False
        return True

    def add_input(self, spec: InputSpec) -> None:
        self.inputs[spec.name] = spec
        self.graph.add(
            spec.name, LayerNode("input", "input", {"shape": spec.dims, "batch": spec.batch}, spec.span, spec.name)
        )

    def add_layer(self, name: str, node: LayerNode) -> None:
        self.graph.add(name, node)

    def connect(self, tensor: TensorRef, node: str, port: int) -> None:
        """Feed output `tensor.port` of `tensor.node` into input `port` of `node`."""
        self.graph.add_port_edge(tensor.node, node, port, tensor.port)

    def add_output(
        self, name: str, tensor: TensorRef | None, span, *, shape: tuple | None = None, dim_spans: tuple = ()
    ) -> None:
        """An output named `name`; with `shape`, the shape it must have (checked by inference, E115), its sizes
        written at dim_spans."""
        node = f"output:{name}"
        self.outputs[name] = span
        self.graph.add(
            node,
            LayerNode(
                "output",
                "output",
                {"shape": shape} if shape is not None else {},
                span,
                name,
                incomplete=tensor is None,
                dim_spans=dim_spans,
            ),
        )
        if tensor is not None:
            self.connect(tensor, node, 0)

    def check_cycles(self) -> None:
        """Report a cycle, once, naming the nodes on it."""
        if self.graph.topological_order() is not None:
            return
        import networkx as nx  # only when there is a cycle: name the one networkx finds, as always

        try:
            cycle = nx.find_cycle(self.graph.to_networkx())
        except nx.NetworkXNoCycle:
            return
        nodes = [edge[0] for edge in cycle]
        span = self.graph.nodes[nodes[0]].span
        self.error(
            codes.CYCLE,
            span,
            "tensors depend on themselves",
            "part of a cycle",
            "a tensor cannot be computed from itself; break the loop",
            notes=("cycle: " + " -> ".join((*nodes, nodes[0])),),
        )

    def _report_eval(self, err) -> None:
        self.error(err.code, err.span, err.message, err.label, err.help)

    def _auto_name(self, written: str) -> str:
        return numbered_name(written, self._counts, self.graph)


def _value_as_given(argument: Argument):
    return argument.value


def _tensor_as_given(argument: Argument):
    value = argument.value
    return (value, str(value)) if isinstance(value, TensorRef) else None


def _input_problem(dims: tuple, layout: str = "channels", dtype: str = "float") -> str | None:
    if layout not in INPUT_LAYOUTS or dtype not in DTYPES:
        return f"layout is one of {', '.join(INPUT_LAYOUTS)} and dtype one of {', '.join(DTYPES)}"
    if not 1 <= len(dims) <= 4:
        return f"an input has 1 to 4 dimensions (C, then up to 3 spatial), got {len(dims)}"
    features = None if dtype == "long" else len(dims) - 1 if layout == "tokens" else 0
    for index, d in enumerate(dims):
        if isinstance(d, str):
            if index == features:
                return "the channel count must be a number" if features == 0 else "a token's width must be a number"
            if not d.isidentifier():
                return f"`{d}` is not a name for a size"
        elif isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 2**40:
            return f"size {d!r} is not an integer from 1 to 2**40"
    return None
