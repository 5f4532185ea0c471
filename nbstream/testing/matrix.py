"""The fault matrix: every injectable fault × every wire format, each outcome checked against a table.

Each case starts a ``ProviderServer`` whose script streams text, calls a counting tool, then streams more
text, and runs one real ``Session`` turn against it over loopback HTTP. The outcome is compared with the
row's expectation: the kernel survives (the turn ends with one ``TurnFinished``, nothing left running); an
error names the provider and the cause; partial text and finished tool results are kept; no call id runs
twice; no tool runs with invalid or incomplete arguments.

``python -m nbstream.testing.matrix`` prints the table and exits 1 when any outcome is wrong;
``run_matrix()`` returns the outcomes for tests. Most of this module is the table (``FAULTS``) and the checks.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from .._encode import Call, Say, Step, call_id, encode_turn
from .._events import (
    ErrorKind,
    Event,
    StreamError,
    TextDelta,
    ToolCallReady,
    ToolError,
    ToolResult,
    ToolRunning,
    TurnFinished,
    TurnReason,
)
from .._messages import AssistantMessage, ToolResultMessage
from .._session import Session
from .._tools import Tool
from .._wire import WIRE_FORMATS, WireFormat
from ._faults import (
    DropConnection,
    Duplicate,
    Fault,
    HttpStatus,
    Latency,
    MalformedEvent,
    ProviderError,
    Rechunk,
    SlowHeaders,
    Stall,
    Truncate,
)
from ._server import ProviderServer

__all__ = [
    "FAULTS",
    "PROVIDERS",
    "Expected",
    "Outcome",
    "Row",
    "main",
    "run_case",
    "run_matrix",
    "run_matrix_async",
    "table",
]

PROVIDERS: dict[WireFormat, str] = {
    "openai-chat": "openai",
    "openai-responses": "openai-responses",
    "anthropic": "anthropic",
    "ollama": "ollama",
}
"""The provider a session names to get each wire format (``Session(model="<provider>:m")``)."""

ARGUMENTS: dict[str, Any] = {"city": "Paris", "days": 2}
OUTPUT = "Paris: sunny for 2 days"
BEFORE_CALL = Say("Let me look that up for you.")
AFTER_CALL = Say("Still streaming after the call, more words here.", chunk=2)
ANSWER = Say("Paris will be sunny for the next two days.")
READ_TIMEOUT = 5.0  # bounds any unexpected hang; the stall rows use STALL_TIMEOUT
STALL_TIMEOUT = 0.5
CASE_LIMIT = 20.0  # a case running longer than this has hung

ToolOutcome = Literal["result", "incomplete", "reused", "no_call"]
TextOutcome = Literal["all", "first", "partial", "none"]


@dataclass(frozen=True)
class Expected:
    """What a case must end with.

    ``text``: ``all`` the scripted text, the ``first`` response's, the ``partial`` text sent before the
    fault, or ``none``. ``tool``: ``result`` (ran once, result kept), ``incomplete`` (the call never became
    whole: it never ran, an error result is kept), ``reused`` (a replayed call id ran once, its result
    reused), ``no_call``. ``cause`` is a regex the turn's message must match besides naming the provider;
    ``requests`` counts the HTTP requests the server got, retries included.
    """

    reason: TurnReason
    error: ErrorKind | None = None
    cause: str | None = None
    text: TextOutcome = "all"
    tool: ToolOutcome = "result"
    requests: int = 2
    min_seconds: float = 0.0
    max_seconds: float = CASE_LIMIT

    @property
    def label(self) -> str:
        return self.reason if self.error is None else f"{self.reason}/{self.error}"


@dataclass(frozen=True)
class _Shape:
    """Where things are in the wire's encoding of the first response, found by looking at its bytes."""

    frames: list[bytes]
    call_id: str
    call_frames: frozenset[int]  # frames naming the call id (start, and end where the wire repeats it)
    closing_frames: frozenset[int]  # every frame after the last text delta: finish reason, usage, end marker
    after_call: int  # frames sent before a mid-stream fault: up to the first text after the call
    in_call: int  # frames sent before a mid-call fault: up to the call's first argument fragment
    partial_text: str  # the text of the frames before ``after_call``


@dataclass(frozen=True)
class _Plan:
    turns: list[list[Step]]
    faults: list[Fault]
    partial_text: str = ""
    read_timeout: float = READ_TIMEOUT
    max_retries: int = 2

    @property
    def full_text(self) -> str:
        return "".join(_said(turn) for turn in self.turns)

    @property
    def first_text(self) -> str:
        return _said(self.turns[0])


