"""Live tool progress: ``Progress`` parameters, ``current_progress()``, generator tools, and the throttled
``ToolProgress`` events a call's updates become."""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import pytest

from nbstream import (
    Call,
    ConfigurationError,
    Event,
    Pause,
    Progress,
    Say,
    ScriptedModel,
    Session,
    ToolError,
    ToolProgress,
    ToolRegistry,
    ToolResult,
    ToolRunning,
    TurnFinished,
    tool,
)
from nbstream._progress import current_progress, relay, report_yielded
from nbstream._tools import ToolFailure

# --- helpers ------------------------------------------------------------------------------------------------


async def turn_with(
    fn: Callable[..., Any], arguments: dict[str, Any] | None = None, **options: Any
) -> list[Event]:
    """Every event of a turn in which the model calls ``fn`` once (with ``arguments``), then says "done"."""
    made = tool(**options)(fn)
    model = ScriptedModel([[Call(made.name, arguments or {})], [Say("done")]])
    session = Session(model=model, tools=[made])
    return [event async for event in session.send("go")]


def updates(events: list[Event]) -> list[tuple[str | None, float | None]]:
    return [(event.message, event.fraction) for event in events if isinstance(event, ToolProgress)]


def between_running_and_result(events: list[Event]) -> bool:
    """Every ``ToolProgress`` comes after its call's ``ToolRunning`` and before its result or error."""
    kinds = [type(event) for event in events]
    running = kinds.index(ToolRunning)
    ended = next(i for i, kind in enumerate(kinds) if kind in (ToolResult, ToolError))
    return all(running < i < ended for i, kind in enumerate(kinds) if kind is ToolProgress)


@pytest.fixture
def slow_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    """One delivery a minute: within a call only the first update goes out at once, the rest merge into the
    one delivered at the end, so counts are exact whatever the machine's speed."""
    monkeypatch.setattr(Progress, "INTERVAL", 60.0)


# --- the parameter ------------------------------------------------------------------------------------------


def fetch(url: str, progress: Progress) -> str:
    """Fetch a page.

    Args:
        url: where
        progress: how far it got (never shown to the model)
    """
    progress("fetching", 0.5)
    return url


async def fetch_async(url: str, *, progress: Progress | None = None) -> str:
    return url


def fetch_annotated(url: str, progress: Annotated[Progress, "reporter"]) -> str:
    return url


@pytest.mark.parametrize("fn", [fetch, fetch_async, fetch_annotated, functools.partial(fetch)])
def test_a_progress_parameter_is_not_in_the_schema_and_the_model_cannot_set_it(fn: Any) -> None:
    made = tool(fn)
    assert list(made.parameters["properties"]) == ["url"]
    assert made.parameters["required"] == ["url"]
    assert "progress" not in str(made.parameters)
    with pytest.raises(ToolFailure) as caught:
        made.validate({"url": "u", "progress": "100%"})
    assert caught.value.kind == "invalid_arguments"
    assert "progress: unexpected argument (the parameters are: url)" in caught.value.message


def test_a_progress_parameter_must_be_one_and_passable_by_keyword() -> None:
    def twice(a: Progress, b: Progress) -> None: ...

    def positional(progress: Progress, /) -> None: ...

    for fn in (twice, positional):
        with pytest.raises(TypeError, match="a tool has at most one Progress parameter"):
            tool(fn)


async def test_the_model_cannot_set_the_reporter_even_when_it_tries() -> None:
    events = await turn_with(fetch, {"url": "https://example.org", "progress": "done"})
    errors = [event for event in events if isinstance(event, ToolError)]
    assert [error.kind for error in errors] == ["invalid_arguments"] and updates(events) == []


async def test_invoke_without_a_reporter_gives_the_tool_a_silent_one() -> None:
    assert await tool(fetch).invoke({"url": "u"}, timeout=5) == "u"


# --- updates become ToolProgress events ---------------------------------------------------------------------


def counting_sync(n: int, progress: Progress) -> str:
    for i in range(n):
        progress(f"item {i}", (i + 1) / n)
    return "counted"


