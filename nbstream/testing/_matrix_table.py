"""The fault matrix's table: each ``Row`` declares one fault, how to inject it, and what must come out.

Every case plays one script: text, a call to a ``lookup`` tool, more text while the call runs, then the
answer to the tool result (the reasoning rows think before each response). A row's ``plan`` places its
faults by the wire's ``Shape`` (where the call and the text fall among the frames of the first response); its
``Expected`` says how the turn must end, which text, reasoning and tool results are kept, how many requests
the server gets and how long it may take, per wire where the wires differ. ``matrix`` runs the rows and
judges the outcomes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from .._encode import Action, Call, Say, Think, TokenLimit, encode_step
from .._events import ErrorKind, TurnReason
from .._providers import WIRE_FORMATS, WireFormat, for_wire
from .._wire import MAX_FRAME_SIZE
from ._faults import (
    DropConnection,
    Duplicate,
    Fault,
    HttpStatus,
    Latency,
    MalformedEvent,
    NotAStream,
    ProviderError,
    Rechunk,
    Redirect,
    SlowHeaders,
    Stall,
    Truncate,
)

__all__ = [
    "ARGUMENTS",
    "CASE_LIMIT",
    "FAULTS",
    "OUTPUT",
    "Expected",
    "Plan",
    "Row",
    "Shape",
    "shape_of",
]

ARGUMENTS: dict[str, Any] = {"city": "Paris", "days": 2}
OSLO: dict[str, Any] = {"city": "Oslo", "days": 1}
OUTPUT = "Paris: sunny for 2 days"
BEFORE_CALL = Say("Let me look that up for you.")
AFTER_CALL = Say("Still streaming after the call, more words here.", chunk=2)
ANSWER = Say("Paris will be sunny for the next two days.")
THOUGHT = Think("The user wants Paris weather for two days so I will call lookup with city Paris.", chunk=3)
AFTERTHOUGHT = Think("The lookup says sunny so I can answer now.")
READ_TIMEOUT = 5.0  # bounds any unexpected hang; the stall rows use STALL_TIMEOUT
STALL_TIMEOUT = 0.5
CASE_LIMIT = 20.0  # a case running longer than this has hung

ToolOutcome = Literal["result", "incomplete", "reused", "no_call"]


def output_for(arguments: dict[str, Any]) -> str:
    """What the matrix's ``lookup`` tool returns for these arguments."""
    return f"{arguments['city']}: sunny for {arguments['days']} days"


TextOutcome = Literal["all", "first", "partial", "none"]


@dataclass(frozen=True)
class Expected:
    """What a case must end with.

    ``text``: ``all`` the scripted text, the ``first`` response's, the ``partial`` text sent before the
    fault, or ``none``; ``reasoning`` likewise, for the reasoning streamed and kept in the history. ``tool``:
    ``result`` (each of the plan's calls ran once with its own arguments, in order, and each result is kept),
    ``incomplete`` (the call never became whole: it never ran, an error result is kept), ``reused`` (a
    replayed call id ran once, its result reused), ``no_call``. ``cause`` is a regex the turn's message must
    match (besides naming the provider, for errors); ``requests`` counts the HTTP requests the server got,
    retries included. With several prompts sent, all this is about the last turn.
    """

    reason: TurnReason
    error: ErrorKind | None = None
    cause: str | None = None
    text: TextOutcome = "all"
    reasoning: TextOutcome = "all"
    tool: ToolOutcome = "result"
    requests: int = 2
    min_seconds: float = 0.0
    max_seconds: float = CASE_LIMIT

    @property
    def label(self) -> str:
        return self.reason if self.error is None else f"{self.reason}/{self.error}"


