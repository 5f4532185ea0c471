"""What every wire encoder shares: the encoder interface, JSON and SSE framing, fixed timestamps."""

from __future__ import annotations

import json
from typing import Any

from .._events import ErrorKind

__all__ = ["ANTHROPIC_ERROR", "CREATED", "CREATED_ISO", "OPENAI_ERROR", "WireEncoder", "json_text", "sse"]

CREATED = 1735689600
"""A fixed timestamp (2025-01-01T00:00:00Z) so that encoded streams are byte-for-byte reproducible."""
CREATED_ISO = "2025-01-01T00:00:00Z"


def json_text(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def sse(payload: str, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


# Error types in each provider's vocabulary, per normalized kind.
ANTHROPIC_ERROR: dict[str, str] = {
    "overloaded": "overloaded_error",
    "rate_limited": "rate_limit_error",
    "auth": "authentication_error",
    "not_found": "not_found_error",
    "bad_request": "invalid_request_error",
}
OPENAI_ERROR: dict[str, tuple[str, str | None]] = {
    "rate_limited": ("requests", "rate_limit_exceeded"),
    "auth": ("invalid_request_error", "invalid_api_key"),
    "not_found": ("invalid_request_error", "model_not_found"),
    "bad_request": ("invalid_request_error", None),
}


class WireEncoder:
    """Turns one response's content operations into provider frames. One instance per response."""

    def __init__(self, *, turn: int, model: str, sequence: int = 0) -> None:
        self.turn = turn
        self.model = model
        self.sequence = sequence  # the next event's sequence number, where the wire numbers its events

    def start(self, input_tokens: int) -> list[bytes]:
        return []

    def text(self, delta: str) -> list[bytes]:
        raise NotImplementedError

    def tool_start(self, call_id: str, name: str, position: int) -> list[bytes]:
        return []

    def tool_arguments(self, fragment: str) -> list[bytes]:
        return []

    def tool_end(self, raw_arguments: str) -> list[bytes]:
        return []

    def tool_cut(self, raw_arguments: str) -> list[bytes]:
        """A call the token limit interrupts: by default its end is never sent."""
        return []

    def tool_whole(self, call_id: str, name: str, position: int, raw_arguments: str) -> list[bytes]:
        """A call whose arguments come whole; by default, as one fragment."""
        frames = self.tool_start(call_id, name, position)
        frames += self.tool_arguments(raw_arguments)
        return frames + self.tool_end(raw_arguments)

    def finish(self, called_tools: bool, input_tokens: int, output_tokens: int, *, cut: bool) -> list[bytes]:
        """The frames that close the response, the end marker last; ``cut``: the token limit ended it."""
        raise NotImplementedError

    def error(self, kind: ErrorKind, message: str) -> list[bytes]:
        raise NotImplementedError

    def malformed(self) -> bytes:
        raise NotImplementedError
