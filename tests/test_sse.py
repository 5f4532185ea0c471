"""``to_sse``: framing read back with nbstream's own SSE decoder, heartbeats during a slow tool, and the turn
cancelled when the reader stops (closed, cancelled, or a Starlette response whose client disconnected)."""

from __future__ import annotations

import asyncio
import gc
import json
import math
import re
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from helpers import slow
from hypothesis import given
from hypothesis import strategies as st

from nbstream import (
    EVENTS,
    SSE_HEADERS,
    Call,
    ConfigurationError,
    Event,
    MessageFinished,
    Say,
    ScriptedModel,
    Session,
    StepStarted,
    StreamError,
    TextDelta,
    ToolArgumentsDelta,
    ToolCallReady,
    ToolCallStarted,
    ToolError,
    ToolOutput,
    ToolResult,
    ToolRunning,
    TurnFinished,
    Usage,
    to_sse,
)
from nbstream._messages import ToolResultMessage
from nbstream._sse import HEARTBEAT, sse_frame
from nbstream._wire._frames import SSEDecoder, SSEEvent

TRICKY_TEXTS = [
    "",
    "two\nlines",
    "crlf\r\nand a lone\rcr",
    "\n\n",
    "data: fake\n\nevent: x",
    "é ✓ 🎉 \u2028 \x00",
]


def decode(chunks: list[bytes], *, split: int | None = None) -> list[SSEEvent]:
    """Bytes → SSE events; ``split`` re-chunks the whole stream every ``split`` bytes first."""
    if split is not None:
        blob = b"".join(chunks)
        chunks = [blob[i : i + split] for i in range(0, len(blob), split)]
    decoder = SSEDecoder()
    events = [event for chunk in chunks for event in decoder.feed(chunk)]
    return events + decoder.close()


def as_events(sse: list[SSEEvent]) -> list[Event]:
    for message in sse:
        assert message.event == json.loads(message.data)["type"]
    return EVENTS.validate_python([json.loads(message.data) for message in sse])


async def replay(events: list[Event]) -> AsyncIterator[Event]:
    for event in events:
        yield event


async def collect_frames(stream: AsyncIterator[bytes]) -> list[bytes]:
    return [frame async for frame in stream]


class Watched:
    """A slow tool (``watched.tool``, named ``slow``) that records whether it was cancelled."""

    def __init__(self, seconds: float = 5.0) -> None:
        self.seconds = seconds
        self.started = asyncio.Event()
        self.cancelled = asyncio.Event()

        async def slow(seconds: float) -> str:
            """Sleep, then say how long.

            Args:
                seconds: how long to sleep
            """
            self.started.set()
            try:
                await asyncio.sleep(seconds)
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
            return "slept"

        self.tool = slow


def slow_session(tool: Any = slow, seconds: float = 0.6) -> Session:
    model = ScriptedModel(
        [[Say("Calling the slow tool."), Call("slow", {"seconds": seconds})], [Say("It slept.", chunk=1)]]
    )
    return Session(model=model, tools=[tool], max_steps=3)


def watched_session(watched: Watched) -> Session:
    return slow_session(watched.tool, seconds=watched.seconds)


def assert_cancelled_cleanly(session: Session, watched: Watched) -> None:
    assert watched.cancelled.is_set()
    assert not session.busy
    last = session.messages[-1]
    assert isinstance(last, ToolResultMessage) and last.error == "cancelled"


# --- framing -----------------------------------------------------------------------------------------------


EVERY_KIND: list[Event] = [
    StepStarted(step=1),
    *(TextDelta(text=text) for text in TRICKY_TEXTS),
    ToolCallStarted(id="call_1", name="slow", position=0),
    ToolArgumentsDelta(id="call_1", fragment='{"seconds": "\\n', partial={"seconds": "\n"}),
    ToolCallReady(
        id="call_1", name="slow", position=0, arguments={"s": "a\nb"}, raw_arguments='{"s": "a\\nb"}'
    ),
    ToolRunning(id="call_1", name="slow", started_at=1.5),
    ToolOutput(id="call_1", name="slow", stream="stdout", text="printed\r\nline\n"),
    ToolResult(id="call_1", name="slow", output="line one\nline two", duration=0.25),
    ToolError(id="call_2", name="slow", kind="timeout", message="ran past 1 s"),
    Usage(input_tokens=12, output_tokens=None),
    StreamError(kind="interrupted", message="dropped\nmid-stream", provider="demo"),
    MessageFinished(stop_reason="tool_calls", raw_stop_reason="tool_use"),
    TurnFinished(reason="done", steps=2),
]


