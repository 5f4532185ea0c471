"""Display events: session events as the widget sends them, merged for the wire, compacted for storage.

Pure functions and two small state machines, so the widget's batching and the transcript's shape can be tested
without a kernel. See docs/WIDGET_PROTOCOL.md for the vocabulary.

Two display events are the widget's own, not session events: ``user_prompt`` starts a turn (with the prompt's
images), and ``reasoning_done`` ends a reasoning section with its duration as the kernel measured it, so a
saved transcript says "Thought for 4.2 s" as the live view did.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, Literal

from ._events import Event, ToolArgumentsDelta
from ._images import ImageData
from ._metrics import ChatMetrics, TurnMetrics

__all__ = [
    "MAX_TURN_IMAGE_CHARS",
    "DisplayEvent",
    "ReasoningTimer",
    "Status",
    "StatusTracker",
    "cap_images",
    "compact",
    "merge_batch",
    "to_display",
    "turn_footer",
    "user_prompt",
]

DisplayEvent = dict[str, Any]
Status = Literal["idle", "generating", "waiting_tools", "awaiting_approval", "done", "error", "cancelled"]

MAX_TURN_IMAGE_CHARS = 2_000_000
"""Base64 characters of images a committed turn keeps (about 1.5 MB of image bytes): the transcript is saved in
the notebook. An image that no longer fits, in the turn's order, keeps its type and size but loses its data
(``omitted``)."""


def to_display(event: Event) -> DisplayEvent:
    """An event as JSON; an arguments delta loses its ``partial`` preview so each delta costs O(1)."""
    if isinstance(event, ToolArgumentsDelta):
        return event.model_dump(mode="json", exclude={"partial"})
    return event.model_dump(mode="json")


def user_prompt(text: str, images: Iterable[ImageData] = ()) -> DisplayEvent:
    """The event that starts a turn: the prompt, and its images when it has any."""
    shown = [image.model_dump(mode="json") for image in images]
    return {"type": "user_prompt", "text": text, **({"images": shown} if shown else {})}


def turn_footer(turn: TurnMetrics, chat: ChatMetrics) -> DisplayEvent:
    """The fields a ``turn_finished`` display event gains for the turn's quiet footer: its metrics line, and a
    title (the tooltip) with where the cost came from and the chat's totals so far."""
    title = [turn.price_note] if turn.price_note else []
    title.append(f"This chat so far: {chat.line()}")
    return {"footer": turn.line(), "footer_title": "\n".join(title)}


_ENDS_REASONING = frozenset(
    {"text_delta", "tool_call_started", "step_started", "message_finished", "stream_error", "turn_finished"}
)
"""What ends a reasoning section: the step's answer text or a tool call starts, or the step ends."""


