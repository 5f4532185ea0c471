"""Display events: session events as the widget sends them, merged for the wire, compacted for storage.

Pure functions and one small state machine, so the widget's batching and the transcript's shape can be tested
without a kernel. See docs/WIDGET_PROTOCOL.md for the vocabulary.
"""

from __future__ import annotations

from typing import Any, Literal

from ._events import Event, ToolArgumentsDelta

__all__ = ["DisplayEvent", "Status", "StatusTracker", "compact", "merge_batch", "to_display", "user_prompt"]

DisplayEvent = dict[str, Any]
Status = Literal["idle", "generating", "waiting_tools", "awaiting_approval", "done", "error", "cancelled"]


def to_display(event: Event) -> DisplayEvent:
    """An event as JSON; an arguments delta loses its ``partial`` preview so each delta costs O(1)."""
    if isinstance(event, ToolArgumentsDelta):
        return event.model_dump(mode="json", exclude={"partial"})
    return event.model_dump(mode="json")


def user_prompt(text: str) -> DisplayEvent:
    return {"type": "user_prompt", "text": text}


_PIECE = {"text_delta": "text", "tool_arguments_delta": "fragment", "tool_output": "text"}
"""The field that carries the growing piece, for the event types whose runs are merged."""


def _continues(last: DisplayEvent, event: DisplayEvent) -> bool:
    kind = event["type"]
    return (
        kind in _PIECE
        and last["type"] == kind
        and last.get("id") == event.get("id")
        and last.get("stream") == event.get("stream")
    )


def merge_batch(events: list[DisplayEvent]) -> list[DisplayEvent]:
    """Merge runs of text deltas, of argument fragments of one call, and of one call's output to one stream,
    into single events."""
    merged: list[DisplayEvent] = []
    pieces: list[str] = []  # the pieces of the run that ends ``merged``, joined once

    def close_run() -> None:
        if len(pieces) > 1:
            last = merged[-1]
            merged[-1] = {**last, _PIECE[last["type"]]: "".join(pieces)}
        pieces.clear()

    for event in events:
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


def compact(events: list[DisplayEvent]) -> list[DisplayEvent]:
    """The stored form of a turn: text runs merged; argument fragments dropped for calls that became ready
    (``tool_call_ready`` carries ``raw_arguments``) and merged per call otherwise, at the first fragment; each
    call's output gathered at its first piece (concurrent calls interleave theirs), runs of one stream merged."""
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
    return merge_batch(joined)


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
