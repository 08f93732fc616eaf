"""Generators of hostile inputs, by class (issue 14): encodings, names, nesting of blocks and of
includes, huge numbers and symbolic chains. Each case is made again from its seed alone.

A case is a main file and the files it includes, with names that may themselves be
hostile; tests/test_hostile.py writes them to a folder and holds convdsl to its promises.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

CLASSES = ("encodings", "names", "blocks", "includes", "numbers", "symbolic")

# Text that must stay inert wherever it goes: terminal escapes (erase, title, OSC 52 clipboard),
# line breaks of every kind, bidi overrides, XML-forbidden noncharacters, quotes and code.
NASTY = (
    "\x1b[2J",
    "\x1b]0;pwned\x07",
    "\x1b]52;c;cHduZWQ=\x07",
    "\x9b31m",
    "\r",
    "\x0b",
    "\x0c",
    "\x85",
    "\u2028",
    "\u2029",
    "\u202e",
    "\u2066",
    "\ufeff",
    "\uffff",
    "\ufffe",
    "\ufdd0",
    "\x00",
    "\x7f",
    '"""',
    "'",
    "\\",
    "\\N",
    "]]>",
    "<!--",
    "&amp;",
    "+AAo-",
    "coding=utf-7",
    "coding:unicode_escape",
    "__import__('os')",
    "{x}",
    "%s",
    "\U0010ffff",
)
NAME_PARTS = (
    "coding=utf-7",
    "coding:latin-1",
    "-*- coding: unicode_escape -*-",
    "\x1b[31m",
    "\u202e",
    "\uffff",
    "net",
    "ünï",
    "a b",
    "'",
    '"',
    "$(x)",
    "..",
    "--",
    "\\",
    "%0A",
    "::error ",
)
IDENTIFIERS = (
    "__k",
    "__init__",
    "_B__k",
    "__",
    "___",
    "class",
    "self",
    "super",
    "torch",
    "nn",
    "F",
    "forward",
    "training",
    "in_channels",
    "x",
    "out_",
    "print",
    "__import__",
    "__class__",
    "None",
)


@dataclass
class HostileCase:
    name: str  # the main file's name (may hold anything but '/' and NUL)
    data: bytes
    includes: dict = field(default_factory=dict)  # relative path -> bytes
    folder: str = ""  # a subfolder (hostile name) the files go in
    cls: str = ""


def make(cls: str, seed: int) -> HostileCase:
    rng = random.Random(f"{cls}:{seed}")
    case = globals()[f"_{cls}"](rng)
    case.cls = cls
    return case


def _file_name(rng) -> str:
    parts = rng.sample(NAME_PARTS, rng.randint(1, 3))
    return "".join(parts).replace("/", "_").replace("\0", "_") + ".cdsl"  # a file name: no '/', no NUL


def _net(channels: int = 4) -> str:
    return f"input x: 3 x 16 x 16\noutput y = x -> conv({channels}, 3, p=1) -> relu\n"


def _encodings(rng) -> HostileCase:
    text = "# " + rng.choice(NASTY) + "\n" + _net()
    text = (
        text.replace("conv(4, 3, p=1)", f'conv(4, 3, padding="{rng.choice(NASTY).replace(chr(34), "")}")')
        if rng.random() < 0.5
        else text
    )
    how = rng.choice(("utf-8", "utf-8-sig", "utf-16", "utf-32", "utf-16-le", "utf-16-be-bom", "latin-1", "junk"))
    if how == "utf-16-be-bom":
        data = b"\xfe\xff" + text.encode("utf-16-be", "surrogatepass")
    elif how == "latin-1":
        data = text.encode("latin-1", "replace")
    elif how == "junk":
        raw = bytearray(text.encode("utf-8", "surrogatepass"))
        for _ in range(rng.randint(1, 4)):
            raw.insert(rng.randrange(len(raw)), rng.randrange(256))
        data = bytes(raw)
    else:
        data = text.encode(how, "surrogatepass")
    return HostileCase(_file_name(rng) if rng.random() < 0.3 else "enc.cdsl", data)


