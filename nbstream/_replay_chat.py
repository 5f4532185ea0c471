"""``nbstream.replay``: a recording played into a chat view at its pace, with no model, key or network.

A ``ReplayChat`` is a ``StreamChat`` whose turns come from the recording instead of a session: the same view,
batching, commits and static copy, and every event as it was recorded, tools included (their cards, output
and progress as they were; no tool runs again). Its history is rebuilt from the events as each turn ends, so
``messages``, ``export`` and the notebook's static copy hold the conversation.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any, Literal

from ._display import DisplayEvent
from ._events import Event, StepStarted, ToolRunning, TurnFinished
from ._metrics import ChatMetrics
from ._replay import RecordedTurn, Recording, check_speed
from ._sendable import clean_text
from ._turn_handle import TurnHandle
from ._widget import StreamChat

__all__ = ["ReplayChat", "replay"]

_POLL = 0.05
"""Seconds between two looks at Stop while a replay waits for its next event."""
NO_PROMPTS = "a replay plays its recording and takes no prompts: replay.play() plays it again"


class ReplayChat(StreamChat):
    """A chat view that plays a recording (``nbstream.replay``); ``play()`` plays it again, ``stop()`` stops.

    ``speed`` divides the recorded times (2.0: twice as fast; ``math.inf``: no waiting); each turn starts when
    the one before it has ended (the idle time between turns is left out).
    """

    def __init__(
        self,
        recording: Recording,
        *,
        speed: float = 1.0,
        view: Literal["detailed", "quiet"] = "detailed",
        show_reasoning: bool = True,
    ) -> None:
        self.recording = recording
        self.speed = check_speed(speed)
        self._scripts: dict[TurnHandle, RecordedTurn] = {}
        self._played = ChatMetrics()
        super().__init__("demo", view=view, show_reasoning=show_reasoning)  # its model is never asked
        self.model_label = clean_text(f"{recording.model} (replay)")

    def __repr__(self) -> str:
        return f"ReplayChat(model={self.recording.model!r}, status={self.status!r}, turns={self._link.turns})"

    def play(self) -> list[TurnHandle]:
        """Clear the view and play the recording from its start: one handle per recorded turn."""
        self._check_open()
        if self._runner.in_thread():
            return self._queue_turns()
        return self._runner.submit(self._queue_turns_on_loop()).result()

    @property
    def metrics(self) -> ChatMetrics:
        """The totals of the recorded turns played so far, as they were recorded (its session runs none)."""
        return self._played

    def send(self, prompt: str, *, images: Iterable[Any] | None = None) -> TurnHandle:
        """A replay takes no prompts (``play()`` plays the recording again)."""
        raise RuntimeError(NO_PROMPTS)

    async def _queue_turns_on_loop(self) -> list[TurnHandle]:
        return self._queue_turns()

    def _queue_turns(self) -> list[TurnHandle]:
        """Loop thread: the turns queued here start after this returns, each with its script already known."""
        StreamChat.clear(self)  # stops the turn playing and drops the queued ones (their scripts go too)
        self._scripts.clear()
        self._played = ChatMetrics()  # counted anew at each play: the recording's turns, once
        handles: list[TurnHandle] = []
        for turn in self.recording.turns():
            handle = StreamChat.send(self, turn.prompt.content, images=turn.prompt.images)
            self._scripts[handle] = turn
            handles.append(handle)
        return handles

    def _on_browser_message(self, widget: object, content: Any, buffers: object) -> None:
        if isinstance(content, dict) and content.get("type") == "send":  # the prompt box: say why not
            self._runner.call_soon(self._guarded, self.send, "")
            return
        super()._on_browser_message(widget, content, buffers)

    async def _events_of(self, handle: TurnHandle) -> AsyncIterator[Event]:
        """The recorded turn's events at their pace; a stop ends it as a stopped turn."""
        turn = self._scripts.pop(handle)
        loop = asyncio.get_running_loop()
        start, steps, played = loop.time(), 0, 0
        for (_, event), offset in zip(turn.events, turn.offsets(self.speed), strict=True):
            while not self._stop_requested and (wait := start + offset - loop.time()) > 0:
                await asyncio.sleep(min(wait, _POLL))
            if self._stop_requested:
                break
            if isinstance(event, StepStarted):
                steps = event.step
            elif isinstance(event, ToolRunning):  # the page times a running tool from when it started
                event = event.model_copy(update={"started_at": time.time()})
            if isinstance(event, TurnFinished):
                self._remember(turn, played)
            yield event
            played += 1
            if isinstance(event, TurnFinished):
                return
        self._remember(turn, played)
        if self._stop_requested:
            yield TurnFinished(reason="cancelled", steps=steps, message="stopped by the user")
        else:
            message = "the recording ends before this turn finished"
            yield TurnFinished(reason="error", steps=steps, message=message)

    def _finished(self, event: TurnFinished) -> DisplayEvent:
        if event.metrics is not None:
            self._played = self._played.plus(event.metrics)
        return super()._finished(event)

    def _remember(self, turn: RecordedTurn, played: int) -> None:
        """The turn's history, as far as it was played, becomes the chat's (for ``messages`` and the copy)."""
        shown = RecordedTurn(turn.prompt, turn.at, turn.events[:played])
        self._session.extend(shown.messages())


def replay(
    recording: str | os.PathLike[str] | Recording,
    *,
    speed: float = 1.0,
    view: Literal["detailed", "quiet"] = "detailed",
    show_reasoning: bool = True,
) -> ReplayChat:
    """Play a recording (``Session(record=...)``, ``chat.record(...)``) into a chat view, at its pace divided by
    ``speed``: the prompts, the text, the tools' cards as they were (no tool runs, no model is asked, no key).
    Display the result (end a cell with it); ``play()`` plays it again."""
    if not isinstance(recording, Recording):
        recording = Recording.load(recording)
    chat = ReplayChat(recording, speed=speed, view=view, show_reasoning=show_reasoning)
    chat.play()
    return chat
