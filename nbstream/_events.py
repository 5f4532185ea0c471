"""The normalized event model: what every provider's stream becomes.

One tagged union, discriminated on ``type``. Events are pydantic models so that a turn can be logged as JSON
lines and replayed (``EVENTS.dump_json(events)`` / ``EVENTS.validate_json(blob)``).

A model *response* (one HTTP stream) produces, in order of arrival::

    (ReasoningDelta | TextDelta | ToolCallStarted · ToolArgumentsDelta* · ToolCallReady)* · Usage ·
    MessageFinished | StreamError

A *turn* (one ``Session.send``) is one or more responses; the session adds the tool lifecycle
(``ToolAwaitingApproval`` for ``confirm=True`` tools, ``ToolRunning``, ``ToolOutput*`` while the tool prints
or logs and ``ToolProgress*`` while it reports progress, then ``ToolResult`` or ``ToolError``),
``StepStarted`` between responses, and ends with exactly one ``TurnFinished``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from ._images import ImageData
from ._metrics import TurnMetrics

__all__ = [
    "EVENTS",
    "CallErrorKind",
    "ErrorKind",
    "Event",
    "MessageFinished",
    "ReasoningDelta",
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
    "ToolProgress",
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

CallErrorKind = Literal[
    "invalid_json",  # the arguments are not a JSON object (or nest more than 100 levels deep)
    "no_name",  # the model named no tool
    "incomplete",  # the stream broke before the call was final
    "truncated",  # the response hit the output-token limit inside the call: its JSON never closed
]
"""Why a ready call cannot run (``ToolCallReady.error_kind``); the tool is never called."""

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
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class TextDelta(_Event):
    """A piece of assistant text, in arrival order."""

    type: Literal["text_delta"] = "text_delta"
    text: str
    """The new text; joined in order, the deltas are the response's text."""


class ReasoningDelta(_Event):
    """A piece of the model's reasoning (its thinking, or the provider's summary of it), in arrival order.

    Shown to the user, never part of the answer's text. Reasoning the provider sends only encrypted (Anthropic's
    ``redacted_thinking``, Responses' ``encrypted_content``) has no delta; it is kept in
    ``AssistantMessage.reasoning`` to be sent back.
    """

    type: Literal["reasoning_delta"] = "reasoning_delta"
    text: str
    """The new reasoning text."""


class ToolCallStarted(_Event):
    """The model began a tool call."""

    type: Literal["tool_call_started"] = "tool_call_started"
    id: str
    """The call's id, unique in the response: the provider's, made unique (``<id>_2``) for a second call sent
    under it, or a made-up ``call_<n>`` when the provider sent none."""
    name: str
    """The tool the model calls."""
    position: int
    """The call's place among this response's calls, from 0; results go back in this order."""


class ToolArgumentsDelta(_Event):
    """A raw fragment of a call's JSON arguments, plus a best-effort preview of the whole value so far."""

    type: Literal["tool_arguments_delta"] = "tool_arguments_delta"
    id: str
    """The call the fragment belongs to."""
    fragment: str
    """The next piece of the JSON text, as sent; joined in order, the fragments are ``raw_arguments``."""
    partial: Any = None
    """For display only: the value the text so far reads as (an open string shows what it holds so far).
    ``None`` with ``previews=False``, while nothing is whole enough to show, and for good once the text cannot
    be JSON. Past 4,096 characters it is refreshed each time the text has grown by a quarter, and repeated in
    between. Arguments are parsed strictly, once, into ``ToolCallReady.arguments``."""


class ToolCallReady(_Event):
    """A call is final (its block, choice or stream ended); a call that can run runs now."""

    type: Literal["tool_call_ready"] = "tool_call_ready"
    id: str
    """The call's id, as in its ``ToolCallStarted``."""
    name: str
    """The tool the model calls (``""`` when it named none: ``error_kind`` is then ``no_name``)."""
    position: int
    """The call's place among this response's calls, from 0."""
    arguments: dict[str, Any] | None
    """The parsed arguments, or ``None`` when the call cannot run (see ``error``)."""
    raw_arguments: str
    """The JSON text exactly as the model sent it."""
    error: str | None = None
    """Why the call cannot run, for people and for the model; ``None`` when it can."""
    error_kind: CallErrorKind | None = None
    """Why the call cannot run, for code: set exactly when ``error`` is."""


