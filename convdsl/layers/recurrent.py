"""Recurrent layers on batch-first L x I sequences: lstm and gru, with PyTorch's arguments.

Outputs are tensors of their own, as chunk's: `seq, h, c = x -> lstm(256)`
(gru: `seq, h = ...`). The final states are PyTorch's (layers*dirs, N, H) with
the batch moved first, (layers*dirs, H) here; the export transposes them.
MACs: per time step, per layer and direction, gates x (input + hidden) weights
(LSTM 4H(I + H'), plus H*P for the projection; GRU 3H(I + H)); the total is that
times the sequence length. Elementwise gate arithmetic is not counted.
"""

from __future__ import annotations

from .. import diagnostics as codes
from .ops import Module
from .pyexpr import Lit
from .base import Arg, Inferred, LayerKind, ShapeError, fmt_shape

_COMMON = (
    Arg("num_layers", "int", 1, aliases=("layers",)),
    Arg("bias", "bool", True, positional=False),
    Arg("bidirectional", "bool", False, positional=False),
    Arg("dropout", "float", 0.0, positional=False),
)


class _Recurrent(LayerKind):
    family = "linear"
    gates: int

    def describe(self, args):
        text = f"{args['hidden_size']}"
        if args["num_layers"] != 1:
            text += f" x{args['num_layers']}"
        return text + (" bi" if args["bidirectional"] else "")

    def _check(self, args, shape):
        if len(shape) != 2:
            raise ShapeError(
                codes.RANK_MISMATCH,
                f"{self.name} takes a batch-first sequence (L x features), got a {fmt_shape(shape)} tensor",
                f"{len(shape)} axes",
                "make tokens first, e.g. `transpose(1, 2)` from C x L",
            )
        hidden, layers = args["hidden_size"], args["num_layers"]
        if hidden < 1 or layers < 1:
            raise ShapeError(
                codes.ARGUMENT_TYPE,
                f"{self.name} needs a hidden size and a number of layers of at least 1",
                "hidden_size" if hidden < 1 else "num_layers",
                arg="hidden_size" if hidden < 1 else "num_layers",
            )
        if not 0 <= args["dropout"] <= 1:
            raise ShapeError(
                codes.ARGUMENT_TYPE, f"dropout must be between 0 and 1, got {args['dropout']}", "dropout", arg="dropout"
            )
        return shape

    def _count(self, args, features, hidden, out):
        """(params, MACs per time step) of every layer and direction; out: the size fed back (H or P)."""
        dirs = 2 if args["bidirectional"] else 1
        g = self.gates * hidden

        def layer(size):
            one = g * size + g * out + (2 * g if args["bias"] else 0)
            step = g * size + g * out
            if out != hidden:  # LSTM projection: weight_hr (P x H), no bias
                one += out * hidden
                step += out * hidden
            return dirs * one, dirs * step

        # the first layer reads the features; every later one the same dirs x out: a product, not a loop
        # (num_layers=2**31 must not spin for minutes)
        first, later = layer(features), layer(dirs * out)
        rest = args["num_layers"] - 1
        return first[0] + rest * later[0], first[1] + rest * later[1]

    def _outputs_channels(self, args):
        dirs = 2 if args["bidirectional"].known() else 1
        return Lit(dirs * args["num_layers"].known())


class LSTM(_Recurrent):
    name = "lstm"
    summary = "long short-term memory on L x I sequences (nn.LSTM, batch-first): sequence, last hidden and cell states"
    gates = 4
    args = (Arg("hidden_size", "int", aliases=("hidden",)), *_COMMON, Arg("proj_size", "int", 0, positional=False))

    def output_count(self, args):
        return 3

    def infer(self, args, inputs, ctx):
        length, features = self._check(args, inputs[0])
        hidden, proj = args["hidden_size"], args["proj_size"]
        if not 0 <= proj < hidden:
            raise ShapeError(
                codes.ARGUMENT_TYPE,
                f"proj_size must be from 0 to hidden_size - 1, got {proj}",
                "proj_size",
                arg="proj_size",
            )
        out = proj or hidden
        dirs = 2 if args["bidirectional"] else 1
        params, per_step = self._count(args, features, hidden, out)
        states = dirs * args["num_layers"]
        return Inferred(
            outputs=((length, dirs * out), (states, out), (states, hidden)), params=params, macs=per_step * length
        )

    def to_torch(self, args, inputs, ctx):
        kwargs = [
            (name, args[name])
            for name in ("num_layers", "bias", "bidirectional", "dropout", "proj_size")
            if not args[name].is_(next(a.default for a in self.args if a.name == name))
        ]
        states = self._outputs_channels(args)
        return Module(
            "LSTM",
            (inputs[0][-1], args["hidden_size"]),
            kwargs,
            channels=(None, states, states),
            outputs=3,
            helpers=("LSTM",),
        )


class GRU(_Recurrent):
    name = "gru"
    summary = "gated recurrent unit on L x I sequences (nn.GRU, batch-first): sequence and last hidden state"
    gates = 3
    args = (Arg("hidden_size", "int", aliases=("hidden",)), *_COMMON)

    def output_count(self, args):
        return 2

    def infer(self, args, inputs, ctx):
        length, features = self._check(args, inputs[0])
        hidden = args["hidden_size"]
        dirs = 2 if args["bidirectional"] else 1
        params, per_step = self._count(args, features, hidden, hidden)
        return Inferred(
            outputs=((length, dirs * hidden), (dirs * args["num_layers"], hidden)),
            params=params,
            macs=per_step * length,
        )

    def to_torch(self, args, inputs, ctx):
        kwargs = [
            (name, args[name])
            for name in ("num_layers", "bias", "bidirectional", "dropout")
            if not args[name].is_(next(a.default for a in self.args if a.name == name))
        ]
        return Module(
            "GRU",
            (inputs[0][-1], args["hidden_size"]),
            kwargs,
            channels=(None, self._outputs_channels(args)),
            outputs=2,
            helpers=("GRU",),
        )


KINDS = (LSTM, GRU)

__all__ = ["KINDS"]
