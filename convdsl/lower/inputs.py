"""An input's options: `batch=`, `layout=channels|tokens`, `dtype=float|long`, and the axes they make."""

from __future__ import annotations

from .. import diagnostics as codes
from ..evaluate import EvalError, Symbol, evaluate
from ..model import DTYPES, INPUT_LAYOUTS, input_axes

_OPTIONS = ("batch", "layout", "dtype")
__all__ = ["InputOptions", "input_axes"]


class InputOptions:
    """Lowering's input options, as a mixin: it reports through Lowering.error."""

    def _input_options(self, stmt, scope):
        """(batch, layout, dtype), each None where it was wrong (and reported)."""
        batch, layout, dtype = None, "channels", "float"
        for option in stmt.options:
            key = option.name.id
            if key not in _OPTIONS:
                self.error(
                    codes.UNKNOWN_ARGUMENT,
                    option.name.span,
                    f"unknown input option `{key}`",
                    "not an option",
                    "the options are `batch=8`, `layout=tokens` (or `channels`) and `dtype=long` (or `float`)",
                )
                continue
            try:
                value = evaluate(option.value, scope.env)
            except EvalError as err:
                self.from_eval(err)
                if key != "batch":
                    layout = None if key == "layout" else layout
                    dtype = None if key == "dtype" else dtype
                continue
            if key == "batch":
                if (
                    isinstance(value, bool)
                    or not isinstance(value, (int, str))
                    or (isinstance(value, int) and value < 1)
                ):
                    self.error(
                        codes.INVALID_INPUT, option.value.span, "batch must be a positive integer or a name", "batch"
                    )
                    value = None
                batch = value
                continue
            choices = INPUT_LAYOUTS if key == "layout" else DTYPES
            if not isinstance(value, Symbol) or str(value) not in choices:
                self.error(
                    codes.INVALID_INPUT,
                    option.value.span,
                    f"`{key}` is one of {', '.join(f'`{c}`' for c in choices)}, got {value!s}",
                    f"not a {key}",
                    "`layout=tokens`: L x D (the last axis is the features); `layout=channels`: C x H x W"
                    if key == "layout"
                    else "`dtype=long`: token ids, read by `embedding`; `dtype=float`: values (the default)",
                )
                value = None
            if key == "layout":
                layout = str(value) if value is not None else None
            else:
                dtype = str(value) if value is not None else None
        return batch, layout, dtype

    def _feature_axis_problem(self, stmt, dims, layout, dtype) -> bool:
        """A symbolic size where the layout wants a number (the channels, a token's width): reported, True."""
        if dtype == "long" or not dims:
            return False
        index = len(dims) - 1 if layout == "tokens" else 0
        if not isinstance(dims[index], str):
            return False
        what = "a token's width (the last axis, with layout=tokens)" if layout == "tokens" else "the channel count"
        self.error(
            codes.INVALID_INPUT,
            stmt.dims[index].span,
            f"{what} must be a number",
            "symbolic features" if layout == "tokens" else "symbolic channels",
            "only spatial and sequence sizes may be symbolic"
            + ("" if layout == "tokens" else "; for `L x D` tokens with a symbolic L, add `layout=tokens`"),
        )
        return True
