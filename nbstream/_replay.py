"""Recordings: a session's turns written as JSON lines while they happen, read back and played at their pace.

For teaching and bug reports: ``Session(record=path)`` or ``chat.record(path)`` writes one, ``nbstream.replay``
plays it into a chat view (no model, no key, no network, no tool run), ``Recording.load`` reads it::

    {"format": "nbstream-recording", "version": 1, "model": "openai:gpt-4.1-mini", "recorded_at": "2025-…Z"}
    {"t": 0.0, "prompt": {"role": "user", "content": "add 2 and 3", "images": []}}
    {"t": 0.0021, "event": {"type": "step_started", "step": 1}}
    {"t": 0.4113, "event": {"type": "text_delta", "text": "Let me"}}

The header names the model by its label only. Each later line is a turn's prompt (a ``UserMessage``) or one of
its events, exactly as ``nbstream.EVENTS`` (de)serializes it, with ``t``: seconds since the recording began,
when the session emitted it. Nothing else is written: no key, header or base URL, and an error message that
quotes the model's base URL or key has it replaced (``<base_url>``, ``<redacted>``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import logging
import math
import os
import pathlib
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from pydantic import TypeAdapter, ValidationError

from ._events import Event, StepStarted, ToolError, ToolResult, TurnFinished
from ._messages import AssistantMessage, Message, ToolResultMessage, UserMessage
from ._parse import MessageBuilder
from ._timeline import Timeline

__all__ = [
    "FORMAT",
    "VERSION",
    "Recorded",
    "RecordedTurn",
    "Recorder",
    "Recording",
    "TimedEvent",
    "check_speed",
    "redactions_for",
]

log = logging.getLogger("nbstream")

FORMAT = "nbstream-recording"
VERSION = 1
FLUSH_EVERY = 0.5
"""Seconds between two flushes of a recording while a turn runs (and at each turn's end): a kernel that dies
loses at most this much."""

_EVENT: TypeAdapter[Event] = TypeAdapter(Event)
Emit = Callable[[Event], None]


def redactions_for(model: object) -> dict[str, str]:
    """What a recording must never hold for ``model``, each with its stand-in: the base URL an error message
    may quote, the key and a password from the URL (an HTTP model keeps them; other models have none)."""
    found: dict[str, str] = {}
    for name in ("_base_url", "_shown_base_url"):
        value = getattr(model, name, None)
        if isinstance(value, str):
            found[value.rstrip("/")] = "<base_url>"
    for secret in getattr(model, "_secrets", ()) or ():
        if isinstance(secret, str):
            found[secret] = "<redacted>"
    return found


class Recorder:
    """Writes a session's turns to a recording as they happen (``Session.record``).

    The session writes from its loop; ``close`` may come from any thread: a lock keeps lines whole. A write
    that fails (a full disk) stops the recording, says why once in the log and in ``error``, and never stops
    the turn.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        model: str,
        redactions: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = pathlib.Path(path)
        self.error: str | None = None
        """Why the recording stopped early, if it did."""
        self._clock = clock
        self._start = self._last_flush = clock()
        self._lock = threading.Lock()
        # Longest first, so a URL is replaced whole before a part of it; a JSON line holds them JSON-escaped.
        pairs = sorted((redactions or {}).items(), key=lambda pair: -len(pair[0]))
        self._redactions = [(json.dumps(old)[1:-1], new) for old, new in pairs if len(old) >= 4]
        # A lone surrogate in a text is written as its JSON escape, which reads back as the same string.
        self._file = self.path.open("w", encoding="utf-8", errors="backslashreplace")  # a bad path fails here
        recorded_at = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        header = {"format": FORMAT, "version": VERSION, "model": model, "recorded_at": recorded_at}
        self._write(self._dumps(header), flush=True)

    @property
    def closed(self) -> bool:
        return self._file.closed

    def turn(self, prompt: UserMessage, emit: Emit) -> Emit:
        """``emit`` for a turn that starts now with ``prompt``: the prompt is written at once, each event just
        before it is passed on."""
        self._line("prompt", prompt.model_dump(mode="json"), flush=False)

        def recorded(event: Event) -> None:
            self._line("event", event.model_dump(mode="json"), flush=isinstance(event, TurnFinished))
            emit(event)

        return recorded

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                try:
                    self._file.close()
                except (OSError, ValueError) as exc:  # its last flush failed: closed all the same
                    self._failed(exc)

    def _line(self, key: str, payload: dict[str, Any], *, flush: bool) -> None:
        at = round(self._clock() - self._start, 4)
        try:
            line = self._dumps({"t": at, key: payload})
        except Exception as exc:  # a bug: the recording stops, the turn goes on
            with self._lock:
                self._stop(exc)
            return
        self._write(line, flush=flush)

    def _dumps(self, line: dict[str, Any]) -> str:
        text = json.dumps(line, ensure_ascii=False, separators=(",", ":"))
        for old, new in self._redactions:
            text = text.replace(old, new)
        return text + "\n"

    def _write(self, text: str, *, flush: bool) -> None:
        with self._lock:
            if self._file.closed:
                return
            try:
                self._file.write(text)
                now = self._clock()
                if flush or now - self._last_flush >= FLUSH_EVERY:
                    self._file.flush()
                    self._last_flush = now
            except (OSError, ValueError) as exc:
                self._stop(exc)

    def _stop(self, exc: Exception) -> None:
        """Stop recording after a failure (the lock held): say why, close without writing what is left."""
        self._failed(exc)
        with contextlib.suppress(OSError, ValueError):  # the buffer cannot be written either
            self._file.close()

    def _failed(self, exc: Exception) -> None:
        if self.error is None:
            self.error = f"{type(exc).__name__}: {exc}"
            log.warning("nbstream: recording to %s stopped: %s", self.path, self.error)


class Recorded(NamedTuple):
    """One line of a recording: ``at`` seconds after it began, a prompt (a turn starts) or an event."""

    at: float
    item: UserMessage | Event


class TimedEvent(NamedTuple):
    """One event of a recorded turn, ``at`` seconds after the recording began."""

    at: float
    event: Event


@dataclass(frozen=True)
class RecordedTurn:
    """One recorded turn: its prompt, when it was sent, and its events with their times."""

    prompt: UserMessage
    at: float
    events: list[TimedEvent] = field(default_factory=list)

    def messages(self) -> list[Message]:
        """The turn's history as the session kept it: the prompt, each response that said something, then its
        tool results in call order."""
        history: list[Message] = [self.prompt]
        builder: MessageBuilder | None = None
        results: dict[str, ToolResultMessage] = {}
        for _, event in self.events:
            if isinstance(event, StepStarted):
                if builder is not None:
                    _add_step(history, builder.message(), results)
                builder, results = MessageBuilder(), {}
            elif isinstance(event, ToolResult | ToolError):
                results[event.id] = _result_message(event)
            elif builder is not None and not isinstance(event, TurnFinished):
                builder.add(event)
        if builder is not None:
            _add_step(history, builder.message(), results)
        return history

    def timeline(self) -> Timeline:
        """The turn's timeline at its recorded times: text ticks and tool bars, and the measures of ``Timeline``."""
        return Timeline(self.events)

    def offsets(self, speed: float = 1.0) -> list[float]:
        """Each event's seconds after the prompt, divided by ``speed``: when a replay plays it."""
        return [max(0.0, (entry.at - self.at) / speed) for entry in self.events]


class Recording:
    """A recording read back (``Recording.load(path)``): iterate it for ``(at, prompt or event)`` pairs."""

    def __init__(
        self, model: str, entries: list[Recorded], *, version: int = VERSION, recorded_at: str | None = None
    ) -> None:
        self.model = model
        """The recorded model's label (``"openai:gpt-4.1-mini"``, ``"demo"``)."""
        self.entries = entries
        self.version = version
        self.recorded_at = recorded_at
        """When the recording began (UTC, ISO 8601)."""

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Recording:
        """Read a recording. A line that is not one (with its number in the message) is a ``ValueError``; a
        last line cut short (the recording's kernel died while writing it) is left out."""
        text = pathlib.Path(path).read_text(encoding="utf-8")
        # The last piece is "" after the final newline, or a line whose write never finished.
        lines = text.split("\n")[:-1]
        if not lines:
            raise ValueError(f"{path}: empty, not an nbstream recording")
        header = _read_line(lines[0], 1)
        if header.get("format") != FORMAT or not isinstance(header.get("model"), str):
            raise ValueError(f"{path}: line 1 is not an nbstream recording's header")
        version = header.get("version")
        if version != VERSION:
            raise ValueError(f"{path}: recording format version {version!r}; this nbstream reads {VERSION}")
        entries: list[Recorded] = []
        started = False
        for number, line in enumerate(lines[1:], start=2):
            if not line.strip():
                continue
            entry = _entry(_read_line(line, number), number)
            if isinstance(entry.item, UserMessage):
                started = True
            elif not started:
                raise ValueError(f"line {number}: an event before any prompt")
            entries.append(entry)
        recorded_at = header.get("recorded_at")
        return cls(
            header["model"], entries, recorded_at=recorded_at if isinstance(recorded_at, str) else None
        )

    def __iter__(self) -> Iterator[Recorded]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        turns = sum(isinstance(entry.item, UserMessage) for entry in self.entries)
        return f"Recording(model={self.model!r}, turns={turns}, lines={len(self.entries)})"

    def events(self) -> list[Event]:
        """Every recorded event, in order (the prompts left out)."""
        return [entry.item for entry in self.entries if not isinstance(entry.item, UserMessage)]

    def turns(self) -> list[RecordedTurn]:
        """The recorded turns, in order."""
        turns: list[RecordedTurn] = []
        for at, item in self.entries:
            if isinstance(item, UserMessage):
                turns.append(RecordedTurn(item, at))
            else:
                turns[-1].events.append(TimedEvent(at, item))
        return turns

    def messages(self) -> list[Message]:
        """The conversation the recording holds, as the session kept it (``RecordedTurn.messages``)."""
        return [message for turn in self.turns() for message in turn.messages()]

    def play(self, speed: float = 1.0) -> AsyncIterator[Recorded]:
        """The entries at their recorded pace divided by ``speed`` (``math.inf``: at once), for ``async for``.
        Each turn starts when the one before it has ended: the idle time between turns is left out."""
        return self._play(check_speed(speed))

    async def _play(self, speed: float) -> AsyncIterator[Recorded]:
        loop = asyncio.get_running_loop()
        for turn in self.turns():
            start = loop.time()
            yield Recorded(turn.at, turn.prompt)
            for (at, event), offset in zip(turn.events, turn.offsets(speed), strict=True):
                delay = start + offset - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                yield Recorded(at, event)


def check_speed(speed: float) -> float:
    """A replay's speed: a positive number (``math.inf`` plays without waiting)."""
    if isinstance(speed, bool) or not isinstance(speed, int | float) or not speed > 0 or math.isnan(speed):
        raise ValueError(f"speed must be a positive number (math.inf: no waiting), not {speed!r}")
    return float(speed)


def _read_line(line: str, number: int) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"line {number}: not JSON ({exc.msg})") from None
    if not isinstance(value, dict):
        raise ValueError(f"line {number}: not a JSON object")
    return value


