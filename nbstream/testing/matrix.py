"""The fault matrix: every injectable fault × every wire format, each outcome checked against a table.

Each case starts a ``ProviderServer`` playing the row's plan and runs one real ``Session`` turn against it
over loopback HTTP, then judges the outcome against the row's expectation: the kernel survives (the turn
ends with one ``TurnFinished``, nothing left running); an error names the provider and the cause; partial
text and finished tool results are kept; no call id runs twice; each call runs with its own arguments, none
with invalid or incomplete ones; every request sent holds a history the provider accepts (no empty assistant
message, every call's arguments a JSON object). The table (``FAULTS``) is declared in ``_matrix_table``.

``python -m nbstream.testing.matrix [--wire W] [--fault NAME]`` prints the table and exits 1 when any
outcome is wrong; ``run_case`` and ``run_matrix()`` return the outcomes for tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._events import (
    ErrorKind,
    Event,
    ReasoningDelta,
    StreamError,
    TextDelta,
    ToolCallReady,
    ToolError,
    ToolResult,
    ToolRunning,
    TurnFinished,
)
from .._messages import AssistantMessage, ToolResultMessage
from .._providers import WIRE_FORMATS, WireFormat, for_wire
from .._session import Session
from .._tools import Tool
from ._http import RecordedRequest
from ._matrix_table import CASE_LIMIT, FAULTS, Expected, Plan, Row, output_for, shape_of
from ._server import ProviderServer

__all__ = [
    "FAULTS",
    "Expected",
    "Outcome",
    "Row",
    "main",
    "run_case",
    "run_matrix",
    "run_matrix_async",
    "table",
]


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


# --- running a case --------------------------------------------------------------------------------------


def _counting_tool(invocations: list[dict[str, Any]]) -> Tool:
    async def lookup(city: str, days: int) -> str:
        """Look up the weather in a city for some days."""
        invocations.append({"city": city, "days": days})
        await asyncio.sleep(0.01)  # still running while the model streams on
        return output_for({"city": city, "days": days})

    return Tool.from_function(lookup)


async def run_case(wire: WireFormat, row: Row) -> Outcome:
    """Run one wire × fault case through a real server and session; the outcome lists what went wrong."""
    expected = row.expected(wire)
    plan = row.plan(shape_of(wire))
    provider = for_wire(wire).name
    outcome = Outcome(wire, row.name, expected)
    invocations: list[dict[str, Any]] = []
    turns: list[list[Event]] = []
    async with ProviderServer(plan.steps, faults=plan.faults) as server:
        session = Session(
            model=f"{provider}:m",
            base_url=server.base_url(provider),
            api_key="test",
            tools=[_counting_tool(invocations)],
            read_timeout=plan.read_timeout,
            max_retries=plan.max_retries,
            max_frame_size=plan.max_frame_size,
        )
        started = time.monotonic()
        try:
            await asyncio.wait_for(_collect(session, turns, plan.prompts), CASE_LIMIT)
        except asyncio.TimeoutError:
            outcome.problems.append(f"hung: no TurnFinished within {CASE_LIMIT:g} s")
        except Exception as exc:  # the kernel would have seen this: the worst outcome
            outcome.problems.append(f"send() raised {type(exc).__name__}: {exc}")
        outcome.seconds = time.monotonic() - started
        if session.busy:
            outcome.problems.append("the turn is still running after TurnFinished")
        await session.aclose()
        outcome.requests = len(server.requests)
        requests = list(server.requests)
    for number, events in enumerate(turns[:-1], start=1):
        if sum(isinstance(e, TurnFinished) for e in events) != 1:
            outcome.problems.append(f"turn {number} did not end with exactly one TurnFinished")
    _judge(outcome, plan, provider, turns[-1] if turns else [], session, invocations)
    _judge_history(outcome, requests)
    return outcome


async def _collect(session: Session, turns: list[list[Event]], prompts: int) -> None:
    for _ in range(prompts):
        events: list[Event] = []
        turns.append(events)
        async for event in session.send("What is the weather in Paris?"):
            events.append(event)


def _judge(
    outcome: Outcome,
    plan: Plan,
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
    if expected.error is not None or expected.cause is not None:
        _judge_message(outcome, provider, errors)
    _judge_text(outcome, plan, events, session)
    _judge_reasoning(outcome, plan, events, session)
    _judge_tools(outcome, plan, events, session, invocations)
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
    if outcome.expected.error is not None and provider.lower() not in message.lower():
        outcome.problems.append(f"the turn's message does not name {provider}: {message!r}")
    cause = outcome.expected.cause
    if cause and not re.search(cause, message, re.IGNORECASE | re.DOTALL):
        outcome.problems.append(f"the turn's message does not say /{cause}/: {message!r}")


def _judge_text(outcome: Outcome, plan: Plan, events: list[Event], session: Session) -> None:
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


def _judge_reasoning(outcome: Outcome, plan: Plan, events: list[Event], session: Session) -> None:
    wanted = {
        "all": plan.full_reasoning,
        "first": plan.first_reasoning,
        "partial": plan.partial_reasoning,
        "none": "",
    }[outcome.expected.reasoning]
    streamed = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    messages = [m for m in session.messages if isinstance(m, AssistantMessage)]
    kept = "".join(block.text for m in messages for block in m.reasoning)
    if streamed != wanted:
        outcome.problems.append(f"streamed reasoning {streamed!r}, expected {wanted!r}")
    if kept != wanted:
        outcome.problems.append(f"the history keeps reasoning {kept!r}, expected {wanted!r}")


def _judge_tools(
    outcome: Outcome,
    plan: Plan,
    events: list[Event],
    session: Session,
    invocations: list[dict[str, Any]],
) -> None:
    problems, expected = outcome.problems, outcome.expected.tool
    running = _runs(events)
    ready = [e for e in events if isinstance(e, ToolCallReady)]
    results = [e for e in events if isinstance(e, ToolResult)]
    failures = [e.kind for e in events if isinstance(e, ToolError)]
    kept = [m for m in session.messages if isinstance(m, ToolResultMessage)]
    ran = len(invocations)
    outputs = [output_for(arguments) for arguments in plan.calls]
    good = [m for m in kept if m.error is None and m.content in outputs]
    shown = [f"{len(good)} results kept" if len(good) != 1 else "result kept"] if good else []
    outcome.tools_ran = ", ".join([f"{ran}×", *shown, *failures])
    if len(set(running)) != len(running):
        problems.append(f"a call ran twice: {running}")
    if ran != len(set(running)) and expected != "result":
        problems.append(f"the tool ran {ran} times for {len(set(running))} ToolRunning calls")
    invalid = [arguments for arguments in invocations if arguments not in plan.calls]
    if invalid:
        problems.append(f"the tool ran with arguments it was never sent: {invalid}")
    if expected == "result":
        told = [m.content for m in kept if m.error is None]
        if invocations != list(plan.calls) or told != outputs:
            problems.append(
                f"expected one run per call with its own arguments {list(plan.calls)} and each result kept:"
                f" ran with {invocations}, kept {told}"
            )
    elif expected == "reused":
        same_id = len({m.call_id for m in good}) == 1
        if ran != 1 or len(results) != 2 or len(good) != 2 or not same_id or good[0].content != outputs[0]:
            problems.append(f"expected one run and its result reused: ran {ran}×, kept {kept}")
    elif expected == "incomplete":
        if ran or failures != ["incomplete"] or [m.error for m in kept] != ["incomplete"]:
            problems.append(f"expected an incomplete call that never ran: ran {ran}×, errors {failures}")
    elif ready or kept or ran:
        problems.append(f"expected no tool call: {len(ready)} calls, ran {ran}×")


def _runs(events: list[Event]) -> list[tuple[str, str]]:
    """(call id, raw arguments) of each call that ran: one id may name calls with other arguments."""
    arguments: dict[str, str] = {}
    runs: list[tuple[str, str]] = []
    for event in events:
        if isinstance(event, ToolCallReady):
            arguments[event.id] = event.raw_arguments
        elif isinstance(event, ToolRunning):
            runs.append((event.id, arguments.get(event.id, "")))
    return runs


def _judge_history(outcome: Outcome, requests: list[RecordedRequest]) -> None:
    """Every request's history is one a strict provider accepts: no empty assistant message (OpenAI answers
    HTTP 400), every call's arguments a JSON object (llama-server answers HTTP 500)."""
    for request in requests:
        body = request.json if isinstance(request.json, dict) else {}
        for item in body.get("messages") or body.get("input") or []:
            problem = _history_problem(item) if isinstance(item, dict) else f"a history item {item!r}"
            if problem:
                outcome.problems.append(f"request {request.index} sends {problem}")


def _history_problem(item: dict[str, Any]) -> str | None:
    if item.get("role") == "assistant" and not item.get("content") and not item.get("tool_calls"):
        return f"an empty assistant message: {item}"
    calls = [call.get("function", {}) for call in item.get("tool_calls") or ()]
    if item.get("type") == "function_call":
        calls.append(item)
    for call in calls:
        arguments = call.get("arguments")
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except ValueError:
                return f"a call whose arguments are not JSON: {call}"
        if not isinstance(arguments, dict):
            return f"a call whose arguments are not an object: {call}"
    return None


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
