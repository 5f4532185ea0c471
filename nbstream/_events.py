"""The normalized event model: what every provider's stream becomes.

One tagged union, discriminated on ``type``. Events are pydantic models so that a turn can be logged as JSON
lines and replayed (``EVENTS.dump_json(events)`` / ``EVENTS.validate_json(blob)``).

A model *response* (one HTTP stream) produces, in order of arrival::

    TextDelta* · ToolCallStarted · ToolArgumentsDelta* · ToolCallReady · Usage · MessageFinished | StreamError

A *turn* (one ``Session.send``) is one or more responses; the session adds the tool lifecycle
(``ToolAwaitingApproval`` for ``confirm=True`` tools, ``ToolRunning``, ``ToolOutput*`` while the tool prints
or logs, then ``ToolResult`` or ``ToolError``), ``StepStarted`` between responses, and ends with exactly one
``TurnFinished``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

__all__ = [
    "EVENTS",
    "ErrorKind",
    "Event",
    "MessageFinished",
    "StepStarted",
    "StopReason",
    "StreamError",
    "TextDelta",
    "ToolArgumentsDelta",
    "ToolAwaitingApproval",
    "ToolCallReady",
    "ToolCallStarted",
    "ToolError",
    "ToolErrorKind",
    "ToolOutput",
    "ToolOutputStream",
    "ToolResult",
    "ToolRunning",
    "TurnFinished",
    "TurnReason",
    "Usage",
]

StopReason = Literal["stop", "tool_calls", "length", "content_filter", "other"]
"""Why the model stopped, normalized across providers (the provider's word is kept in ``raw_stop_reason``)."""

ErrorKind = Literal[
    "auth",  # 401 / 403: bad or missing key
    "not_found",  # 404: unknown model or endpoint
    "bad_request",  # other 4xx
    "rate_limited",  # 429 after the retries
    "overloaded",  # 529 / overloaded_error
    "server",  # 5xx after the retries
    "connection",  # could not connect at all
    "interrupted",  # the stream ended or dropped before its end marker
    "stalled",  # no bytes for longer than the read timeout
    "malformed",  # a frame that is not valid JSON or not the provider's shape, or longer than the limit
    "bad_response",  # a 2xx/3xx answer that is not the provider's stream (HTML, plain JSON, a redirect)
    "provider",  # an error event sent by the provider mid-stream
]

ToolErrorKind = Literal[
    "invalid_arguments",  # not JSON, or rejected by the tool's schema: the tool never ran
    "incomplete",  # the stream ended before the call was complete: the tool never ran
    "unknown_tool",  # the model named a tool that is not registered
    "exception",  # the tool raised
    "timeout",  # the tool ran past its timeout
    "cancelled",  # the user stopped the turn
    "denied",  # the user denied a confirm=True tool
]

ToolOutputStream = Literal["stdout", "stderr", "log"]
"""Where a tool's output came from: ``print`` / ``sys.stdout``, ``sys.stderr``, or a ``logging`` record."""

TurnReason = Literal["done", "max_steps", "max_tokens", "cancelled", "error"]
"""How a turn ended: ``max_tokens`` means a response hit the output-token limit inside a tool call."""


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TextDelta(_Event):
    """A piece of assistant text, in arrival order."""

    type: Literal["text_delta"] = "text_delta"
    text: str


class ToolCallStarted(_Event):
    """The model began a tool call. ``position`` counts calls in this response from 0."""

    type: Literal["tool_call_started"] = "tool_call_started"
    id: str
    name: str
    position: int


class ToolArgumentsDelta(_Event):
    """A raw fragment of a call's JSON arguments, plus a best-effort preview of the whole object so far.

    ``partial`` is for display only; it is ``None`` when the preview is switched off or nothing parses yet.
    """

    type: Literal["tool_arguments_delta"] = "tool_arguments_delta"
    id: str
    fragment: str
    partial: Any = None


class ToolCallReady(_Event):
    """A call is final (its block, choice or stream ended).

    ``arguments`` is the parsed object, or ``None`` when ``raw_arguments`` is not a JSON object; then ``error``
    says why and the call is never executed.
    """

    type: Literal["tool_call_ready"] = "tool_call_ready"
    id: str
    name: str
    position: int
    arguments: dict[str, Any] | None
    raw_arguments: str
    error: str | None = None


class ToolAwaitingApproval(_Event):
    """A ``confirm=True`` tool waits for the user to approve or deny this call."""

    type: Literal["tool_awaiting_approval"] = "tool_awaiting_approval"
    id: str
    name: str
    arguments: dict[str, Any]


class ToolRunning(_Event):
    """A tool began executing (``started_at`` is ``time.time()``)."""

    type: Literal["tool_running"] = "tool_running"
    id: str
    name: str
    started_at: float


class ToolOutput(_Event):
    """Text a running tool wrote to ``sys.stdout`` / ``sys.stderr`` or logged, in order, a batch at a time.

    Shown in the tool's place, never sent to the model (its result is the return value alone). A call keeps
    at most 100,000 characters; the last piece kept then ends with a note that the rest was cut.
    """

    type: Literal["tool_output"] = "tool_output"
    id: str
    """The call that wrote it."""
    name: str
    """The tool's name."""
    stream: ToolOutputStream
    """``stdout``, ``stderr``, or ``log`` (a record formatted as ``LEVEL:logger:message``)."""
    text: str
    """The text as written (newlines included); consecutive writes to one stream arrive joined."""


class ToolResult(_Event):
    """A tool returned; ``output`` is the serialized value sent back to the model."""

    type: Literal["tool_result"] = "tool_result"
    id: str
    name: str
    output: str
    duration: float


class ToolError(_Event):
    """A call that produced no result; the message goes back to the model as an error result."""

    type: Literal["tool_error"] = "tool_error"
    id: str
    name: str
    kind: ToolErrorKind
    message: str
    duration: float = 0.0


class Usage(_Event):
    """Token counts as reported by the provider (``None`` when it did not say)."""

    type: Literal["usage"] = "usage"
    input_tokens: int | None = None
    output_tokens: int | None = None


class MessageFinished(_Event):
    """The model's response ended normally."""

    type: Literal["message_finished"] = "message_finished"
    stop_reason: StopReason
    raw_stop_reason: str | None = None


class StreamError(_Event):
    """The response could not finish: an HTTP error, a dropped connection, a provider error event...

    Text and finished tool calls that came before it are kept.
    """

    type: Literal["stream_error"] = "stream_error"
    kind: ErrorKind
    message: str
    retryable: bool = False
    provider: str | None = None


class StepStarted(_Event):
    """The session sends the conversation to the model again (``step`` counts from 1)."""

    type: Literal["step_started"] = "step_started"
    step: int


class TurnFinished(_Event):
    """The last event of a turn: why it ended and how many model responses it took."""

    type: Literal["turn_finished"] = "turn_finished"
    reason: TurnReason
    steps: int
    message: str | None = None


Event = Annotated[
    TextDelta
    | ToolCallStarted
    | ToolArgumentsDelta
    | ToolCallReady
    | ToolAwaitingApproval
    | ToolRunning
    | ToolOutput
    | ToolResult
    | ToolError
    | Usage
    | MessageFinished
    | StreamError
    | StepStarted
    | TurnFinished,
    Field(discriminator="type"),
]

EVENTS: TypeAdapter[list[Event]] = TypeAdapter(list[Event])
"""(De)serializes a list of events: ``EVENTS.dump_json(events)``, ``EVENTS.validate_json(data)``."""