def _said(turn: Sequence[Step]) -> str:
    return "".join(step.text for step in turn if isinstance(step, Say))


@dataclass(frozen=True)
class Row:
    """One fault: how to inject it on a wire, and what must come out (per wire where wires differ)."""

    name: str
    plan: Callable[[_Shape], _Plan]
    expect: Expected | dict[WireFormat, Expected]
    note: str = ""

    def expected(self, wire: WireFormat) -> Expected:
        return self.expect[wire] if isinstance(self.expect, dict) else self.expect


@dataclass
class Outcome:
    """What one case did, and every way it differs from the expectation (``problems``; empty when right)."""

    wire: WireFormat
    fault: str
    expected: Expected
    reason: str = "none"
    error: ErrorKind | None = None
    message: str | None = None
    text_kept: str = ""
    tools_ran: str = ""
    requests: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def got(self) -> str:
        return self.reason if self.error is None else f"{self.reason}/{self.error}"


# --- the script and where faults go ----------------------------------------------------------------------


def _script() -> list[list[Step]]:
    """Text, a call, more text while the call runs; then the answer to the tool result."""
    return [[BEFORE_CALL, Call("lookup", ARGUMENTS), AFTER_CALL], [ANSWER]]


def _shape(wire: WireFormat) -> _Shape:
    frames = [frame.data for frame in encode_turn(wire, _script()[0], model="m")]
    identifier = call_id(wire, 1)
    quoted_id = f'"{identifier}"'.encode()
    call_frames = frozenset(i for i, data in enumerate(frames) if quoted_id in data)
    first_delta = AFTER_CALL.deltas()[0]
    text_after = next(i for i, data in enumerate(frames) if f'"{first_delta}"'.encode() in data)
    last_delta = AFTER_CALL.deltas()[-1]
    last_text = max(i for i, data in enumerate(frames) if f'"{last_delta}"'.encode() in data)
    call_start = min(call_frames)
    fragment = Call("lookup", ARGUMENTS).fragments()[0].replace('"', '\\"').encode()
    with_fragment = [i for i, data in enumerate(frames) if i >= call_start and fragment in data]
    return _Shape(
        frames=frames,
        call_id=identifier,
        call_frames=call_frames,
        closing_frames=frozenset(range(last_text + 1, len(frames))),
        after_call=text_after + 1,
        in_call=(with_fragment[0] if with_fragment else call_start) + 1,
        partial_text=BEFORE_CALL.text + first_delta,
    )


def _faulty(*faults: Fault, **options: Any) -> Callable[[_Shape], _Plan]:
    return lambda shape: _Plan(_script(), list(faults), shape.partial_text, **options)


def _mid_stream(make: Callable[[_Shape], Fault], **options: Any) -> Callable[[_Shape], _Plan]:
    """A fault placed by the wire's shape, usually just after the first text that follows the call."""
    return lambda shape: _Plan(_script(), [make(shape)], shape.partial_text, **options)


def _replayed(shape: _Shape) -> _Plan:
    """The same call id in two responses, as a replayed stream would send it."""
    again = Say("Let me check that once more.")
    call = Call("lookup", ARGUMENTS, id=shape.call_id)
    return _Plan([[BEFORE_CALL, call], [again, call], [ANSWER]], [])


def _duplicated(shape: _Shape) -> _Plan:
    return _Plan(_script(), [Duplicate(frames=shape.call_frames | shape.closing_frames)])


def _dropped(shape: _Shape) -> _Plan:
    sent = sum(map(len, shape.frames[: shape.after_call]))
    cut = sent + len(shape.frames[shape.after_call]) // 2  # inside the next frame
    return _Plan(_script(), [DropConnection(after_bytes=cut)], shape.partial_text)


def _cut_in_call(shape: _Shape) -> _Plan:
    return _Plan(_script(), [Truncate(after_frames=shape.in_call)], BEFORE_CALL.text)


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
        "slow headers > read timeout",
        _faulty(SlowHeaders(seconds=STALL_TIMEOUT + 1.5), read_timeout=STALL_TIMEOUT),
        _failed(
            "stalled", r"stall", text="none", tool="no_call", requests=1, max_seconds=STALL_TIMEOUT + 1.2
        ),
        f"Session(read_timeout={STALL_TIMEOUT}): waiting for the status line is a stall too",
    ),
]
"""The rows of the matrix, each run on every wire format."""


# --- running a case --------------------------------------------------------------------------------------


def _counting_tool(invocations: list[dict[str, Any]]) -> Tool:
    async def lookup(city: str, days: int) -> str:
        """Look up the weather in a city for some days."""
        invocations.append({"city": city, "days": days})
        await asyncio.sleep(0.01)  # still running while the model streams on
        return f"{city}: sunny for {days} days"

    return Tool.from_function(lookup)


