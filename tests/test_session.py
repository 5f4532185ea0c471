"""The session loop with scripted models: eager dispatch, concurrency, the loop, cancel, approval."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from helpers import slow

from nbstream import (
    Call,
    Pause,
    Say,
    ScriptedModel,
    Session,
    StepStarted,
    TextDelta,
    ToolAwaitingApproval,
    ToolCallReady,
    ToolError,
    ToolResult,
    ToolRunning,
    TurnFinished,
)
from nbstream._messages import AssistantMessage, ToolResultMessage, UserMessage


async def run_turn(session: Session, prompt: str) -> list[tuple[float, object]]:
    """Every event of one turn with its arrival time (perf_counter)."""
    return [(time.perf_counter(), event) async for event in session.send(prompt)]


def of_type(timed: list[tuple[float, object]], kind: type) -> list:
    return [event for _, event in timed if isinstance(event, kind)]


def first_time(timed: list[tuple[float, object]], kind: type) -> float:
    return next(t for t, event in timed if isinstance(event, kind))


async def test_teaching_exercise_text_keeps_flowing_while_the_tool_runs() -> None:
    """The exercise: a 2 s tool starts at once and text keeps arriving while it runs."""
    model = ScriptedModel(
        [
            [
                Say("Let me start the slow tool."),
                Call("slow", {"seconds": 2}),
                Say("While it runs, I keep talking. " * 12, chunk=1, over=3.0),
            ],
            [Say("The tool said it slept.")],
        ]
    )
    session = Session(model=model, tools=[slow])
    timed = await run_turn(session, "go")

    ready_at = first_time(timed, ToolCallReady)
    running_at = first_time(timed, ToolRunning)
    result_at = first_time(timed, ToolResult)
    assert running_at - ready_at < 0.05, "the tool must start as soon as its call is final"
    assert result_at - running_at == pytest.approx(2.0, abs=0.3)

    text_times = [t for t, event in timed if isinstance(event, TextDelta) and running_at <= t <= result_at]
    assert len(text_times) >= 10, "text deltas must arrive while the tool runs"
    gaps = [b - a for a, b in zip([running_at, *text_times], [*text_times, result_at], strict=True)]
    assert max(gaps) < 0.2, f"the stream stalled for {max(gaps):.3f} s while the tool ran"

    finished = of_type(timed, TurnFinished)
    assert [f.reason for f in finished] == ["done"]
    assert finished[0].steps == 2
    assert of_type(timed, ToolResult)[0].output == "slept 2.0"
    kinds = [type(m) for m in session.messages]
    assert kinds == [UserMessage, AssistantMessage, ToolResultMessage, AssistantMessage]
    assert session.messages[-1].text == "The tool said it slept."


async def test_parallel_tools_run_concurrently_and_results_return_in_call_order() -> None:
    async def nap(label: str) -> str:
        """Sleep one second.

        Args:
            label: echoed back
        """
        await asyncio.sleep(1.0)
        return label

    model = ScriptedModel(
        [
            [
                Call("nap", {"label": "first"}),
                Call("nap", {"label": "second"}),
                Call("nap", {"label": "third"}),
            ],
            [Say("All three are done.")],
        ],
        wire="openai-chat",  # all three calls become final together, at finish_reason
    )
    session = Session(model=model, tools=[nap])
    started = time.perf_counter()
    timed = await run_turn(session, "three at once")
    assert time.perf_counter() - started < 1.5
    results = [m for m in session.messages if isinstance(m, ToolResultMessage)]
    assert [r.content for r in results] == ["first", "second", "third"]
    ready_ids = [e.id for e in of_type(timed, ToolCallReady)]
    assert [r.call_id for r in results] == ready_ids


async def test_bad_calls_become_error_results_and_the_session_carries_on() -> None:
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    def boom() -> None:
        """Always fails."""
        raise ValueError("no luck")

    model = ScriptedModel(
        [
            [
                Call("add", {"a": "not a number", "b": 1}),
                Call("missing_tool", {}),
                Call("boom", {}),
                Call("add", '{"a": 1, "b": '),  # broken JSON: never executed
                Call("add", {"a": 2, "b": 3}),
            ],
            [Say("Done.")],
        ]
    )
    session = Session(model=model, tools=[add, boom])
    timed = await run_turn(session, "try things")
    errors = {e.kind: e for e in of_type(timed, ToolError)}
    assert set(errors) == {"invalid_arguments", "unknown_tool", "exception"}
    assert "ValueError: no luck" in errors["exception"].message
    assert "missing_tool" in errors["unknown_tool"].message
    assert len([e for e in of_type(timed, ToolError) if e.kind == "invalid_arguments"]) == 2
    assert [r.output for r in of_type(timed, ToolResult)] == ["5"]
    assert of_type(timed, TurnFinished)[0].reason == "done"
    results = [m for m in session.messages if isinstance(m, ToolResultMessage)]
    assert len(results) == 5 and [r.error for r in results].count(None) == 1


async def test_tool_timeout_is_an_error_result() -> None:
    model = ScriptedModel([[Call("slow", {"seconds": 5})], [Say("ok")]])
    session = Session(model=model, tools=[slow], tool_timeout=0.3)
    timed = await run_turn(session, "wait")
    (error,) = of_type(timed, ToolError)
    assert error.kind == "timeout"
    assert error.duration == pytest.approx(0.3, abs=0.2)


async def test_max_steps_ends_the_turn_with_a_clear_reason() -> None:
    looping = [[Call("slow", {"seconds": 0})] for _ in range(5)]
    session = Session(model=ScriptedModel(looping), tools=[slow], max_steps=3)
    timed = await run_turn(session, "loop forever")
    (finished,) = of_type(timed, TurnFinished)
    assert finished.reason == "max_steps" and finished.steps == 3
    assert "max_steps=3" in (finished.message or "")
    assert len(of_type(timed, StepStarted)) == 3


async def test_cancel_keeps_partial_text_cancels_tools_and_leaves_nothing_behind() -> None:
    threads_before = threading.active_count()
    cancelled = asyncio.Event()

    async def forever() -> str:
        """Never returns by itself."""
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "unreachable"

    model = ScriptedModel([[Say("Starting. "), Call("forever", {}), Say("more text " * 50, over=10.0)]])
    session = Session(model=model, tools=[forever])
    seen: list[object] = []
    async for event in session.send("go"):
        seen.append(event)
        if isinstance(event, ToolRunning):
            await asyncio.sleep(0.2)
            session.cancel()
    assert isinstance(seen[-1], TurnFinished) and seen[-1].reason == "cancelled"
    assert cancelled.is_set()
    assert any(isinstance(e, ToolError) and e.kind == "cancelled" for e in seen)
    partial = [m for m in session.messages if isinstance(m, AssistantMessage)]
    assert partial and partial[0].text.startswith("Starting.")
    assert isinstance(session.messages[-1], ToolResultMessage)  # every call is answered
    await asyncio.sleep(0)
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert others == []
    assert threading.active_count() <= threads_before


async def test_cancel_discards_a_sync_tool_result() -> None:
    def blocking() -> str:
        """Blocks its thread for a while."""
        time.sleep(0.6)
        return "late"

    model = ScriptedModel([[Call("blocking", {})], [Say("never")]])
    session = Session(model=model, tools=[blocking])
    seen = []
    async for event in session.send("go"):
        seen.append(event)
        if isinstance(event, ToolRunning):
            session.cancel()
    assert seen[-1].reason == "cancelled"
    assert not any(isinstance(e, ToolResult) for e in seen)
    await asyncio.sleep(0.8)  # the thread finishes on its own; its result is dropped
    assert not any(m.content == "late" for m in session.messages if isinstance(m, ToolResultMessage))


async def test_confirm_tools_wait_for_approval_and_deny_tells_the_model() -> None:
    ran: list[str] = []

    def delete_file(path: str) -> str:
        """Delete a file (pretend)."""
        ran.append(path)
        return f"deleted {path}"

    model = ScriptedModel(
        [[Call("delete_file", {"path": "a.txt"}), Call("delete_file", {"path": "b.txt"})], [Say("ok")]]
    )
    session = Session(model=model)
    session.tools.add(delete_file, confirm=True)
    seen = []
    async for event in session.send("clean up"):
        seen.append(event)
        if isinstance(event, ToolAwaitingApproval):
            (session.approve if event.arguments["path"] == "a.txt" else session.deny)(event.id)
    assert ran == ["a.txt"]
    denied = [e for e in seen if isinstance(e, ToolError)]
    assert [e.kind for e in denied] == ["denied"] and "denied by the user" in denied[0].message
    results = [m for m in session.messages if isinstance(m, ToolResultMessage)]
    assert [r.error for r in results] == [None, "denied"]


async def test_replayed_call_id_is_not_executed_twice() -> None:
    calls: list[int] = []

    def count(n: int) -> int:
        """Record a call."""
        calls.append(n)
        return n

    model = ScriptedModel(
        [
            [Call("count", {"n": 1}, id="call_same")],
            [Call("count", {"n": 1}, id="call_same")],
            [Say("done")],
        ]
    )
    session = Session(model=model, tools=[count])
    timed = await run_turn(session, "go")
    assert calls == [1]
    assert [r.output for r in of_type(timed, ToolResult)] == ["1", "1"]


async def test_reregistering_a_tool_replaces_it() -> None:
    session = Session(model=ScriptedModel([[Call("greet", {})], [Say("ok")]]))

    @session.tool
    def greet() -> str:
        """Say hello."""
        return "old"

    @session.tool
    def greet() -> str:  # noqa: F811 — re-running the notebook cell
        """Say hello."""
        return "new"

    timed = await run_turn(session, "hi")
    assert [r.output for r in of_type(timed, ToolResult)] == ["new"]
    assert session.tools.names == ["greet"]


async def test_a_second_send_while_busy_is_refused() -> None:
    session = Session(model=ScriptedModel([[Say("slow text " * 20, over=1.0)], [Say("second")]]))
    first = session.send("one")
    await first.__anext__()
    with pytest.raises(RuntimeError, match="already running"):
        await session.send("two").__anext__()
    await first.aclose()
    assert not session.busy


async def test_demo_model_is_the_default_and_calls_a_matching_tool() -> None:
    async def slow_sum(a: int, b: int) -> int:
        """Add two integers, slowly.

        Args:
            a: first addend
            b: second addend
        """
        await asyncio.sleep(0.1)
        return a + b

    session = Session(tools=[slow_sum])
    timed = await run_turn(session, "What is 2 + 3? Use slow_sum.")
    assert [r.output for r in of_type(timed, ToolResult)] == ["5"]
    assert of_type(timed, TurnFinished)[0].reason == "done"
    assert "5" in session.messages[-1].text


async def test_session_events_round_trip_as_json() -> None:
    from nbstream import EVENTS

    model = ScriptedModel([[Say("Hi. "), Call("slow", {"seconds": 0}), Pause(0.01)], [Say("Bye.")]])
    events = [e async for e in Session(model=model, tools=[slow]).send("go")]
    assert EVENTS.validate_json(EVENTS.dump_json(events)) == events


async def test_cancel_twice_still_ends_the_turn_once() -> None:
    session = Session(model=ScriptedModel([[Say("words " * 40, over=2.0)]]))
    seen = []
    async for event in session.send("go"):
        seen.append(event)
        if isinstance(event, TextDelta) and len(seen) == 3:
            session.cancel()
            session.cancel()
    assert [type(e) for e in seen].count(TurnFinished) == 1 and seen[-1].reason == "cancelled"