@pytest.mark.parametrize("split", [None, 1, 7])
async def test_one_sse_event_per_event_named_by_type_and_read_back_by_events(split: int | None) -> None:
    frames = await collect_frames(to_sse(replay(EVERY_KIND)))
    assert len(frames) == len(EVERY_KIND)
    assert frames[0] == b'event: step_started\ndata: {"type":"step_started","step":1}\n\n'
    assert as_events(decode(frames, split=split)) == EVERY_KIND


def test_the_relay_headers() -> None:
    assert dict(SSE_HEADERS) == {
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-cache",
        "X-Accel-Buffering": "no",
        "Connection": "keep-alive",
    }
    with pytest.raises(TypeError):
        SSE_HEADERS["Cache-Control"] = "max-age=60"  # type: ignore[index]


@given(
    data=st.text(st.characters(exclude_categories=["Cs"])),
    event=st.none() | st.text("abcdefgh_:. ", min_size=1),
    split=st.integers(1, 9),
)
def test_any_data_survives_the_framing(data: str, event: str | None, split: int) -> None:
    """SSE carries lines: ``\\r\\n`` and ``\\r`` come back as ``\\n``, everything else as it was sent."""
    [message] = decode([sse_frame(data, event)], split=split)
    assert message.data == re.sub(r"\r\n|\r", "\n", data)
    assert message.event == (event or "message")  # an event without a name is a "message"


def test_an_event_name_cannot_break_the_framing() -> None:
    with pytest.raises(ValueError, match="line break"):
        sse_frame("{}", "text_delta\ndata: injected")


@pytest.mark.parametrize("heartbeat", [0, -1, math.inf, "15"])
async def test_a_bad_heartbeat_is_a_configuration_error(heartbeat: Any) -> None:
    with pytest.raises(ConfigurationError, match="heartbeat"):
        await collect_frames(to_sse(replay([]), heartbeat=heartbeat))


async def test_an_error_of_the_source_reaches_the_reader() -> None:
    async def broken() -> AsyncIterator[Event]:
        yield TextDelta(text="so far")
        raise RuntimeError("boom")

    frames = []
    with pytest.raises(RuntimeError, match="boom"):
        async for frame in to_sse(broken(), heartbeat=0.05):
            frames.append(frame)
    assert as_events(decode(frames)) == [TextDelta(text="so far")]


# --- heartbeats ----------------------------------------------------------------------------------------------


async def test_heartbeats_fill_a_slow_tool_without_losing_or_reordering_events() -> None:
    plain = [event async for event in slow_session().send("go")]
    frames = await collect_frames(to_sse(slow_session().send("go"), heartbeat=0.1))

    beats = [i for i, frame in enumerate(frames) if frame == HEARTBEAT]
    kinds = [b"heartbeat" if frame == HEARTBEAT else frame.split(b"\n", 1)[0] for frame in frames]
    running, result = kinds.index(b"event: tool_running"), kinds.index(b"event: tool_result")
    assert len([i for i in beats if running < i < result]) >= 3  # a 0.6 s tool, a beat per 0.1 s of silence
    assert decode([HEARTBEAT]) == []  # a comment: EventSource never sees it
    events = as_events(decode(frames))
    assert [type(e) for e in events] == [type(e) for e in plain]
    assert [e.text for e in events if isinstance(e, TextDelta)] == [
        e.text for e in plain if isinstance(e, TextDelta)
    ]
    assert events[-1] == TurnFinished(reason="done", steps=2, metrics=events[-1].metrics)