async def run_case(wire: WireFormat, row: Row) -> Outcome:
    """Run one wire × fault case through a real server and session; the outcome lists what went wrong."""
    expected = row.expected(wire)
    plan = row.plan(_shape(wire))
    provider = PROVIDERS[wire]
    outcome = Outcome(wire, row.name, expected)
    invocations: list[dict[str, Any]] = []
    events: list[Event] = []
    async with ProviderServer(plan.turns, faults=plan.faults) as server:
        session = Session(
            model=f"{provider}:m",
            base_url=server.base_url(provider),
            api_key="test",
            tools=[_counting_tool(invocations)],
            read_timeout=plan.read_timeout,
            max_retries=plan.max_retries,
        )
        started = time.monotonic()
        try:
            await asyncio.wait_for(_collect(session, events), CASE_LIMIT)
        except asyncio.TimeoutError:
            outcome.problems.append(f"hung: no TurnFinished within {CASE_LIMIT:g} s")
        except Exception as exc:  # the kernel would have seen this: the worst outcome
            outcome.problems.append(f"send() raised {type(exc).__name__}: {exc}")
        outcome.seconds = time.monotonic() - started
        if session.busy:
            outcome.problems.append("the turn is still running after TurnFinished")
        await session.aclose()
        outcome.requests = len(server.requests)
    _judge(outcome, plan, provider, events, session, invocations)
    return outcome


async def _collect(session: Session, events: list[Event]) -> None:
    async for event in session.send("What is the weather in Paris?"):
        events.append(event)


def _judge(
    outcome: Outcome,
    plan: _Plan,
    provider: str,
    events: list[Event],
    session: Session,
    invocations: list[dict[str, Any]],
) -> None:
    expected, problems = outcome.expected, outcome.problems
    finished = [e for e in events if isinstance(e, TurnFinished)]
    if len(finished) != 1 or events[-1] is not finished[0]:
        problems.append(f"{len(finished)} TurnFinished events, not exactly one at the end")
    if finished:
        outcome.reason, outcome.message = finished[-1].reason, finished[-1].message
    errors = [e for e in events if isinstance(e, StreamError)]
    outcome.error = errors[-1].kind if errors else None
    if (outcome.reason, outcome.error) != (expected.reason, expected.error):
        problems.append(f"expected {expected.label}, got {outcome.got}: {outcome.message}")
    if expected.error is not None:
        _judge_message(outcome, provider, errors)
    _judge_text(outcome, plan, events, session)
    _judge_tools(outcome, events, session, invocations)
    if outcome.requests != expected.requests:
        problems.append(f"the server got {outcome.requests} requests, expected {expected.requests}")
    if not expected.min_seconds <= outcome.seconds <= expected.max_seconds:
        problems.append(
            f"took {outcome.seconds:.2f} s, expected {expected.min_seconds:g} to {expected.max_seconds:g} s"
        )


def _judge_message(outcome: Outcome, provider: str, errors: list[StreamError]) -> None:
    message = outcome.message or ""
    if errors and errors[-1].provider != provider:
        outcome.problems.append(f"the StreamError names provider {errors[-1].provider!r}, not {provider!r}")
    if provider.lower() not in message.lower():
        outcome.problems.append(f"the turn's message does not name {provider}: {message!r}")
    cause = outcome.expected.cause
    if cause and not re.search(cause, message, re.IGNORECASE | re.DOTALL):
        outcome.problems.append(f"the turn's message does not say /{cause}/: {message!r}")


def _judge_text(outcome: Outcome, plan: _Plan, events: list[Event], session: Session) -> None:
    wanted = {"all": plan.full_text, "first": plan.first_text, "partial": plan.partial_text, "none": ""}[
        outcome.expected.text
    ]
    streamed = "".join(e.text for e in events if isinstance(e, TextDelta))
    kept = "".join(m.text for m in session.messages if isinstance(m, AssistantMessage))
    total = len(plan.full_text)
    outcome.text_kept = (
        "none" if not kept else "all" if kept == plan.full_text else f"{len(kept)}/{total} chars"
    )
    if streamed != wanted:
        outcome.problems.append(f"streamed text {streamed!r}, expected {wanted!r}")
    if kept != wanted:
        outcome.problems.append(f"the history keeps text {kept!r}, expected {wanted!r}")


