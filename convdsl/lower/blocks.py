"""A block's use: its arguments bound to its parameters, then its body lowered in a scope of its own."""

from __future__ import annotations

from .. import diagnostics as codes
from ..diagnostics import did_you_mean
from ..evaluate import SHAPES, EvalError, Symbol, undefined
from ..model import Scope, Site
from ..syntax import Call, Name
from .binding import _block_signature
from .state import _Abort, _Deferred, _TensorScope


class Blocks:
    """Lowering's block uses, as a mixin: it walks the body through Lowering's own statements and chains."""

    def _block(self, call: Call, current, scope, names, label):
        block = self.blocks[call.name.id]
        definition = block.definition
        name = definition.name.id
        if name in self.block_stack:
            cycle = " -> ".join((*self.block_stack[self.block_stack.index(name) :], name))
            self.error(
                codes.RECURSIVE_BLOCK,
                call.name.span,
                f"block `{name}` uses itself",
                "recursive use",
                "a block cannot contain itself; unroll it with a repeat",
                notes=(f"through {cycle}",),
            )
            return None
        if len(self.block_stack) >= self.limits.max_depth:
            self.error(
                codes.LIMIT_EXCEEDED,
                call.span,
                f"blocks are nested more than {self.limits.max_depth} deep",
                "too deep",
                "raise the limit with --max-depth",
            )
            raise _Abort
        if current is None:
            # An error before this block was reported already (a chain that starts without a tensor is
            # reported by _chain); saying the block has no input would only repeat it, once per copy.
            return None
        value = self._single(current, call.span)
        env = dict(block.env)
        tensors = {"in": (value, call.span)}
        env[SHAPES] = self._shape_reader(tensors)  # `in.shape[d]`, in defaults, constants and arguments
        params = definition.params
        ok = True
        if len(call.args) > len(params):
            self.error(
                codes.TOO_MANY_ARGUMENTS,
                call.args[len(params)].span,
                f"block `{name}` takes {len(params)} argument{'s' if len(params) != 1 else ''}, got {len(call.args)}",
                "extra argument",
                _block_signature(definition),
            )
            ok = False
        given = {}
        for param, expr in zip(params, call.args):
            given[param.name.id] = expr
        known = {p.name.id for p in params}
        for kw in call.kwargs:
            if kw.name.id not in known:
                self.error(
                    codes.UNKNOWN_ARGUMENT,
                    kw.name.span,
                    f"block `{name}` has no parameter `{kw.name.id}`",
                    "unknown parameter",
                    did_you_mean(kw.name.id, known) or _block_signature(definition),
                )
                ok = False
            elif kw.name.id in given:
                self.error(
                    codes.DUPLICATE_DEFINITION,
                    kw.name.span,
                    f"parameter `{kw.name.id}` is given twice",
                    "given again here",
                )
                ok = False
            else:
                given[kw.name.id] = kw.value
        for param in params:
            pname = param.name.id
            is_tensor = param.type is not None and param.type.id == "tensor"
            if param.type is not None and not is_tensor:
                self.error(
                    codes.ARGUMENT_TYPE,
                    param.type.span,
                    f"unknown parameter type `{param.type.id}`",
                    "not a type",
                    "the only parameter type is `tensor`",
                )
                ok = False
                continue
            expr = given.get(pname)
            if expr is None:
                if param.default is None:
                    self.error(
                        codes.MISSING_ARGUMENT,
                        call.span,
                        f"block `{name}` needs `{pname}`",
                        f"`{pname}` missing",
                        _block_signature(definition),
                    )
                    ok = False
                    continue
                if is_tensor:
                    self.error(codes.ARGUMENT_TYPE, param.span, "a tensor parameter cannot have a default", "default")
                    ok = False
                    continue
                try:
                    env[pname] = self._value(param.default, env)
                except EvalError as err:
                    self.from_eval(err)
                    ok = False
                continue
            if is_tensor:
                if not isinstance(expr, Name):
                    self.error(codes.ARGUMENT_TYPE, expr.span, f"`{pname}` takes a tensor name", "not a tensor name")
                    ok = False
                    continue
                tensors[pname] = (self._ref(expr.id, expr.span, scope), expr.span)
                continue
            try:
                value_ = self._value(expr, scope.env)
            except EvalError as err:
                self.from_eval(err)
                ok = False
                continue
            if isinstance(value_, Symbol):
                self.from_eval(undefined(value_, [*scope.env, *scope.tensors]))
                ok = False
                continue
            env[pname] = value_
        if not ok:
            return None
        local = self._claim(names, label.id, label.span) if label is not None else self._auto_name(names, name)
        # A block that is a chain is a Sequential: its layers are numbered 0, 1, 2...
        inner_names = names.child(local, positional=definition.chain is not None, block=name)
        inner = _TensorScope(env, tensors, warn_key=definition.span)  # the reader sees what the body computes
        inner.used.add("in")
        self.block_stack.append(name)
        # a parameter named `in` is a number in env, not the tensor `in` (reported at the definition)
        shown = tuple(
            (
                None if i < len(call.args) else pname,
                given[pname].id if pname in tensors and isinstance(given[pname], Name) else env[pname],
            )
            for i, pname in enumerate(given)
        )
        opened = self._extent_open(names.prefix + local)
        self.scopes.append(Scope(names.prefix + local, "block", name, shown))
        self.site = Site(
            inner_names.prefix,
            name,
            env,
            call.span,
            inner_names.block_path,
            self.site,
            {tensor: value for tensor, (value, _) in tensors.items()},
        )
        self.sites.append(self.site)
        self.tensor_scopes.append((self.site, inner))
        result = None
        try:
            if definition.chain is not None:
                result = self._chain(definition.chain, inner, inner_names, start=[value])
            else:
                labels = self.block_labels.get(name)
                if labels is None:
                    labels = self.block_labels[name] = self._labels(definition.body)
                inner_names.taken.update(labels)
                for stmt in definition.body:
                    self._statement(stmt, inner, inner_names)
                if "out" not in inner.tensors:
                    key = ("no-out", definition.span)
                    self.withheld += key in self.warned
                    if key not in self.warned:
                        self.warned.add(key)
                        self.error(
                            codes.MISSING_OUTPUT,
                            definition.name.span,
                            f"block `{name}` never assigns `out`",
                            "no `out`",
                            "end the block with `out = ...`",
                        )
                    result = None
                else:
                    inner.used.add("out")
                    result = [inner.tensors["out"][0]] if inner.tensors["out"][0] is not None else None
                    if result and isinstance(result[0], _Deferred):
                        result = None
        finally:
            self.block_stack.pop()
            self.scopes.pop()
            self.site = self.site.parent
            self._extent_close(names.prefix + local, opened, value, result, "block")
        self._finish_scope(inner)
        return result