async def test_no_heartbeat_when_switched_off() -> None:
    frames = await collect_frames(to_sse(slow_session(seconds=0.3).send("go"), heartbeat=None))
    assert HEARTBEAT not in frames
    last = as_events(decode(frames))[-1]
    assert isinstance(last, TurnFinished) and (last.reason, last.steps, last.message) == ("done", 2, None)


# --- the reader stops: the turn is cancelled -------------------------------------------------------------------


async def test_closing_the_sse_stream_cancels_the_turn() -> None:
    watched = Watched()
    session = watched_session(watched)
    frames = to_sse(session.send("go"), heartbeat=0.05)
    async for frame in frames:
        if frame.startswith(b"event: tool_running"):
            break
    await frames.aclose()  # what an ASGI server does with a response iterator when the client has gone

    assert_cancelled_cleanly(session, watched)
    assert [type(e) async for e in session.send("again")][-1] is TurnFinished  # the next turn runs at once


async def test_cancelling_the_reader_during_a_silence_cancels_the_turn_and_leaves_no_task() -> None:
    watched = Watched()
    session = watched_session(watched)
    reader = asyncio.ensure_future(collect_frames(to_sse(session.send("go"), heartbeat=0.05)))
    await watched.started.wait()
    await asyncio.sleep(0.12)  # a heartbeat or two: the reader now waits on its pending read
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader

    assert_cancelled_cleanly(session, watched)
    assert asyncio.all_tasks() == {asyncio.current_task()}  # no read of the turn left pending


async def test_any_async_iterator_is_closed_when_a_cancel_scope_keeps_cancelling() -> None:
    """anyio (under Starlette) cancels at every await until its scope is left: cleanup still finishes."""
    closed = asyncio.Event()

    async def source() -> AsyncIterator[Event]:
        try:
            yield TextDelta(text="hi")
            await asyncio.sleep(10)
        finally:
            closed.set()

    frames: list[bytes] = []
    with anyio.move_on_after(0.2):
        async for frame in to_sse(source(), heartbeat=0.05):
            frames.append(frame)

    assert closed.is_set()
    assert frames[0].startswith(b"event: text_delta") and HEARTBEAT in frames
    assert asyncio.all_tasks() == {asyncio.current_task()}


@pytest.mark.parametrize("asgi_spec", ["2.3", "2.4"])
async def test_a_starlette_response_whose_client_disconnects_cancels_the_turn(asgi_spec: str) -> None:
    """Uvicorn speaks ASGI 2.3 for HTTP: Starlette watches for ``http.disconnect`` and cancels the response
    (anyio cancels again at every await until it is out); with 2.4 the next write fails instead."""
    from starlette.responses import StreamingResponse

    watched = Watched()
    session = watched_session(watched)
    gone = asyncio.Event()
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if gone.is_set():
            raise OSError("the client went away")
        sent.append(message)
        if b"event: tool_running" in message.get("body", b""):
            asyncio.get_running_loop().call_later(0.12, gone.set)  # during the tool's silence

    response = StreamingResponse(to_sse(session.send("go"), heartbeat=0.05), headers=SSE_HEADERS)
    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": asgi_spec}, "method": "GET"}
    try:
        await asyncio.wait_for(response(scope, receive, send), 5)
    except Exception as exc:  # 2.4: Starlette reports the failed write as ClientDisconnect
        assert type(exc).__name__ == "ClientDisconnect"
    # With 2.4 Starlette leaves the iterator as it is: dropping the response (as the server does) lets asyncio's
    # async-generator finalizer close it (once the failed write's traceback is collected). With 2.3 the
    # cancellation already closed it.
    del response
    gc.collect()

    await asyncio.wait_for(watched.cancelled.wait(), 2)  # nobody but the relay cancelled it
    await session.cancel()  # (only waits: the cancellation is already under way)
    assert_cancelled_cleanly(session, watched)
    headers = dict(sent[0]["headers"])
    assert headers[b"content-type"] == b"text/event-stream; charset=utf-8"
    assert headers[b"x-accel-buffering"] == b"no"
    assert any(message.get("body") == HEARTBEAT for message in sent)
