"""The read side of an MCP transport, watched: the server's messages ending, and its tools changing.

The SDK sees the end too, but only fails the requests in flight; a server that dies between calls would go
unnoticed until the next call. Watching the stream lets the connection mark the server down (and reap its
process) at once, so the next call starts it again instead of failing.

A ``notifications/tools/list_changed`` is noted here too, as the frame is read: the SDK hands notifications to
its handlers in tasks of their own (and a listen stream's events to yet another), so only here is it certain
that a change the server announced before answering a call is known when that call's answer arrives. The
connection then lists the tools again before the call returns, and the model's next step sees them.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

__all__ = ["watched"]

_TOOLS_CHANGED = "notifications/tools/list_changed"


@contextlib.asynccontextmanager
async def watched(
    transport: Any, on_end: Callable[[], None], on_tools_changed: Callable[[], None]
) -> AsyncIterator[tuple[Any, Any]]:
    """``transport``, whose read side calls ``on_end`` when the server's messages end and
    ``on_tools_changed`` when the server says its tools changed."""
    async with transport as (read, write):
        yield _Watched(read, on_end, on_tools_changed), write


class _Watched:
    """A read stream that says when it ends or the tools change; everything else is the stream it wraps."""

    def __init__(self, inner: Any, on_end: Callable[[], None], on_tools_changed: Callable[[], None]) -> None:
        self._inner = inner
        self._on_end = on_end
        self._on_tools_changed = on_tools_changed

    @property
    def last_context(self) -> Any:  # the SDK reads the sender's context here when the stream carries it
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> Any:
        import anyio

        try:
            item = await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._on_end()
            raise
        # A SessionMessage (or an Exception the transport passes on); unsolicited or on a listen stream alike
        if getattr(getattr(item, "message", None), "method", None) == _TOOLS_CHANGED:
            self._on_tools_changed()
        return item

    def __aiter__(self) -> _Watched:
        return self

    async def __anext__(self) -> Any:
        import anyio

        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    def close(self) -> None:
        self._inner.close()

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> _Watched:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
