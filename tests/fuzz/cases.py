"""The cases: generated, near-valid and mutated programs, each made again from its id alone.

An id is `category:number`; the same id gives the same bytes on every machine,
so a failure found by the soak run can be replayed (`benchmarks/soak.py --replay ID`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from .generate import generate
from .mutate import mutate

ROOT = Path(__file__).resolve().parents[2]
# Every convdsl file in the repository: the zoo, the library files, every fixture and golden input.
CORPUS = tuple(
    sorted(
        [
            *(ROOT / "examples").glob("*.cdsl"),
            *(ROOT / "tests" / "fixtures").rglob("*.cdsl"),
            *(ROOT / "tests" / "golden").glob("*.cdsl"),
        ],
        key=str,
    )
)
# Generated programs are loaded as if they sat in examples/, so an include a mutation adds can resolve.
GENERATED_PATH = str(ROOT / "examples" / "generated.cdsl")
# File names a network takes its default name from: quotes, markup, escapes, code, line breaks.
HOSTILE_STEMS = (
    'we"ird\\N <b>&amp;{x}',
    "net'); import os; ('",
    '"""; print(1); """',
    "line\nbreak",
    "tab\there",
    "ünïcødé ✓ 中文",
    "]; evil [image=passwd",
    "-rf --output=x",
    " spaced ",
    "class",
)
CATEGORIES = ("generated", "near_valid", "mutated")


@dataclass(frozen=True)
class Case:
    id: str
    data: bytes
    path: str  # the name it is loaded under; includes resolve from its folder
    consistency: bool  # also check that results repeat exactly (costs a second analysis)
    reload: bool = False  # and that loading the text again gives them too (costs a second parse)
    mutations: tuple[str, ...] = ()


def make(case_id: str) -> Case:
    category, number = case_id.split(":")
    index = int(number)
    if category == "generated":
        # one program in three uses hostile names; one in ten also comes from a hostile file name
        path = GENERATED_PATH if index % 10 else str(ROOT / "examples" / f"{HOSTILE_STEMS[index // 10 % 10]}.cdsl")
        return Case(
            case_id,
            generate(index, hostile=index % 3 == 0).encode("utf-8"),
            path,
            consistency=True,
            reload=index % 8 == 0,
        )
    rng = random.Random(case_id)
    if category == "near_valid":
        data, applied = mutate(generate(1_000_000 + index).encode("utf-8"), rng)
        return Case(case_id, data, GENERATED_PATH, consistency=index % 4 == 0, mutations=applied)
    if category == "mutated":
        origin = CORPUS[index % len(CORPUS)]
        data, applied = mutate(origin.read_bytes(), rng)
        return Case(case_id, data, str(origin), consistency=index % 4 == 0, mutations=applied)
    raise ValueError(f"unknown case category {category!r}")


def ids(category: str, start: int, count: int):
    return (f"{category}:{n}" for n in range(start, start + count))
