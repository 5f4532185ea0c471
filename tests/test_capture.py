"""What tools print or log while they run: captured per call as ``ToolOutput`` events, shown in the call's
place, kept in the transcript, never sent to the model; everything else writes where it always did."""

from __future__ import annotations

import asyncio
import io
import logging
import sys
import threading
import time
from typing import Any

import pytest
from helpers import events_of

from nbstream import (
    EVENTS,
    Call,
    Event,
    Say,
    ScriptedModel,
    Session,
    ToolCallReady,
    ToolError,
    ToolOutput,
    ToolResult,
    ToolResultMessage,
)
from nbstream._capture import LIMIT
from nbstream._display import compact, merge_batch


async def run(tools: list[Any], *calls: Call, **options: Any) -> list[Event]:
    session = Session(ScriptedModel([list(calls), [Say("ok")]]), tools=tools, **options)
    return await events_of(session)


def call_id(events: list[Event], name: str) -> str:
    return next(event.id for event in events if isinstance(event, ToolCallReady) and event.name == name)


def written(events: list[Event], name: str) -> list[tuple[str, str]]:
    """A call's output as (stream, text) runs: batches may split a run anywhere."""
    runs: list[tuple[str, str]] = []
    for event in events:
        if isinstance(event, ToolOutput) and event.id == call_id(events, name):
            assert event.name == name
            if runs and runs[-1][0] == event.stream:
                runs[-1] = (event.stream, runs[-1][1] + event.text)
            else:
                runs.append((event.stream, event.text))
    return runs


def last_index(events: list[Event], kind: type, call: str) -> int:
    return max(i for i, event in enumerate(events) if isinstance(event, kind) and event.id == call)


def chatty_sync(word: str) -> str:
    """Print while working."""
    print("working on", word)
    print("a warning", file=sys.stderr)
    sys.stdout.write("done\n")
    return word.upper()


async def chatty_async(word: str) -> str:
    """Print while working, on the loop."""
    print("working on", word)
    await asyncio.sleep(0.01)
    print("a warning", file=sys.stderr)
    sys.stdout.write("done\n")
    return word.upper()


@pytest.mark.parametrize("tool", [chatty_sync, chatty_async], ids=["def", "async def"])
async def test_a_tool_s_output_is_an_event_of_its_call_before_its_result(
    capsys: pytest.CaptureFixture[str], tool: Any
) -> None:
    events = await run([tool], Call(tool.__name__, {"word": "hi"}))
    assert written(events, tool.__name__) == [
        ("stdout", "working on hi\n"),
        ("stderr", "a warning\n"),
        ("stdout", "done\n"),
    ]
    call = call_id(events, tool.__name__)
    assert last_index(events, ToolOutput, call) < last_index(events, ToolResult, call)
    result = next(event for event in events if isinstance(event, ToolResult))
    assert result.output == "HI"  # the model sees the return value only
    assert capsys.readouterr() == ("", "")  # diverted (capsys stands for ipykernel's streams), not copied


async def test_the_model_never_sees_the_output(capsys: pytest.CaptureFixture[str]) -> None:
    session = Session(
        ScriptedModel([[Call("chatty_sync", {"word": "hi"})], [Say("ok")]]), tools=[chatty_sync]
    )
    await events_of(session)
    results = [message for message in session.messages if isinstance(message, ToolResultMessage)]
    assert [message.content for message in results] == ["HI"]


async def test_concurrent_calls_keep_their_own_output(capsys: pytest.CaptureFixture[str]) -> None:
    """Two threads and two tasks print at the same time; each call gets exactly its own lines, in order."""

    def in_thread(tag: str) -> str:
        """Print in a thread."""
        for n in range(40):
            print(f"{tag} {n}")
            time.sleep(0.001)
        return tag

    async def on_loop(tag: str) -> str:
        """Print on the loop."""
        for n in range(40):
            print(f"{tag} {n}")
            await asyncio.sleep(0.001)
        return tag

    calls = [Call(name, {"tag": f"{name}-{i}"}) for name in ("in_thread", "on_loop") for i in (1, 2)]
    events = await run([in_thread, on_loop], *calls)
    outputs: dict[str, str] = {}
    for event in events:
        if isinstance(event, ToolOutput):
            assert event.stream == "stdout"
            outputs[event.id] = outputs.get(event.id, "") + event.text
    tags = {event.id: event.arguments["tag"] for event in events if isinstance(event, ToolCallReady)}
    assert tags and set(outputs) == set(tags)
    for call, tag in tags.items():
        assert outputs[call] == "".join(f"{tag} {n}\n" for n in range(40))