@dataclass(frozen=True)
class Shape:
    """Where things are in the wire's encoding of the first response, found by looking at its bytes."""

    wire: WireFormat
    frames: list[bytes]
    call_id: str
    call_frames: frozenset[int]  # frames naming the call id (start, and end where the wire repeats it)
    closing_frames: frozenset[int]  # every frame after the last text delta: finish reason, usage, end marker
    after_call: int  # frames sent before a mid-stream fault: up to the first text after the call
    in_call: int  # frames sent before a mid-call fault: up to the call's first argument fragment
    partial_text: str  # the text of the frames before ``after_call``


@dataclass(frozen=True)
class Plan:
    """What one case plays: the server's steps and faults, the text sent before the fault, session options."""

    steps: list[list[Action]]
    faults: list[Fault]
    partial_text: str = ""
    partial_reasoning: str = ""
    read_timeout: float = READ_TIMEOUT
    max_retries: int = 2
    max_frame_size: int = MAX_FRAME_SIZE
    calls: tuple[dict[str, Any], ...] = (ARGUMENTS,)
    """The arguments the tool must run with, once each, in order (for ``tool="result"``)."""
    prompts: int = 1
    """Turns sent one after another; the expectation judges the last one."""

    @property
    def full_text(self) -> str:
        return "".join(_said(step) for step in self.steps)

    @property
    def full_reasoning(self) -> str:
        return "".join(action.text for step in self.steps for action in step if isinstance(action, Think))

    @property
    def first_reasoning(self) -> str:
        return "".join(action.text for action in self.steps[0] if isinstance(action, Think))

    @property
    def first_text(self) -> str:
        return _said(self.steps[0])


def _said(step: Sequence[Action]) -> str:
    return "".join(action.text for action in step if isinstance(action, Say))


@dataclass(frozen=True)
class Row:
    """One fault: how to inject it on a wire, and what must come out (per wire where wires differ)."""

    name: str
    plan: Callable[[Shape], Plan]
    expect: Expected | dict[WireFormat, Expected]
    note: str = ""

    def expected(self, wire: WireFormat) -> Expected:
        return self.expect[wire] if isinstance(self.expect, dict) else self.expect


# --- the script and where faults go ----------------------------------------------------------------------


def _script() -> list[list[Action]]:
    """Text, a call, more text while the call runs; then the answer to the tool result."""
    return [[BEFORE_CALL, Call("lookup", ARGUMENTS), AFTER_CALL], [ANSWER]]


def shape_of(wire: WireFormat) -> Shape:
    provider = for_wire(wire)
    frames = [frame.data for frame in encode_step(provider.encoder, _script()[0], model="m")]
    identifier = provider.encoder.call_id(1)
    quoted_id = f'"{identifier}"'.encode()
    call_frames = frozenset(i for i, data in enumerate(frames) if quoted_id in data)
    first_delta = AFTER_CALL.deltas()[0]
    text_after = next(i for i, data in enumerate(frames) if f'"{first_delta}"'.encode() in data)
    last_delta = AFTER_CALL.deltas()[-1]
    last_text = max(i for i, data in enumerate(frames) if f'"{last_delta}"'.encode() in data)
    call_start = min(call_frames)
    fragment = Call("lookup", ARGUMENTS).fragments()[0].replace('"', '\\"').encode()
    with_fragment = [i for i, data in enumerate(frames) if i >= call_start and fragment in data]
    return Shape(
        wire=wire,
        frames=frames,
        call_id=identifier,
        call_frames=call_frames,
        closing_frames=frozenset(range(last_text + 1, len(frames))),
        after_call=text_after + 1,
        in_call=(with_fragment[0] if with_fragment else call_start) + 1,
        partial_text=BEFORE_CALL.text + first_delta,
    )


def _faulty(*faults: Fault, **options: Any) -> Callable[[Shape], Plan]:
    return lambda shape: Plan(_script(), list(faults), shape.partial_text, **options)


def _mid_stream(make: Callable[[Shape], Fault], **options: Any) -> Callable[[Shape], Plan]:
    """A fault placed by the wire's shape, usually just after the first text that follows the call."""
    return lambda shape: Plan(_script(), [make(shape)], shape.partial_text, **options)


