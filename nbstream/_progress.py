"""Live progress from a running tool: ``nbstream.Progress``.

A tool that declares a parameter annotated ``Progress`` gets a reporter for its call (the parameter is not
shown to the model and cannot be set by it); calling it reports what the tool is doing and how far it got.
Updates become ``ToolProgress`` events of that call, shown in the tool's place and never sent to the model.

The reporter of the call running now is also found through ``current_progress()``: code that runs inside a
tool without a reporter passed to it (an MCP client session relaying the server's progress notifications)
reports through that.

Delivery (``relay``): a reporter may be called from any thread, as often as it likes. Each call keeps one
pending update; the loop thread delivers it at most once per ``Progress.INTERVAL`` (the first at once), so a
tool reporting in a tight loop costs a lock and an assignment per report, not an event. Pending updates merge as
if all had been shown: the newest fraction, and the newest message given (a ``None`` message keeps the previous
one). Closing the relay at the end of the call delivers what is pending at once, so the last update always comes
before the call's result; updates after that (a thread left running past its timeout) are dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import math
import threading
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["Progress", "current_progress", "relay", "report_yielded", "reporting"]

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


class _Relay:
    """One call's updates: reported from any thread, delivered on the loop thread, throttled."""

    def __init__(self, loop: asyncio.AbstractEventLoop, deliver: Report, interval: float) -> None:
        self._loop = loop
        self._deliver = deliver
        self._interval = interval
        self._lock = threading.Lock()
        self._pending: tuple[str | None, float | None] | None = None
        self._armed = False  # a delivery is scheduled (or being scheduled) for the pending update
        self._closed = False
        self._last = -math.inf  # loop time of the last delivery
        self._timer: asyncio.TimerHandle | None = None

    def report(self, message: str | None, fraction: float | None) -> None:
        with self._lock:
            if self._closed:
                return
            if self._pending is not None and message is None:
                message = self._pending[0]  # a message not yet shown is kept, as delivering both would
            self._pending = (message, fraction)
            if self._armed:
                return
            self._armed = True
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is listening any more
            self._loop.call_soon_threadsafe(self._arm)

    def _arm(self) -> None:
        if self._closed:
            return
        wait = self._last + self._interval - self._loop.time()
        if wait <= 0:
            self._flush()
        else:
            self._timer = self._loop.call_later(wait, self._flush)

    def _flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, None
            self._armed = False
        if pending is not None:
            self._last = self._loop.time()
            self._deliver(*pending)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        self._flush()


@contextlib.contextmanager
def relay(deliver: Report) -> Iterator[Progress]:
    """A reporter for one call: ``deliver`` gets its updates on the loop thread, throttled to one per
    ``Progress.INTERVAL``, the last one when the block ends. Call on the event loop."""
    sink = _Relay(asyncio.get_running_loop(), deliver, Progress.INTERVAL)
    try:
        yield Progress(sink.report)
    finally:
        sink.close()


def report_yielded(progress: Progress, value: Any) -> None:
    """Report what a generator tool yielded: a ``str`` is a message, a number a fraction, a ``(message,
    fraction)`` tuple both; a bare ``yield`` (``None``) reports nothing. Anything else is a ``TypeError``."""
    if value is None:
        return
    if isinstance(value, str):
        progress(value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        progress(fraction=value)
    elif isinstance(value, tuple) and len(value) == 2:
        progress(*value)
    else:
        raise TypeError(
            f"a generator tool yields progress: a str (message), a number from 0 to 1 (fraction) or a "
            f"(message, fraction) tuple, not {type(value).__name__}; return the result instead"
        )
