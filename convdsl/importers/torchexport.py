"""A module's forward that torch.fx cannot follow, read through torch.export instead, as an fx graph of the
same form: the module's own operations, and one call per call of a child module.

torch.fx traces symbolically, so it stops at control flow on sizes (`if x.shape[-1] > 10:`) or a Python loop
over one (`for i in range(x.shape[1] // 4)`). torch.export runs the forward on example inputs of the shapes
the module really receives, so such branches are decided and loops unrolled; but it inlines every child
module down to ATen operators. The module hierarchy is recovered from each node's `nn_module_stack`: the
operators of one call of a direct child become one `call_module` of that child (whose own forward is then
traced like any other, so its names and state_dict keys stay the module paths), and the module's own ATen
operators become the torch functions they are the ATen form of (ATEN below), which torchfunctions.py maps
to layer kinds, as it does for fx: one mapping, not a second copy for ATen. An operator with no entry
stays as it is and is reported by its ATen name.
"""

from __future__ import annotations

import inspect
import operator


class ExportProblem(Exception):
    """torch.export cannot give the module's forward in this form: why."""


def _aten_table(torch):
    """ATen overload -> ("function", the torch function it is the ATen form of) or ("method", Tensor method).
    The arguments of each are in the same order (aten.max_pool2d(x, kernel, stride, padding, dilation,
    ceil_mode) is F.max_pool2d's), so the node is rewritten with its arguments as they are."""
    aten = torch.ops.aten
    F = torch.nn.functional
    function = {
        "add.Tensor": operator.add,
        "add_.Tensor": operator.add,
        "mul.Tensor": operator.mul,
        "mul_.Tensor": operator.mul,
        "cat.default": torch.cat,
        "relu.default": F.relu,
        "relu_.default": F.relu,
        "gelu.default": F.gelu,
        "silu.default": F.silu,
        "silu_.default": F.silu,
        "sigmoid.default": torch.sigmoid,
        "tanh.default": torch.tanh,
        "hardswish.default": F.hardswish,
        "hardsigmoid.default": F.hardsigmoid,
        "leaky_relu.default": F.leaky_relu,
        "elu.default": F.elu,
        "max_pool1d.default": F.max_pool1d,
        "max_pool2d.default": F.max_pool2d,
        "max_pool3d.default": F.max_pool3d,
        "avg_pool1d.default": F.avg_pool1d,
        "avg_pool2d.default": F.avg_pool2d,
        "avg_pool3d.default": F.avg_pool3d,
        "adaptive_avg_pool1d.default": F.adaptive_avg_pool1d,
        "adaptive_avg_pool2d.default": F.adaptive_avg_pool2d,
        "adaptive_avg_pool3d.default": F.adaptive_avg_pool3d,
        "mean.dim": torch.mean,
        "view.default": torch.reshape,
        "reshape.default": torch.reshape,
        "flatten.using_ints": torch.flatten,
        "permute.default": torch.permute,
        "transpose.int": torch.transpose,
        "select.int": torch.select,
        "softmax.int": F.softmax,
        "log_softmax.int": F.log_softmax,
        "dropout.default": F.dropout,
        "clone.default": torch.clone,
        "linear.default": F.linear,
        "matmul.default": torch.matmul,
        "chunk.default": torch.chunk,
        "roll.default": torch.roll,
        "ones.default": torch.ones,
        "full.default": torch.full,
        "triu.default": torch.triu,
    }
    method = {
        "unsqueeze.default": "unsqueeze",
        "squeeze.dim": "squeeze",
        "squeeze.default": "squeeze",
        "expand.default": "expand",
        "contiguous.default": "contiguous",
        "detach.default": "detach",
    }
    table = {}
    for name, target in function.items():
        overload = _overload(aten, name)
        if overload is not None:
            table[overload] = ("function", target)
    for name, target in method.items():
        overload = _overload(aten, name)
        if overload is not None:
            table[overload] = ("method", target)
    hardtanh = _overload(aten, "hardtanh.default")
    if hardtanh is not None:
        table[hardtanh] = ("hardtanh", F.relu6)  # F.relu6 is hardtanh(x, 0, 6); other bounds have no kind
    return table


