"""Mutations of convdsl text: tokens and lines deleted, duplicated, swapped or replaced, bytes inserted, truncation.

Each mutation takes the text as bytes (some mutations make invalid UTF-8 or
NUL bytes, which only a byte-level view can) and a seeded random.Random, and
returns new bytes. `mutate` applies one to three of them.
"""

from __future__ import annotations

import random
import re

# Whitespace and comments are kept as tokens of their own, so joining the tokens gives the text back.
_TOKEN = re.compile(
    rb"""
      [ \t]+ | \r?\n | \#[^\n]*
    | -> | // | == | != | <= | >= | \\
    | "(?:\\.|[^"\\\n])*" | '(?:\\.|[^'\\\n])*'
    | [A-Za-z_][A-Za-z0-9_]*
    | [0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][+-]?[0-9]+)?
    | [\x80-\xff]+
    | .
""",
    re.X | re.S,
)

# What a corrupted token may become: the language's own words and symbols, and values at the edges.
VOCABULARY = [
    b"network",
    b"set",
    b"const",
    b"include",
    b"input",
    b"output",
    b"block",
    b"in",
    b"out",
    b"if",
    b"else",
    b"and",
    b"or",
    b"not",
    b"true",
    b"false",
    b"tensor",
    b"batch",
    b"x",
    b"->",
    b"=",
    b",",
    b":",
    b"(",
    b")",
    b"{",
    b"}",
    b"*",
    b"//",
    b"/",
    b"%",
    b"+",
    b"-",
    b"==",
    b"<",
    b"#",
    b"\\",
    b"\n",
    b'"',
    b"'",
    b"0",
    b"-1",
    b"1",
    b"2",
    b"3",
    b"7",
    b"1.5",
    b"1e400",
    b"0.0",
    b"999999999999999999999999999999",
    b"conv",
    b"bn",
    b"relu",
    b"maxpool",
    b"linear",
    b"flatten",
    b"add",
    b"concat",
    b"chunk",
    b"split",
    b"reshape",
    b"upsample",
    b"pad",
    b"crop",
    b"groupnorm",
    b"conv_transpose",
    b"adaptive_avgpool",
    b"pixel_shuffle",
    b"same",
    b"valid",
    b"s=0",
    b"p=-1",
    b"k=0",
    b"g=3",
    b"d=0",
    b"ceil=true",
    b"round=floor",
    b'"missing.cdsl"',
    b'"../examples/resnet_blocks.cdsl"',
    b"\xc3\xa9",
    b"\xe2\x80\x8b",
    b"\t",
    b"\r",
]


def tokens(data: bytes) -> list[bytes]:
    return _TOKEN.findall(data)


def _significant(parts: list[bytes]) -> list[int]:
    return [i for i, part in enumerate(parts) if part.strip() and not part.startswith(b"#")]


def _token_mutation(kind: str):
    def mutation(data: bytes, rng: random.Random) -> bytes:
        parts = tokens(data)
        indices = _significant(parts)
        if not indices:
            return data + rng.choice(VOCABULARY)
        i = rng.choice(indices)
        if kind == "delete":
            del parts[i]
        elif kind == "duplicate":
            parts.insert(i, parts[i])
        elif kind == "swap":
            j = rng.choice(indices) if rng.random() < 0.5 else min(indices[-1], i + 2)
            parts[i], parts[j] = parts[j], parts[i]
        elif kind == "replace":
            parts[i] = rng.choice(VOCABULARY)
        elif kind == "insert":
            parts.insert(i, rng.choice(VOCABULARY) + b" ")
        return b"".join(parts)

    mutation.__name__ = f"token_{kind}"
    return mutation


# Values at the edges of what an argument accepts: where argument checks are missing, layers divide by
# zero, allocate an output per part, or round an infinity.
EDGE_NUMBERS = [
    b"0",
    b"-1",
    b"-0",
    b"0.0",
    b"-0.5",
    b"1e400",
    b"1e-400",
    b"1e300",
    b"1e18",
    b"4097",
    b"65536",
    b"1000000",
    b"4611686018427387905",
    b"99999999999999999999",
    b"0x1",
    b"1_000",
    b"3.0",
]


def replace_number(data: bytes, rng: random.Random) -> bytes:
    """A number replaced by an edge value: 0, negative, huge, infinite, not an integer."""
    parts = tokens(data)
    numbers = [i for i, part in enumerate(parts) if part[:1].isdigit()]
    if not numbers:
        return _token_mutation("replace")(data, rng)
    parts[rng.choice(numbers)] = rng.choice(EDGE_NUMBERS)
    return b"".join(parts)


def _line_mutation(kind: str):
    def mutation(data: bytes, rng: random.Random) -> bytes:
        lines = data.split(b"\n")
        i = rng.randrange(len(lines))
        if kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "swap":
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "indent":
            lines[i] = rng.choice((b"    ", b"\t", b" ")) + lines[i]
        return b"\n".join(lines)

    mutation.__name__ = f"line_{kind}"
    return mutation


def insert_bytes(data: bytes, rng: random.Random) -> bytes:
    at = rng.randint(0, len(data))
    junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
    return data[:at] + junk + data[at:]


def replace_bytes(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return insert_bytes(data, rng)
    out = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


def insert_printable(data: bytes, rng: random.Random) -> bytes:
    """One character from those that mean something in the language, where it does not belong."""
    at = rng.randint(0, len(data))
    return data[:at] + rng.choice(b"(){}[]=,:*->#\"'\\/%!<;@$`~").to_bytes(1, "big") + data[at:]


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randint(0, len(data))]


def repeat_chunk(data: bytes, rng: random.Random) -> bytes:
    """A slice of the text copied in several times: long lines and repeated definitions."""
    if not data:
        return data
    start = rng.randrange(len(data))
    chunk = data[start : start + rng.randint(1, 80)]
    return data[:start] + chunk * rng.randint(2, 40) + data[start:]


MUTATIONS = (
    _token_mutation("delete"),
    _token_mutation("duplicate"),
    _token_mutation("swap"),
    _token_mutation("replace"),
    _token_mutation("insert"),
    _token_mutation("replace"),
    _token_mutation("delete"),
    _line_mutation("delete"),
    _line_mutation("duplicate"),
    _line_mutation("swap"),
    _line_mutation("indent"),
    insert_bytes,
    replace_bytes,
    insert_printable,
    truncate,
    repeat_chunk,
    replace_number,
    replace_number,
)


def mutate(data: bytes, rng: random.Random) -> tuple[bytes, tuple[str, ...]]:
    """One to three mutations of data, and their names (for the report of a failure)."""
    applied = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        mutation = rng.choice(MUTATIONS)
        data = mutation(data, rng)
        applied.append(mutation.__name__)
    return data, tuple(applied)