async def test_output_outside_the_call_is_not_captured(capsys: pytest.CaptureFixture[str]) -> None:
    """While a tool runs: the loop (other cells, the kernel) and other threads write to the real stream."""
    started, release = threading.Event(), threading.Event()

    def waits(x: int) -> int:
        """Print, then wait to be released."""
        print("inside")
        started.set()
        release.wait(5)
        return x

    async def meanwhile() -> None:
        while not started.is_set():
            await asyncio.sleep(0.005)
        print("a cell prints")
        thread = threading.Thread(target=lambda: print("another thread prints"))
        thread.start()
        thread.join()
        release.set()

    other = asyncio.ensure_future(meanwhile())
    events = await run([waits], Call("waits", {"x": 1}))
    await other
    assert capsys.readouterr().out == "a cell prints\nanother thread prints\n"
    assert written(events, "waits") == [("stdout", "inside\n")]
    print("after the turn")
    assert capsys.readouterr().out == "after the turn\n"


async def test_threads_a_tool_starts_itself_are_not_captured(capsys: pytest.CaptureFixture[str]) -> None:
    """A plain thread copies no context; asyncio.to_thread does."""

    async def spawns(x: int) -> int:
        """Print from two kinds of threads."""
        thread = threading.Thread(target=lambda: print("plain thread"))
        thread.start()
        thread.join()
        await asyncio.to_thread(print, "to_thread")
        return x

    events = await run([spawns], Call("spawns", {"x": 1}))
    assert written(events, "spawns") == [("stdout", "to_thread\n")]
    assert capsys.readouterr().out == "plain thread\n"


async def test_late_output_of_a_tool_left_behind_goes_to_the_real_stream(
    capsys: pytest.CaptureFixture[str],
) -> None:
    release, finished = threading.Event(), threading.Event()

    def stuck(x: int) -> int:
        """Outlive the timeout, then print."""
        print("before the timeout")
        release.wait(5)
        print("after the timeout")
        finished.set()
        return x

    events = await run([stuck], Call("stuck", {"x": 1}), tool_timeout=0.1)
    assert [event.kind for event in events if isinstance(event, ToolError)] == ["timeout"]
    release.set()
    assert await asyncio.to_thread(finished.wait, 5)
    assert written(events, "stuck") == [("stdout", "before the timeout\n")]
    assert capsys.readouterr().out == "after the timeout\n"


