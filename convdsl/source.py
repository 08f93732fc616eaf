"""Source text and spans: where in which file a piece of syntax came from."""

from __future__ import annotations

import bisect
from array import array
from dataclasses import dataclass, field

from .records import frozen


@frozen
class Span:
    """A 1-based, end-exclusive region of one source file."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int

    def to(self, other: Span) -> Span:
        """The span from the start of this one to the end of `other`."""
        return Span(self.path, self.line, self.column, other.end_line, other.end_column)


@dataclass(frozen=True)
class AnchoredSpan(Span):
    """A place in a file without lines to point at (a binary ONNX graph): the file, and what in it, e.g.
    "node 12 `/layer1/conv1/Conv` (Conv)". Its line and column are 1; reporters show the anchor instead."""

    anchor: str = ""


@dataclass(frozen=True)
class Source:
    """The text of one file, with what is needed to show a line of it."""

    path: str
    text: str
    _line_starts: array = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # 8 bytes a line: a file of ten million blank lines must not take ten million int objects
        starts = array("q", [0])
        find = self.text.find
        index = find("\n")
        while index != -1:
            starts.append(index + 1)
            index = find("\n", index + 1)
        object.__setattr__(self, "_line_starts", starts)

    def line_text(self, line: int) -> str:
        """The text of a 1-based line, without its line break."""
        if not 1 <= line <= len(self._line_starts):
            return ""
        start = self._line_starts[line - 1]
        end = self._line_starts[line] - 1 if line < len(self._line_starts) else len(self.text)
        return self.text[start:end].rstrip("\r")

    def position(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset."""
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1

    def offset(self, line: int, column: int) -> int:
        """The character offset of a 1-based line and column (position's inverse)."""
        return self._line_starts[line - 1] + column - 1

    def span(self, start: int, end: int) -> Span:
        # The parser sees the text with a line break added at the end; a span on
        # that break would point past the file, so it ends where the file does.
        start = min(start, len(self.text))
        line, column = self.position(start)
        end_line, end_column = self.position(min(max(start, end), len(self.text)))
        return Span(self.path, line, column, end_line, end_column)
