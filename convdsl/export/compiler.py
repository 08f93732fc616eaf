"""Writes one class: the network's top level, or a block definition for its uses.

The walk follows the definition as lowering recorded it (definition.py: flows
of layers, block uses, conditions, repeats, groups, labels), and takes each
layer's name, arguments and shapes from what lowering and inference made of it
in every place the class stands for (the graph's nodes and sites). A block class is generic: arguments stay expressions over its
constructor's parameters, and every expression is checked against each use.
Where that cannot be done (a repeat count that is a parameter, a size that
differs between uses) the walk raises NotGeneric and the block is written out
per use instead (export/model.py).
"""

from __future__ import annotations

import re
from collections import defaultdict

from ..definition import BlockStep, GroupStep, LabelStep, RepeatStep, ReuseStep, WhenStep
from ..layers import KINDS
from ..layers.base import fmt_shape
from ..layers.ops import Function, TorchContext, Unsupported
from ..layers.pyexpr import (
    Lit,
    NotGeneric,
    Py,
    SymbolicValue,
    Unknown,
    Var,
    binary,
    cond,
    same,
    tup,
)
from .chains import dependency_order
from .classtext import ClassText
from .code import Assign as Line
from .code import Ctor, If, ModRef, Return, forward_lines
from .names import MODULE_ATTRIBUTES, Namespace, module_name, module_path
from .scope import (
    FORWARD_RESERVED,
    INIT_RESERVED,
    Child,
    ClassCode,
    Container,
    Cx,
    FlagRef,
    Param,
    Tensor,
)
from .translate import names_in, reads_shape, translate, value_of


