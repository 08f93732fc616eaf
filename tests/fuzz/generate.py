"""Structurally valid convdsl programs, generated from a seeded random.Random.

The generator follows the grammar (grammar/convdsl.lark) statement by
statement: settings, constants, blocks of both forms, inputs of every rank,
chains of real layer kinds with plausible arguments, labels, groups, repeats,
conditions, merges, multi-output layers and outputs. It tracks each tensor's
shape, so most programs are also free of shape errors and can be checked for
self-consistency; the rest exercise the shape checks. Layout varies too:
comments, continuation lines, parentheses across lines, tabs, CRLF and a BOM.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

# Names that mean something to the generators' targets: Python keywords, builtins and torch's names
# (the PyTorch export), DOT keywords and Graphviz's escapes' letters (the diagram). The language
# allows every one of them as a tensor, label, block, input or network name.
HOSTILE_NAMES = (
    "class",
    "def",
    "import",
    "lambda",
    "return",
    "self",
    "super",
    "torch",
    "nn",
    "F",
    "forward",
    "__init__",
    "__class__",
    "__dict__",
    "None",
    "print",
    "exec",
    "eval",
    "os",
    "sys",
    "node",
    "edge",
    "graph",
    "digraph",
    "subgraph",
    "strict",
    "cluster_0",
    "_",
    "__",
    "N",
    "G",
    "L",
    "T",
    "training",
    "state_dict",
    "to",
    "cuda",
    "parameters",
    "modules",
    "add_module",
    "x_",
    "Sequential",
)
ACTIVATIONS = (
    "relu",
    "relu6",
    "gelu",
    "silu",
    "sigmoid",
    "tanh",
    "hardswish",
    "hardsigmoid",
    "elu",
    "identity",
    "leaky_relu(0.1)",
    "gelu(approximate='tanh')",
    "relu(inplace=true)",
    "dropout(0.1)",
    "dropout(p=0.25)",
)
FEATURE_ONLY = ("softmax", "log_softmax(dim=1)")


@dataclass(frozen=True)
class Tensor:
    name: str
    channels: int
    spatial: tuple[int, ...] | None  # None once flattened: a vector of `channels` features
    exact: bool = True  # False once a layer whose shape the generator does not follow was applied


@dataclass(frozen=True)
class Block:
    """A generated block: its text and how it changes the channels of its input (None: keeps them)."""

    name: str
    text: str
    call: str  # a format string taking c
    channels: str  # "same", "c", "2c": what comes out
    needs_channels_c: bool = False  # its residual add needs the input to have c channels


class ProgramGenerator:
    """One program per call to program(); all choices come from `rng`."""

    def __init__(self, rng: random.Random, *, hostile: bool = False):
        self.rng = rng
        self.hostile = hostile  # names drawn from HOSTILE_NAMES where the program allows any name

    # the program --------------------------------------------------------------
    def program(self) -> str:
        rng = self.rng
        self.lines: list[str] = []
        self.labels = 0
        self.tensors: list[Tensor] = []
        self.used: set[str] = set()
        self.constants: dict[str, object] = {}
        self.blocks: list[Block] = []
        self.pool = list(HOSTILE_NAMES) if self.hostile else []
        rng.shuffle(self.pool)
        if rng.random() < (0.8 if self.hostile else 0.3):
            self.lines.append(f"network {self._name(self._ident('net'))}")
        if rng.random() < 0.3:
            self.lines.append(f"set rounding = {rng.choice(['pytorch', 'caffe', 'tensorflow'])}")
        if rng.random() < 0.15:
            self.lines.append(f"set layout = {rng.choice(['NCHW', 'NHWC'])}")
        self._constants()
        for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
            self._block()
        for _ in range(rng.choice((1, 1, 1, 2))):
            self._input()
        for _ in range(rng.randint(1, 6)):
            self._statement()
        self._outputs()
        return self._layout("\n".join(self.lines) + "\n")

    def _name(self, usual: str) -> str:
        """A hostile name, each used once, while they last and the dice say so; else the usual one."""
        if self.pool and self.rng.random() < 0.7:
            return self.pool.pop()
        return usual

    def _ident(self, stem: str) -> str:
        return f"{stem}{self.rng.randint(0, 99)}" if self.rng.random() < 0.5 else stem

    def _constants(self) -> None:
        rng = self.rng
        if rng.random() < 0.5:
            width = rng.choice((4, 8, 16))
            self.lines.append(f"const width = {width}")
            self.constants["width"] = width
            if rng.random() < 0.5:
                self.lines.append("const wide = width * 2")
                self.constants["wide"] = width * 2
        if rng.random() < 0.3:
            flag = rng.choice((True, False))
            self.lines.append(f"const use_norm = {'true' if flag else 'false'}")
            self.constants["use_norm"] = flag

    # expressions --------------------------------------------------------------
    def int_expr(self, value: int) -> str:
        """Text that evaluates to `value`: a literal, arithmetic, a constant or a conditional."""
        rng = self.rng
        for name, known in self.constants.items():
            if known == value and not isinstance(known, bool) and rng.random() < 0.5:
                return name
        roll = rng.random()
        if roll < 0.6 or value < 2:
            return str(value)
        if roll < 0.7:
            return f"{value // 2} * 2" if value % 2 == 0 else f"{value - 1} + 1"
        if roll < 0.78:
            return f"{value * 2} // 2"
        if roll < 0.84:
            return f"{value * 3} / 3"
        if roll < 0.9:
            return f"({value + 2} - 2)"
        if roll < 0.95:
            return f"{value} if true else {value + 1}"
        return f"{value + 7} - 7 if 2 > 1 and not false else 0"

    def _condition(self, value: bool) -> str:
        if "use_norm" in self.constants and self.constants["use_norm"] == value and self.rng.random() < 0.5:
            return "use_norm"
        return (
            self.rng.choice(("true", "1 == 1", "2 >= 1", "not false"))
            if value
            else self.rng.choice(("false", "1 != 1", "3 < 2", "true and false"))
        )

    # blocks ---------------------------------------------------------------------
    def _block(self) -> None:
        rng = self.rng
        name = self._name(f"blk{len(self.blocks)}_{rng.randint(0, 9)}")
        shape = rng.choice(("cbr", "res", "branch", "stack", "gate", "computed", "bare"))
        if shape == "cbr":
            text = f"block {name}(c, k=3) = conv(c, k, p=k // 2, bias=false) -> bn -> relu"
            block = Block(name, text, name + "({c})", "c")
        elif shape == "res":
            text = (
                f"block {name}(c) {{\n"
                f"    y = in -> conv(c, 3, p=1, bias=false) -> bn -> relu\n"
                f"         -> conv(c, 3, p=1)\n"
                f"    out = add(y, in) -> relu\n"
                f"}}"
            )
            block = Block(name, text, name + "({c})", "c", needs_channels_c=True)
        elif shape == "branch":
            text = (
                f"block {name}(c, pool=false) {{\n"
                f"    a = in -> conv(c, 1)\n"
                f"    b = in -> conv(c, 3, p=1) -> relu\n"
                f"    out = concat(a, b) -> maxpool(3, s=1, p=1) if pool\n"
                f"}}"
            )
            block = Block(name, text, name + "({c}, pool=" + rng.choice(("true", "false")) + ")", "2c")
        elif shape == "stack":
            text = f"block {name}(c, n=2) = (conv(c, 3, p=1) -> relu) * n"
            block = Block(name, text, name + "({c}, n=" + str(rng.randint(1, 3)) + ")", "c")
        elif shape == "bare":
            # no parameters: defined and called without parentheses (or with them)
            if rng.random() < 0.5:
                text = f"block {name} = relu -> identity"
            else:
                text = f"block {name} {{\n    g = in -> sigmoid\n    out = mul(in, g)\n}}"
            block = Block(name, text, name + rng.choice(("", "", "()")), "same")
        elif shape == "computed":
            # a block that computes: its input's shape, a constant, the functions
            expand = rng.choice(("2", "4", "0.5", "1.5"))
            text = (
                f"block {name}(c, expand={expand}) {{\n"
                f"    const hidden = make_divisible(in.shape[1] * expand, {rng.choice((1, 4, 8))})\n"
                f"    r = in -> conv(max(hidden, 1), 1) -> relu -> conv(c, 1)\n"
                f"    out = r -> add(in) if c == in.shape[1] and min(in.shape[-1], 2) > 0\n"
                f"}}"
            )
            block = Block(name, text, name + "({c})", "c")
        else:
            text = (
                f"block {name}(c) {{\n"
                f"    a, b = in -> conv(2 * c, 1) -> chunk(2)\n"
                f"    g = b -> sigmoid\n"
                f"    out = a -> mul(g)\n"
                f"}}"
            )
            block = Block(name, text, name + "({c})", "c")
        self.blocks.append(block)
        self.lines.append(text)

    # inputs ---------------------------------------------------------------------
    def _input(self) -> None:
        rng = self.rng
        name = self._name(f"x{len(self.tensors)}" if rng.random() < 0.7 else rng.choice(("image", "tokens", "volume")))
        if any(t.name == name for t in self.tensors):
            name = f"in{len(self.tensors)}"
        rank = rng.choice((1, 2, 2, 2, 2, 3))
        size = {1: (16, 32, 64), 2: (8, 16, 32), 3: (4, 8)}[rank]
        channels = rng.choice((1, 3, 4, 8))
        spatial = tuple(rng.choice(size) for _ in range(rank))
        dims = " x ".join(str(d) for d in (channels, *spatial))
        option = f", batch={rng.choice((1, 2, 8))}" if rng.random() < 0.15 else ""
        if rng.random() < 0.1:
            option += ", layout=channels"  # the default, said
        if rng.random() < 0.08:
            # token ids, read by an embedding: L ids give an L x D tensor, which the rest reads as C x L
            length, dim = rng.choice((8, 16)), rng.choice((4, 8))
            self.lines.append(f"input {name}: {length}, dtype=long{option}")
            embedded = self._name(f"e{len(self.tensors)}")
            self.lines.append(f"{embedded} = {name} -> embedding({rng.choice((10, 100))}, {dim})")
            self.used.add(name)
            self.tensors.append(Tensor(embedded, length, (dim,)))
            return
        self.lines.append(f"input {name}: {dims}{option}")
        self.tensors.append(Tensor(name, channels, spatial))

    # statements -----------------------------------------------------------------
    def _statement(self) -> None:
        rng = self.rng
        source = rng.choice(self.tensors)
        roll = rng.random()
        if roll < 0.12:
            self._merge(source)
            return
        if roll < 0.2 and source.channels % 2 == 0 and source.channels >= 2:
            self._chunk(source)
            return
        if roll < 0.26 and source.exact:
            self._param(source)
            return
        if roll < 0.3 and source.exact and source.spatial is not None and len(source.spatial) == 1:
            # a matmul written as a merge: C x L times its transpose gives C x C
            name = self._name(f"t{len(self.tensors)}")
            self.lines.append(f"{name} = matmul({source.name}, {source.name}, transpose_b=true)")
            self.used.add(source.name)
            self.tensors.append(Tensor(name, source.channels, (source.channels,)))
            return
        name = self._name(f"t{len(self.tensors)}")
        elements, result = self._chain(source, rng.randint(1, 6))
        self.used.add(source.name)
        self.lines.append(f"{name} = {source.name}" + self._join(elements))
        self.tensors.append(Tensor(name, result.channels, result.spatial, result.exact))

    def _join(self, elements: list[str]) -> str:
        out = ""
        for element in elements:
            if self.rng.random() < 0.15:
                out += "\n    -> " + element  # a continuation line
            elif self.rng.random() < 0.05:
                out += " ->  # a comment after an arrow\n    " + element
            else:
                out += " -> " + element
        return out

    def _merge(self, source: Tensor) -> None:
        rng = self.rng
        left, left_t = self._chain(source, rng.randint(1, 2), keep_shape=True)
        a, b = self._name(f"t{len(self.tensors)}a"), self._name(f"t{len(self.tensors)}b")
        self.lines.append(f"{a} = {source.name}" + self._join(left))
        self.lines.append(f"{b} = {source.name} -> {rng.choice(ACTIVATIONS)}")
        kind = rng.choice(("add", "mul", "concat", "arrow", "gate"))
        name = self._name(f"t{len(self.tensors)}")
        channels = left_t.channels
        if kind == "gate" and left_t.spatial is not None:
            # a squeeze-and-excitation gate: a broadcast merge (its receptive field is the whole input)
            g = self._name(f"t{len(self.tensors)}g")
            self.lines.append(f"{g} = {a} -> adaptive_avgpool(1) -> sigmoid")
            self.lines.append(f"{name} = mul({a}, {g})")
            self.used.add(g)
        elif kind == "concat" and left_t.spatial is not None:
            self.lines.append(f"{name} = concat({a}, {b})")
            channels = left_t.channels + source.channels
        elif kind == "arrow":
            self.lines.append(f"{name} = {a} -> add({b}) -> relu")
        else:
            self.lines.append(f"{name} = {'mul' if kind == 'mul' else 'add'}({a}, {b})")
        self.used.update((source.name, a, b))
        self.tensors.append(Tensor(name, channels, left_t.spatial, left_t.exact and source.exact))

    def _param(self, source: Tensor) -> None:
        """A learnable tensor merged into a tensor: per channel (`C x 1 x 1`, a layer scale) or of its full shape."""
        rng = self.rng
        name = self._name(f"p{len(self.tensors)}")
        full = (source.channels, *(source.spatial or ()))
        sizes = full if rng.random() < 0.5 else (source.channels, *(1 for _ in source.spatial or ()))
        dims = " x ".join(str(d) for d in sizes)
        option = f", init={rng.choice(('0.5', '1e-6', '1'))}" if rng.random() < 0.3 else ""
        self.lines.append(f"param {name}: {dims}{option}")
        out = self._name(f"t{len(self.tensors)}")
        merge = rng.choice(("add", "mul"))
        if rng.random() < 0.5:
            self.lines.append(f"{out} = {source.name} -> {merge}({name})")
        else:
            self.lines.append(f"{out} = {merge}({name}, {source.name})")
        self.used.update((source.name, name))
        self.tensors.append(Tensor(out, source.channels, source.spatial, source.exact))

    def _chunk(self, source: Tensor) -> None:
        a, b = self._name(f"t{len(self.tensors)}p"), self._name(f"t{len(self.tensors)}q")
        self.lines.append(f"{a}, {b} = {source.name} -> chunk(2)")
        name = self._name(f"t{len(self.tensors)}")
        self.lines.append(f"{name} = {a} -> mul({b})" if self.rng.random() < 0.5 else f"{name} = add({a}, {b})")
        self.used.update((source.name, a, b))
        self.tensors.append(Tensor(name, source.channels // 2, source.spatial, source.exact))

    def _outputs(self) -> None:
        rng = self.rng
        unused = [t for t in self.tensors if t.name not in self.used]
        if not unused or rng.random() < 0.3:
            source = self.tensors[-1]
            elements, _ = self._chain(source, rng.randint(1, 3))
            self.used.add(source.name)
            self.lines.append(f"output logits = {source.name}" + self._join(elements))
            unused = [t for t in unused if t.name != source.name]
        if unused and rng.random() < 0.8:
            self.lines.append("output " + ", ".join(t.name for t in unused))

    # chains ---------------------------------------------------------------------
    def _chain(self, tensor: Tensor, length: int, keep_shape: bool = False) -> tuple[list[str], Tensor]:
        elements = []
        for _ in range(length):
            text, tensor = self._element(tensor, keep_shape)
            elements.append(text)
        return elements, tensor

    def _element(self, t: Tensor, keep_shape: bool) -> tuple[str, Tensor]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.08:
            # a labelled group, sometimes repeated or conditional
            inner, out = self._chain(t, rng.randint(1, 3), keep_shape=True)
            text = "(" + " -> ".join(inner) + ")"
            if rng.random() < 0.3:
                text = "(\n        " + "\n        -> ".join(inner) + "\n    )"
            if out == t and ":" not in text and rng.random() < 0.4:  # labels inside a repeat clash
                count = self.int_expr(rng.randint(1, 3))
                text += f" * {count}" if count.isdigit() or count.isidentifier() else f" * ({count})"
            return self._label() + text, out
        if roll < 0.1 and t.spatial is not None:
            # a repeat whose copies read their index: a dilation schedule that keeps the shape
            n = rng.randint(1, 3)
            step = rng.choice(("ri + 1", "2 * ri + 1", "(ri % 2) + 1"))
            return f"(conv({t.channels}, 3, p={step}, d={step}) * {n} as ri)", t
        if roll < 0.14:
            inner, out = self._layer(t, keep_shape=True)
            if out.channels == t.channels and out.spatial == t.spatial and rng.random() < 0.7:
                return f"{inner} * {rng.randint(1, 3)}", out
            return inner, out
        if roll < 0.2:
            inner, out = self._layer(t, keep_shape=True)
            if out.channels == t.channels and out.spatial == t.spatial:
                taken = rng.random() < 0.5
                return f"{inner} if {self._condition(taken)}", out
            return inner, out
        if roll < 0.3 and self.blocks and t.spatial is not None:
            return self._block_call(t, keep_shape)
        text, out = self._layer(t, keep_shape)
        if rng.random() < 0.1:
            text = self._label() + text
        return text, out

    def _label(self) -> str:
        self.labels += 1
        return f"{self._name(f'stage{self.labels}')}: "

    def _block_call(self, t: Tensor, keep_shape: bool) -> tuple[str, Tensor]:
        rng = self.rng
        block = rng.choice(self.blocks)
        if block.needs_channels_c or keep_shape:
            c = t.channels
        else:
            c = rng.choice((4, 8, 16))
        if keep_shape and block.channels == "2c":
            return self._layer(t, keep_shape)
        channels = {"c": c, "2c": 2 * c, "same": t.channels}[block.channels]
        return block.call.format(c=self.int_expr(c)), Tensor(t.name, channels, t.spatial, t.exact)

    def _layer(self, t: Tensor, keep_shape: bool) -> tuple[str, Tensor]:
        """One layer applied to t: its text and the tensor that comes out."""
        rng = self.rng
        if t.spatial is None:
            return self._feature_layer(t, keep_shape)
        options = ["act", "act", "norm", "conv"]
        if not keep_shape:
            options += ["conv", "conv_resize", "pool", "upsample", "flatten", "adaptive", "transpose", "other"]
            if len(t.spatial) == 2 and t.channels % 4 == 0:
                options.append("shuffle")
        choice = rng.choice(options)
        c, spatial = t.channels, t.spatial
        if choice == "act":
            return rng.choice(ACTIVATIONS), t
        if choice == "norm":
            groups = [g for g in (1, 2, 4) if c % g == 0]
            text = rng.choice(
                (
                    "bn",
                    "batchnorm(eps=0.001)",
                    f"groupnorm({rng.choice(groups)})",
                    "instancenorm",
                    "bn(momentum=0.01, affine=false)",
                )
            )
            return text, t
        if choice == "conv":
            out = c if keep_shape else rng.choice((c, 4, 8, 16))
            k = rng.choice((1, 3, 5))
            forms = [
                f"conv({self.int_expr(out)}, {k}, p={self.int_expr(k // 2)})",
                f"conv(out={out}, k={k}, padding={k // 2}, bias=false)",
                f"conv({out}, kernel={k}, p=same)",
                f"conv{len(spatial)}d({out}, {k}, 1, {k // 2})",
            ]
            if out % 2 == 0 and c % 2 == 0:
                forms.append(f"conv({out}, {k}, p={k // 2}, g=2)")
            if k == 3 and len(spatial) == 2:
                forms.append(f"conv({out}, 3x1, p=(1, 0)) -> conv({out}, (1, 3), p=(0, 1))")
            return rng.choice(forms), Tensor(t.name, out, spatial, t.exact)
        if choice == "conv_resize":
            out = rng.choice((4, 8, 16))
            if all(s % 2 == 0 and s >= 4 for s in spatial):
                return f"conv({out}, 3, s=2, p=1, bias=false)", Tensor(
                    t.name, out, tuple(s // 2 for s in spatial), t.exact
                )
            k = rng.choice((1, 3))
            return f"conv({out}, {k})", Tensor(
                t.name, out, tuple(s - k + 1 for s in spatial), t.exact and min(spatial) >= k
            )
        if choice == "pool":
            if all(s % 2 == 0 and s >= 2 for s in spatial):
                return rng.choice(
                    ("maxpool(2)", "avgpool(2)", "maxpool(kernel=2, stride=2)", "avg_pool(2, s=2)")
                ), Tensor(t.name, c, tuple(s // 2 for s in spatial), t.exact)
            return "maxpool(3, s=1, p=1)", t
        if choice == "upsample":
            if max(spatial) <= 32:
                return rng.choice(("upsample(2)", "upsample(scale=2.0)", "upsample(2, mode='nearest')")), Tensor(
                    t.name, c, tuple(2 * s for s in spatial), t.exact
                )
            return "identity", t
        if choice == "transpose":
            out = rng.choice((4, 8))
            if max(spatial) <= 32:
                return f"conv_transpose({out}, 2, s=2)", Tensor(t.name, out, tuple(2 * s for s in spatial), t.exact)
            return f"conv({out}, 1)", Tensor(t.name, out, spatial, t.exact)
        if choice == "adaptive":
            return rng.choice(("adaptive_avgpool(1)", "global_avgpool", "adaptive_maxpool(1)")), Tensor(
                t.name, c, tuple(1 for _ in spatial), t.exact
            )
        if choice == "flatten":
            features = c
            for s in spatial:
                features *= s
            return "flatten", Tensor(t.name, features, None, t.exact)
        if choice == "shuffle":
            return "pixel_shuffle(2)", Tensor(t.name, c // 4, tuple(2 * s for s in spatial), t.exact)
        # layers whose shape the generator does not follow: later layers may disagree with them
        text = rng.choice(
            (
                "pad(1)",
                "crop(size=2)",
                "center_crop(size=4)",
                "upsample(size=7)",
                "flatten(2)",
                "reshape((4, -1))",
                "maxpool(3, s=2, round=floor)",
                "avgpool(2, ceil=true)",
                "conv(8, 3, d=2, p=2)",
                "layernorm",
                # what the trust review found wrong: padding on one axis (Caffe clips both),
                # kernels larger than small inputs, strided dilated windows, negative padding
                "maxpool((1, 2), s=(2, 1), p=(0, 1))",
                "avgpool(5, p=2)",
                "avgpool(2, p=1)",
                "conv(4, 2, s=2, d=2)",
                "conv(4, 2, s=2, d=3, p=1)",
                "pad((3, -3))",
                "bn(track_running_stats=false)",
            )
        )
        return text, Tensor(t.name, c, spatial, False)

    def _feature_layer(self, t: Tensor, keep_shape: bool) -> tuple[str, Tensor]:
        rng = self.rng
        if keep_shape or rng.random() < 0.4:
            return rng.choice(ACTIVATIONS + FEATURE_ONLY), t
        out = rng.choice((10, 16, 100))
        form = rng.choice(
            (
                f"linear({self.int_expr(out)})",
                f"fc({out}, bias=false)",
                f"linear(out={out})",
                f"dense({out}, in_features={t.channels})",
            )
        )
        return form, Tensor(t.name, out, None, t.exact)

    # layout ---------------------------------------------------------------------
    def _layout(self, text: str) -> str:
        """The same program, laid out differently: none of this may change its meaning."""
        rng = self.rng
        if rng.random() < 0.2:
            text = "# a generated network\n\n" + text.replace("\n", "\n# a comment line\n", rng.randint(0, 3))
        if rng.random() < 0.1:
            text = text.replace("    ", "\t")
        if rng.random() < 0.1:
            text = re.sub(r"(?<=\S) -> ", " \\\n    -> ", text, count=1)  # a backslash continuation
        if rng.random() < 0.1:
            text = text.replace("\n", "\r\n")
        if rng.random() < 0.05:
            text = "\ufeff" + text
        if rng.random() < 0.1:
            text = text.rstrip("\n")  # no final line break
        return text


def generate(seed: int, *, hostile: bool = False) -> str:
    """The program of one seed: the same text on every machine and run."""
    return ProgramGenerator(random.Random(seed), hostile=hostile).program()
