"""What a tool prints or logs while it runs, captured per call and handed to the event loop in batches.

How it works:

- ``sys.stdout`` and ``sys.stderr`` are wrapped, once, by ``_StreamProxy`` the first time a tool runs. A write
  goes to the sink named by the ``_current`` context variable when one is set, and to the stream that was there
  before (ipykernel's ``OutStream``, a terminal, pytest's capture) untouched otherwise. The dispatcher sets the
  variable around one call: an ``async def`` tool's task and a ``def`` tool's thread (``_run_in_thread`` copies
  the context) both inherit it, so concurrent calls never mix, and other cells, other threads and the kernel
  itself keep writing where they always did. Threads a tool starts itself do not inherit it (plain
  ``threading.Thread`` copies no context; ``asyncio.to_thread`` does): their output goes to the kernel's stream.
- Logging: while at least one call runs, ``_LogCapture`` sits on the root logger and shows each record made in
  a call's context in that call (stream ``log``, formatted ``LEVEL:logger:message``). This also catches
  records that a handler configured before the capture writes to the kernel's own stream (that handler still
  writes there too: a user's logging setup is never changed). A record that a handler writes through the
  wrapped ``sys.stdout`` / ``sys.stderr`` already reaches the call, so it is not shown twice. The handler is
  removed when the last call ends: a permanent root handler would make ``logging.basicConfig()`` a no-op and
  silence Python's last-resort handler; while it is there it plays that last-resort role itself.
  Records of loggers with ``propagate = False`` never reach it.
- The sink keeps at most ``LIMIT`` characters per call (then a note that the rest was cut), batches writes for
  ``BATCH_SECONDS`` and delivers them on the loop thread (``loop.call_soon_threadsafe``); closing it delivers
  what is left at once, so all of a call's output comes before its result. Writes after the call ended (a
  ``def`` tool left running past its timeout) go to the kernel's stream, as if nothing were captured.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from ._events import ToolOutputStream

__all__ = ["BATCH_SECONDS", "LIMIT", "capture_output"]

LIMIT = 100_000
"""Characters of output kept per call; a chatty tool cannot fill the kernel's memory or the transcript."""
BATCH_SECONDS = 0.05
"""How long writes are collected before they are delivered: one event per batch, not one per ``print``."""
_CUT = "\n[nbstream: output cut here, a call keeps {:,} characters]\n"

Deliver = Callable[[ToolOutputStream, str], None]
"""Called on the loop thread with each batch: the stream and its text."""


