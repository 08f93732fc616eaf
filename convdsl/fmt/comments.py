"""Where the comments are: found in the original text, since neither parser sees them."""

from __future__ import annotations

from dataclasses import dataclass

from ..frontend import _COMMENT_OR_STRING


@dataclass(frozen=True)
class Comment:
    """One `# ...` comment: its offsets in the text and its text without trailing blanks.

    trailing: code comes before it on its line (`x = a  # why`), so it stays at that
    line's end; otherwise it has a line of its own.
    """

    start: int
    end: int
    text: str
    trailing: bool


def find_comments(text: str) -> list[Comment]:
    """Every comment of a text that parses, in order.

    In such a text a '#' outside a string always starts a comment (the grammar
    has '#' nowhere else), so the frontend's comment-or-string pattern finds them all.
    """
    found = []
    if "#" not in text:
        return found
    for match in _COMMENT_OR_STRING.finditer(text):
        if match.group()[0] != "#":
            continue
        start = match.start()
        line_start = text.rfind("\n", 0, start) + 1
        before = text[line_start:start]
        found.append(
            Comment(start, match.end(), match.group().rstrip(" \t\r\f\v"), trailing=bool(before.strip(" \t\f\v\\")))
        )
    return found
