"""records.frozen: a frozen dataclass with slots in every respect but how __init__ stores the fields."""

from __future__ import annotations

import dataclasses

import pytest

from convdsl.records import frozen
from convdsl.source import Span


@frozen
class Point:
    x: int
    y: int = 7
    tags: tuple = ()


def test_behaves_as_a_frozen_dataclass():
    p = Point(1)
    assert (p.x, p.y, p.tags) == (1, 7, ())
    assert p == Point(1, 7) and p != Point(1, 8) and hash(p) == hash(Point(1, 7))
    assert repr(p) == "Point(x=1, y=7, tags=())"
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.x = 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        del p.y
    assert dataclasses.replace(p, y=3) == Point(1, 3)
    assert Point(x=4, tags=("a",)).tags == ("a",)
    assert not hasattr(p, "__dict__") and Point.__slots__ == ("x", "y", "tags")
    with pytest.raises(TypeError):
        Point()  # x is required
    with pytest.raises(TypeError):
        Point(1, 2, (), 4)


def test_refuses_fields_it_cannot_store_plainly():
    with pytest.raises(TypeError):

        @frozen
        class WithFactory:
            items: list = dataclasses.field(default_factory=list)

    with pytest.raises(TypeError):

        @frozen
        class WithPostInit:
            x: int

            def __post_init__(self):
                pass


def test_spans_are_records():
    span = Span("a.cdsl", 1, 2, 1, 5)
    assert span == Span("a.cdsl", 1, 2, 1, 5) and {span: 1}[Span("a.cdsl", 1, 2, 1, 5)] == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        span.line = 3
