"""The conversation: user prompts, assistant messages and tool results, in one serializable history."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from ._events import ErrorKind, StopReason, ToolErrorKind

__all__ = [
    "MESSAGES",
    "AssistantMessage",
    "Message",
    "StreamFailure",
    "TokenUsage",
    "ToolCall",
    "ToolResultMessage",
    "UserMessage",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ToolCall(_Frozen):
    """A finished tool call. ``arguments`` is ``None`` when ``raw_arguments`` is not a JSON object."""

    id: str
    name: str
    arguments: dict[str, Any] | None
    raw_arguments: str
    error: str | None = None


class TokenUsage(_Frozen):
    input_tokens: int | None = None
    output_tokens: int | None = None


class StreamFailure(_Frozen):
    """Why a response did not finish (see ``StreamError``)."""

    kind: ErrorKind
    message: str
    retryable: bool = False
    provider: str | None = None


class UserMessage(_Frozen):
    role: Literal["user"] = "user"
    content: str


class AssistantMessage(_Frozen):
    """One model response, as ``nbstream.collect`` assembles it from events."""

    role: Literal["assistant"] = "assistant"
    text: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    stop_reason: StopReason | None = None
    raw_stop_reason: str | None = None
    usage: TokenUsage | None = None
    error: StreamFailure | None = None


class ToolResultMessage(_Frozen):
    """What goes back to the model for one call: the output, or the error message when ``error`` is set."""

    role: Literal["tool"] = "tool"
    call_id: str
    name: str
    content: str
    error: ToolErrorKind | None = None
    duration: float | None = None
    """Seconds the tool ran (``ToolResult.duration`` / ``ToolError.duration``); ``None`` in histories made
    elsewhere. Kept for exports and timelines; provider request builders never send it."""


Message = Annotated[UserMessage | AssistantMessage | ToolResultMessage, Field(discriminator="role")]

MESSAGES: TypeAdapter[list[Message]] = TypeAdapter(list[Message])
"""(De)serializes a whole history: ``MESSAGES.dump_json(session.messages)``."""
