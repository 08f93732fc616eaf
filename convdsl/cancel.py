"""Abandoning an analysis whose answer nobody will read.

An editor's language server analyses each version of a file; when the text
changes again before the analysis ends, its result would be dropped anyway.
The server sets a check for the thread doing the work (`cancellable`), and
lowering, inference and the size sweeps call `checkpoint()` at the points
where they already count their budgets, so a stale analysis of a large
network stops within a few milliseconds instead of running to its end.
Without a check set (the command line), `checkpoint()` does nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_CHECK: ContextVar[Callable[[], bool] | None] = ContextVar("convdsl_cancel_check", default=None)


class Cancelled(Exception):
    """The analysis under way was abandoned: its check said the answer is no longer wanted."""


@contextmanager
def cancellable(check: Callable[[], bool]) -> Iterator[None]:
    """Within this block (in this thread), checkpoint() raises Cancelled once check() is true."""
    token = _CHECK.set(check)
    try:
        yield
    finally:
        _CHECK.reset(token)


def checkpoint() -> None:
    check = _CHECK.get()
    if check is not None and check():
        raise Cancelled
