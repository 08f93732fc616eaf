"""Text from a file, made safe to show in a terminal: control characters become visible escapes.

A name, string, path or source line may hold escape sequences that erase the
screen, set the window title or write the clipboard (OSC 52), a line break that
forges a line of output, a right-to-left override that shows code other than it
is, or a lone surrogate (an undecodable byte of a file name) that no encoder
accepts. Each of those is written as `\\xNN` or `\\uNNNN` instead.
"""

from __future__ import annotations

import re

# C0 and C1 controls but tab, DEL, bidirectional controls, line and paragraph separators, surrogates, BOM
_OTHERS = r"\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff\ufeff"
_UNSAFE_CHARACTER = re.compile(rf"[\x00-\x08\x0a-\x1f{_OTHERS}]")
# the same, but leaving alone line breaks and the colour sequences (SGR: ESC [ digits m) of our own reporters
_UNSAFE_IN_OUTPUT = re.compile(rf"\x1b(?!\[[0-9;]{{0,16}}m)|[\x00-\x08\x0b-\x1a\x1c-\x1f{_OTHERS}]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """text with every control character (line breaks included) written as an escape."""
    if text.isprintable():  # the usual case: nothing to do
        return text
    return _UNSAFE_CHARACTER.sub(_escape, text)


def _escape_in_output(match: re.Match) -> str:
    text = match.group()
    if text == "\x1b":
        return "\\x1b"
    return _escape(match)


class EscapingStream:
    """A text stream that writes every control character but line breaks, tabs and colour as an escape.

    The command line writes all its human-readable output through one, so text
    from a file reaches the terminal inert wherever it is printed. Binary output
    (`.buffer`) and every other attribute are the wrapped stream's.
    """

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        if not text.isprintable():
            text = _UNSAFE_IN_OUTPUT.sub(_escape_in_output, text)
        return self._stream.write(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name):
        return getattr(self._stream, name)


__all__ = ["EscapingStream", "printable"]