class ClassWriter:
    """Writes one class for some uses (Sites) of a definition; generic=False fixes every parameter."""

    def __init__(self, job, definition, sites, *, name: str, generic: bool):
        self.job = job
        self.definition = definition
        self.places = [job.index.place(s) for s in sites]
        self.sites = list(sites)
        self.generic = generic
        self.block = definition.name is not None
        self.every = tuple(range(len(sites)))
        self.taken = defaultdict(int)  # (use, span, nodes|blocks) -> how many were taken
        self.root = Container(positional=self.block and definition.chain is not None)
        self.scope: dict[str, Tensor] = {}
        self.locals = Namespace(FORWARD_RESERVED | job.class_names)
        self.init_names = Namespace(INIT_RESERVED | job.class_names)
        self.params: dict[str, Py] = {}
        self.channels: dict[str, Py] = {}
        self.signature: list[Param] = []
        self.forward: list = []
        self.variables: dict[str, str] = {}  # tensor -> its forward variable
        self.code = ClassCode(name, "nn.Module", self.signature, [], None, (), Lit(0), definition)
        self.reuses: list = []  # (path in the class, model.Reuse, Cx): checked once every child is known

    # entry -----------------------------------------------------------------------
    def write(self) -> ClassCode:
        if self.block:
            self._block_signature()
            flows = () if self.definition.chain is not None else self.definition.flows
        else:
            flows = self.definition.flows
            for name, spec in self.job.network.inputs.items():
                self.scope[name] = Tensor(self.locals.claim(name), Lit(spec.dims[0]))
            self.code.inputs = tuple(self.job.network.inputs)
        for flow in flows:
            for target in flow.targets:  # the file's tensor names first, then the names the export invents
                self.variables[target] = self.locals.claim(target)
        if self.block:
            self._block_inputs()
        self._tensors()
        if self.block and self.definition.chain is not None:
            var = self.scope["in"].expr
            cx = Cx(self.root, (), self.every, None, self.forward, [var])
            flow = self._chain(self.definition.chain, [self.scope["in"]], cx)
            returns = [flow[0]]
        else:
            for flow in dependency_order(flows, set(self.scope)):
                self._statement(flow)
            outputs = ["out"] if self.block else list(self.job.network.outputs)
            returns = [self.scope[name] for name in outputs]
        self.code.out_channels = returns[0].channels if returns else Lit(0)
        if self.reuses:
            self._check_reuses()
        self._finish(returns)
        return self.code

    def _tensors(self):
        """`param` statements: an nn.Parameter attribute each, with a leading batch axis of 1, expanded over the
        batch at the start of forward (a concat needs the batch; an add or mul would broadcast anyway)."""
        decls = self.definition.tensors
        if not decls:
            return
        first = self.scope["in"] if self.block else next(iter(self.scope.values()), None)
        for decl in decls:
            cx = Cx(self.root, (), self.every, None, self.forward, [])
            nodes = self._take(cx, decl.span, "nodes")
            keys = self._keys(cx, nodes)
            infos = [self.job.analysis.layers.get(n) for n in nodes]
            shapes = {info.output_shapes[0] if info is not None else None for info in infos}
            inits = {self.job.graph.nodes[n].args["init"] for n in nodes}
            if None in shapes:
                raise RuntimeError(f"export: the shape of param `{decl.name}` is unknown")
            if len(shapes) != 1 or len(inits) != 1:
                raise NotGeneric(f"param `{decl.name}` differs between uses")
            shape, init = shapes.pop(), inits.pop()
            sizes = ", ".join(str(d) for d in (1, *shape))
            value = f"torch.zeros({sizes})" if init == 0 else f"torch.full(({sizes}), {init!r})"
            child = Child(keys[0], ctor=Ctor("nn.Parameter", [value]))
            self._place_child(cx, child, keys)
            self.code.functional.update(nodes)  # no module to hook: an attribute read in forward
            var = self.locals.claim(decl.name)
            self.variables[decl.name] = var
            if first is None:
                raise NotGeneric("a param in a network without an input")
            expand = ", ".join(["-1"] * len(shape))
            self.forward.append(Line([var], [ModRef((keys[0],)), f".expand({first.expr}.shape[0], {expand})"]))
            self.scope[decl.name] = Tensor(var, Lit(shape[0]))

    def _block_signature(self):
        """Channel counts first (`in`'s, then each tensor parameter's), then the block's own parameters."""
        d = self.definition
        own = {p.name: self.init_names.claim(p.name) for p in d.params if not p.tensor and self.generic}
        self._channels_param("in")
        for p in d.params:
            if p.tensor:
                self._channels_param(p.name)
        defaulted = False
        for p in d.params:
            if p.tensor:
                continue
            values = tuple(site.env[p.name] for site in self.sites)
            default = None
            # a class written per use takes no arguments, so it has no defaults to write (nor to evaluate:
            # a default no use needs may not evaluate at all)
            if p.default is not None and self.generic:
                if names_in(p.default) & {q.name for q in d.params}:
                    raise NotGeneric(f"the default of `{p.name}` depends on another parameter")
                default = value_of(p.default, d.env)
            if self.generic:
                py_name = own[p.name]
                self.params[p.name] = Var(py_name, values)
                self.signature.append(
                    Param(
                        py_name,
                        None if p.default is None else Lit(default).src(),
                        source=p.name,
                        keyword_only=defaulted and p.default is None,
                    )
                )
                defaulted = defaulted or p.default is not None
            else:
                if any(not same(v, values[0]) for v in values):
                    raise RuntimeError(f"export: `{p.name}` differs between the uses of one class")
                self.params[p.name] = Lit(values[0])

    def _channels_param(self, tensor):
        """The channel count a block receives with `in` or a tensor parameter: a constructor parameter."""
        samples = tuple(self._channels_at(site, tensor) for site in self.sites)
        if self.generic:
            name = self.init_names.claim("in_channels" if tensor == "in" else f"{tensor}_channels")
            self.signature.append(Param(name, tensor=tensor))
            self.channels[tensor] = Var(name, samples)
        else:
            self.channels[tensor] = Lit(samples[0])

    def _block_inputs(self):
        tensors = ["in"] + [p.name for p in self.definition.params if p.tensor]
        self.code.inputs = tuple(tensors)
        for tensor in tensors:
            if tensor == "in":  # `x`, as in most hand-written modules, unless the block has its own `x`
                name = "x" if "x" not in self.locals.taken else self.locals.claim("in_")
            else:
                name = self.locals.claim(tensor)
            self.locals.reserve(name)
            self.scope[tensor] = Tensor(name, self.channels[tensor])

    def _channels_at(self, site, tensor):
        producer = site.inputs.get(tensor)
        shape = self.job.analysis.shapes.get(producer) if producer else None
        return shape[0] if shape else None

    # statements and chains -----------------------------------------------------------
    def _statement(self, statement):
        names = statement.targets
        variables = [self.variables[n] for n in names]
        cx = Cx(self.root, (), self.every, None, self.forward, variables)
        start = [self._tensor(statement.source)] if statement.source is not None else None
        flow = self._chain(statement.steps, start, cx)
        if flow is None or len(flow) != len(names):
            raise NotGeneric("a chain gives a different number of tensors than it assigns")
        for name, tensor in zip(names, flow):
            self.scope[name] = tensor

    def _chain(self, steps, start, cx):
        flow = start
        for step in steps:
            flow = self._element(step, flow, cx)
        return flow

    def _tensor(self, name) -> Tensor:
        if name not in self.scope:
            raise NotGeneric(f"tensor `{name}` is used before it is computed")
        return self.scope[name]

    def _element(self, step, flow, cx, label=None):
        if isinstance(step, LabelStep):
            return self._element(step.step, flow, cx, step.label)
        if isinstance(step, WhenStep):
            return self._when(step, flow, cx, label)
        if isinstance(step, (GroupStep, RepeatStep)) and label is not None:
            return self._group(step, flow, cx, label)
        if isinstance(step, GroupStep):
            return self._chain(step.steps, flow, cx)
        if isinstance(step, RepeatStep):
            count = self._static(step.count, cx, "a repeat count")
            for index in range(count):
                if step.index is not None:  # `* N as i`: the copy's number, a literal in each copy written out
                    self.params[step.index] = Lit(index)
                flow = self._element(step.step, flow, cx)
            if step.index is not None:
                self.params.pop(step.index, None)
            return flow
        if isinstance(step, BlockStep):
            return self._block_call(step, flow, cx, label)
        if isinstance(step, ReuseStep):
            return self._reuse(step, flow, cx)
        return self._layer(step, flow, cx)

    def _static(self, expr, cx, what):
        value = self._translate(expr, cx)
        if not value.static:
            raise NotGeneric(f"{what} depends on `{value.src()}`")
        return value.known()

    def _env(self):
        return self.sites[0].env

    def _translate(self, expr, cx) -> Py:
        """expr as Python. What differs between uses without being a parameter (`in.shape[1]`, a constant of
        the block computed from it) is a literal where every use agrees, and makes the class per use where not."""
        if self.generic and self.block and self._per_use(expr):
            values = [value_of(expr, self.sites[use].env) for use in cx.uses]
            if any(not same(v, values[0]) for v in values):
                local = sorted(self._locals_in(expr))
                what = f"the block's constant `{local[0]}`" if local else "a size read with `.shape`"
                raise NotGeneric(f"{what} differs between uses")
            return Lit(values[0])
        return translate(expr, self.params, self._env(), cx.uses)

    def _per_use(self, expr) -> bool:
        """Whether expr reads a tensor's shape, or a constant of the block's body."""
        if reads_shape(expr):
            return True
        return bool(self._locals_in(expr))

    def _locals_in(self, expr) -> set:
        params = {p.name for p in self.definition.params}
        env = self.sites[0].env
        return {n for n in names_in(expr) if n in env and n not in params and n not in self.definition.env}

    # conditions and groups ------------------------------------------------------------
    def _when(self, element, flow, cx, label):
        condition = self._translate(element.condition, cx)
        if condition.static:
            return self._element(element.step, flow, cx, label) if condition.known() else flow
        true = tuple(i for i in cx.uses if condition.sample(i))
        if not true:
            raise NotGeneric(f"`{condition.src()}` is false wherever the block is used")
        container = cx.container
        if container.positional and (label is not None or container.labelled):
            raise NotGeneric("a condition in a group with named layers")
        both = condition if cx.cond is None else binary("and", cx.cond, condition)
        inner = Cx(container, cx.path, true, both, [], cx.targets)
        before = len(container.children)
        result = self._element(element.step, flow, inner, label)
        if flow is None or result is None or len(result) != len(flow) or len(flow) != 1:
            raise NotGeneric("a condition around a layer that changes how many tensors flow")
        if not container.positional:  # a class body: forward tests the condition too
            added = container.children[before:]
            modules = [c for c in added if not c.functional]
            if modules:
                test = [ModRef(cx.path + (modules[0].key,)), " is not None"]
            else:
                flag = Child("use_" + added[0].key, flag=condition, cond=None)
                container.children.append(flag)
                test = [FlagRef(flag)]
            target = cx.targets[0]
            if flow[0].expr != target:
                cx.sink.append(Line([target], [flow[0].expr]))
            cx.sink.append(If(test, inner.sink))
        channels = self._phi(condition, flow[0].channels, result[0].channels, true, cx.uses)
        return [Tensor(cx.targets[0] if not container.positional else result[0].expr, channels)]

    def _phi(self, condition, before: Py, after: Py, true, uses) -> Py:
        """The channels after a conditional layer, as one expression for every use."""

        def fits(candidate):
            try:
                return all(same(candidate.sample(i), (after if i in true else before).sample(i)) for i in uses)
            except NotGeneric:
                return False

        for candidate in (after, before):
            if fits(candidate):
                return candidate
        return cond(condition, after, before)

    def _group(self, element, flow, cx, label):
        inner = Container(positional=True)
        child = Child(label, container=inner, cond=cx.cond)
        self._place_child(cx, child, [label] * len(cx.uses))
        inner_cx = Cx(inner, cx.path + (label,), cx.uses, None, [], cx.targets)
        single = flow is not None and len(flow) == 1
        result = self._element(element, flow, inner_cx)
        inner.pure = inner.pure and single and result is not None and len(result) == 1
        if inner.pure:  # a Sequential: one module on the tensor flowing through
            target = cx.targets[0]
            cx.sink.append(
                Line([target], [ModRef(cx.path + (label,)), f"({flow[0].expr})"], self._comment_group(inner_cx, flow))
            )
            return [Tensor(target, result[0].channels)]
        cx.container.pure = False
        cx.sink.extend(inner_cx.sink)
        if not inner.children:  # only reuses of modules made elsewhere: no module of its own to hold
            cx.container.children.remove(child)
        return result

    def _comment_group(self, cx, flow):
        """At the top level, the shape a labelled group gives, where it differs from what it takes."""
        if self.block:
            return ""
        prefix = ".".join(cx.path) + "."
        inside = [n for n in self.job.graph.nodes if n.startswith(prefix)]
        shape = self.job.index.leaving_shape(inside, self.job.analysis)
        first = self.job.analysis.layers.get(inside[0]) if inside else None
        before = first.input_shapes[0] if first and first.input_shapes else None
        return fmt_shape(shape) if shape is not None and shape != before else ""

    def _place_child(self, cx, child, keys):
        """Add a child; check its name in every use is the one this class gives it."""
        container = cx.container
        if container.positional:
            for use, key in zip(cx.uses, keys):
                if key.isdigit() and int(key) != container.positions[use]:
                    raise NotGeneric("positions in a group differ between uses")
                container.positions[use] += 1
            if not child.key.isdigit():
                container.labelled = True
        elif len(set(keys)) != 1:
            raise NotGeneric(f"a layer is named {' or '.join(sorted(set(keys)))} in different uses")
        if cx.cond is not None:
            child.cond = cx.cond
            container.dynamic = True
        container.children.append(child)

    def _keys(self, cx, names) -> list[str]:
        """The local names (`conv1`, `0`) of what one call made, from the full names in each use."""
        prefix = "".join(part + "." for part in cx.path)
        keys = []
        for use, name in zip(cx.uses, names):
            relative = name[len(self.places[use].prefix) :]
            if not relative.startswith(prefix) or "." in relative[len(prefix) :]:
                raise RuntimeError(f"export: `{name}` is not where the walk expects it ({prefix})")
            keys.append(relative[len(prefix) :])
        return keys

    def _take(self, cx, span, what):
        found = []
        for use in cx.uses:
            place = self.places[use]
            made = (place.nodes if what == "nodes" else place.children).get(span, [])
            index = self.taken[(use, span, what)]
            if index >= len(made):
                raise RuntimeError(f"export: lowering made fewer layers at {span.path}:{span.line} than expected")
            self.taken[(use, span, what)] += 1
            found.append(made[index])
        return found

    # layers ---------------------------------------------------------------------------
    def _layer(self, step, flow, cx):
        kind = KINDS[step.kind]
        nodes = [step.node] * len(cx.uses) if step.node is not None else self._take(cx, step.span, "nodes")
        keys = self._keys(cx, nodes)
        graph = self.job.graph
        tensors = list(flow) if flow is not None else []
        if flow is not None and len(flow) != 1:
            raise NotGeneric("a layer after several tensors")
        tensors += [self._tensor(n) for n in step.tensors]
        args = self._arguments(kind, step, [graph.nodes[n].args for n in nodes], cx)
        first = graph.nodes[nodes[0]]
        ctx = TorchContext(self.job.rounding, first["written"], cx.uses, module_path, explicit=first.explicit)
        try:
            if any(None in self.job.analysis.layers[n].input_shapes for n in nodes):
                raise Unsupported("convdsl could not infer the shape it receives")
            if kind.name == "linear" and graph.nodes[nodes[0]].args.get("tie") is not None:
                self._check_tie(nodes, cx)
            op = kind.to_torch(args, self._input_shapes(nodes, tensors, cx), ctx)
            if not isinstance(op, Function):
                try:  # each is written below; a size that depends on a symbolic input size has no literal
                    for arg in (*op.args, *(value for _, value in op.kwargs)):
                        arg.src()
                except SymbolicValue as err:
                    raise Unsupported(
                        f"{err}; PyTorch needs a number here", "declare the input with numbers to export it"
                    ) from None
        except NotGeneric as err:
            if self.generic:
                raise
            op = self._unsupported(nodes, kind, Unsupported(str(err)))  # one use, so nothing to share: a limit
        except Unsupported as err:
            op = self._unsupported(nodes, kind, err)
        if isinstance(op, Function):
            child = Child(keys[0], functional=True)
            self._place_child(cx, child, keys)
            cx.container.pure = False
            self.code.functional.update(nodes)
            self.code.helpers.update(op.helpers)
            value = [op.render([t.expr for t in tensors])]
            wanted = op.channels or (None,) * op.outputs
        else:
            ctor = Ctor(op.ctor, [a.src() for a in op.args], [(k, v.src()) for k, v in op.kwargs])
            child = Child(keys[0], ctor=ctor)
            self._place_child(cx, child, keys)
            inputs = [t.expr for t in tensors]
            if op.pad is not None:
                value_arg = "" if op.pad_value is None else f", value={op.pad_value.src()}"
                inputs[0] = f"F.pad({inputs[0]}, {op.pad.src()}{value_arg})"
                self.code.helpers.add("F")
                self.code.prepadded.update(nodes)
            if len(tensors) != 1 or op.pad is not None or flow is None:
                cx.container.pure = False
            value = [ModRef(cx.path + (keys[0],)), f"({', '.join(inputs)})"]
            self.code.helpers.update(op.helpers)
            wanted = op.channels if op.outputs > 1 else (op.channels,)
        outputs = len(wanted)
        channels = [self._resolve_channels(w, tensors, nodes, port, cx) for port, w in enumerate(wanted)]
        targets = cx.targets[:outputs] if outputs > 1 else cx.targets[:1]
        if len(targets) != outputs:
            raise NotGeneric("a layer gives more tensors than the chain assigns")
        cx.sink.append(Line(targets, value, self._shape_comment(nodes, port_count=outputs)))
        return [Tensor(t, c) for t, c in zip(targets, channels)]

    def _check_tie(self, nodes, cx):
        """A tied layer reads `self.LABEL.weight`: the layer it shares must be an attribute of the same class."""
        from ..tying import resolve_tie

        graph = self.job.graph
        for node, use in zip(nodes, cx.uses):
            data = graph.nodes[node]
            label = data.args["tie"]
            if resolve_tie(graph, node, data) != self.places[use].prefix + label:
                raise Unsupported(
                    f"it shares the weight of `{label}`, which is not a layer of the same block (or of the network's "
                    "top level, for a layer outside blocks)",
                    "tie to a layer of the same block, outside any labelled group",
                )

    def _unsupported(self, nodes, kind, err):
        """Report the layer, and carry on as if it passed its input through, to find any other."""
        self.job.unsupported(nodes[0], err)
        count = kind.output_count(self.job.graph.nodes[nodes[0]]["args"])
        return Function(lambda xs: ", ".join(xs[:1] * count), outputs=count)

    def _arguments(self, kind, step, bound, cx) -> dict:
        """Each argument as a Python expression: the written expression, checked against every use."""
        written = step.args
        out = {}
        for spec in kind.args:
            values = [b.get(spec.name) for b in bound]
            expr = written.get(spec.name)
            if spec.type == "tensor" or expr is None or not names_in(expr) & self.params.keys():
                if any(not same(v, values[0]) for v in values):
                    raise NotGeneric(f"`{spec.name}` differs between uses")
                out[spec.name] = Lit(values[0])
                continue
            value = self._translate(expr, cx)
            if spec.type == "dims" and not isinstance(value.sample(cx.uses[0]), tuple):
                value = tup([value])  # convdsl reads `4` as `(4,)` here
            for use, v in zip(cx.uses, values):
                if not same(value.sample(use), v):
                    raise NotGeneric(f"`{value.src()}` does not give `{spec.name}` in every use")
            out[spec.name] = value
        return out

    def _input_shapes(self, nodes, tensors, cx) -> list:
        layers = self.job.analysis.layers
        shapes = []
        for port, tensor in enumerate(tensors):
            per_use = [
                layers[n].input_shapes[port] if n in layers and port < len(layers[n].input_shapes) else None
                for n in nodes
            ]
            for use, shape in zip(cx.uses, per_use):
                if shape is not None and not same(tensor.channels.sample(use), shape[0]):
                    raise RuntimeError(
                        f"export: channels of `{nodes[0]}`'s input: {tensor.channels.src()} is not {shape[0]}"
                    )
            rank = {len(s) for s in per_use if s is not None}
            if len(rank) != 1:
                raise NotGeneric("a layer receives tensors of different ranks in different uses")
            spatial = []
            for axis in range(1, rank.pop()):
                sizes = {s[axis] for s in per_use}
                if len(sizes) == 1 and isinstance(next(iter(sizes)), int):
                    spatial.append(Lit(sizes.pop()))
                elif any(not isinstance(size, int) for size in sizes):
                    spatial.append(Unknown(f"it needs a number for the symbolic input size `{sizes.pop()}`"))
                else:
                    spatial.append(Unknown(f"`{nodes[0]}` needs the size of its input, which differs between uses"))
            shapes.append((tensor.channels, *spatial))
        return shapes

    def _resolve_channels(self, wanted, tensors, nodes, port, cx) -> Py:
        """An expression for the channels of output `port`, true in every use."""
        layers = self.job.analysis.layers
        actual = []
        for n in nodes:
            shapes = layers[n].output_shapes if n in layers else ()
            # a per-sample scalar (select of the last axis: shape ()) has no channels
            actual.append(shapes[port][0] if port < len(shapes) and shapes[port] else None)
        candidates = ([wanted] if wanted is not None else []) + [t.channels for t in tensors]
        why = None
        for candidate in candidates:
            try:
                if all(a is None or same(candidate.sample(use), a) for use, a in zip(cx.uses, actual)):
                    return candidate
            except NotGeneric as err:
                why = why or str(err)
        known = {a for a in actual if a is not None}
        if len(known) == 1 and None not in actual:
            return Lit(known.pop())
        raise NotGeneric(why or f"no expression gives the channels of `{nodes[0]}` in every use")

    def _shape_comment(self, nodes, port_count):
        """At the top level, the output shape where a line changes it (a reader's bearings)."""
        if self.block or port_count != 1:
            return ""
        info = self.job.analysis.layers.get(nodes[0])
        if info is None or not info.output_shapes or info.output_shapes[0] is None:
            return ""
        out, ins = info.output_shapes[0], info.input_shapes
        if ins and ins[0] is not None and tuple(ins[0]) == tuple(out):
            return ""
        return fmt_shape(out)

    # reuse --------------------------------------------------------------------------------
    def _reuse(self, step, flow, cx):
        """`reuse(LABEL)`: the module LABEL made, called again (`self.tower(x2)`): no module of its own, so its
        parameters and state_dict keys are the original's, once."""
        records = []
        for use in cx.uses:
            place = self.places[use]
            made = place.site.reuses.get(step.span, [])
            index = self.taken[(use, step.span, "reuses")]
            if index >= len(made) and made and self._reuse_node(made[-1]) is None:
                # a repeat stops after a copy that makes no layer (it passes its input on): so does this one
                return flow
            if index >= len(made):
                raise RuntimeError(f"export: lowering made fewer reuses at {step.span.path}:{step.span.line}")
            self.taken[(use, step.span, "reuses")] += 1
            records.append((place, made[index]))
        # a positional group numbers the reuse as a layer: its position is taken, though it adds no module
        if cx.container.positional:
            for use in cx.uses:
                cx.container.positions[use] += 1
        paths = set()
        for place, record in records:
            if not record.target.startswith(place.prefix):
                self._reuse_problem(
                    record,
                    Unsupported(
                        f"it calls `{record.target}`, which is not made in the same block (or at the network's top "
                        "level, for a reuse outside blocks)",
                        "reuse a layer, group or block instance made in the same block as the reuse",
                    ),
                )
                return flow
            if record.others:
                self._reuse_problem(
                    record,
                    Unsupported(
                        f"`{record.target}` also reads other tensors than the one flowing in (an attention's "
                        "memory, a block's tensor parameter, a tensor named in a group), which the export "
                        "does not pass to a module called again",
                        "reuse what takes only the tensor flowing in",
                    ),
                )
                return flow
            paths.add(record.target[len(place.prefix) :])
        if len(paths) != 1:
            raise NotGeneric("a reuse names different layers in different uses")
        relative = paths.pop()
        if flow is None or len(flow) != 1:
            raise NotGeneric("a reuse after several tensors")
        cx.container.pure = False  # one module called twice is no Sequential
        self.reuses.append((relative, records[0][1], cx))
        outputs = records[0][1].outputs or (None,)
        targets = cx.targets[: len(outputs)] if len(outputs) > 1 else cx.targets[:1]
        parts = tuple(relative.split("."))
        if len(parts) == 1:
            ref = [ModRef(parts), f"({flow[0].expr})"]
        else:  # a layer inside a labelled group or block instance: a Sequential has no `["conv1"]`
            from ..layers.pyexpr import quote

            ref = [f"self.get_submodule({quote(module_path(relative))})({flow[0].expr})"]
        cx.sink.append(Line(targets, ref))
        tensors = []
        for port, target in enumerate(targets):
            shapes = [
                self.job.analysis.shapes.get(r.outputs[port]) if r.outputs and r.outputs[port] else None
                for _, r in records
            ]
            tensors.append(Tensor(target, self._reuse_channels(shapes, flow[0], cx)))
        return tensors

    def _reuse_node(self, record) -> str:
        graph = self.job.graph
        if record.name in graph.nodes:
            return record.name
        return next((n for n in graph.nodes if n.startswith(record.name + ".")), None)

    def _reuse_problem(self, record, err: Unsupported) -> None:
        node = self._reuse_node(record)
        if node is None:  # it made no layer (a group of layers under a false condition): no place to point at
            self.job.problem(f"`reuse({record.target})`: {err.message}")
        else:
            self.job.unsupported(node, err)

    def _reuse_channels(self, shapes, before, cx) -> Py:
        actual = [shape[0] if shape else None for shape in shapes]
        try:
            if all(a is None or same(before.channels.sample(use), a) for use, a in zip(cx.uses, actual)):
                return before.channels
        except NotGeneric:
            pass
        known = {a for a in actual if a is not None}
        if len(known) == 1 and None not in actual:
            return Lit(known.pop())
        raise NotGeneric("the channels a reuse gives differ between uses")

    def _check_reuses(self):
        """Each reused thing must be one module of this class to call: a layer, a block instance, a Sequential."""
        for relative, record, _cx in self.reuses:
            child = self._child_at(relative.split("."))
            problem = None
            if child is None:
                problem = f"`{record.target}` is written as expressions in forward, not as one module to call"
            elif child.functional:
                problem = f"`{record.target}` is written as an expression in forward (it has no weights to share)"
            elif child.container is not None and not child.container.pure:
                problem = f"the labelled group `{record.target}` is not a sequence of modules (nn.Sequential)"
            if problem is not None:
                self._reuse_problem(
                    record,
                    Unsupported(
                        f"{problem}, so it cannot be called again",
                        "make what you reuse a block (its class can be called again), or write the layer again",
                    ),
                )

    def _child_at(self, keys):
        container, child = self.root, None
        for key in keys:
            if container is None:
                return None
            child = next((c for c in container.children if c.key == key), None)
            if child is None:
                return None
            container = child.container
        return child

    # blocks -----------------------------------------------------------------------------
    def _block_call(self, step, flow, cx, label):
        if all(not self.places[use].children.get(step.span) for use in cx.uses):
            # no use of it made a layer, so no instance is on record: `block b() { out = in }` passes its input on
            if flow is not None and len(flow) == 1 and _passes_input_on(self.job.blocks[step.block]):
                if cx.container.positional:  # lowering numbered it all the same: an identity keeps the numbers
                    keys = [str(cx.container.positions[use]) for use in cx.uses]
                    self._place_child(cx, Child(keys[0], ctor=Ctor("nn.Identity")), keys)
                    cx.sink.append(Line([cx.targets[0]], [ModRef(cx.path + (keys[0],)), f"({flow[0].expr})"]))
                    return [Tensor(cx.targets[0], flow[0].channels)]
                return flow
            self.job.problem(f"block `{step.block}` makes no layer here, and gives something other than its input")
            return flow
        children = self._take(cx, step.span, "blocks")
        keys = self._keys(cx, [site.prefix[:-1] for site in children])
        callee = {id(self.job.class_for(site)): self.job.class_for(site) for site in children}
        if len(callee) != 1:
            raise NotGeneric(f"`{step.block}` is written as different classes in different uses")
        (code,) = callee.values()
        if flow is None or len(flow) != 1:
            raise NotGeneric("a block after several tensors")
        params = list(self.job.blocks[step.block].params)
        given = {pname: (expr, positional) for pname, expr, positional in step.args}
        tensors = {"in": flow[0]}
        for p in params:  # a tensor parameter: forward takes it, the constructor its channels
            if p.tensor and p.name in given:
                tensors[p.name] = self._tensor(given[p.name][0].id)
        mapping = {}
        args, kwargs, in_order = [], [], True
        for tensor, value in tensors.items():
            param = code.param(tensor=tensor)
            if param is not None:
                mapping[param.name] = value.channels
                if param.used:
                    args.append(value.channels.src())
        for p in params:
            pname = p.name
            param = code.param(source=pname)
            if p.tensor:
                continue
            if pname not in given:
                in_order = False
                if param is not None:
                    mapping[param.name] = Lit(children[0].env[pname])
                continue
            expr, positional = given[pname]
            value = self._block_argument(expr, pname, children, cx)
            if param is None:  # a block written out per use has no parameters
                continue
            mapping[param.name] = value
            if positional and in_order and not param.keyword_only:
                args.append(value.src())
            else:
                in_order = False
                kwargs.append((param.name, value.src()))
        child = Child(keys[0], ctor=Ctor(code.name, args, kwargs))
        self._place_child(cx, child, keys)
        inputs = [tensors[t].expr for t in code.inputs if t in tensors]
        if len(inputs) > 1:
            cx.container.pure = False
        target = cx.targets[0]
        cx.sink.append(
            Line([target], [ModRef(cx.path + (keys[0],)), f"({', '.join(inputs)})"], self._block_comment(children))
        )
        channels = code.out_channels.substitute(mapping)
        if channels.variables() - self._constructor_names():
            raise NotGeneric(f"the channels `{step.block}` gives are not known here")
        return [Tensor(target, channels)]

    def _constructor_names(self):
        return {p.name for p in self.signature}

    def _block_comment(self, children):
        if self.block:
            return ""
        site = children[0]
        shape = self.job.index.output_shape(site, self.job.analysis)
        before = self.job.analysis.shapes.get(site.inputs.get("in"))
        return fmt_shape(shape) if shape is not None and shape != before else ""

    def _block_argument(self, expr, pname, children, cx) -> Py:
        if not names_in(expr) & self.params.keys():
            values = [site.env[pname] for site in children]
            if any(not same(v, values[0]) for v in values):
                raise NotGeneric(f"`{pname}` differs between uses")
            return Lit(values[0])
        value = self._translate(expr, cx)
        for use, site in zip(cx.uses, children):
            if not same(value.sample(use), site.env[pname]):
                raise NotGeneric(f"`{value.src()}` does not give `{pname}` in every use")
        return value

    # the class ----------------------------------------------------------------------------
    def _finish(self, returns):
        code = self.code
        root = self.root
        indent = "        "
        flags = Namespace({module_name(c.key) for c in root.children if c.flag is None} | MODULE_ATTRIBUTES)
        for c in root.children:
            if c.flag is not None:
                c.key = flags.claim(c.key)
        text = ClassText(code.base, self.init_names)
        code.init = text.init(root, indent)
        code.base = text.base
        joined = "\n".join(code.init)
        for param in self.signature:  # a channel count no layer uses is left out of the signature
            if param.tensor is not None:
                param.used = re.search(rf"\b{param.name}\b", joined) is not None
        if code.base == "nn.Sequential":
            code.forward = None
            return
        body = list(self.forward)
        ret = [t.expr for t in returns]
        last = body[-1] if body else None
        if len(ret) == 1 and isinstance(last, Line) and last.targets == ret:
            body[-1] = Return(last.value, last.comment)  # `y = f(y)` then `return y`: return f(y)
        else:
            body.append(Return([", ".join(ret)]))
        lines = forward_lines(body, text.resolver(), indent)
        args = ", ".join(["self", *(self.scope[t].expr for t in code.inputs)])
        code.forward = [f"    def forward({args}):", *lines]


def _passes_input_on(definition) -> bool:
    """A body whose `out` is `in` itself, through names only (`out = in`, or `a = in` and `out = a`)."""
    if definition.chain is not None:
        return False
    aliases = {f.targets[0]: f.source for f in definition.flows if len(f.targets) == 1 and not f.steps}
    name, seen = "out", set()
    while name in aliases and name not in seen:
        seen.add(name)
        name = aliases[name]
    return name == "in"
