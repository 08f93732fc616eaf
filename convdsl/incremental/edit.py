"""Which edit a new text is of the old one, when it is one number written over another.

Found on the texts alone: the longest common start and end, and the changed stretch between them widened to
the whole run of digits it is in. The texts are `Source` texts (line breaks normalised), so lines and columns
are those of the spans lowering wrote.
"""

from __future__ import annotations

from dataclasses import dataclass

# Larger numbers are analysed whole: a value this size is a layer's channels, kernel or stride, and any
# limit a size meets (2^53 elements) is checked by inference either way.
MAX_VALUE = 1_000_000
MAX_SCANNED = 10_000  # characters of a line read one by one to find where its comment starts


@dataclass(frozen=True)
class NumberEdit:
    """One whole number written over another on one line: `conv(64` -> `conv(128`."""

    line: int  # 1-based
    column: int  # 1-based, of the number's first digit (before and after)
    end_column: int  # where the old number ended (exclusive)
    value: int  # the new number
    old_value: int
    delta: int  # how far what follows the number on its line moved (new length - old length)

    def shift(self, span):
        """A span of the old text as it is in the new one: columns at or after the old number's end move."""
        line, end = self.line, self.end_column
        if span.line != line and span.end_line != line:
            return span
        column, end_column = span.column, span.end_column
        if span.line == line and column >= end:
            column += self.delta
        if span.end_line == line and end_column >= end:
            end_column += self.delta
        if column == span.column and end_column == span.end_column:
            return span
        return type(span)(span.path, span.line, column, span.end_line, end_column)


def comment_edit(old: str, new: str) -> bool:
    """Whether `new` is `old` with text changed inside one comment only (after its `#`, on one line)."""
    if old == new:
        return False
    start = _common_start(old, new)
    end = _common_end(old, new, min(len(old), len(new)) - start)
    if "\n" in old[start : len(old) - end] or "\n" in new[start : len(new) - end]:
        return False
    line_start = old.rfind("\n", 0, start) + 1
    if start - line_start > MAX_SCANNED:
        return False  # a line this long is analysed whole (its `#` would be looked for a character at a time)
    hash_at = _comment_start(old, line_start, start)
    return hash_at is not None and hash_at < start


def _comment_start(text: str, start: int, stop: int) -> int | None:
    """Where the comment on the line from `start` begins, if it begins before `stop`: the first `#` outside a
    string (the grammar's strings: '...' or "...", with backslash escapes, on one line)."""
    quote = None
    index = start
    while index < stop:
        char = text[index]
        if quote is not None:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "#":
            return index
        index += 1
    return None


def number_edit(old: str, new: str) -> NumberEdit | None:
    """The edit from `old` to `new` if it replaces one whole number (digits only) by another, else None."""
    if old == new:
        return None
    start = _common_start(old, new)
    end = _common_end(old, new, min(len(old), len(new)) - start)
    if "\n" in old[start : len(old) - end] or "\n" in new[start : len(new) - end]:
        return None
    first = start
    while first > 0 and _digit(old[first - 1]):
        first -= 1
    old_end = len(old) - end
    while old_end < len(old) and _digit(old[old_end]):
        old_end += 1
    delta = len(new) - len(old)
    before, after = old[first:old_end], new[first : old_end + delta]
    if not (_number(before) and _number(after)):
        return None
    # a run of digits inside a name (`conv1`), a decimal (`0.5`, `1e3`) or a hexadecimal is not a number alone
    if (first > 0 and _joins(old[first - 1])) or (old_end < len(old) and _joins(old[old_end])):
        return None
    # no longer than the largest value taken (a string of 5,000 digits is not read as an int at all: Python
    # refuses to convert one)
    if len(after) > len(str(MAX_VALUE)) or len(before) > len(str(MAX_VALUE)):
        return None
    value = int(after)
    if value > MAX_VALUE:
        return None
    line_start = old.rfind("\n", 0, first) + 1
    line = old.count("\n", 0, first) + 1
    return NumberEdit(line, first - line_start + 1, old_end - line_start + 1, value, int(before), delta)


def _digit(char: str) -> bool:
    return "0" <= char <= "9"


def _number(text: str) -> bool:
    """Digits only, without a leading zero (as every reader of the language takes it: no octal doubt)."""
    return bool(text) and all("0" <= c <= "9" for c in text) and (text == "0" or text[0] != "0")


def _joins(char: str) -> bool:
    return char.isalnum() or char in "_.'\""


_CHUNK = 1 << 16  # compared a chunk at a time, then halved: no slice longer than this is made


def _common_start(a: str, b: str) -> int:
    """The length of the longest common start."""
    most = min(len(a), len(b))
    low = 0
    while low < most and a[low : low + _CHUNK] == b[low : low + _CHUNK]:
        low += _CHUNK
    high = min(most, low + _CHUNK)
    while low < high:  # the first difference is in [low, high]: halve
        middle = (low + high + 1) // 2
        if a[low:middle] == b[low:middle]:
            low = middle
        else:
            high = middle - 1
    return min(low, most)


def _common_end(a: str, b: str, most: int) -> int:
    """The length of the longest common end, at most `most` (it must not overlap the common start)."""
    most = max(0, most)
    low, la, lb = 0, len(a), len(b)
    while low + _CHUNK <= most and a[la - low - _CHUNK : la - low] == b[lb - low - _CHUNK : lb - low]:
        low += _CHUNK
    high = min(most, low + _CHUNK)
    while low < high:
        middle = (low + high + 1) // 2
        if a[la - middle : la - low] == b[lb - middle : lb - low]:
            low = middle
        else:
            high = middle - 1
    return low