def _replayed(shape: Shape) -> Plan:
    """The same call id in two responses, as a replayed stream would send it."""
    again = Say("Let me check that once more.")
    call = Call("lookup", ARGUMENTS, id=shape.call_id)
    return Plan([[BEFORE_CALL, call], [again, call], [ANSWER]], [])


def _duplicated(shape: Shape) -> Plan:
    return Plan(_script(), [Duplicate(frames=shape.call_frames | shape.closing_frames)])


def _dropped(shape: Shape) -> Plan:
    sent = sum(map(len, shape.frames[: shape.after_call]))
    cut = sent + len(shape.frames[shape.after_call]) // 2  # inside the next frame
    return Plan(_script(), [DropConnection(after_bytes=cut)], shape.partial_text)


def _cut_in_call(shape: Shape) -> Plan:
    return Plan(_script(), [Truncate(after_frames=shape.in_call)], BEFORE_CALL.text)


def _two_responses(first: Call, second: Call) -> Callable[[Shape], Plan]:
    """Two responses that each call ``lookup`` for another city, then the answer."""
    steps: list[list[Action]] = [[BEFORE_CALL, first], [Say("And now the other city."), second], [ANSWER]]
    return lambda shape: Plan(steps, [], calls=(ARGUMENTS, OSLO))


def _one_id_twice(shape: Shape) -> Plan:
    """Two calls with one id in one response (OpenRouter engines, GLM / Kimi-style ids)."""
    calls = [Call("lookup", ARGUMENTS, id="call_dup"), Call("lookup", OSLO, id="call_dup")]
    return Plan([[BEFORE_CALL, *calls, AFTER_CALL], [ANSWER]], [], calls=(ARGUMENTS, OSLO))


def _whole_arguments(shape: Shape) -> Plan:
    return Plan([[BEFORE_CALL, Call("lookup", ARGUMENTS, whole=True), AFTER_CALL], [ANSWER]], [])


def _oversized(shape: Shape) -> Plan:
    """A text delta longer than the session's ``max_frame_size``: never buffered, the turn ends malformed."""
    huge = Say("word " * 2_000, chunk=10_000)
    return Plan([[BEFORE_CALL, huge], [ANSWER]], [], BEFORE_CALL.text, max_frame_size=4_096)


def _failed_then_good(shape: Shape) -> Plan:
    """A turn that fails before its first byte, then a turn that must work: the history stays valid."""
    return Plan(_script(), [HttpStatus(503, retry_after=0, requests={0})], max_retries=0, prompts=2)


def _cut_in_call_by_the_token_limit(shape: Shape) -> Plan:
    cut = Call("lookup", '{"city": "Par', fragment=4)
    return Plan([[BEFORE_CALL, cut, TokenLimit()]], [])


def _thinking() -> list[list[Action]]:
    """The script, thinking before each response."""
    first, second = _script()
    return [[THOUGHT, *first], [AFTERTHOUGHT, *second]]


def _reasoned(shape: Shape) -> Plan:
    return Plan(_thinking(), [])


def _dropped_in_reasoning(shape: Shape) -> Plan:
    """The connection drops inside the reasoning's third frame: two pieces of it arrived, no text."""
    frames = [f.data for f in encode_step(for_wire(shape.wire).encoder, _thinking()[0], model="m")]
    pieces = THOUGHT.deltas()
    third = next(i for i, data in enumerate(frames) if f'"{pieces[2]}"'.encode() in data)
    cut = sum(map(len, frames[:third])) + len(frames[third]) // 2
    return Plan(_thinking(), [DropConnection(after_bytes=cut)], partial_reasoning="".join(pieces[:2]))


def _per_wire(default: Expected, **changes: dict[str, Any]) -> dict[WireFormat, Expected]:
    """``default`` for every wire, with some fields changed for the wires named (``openai_chat=...``)."""
    return {wire: replace(default, **changes.get(wire.replace("-", "_"), {})) for wire in WIRE_FORMATS}