async def test_log_records_made_in_a_call_are_shown_in_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also through a handler set up before the capture, which holds the original stream: that one keeps
    writing there too (a user's logging setup is never changed)."""
    original_err = io.StringIO()
    held = logging.StreamHandler(original_err)  # as logging.basicConfig() in an earlier cell would make it
    held.setFormatter(logging.Formatter("held: %(message)s"))
    monkeypatch.setattr(logging.root, "handlers", [held])

    def logs(x: int) -> int:
        """Log while working."""
        logging.getLogger("nbstream.test.tool").warning("careful with %d", x)
        logging.getLogger("nbstream.test.tool").debug("not enabled: never made")
        return x

    events = await run([logs], Call("logs", {"x": 7}))
    assert written(events, "logs") == [("log", "WARNING:nbstream.test.tool:careful with 7\n")]
    assert original_err.getvalue() == "held: careful with 7\n"
    assert logging.root.handlers == [held]  # the capture handler is there only while calls run


async def test_a_handler_writing_through_the_captured_stream_shows_a_record_once(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logging.root, "handlers", [])
    await run([chatty_sync], Call("chatty_sync", {"word": "x"}))  # sys.stderr is wrapped from now on
    later = logging.StreamHandler()  # basicConfig() after a tool ran: it writes to the wrapped sys.stderr
    later.setFormatter(logging.Formatter("later: %(message)s"))
    monkeypatch.setattr(logging.root, "handlers", [later])

    def logs(x: int) -> int:
        """Log once."""
        logging.getLogger("nbstream.test.once").warning("once")
        return x

    events = await run([logs], Call("logs", {"x": 1}))
    assert written(events, "logs") == [("stderr", "later: once\n")]
    assert capsys.readouterr().err == ""


async def test_without_handlers_the_last_resort_still_works_outside_calls(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a call runs the capture handler is on the root logger, so Python's last resort would not be used:
    a cell's warning must still reach stderr, and the call's warning reaches the call, once."""
    monkeypatch.setattr(logging.root, "handlers", [])
    started, release = threading.Event(), threading.Event()

    def logs(x: int) -> int:
        """Log, then wait."""
        logging.getLogger("nbstream.test.tool").warning("from the tool")
        started.set()
        release.wait(5)
        return x

    async def meanwhile() -> None:
        while not started.is_set():
            await asyncio.sleep(0.005)
        logging.getLogger("nbstream.test.cell").warning("from a cell")
        release.set()

    other = asyncio.ensure_future(meanwhile())
    events = await run([logs], Call("logs", {"x": 1}))
    await other
    assert written(events, "logs") == [("log", "WARNING:nbstream.test.tool:from the tool\n")]
    assert capsys.readouterr().err == "from a cell\n"
    logging.getLogger("nbstream.test.cell").warning("after the turn")
    assert capsys.readouterr().err == "after the turn\n"


async def test_output_is_capped_per_call_and_batched(capsys: pytest.CaptureFixture[str]) -> None:
    line = "x" * 99 + "\n"

    def floods(n: int) -> int:
        """Print a lot."""
        for _ in range(n):
            sys.stdout.write(line)
        return n

    events = await run([floods], Call("floods", {"n": 3_000}))  # 300,000 characters
    outputs = [event for event in events if isinstance(event, ToolOutput)]
    text = "".join(event.text for event in outputs)
    assert text.startswith(line * 10)
    assert text[:LIMIT] == (line * 3_000)[:LIMIT]
    assert text[LIMIT:] == "\n[nbstream: output cut here, a call keeps 100,000 characters]\n"
    assert len(outputs) < 100, "one event per batch, not per write"
    assert next(event for event in events if isinstance(event, ToolResult)).output == "3000"


async def test_a_cancelled_call_keeps_what_it_printed(capsys: pytest.CaptureFixture[str]) -> None:
    session = Session(
        ScriptedModel([[Call("slow", {"x": 1})], [Say("ok")]]),
        tools=[],
    )
    printed = asyncio.Event()

    @session.tools.tool
    async def slow(x: int) -> int:
        """Print, then take long."""
        print("started")
        printed.set()
        await asyncio.sleep(10)
        return x

    events: list[Event] = []
    async for event in session.send("go"):
        events.append(event)
        if isinstance(event, ToolOutput):
            session.cancel()
    assert written(events, "slow") == [("stdout", "started\n")]
    assert [event.kind for event in events if isinstance(event, ToolError)] == ["cancelled"]


def test_tool_output_round_trips_as_json() -> None:
    event = ToolOutput(id="c1", name="f", stream="log", text="WARNING:x:y\n")
    assert EVENTS.validate_json(EVENTS.dump_json([event])) == [event]


def test_display_merges_output_per_call_and_stream() -> None:
    def out(call: str, stream: str, text: str) -> dict[str, Any]:
        return {"type": "tool_output", "id": call, "name": "f", "stream": stream, "text": text}

    events = [
        out("a", "stdout", "1"),
        out("a", "stdout", "2"),
        out("b", "stdout", "x"),
        out("a", "stdout", "3"),
        out("a", "stderr", "!"),
        {"type": "tool_result", "id": "b", "name": "f", "output": "", "duration": 0.0},
        out("a", "stdout", "4"),
    ]
    assert merge_batch(events) == [
        out("a", "stdout", "12"),
        out("b", "stdout", "x"),
        out("a", "stdout", "3"),
        out("a", "stderr", "!"),
        events[5],
        out("a", "stdout", "4"),
    ]
    # Stored: each call's output at its first piece, runs of one stream merged, order within a call kept.
    assert compact(events) == [
        out("a", "stdout", "123"),
        out("a", "stderr", "!"),
        out("a", "stdout", "4"),
        out("b", "stdout", "x"),
        events[5],
    ]


async def test_the_wrapped_stream_takes_a_patched_write(capsys: pytest.CaptureFixture[str]) -> None:
    """IPython 9 sets ``sys.stdout.write`` to a tee for the length of every cell, then sets it back."""
    await run([chatty_sync], Call("chatty_sync", {"word": "x"}))  # sys.stdout is wrapped from now on
    stream = sys.stdout
    original_write = stream.write
    teed: list[str] = []

    def tee(data: str) -> int:
        teed.append(data)
        return original_write(data)

    stream.write = tee  # type: ignore[method-assign]
    try:
        print("from the cell")
        events = await run([chatty_async], Call("chatty_async", {"word": "y"}))
    finally:
        stream.write = original_write  # type: ignore[method-assign]
    assert written(events, "chatty_async")[0] == ("stdout", "working on y\n")
    assert capsys.readouterr().out == "from the cell\n"
    assert teed[0] == "from the cell"
