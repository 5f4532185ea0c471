"""The conversation: user prompts, assistant messages and tool results, in one serializable history."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from ._events import ErrorKind, StopReason, ToolErrorKind
from ._images import ImageData

__all__ = [
    "MESSAGES",
    "AssistantMessage",
    "Reasoning",
    "Message",
    "StreamFailure",
    "TokenUsage",
    "ToolCall",
    "ToolResultMessage",
    "UserMessage",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class ToolCall(_Frozen):
    """A finished tool call, as the model sent it."""

    id: str
    """The call's id; its result answers it by ``ToolResultMessage.call_id``."""
    name: str
    """The tool the model called (``""`` when it named none)."""
    arguments: dict[str, Any] | None
    """The parsed arguments, or ``None`` when ``raw_arguments`` could not be used (see ``error``)."""
    raw_arguments: str
    """The JSON text exactly as the model sent it."""
    error: str | None = None
    """Why the call could not run, as ``ToolCallReady.error`` (whose ``error_kind`` says it for code); ``None``
    when it could."""


class TokenUsage(_Frozen):
    """Token counts of one response, as reported by the provider."""

    input_tokens: int | None = None
    """Tokens the request took; ``None`` when the provider did not say."""
    output_tokens: int | None = None
    """Tokens the response took; ``None`` when the provider did not say."""
    cached_tokens: int | None = None
    """Input tokens read from the provider's prompt cache; ``None`` when the provider did not say."""
    cache_write_tokens: int | None = None
    """Input tokens written to the provider's prompt cache (Anthropic); ``None`` when the provider did not say."""


class StreamFailure(_Frozen):
    """Why a response did not finish (see ``StreamError``)."""

    kind: ErrorKind
    """What went wrong, for code."""
    message: str
    """What went wrong, for people."""
    retryable: bool = False
    """Sending the same request again may work."""
    provider: str | None = None
    """The provider the response came from, when known."""


class UserMessage(_Frozen):
    """A prompt."""

    role: Literal["user"] = "user"
    content: str
    """The prompt's text."""
    images: list[ImageData] = Field(default_factory=list)
    """Images sent with the prompt (``send(prompt, images=[...])``)."""


class Reasoning(_Frozen):
    """One block of a response's reasoning, as the provider sent it.

    Kept to show it, and sent back unchanged where the provider requires it: Anthropic rejects a request whose
    tool-calling assistant message lost its thinking blocks or their signatures, and Responses reasoning items
    go back with their ids (and ``encrypted_content`` when the response was not stored).
    """

    text: str = ""
    """The reasoning as shown: the thinking, or the provider's summary of it; ``""`` when only encrypted."""
    signature: str | None = None
    """Anthropic: the ``signature`` of a ``thinking`` block."""
    redacted: str | None = None
    """Anthropic: the encrypted ``data`` of a ``redacted_thinking`` block (it has no text)."""
    id: str | None = None
    """OpenAI Responses: the reasoning item's id."""
    encrypted: str | None = None
    """OpenAI Responses: the item's ``encrypted_content``, when the request asked for it."""


class AssistantMessage(_Frozen):
    """One model response, as ``nbstream.collect`` assembles it from events."""

    role: Literal["assistant"] = "assistant"
    text: str = ""
    """The response's text (the deltas joined)."""
    reasoning: list[Reasoning] = Field(default_factory=list)
    """The response's reasoning blocks, in order (see ``Reasoning``)."""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    """The calls it made, in call order."""
    stop_reason: StopReason | None = None
    """Why the model stopped; ``None`` when the response did not finish (see ``error``)."""
    raw_stop_reason: str | None = None
    """The provider's own word for it."""
    usage: TokenUsage | None = None
    """Token counts, when the provider reported them."""
    error: StreamFailure | None = None
    """Why the response did not finish; ``None`` when it did."""


class ToolResultMessage(_Frozen):
    """What goes back to the model for one call: the output, or the error message when ``error`` is set."""

    role: Literal["tool"] = "tool"
    call_id: str
    """The ``ToolCall.id`` it answers."""
    name: str
    """The tool."""
    content: str
    """The tool's result as text, or the error message."""
    images: list[ImageData] = Field(default_factory=list)
    """Images the tool returned (``ToolResult.images``)."""
    error: ToolErrorKind | None = None
    """What went wrong, when the call produced no result."""
    duration: float | None = None
    """Seconds the tool ran (``ToolResult.duration`` / ``ToolError.duration``); ``None`` in histories made
    elsewhere. Kept for exports and timelines; provider request builders never send it."""


Message = Annotated[UserMessage | AssistantMessage | ToolResultMessage, Field(discriminator="role")]

MESSAGES: TypeAdapter[list[Message]] = TypeAdapter(list[Message])
"""(De)serializes a whole history: ``MESSAGES.dump_json(session.messages)``."""
