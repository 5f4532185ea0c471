"""Frames: raw bytes → SSE events or NDJSON lines, incrementally; plus the JSON-frame skeleton parsers share.

Bytes arrive split anywhere (inside a UTF-8 character, inside a line, between ``\\r`` and ``\\n``), so both
decoders keep an incremental UTF-8 decoder and the unfinished line as a list of pieces: every byte is scanned
once and joined once, whatever the chunk size. A line (or an SSE event's data) longer than ``max_frame_size``
characters is never buffered whole: the decoder drops it and stops, and the parser reports it as malformed.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any, ClassVar, NamedTuple

from pydantic_core import from_json

from .._sendable import sendable
from ._parts import ErrorPart, Part

__all__ = [
    "MAX_FRAME_SIZE",
    "JSONFrameParser",
    "MalformedFrame",
    "NDJSONDecoder",
    "NDJSONParser",
    "SSEDecoder",
    "SSEEvent",
    "SSEJSONParser",
    "error_message",
    "int_or_none",
    "json_text",
    "load_json",
    "optional_str",
]

MAX_FRAME_SIZE = 16 * 1024 * 1024
"""The longest line or SSE event accepted by default, in characters (16 Mi; about as many bytes for JSON)."""

_SSE_LINE_END = re.compile(r"\r\n|\r|\n")
_EXCERPT_CHARS = 80
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class _LineSplitter:
    """Bytes → complete lines, ended by ``\\r\\n``, ``\\r`` or ``\\n`` (SSE's rule; NDJSON's is a subset)."""

    __slots__ = ("_decoder", "_limit", "_pending", "_pending_size", "_swallow_lf", "too_long")

    def __init__(self, max_line: int) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._limit = max_line
        self._pending: list[str] = []
        self._pending_size = 0
        # A chunk ended in "\r": the line is already out; a "\n" opening the next chunk belongs to it.
        self._swallow_lf = False
        self.too_long = False  # a line passed the limit: nothing more is read

    def feed(self, data: bytes, final: bool = False) -> list[str]:
        if self.too_long:
            return []
        text = self._decoder.decode(data, final)
        if not text:
            return []
        if self._swallow_lf:
            self._swallow_lf = False
            if text[0] == "\n":
                text = text[1:]
                if not text:
                    return []
        pieces = _SSE_LINE_END.split(text) if "\r" in text else text.split("\n")
        if len(pieces) == 1:
            self._pending.append(text)
            self._pending_size += len(text)
            return self._overflow([]) if self._pending_size > self._limit else []
        self._swallow_lf = text[-1] == "\r"
        if self._pending:
            self._pending.append(pieces[0])
            pieces[0] = "".join(self._pending)
            self._pending = []
        tail = pieces.pop()
        self._pending_size = len(tail)
        if tail:
            self._pending.append(tail)
        if self._pending_size > self._limit or len(pieces[0]) > self._limit or len(text) > self._limit:
            return self._checked(pieces)
        return pieces

    def _checked(self, lines: list[str]) -> list[str]:
        """The lines before the first one over the limit (then stop); all of them if none is."""
        for number, line in enumerate(lines):
            if len(line) > self._limit:
                return self._overflow(lines[:number])
        return self._overflow(lines) if self._pending_size > self._limit else lines

    def _overflow(self, lines: list[str]) -> list[str]:
        self.too_long = True
        self._pending = []
        self._pending_size = 0
        return lines

    def close(self) -> list[str]:
        lines = self.feed(b"", final=True)
        if self._pending:
            lines.append("".join(self._pending))
            self._pending = []
            self._pending_size = 0
        self._swallow_lf = False
        return lines


class SSEEvent(NamedTuple):
    """One dispatched Server-Sent Event."""

    event: str
    """The ``event:`` field; ``"message"`` when the server named none (the WHATWG default)."""
    data: str
    """The ``data:`` lines, joined with ``\\n``."""


class SSEDecoder:
    """Incremental Server-Sent Events decoder (WHATWG event-stream rules) for the fields a provider stream uses.

    Only ``event`` and ``data`` mean anything here: ``id`` and ``retry`` serve a browser's reconnection, and a
    model's response cannot be resumed, so they are read as unknown fields are (ignored). An event without data
    is not dispatched. At EOF (``close``) an event whose blank line never came is still dispatched: servers that
    close right after their last ``data:`` line must not lose it.
    """

    __slots__ = ("_data", "_data_size", "_event", "_limit", "_lines", "_started")

    def __init__(self, max_frame_size: int = MAX_FRAME_SIZE) -> None:
        self._lines = _LineSplitter(max_frame_size)
        self._limit = max_frame_size
        self._started = False
        self._event = ""
        self._data: list[str] = []
        self._data_size = 0

    @property
    def too_long(self) -> bool:
        """A line or an event's data passed the limit: it was dropped and nothing more is read."""
        return self._lines.too_long

    def feed(self, data: bytes) -> list[SSEEvent]:
        return self._read(self._lines.feed(data))

    def close(self) -> list[SSEEvent]:
        events = self._read(self._lines.close())
        if not self.too_long:
            self._dispatch(events)
        return events

    def _read(self, lines: list[str]) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        if lines and not self._started:
            self._started = True
            if lines[0].startswith("\ufeff"):
                lines[0] = lines[0][1:]
        for line in lines:  # the three lines of nearly every event come first: blank, data, event
            if not line:  # dispatch, inlined: this runs once per event
                if self._data:
                    data = self._data[0] if len(self._data) == 1 else "\n".join(self._data)
                    events.append(SSEEvent(self._event or "message", data))
                    self._data = []
                    self._data_size = 0
                self._event = ""
            elif line.startswith("data:"):
                value = line[5:]
                self._data.append(value[1:] if value.startswith(" ") else value)
                self._data_size += len(value)
                if self._data_size > self._limit:
                    self._lines._overflow([])
                    self._data, self._data_size = [], 0
                    return events
            elif line.startswith("event:"):
                value = line[6:]
                self._event = value[1:] if value.startswith(" ") else value
            elif line[0] != ":":
                self._field(line)
        return events

    def _field(self, line: str) -> None:
        """A line of another shape: ``data`` or ``event`` without a colon, or a field we ignore."""
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)

    def _dispatch(self, events: list[SSEEvent]) -> None:
        if self._data:
            data = self._data[0] if len(self._data) == 1 else "\n".join(self._data)
            events.append(SSEEvent(self._event or "message", data))
            self._data = []
            self._data_size = 0
        self._event = ""