class _Sink:
    """One call's output: written from any thread, delivered on the loop thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, deliver: Deliver, limit: int) -> None:
        self._loop = loop
        self._deliver = deliver
        self._limit = limit
        self._lock = threading.Lock()
        self._pieces: list[tuple[ToolOutputStream, str]] = []
        self._kept = 0
        self._cut = False
        self._armed = False
        self._closed = False
        self._timer: asyncio.TimerHandle | None = None

    def write(self, stream: ToolOutputStream, text: str) -> bool:
        """Keep ``text``; ``False`` once the call has ended, so the caller writes it elsewhere."""
        with self._lock:
            if self._closed:
                return False
            if not text or self._cut:  # past the limit: dropped, the note is already there
                return True
            room = self._limit - self._kept
            if len(text) > room:
                text = text[:room] + _CUT.format(self._limit)
                self._cut = True
            self._kept += len(text)
            self._pieces.append((stream, text))
            if self._armed:
                return True
            self._armed = True
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is listening any more
            self._loop.call_soon_threadsafe(self._arm)
        return True

    def _arm(self) -> None:
        if not self._closed:
            self._timer = self._loop.call_later(BATCH_SECONDS, self._flush)

    def _flush(self) -> None:
        with self._lock:
            pieces, self._pieces = self._pieces, []
            self._armed = False
        for stream, text in _runs(pieces):
            self._deliver(stream, text)

    def close(self) -> None:
        """Deliver what is left now (on the loop thread); later writes are refused."""
        with self._lock:
            self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        self._flush()


def _runs(pieces: list[tuple[ToolOutputStream, str]]) -> Iterator[tuple[ToolOutputStream, str]]:
    """Consecutive pieces of one stream, joined."""
    start = 0
    for index in range(1, len(pieces) + 1):
        if index == len(pieces) or pieces[index][0] != pieces[start][0]:
            yield pieces[start][0], "".join(text for _, text in pieces[start:index])
            start = index


_current: contextvars.ContextVar[_Sink | None] = contextvars.ContextVar("nbstream_tool_output", default=None)


class _StreamProxy:
    """Stands in for ``sys.stdout`` / ``sys.stderr``: a tool call's writes go to its sink, all others pass.

    Attributes may be set on it: IPython 9 wraps ``sys.stdout.write`` for the length of each cell (its history
    keeps cell output), and its wrapper calls this ``write``, so the routing stays in place.
    """

    def __init__(self, stream: TextIO, name: ToolOutputStream) -> None:
        self._stream = stream
        self._name: ToolOutputStream = name

    def write(self, text: str) -> int:
        sink = _current.get()
        if sink is not None and isinstance(text, str) and sink.write(self._name, text):
            return len(text)
        return self._stream.write(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # flush, fileno, isatty, encoding, set_parent (ipykernel), ...
        if name == "_stream":  # not set yet (copy, pickle): no endless recursion
            raise AttributeError(name)
        return getattr(self._stream, name)

    def __repr__(self) -> str:
        return f"<nbstream capture of {self._stream!r}>"


class _LogCapture(logging.Handler):
    """On the root logger while calls run: shows a call's log records in it (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter(logging.BASIC_FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        others = _other_handlers(record, self)
        sink = _current.get()
        if sink is not None:
            if any(_writes_to_proxy(handler, record) for handler in others):
                return  # that handler writes it through the proxy, into the call already
            if sink.write("log", self.format(record) + "\n"):
                return
        # Not in a call: without this handler Python would use its last resort for a record nobody handles.
        last = logging.lastResort
        if not others and last is not None and record.levelno >= last.level:
            last.handle(record)


def _other_handlers(record: logging.LogRecord, own: logging.Handler) -> list[logging.Handler]:
    """The handlers, besides ``own``, that the record's logger hierarchy offers it (as ``callHandlers`` walks)."""
    handlers: list[logging.Handler] = []
    logger: logging.Logger | None = logging.getLogger(record.name)
    while logger is not None:
        handlers.extend(handler for handler in logger.handlers if handler is not own)
        logger = logger.parent if logger.propagate else None
    return handlers


def _writes_to_proxy(handler: logging.Handler, record: logging.LogRecord) -> bool:
    return (
        isinstance(handler, logging.StreamHandler)
        and isinstance(handler.stream, _StreamProxy)
        and record.levelno >= handler.level
    )


_install_lock = threading.Lock()
_running = 0  # calls capturing now: the log handler is on the root logger while this is above 0
_log_capture = _LogCapture()


def _acquire() -> None:
    global _running
    with _install_lock:
        # Checked at every call: a cell may have replaced sys.stdout (contextlib.redirect_stdout, %%capture).
        names: tuple[ToolOutputStream, ...] = ("stdout", "stderr")
        for name in names:
            stream = getattr(sys, name)
            if stream is not None and not isinstance(stream, _StreamProxy):
                setattr(sys, name, _StreamProxy(stream, name))
        _running += 1
        logging.root.addHandler(_log_capture)  # a no-op when it is there; basicConfig(force=True) removes it


def _release() -> None:
    global _running
    with _install_lock:
        _running -= 1
        if _running == 0:
            logging.root.removeHandler(_log_capture)


@contextlib.contextmanager
def capture_output(deliver: Deliver, *, limit: int = LIMIT) -> Iterator[None]:
    """Capture what the code run inside (and the tasks and ``def``-tool threads it starts) prints or logs.

    Call on the event loop; ``deliver`` is called there, with batches, until the block ends.
    """
    sink = _Sink(asyncio.get_running_loop(), deliver, limit)
    _acquire()
    token = _current.set(sink)
    try:
        yield
    finally:
        _current.reset(token)
        try:
            sink.close()
        finally:
            _release()