class ToolAwaitingApproval(_Event):
    """A ``confirm=True`` tool waits for the user to approve or deny this call."""

    type: Literal["tool_awaiting_approval"] = "tool_awaiting_approval"
    id: str
    """The call waiting: pass it to ``Session.approve`` or ``Session.deny``."""
    name: str
    """The tool."""
    arguments: dict[str, Any]
    """The arguments it would run with."""


class ToolRunning(_Event):
    """A tool began executing."""

    type: Literal["tool_running"] = "tool_running"
    id: str
    """The call."""
    name: str
    """The tool."""
    started_at: float
    """When it started, as ``time.time()``."""


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


class ToolProgress(_Event):
    """A running tool reported how far it got (``nbstream.Progress``, a generator tool, MCP progress).

    Shown in the tool's place, never sent to the model. Updates are throttled: a call reports at most one per
    ``Progress.INTERVAL`` seconds, and the last one always arrives before its result.
    """

    type: Literal["tool_progress"] = "tool_progress"
    id: str
    """The call reporting."""
    name: str
    """The tool's name."""
    message: str | None = None
    """What the tool is doing now, for people; ``None`` keeps the previous message."""
    fraction: float | None = None
    """How much is done, from 0 to 1; ``None`` when the tool cannot tell (an indeterminate bar)."""


class ToolResult(_Event):
    """A tool returned."""

    type: Literal["tool_result"] = "tool_result"
    id: str
    """The call."""
    name: str
    """The tool."""
    output: str
    """The returned value as the text sent back to the model (cut at 20,000 characters)."""
    duration: float
    """Seconds the tool ran (0 for a replayed call whose earlier result was reused)."""
    images: list[ImageData] = Field(default_factory=list)
    """Images the tool returned, shown in its place and sent to the model where the provider takes images in
    tool results."""


class ToolError(_Event):
    """A call that produced no result; the message goes back to the model as an error result."""

    type: Literal["tool_error"] = "tool_error"
    id: str
    """The call."""
    name: str
    """The tool (as the model named it)."""
    kind: ToolErrorKind
    """What went wrong, for code."""
    message: str
    """What went wrong, as the model is told."""
    duration: float = 0.0
    """Seconds the tool ran before it failed; 0 when it never ran."""


class Usage(_Event):
    """Token counts as reported by the provider, once per response."""

    type: Literal["usage"] = "usage"
    input_tokens: int | None = None
    """Tokens the request took; ``None`` when the provider did not say."""
    output_tokens: int | None = None
    """Tokens the response took; ``None`` when the provider did not say."""
    cached_tokens: int | None = None
    """Input tokens read from the provider's prompt cache (counted in ``input_tokens``); ``None``: not said."""
    cache_write_tokens: int | None = None
    """Input tokens written to the provider's prompt cache (counted in ``input_tokens``, billed above the input
    rate); only Anthropic says it. ``None``: not said."""


class MessageFinished(_Event):
    """The model's response ended normally."""

    type: Literal["message_finished"] = "message_finished"
    stop_reason: StopReason
    """Why the model stopped, normalized across providers."""
    raw_stop_reason: str | None = None
    """The provider's own word for it (``end_turn``, ``tool_calls``, ``max_output_tokens``...)."""


class StreamError(_Event):
    """The response could not finish: an HTTP error, a dropped connection, a provider error event...

    Text and finished tool calls that came before it are kept.
    """

    type: Literal["stream_error"] = "stream_error"
    kind: ErrorKind
    """What went wrong, for code."""
    message: str
    """What went wrong, for people: the provider's own message when it sent one."""
    retryable: bool = False
    """Sending the same request again may work (a rate limit, an overload, a dropped connection)."""
    provider: str | None = None
    """The provider the response came from (``openai``, ``anthropic``...), when known."""


class StepStarted(_Event):
    """The session sends the conversation to the model again."""

    type: Literal["step_started"] = "step_started"
    step: int
    """Which model response of the turn this is, from 1."""


class TurnFinished(_Event):
    """The last event of a turn: why it ended and how many model responses it took."""

    type: Literal["turn_finished"] = "turn_finished"
    reason: TurnReason
    """How the turn ended."""
    steps: int
    """Model responses the turn took."""
    message: str | None = None
    """Why the turn ended early (an error, a limit, a stop), for people; ``None`` when it is done."""
    metrics: TurnMetrics | None = None
    """What the turn cost and how fast it was; ``None`` for turns finished outside a session (``collect``)."""


Event = Annotated[
    TextDelta
    | ReasoningDelta
    | ToolCallStarted
    | ToolArgumentsDelta
    | ToolCallReady
    | ToolAwaitingApproval
    | ToolRunning
    | ToolOutput
    | ToolProgress
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
