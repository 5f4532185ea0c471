"""``TurnHandle``: one prompt sent to a ``StreamChat``, awaitable from a cell, readable from any thread."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable, Generator
from typing import Any

from . import _interrupt
from ._background import LoopThread
from ._events import Event, TurnFinished, TurnReason
from ._images import ImageData
from ._messages import AssistantMessage
from ._metrics import TurnMetrics
from ._timeline import EventLog, Timeline

__all__ = ["TurnHandle"]


class TurnHandle:
    """One prompt sent to a chat. ``await handle`` (e.g. in a cell) waits for the turn to finish; ``done()``,
    ``events`` and ``reason`` can be read at any time from any thread."""

    def __init__(self, prompt: str, images: list[ImageData] | None = None) -> None:
        self.prompt = prompt
        self.images: list[ImageData] = list(images or ())
        """The images sent with the prompt."""
        self._log = EventLog()
        self.reason: TurnReason | None = None
        self.metrics: TurnMetrics | None = None
        """The finished turn's timings, tokens and cost (its ``TurnFinished.metrics``); ``None`` until then."""
        self._future: concurrent.futures.Future[AssistantMessage | None] = concurrent.futures.Future()
        # Running from the start: a waiter that is cancelled (an interrupted cell) cannot cancel the turn.
        self._future.set_running_or_notify_cancel()
        self._loop_thread: LoopThread | None = None

    def done(self) -> bool:
        return self._future.done()

    def add_done_callback(self, callback: Callable[[TurnHandle], object]) -> None:
        """Call ``callback(handle)`` when the turn has ended (at once if it has), on the thread that ended it."""
        self._future.add_done_callback(lambda _future: callback(self))

    @property
    def events(self) -> list[Event]:
        """The turn's events so far, as a new list. A call's argument fragments are one ``ToolArgumentsDelta``
        without preview, so a turn keeps O(text deltas + calls) events however long the arguments."""
        return [event for _, event in self._log.records()]

    @property
    def arrivals(self) -> list[float]:
        """``time.perf_counter()`` when each of ``events`` arrived (a call's arguments: their first fragment)."""
        return [at for at, _ in self._log.records()]

    def timeline(self) -> Timeline:
        """When each event of this turn arrived: text ticks and tool bars (display it, or read its numbers)."""
        return Timeline(self._log.records())

    def _record(self, event: Event) -> None:
        self._log.add(time.perf_counter(), event)
        if isinstance(event, TurnFinished):
            self.metrics = event.metrics

    def result(self, timeout: float | None = None) -> AssistantMessage | None:
        """The turn's last assistant message (``None`` if it produced none); blocks until the turn ends.

        Blocking a cell is fine: the turn runs on nbstream's loop thread and keeps streaming to the page.
        """
        if not self.done() and self._loop_thread is not None and self._loop_thread.in_thread():
            raise RuntimeError("result() would deadlock on the chat's own loop; use `await handle` there")
        try:
            return self._future.result(timeout)
        except KeyboardInterrupt:  # ■ in a cell blocked here: stop the turns too (_interrupt.py)
            _interrupt.interrupted()
            raise

    def __await__(self) -> Generator[Any, None, AssistantMessage | None]:
        # ■ while a cell awaits: stop the turns and end the wait at once (_interrupt.py)
        return _interrupt.wait(self._future).__await__()

    def _finish(self, reason: TurnReason, message: AssistantMessage | None) -> None:
        self.reason = reason
        self._future.set_result(message)

    def _fail(self, error: BaseException) -> None:
        self.reason = "error"
        self._future.set_exception(error)

    def __repr__(self) -> str:
        prompt = self.prompt if len(self.prompt) <= 40 else self.prompt[:39] + "…"
        state = f"finished: {self.reason}" if self.done() else "running"
        images = f" +{len(self.images)} image{'s' if len(self.images) != 1 else ''}" if self.images else ""
        return f"<TurnHandle {prompt!r}{images} {state}>"