class ReasoningTimer:
    """Times reasoning sections: from a section's first delta to the event that ends it. ``before(event)`` is
    the ``reasoning_done`` event to send ahead of ``event``, when ``event`` ends a section."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._started: float | None = None

    def before(self, event: DisplayEvent) -> DisplayEvent | None:
        kind = event["type"]
        if kind == "reasoning_delta":
            if self._started is None:
                self._started = self._clock()
            return None
        if self._started is None or kind not in _ENDS_REASONING:
            return None
        duration = round(max(0.0, self._clock() - self._started), 3)
        self._started = None
        return {"type": "reasoning_done", "duration": duration}

    def reset(self) -> None:
        self._started = None


_PIECE = {
    "text_delta": "text",
    "reasoning_delta": "text",
    "tool_arguments_delta": "fragment",
    "tool_output": "text",
}
"""The field that carries the growing piece, for the event types whose runs are merged."""


def _continues(last: DisplayEvent, event: DisplayEvent) -> bool:
    kind = event["type"]
    return (
        kind in _PIECE
        and last["type"] == kind
        and last.get("id") == event.get("id")
        and last.get("stream") == event.get("stream")
    )


def _newest_progress(events: list[DisplayEvent]) -> list[DisplayEvent]:
    """``events`` with one ``tool_progress`` per call, the newest, where it was; it carries the newest message
    given (a ``None`` message keeps the one before, so a later update without one must not lose it)."""
    last: dict[str, int] = {}
    message: dict[str, str | None] = {}
    for index, event in enumerate(events):
        if event["type"] == "tool_progress":
            last[event["id"]] = index
            if event.get("message") is not None:
                message[event["id"]] = event["message"]
    if len(last) == sum(event["type"] == "tool_progress" for event in events):
        return events  # one update per call at most: nothing to drop
    kept: list[DisplayEvent] = []
    for index, event in enumerate(events):
        if event["type"] != "tool_progress":
            kept.append(event)
        elif last[event["id"]] == index:
            kept.append({**event, "message": message.get(event["id"])})
    return kept


def merge_batch(events: list[DisplayEvent]) -> list[DisplayEvent]:
    """Merge runs of text or reasoning deltas, of argument fragments of one call, and of one call's output to one
    stream, into single events; keep only the newest progress of each call (progress is a state, not history)."""
    merged: list[DisplayEvent] = []
    pieces: list[str] = []  # the pieces of the run that ends ``merged``, joined once

    def close_run() -> None:
        if len(pieces) > 1:
            last = merged[-1]
            merged[-1] = {**last, _PIECE[last["type"]]: "".join(pieces)}
        pieces.clear()

    for event in _newest_progress(events):
        if pieces and _continues(merged[-1], event):
            pieces.append(event[_PIECE[event["type"]]])
            continue
        close_run()
        merged.append(event)
        key = _PIECE.get(event["type"])
        if key is not None:
            pieces.append(event[key])
    close_run()
    return merged


def compact(events: list[DisplayEvent], image_chars: int = MAX_TURN_IMAGE_CHARS) -> list[DisplayEvent]:
    """The stored form of a turn: text and reasoning runs merged; argument fragments dropped for calls that
    became ready (``tool_call_ready`` carries ``raw_arguments``) and merged per call otherwise, at the first
    fragment; each call's output gathered at its first piece (concurrent calls interleave theirs), runs of one
    stream merged; the newest progress of each call only; images within ``image_chars`` (``cap_images``)."""
    ready = {event["id"] for event in events if event["type"] == "tool_call_ready"}
    kept: list[DisplayEvent] = []
    fragments: dict[str, list[str]] = {}  # call id -> fragments of a call that never became ready
    outputs: dict[str, list[DisplayEvent]] = {}  # call id -> its output events, in order
    for event in events:
        kind = event["type"]
        if kind == "tool_arguments_delta":
            if event["id"] in ready:
                continue
            pieces = fragments.get(event["id"])
            if pieces is not None:
                pieces.append(event["fragment"])
                continue
            fragments[event["id"]] = [event["fragment"]]
        elif kind == "tool_output":
            written = outputs.get(event["id"])
            if written is not None:
                written.append(event)
                continue
            outputs[event["id"]] = [event]
        kept.append(event)
    joined: list[DisplayEvent] = []
    for event in kept:
        if event["type"] == "tool_arguments_delta":
            joined.append({**event, "fragment": "".join(fragments[event["id"]])})
        elif event["type"] == "tool_output":
            joined.extend(outputs[event["id"]])
        else:
            joined.append(event)
    return cap_images(merge_batch(joined), image_chars)


def cap_images(events: list[DisplayEvent], limit: int) -> list[DisplayEvent]:
    """``events`` with each image (a prompt's, a tool result's) kept, in order, that still fits in ``limit``
    characters of base64; one that does not keeps its type and size, its data replaced by ``omitted`` (the
    image's size in bytes), which the page shows as a note."""
    used = 0
    capped: list[DisplayEvent] = []
    for event in events:
        images = event.get("images")
        if not images:
            capped.append(event)
            continue
        shown: list[dict[str, Any]] = []
        for image in images:
            data = image.get("data")
            if isinstance(data, str) and used + len(data) <= limit:
                used += len(data)
                shown.append(image)
            else:
                size = len(data) * 3 // 4 if isinstance(data, str) else image.get("omitted", 0)
                shown.append(
                    {key: value for key, value in image.items() if key != "data"} | {"omitted": size}
                )
        changed = any(a is not b for a, b in zip(shown, images, strict=True))
        capped.append({**event, "images": shown} if changed else event)
    return capped


class StatusTracker:
    """Follows a turn's events to the widget's ``status``: tools run while the model streams, so "generating"
    wins while a response streams, "waiting_tools" once it ended with tools still running."""

    def __init__(self) -> None:
        self.status: Status = "idle"
        self.message = ""
        self._streaming = False
        self._running: set[str] = set()
        self._awaiting: set[str] = set()
        self._last_error = ""

    def start_turn(self) -> None:
        self.reset("generating")
        self._streaming = True

    def reset(self, status: Status = "idle") -> None:
        self.status, self.message = status, ""
        self._streaming = False
        self._running.clear()
        self._awaiting.clear()
        self._last_error = ""

    def update(self, event: DisplayEvent) -> None:
        kind = event["type"]
        call_id = event.get("id", "")
        if kind == "step_started":
            self._streaming = True
        elif kind in ("message_finished", "stream_error"):
            self._streaming = False
            if kind == "stream_error":
                provider = event.get("provider")
                self._last_error = f"{provider}: {event['message']}" if provider else event["message"]
        elif kind == "tool_awaiting_approval":
            self._awaiting.add(call_id)
        elif kind == "tool_running":
            self._awaiting.discard(call_id)
            self._running.add(call_id)
        elif kind in ("tool_result", "tool_error"):
            self._awaiting.discard(call_id)
            self._running.discard(call_id)
        elif kind == "turn_finished":
            self._finish(event)
            return
        if self._awaiting:
            self.status = "awaiting_approval"
        elif not self._streaming and self._running:
            self.status = "waiting_tools"
        else:
            self.status = "generating"

    def _finish(self, event: DisplayEvent) -> None:
        reason = event["reason"]
        if reason == "cancelled":
            self.status, self.message = "cancelled", event.get("message") or "stopped"
        elif reason in ("error", "max_tokens"):
            self.status, self.message = "error", event.get("message") or self._last_error or "the turn failed"
        elif reason == "max_steps":
            self.status = "done"
            self.message = f"stopped after {event['steps']} steps (max_steps)"
        else:
            self.status, self.message = "done", ""