def _overload(aten, name):
    packet, _, overload = name.partition(".")
    return getattr(getattr(aten, packet, None), overload, None)


def export_graph(torch, module, args):
    """The module's forward as an fx GraphModule over the module itself: its ATen operators as torch
    functions, each call of a direct child one call_module. Raises ExportProblem, or torch.export's error."""
    import torch.fx as fx

    # the calls of the modules the forward calls directly keep their signatures (which tensor is the query,
    # which the mask), so each call is rebuilt with its arguments as written
    called = tuple(path for path in _callable_paths(torch, module))
    try:
        exported = _quietly(lambda: torch.export.export(module, tuple(args), preserve_module_call_signature=called))
    except Exception:  # a child whose call cannot be kept whole: without signatures, from the graph alone
        exported = _quietly(lambda: torch.export.export(module, tuple(args)))
    signatures = {entry.fqn: entry.signature for entry in exported.module_call_graph if entry.signature}
    graph = exported.module().graph
    by_name = {node.name: node for node in graph.nodes}
    table = _aten_table(torch)
    calls = _child_calls(graph)
    out = fx.Graph()
    env: dict = {}
    emitted: set = set()
    children = dict(module.named_modules())

    def value(node):
        if node.op == "get_attr" and node not in env:
            env[node] = out.get_attr(node.target)
        return env[node]

    def mapped(a):
        return fx.node.map_arg(a, value)

    for node in graph.nodes:
        if node.op == "placeholder":
            env[node] = out.placeholder(node.name)
            env[node].meta = dict(node.meta)
            continue
        if node.op == "get_attr":
            continue  # made where it is read: a parameter of a child is read inside the child
        if node.op == "call_module":
            continue  # export's guard function: checks of the inputs, no value of the forward
        if node.op == "output":
            out.output(mapped(node.args[0]))
            continue
        call = calls.get(node)
        if call is not None:
            key, path, members = call
            if key in emitted:
                continue
            emitted.add(key)
            child = children.get(path)
            if child is None:
                raise ExportProblem(f"torch.export names a module `{path}` that is not a child of it")
            inputs, results = _boundary(members)
            signature = signatures.get(path + (key[key.rfind("@") :] if "@" in key else ""))
            rebuilt = _rebuild(torch, signature, by_name, results) if signature is not None else None
            if rebuilt is None:
                _check_arity(child, path, len(inputs))
                if len(results) != 1:
                    raise ExportProblem(
                        f"its call of `{path}` gives {len(results)} tensors through torch.export; convdsl reads one"
                    )
                call_args, call_kwargs, picks = tuple(inputs), {}, {results[0]: None}
            else:
                call_args, call_kwargs, picks = rebuilt
            made = out.call_module(path, mapped(call_args), mapped(call_kwargs))
            made.meta = dict(members[0].meta)
            for result, index in picks.items():
                env[result] = made if index is None else out.call_function(operator.getitem, (made, index))
                env[result].meta = dict(result.meta)
            continue
        if node.op != "call_function":
            raise ExportProblem(f"torch.export gave a `{node.op}` node")
        how = table.get(node.target)
        args_, kwargs_ = mapped(node.args), mapped(node.kwargs)
        if how is None:
            if node.target is operator.getitem:
                made = out.call_function(operator.getitem, args_, kwargs_)
            else:  # no torch function for it: kept, and reported by its ATen name
                made = out.call_function(node.target, args_, kwargs_)
        elif how[0] == "method":
            made = out.call_method(how[1], args_, kwargs_)
        elif how[0] == "hardtanh":
            bounds = (tuple(node.args[1:3]) + (-1.0, 1.0)[len(node.args[1:3]) :])[:2]
            made = (
                out.call_function(how[1], args_[:1])
                if tuple(float(b) for b in bounds) == (0.0, 6.0)
                else out.call_function(node.target, args_, kwargs_)
            )
        else:
            made = out.call_function(how[1], args_, kwargs_)
        made.meta = dict(node.meta)
        env[node] = made
    out.lint()
    return fx.GraphModule(module, out)


