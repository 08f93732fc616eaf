"""Which edit a new text is of the old one: one number written over another, spaces typed or taken out
between two tokens, text typed in a comment, or white space and comments across lines (trivia_change).

Found on the texts alone: the longest common start and end, and the changed stretch between them widened to
the whole run of digits it is in. The texts are `Source` texts (line breaks normalised), so lines and columns
are those of the spans lowering wrote.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..frontend import comment_start, string_at

# Larger numbers are analysed whole: a value this size is a layer's channels, kernel or stride, and any
# limit a size meets (2^53 elements) is checked by inference either way.
MAX_VALUE = 1_000_000
MAX_SCANNED = 10_000  # characters of a line before an edit in its comment, beyond which it is analysed whole


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
        """A span of the old text as it is in the new one: columns at or after the old number's end move (a
        span that ends with the number ends with the new one)."""
        return _shifted(span, self.line, self.delta, self.end_column, self.end_column)


@dataclass(frozen=True)
class SpaceEdit:
    """Spaces (or tabs) typed or taken out on one line where no token begins, ends or changes: `conv(64,3)` ->
    `conv(64, 3)`, `-> relu` -> `-> relu ` (what follows moves, and the text means what it meant)."""

    line: int  # 1-based
    column: int  # 1-based, where the changed spaces begin (before and after)
    end_column: int  # where they ended in the old text (exclusive)
    delta: int  # how far what follows them on the line moved

    def shift(self, span):
        """A span of the old text as it is in the new one: one that begins at or after the old spaces' end
        moves; one that ends after their beginning ends later (no token ends inside spaces, and one that ends
        where spaces are typed stays as it was)."""
        return _shifted(span, self.line, self.delta, self.end_column, self.column + 1)


def _shifted(span, line: int, delta: int, starts: int, ends: int):
    """The span with what lies on `line` moved by `delta`: its start if it is at or after column `starts`, its
    end if it is at or after column `ends`; the span itself where nothing moves."""
    if span.line != line and span.end_line != line:
        return span
    column, end_column = span.column, span.end_column
    if span.line == line and column >= starts:
        column += delta
    if span.end_line == line and end_column >= ends:
        end_column += delta
    if column == span.column and end_column == span.end_column:
        return span
    return type(span)(span.path, span.line, column, span.end_line, end_column)


@dataclass(frozen=True)
class Change:
    """Where two texts differ, within one line: old[start:old_end] became new[start:new_end]."""

    start: int
    old_end: int
    new_end: int


def _stretch(old: str, new: str) -> Change:
    """Where `old` and `new` (not equal) differ: between their longest common start and end, compared a chunk
    at a time."""
    start = _common_start(old, new)
    end = _common_end(old, new, min(len(old), len(new)) - start)
    return Change(start, len(old) - end, len(new) - end)


def changed(old: str, new: str) -> Change | None:
    """What changed from `old` to `new`, or None where nothing did or a line break did."""
    if old == new:
        return None
    change = _stretch(old, new)
    if "\n" in old[change.start : change.old_end] or "\n" in new[change.start : change.new_end]:
        return None
    return change


def trivia_change(old: str, new: str) -> Change | None:
    """What changed from `old` to `new` if it is white space and comments only, line breaks included, in both
    texts: the Enter key, a continued line joined to the one before, a line's indentation, a comment line
    typed (its `#` too), pasted or deleted; else None."""
    if old == new:
        return None
    change = _stretch(old, new)
    if not (_trivia(old, change.start, change.old_end) and _trivia(new, change.start, change.new_end)):
        return None
    return change


_BLANK = frozenset(" \t\n")


def _trivia(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] is white space and comments only: no part of it before a line's `#` (outside
    strings) is anything but spaces and tabs outside strings."""
    if "#" not in text[start:end] and _BLANK.issuperset(text[start:end]):
        # white space alone (the Enter key, an indentation): in a string only if it begins in one, on its
        # first line (a string does not go on past a line's end)
        if start == end:
            return True
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", start)
        line_end = len(text) if line_end == -1 else line_end
        hash_at = comment_start(text, line_start, line_end)
        return (hash_at is not None and hash_at < start) or not string_at(text, line_start, line_end, start)
    position = start
    while position < end:
        line_start = text.rfind("\n", 0, position) + 1
        line_end = text.find("\n", position)
        if line_end == -1:
            line_end = len(text)
        hash_at = comment_start(text, line_start, line_end)
        code_end = min(end, line_end if hash_at is None else hash_at)
        if position < code_end and (
            not _SPACE.issuperset(text[position:code_end]) or string_at(text, line_start, line_end, position)
        ):
            return False  # a token, or spaces in a string (its text)
        position = line_end + 1  # past the line break, which is white space
    return True


def comment_edit(old: str, change: Change) -> bool:
    """Whether the change (`changed`'s) of `old` is inside one comment only (after its `#`)."""
    line_start = old.rfind("\n", 0, change.start) + 1
    if change.start - line_start > MAX_SCANNED:
        return False  # a line this long is analysed whole
    line_end = old.find("\n", change.start)
    hash_at = comment_start(old, line_start, len(old) if line_end == -1 else line_end)
    return hash_at is not None and hash_at < change.start


def number_edit(old: str, new: str, change: Change) -> NumberEdit | None:
    """The edit from `old` to `new` (`change`, changed's) if it replaces one whole number (digits only) by
    another, else None."""
    first = change.start
    while first > 0 and _digit(old[first - 1]):
        first -= 1
    old_end = change.old_end
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


# where spaces may appear or vanish altogether next to it: no token joins it, or is split by it
_APART = frozenset("()[],\n")
_SPACE = frozenset(" \t")


def space_edit(old: str, new: str, change: Change) -> SpaceEdit | None:
    """The edit from `old` to `new` (`change`, changed's) if it types or takes out spaces only, between two
    tokens of a line (not its indentation, not in a string); else None. Where the spaces between two tokens
    appear or vanish altogether, one of them must be a bracket, a comma or the line's end: elsewhere two
    tokens could join (`con v`, `- >`)."""
    start, old_end, new_end = change.start, change.old_end, change.new_end
    if not (_SPACE.issuperset(old[start:old_end]) and _SPACE.issuperset(new[start:new_end])):
        return None
    line_start = old.rfind("\n", 0, start) + 1
    if start - line_start > MAX_SCANNED:
        return None  # a line this long is analysed whole
    first = start
    while first > line_start and old[first - 1] in _SPACE:
        first -= 1
    if first == line_start:
        return None  # the line's indentation
    last = old_end
    while last < len(old) and old[last] in _SPACE:
        last += 1
    delta = new_end - old_end
    run = last - first
    if run == 0 or run + delta == 0:
        after = old[last] if last < len(old) else "\n"
        if old[first - 1] not in _APART and after not in _APART:
            return None
    line_end = old.find("\n", start)
    if string_at(old, line_start, len(old) if line_end == -1 else line_end, first):
        return None  # inside a string: its text
    return SpaceEdit(old.count("\n", 0, start) + 1, start - line_start + 1, old_end - line_start + 1, delta)


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