class NDJSONDecoder:
    """Incremental newline-delimited JSON framing: bytes → non-blank lines (JSON not parsed here)."""

    __slots__ = ("_lines",)

    def __init__(self, max_frame_size: int = MAX_FRAME_SIZE) -> None:
        self._lines = _LineSplitter(max_frame_size)

    @property
    def too_long(self) -> bool:
        """A line passed the limit: it was dropped and nothing more is read."""
        return self._lines.too_long

    def feed(self, data: bytes) -> list[str]:
        return [line for line in self._lines.feed(data) if line and not line.isspace()]

    def close(self) -> list[str]:
        return [line for line in self._lines.close() if line and not line.isspace()]


class MalformedFrame(Exception):
    """Raised inside a parser's frame handler: the frame is JSON but not the provider's shape."""


def int_or_none(value: Any) -> int | None:
    """A token count, or ``None`` for anything that is not a plain integer (counts are informational)."""
    return value if type(value) is int else None


def optional_str(container: dict[str, Any], key: str) -> str | None:
    """``container[key]`` when it is a string, ``None`` when absent or null; any other type is malformed."""
    value = container.get(key)
    if value is None or isinstance(value, str):
        return value
    raise MalformedFrame(f"{key} is {type(value).__name__}, not a string")


def optional_object(container: dict[str, Any], key: str) -> dict[str, Any] | None:
    """``container[key]`` when it is an object, ``None`` when absent or null; any other type is malformed."""
    value = container.get(key)
    if value is None or isinstance(value, dict):
        return value
    raise MalformedFrame(f"{key} is not an object")


def optional_list(container: dict[str, Any], key: str) -> list[Any] | None:
    """``container[key]`` when it is a list, ``None`` when absent or null; any other type is malformed."""
    value = container.get(key)
    if value is None or isinstance(value, list):
        return value
    raise MalformedFrame(f"{key} is not a list")


def load_json(text: str) -> Any:
    """``json.loads``, with lone surrogates (``"\\ud800"`` escapes) replaced by U+FFFD.

    JSON may escape half a surrogate pair, but such a string cannot be encoded as UTF-8: events holding one
    could not be serialized (logs, the widget). ``NaN`` and ``Infinity`` are not JSON: they are refused, so a tool
    never receives them. Raises ``ValueError`` / ``RecursionError`` as ``json.loads``.

    pydantic_core reads it first (about three times faster than ``json`` on a small frame, and this runs once per
    frame); what it refuses goes through ``json``: a lone surrogate escape, nesting deeper than ~200 levels, and
    text that is no JSON at all, whose error is then ``json``'s own.
    """
    try:
        return from_json(text, allow_inf_nan=False)
    except ValueError:
        pass
    value = _STRICT_JSON.decode(text)
    if "\\u" in text and _SURROGATE_ESCAPE.search(text) is not None:
        return sendable(value)
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# Made once: ``json.loads`` with any keyword builds a new decoder per call, on the per-frame path.
_STRICT_JSON = json.JSONDecoder(parse_constant=_refuse_constant)