def _judge_tools(
    outcome: Outcome, events: list[Event], session: Session, invocations: list[dict[str, Any]]
) -> None:
    problems, expected = outcome.problems, outcome.expected.tool
    running = [e.id for e in events if isinstance(e, ToolRunning)]
    ready = [e for e in events if isinstance(e, ToolCallReady)]
    results = [e for e in events if isinstance(e, ToolResult)]
    failures = [e.kind for e in events if isinstance(e, ToolError)]
    kept = [m for m in session.messages if isinstance(m, ToolResultMessage)]
    ran = len(invocations)
    good = [m for m in kept if m.error is None and m.content == OUTPUT]
    shown = ["result kept" if len(good) == 1 else f"result reused {len(good) - 1}×"] if good else []
    outcome.tools_ran = ", ".join([f"{ran}×", *shown, *failures])
    if len(set(running)) != len(running):
        problems.append(f"a call id ran twice: {running}")
    if ran != len(running):
        problems.append(f"the tool ran {ran} times for {len(running)} ToolRunning events")
    invalid = [arguments for arguments in invocations if arguments != ARGUMENTS]
    if invalid:
        problems.append(f"the tool ran with arguments it was never sent: {invalid}")
    if expected == "result":
        if ran != 1 or len(results) != 1 or len(good) != 1 or len(kept) != 1:
            problems.append(f"expected one run and its result kept: ran {ran}×, kept {kept}")
    elif expected == "reused":
        same_id = len({m.call_id for m in good}) == 1
        if ran != 1 or len(results) != 2 or len(good) != 2 or not same_id:
            problems.append(f"expected one run and its result reused: ran {ran}×, kept {kept}")
    elif expected == "incomplete":
        if ran or failures != ["incomplete"] or [m.error for m in kept] != ["incomplete"]:
            problems.append(f"expected an incomplete call that never ran: ran {ran}×, errors {failures}")
    elif ready or kept or ran:
        problems.append(f"expected no tool call: {len(ready)} calls, ran {ran}×")


# --- the whole matrix ------------------------------------------------------------------------------------


def _select(rows: Iterable[Row], names: Sequence[str] | None) -> list[Row]:
    chosen = [row for row in rows if names is None or row.name in names]
    unknown = set(names or ()) - {row.name for row in chosen}
    if unknown:
        raise ValueError(f"unknown faults {sorted(unknown)}; the rows are: {[r.name for r in FAULTS]}")
    return chosen


async def run_matrix_async(
    wires: Sequence[WireFormat] = WIRE_FORMATS, faults: Sequence[str] | None = None, *, concurrency: int = 4
) -> list[Outcome]:
    """Every chosen fault on every chosen wire, ``concurrency`` cases at a time; outcomes in table order."""
    gate = asyncio.Semaphore(concurrency)

    async def one(wire: WireFormat, row: Row) -> Outcome:
        async with gate:
            return await run_case(wire, row)

    cases = [(wire, row) for row in _select(FAULTS, faults) for wire in wires]
    return list(await asyncio.gather(*(one(wire, row) for wire, row in cases)))


def run_matrix(
    wires: Sequence[WireFormat] = WIRE_FORMATS, faults: Sequence[str] | None = None, *, concurrency: int = 4
) -> list[Outcome]:
    """``run_matrix_async`` on a fresh event loop, for sync callers."""
    return asyncio.run(run_matrix_async(wires, faults, concurrency=concurrency))


def table(outcomes: Sequence[Outcome]) -> str:
    """A plain-text table: one row per wire × fault, then what went wrong in each failing case."""
    header = ("fault", "wire", "expected", "got", "text kept", "tools ran", "reqs", "secs", "")
    rows = [header] + [
        (
            o.fault,
            o.wire,
            o.expected.label,
            o.got,
            o.text_kept,
            o.tools_ran,
            str(o.requests),
            f"{o.seconds:.2f}",
            "ok" if o.ok else "FAIL",
        )
        for o in outcomes
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    failed = [o for o in outcomes if not o.ok]
    for o in failed:
        lines.append(f"\nFAIL {o.fault} × {o.wire}:")
        lines += [f"  - {problem}" for problem in o.problems]
    notes = [f"  {row.name}: {row.note}" for row in FAULTS if row.note]
    lines += ["", "notes:", *notes]
    lines.append(f"\n{len(outcomes) - len(failed)}/{len(outcomes)} outcomes as expected")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nbstream.testing.matrix", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--wire", action="append", choices=WIRE_FORMATS, help="only this wire (repeatable)")
    parser.add_argument("--fault", action="append", help="only this fault row (repeatable)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    outcomes = run_matrix(tuple(args.wire or WIRE_FORMATS), args.fault)
    print(table(outcomes))
    print(f"{time.monotonic() - started:.1f} s")
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
