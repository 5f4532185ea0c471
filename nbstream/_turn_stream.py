"""What ``Session.send`` returns: the events of one turn as an async iterator.

The turn itself runs in a task of the session (``Session._start``); this side reads its events from a queue,
and stops the turn when its reader goes away: a ``break``, an exception, a cancelled cell, or the stream being
dropped. A turn that ends without its ``TurnFinished`` (cancelled before it began, or a bug) still yields one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from ._events import Event, TurnFinished
from ._messages import UserMessage

if TYPE_CHECKING:  # _session imports this module (send() returns a TurnStream)
    from ._session import Session

__all__ = ["TurnStream"]


class TurnStream(AsyncIterator[Event]):
    """The events of one turn, read with ``async for``; ends with exactly one ``TurnFinished``.

    Leaving the loop early (``break``, an exception, a cancelled cell) or ``aclose()`` stops the turn.
    """

    def __init__(self, session: Session, prompt: UserMessage) -> None:
        self._session = session
        self._prompt = prompt
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._finished = False

    def __aiter__(self) -> TurnStream:
        return self

    async def __anext__(self) -> Event:
        if self._finished:
            raise StopAsyncIteration
        queue = self._queue
        if self._task is None:
            self._task = await self._session._start(self._prompt, queue.put_nowait)
            self._task.add_done_callback(lambda _: queue.put_nowait(None))
        try:
            event = await queue.get()
        except asyncio.CancelledError:  # whoever reads the turn went away: the turn stops too
            self._stop()
            raise
        if event is None:  # the task ended without its TurnFinished: cancelled before it began, or a bug
            event = self._ended_early(self._task)
        if isinstance(event, TurnFinished):
            self._finished = True
        return event

    @staticmethod
    def _ended_early(task: asyncio.Task[None]) -> TurnFinished:
        if task.cancelled():
            return TurnFinished(reason="cancelled", steps=0, message="stopped by the user")
        failure = task.exception()
        return TurnFinished(reason="error", steps=0, message=f"internal error: {failure!r}")

    async def aclose(self) -> None:
        """Stop the turn (if it still runs) and wait until it has finished."""
        self._finished = True
        task = self._task
        if task is not None and not task.done():
            self._stop()
            await asyncio.wait({task})

    def _stop(self) -> None:
        if self._task is not None and self._session._turn is self._task:
            self._session.cancel()
        elif self._task is not None:
            self._task.cancel()

    def __del__(self) -> None:
        """``break`` out of ``async for`` drops the stream: stop its turn, so the next ``send`` can start."""
        task = self._task
        if task is None or task.done() or self._finished:
            return
        loop = task.get_loop()
        try:
            on_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            self._stop()
        elif not loop.is_closed():
            loop.call_soon_threadsafe(self._session.cancel)