async def counting_async(n: int, progress: Progress) -> str:
    for i in range(n):
        progress(f"item {i}", (i + 1) / n)
        if i % 50 == 0:
            await asyncio.sleep(0)
    return "counted"


@pytest.mark.usefixtures("slow_interval")
@pytest.mark.parametrize("fn", [counting_sync, counting_async])
async def test_updates_are_throttled_and_the_last_one_comes_before_the_result(fn: Any) -> None:
    events = await turn_with(fn, {"n": 500})
    shown = updates(events)
    assert 1 <= len(shown) <= 2  # the first at once (unless more came before the loop took it), the rest
    # merged into the one delivered when the call ended
    assert shown[-1] == ("item 499", 1.0)
    assert shown[0][0] is not None and shown[0][0].startswith("item ")
    [running] = [event for event in events if isinstance(event, ToolRunning)]
    progress_events = [event for event in events if isinstance(event, ToolProgress)]
    assert {(event.id, event.name) for event in progress_events} == {(running.id, fn.__name__)}
    assert between_running_and_result(events)
    assert [event.output for event in events if isinstance(event, ToolResult)] == ["counted"]


async def test_at_most_one_update_per_interval_reaches_the_events() -> None:
    def steady(progress: Progress) -> str:
        for i in range(300):
            progress(f"{i}", i / 300)
            time.sleep(0.001)
        return "ok"

    started = time.perf_counter()
    events = await turn_with(steady)
    elapsed = time.perf_counter() - started
    shown = updates(events)
    assert 2 <= len(shown) <= elapsed / Progress.INTERVAL + 2  # 300 reports, a handful of events
    assert shown[-1] == ("299", 299 / 300)


async def test_merged_updates_keep_a_message_the_newest_update_did_not_repeat() -> None:
    async def download(progress: Progress) -> str:
        progress("Downloading")
        progress(fraction=0.25)
        progress(fraction=0.5)
        return "ok"

    assert updates(await turn_with(download)) == [("Downloading", 0.5)]


async def test_current_progress_reports_for_the_running_call_in_its_task_and_thread() -> None:
    def sync_inside() -> str:
        reporter = current_progress()
        assert reporter is not None
        reporter("from the thread", 0.3)
        return "ok"

    async def async_inside() -> str:
        await asyncio.to_thread(lambda: current_progress()("from a thread it started", 0.6))  # type: ignore[misc]
        return "ok"

    assert current_progress() is None
    assert updates(await turn_with(sync_inside)) == [("from the thread", 0.3)]
    assert updates(await turn_with(async_inside)) == [("from a thread it started", 0.6)]
    assert current_progress() is None


async def test_updates_after_the_relay_closed_are_dropped() -> None:
    delivered: list[tuple[str | None, float | None]] = []
    with relay(lambda message, fraction: delivered.append((message, fraction))) as progress:
        progress("working", 0.5)
    assert delivered == [("working", 0.5)]  # delivered at the latest when the block ended
    progress("late", 1.0)
    threading.Thread(target=progress, args=("later, from a thread", 1.0)).start()
    await asyncio.sleep(0.05)
    assert delivered == [("working", 0.5)]


async def test_a_tool_left_running_past_its_timeout_reports_nothing_more() -> None:
    stop = threading.Event()
    reported_late = threading.Event()

    def stubborn(progress: Progress) -> str:
        deadline = time.monotonic() + 5
        while not stop.is_set() and time.monotonic() < deadline:
            progress("still here")
            time.sleep(0.01)
        reported_late.set()
        return "too late"

    made = tool(timeout=0.2)(stubborn)
    model = ScriptedModel([[Call("stubborn", {})], [Pause(0.4), Say("moving on")]])
    session = Session(model=model, tools=[made])
    events: list[Event] = []
    async for event in session.send("go"):
        events.append(event)
        if isinstance(event, TurnFinished):
            stop.set()
    ended = next(i for i, event in enumerate(events) if isinstance(event, ToolError))
    assert events[ended].kind == "timeout"
    assert not any(isinstance(event, ToolProgress) for event in events[ended:])  # 0.4 s of reports dropped
    assert reported_late.wait(2)


# --- generator tools ----------------------------------------------------------------------------------------


