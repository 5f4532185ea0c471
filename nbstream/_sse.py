"""Relay a turn to a web page: normalized events → Server-Sent Events bytes.

One SSE event per normalized event, named by its ``type`` and carrying its JSON (what ``EVENTS`` reads back)::

    event: text_delta
    data: {"type":"text_delta","text":"Let me"}

During a silence longer than ``heartbeat`` seconds (a slow tool, a model thinking) a comment line goes out, so
that a proxy or load balancer never closes the connection as idle; ``EventSource`` ignores comments.

Closing the byte stream closes the events' source: for ``session.send(...)`` that cancels the turn, so a
browser that goes away stops the model and the tools it started.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from types import MappingProxyType
from typing import Any

from ._events import Event
from ._session import _check_seconds

__all__ = ["HEARTBEAT", "SSE_HEADERS", "sse_frame", "to_sse"]

SSE_HEADERS: Mapping[str, str] = MappingProxyType(
    {
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-cache",
        "X-Accel-Buffering": "no",  # nginx: pass each event on at once instead of buffering the response
        "Connection": "keep-alive",
    }
)
"""The response headers of an SSE relay (read-only: copy it to change it).

``Connection`` is an HTTP/1.1 header: HTTP/2 and HTTP/3 forbid connection-specific headers, so leave it out
there (``{k: v for k, v in SSE_HEADERS.items() if k != "Connection"}``).
"""

HEARTBEAT = b": keep-alive\n\n"
"""The comment sent during silences: ignored by ``EventSource``, but bytes on the wire for every proxy."""

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def sse_frame(data: str, event: str | None = None) -> bytes:
    """One SSE event: ``event:`` then one ``data:`` line per line of ``data`` (SSE's own line breaks, ``\\r\\n``,
    ``\\r`` and ``\\n``: a decoder joins them back with ``\\n``), then the blank line that dispatches it."""
    lines = [f"event: {event}"] if event is not None else []
    if event is not None and _LINE_BREAK.search(event):
        raise ValueError(f"an SSE event name cannot contain a line break: {event!r}")
    lines.extend(f"data: {line}" for line in _LINE_BREAK.split(data))
    return ("\n".join(lines) + "\n\n").encode()


async def to_sse(events: AsyncIterable[Event], *, heartbeat: float | None = 15.0) -> AsyncIterator[bytes]:
    """Frame ``events`` (e.g. ``session.send(prompt)``) as Server-Sent Events, for a web page's ``EventSource``.

    Yields one SSE event per event (``event: <type>``, ``data: <the event's JSON>``) in order, and
    ``: keep-alive`` whenever ``heartbeat`` seconds pass without one (``None``: never). Serve it with
    ``SSE_HEADERS``. Closing this iterator (an ASGI server does when the client disconnects) or cancelling the
    task that reads it closes ``events``: a ``TurnStream`` then cancels its turn.
    """
    _check_seconds("heartbeat", heartbeat)
    source = aiter(events)
    pending: asyncio.Task[Event] | None = None
    try:
        while True:
            # One read at a time, kept across heartbeats: timing it out would cancel it (and with it the turn).
            if pending is None:
                pending = asyncio.ensure_future(_next(source))
            done, _ = await asyncio.wait({pending}, timeout=heartbeat)
            if not done:
                yield HEARTBEAT
                continue
            read, pending = pending, None
            try:
                event = read.result()
            except StopAsyncIteration:
                return
            yield sse_frame(event.model_dump_json(), event.type)
    finally:
        interrupted = False
        if pending is not None:
            pending.cancel()
            interrupted = await _settle(pending)
        await _close(source)
        if interrupted:
            raise asyncio.CancelledError


async def _next(source: AsyncIterator[Event]) -> Event:
    return await source.__anext__()


async def _settle(task: asyncio.Task[Any]) -> bool:
    """Wait until a cancelled read has ended; say whether we were cancelled meanwhile. An ASGI server's cancel
    scope cancels again at every await until it is left (anyio): keep waiting, and let the caller re-raise."""
    interrupted = False
    while not task.done():
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            interrupted = True
    if not task.cancelled():
        task.exception()  # retrieved: a read that failed as we left must not be logged as never retrieved
    return interrupted


async def _close(source: AsyncIterator[Event]) -> None:
    """``aclose()`` the source when it has one; a ``TurnStream`` asks its turn to stop before its first await,
    so the turn is cancelled even if this wait is cut short."""
    aclose = getattr(source, "aclose", None)
    if aclose is not None:
        await aclose()
