"""Importers never crash: mutilated real files (lines dropped, numbers and words changed, text cut) give
diagnostics or a network, never an exception. Seeded, so a failure reproduces."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from convdsl.importers import load_translation, translate_source
from convdsl.source import Source

FIXTURES = Path(__file__).parent / "fixtures"
FILES = [
    FIXTURES / "realworld" / "darknet-alexeyab-yolov4-tiny.cfg",
    FIXTURES / "realworld" / "darknet-pjreddie-yolov3-tiny.cfg",
    FIXTURES / "realworld" / "caffe-bvlc_alexnet-deploy.prototxt",
    FIXTURES / "ultralytics" / "yolo11.yaml",
    FIXTURES / "ultralytics" / "yolov8.yaml",
]
REPLACEMENTS = [
    "0",
    "-1",
    "-7",
    "3",
    "99",
    "1e9",
    "nan",
    "True",
    "None",
    "",
    "[",
    "]",
    "{",
    "}",
    ":",
    "x",
    '"',
    "'",
    "#",
]


def _mutate(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    for _ in range(rng.randint(1, 4)):
        if not lines:
            break
        i = rng.randrange(len(lines))
        choice = rng.random()
        if choice < 0.3:
            del lines[i]
        elif choice < 0.5:
            lines.insert(i, lines[rng.randrange(len(lines))])
        else:
            words = lines[i].replace(",", " , ").replace("]", " ] ").split(" ")
            j = rng.randrange(len(words))
            words[j] = rng.choice(REPLACEMENTS)
            lines[i] = " ".join(words)
    if rng.random() < 0.1:
        cut = rng.randrange(len(lines) + 1)
        lines = lines[:cut]
    return "\n".join(lines)


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_mutilated_files_give_diagnostics(path):
    rng = random.Random(path.name)
    text = path.read_text()
    for _ in range(100):
        mutated = _mutate(text, rng)
        translation = translate_source(Source(path.name, mutated))
        analysis = load_translation(translation).analyze()
        for diag in analysis.diagnostics:
            assert diag.span is None or diag.span.path == path.name, diag
        if translation.text and not translation.has_errors:
            assert not [d for d in analysis.diagnostics if d.code.code == "E002"], (mutated, translation.text)