def crunch(n: int) -> Iterator[Any]:
    """Crunch numbers, saying how far it got."""
    yield "starting"
    for i in range(n):
        yield f"step {i}", (i + 1) / n
    yield None  # a bare yield reports nothing
    return {"total": n, "thread": threading.current_thread().name}


@pytest.mark.usefixtures("slow_interval")
async def test_a_generator_tool_reports_its_yields_and_returns_its_result() -> None:
    events = await turn_with(crunch, {"n": 3})
    assert updates(events)[-1] == ("step 2", 1.0)
    assert between_running_and_result(events)
    [result] = [event for event in events if isinstance(event, ToolResult)]
    assert result.output == '{"total": 3, "thread": "nbstream-tool:crunch"}'  # run in its own thread


def test_yielded_values_map_to_updates() -> None:
    seen: list[tuple[str | None, float | None]] = []
    progress = Progress(lambda message, fraction: seen.append((message, fraction)))
    for value in ["loading", 0.5, 2, None, ("half", 0.5), (None, 0.75)]:
        report_yielded(progress, value)
    assert seen == [("loading", None), (None, 0.5), (None, 1.0), ("half", 0.5), (None, 0.75)]
    for bad in [True, {"fraction": 1}, ("a", 0.1, "extra")]:
        with pytest.raises(TypeError, match="a generator tool yields progress"):
            report_yielded(progress, bad)


async def test_a_bad_yield_fails_the_call_and_closes_the_generator() -> None:
    closed = threading.Event()

    def confused() -> Iterator[Any]:
        try:
            yield {"progress": 1}
            yield "never reached"
        finally:
            closed.set()

    events = await turn_with(confused)
    [error] = [event for event in events if isinstance(event, ToolError)]
    assert error.kind == "exception" and error.message.startswith(
        "TypeError: a generator tool yields progress"
    )
    assert closed.is_set()


def endless(ticks: list[int], closed: threading.Event) -> Callable[[], Iterator[str]]:
    def forever() -> Iterator[str]:
        try:
            while True:
                ticks.append(1)
                time.sleep(0.01)
                yield f"tick {len(ticks)}"
        finally:
            closed.set()

    return forever


async def test_a_generator_tool_past_its_timeout_is_closed_at_its_next_yield() -> None:
    ticks: list[int] = []
    closed = threading.Event()
    made = tool(timeout=0.2)(endless(ticks, closed))
    with pytest.raises(ToolFailure) as caught:
        await made.run({}, timeout=None, progress=Progress())
    assert caught.value.kind == "timeout"
    assert await asyncio.to_thread(closed.wait, 2)
    count = len(ticks)
    await asyncio.sleep(0.1)
    assert len(ticks) == count  # closed, not left running


async def test_stopping_the_turn_closes_a_running_generator_tool() -> None:
    ticks: list[int] = []
    closed = threading.Event()
    forever = endless(ticks, closed)
    session = Session(model=ScriptedModel([[Call("forever", {})], [Say("never")]]), tools=[tool(forever)])
    events: list[Event] = []
    async for event in session.send("go"):
        events.append(event)
        if isinstance(event, ToolProgress):
            session.cancel()
    assert [event.kind for event in events if isinstance(event, ToolError)] == ["cancelled"]
    last = events[-1]
    assert isinstance(last, TurnFinished)
    assert (last.reason, last.steps, last.message) == ("cancelled", 1, "stopped by the user")
    assert await asyncio.to_thread(closed.wait, 2)
    count = len(ticks)
    await asyncio.sleep(0.1)
    assert len(ticks) == count


async def agen(n: int) -> Any:
    for i in range(n):
        yield i


class AsyncGeneratorCall:
    async def __call__(self) -> Any:
        yield 1


@pytest.mark.parametrize("fn", [agen, AsyncGeneratorCall()])
def test_async_generator_functions_are_refused_when_the_tool_is_made(fn: Any) -> None:
    for make in (tool, ToolRegistry().add, lambda f: Session(tools=[f])):
        with pytest.raises(ConfigurationError, match="async generator function") as caught:
            make(fn)
        assert "Progress" in str(caught.value)