def _entry(line: dict[str, Any], number: int) -> Recorded:
    at = line.get("t")
    if isinstance(at, bool) or not isinstance(at, int | float) or not math.isfinite(at):
        raise ValueError(f"line {number}: no time offset 't'")
    try:
        if "prompt" in line:
            return Recorded(float(at), UserMessage.model_validate(line["prompt"]))
        if "event" in line:
            return Recorded(float(at), _EVENT.validate_python(line["event"]))
    except ValidationError as exc:
        raise ValueError(f"line {number}: {exc.errors()[0]['msg']} ({exc.error_count()} error(s))") from None
    raise ValueError(f"line {number}: neither a prompt nor an event")


def _result_message(event: ToolResult | ToolError) -> ToolResultMessage:
    if isinstance(event, ToolResult):
        return ToolResultMessage(
            call_id=event.id,
            name=event.name,
            content=event.output,
            images=event.images,
            duration=event.duration,
        )
    return ToolResultMessage(
        call_id=event.id, name=event.name, content=event.message, error=event.kind, duration=event.duration
    )


def _add_step(
    history: list[Message], message: AssistantMessage, results: dict[str, ToolResultMessage]
) -> None:
    """A step as ``Session._record`` keeps it: a response that said nothing is no message."""
    if message.text or message.tool_calls or message.reasoning:
        history.append(message)
    order = [call.id for call in message.tool_calls]
    history.extend(results[call_id] for call_id in order if call_id in results)
    history.extend(result for call_id, result in results.items() if call_id not in order)
