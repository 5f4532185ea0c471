"""Live progress from a running tool: ``nbstream.Progress``.

A tool that declares a parameter annotated ``Progress`` gets a reporter for its call (the parameter is not
shown to the model and cannot be set by it); calling it reports what the tool is doing and how far it got.
Updates become ``ToolProgress`` events of that call, shown in the tool's place and never sent to the model.

The reporter of the call running now is also found through ``current_progress()``: code that runs inside a
tool without a reporter passed to it (an MCP client session relaying the server's progress notifications)
reports through that.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Callable, Iterator

__all__ = ["Progress", "current_progress", "reporting"]

Report = Callable[[str | None, float | None], None]
"""Delivers one update (message, fraction); callable from any thread."""

_current: contextvars.ContextVar[Progress | None] = contextvars.ContextVar("nbstream_progress", default=None)


class Progress:
    """Reports a running tool's progress: ``progress("Downloading", 0.4)``, ``progress(fraction=0.5)``.

    Declare it as a parameter of a tool (``def fetch(url: str, progress: Progress) -> str``) and nbstream
    passes the call's reporter. Callable from the tool's thread or task; cheap enough to call in a loop.
    """

    INTERVAL = 0.1
    """Seconds between updates delivered for one call; the newest update in between wins, none is lost at
    the end."""

    def __init__(self, report: Report | None = None) -> None:
        self._report = report

    def __call__(self, message: str | None = None, fraction: float | None = None) -> None:
        """Report ``message`` (what the tool does now) and/or ``fraction`` (0 to 1, clamped)."""
        if message is not None and not isinstance(message, str):
            message = str(message)
        if fraction is not None:
            if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or math.isnan(fraction):
                raise TypeError(f"progress fraction must be a number from 0 to 1, not {fraction!r}")
            fraction = min(1.0, max(0.0, float(fraction)))
        if self._report is not None:
            self._report(message, fraction)

    def __repr__(self) -> str:
        return "Progress()" if self._report is not None else "Progress(<not in a tool call>)"


def current_progress() -> Progress | None:
    """The reporter of the tool call running in this context, or ``None`` outside one."""
    return _current.get()


@contextlib.contextmanager
def reporting(progress: Progress) -> Iterator[Progress]:
    """Make ``progress`` the current call's reporter for the ``with`` block (and the tasks and tool threads it
    starts, which copy the context)."""
    token = _current.set(progress)
    try:
        yield progress
    finally:
        _current.reset(token)
