"""The `param` statement: a learnable tensor, one node of the catalogue's `parameter` kind with no input."""

from __future__ import annotations

from .. import diagnostics as codes
from ..evaluate import EvalError, Symbol, describe, evaluate, undefined
from ..layers import KINDS
from ..model import LayerNode, TensorRef
from ..syntax import ParamDecl
from .reuse import _Extent
from .state import _Abort

_OPTIONS = ("init",)


class Params:
    """Lowering's `param` statements, as a mixin: it reports through Lowering.error."""

    def _param(self, stmt: ParamDecl, scope, names) -> None:
        name = stmt.name.id
        if name in scope.tensors or name == "in":
            self.error(
                codes.DUPLICATE_DEFINITION,
                stmt.name.span,
                f"`{name}` is defined twice" if name != "in" else "`in` is the block's input",
                "defined again here",
                "give the param its own name; tensors are never reassigned",
            )
            return
        # until it is made (or if it cannot be), its uses refer to nothing: one error, here
        scope.tensors[name] = (None, stmt.name.span)
        sizes = []
        ok = True
        for dim in stmt.dims:
            try:
                value = evaluate(dim, scope.env)
            except EvalError as err:
                self.from_eval(err)
                ok = False
                continue
            if isinstance(value, Symbol):
                inputs = {s for spec in self.inputs.values() for s in spec.dims if isinstance(s, str)}
                if str(value) in inputs:
                    self.error(
                        codes.INVALID_INPUT,
                        dim.span,
                        f"a param's size cannot be the symbolic input size `{value}`",
                        "symbolic size",
                        "a learnable tensor has one fixed shape: give a number (for a grid that follows the input, "
                        "keep a fixed param and resize it with `upsample`)",
                    )
                else:
                    err = undefined(value, [k for k in scope.env if isinstance(k, str) and k.isidentifier()])
                    err.help = err.help or f"a size is a number, a constant or a block parameter: `const {value} = 768`"
                    self.from_eval(err)
                ok = False
                continue
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2**40:
                self.error(
                    codes.INVALID_INPUT,
                    dim.span,
                    f"a param's size must be a whole number from 1 to 2^40, got {describe(value)}",
                    "not a size",
                    "write its shape without the batch, as an input's: `param pos: 197 x 768`",
                )
                ok = False
                continue
            sizes.append(value)
        init = 0.0
        for option in stmt.options:
            if option.name.id not in _OPTIONS:
                self.error(
                    codes.UNKNOWN_ARGUMENT,
                    option.name.span,
                    f"unknown param option `{option.name.id}`",
                    "not an option",
                    "the only option is `init` (the value every entry starts from): `param g: 96, init=1e-6`",
                )
                ok = False
                continue
            try:
                value = evaluate(option.value, scope.env)
            except EvalError as err:
                self.from_eval(err)
                ok = False
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.error(
                    codes.ARGUMENT_TYPE,
                    option.value.span,
                    f"`init` takes a number, got {describe(value)}",
                    "not a number",
                    "write the value every entry starts from: `init=1e-6`",
                )
                ok = False
                continue
            init = float(value)
        if not ok:
            scope.used.add(name)  # its uses say nothing more: the error above is their cause
            return
        kind = KINDS["parameter"]
        local = self._claim(names, name, stmt.name.span)
        node = names.prefix + local
        if not self.builder.count_layer(stmt.span):
            raise _Abort
        spans = {"shape": stmt.dims[0].span if stmt.dims else stmt.span}
        explicit = frozenset(("shape", *(("init",) if stmt.options else ())))
        args = self.builder.share_args(kind, {"shape": tuple(sizes), "init": init}, explicit)
        self.builder.add_layer(
            node,
            LayerNode(
                kind.name,
                kind.name,
                args,
                stmt.span,
                local,
                names.block_path,
                tuple(self.scopes),
                self.site,
                spans,
                explicit,
                False,
            ),
        )
        scope.tensors[name] = (TensorRef(node, 0, name), stmt.name.span)
        index = len(self.made)
        self._record(node, ())
        self.extents[node] = _Extent(index, index + 1, None, None, "param", 0)
