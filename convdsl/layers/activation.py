"""Elementwise activations: no parameters, shapes pass through."""

from __future__ import annotations

from .ops import Module
from .base import Arg, Inferred, LayerKind
from .dense import _dim_index


class _Activation(LayerKind):
    family = "activation"

    def infer(self, args, inputs, ctx):
        return Inferred(outputs=(inputs[0],))

    def describe(self, args):
        # the arguments that differ from their defaults (leaky_relu's slope, softmax's dim)
        shown = []
        for arg in self.args:
            value = args.get(arg.name, arg.default)
            if arg.name != "inplace" and value != arg.default:
                name = min((arg.name, *arg.aliases), key=len)
                shown.append(f"{name}={value:g}" if isinstance(value, float) else f"{name}={value}")
        return ", ".join(shown)


def _activation(name, summary, torch_name, args=(), aliases=()):
    return type(
        name.title().replace("_", ""),
        (_Activation,),
        {
            "name": name,
            "summary": summary,
            "torch_name": torch_name,
            "args": tuple(args),
            "aliases": tuple(aliases),
            "__module__": __name__,
        },
    )


_INPLACE = Arg("inplace", "bool", False, positional=False)

ACTIVATIONS = (
    _activation("relu", "max(0, x)", "ReLU", [_INPLACE]),
    _activation("relu6", "min(max(0, x), 6)", "ReLU6", [_INPLACE]),
    _activation(
        "leaky_relu",
        "x, or slope * x below 0",
        "LeakyReLU",
        [Arg("negative_slope", "float", 0.01, aliases=("slope",)), _INPLACE],
        aliases=("leakyrelu", "lrelu"),
    ),
    _activation(
        "gelu", "Gaussian error linear unit", "GELU", [Arg("approximate", "str", "none", choices=("none", "tanh"))]
    ),
    _activation("silu", "x * sigmoid(x)", "SiLU", [_INPLACE], aliases=("swish",)),
    _activation("mish", "x * tanh(softplus(x))", "Mish", [_INPLACE]),
    _activation("hardswish", "x * relu6(x + 3) / 6", "Hardswish", [_INPLACE], aliases=("hard_swish",)),
    _activation("hardsigmoid", "relu6(x + 3) / 6", "Hardsigmoid", [_INPLACE], aliases=("hard_sigmoid",)),
    _activation("sigmoid", "1 / (1 + exp(-x))", "Sigmoid"),
    _activation("tanh", "hyperbolic tangent", "Tanh"),
    _activation("elu", "exponential linear unit", "ELU", [Arg("alpha", "float", 1.0), _INPLACE]),
)


class Softmax(_Activation):
    name = "softmax"
    summary = "softmax along an axis (dim counts the batch as 0; default 1, the channels)"
    torch_name = "Softmax"
    args = (Arg("dim", "int", 1),)

    def infer(self, args, inputs, ctx):
        _dim_index(args["dim"], len(inputs[0]), "dim")
        return Inferred(outputs=(inputs[0],))

    def to_torch(self, args, inputs, ctx):
        return Module(f"nn.{self.torch_name}", kwargs=(("dim", args["dim"]),))  # PyTorch's default dim is implicit


class LogSoftmax(Softmax):
    name = "log_softmax"
    summary = "log of softmax along an axis"
    torch_name = "LogSoftmax"
