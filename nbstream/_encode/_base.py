"""What every wire encoder shares: the encoder interface, JSON and SSE framing, fixed timestamps.

A provider module subclasses ``WireEncoder`` once (``AnthropicEncoder``...); the driver (``encode_step``)
calls it for each action of a scripted step and never names a provider.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any, ClassVar, NamedTuple

from .._events import ErrorKind

__all__ = ["CREATED", "CREATED_ISO", "Scheduled", "WireEncoder", "json_text", "sealed", "sse"]

CREATED = 1735689600
"""A fixed timestamp (2025-01-01T00:00:00Z) so that encoded streams are byte-for-byte reproducible."""
CREATED_ISO = "2025-01-01T00:00:00Z"


def json_text(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def sealed(text: str, *, prefix: str = "") -> str:
    """A deterministic stand-in for what a provider signs or encrypts: ``prefix`` + base64 of a hash of
    ``text``. The same reasoning always gets the same value, so a server can check that it came back."""
    digest = hashlib.sha256(f"nbstream-script:{text}".encode()).digest()
    return prefix + base64.b64encode(digest).decode()


def sse(payload: str, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


class Scheduled(NamedTuple):
    """One frame of the wire, and how long to wait before sending it.

    ``end`` marks the stream's end marker (``[DONE]``, ``message_stop``, ``response.completed``, the
    ``done: true`` line), so a fault can leave it out.
    """

    delay: float
    data: bytes
    end: bool = False


class WireEncoder:
    """Turns one step's content operations into a provider's frames. One instance per step."""

    call_id_prefix: ClassVar[str] = "call_"
    """The provider's style of call ids: scripted calls are ``call_script_1``, ``toolu_script_1``..."""

    def __init__(self, *, step: int = 1, model: str = "scripted", sequence: int = 0) -> None:
        self.step = step  # numbers the step's ids
        self.model = model
        self.sequence = sequence  # the next event's sequence number, where the wire numbers its events

    @classmethod
    def call_id(cls, number: int, *, source: str = "script") -> str:
        """The deterministic id of the ``number``-th scripted call: ``toolu_script_1``, ``call_demo_2``..."""
        return f"{cls.call_id_prefix}{source}_{number}"

    def cache_reads(self, input_tokens: int) -> int:
        """The input tokens a scripted response reports as read from the prompt cache: none for a turn's first
        response, then half of each request's input (rounded down), as if the conversation before it had been
        cached. Deterministic, so tests know what was reported."""
        return input_tokens // 2 if self.step > 1 else 0

    def start(self, input_tokens: int) -> list[bytes]:
        return []

    def text(self, delta: str) -> list[bytes]:
        raise NotImplementedError

    def reasoning(self, delta: str) -> list[bytes]:
        """A piece of the model's reasoning (``Think``). What ends the reasoning (text, a call, the finish)
        closes it: an encoder that sends a signature or encrypted content sends it then."""
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
        """The provider's own mid-stream error event(s) for an error of this kind."""
        raise NotImplementedError

    def malformed(self) -> bytes:
        """A frame in the wire's framing whose JSON is cut in half."""
        raise NotImplementedError
