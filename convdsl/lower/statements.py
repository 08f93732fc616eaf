"""Lowering's walk: the program's statements, chains, repeats and blocks, into a LayerGraph."""

from __future__ import annotations

from contextlib import contextmanager

from .. import diagnostics as codes
from ..build import NetworkBuilder
from ..cancel import checkpoint
from ..diagnostics import Diagnostic, did_you_mean
from ..evaluate import FAILED, AlreadyReported, EvalError, Symbol, describe, evaluate, undefined
from ..layers import KINDS
from ..model import InputSpec, LayerNode, Limits, Scope, Settings, Site, TensorRef
from ..source import Source, Span
from ..syntax import (
    Assign,
    Call,
    Chain,
    Constant,
    Group,
    InputDecl,
    Labelled,
    Name,
    OutputDecl,
    ParamDecl,
    Program,
    Repeat,
    When,
)
from .binding import Binding
from .blocks import Blocks
from .carrying import Carry, Carrying
from .includes import Includes
from .naming import Naming, _NameScope
from .indices import RepeatIndex
from .merges import merge_form, tensor_first
from .inputs import InputOptions, input_axes
from .params import Params
from .repeats import Repeats
from .reuse import Reuses, _Extent
from .shapes import Shapes
from .stamping import Stamping
from .state import Records, _Abort, _Block, _Deferred, _TensorScope


# Expansion steps allowed per layer allowed: nesting makes a few per layer (a call in a group in a block in a
# repeat), and expansions that make no layer (a condition that is false) cost work too.
STEPS_PER_LAYER = 2
CHECK_EVERY = 64  # expansion steps between two cancellation checkpoints (half a millisecond or so)
EDGES_PER_CHECK = 128  # edges connected between two of them


def unknown_layer(name: str, span: Span, blocks, is_tensor: bool) -> Diagnostic:
    """E005 for a call of `name`, no layer kind or block (blocks: the names of those defined); is_tensor: a
    tensor of that name is in scope where it is called."""
    from ..layers import canonical_kinds

    help_ = did_you_mean(name, [*(k.name for k in canonical_kinds()), *blocks]) or did_you_mean(name, KINDS)
    if is_tensor:
        help_ = f"`{name}` is a tensor; merge it with `add({name})` or `concat({name})`"
    return Diagnostic(codes.UNKNOWN_LAYER, span, f"unknown layer `{name}`", "not a layer kind or block", help_)