def _names(rng) -> HostileCase:
    a, b, c = rng.sample(IDENTIFIERS, 3)
    tensor = rng.choice(("t", "__t", "_t__", "class_"))
    text = (
        f"# {rng.choice(NASTY)}\ninput x: 3 x 8 x 8\n"
        f"block blk({a}, {b}=2) = conv({a}, 3, p=1) -> {c}: conv({b}, 1)\n"
        f"{tensor} = x -> blk(4) -> blk({a}=5, {b}=3)\noutput y = {tensor} -> relu\n"
    )
    return HostileCase(
        _file_name(rng),
        text.encode("utf-8", "surrogatepass"),
        folder=_file_name(rng)[:-5] if rng.random() < 0.5 else "",
    )


def _blocks(rng) -> HostileCase:
    levels = rng.randint(3, 40)
    fan = rng.randint(2, 3)
    bottom = rng.choice(("relu if false", "relu", "identity", "(relu if false) * 3"))
    lines = ["input x: 3 x 8 x 8", f"block b0() = {bottom}"]
    for i in range(1, levels + 1):
        lines.append(f"block b{i}() = " + " -> ".join([f"b{i - 1}()"] * fan))
    lines.append(f"output y = x -> b{levels}()" + (f" * {rng.randint(1, 50)}" if rng.random() < 0.3 else ""))
    return HostileCase("blocks.cdsl", ("\n".join(lines) + "\n").encode())


def _includes(rng) -> HostileCase:
    files = rng.randint(2, 12)
    fan = rng.randint(1, 5)
    includes = {}
    for i in range(files):
        targets = [f"f{rng.randint(i + 1, files)}.cdsl" for _ in range(fan)]
        if rng.random() < 0.1:
            targets.append(f"f{rng.randint(0, i)}.cdsl")  # a cycle
        if rng.random() < 0.1:
            targets.append(
                rng.choice(
                    (
                        "/etc/passwd",
                        "../../.env",
                        "/dev/stdin",
                        "/dev/zero",
                        "/proc/self/environ",
                        "..",
                        "",
                        "sub/../f1.cdsl",
                    )
                )
            )
        includes[f"f{i}.cdsl"] = ("".join(f'include "{t}"\n' for t in targets) + f"const c{i} = {i}\n").encode()
    includes[f"f{files}.cdsl"] = b"block leaf() = relu\n"
    text = 'include "f0.cdsl"\ninput x: 3 x 8 x 8\noutput y = x -> leaf()\n'
    return HostileCase("main.cdsl", text.encode(), includes)


def _numbers(rng) -> HostileCase:
    def big():
        return rng.choice((2**31, 2**53, 2**62, 2**62 + 1, 2**63, 10**30, 4611686018427387904, 2**26, 10**9, -1, 0, 1))

    layer = rng.choice(
        (
            f"conv({big()}, 3)",
            f"conv(8, {big()})",
            f"adaptive_maxpool({big()})",
            f"upsample(size={big()})",
            f"upsample(scale={big()})",
            f"linear({big()})",
            f"pad({big()})",
            f"conv_transpose(8, 3, s={big()})",
            f"relu * {big()}",
            f"chunk({big()})",
            f"maxpool({big()})",
            "upsample(scale=1e300)",
        )
    )
    dims = rng.choice(("3 x 8 x 8", f"3 x {big()} x 8", f"{big()} x 8 x 8", f"3 x {2**30} x {2**30}"))
    chain = " -> ".join([layer] * rng.randint(1, 3))
    return HostileCase(
        "numbers.cdsl",
        f"input x: {dims}\noutput y = x -> flatten -> {chain}\n".encode()
        if "linear" in layer
        else f"input x: {dims}\noutput y = x -> {chain}\n".encode(),
    )


def _symbolic(rng) -> HostileCase:
    steps = [
        rng.choice(
            (
                "conv(3, 3, s=2, p=1)",
                "upsample(scale=3)",
                "upsample(scale=2)",
                "maxpool(2)",
                "conv(3, 5, s=3)",
                "avgpool(3, s=2, ceil=true)",
                "conv_transpose(3, 3, s=2)",
                "pad(1)",
                "crop(1)",
            )
        )
        for _ in range(rng.randint(1, 6))
    ]
    repeat = rng.randint(1, 30)
    dims = rng.choice(("3 x H x 8", "3 x H x W", "3 x H x H", "C x H x W"))
    text = f"input x: {dims}\noutput y = x -> ({' -> '.join(steps)}) * {repeat}"
    if rng.random() < 0.3:
        text += " -> flatten -> chunk(2)"
    return HostileCase("symbolic.cdsl", (text + "\n").encode())