def json_text(value: Any) -> str:
    """Compact JSON, as arguments sent whole (an object, not text) are re-serialized."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except RecursionError:
        raise MalformedFrame("tool call arguments nest too deeply") from None


def error_message(error: Any) -> str:
    """The human part of a provider's error value: ``{"message": ...}`` or a bare string."""
    if isinstance(error, dict):
        message = error.get("message")
        if isinstance(message, str) and message:
            return message
        return json.dumps(error, ensure_ascii=False)[:200]
    if isinstance(error, str) and error:
        return error
    return "unknown error" if error is None else repr(error)[:200]


def _excerpt(data: str) -> str:
    return repr(data[:_EXCERPT_CHARS] + "…" if len(data) > _EXCERPT_CHARS else data)


class JSONFrameParser:
    """What every wire shares: one JSON object per frame, handed to ``_on_object``; bad frames → one part.

    Subclasses set ``wire`` and implement ``_on_object``; they raise ``MalformedFrame`` on a wrong shape, and
    the frame's parts are then replaced by a single ``ErrorPart(kind="malformed")``. Parsing goes on after it.
    """

    wire: ClassVar[str]

    def __init__(self, max_frame_size: int) -> None:
        self._limit = max_frame_size
        self._reported_too_long = False

    _decoder: SSEDecoder | NDJSONDecoder

    def feed(self, data: bytes) -> list[Part]:
        return self._parts(self._decoder.feed(data))

    def close(self) -> list[Part]:
        return self._parts(self._decoder.close())

    def _parts(self, frames: list[Any]) -> list[Part]:
        out: list[Part] = []
        self._read(frames, out)
        return self._report_too_long(self._decoder.too_long, out)

    def _read(self, frames: list[Any], out: list[Part]) -> None:
        """Hand each decoded frame to ``_on_frame``."""
        raise NotImplementedError

    def _on_object(self, obj: dict[str, Any], event: str, out: list[Part]) -> None:
        raise NotImplementedError

    def _report_too_long(self, too_long: bool, out: list[Part]) -> list[Part]:
        if too_long and not self._reported_too_long:
            self._reported_too_long = True
            out.append(
                ErrorPart(
                    kind="malformed",
                    message=f"{self.wire}: a frame longer than {self._limit:,} characters was dropped and the "
                    "stream stopped (raise max_frame_size= if the provider really sends frames that long)",
                )
            )
        return out

    def _on_frame(self, data: str, event: str, out: list[Part]) -> None:
        if not data or data.isspace():
            return
        try:
            obj = load_json(data)
        except (ValueError, RecursionError):
            out.append(self._malformed("not valid JSON", data))
            return
        if not isinstance(obj, dict):
            out.append(self._malformed(f"a JSON {type(obj).__name__}, not an object", data))
            return
        mark = len(out)
        try:
            self._on_object(obj, event, out)
        except MalformedFrame as error:
            del out[mark:]
            out.append(self._malformed(str(error), data))

    def _malformed(self, reason: str, data: str) -> ErrorPart:
        return ErrorPart(
            kind="malformed", message=f"{self.wire}: malformed frame ({reason}): {_excerpt(data)}"
        )


class SSEJSONParser(JSONFrameParser):
    """A wire carried as SSE events with a JSON ``data`` payload."""

    def __init__(self, max_frame_size: int = MAX_FRAME_SIZE) -> None:
        super().__init__(max_frame_size)
        self._decoder = SSEDecoder(max_frame_size)

    def _read(self, frames: list[SSEEvent], out: list[Part]) -> None:
        for event, data in frames:
            self._on_frame(data, event, out)


class NDJSONParser(JSONFrameParser):
    """A wire carried as one JSON object per line."""

    def __init__(self, max_frame_size: int = MAX_FRAME_SIZE) -> None:
        super().__init__(max_frame_size)
        self._decoder = NDJSONDecoder(max_frame_size)

    def _read(self, frames: list[str], out: list[Part]) -> None:
        for line in frames:
            self._on_frame(line, "", out)