_DONE = Expected("done")
_MID_STREAM_NOTE = "openai-chat ends a call only at finish_reason: the cut call is incomplete and never runs"
_CHAT_INCOMPLETE = {"tool": "incomplete"}
_CUT_BEFORE_END = {
    "reason": "error",
    "error": "interrupted",
    "cause": "end marker",
    "text": "first",
    "requests": 1,
}


def _failed(kind: ErrorKind, cause: str, **fields: Any) -> Expected:
    return Expected("error", kind, cause, **fields)


def _mid(kind: ErrorKind, cause: str, **fields: Any) -> dict[WireFormat, Expected]:
    return _per_wire(_failed(kind, cause, text="partial", requests=1, **fields), openai_chat=_CHAT_INCOMPLETE)


def _http(kind: ErrorKind, cause: str, requests: int) -> Expected:
    return _failed(kind, cause, text="none", tool="no_call", requests=requests)


FAULTS: list[Row] = [
    Row("none", _faulty(), _DONE),
    Row("latency + jitter", _faulty(Latency(seconds=0.002, jitter=0.004, seed=3)), _DONE),
    Row("re-chunked", _faulty(Rechunk(seed=11, delay=0.0002)), _DONE),
    Row("duplicated events", _duplicated, _DONE, "the call's frames and the closing frames sent twice"),
    Row("replayed stream", _replayed, Expected("done", tool="reused", requests=3), "same call id twice"),
    Row(
        "dropped mid-stream",
        _dropped,
        _mid("interrupted", r"interrupted"),
        _MID_STREAM_NOTE + "; never retried once output began",
    ),
    Row(
        "stalled mid-stream",
        _mid_stream(lambda s: Stall(after_frames=s.after_call, seconds=None), read_timeout=STALL_TIMEOUT),
        _mid(
            "stalled",
            r"stalled",
            min_seconds=STALL_TIMEOUT * 0.9,
            max_seconds=STALL_TIMEOUT + 2.0,
        ),
        f"Session(read_timeout={STALL_TIMEOUT})",
    ),
    Row(
        "malformed event",
        _mid_stream(lambda s: MalformedEvent(after_frames=s.after_call)),
        _mid("malformed", r"malformed"),
    ),
    Row(
        "truncated: no end marker",
        _faulty(Truncate()),
        _per_wire(
            _DONE,
            openai_responses=_CUT_BEFORE_END,
            ollama=_CUT_BEFORE_END,
        ),
        "openai-chat and anthropic sent their finish reason: complete without [DONE] / message_stop",
    ),
    Row(
        "truncated mid-call",
        _cut_in_call,
        _per_wire(
            _failed("interrupted", "end marker", text="partial", tool="incomplete", requests=1),
            ollama={"tool": "result"},
        ),
        "ollama sends a call whole, so it is complete",
    ),
    Row(
        "provider error event",
        _mid_stream(lambda s: ProviderError(after_frames=s.after_call, message="Overloaded")),
        _per_wire(
            _failed("provider", "Overloaded", text="partial", requests=1),
            openai_chat=_CHAT_INCOMPLETE,
            anthropic={"error": "overloaded"},
        ),
    ),
    Row(
        "HTTP 401",
        _faulty(HttpStatus(401)),
        _per_wire(
            _http("auth", r"401.*OPENAI_API_KEY", 1),
            anthropic={"cause": r"401.*ANTHROPIC_API_KEY"},
            ollama={"cause": r"401.*credentials"},
        ),
    ),
    Row("HTTP 404", _faulty(HttpStatus(404)), _http("not_found", r"404.*not found", 1)),
    Row(
        "HTTP 429 ×3, then OK",
        _faulty(HttpStatus(429, retry_after=0.05, requests={0, 1, 2}), max_retries=3),
        Expected("done", requests=5, min_seconds=0.15, max_seconds=2.5),
        "Retry-After: 0.05 honoured: 3 waits, where the default backoff would wait 2.6 s or more",
    ),
    Row(
        "HTTP 429 persistent",
        _faulty(HttpStatus(429, retry_after=0.05)),
        _http("rate_limited", r"429.*after 2 retries", 3),
    ),
    Row(
        "HTTP 500 persistent",
        _faulty(HttpStatus(500), max_retries=1),
        _http("server", r"500.*after 1 retr", 2),
        "max_retries=1, exponential backoff",
    ),
    Row(
        "HTTP 503, then OK",
        _faulty(HttpStatus(503, retry_after=0, requests={0})),
        Expected("done", requests=3),
    ),
    Row(
        "HTTP 529 persistent",
        _faulty(HttpStatus(529, retry_after=0)),
        _http("overloaded", r"529.*overloaded", 3),
    ),
    Row("slow headers", _faulty(SlowHeaders(seconds=0.3, requests={0})), Expected("done", min_seconds=0.3)),
    Row(
        "id-less calls in two responses",
        _two_responses(Call("lookup", ARGUMENTS, id=""), Call("lookup", OSLO, id="")),
        Expected("done", requests=3),
        "Ollama before 0.12.10 sends no ids: made-up ids never repeat in a session, so each city runs",
    ),
    Row(
        "one id, new arguments",
        _two_responses(Call("lookup", ARGUMENTS, id="call_7"), Call("lookup", OSLO, id="call_7")),
        Expected("done", requests=3),
        "only a call with the same id, name and arguments reuses a result",
    ),
    Row("one id, two calls in a response", _one_id_twice, _DONE, "never glued, never dropped"),
    Row(
        "whole arguments, no deltas",
        _whole_arguments,
        _DONE,
        "Anthropic input in content_block_start; Responses arguments only in output_item.done",
    ),
    Row(
        "HTTP 200 page, not a stream",
        _faulty(NotAStream()),
        _http("bad_response", r"200.*text/html", 1),
    ),
    Row("HTTP 307 redirect", _faulty(Redirect(307)), _http("bad_response", r"307.*redirect", 1)),
    Row(
        "oversized line",
        _oversized,
        _failed("malformed", r"longer than", text="partial", tool="no_call", requests=1),
        "Session(max_frame_size=4096): a 10 KB text delta",
    ),
    Row(
        "failed turn, then a good one",
        _failed_then_good,
        Expected("done", requests=3),
        "no empty assistant message is sent back after the failure",
    ),
    Row(
        "token limit inside a call",
        _cut_in_call_by_the_token_limit,
        _per_wire(
            Expected("max_tokens", cause="output tokens", text="first", tool="incomplete", requests=1),
            ollama={"reason": "done", "cause": None, "tool": "no_call"},
        ),
        "finish_reason length / max_tokens / incomplete: the turn ends instead of asking again; ollama parses"
        " calls whole out of the model's output, so a cut one never arrives",
    ),
    Row(
        "reasoning, then a call",
        _reasoned,
        _DONE,
        "the server refuses a history that drops the reasoning where the API needs it back (anthropic,"
        " openai-responses)",
    ),
    Row(
        "dropped mid-reasoning",
        _dropped_in_reasoning,
        _failed("interrupted", r"interrupted", text="none", reasoning="partial", tool="no_call", requests=1),
        "the reasoning that arrived is shown and kept",
    ),
    Row(
        "slow headers > read timeout",
        _faulty(SlowHeaders(seconds=STALL_TIMEOUT + 1.5), read_timeout=STALL_TIMEOUT),
        _failed(
            "stalled", r"stall", text="none", tool="no_call", requests=1, max_seconds=STALL_TIMEOUT + 1.2
        ),
        f"Session(read_timeout={STALL_TIMEOUT}): waiting for the status line is a stall too",
    ),
]
"""The rows of the matrix, each run on every wire format."""