class Lowering(
    Includes, Naming, Binding, Blocks, Params, RepeatIndex, Repeats, Stamping, Carrying, Reuses, Shapes, InputOptions
):
    def __init__(
        self,
        sources: dict[str, Source],
        limits: Limits,
        reader,
        builder: NetworkBuilder | None = None,
        parser=None,
        carried: Carry | None = None,
        carrying: bool = False,
    ):
        self.sources = sources
        # carrying.py: the templates of the lowering of the text before (an editor's), and whether to leave
        # this one's for the next
        self.carried = carried
        self.carrying = {} if carrying else None
        self.limits = limits
        self.read = reader  # path -> Source | Diagnostic
        # Source -> (Program | None, syntax errors), for included files: frontend.parse, or an editor's memo of the
        # files that did not change since the last edit
        self.parse = parser
        # the graph, inputs and diagnostics are the builder's: lowering makes every node through it
        self.builder = builder if builder is not None else NetworkBuilder(sources=sources, limits=limits)
        self.graph = self.builder.graph
        self.diagnostics: list[Diagnostic] = self.builder.diagnostics
        self.pending_edges: list[tuple] = []  # (value, node, port)
        self.blocks: dict[str, _Block] = {}
        self.block_stack: list[str] = []
        self.settings = Settings()
        self.network_name: str | None = None
        self.inputs: dict[str, InputSpec] = self.builder.inputs
        self.outputs: dict[str, tuple[object, Span]] = {}  # declared, with the tensors they name (resolved last)
        self.output_shapes: dict[str, tuple] = {}  # output -> (declared sizes, their spans): `output y: 3 x 8 x 8`
        self.warned: set = set()
        self.block_labels: dict[str, set] = {}  # block name -> the labels in its body, found at its first use
        # How many times what is being expanded now will be copied in all: the product of the counts of the
        # enclosing repeats that are expanding their first copy. A repeat's projection multiplies by it, so
        # `(relu * 1000) * 1000 * 1000` fails after one layer, not after the million of its first copy.
        self.first_copies = 1
        self.scopes: list[Scope] = []  # the scopes being lowered, outermost first
        self.repeats = 0  # repeats expanded so far: gives each its id
        self.repeating = 0  # copies of repeats being expanded now (nested ones included)
        self.site = Site("", None, {})  # where layers are being made
        self.sites: list[Site] = [self.site]
        # Bound arguments, shared by the layers that a call makes with the same values in its names
        # (every instance of a block called with the same arguments): see _bind.
        self.bound: dict[tuple, tuple] = {}
        self.call_names: dict[int, tuple | None] = {}  # id(call) -> the names its arguments read
        # The tensor scopes made, for an editor's position index (positions.py): the top level's, then each
        # block instance's with its Site. Tensors map a name to (value, span); _resolve gives the producer.
        self.tensor_scopes: list[tuple[Site, _TensorScope]] = []
        self.includes = None  # include_policy.IncludePolicy, made at the first include
        self.steps = 0  # elements expanded so far, against step_budget
        self.next_checkpoint = CHECK_EVERY  # steps at which an editor's stale analysis is abandoned (cancel.py)
        self.step_budget = STEPS_PER_LAYER * limits.max_layers + 10_000
        self.program_statements: tuple = ()  # the checked file's, for helps that look ahead (indices.py)
        self.index_sites: dict | None = None  # repeat index name -> where it is declared, found on first need
        # shapes.py: layers' shapes inferred while lowering, for `in.shape[d]` (node, port) -> shape or None
        self.early_shapes: dict = {}
        self.shape_reads: list = []  # network.ShapeRead, each `t.shape[d]` read, in order
        self.early_inputs: dict = {}  # node -> [(port, value)], from pending_edges
        self.early_indexed = 0  # how many of pending_edges early_inputs holds
        # reuse.py: the layers made, in order; each one's inputs; what each name (a layer, a labelled group, a
        # block instance) made; the groups and instances being made now; the labels of the top level
        self.made: list[str] = []
        self.node_inputs: dict[str, list] = {}
        self.extents: dict = {}
        self.opening: set[str] = set()
        self.top_labels: set[str] = set()
        # stamping.py: while a repeat copy is lowered to stamp the next from (`recording`), the names claimed
        # (names scope, written, local, labelled) and the tensor scopes names were read in; reuses made
        self.recording = 0
        self.claims: list[tuple] = []
        self.reads: list = []
        self.reuse_count = 0
        self.stamped = 0  # copies stamped
        # diagnostics not said again because an earlier copy said them (self.warned): a copy lowered after one
        # that said them is no template for a first copy (carrying.py)
        self.withheld = 0

    @contextmanager
    def _scope(self, scope: Scope):
        self.scopes.append(scope)
        try:
            yield
        finally:
            self.scopes.pop()

    # reporting --------------------------------------------------------------
    def error(self, code, span, message, label="", help=None, notes=()):
        self.diagnostics.append(Diagnostic(code, span, message, label, help, tuple(notes)))

    def from_eval(self, err: EvalError):
        if isinstance(err, AlreadyReported):  # one failed constant is reported once, where it is defined
            return
        help_ = err.help
        name = getattr(err, "name", None)
        if err.code is codes.UNDEFINED_NAME and name is not None:
            help_ = self._index_help(name) or help_
        self.error(err.code, err.span, err.message, err.label, help_)

    # program ----------------------------------------------------------------
    def lower(self, program: Program) -> None:
        if not program.statements:
            self._empty(program)
            return
        env: dict = {}
        self.program_statements = program.statements
        self.site.env = env
        self.site.definitions = Records(program, self.blocks, env)
        try:
            self._definitions(program, env, include_chain=(program.path,), top=True, origin=None)
            top = _TensorScope(env)
            self.tensor_scopes.append((self.site, top))
            names = _NameScope("", False, ())
            self.top_labels = self._labels(program.statements)
            names.taken.update(self.top_labels)
            for stmt in program.statements:
                if isinstance(stmt, InputDecl):
                    self._input(stmt, top, names)
            for stmt in program.statements:
                if isinstance(stmt, (Assign, OutputDecl, ParamDecl)):
                    self._top_statement(stmt, top, names)
            if not self.inputs and top.refs:
                # every undefined tensor follows from this one cause
                first = top.refs[0]
                top.refs = [r for r in top.refs if r.name in top.tensors]
                self.error(
                    codes.NO_INPUT,
                    first.span,
                    "the network declares no input",
                    f"`{first.name}` is never declared",
                    f"declare it: `input {first.name}: 3 x 224 x 224`",
                )
            self._finish_scope(top)
            self._resolve_edges()
            for site in self.sites[1:]:
                site.inputs = {
                    name: (p.node, p.port) if (p := self._resolve(value)) else None
                    for name, value in site.inputs.items()
                }
            self._add_outputs(top)
            self._check_cycles()
        except _Abort:
            pass

    def _empty(self, program: Program) -> None:
        """A file with nothing in it is a mistake (a wrong path, a save that failed), not a clean network."""
        source = self.sources.get(program.path)
        blank = source is None or not source.text.strip()
        self.error(
            codes.NO_INPUT,
            Span(program.path, 1, 1, 1, 1),
            "the file is empty" if blank else "the file has only comments",
            "no statements",
            "declare an input and a chain: `input x: 3 x 32 x 32` and `y = x -> conv(16, 3)`",
        )

    def _top_statement(self, stmt, scope: _TensorScope, names: _NameScope) -> None:
        """A top-level statement. Expansion recurses per level of blocks and groups; with --max-depth
        raised far enough, Python's stack runs out first, and that is reported, not raised."""
        try:
            self._statement(stmt, scope, names)
        except RecursionError:
            self.error(
                codes.LIMIT_EXCEEDED,
                stmt.span,
                "this statement nests blocks and groups too deeply to expand",
                "too deep",
                f"flatten the nesting, or lower --max-depth (now {self.limits.max_depth}; "
                f"the default is {Limits().max_depth})",
            )
            raise _Abort from None

    def _input(self, stmt: InputDecl, scope: _TensorScope, names: _NameScope) -> None:
        name = stmt.name.id
        if name in scope.tensors:
            self.error(codes.DUPLICATE_DEFINITION, stmt.name.span, f"`{name}` is defined twice", "defined again here")
            return
        dims = []
        ok = True
        for dim in stmt.dims:
            value = dim.value
            if isinstance(value, str) and value in scope.env:
                value = scope.env[value]
                if value is FAILED:  # reported where the constant is defined
                    ok = False
                    continue
                if isinstance(value, bool) or not isinstance(value, int):  # `const c = 0x1` is a tuple
                    self.error(
                        codes.INVALID_INPUT,
                        dim.span,
                        f"input size `{dim.value}` is {describe(value)}, not a whole number",
                        "not a size",
                    )
                    ok = False
                    continue
            if isinstance(value, int) and not 1 <= value <= 2**40:
                self.error(
                    codes.INVALID_INPUT,
                    dim.span,
                    f"input size {value} is out of range",
                    "sizes must be at least 1" if value < 1 else f"sizes are at most 2^40 ({2**40:,})",
                    None,
                )
                ok = False
            dims.append(value)
        if not 1 <= len(dims) <= 4:
            self.error(
                codes.INVALID_INPUT,
                stmt.span,
                f"an input has 1 to 4 dimensions (C, then up to 3 spatial), got {len(dims)}",
                f"{len(dims)} dimensions",
                "write C x L, C x H x W or C x D x H x W; give a batch with `, batch=8`",
            )
            ok = False
        batch, layout, dtype = self._input_options(stmt, scope)
        if layout is None or dtype is None or (ok and self._feature_axis_problem(stmt, dims, layout, dtype)):
            ok = False
        if not ok:
            # a tensor with no value: its uses say nothing more (E020 or E003 would only repeat this error)
            scope.tensors[name] = (None, stmt.name.span)
            scope.used.add(name)
            return
        axes = input_axes(dims, layout, dtype)
        self.builder.add_input(
            InputSpec(
                name, tuple(dims), axes, batch, stmt.span, tuple(d.span for d in stmt.dims), layout=layout, dtype=dtype
            )
        )
        names.taken.add(name)
        scope.tensors[name] = (TensorRef(name, 0), stmt.name.span)

    # statements -------------------------------------------------------------
    def _statement(self, stmt, scope: _TensorScope, names: _NameScope) -> None:
        if isinstance(stmt, OutputDecl):
            if stmt.chain is not None:
                self._assign(stmt.names, stmt.chain, scope, names)
            for ident in stmt.names:
                if ident.id in self.outputs:
                    self.error(
                        codes.DUPLICATE_DEFINITION,
                        ident.span,
                        f"output `{ident.id}` is declared twice",
                        "declared again here",
                    )
                    continue
                self.outputs[ident.id] = (self._ref(ident.id, ident.span, scope), ident.span)
                if stmt.shape:
                    declared = self._declared_shape(stmt.shape, scope)
                    if declared is not None:
                        self.output_shapes[ident.id] = declared
        elif isinstance(stmt, Assign):
            self._assign(stmt.targets, stmt.chain, scope, names)
        elif isinstance(stmt, ParamDecl):
            self._param(stmt, scope, names)
        elif isinstance(stmt, Constant) and self.block_stack:
            self._block_constant(stmt, scope)
        else:
            self.error(
                codes.MISPLACED_STATEMENT,
                stmt.span,
                "only assignments, params and constants may appear inside a block",
                "not allowed here",
                "move it to the top level of the file",
            )

    def _block_constant(self, stmt: Constant, scope) -> None:
        """`const hidden = make_divisible(in.shape[1] * expand, 8)` in a block: local to each instance; it may
        read the block's parameters, `in.shape`, and the constants before it."""
        name = stmt.name.id
        params = {p.name.id for p in self.blocks[self.block_stack[-1]].definition.params}
        if name in params or name in scope.locals_:
            self.error(
                codes.DUPLICATE_DEFINITION,
                stmt.name.span,
                f"`{name}` is already {'a parameter' if name in params else 'a constant'} of this block",
                "defined again here",
                "give the constant its own name",
            )
            return
        scope.locals_.add(name)
        try:
            value = evaluate(stmt.value, scope.env)
            if isinstance(value, Symbol):
                raise undefined(value, [k for k in scope.env if k.isidentifier()])
        except EvalError as err:
            self.from_eval(err)
            value = FAILED  # its uses say nothing more: this error is their cause
        scope.env[name] = value

    def _assign(self, targets, chain: Chain, scope: _TensorScope, names: _NameScope) -> None:
        values = self._chain(chain, scope, names, start=None)
        if values is not None and len(values) != len(targets):
            if len(values) > 1 or len(targets) > 1:
                self.error(
                    codes.WRONG_INPUT_COUNT,
                    chain.span,
                    f"this chain gives {len(values)} tensor{'s' if len(values) != 1 else ''} "
                    f"but {len(targets)} name{'s are' if len(targets) != 1 else ' is'} assigned",
                    "count differs",
                    "assign one name per tensor: `a, b = x -> chunk(2)`",
                )
            values = None
        for i, ident in enumerate(targets):
            if ident.id in scope.tensors:
                first = scope.tensors[ident.id][1]
                self.error(
                    codes.DUPLICATE_DEFINITION,
                    ident.span,
                    f"tensor `{ident.id}` is defined twice",
                    "defined again here",
                    "give the new tensor its own name; tensors are never reassigned",
                    notes=(f"first defined at line {first.line}",),
                )
                continue
            scope.tensors[ident.id] = (values[i] if values is not None else None, ident.span)

    # chains -----------------------------------------------------------------
    def _chain(self, chain: Chain, scope, names, start):
        elements = chain.elements
        if start is None:
            first = elements[0]
            merged = merge_form(first, KINDS, scope.env) if not self._starts_merge(first) else None
            if isinstance(first, Call) and not first.args and not first.kwargs and first.name.id not in KINDS:
                current = [self._ref(first.name.id, first.name.span, scope)]
            elif merged is not None:
                # `matmul(a, b)`: `a -> matmul(b)`
                source, rewritten = merged
                current = self._element(rewritten, [self._ref(source.id, source.span, scope)], scope, names)
            elif self._starts_merge(first):
                current = self._element(first, None, scope, names)
            elif isinstance(first, Call) and first.name.id == "reuse":
                arg = first.args[0] if len(first.args) == 1 else None
                label = arg.id if isinstance(arg, Name) else "tower"
                self.error(
                    codes.WRONG_INPUT_COUNT,
                    first.span,
                    "`reuse` calls a layer again on the tensor flowing in: a chain must start from a tensor",
                    "no input for this reuse",
                    f"write `y = x -> reuse({label})`, with x the tensor it applies to",
                )
                current = None
            elif self._unknown_merge(first):
                # `matmul(a, b)`: a layer that does not exist, written as a merge. Say that (E005), and count
                # its tensors as used, rather than "a chain must start from a tensor" and two unused tensors.
                for arg in first.args:
                    self._ref(arg.id, arg.span, scope)
                current = self._element(first, None, scope, names)
            else:
                self.error(
                    codes.WRONG_INPUT_COUNT,
                    first.span,
                    "a chain must start from a tensor",
                    "no input for this layer",
                    "write `y = x -> layer(...)`, or start with a merge such as `add(a, b)`",
                )
                current = None
            elements = elements[1:]
        else:
            current = start
        for element in elements:
            current = self._element(element, current, scope, names)
        return current

    def _unknown_merge(self, element) -> bool:
        """A call of no layer kind or block whose positional arguments are all names."""
        return (
            isinstance(element, Call)
            and element.name.id not in KINDS
            and element.name.id not in self.blocks
            and bool(element.args)
            and all(isinstance(arg, Name) for arg in element.args)
        )

    def _starts_merge(self, element) -> bool:
        while isinstance(element, Labelled):
            element = element.element
        if not isinstance(element, Call):
            return False
        kind = KINDS.get(element.name.id)
        return kind is not None and kind.variadic

    def _single(self, current, element_span):
        """The one tensor a layer consumes (None after an earlier error)."""
        if current is None:
            return None
        if len(current) != 1:
            self.error(
                codes.WRONG_INPUT_COUNT,
                element_span,
                f"the layer before gives {len(current)} tensors; a layer takes one",
                "several tensors in",
                "assign them first: `a, b = x -> chunk(2)`",
            )
            return None
        return current[0]

    def _spend(self, steps: int, span) -> None:
        """Every expansion costs work, whether or not it makes a layer: a block used twice by a block used
        twice ... (`relu if false` at the bottom) makes no layer and 2^depth expansions."""
        self.steps += steps
        if self.steps >= self.next_checkpoint:
            while self.steps >= self.next_checkpoint:  # a stamped repeat copy spends many steps at once
                self.next_checkpoint += CHECK_EVERY
            checkpoint()
        if self.steps > self.step_budget:
            self.error(
                codes.LIMIT_EXCEEDED,
                span,
                f"expanding the network takes more than {self.step_budget:,} steps (each call, group, "
                "condition and repeat copy, in every block instance, even where it makes no layer)",
                "limit reached here",
                "blocks that call blocks multiply: check the nesting, or raise "
                f"the limit with --max-layers (it allows {STEPS_PER_LAYER} steps per layer, and 10,000 more)",
            )
            raise _Abort

    def _element(self, element, current, scope, names, label=None):
        self._spend(not isinstance(element, Labelled), element.span)  # a label is part of what it labels
        if names.depth > self.limits.max_depth:
            self.error(
                codes.LIMIT_EXCEEDED,
                element.span,
                f"nesting deeper than {self.limits.max_depth} levels",
                "too deep",
                "raise the limit with --max-depth",
            )
            raise _Abort
        if isinstance(element, Call):  # the usual element: first
            return self._call(element, current, scope, names, label)
        if isinstance(element, Labelled):
            if label is not None:
                self.error(codes.DUPLICATE_DEFINITION, element.label.span, "an element has two labels", "second label")
            return self._element(element.element, current, scope, names, label=element.label)
        if isinstance(element, When):
            try:
                condition = evaluate(element.condition, scope.env)
            except EvalError as err:
                self.from_eval(err)
                return None
            if isinstance(condition, Symbol):
                self.from_eval(undefined(condition, scope.env))
                return None
            if not isinstance(condition, bool):
                self.error(
                    codes.ARGUMENT_TYPE,
                    element.condition.span,
                    f"a condition must be true or false, got {describe(condition)}",
                    "not a boolean",
                )
                return None
            return self._element(element.element, current, scope, names, label) if condition else current
        if isinstance(element, (Group, Repeat)) and label is not None:
            local = self._claim(names, label.id, label.span)
            inner = names.child(local, positional=True)
            full = names.prefix + local
            opened = self._extent_open(full)
            with self._scope(Scope(full, "group", local)):
                result = self._element(element, current, scope, inner)
            entry = current[0] if current is not None and len(current) == 1 else None
            self._extent_close(full, opened, entry, result, "group")
            return result
        if isinstance(element, Group):
            if current is None:
                # An error upstream: the group's layers are still checked, with an unknown input
                # (_chain would take a missing start for the start of a statement).
                for inner in element.chain.elements:
                    current = self._element(inner, current, scope, names)
                return current
            return self._chain(element.chain, scope, names, start=current)
        if isinstance(element, Repeat):
            return self._repeat(element, current, scope, names)
        return self._call(element, current, scope, names, label)

    def _call(self, call: Call, current, scope, names, label):
        name = call.name.id
        if name == "reuse":
            return self._reuse(call, current, scope, names, label)
        if name in self.blocks:
            if label is None and self.carrying is not None and self.stamping:
                return self._carried_block(call, current, scope, names)
            return self._block(call, current, scope, names, label)
        kind = KINDS.get(name)
        if kind is None:
            self.diagnostics.append(unknown_layer(name, call.name.span, self.blocks, name in scope.tensors))
            return None
        if kind.statement:
            self.error(
                codes.UNKNOWN_LAYER,
                call.name.span,
                f"`{name}` is made by a statement of its own, not called in a chain",
                "not a layer to call",
                "declare a learnable tensor with `param NAME: 1 x 768` and use it by name: `add(NAME)`",
            )
            return None
        rewritten = tensor_first(call, KINDS, scope.env)
        if rewritten is not None:  # `x -> attention(m, heads=8)`: `x -> attention(heads=8, memory=m)`
            call = rewritten
        bound, tensors, spans, explicit = self._bind(kind, call, scope)
        if bound is None:
            return None
        inputs = []
        if current is not None or not kind.variadic:
            inputs.append(self._single(current, call.span) if current is not None else None)
        inputs.extend(tensors)
        if kind.variadic and len(inputs) < 2:
            self.error(
                codes.WRONG_INPUT_COUNT,
                call.span,
                f"{name} needs at least two tensors, got {len(inputs)}",
                "one tensor",
                f"write `{name}(a, b)`, or `x -> {name}(b)` to merge x with b",
            )
            return None
        local = self._claim(names, label.id, label.span) if label is not None else self._auto_name(names, name)
        node = names.prefix + local
        if not self.builder.count_layer(call.span):
            raise _Abort
        self.builder.add_layer(
            node,
            LayerNode(
                kind.name,
                name,
                bound,
                call.span,
                local,
                names.block_path,
                tuple(self.scopes),
                self.site,
                spans,
                explicit,
                None in inputs,
            ),
        )
        for port, value in enumerate(inputs):
            if value is not None:
                self.pending_edges.append((value, node, port))
        outputs = [TensorRef(node, i) for i in range(kind.output_count(bound))]
        index = len(self.made)
        self._record(node, [(port, value) for port, value in enumerate(inputs) if value is not None])
        entry = inputs[0] if inputs and not kind.variadic else None
        self.extents[node] = _Extent(index, index + 1, entry, outputs, "merge" if kind.variadic else "layer", 0)
        return outputs

    # tensors ----------------------------------------------------------------
    def _ref(self, name: str, span: Span, scope: _TensorScope):
        if self.recording:
            self.reads.append(scope)
        if name in scope.tensors:
            scope.used.add(name)
            value = scope.tensors[name][0]
            # a name for a tensor not made yet is read by its name again, not through the reference it holds:
            # `a = b` then `b = a` resolves b -> a -> b, and a cycle names both
            return value if value is not None and not isinstance(value, _Deferred) else _Deferred(scope, name, span)
        deferred = _Deferred(scope, name, span)
        scope.refs.append(deferred)
        return deferred

    def _finish_scope(self, scope: _TensorScope) -> None:
        for ref in scope.refs:
            if ref.name in scope.tensors:
                scope.used.add(ref.name)
                continue
            key = ("undefined", ref.span)
            if key in self.warned:
                self.withheld += 1
                continue
            self.warned.add(key)
            help_ = did_you_mean(ref.name, scope.tensors)
            if ref.name in KINDS or ref.name in self.blocks:
                help_ = f"`{ref.name}` is a layer; a chain starts from a tensor: `y = x -> {ref.name}`"
            elif ref.name in scope.env:
                help_ = f"`{ref.name}` is a constant, not a tensor"
            self.error(codes.UNDEFINED_NAME, ref.span, f"undefined tensor `{ref.name}`", "not defined", help_)
        for name, (value, span) in scope.tensors.items():
            if name in scope.used or name.startswith("_") or (name in self.outputs and scope.warn_key is None):
                continue
            if scope.warn_key is None and not self.outputs and name == next(reversed(scope.tensors)):
                continue  # the last tensor is the output when none is declared
            key = ("unused", span)
            if key in self.warned:
                self.withheld += 1
                continue
            self.warned.add(key)
            self.diagnostics.append(
                Diagnostic(
                    codes.UNUSED_TENSOR,
                    span,
                    f"tensor `{name}` is never used",
                    "computed but unused",
                    f"use it, declare it with `output {name}`, or name it `_{name}`",
                )
            )

    def _resolve(self, value, seen=None):
        """Follow forward references to a producer (None if undefined)."""
        seen = seen or set()
        names, order = [], []
        while isinstance(value, _Deferred):
            if id(value) in seen:
                self._alias_cycle(value, names[order.index(id(value)) :] if id(value) in order else names)
                return None
            seen.add(id(value))
            order.append(id(value))
            names.append(value.name)
            entry = value.scope.tensors.get(value.name)
            value = entry[0] if entry else None
        return value

    def _alias_cycle(self, value: _Deferred, names: list[str]) -> None:
        """`t = t`, or `a = b` and `b = a`: names for each other and for no layer, so no graph cycle to find."""
        key = ("alias-cycle", value.span)
        if key in self.warned:
            self.withheld += 1
            return
        self.warned.add(key)
        loop = [*names, names[0]] if names else [value.name, value.name]  # the names from the repeated one
        self.error(
            codes.CYCLE,
            value.span,
            "tensors depend on themselves",
            "defined from itself",
            "a tensor cannot be computed from itself; break the loop",
            notes=("cycle: " + " -> ".join(f"`{n}`" for n in loop),),
        )

    def _resolve_edges(self) -> None:
        for count, (value, node, port) in enumerate(self.pending_edges):
            if not count % EDGES_PER_CHECK:
                checkpoint()
            producer = self._resolve(value)
            if producer is None:
                self.graph.nodes[node].incomplete = True
                continue
            self.builder.connect(producer, node, port)

    def _declared_shape(self, dims, scope) -> tuple | None:
        """`output y: 3 x 64 x 64`: (sizes, their spans); a size is a number, a constant, or an input's symbol."""
        values = []
        for dim in dims:
            value = dim.value
            if isinstance(value, str) and value in scope.env:
                value = scope.env[value]
                if value is FAILED:
                    return None
            if isinstance(value, bool) or not isinstance(value, (int, str)) or (isinstance(value, int) and value < 1):
                self.error(
                    codes.INVALID_INPUT,
                    dim.span,
                    f"an output size must be a whole number of at least 1, got {describe(value)}",
                    "not a size",
                )
                return None
            values.append(value)
        return tuple(values), tuple(d.span for d in dims)

    def _add_outputs(self, top: _TensorScope) -> None:
        if not self.outputs and top.tensors:
            last = next(reversed(top.tensors))
            if last not in self.inputs:
                self.outputs[last] = (top.tensors[last][0], top.tensors[last][1])
        for name, (value, span) in self.outputs.items():
            declared = self.output_shapes.get(name)
            self.builder.add_output(
                name,
                self._resolve(value),
                span,
                shape=declared[0] if declared else None,
                dim_spans=declared[1] if declared else (),
            )

    def _check_cycles(self) -> None:
        self.builder.check_cycles()