def _callable_paths(torch, module):
    """The modules its forward can call directly: its children, and the members of containers that are not
    called themselves (a ModuleList's `blocks.0`)."""
    containers = (torch.nn.ModuleList, torch.nn.ModuleDict)
    for name, child in module.named_children():
        if isinstance(child, containers):
            for inner, _ in child.named_children():
                yield f"{name}.{inner}"
        else:
            yield name


def _rebuild(torch, signature, by_name, results):
    """(args, kwargs, {result node: index in the call's output or None}) of a call as written, from its
    preserved signature; None where a part of it is not a tensor of the graph or a constant."""
    from torch.utils import _pytree as pytree

    flat = []
    for argument in signature.inputs:
        name = getattr(argument, "name", None)
        if type(argument).__name__ == "TensorArgument" and name in by_name:
            flat.append(by_name[name])
        elif type(argument).__name__ == "ConstantArgument":
            flat.append(argument.value)
        else:
            return None
    try:
        args, kwargs = pytree.tree_unflatten(flat, signature.in_spec)
    except Exception:
        return None
    names = [getattr(a, "name", None) for a in signature.outputs]
    leaf = signature.out_spec is None or signature.out_spec.is_leaf()
    picks = {}
    for result in results:
        if result.name not in names:
            return None
        index = names.index(result.name)
        if leaf:
            picks[result] = None
        elif signature.out_spec.type in (tuple, list) and all(c.is_leaf() for c in signature.out_spec.children()):
            picks[result] = index
        else:
            return None
    return tuple(args), dict(kwargs), picks


def _quietly(run):
    """torch.export logs its failures (warnings, the partial graph) on its own; the diagnostic says why."""
    import contextlib
    import io
    import logging

    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return run()
    finally:
        logging.disable(previous)


def _child_calls(graph) -> dict:
    """node -> (call key, the direct child's path, the nodes of that call), for nodes inside a child's call.
    nn_module_stack lists the modules a node runs in, outermost first: the module itself, then its child
    (`conv`, or `inner@1` for its second call), then deeper ones."""
    calls: dict = {}
    members: dict = {}
    for node in graph.nodes:
        if node.op != "call_function":
            continue
        stack = list((node.meta.get("nn_module_stack") or {}).items())
        if len(stack) < 2:
            continue
        key, (path, _) = stack[1]
        root_path = stack[0][1][0]
        if root_path:
            path = path[len(root_path) + 1 :] if path.startswith(root_path + ".") else path
        # the first module called under this one: a child (`conv`), or one inside a container that is not
        # called itself (`blocks.0` of a ModuleList), as fx names the call
        members.setdefault(key, (path, []))[1].append(node)
    for key, (path, nodes) in members.items():
        for node in nodes:
            calls[node] = (key, path, nodes)
    return calls


def _boundary(members):
    """The tensors a child's call reads from outside it (in order of first use), and what leaves it."""
    inside = set(members)
    inputs, results = [], []
    for node in members:
        for source in node.all_input_nodes:
            if source not in inside and source.op != "get_attr" and source not in inputs:
                val = source.meta.get("val")
                if val is None or hasattr(val, "shape"):
                    inputs.append(source)
    for node in members:
        if any(user not in inside for user in node.users):
            results.append(node)
    return inputs, results


def _check_arity(child, path, count):
    try:
        parameters = list(inspect.signature(child.forward).parameters.values())
    except (TypeError, ValueError):
        return
    required = [
        p for p in parameters if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    varargs = any(p.kind is p.VAR_POSITIONAL for p in parameters)
    if count < len(required) or (count > len(positional) and not varargs):
        raise ExportProblem(
            f"its call of `{path}` reads {count} distinct tensors through torch.export, and `{path}`'s forward "
            f"takes {len(required)}: the call cannot be rebuilt (the same tensor passed twice?)"
        )
