"""Provider events: what a wire parser reads out of one frame, before assembly.

Each provider's parser turns its frames into these few parts; the assembler (``nbstream._assembly``) turns parts
into the public events. Parts are plain slotted dataclasses: they are made once per token and never leave the
package.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._events import ErrorKind, StopReason

__all__ = [
    "EndPart",
    "ErrorPart",
    "FinishPart",
    "Part",
    "ReasoningPart",
    "TextPart",
    "ToolEndPart",
    "ToolPart",
    "UsagePart",
]


@dataclass(slots=True)
class TextPart:
    text: str


@dataclass(slots=True)
class ReasoningPart:
    """A piece of the model's reasoning, and what the wire says about the block it belongs to.

    ``text`` is appended to the block; ``signature``, ``redacted``, ``id`` and ``encrypted`` (any may come with
    any piece; the latest wins) are kept to send the block back. ``key`` names the block on the wire
    (Anthropic's block index, a Responses item and summary part); without one, the piece continues the
    reasoning that came last, unless text or a call came in between.
    """

    text: str = ""
    key: str | int | None = None
    signature: str | None = None
    redacted: str | None = None
    id: str | None = None
    encrypted: str | None = None


@dataclass(slots=True)
class ToolPart:
    """A fragment of a tool call. Any field may be missing; see the assembly rules for where it belongs."""

    id: str | None = None
    index: int | None = None
    name: str | None = None
    arguments: str | None = None


@dataclass(slots=True)
class ToolEndPart:
    """The block / item that carried a call ended: the call is final."""

    id: str | None = None
    index: int | None = None


@dataclass(slots=True)
class UsagePart:
    """Token counts the wire reported so far. ``input_tokens`` counts all input, cached or not (a parser whose
    provider leaves cached input out, Anthropic, adds it back); ``cached_tokens`` is the part of it read from
    the provider's prompt cache, ``cache_write_tokens`` the part written to it (Anthropic says it: those are
    billed above the input rate). ``None``: the wire did not say."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_tokens: int | None = None
    cache_write_tokens: int | None = None


@dataclass(slots=True)
class FinishPart:
    """The model said why it stopped: nothing more comes for any call. More parts (usage, the end marker) may
    follow."""

    reason: StopReason
    raw_reason: str | None = None


@dataclass(slots=True)
class ErrorPart:
    """The provider reported an error in the stream, or a frame could not be read."""

    kind: ErrorKind
    message: str
    retryable: bool = False


@dataclass(slots=True)
class EndPart:
    """The stream's own end marker (``[DONE]``, ``message_stop``, ``done: true``, ``response.completed``)."""


Part = TextPart | ReasoningPart | ToolPart | ToolEndPart | UsagePart | FinishPart | ErrorPart | EndPart
