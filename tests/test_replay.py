"""Recordings: ``Session(record=...)`` / ``chat.record(...)`` write every turn's prompt and events with their
times, ``Recording`` reads them back (with the history they make) and plays them at their pace scaled by
``speed``, and ``nbstream.replay`` plays them into a chat view with no model, key or network.

The widget side uses the recording comm of widget_comm.py (``comm.create_comm`` patched), as test_widget.py does.
Run as a script, this module writes examples/recordings/anthropic_slow_tool.jsonl again (see
``record_example``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import events_of, slow
from widget_comm import recorder

import nbstream
from nbstream import (
    Call,
    Pause,
    Recording,
    ReplayChat,
    Say,
    ScriptedModel,
    Session,
    StreamChat,
    TextDelta,
    ToolResult,
    ToolResultMessage,
    ToolRunning,
    TurnFinished,
    UserMessage,
    replay,
)
from nbstream.testing import HttpStatus, ProviderServer

pytestmark = pytest.mark.usefixtures("recording_comms")  # replays are widgets too

MakeChat = Callable[..., StreamChat]
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "recordings" / "anthropic_slow_tool.jsonl"


def tool_script(text_seconds: float = 0.6) -> ScriptedModel:
    """A call to ``slow`` (0.3 s) with text streaming meanwhile, then an answer: about a second of turn."""
    return ScriptedModel(
        [
            [
                Say("Let me wait.", chunk=1, delay=0.02),
                Call("slow", {"seconds": 0.3}),
                Say(" While it sleeps I keep talking, word by word.", chunk=1, over=text_seconds),
            ],
            [Say("It slept 0.3 s.", chunk=1, over=0.2)],
        ]
    )


async def recorded_turn(path: Path) -> tuple[Session, list[nbstream.Event], list[float]]:
    """One turn of ``tool_script`` recorded to ``path``: the session, its events and when each arrived here."""
    session = Session(tool_script(), tools=[slow], record=path)
    events, arrivals = [], []
    start = time.monotonic()
    async for event in session.send("wait 0.3 s"):
        events.append(event)
        arrivals.append(time.monotonic() - start)
    await session.aclose()
    return session, events, arrivals


async def test_a_recording_holds_the_prompt_and_every_event_in_order_with_its_time(tmp_path: Path) -> None:
    path = tmp_path / "turn.jsonl"
    session, events, arrivals = await recorded_turn(path)
    recording = Recording.load(path)

    assert recording.model == "scripted" and recording.version == 1
    (turn,) = recording.turns()
    assert turn.prompt == UserMessage(content="wait 0.3 s")
    assert recording.events() == events  # equal models: every field read back as it was, metrics included
    assert isinstance(events[-1], TurnFinished) and events[-1].metrics is not None
    # Each line is the EVENTS format plus its time.
    lines = path.read_text().splitlines()
    assert json.loads(lines[0])["format"] == "nbstream-recording"
    assert nbstream.EVENTS.validate_python([json.loads(line)["event"] for line in lines[2:]]) == events
    # The recorded times are the arrival times (stamped when the session emitted each event).
    times = [event.at - turn.at for event in turn.events]
    assert times == sorted(times)
    span, seen = times[-1] - times[0], arrivals[-1] - arrivals[0]
    assert seen > 0.7 and 0.8 < span / seen < 1.25, (span, seen)
    # The history the events make is the session's.
    assert recording.messages() == session.messages


async def test_playing_a_recording_keeps_its_order_and_pace_divided_by_speed(tmp_path: Path) -> None:
    path = tmp_path / "turn.jsonl"
    await recorded_turn(path)
    recording = Recording.load(path)
    (turn,) = recording.turns()
    recorded = turn.events[-1].at - turn.at

    async def play(speed: float) -> tuple[list[object], list[float]]:
        items, offsets = [], []
        start = time.monotonic()
        async for _, item in recording.play(speed):
            items.append(item)
            offsets.append(time.monotonic() - start)
        return items, offsets

    for speed in (1.0, 3.0):
        items, offsets = await play(speed)
        assert items == [turn.prompt, *recording.events()]
        took = offsets[-1]
        assert 0.85 < took / (recorded / speed) < 1.5, (speed, took, recorded)
        # Every event played no earlier than its scaled time, and the text in between too (counted).
        due = [0.0, *turn.offsets(speed)]
        assert all(played >= expected - 0.005 for played, expected in zip(offsets, due, strict=True))
    items, offsets = await play(math.inf)
    assert len(items) == len(recording) and offsets[-1] < recorded / 10


async def test_turns_follow_each_other_without_the_idle_time_between_them(tmp_path: Path) -> None:
    path = tmp_path / "two.jsonl"
    session = Session(ScriptedModel([[Say("one")], [Say("two")]]), record=path)
    await events_of(session, "first")
    await asyncio.sleep(0.5)  # the user thinks
    await events_of(session, "second")
    await session.aclose()
    recording = Recording.load(path)
    assert [turn.prompt.content for turn in recording.turns()] == ["first", "second"]
    assert recording.turns()[1].at - recording.turns()[0].at > 0.5
    start = time.monotonic()
    played = [item async for _, item in recording.play()]
    assert time.monotonic() - start < 0.3
    assert [item.content for item in played if isinstance(item, UserMessage)] == ["first", "second"]


async def test_no_key_or_base_url_reaches_a_recording(tmp_path: Path) -> None:
    key = "sk-test-0123456789abcdef"
    with ProviderServer([[Say("never")]], faults=[HttpStatus(404)]) as server:
        base_url = server.base_url("openai")
        path = tmp_path / "error.jsonl"
        session = Session("openai:gpt-x", api_key=key, base_url=base_url, record=path, max_retries=0)
        events = await events_of(session)
        await session.aclose()
    with socket.socket() as sock:  # a port nothing listens on: the error quotes the URL it tried
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    session = Session(
        "openai:gpt-x", api_key=key, base_url=closed, record=tmp_path / "refused.jsonl", max_retries=0
    )
    refused = await events_of(session)
    await session.aclose()

    assert base_url.removeprefix("http://") in events[-1].message  # what the event itself says...
    assert closed.removeprefix("http://") in (refused[-1].message or "")
    for name in ("error.jsonl", "refused.jsonl"):
        text = (tmp_path / name).read_text()
        assert "<base_url>" in text  # ...the recording says without the URL
        for secret in (key, "127.0.0.1", "authorization", "Bearer"):
            assert secret not in text, (name, secret)
    assert json.loads((tmp_path / "error.jsonl").read_text().splitlines()[0])["model"] == "openai:gpt-x"


async def test_a_recording_that_cannot_be_written_never_stops_the_turn(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(OSError):  # a path that cannot be opened fails where it was given
        Session(record=tmp_path / "no" / "such" / "dir.jsonl")
    session = Session(ScriptedModel([[Say("still here")]]))
    with caplog.at_level(logging.WARNING, logger="nbstream"):
        session.record("/dev/full")  # every write fails: no space left on the device
        events = await events_of(session)
    assert isinstance(events[-1], TurnFinished) and events[-1].reason == "done"
    assert "recording to /dev/full stopped" in caplog.text and "No space left" in caplog.text
    assert session.record(None) is None


def test_reading_a_recording_says_what_is_wrong_and_where(tmp_path: Path) -> None:
    header = '{"format":"nbstream-recording","version":1,"model":"demo"}\n'
    prompt = '{"t":0,"prompt":{"content":"hi"}}\n'
    event = '{"t":0.1,"event":{"type":"text_delta","text":"hello"}}\n'
    cases = {
        "": "empty",
        '{"format":"other"}\n': "header",
        header.replace('"version":1', '"version":9'): "version 9",
        header + event: "line 2: an event before any prompt",
        header + prompt + '{"t":0.2,"event":{"type":"text_delta"}}\n': "line 3: Field required",
        header + prompt + '{"t":0.2,"event":{"type":"nope"}}\n': "line 3:",
        header + prompt + '{"event":{"type":"text_delta","text":"x"}}\n': "line 3: no time offset",
        header + prompt + "[1]\n": "line 3: not a JSON object",
        header + "{oops\n": "line 2: not JSON",
        header + '{"t":1}\n': "line 2: neither a prompt nor an event",
    }
    for number, (text, said) in enumerate(cases.items()):
        path = tmp_path / f"bad{number}.jsonl"
        path.write_text(text)
        with pytest.raises(ValueError, match=said):
            Recording.load(path)
    # A last line cut short (the kernel died mid-write) is left out; the rest reads.
    path = tmp_path / "cut.jsonl"
    path.write_text(header + prompt + event + '{"t":0.2,"event":{"type":"text_de')
    recording = Recording.load(path)
    assert recording.events() == [TextDelta(text="hello")]
    assert repr(recording) == "Recording(model='demo', turns=1, lines=2)"
    with pytest.raises(ValueError, match="speed"):
        recording.play(0)


def test_chat_record_and_record_keyword(make_chat: MakeChat, tmp_path: Path) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    chat = make_chat(ScriptedModel([[Say("one")], [Say("two")], [Say("three")]]), record=first)
    chat.send("1").result(10)
    assert chat.record(second) == second
    chat.send("2").result(10)
    assert chat.record(None) is None
    chat.send("3").result(10)
    assert [turn.prompt.content for turn in Recording.load(first).turns()] == ["1"]
    assert [turn.prompt.content for turn in Recording.load(second).turns()] == ["2"]


def replayed(chat: StreamChat, path: Path, **options: object) -> ReplayChat:
    """Record one turn of ``chat`` (closed after) to ``path`` and replay it."""
    chat.record(path)
    chat.send("wait 0.3 s").result(10)
    chat.close()
    return replay(path, **options)  # type: ignore[arg-type]


def test_replay_shows_the_turn_as_the_chat_did_running_nothing(make_chat: MakeChat, tmp_path: Path) -> None:
    calls: list[float] = []

    async def slow(seconds: float) -> str:
        """Sleep.

        Args:
            seconds: how long
        """
        calls.append(seconds)
        await asyncio.sleep(seconds)
        return f"slept {seconds}"

    chat = make_chat(tool_script(), tools=[slow])
    player = replayed(chat, tmp_path / "turn.jsonl", speed=2.0)
    try:
        original = chat.transcript
        (handle,) = [player._last_handle]
        assert handle is not None
        handle.result(10)
        assert calls == [0.3], "the tool ran once: when it was recorded, not when it was replayed"
        assert handle.reason == "done"
        assert [e["type"] for e in player.transcript] == [e["type"] for e in original]
        texts = [e.get("text") for e in player.transcript if e["type"] == "text_delta"]
        assert texts == [e.get("text") for e in original if e["type"] == "text_delta"]
        assert player.messages == chat.messages  # the history, rebuilt from the events
        assert player.metrics == chat.metrics and player.metrics.turns == 1  # the recorded turn's, as it was
        assert [e.get("footer") for e in player.transcript] == [e.get("footer") for e in original]
        assert handle.result() == chat.messages[-1]
        running = next(e for e in handle.events if isinstance(e, ToolRunning))
        assert abs(running.started_at - time.time()) < 5, "a replayed tool starts now, for the page's timer"
        assert player.model_label == "scripted (replay)"
        with pytest.raises(RuntimeError, match="takes no prompts"):
            player.send("hello")
        # Its pace: the recorded turn's span over the speed (generous margins: two CPUs, other tests).
        recorded = Recording.load(tmp_path / "turn.jsonl").turns()[0]
        arrivals = handle.arrivals
        span, expected = arrivals[-1] - arrivals[0], (recorded.events[-1].at - recorded.events[0].at) / 2.0
        assert 0.7 < span / expected < 1.5, (span, expected)
    finally:
        player.close()


def shown(chat: StreamChat) -> list[dict[str, object]]:
    """The display events the chat sent to the page so far (its ``events`` messages)."""
    sent = recorder(chat).custom()
    return [event for message in sent if message.get("type") == "events" for event in message["events"]]


def test_a_replay_stops_at_once_and_plays_again(make_chat: MakeChat, tmp_path: Path) -> None:
    chat = make_chat(ScriptedModel([[Say("start"), Pause(0.8), Say("end")], [Say("second turn")]]))
    chat.record(tmp_path / "two.jsonl")
    chat.send("one").result(10)
    chat.send("two").result(10)
    chat.close()
    player = replay(tmp_path / "two.jsonl", speed=0.5)  # the pause takes 1.6 s
    try:
        first = player._last_handle
        deadline = time.monotonic() + 5
        while not any(e["type"] == "text_delta" for e in shown(player)):
            assert time.monotonic() < deadline, "the replay never started"
            time.sleep(0.02)
        started = time.monotonic()
        player.stop()
        while player.status != "cancelled":
            assert time.monotonic() - started < 1.0, "stop took too long"
            time.sleep(0.02)
        assert first is not None and first.done()
        texts = [e.text for e in player.session.messages[-1:] if hasattr(e, "text")]
        assert texts == ["start"]  # what was played before the stop is kept
        # play() starts over, from a cleared view.
        handles = player.play()
        assert len(handles) == 2
        handles[-1].result(10)
        assert [h.reason for h in handles] == ["done", "done"]
        prompts = [e["text"] for e in player.transcript if e["type"] == "user_prompt"]
        assert prompts == ["one", "two"]
        assert player.metrics == chat.metrics and player.metrics.turns == 2  # each recorded turn counted once
    finally:
        player.close()


def test_a_prompt_typed_into_a_replay_is_refused_with_a_reason(make_chat: MakeChat, tmp_path: Path) -> None:
    chat = make_chat(ScriptedModel([[Say("hi")]]))
    player = replayed(chat, tmp_path / "one.jsonl", speed=math.inf)
    try:
        player._last_handle.result(10)  # type: ignore[union-attr]
        player._on_browser_message(None, {"type": "send", "prompt": "more"}, None)
        deadline = time.monotonic() + 5
        while "takes no prompts" not in player.status_message:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert len([m for m in player.messages if isinstance(m, UserMessage)]) == 1
    finally:
        player.close()


def test_a_recording_cut_mid_turn_replays_to_a_finished_turn(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl"
    path.write_text(
        '{"format":"nbstream-recording","version":1,"model":"demo"}\n'
        '{"t":0,"prompt":{"content":"hi"}}\n'
        '{"t":0.01,"event":{"type":"step_started","step":1}}\n'
        '{"t":0.02,"event":{"type":"text_delta","text":"half an ans"}}\n'
    )
    player = replay(path)
    try:
        handle = player._last_handle
        assert handle is not None
        handle.result(10)
        finished = [e for e in handle.events if isinstance(e, TurnFinished)]
        assert len(finished) == 1 and finished[0].reason == "error"
        assert "recording ends before this turn finished" in (finished[0].message or "")
        assert player.status == "error"
    finally:
        player.close()


# -- the example recording of examples/recordings, replayed in notebooks/sleep_tool_exercise.ipynb -----------


async def record_example(path: Path) -> None:
    """Record the exercise's turn against the loopback server on Anthropic's wire: a 3 s tool, text meanwhile."""
    monologue = (
        " While the job runs I keep talking: the tool is a separate task on the event loop, so reading the"
        " stream never waits for it. When the stream ends, the session sends the result back to me."
    )
    steps = [
        [
            Say("I will start the slow job right away.", chunk=1, delay=0.04),
            Call("slow_tool", {"seconds": 3, "label": "fetch the report"}),
            Say(monologue, chunk=1, over=3.5),
        ],
        [Say("The job is done: the report was fetched after 3 s.", chunk=1, delay=0.03)],
    ]

    async def slow_tool(seconds: float, label: str = "work") -> str:
        """Simulate a long-running job.

        Args:
            seconds: how long the job takes
            label: what the job is called
        """
        await asyncio.sleep(seconds)
        return f"{label}: finished after {seconds:g} s"

    async with ProviderServer(steps) as server:
        session = Session(
            "anthropic:claude-sonnet-4-5",
            api_key="sk-ant-example-key",
            base_url=server.base_url("anthropic"),
            tools=[slow_tool],
            record=path,
        )
        await events_of(session, "Fetch the report, and tell me about it while it runs.")
        await session.aclose()


async def test_the_example_recording_is_what_recording_the_loopback_server_gives_now(tmp_path: Path) -> None:
    committed = Recording.load(EXAMPLE)
    fresh_path = tmp_path / "fresh.jsonl"
    await record_example(fresh_path)
    fresh = Recording.load(fresh_path)
    assert committed.model == fresh.model == "anthropic:claude-sonnet-4-5"
    assert [type(e).__name__ for e in committed.events()] == [type(e).__name__ for e in fresh.events()]
    untimed = [
        m.model_copy(update={"duration": 0.0}) if isinstance(m, ToolResultMessage) else m
        for m in fresh.messages()
    ]
    assert [
        m.model_copy(update={"duration": 0.0}) if isinstance(m, ToolResultMessage) else m
        for m in committed.messages()
    ] == untimed
    text = EXAMPLE.read_text()
    assert "sk-ant" not in text and "127.0.0.1" not in text
    results = [e for e in committed.events() if isinstance(e, ToolResult)]
    assert [r.output for r in results] == ["fetch the report: finished after 3 s"]
    (turn,) = committed.turns()
    running = next(e.at for e in turn.events if isinstance(e.event, ToolRunning))
    done = next(e.at for e in turn.events if isinstance(e.event, ToolResult))
    during = [e for e in turn.events if isinstance(e.event, TextDelta) and running < e.at < done]
    assert len(during) >= 20, "the recording shows text streaming while the tool ran"


if __name__ == "__main__":  # python tests/test_replay.py: write the example recording again
    EXAMPLE.parent.mkdir(parents=True, exist_ok=True)
    asyncio.run(record_example(EXAMPLE))
    print(f"wrote {EXAMPLE} ({EXAMPLE.stat().st_size:,} bytes)", file=sys.stderr)
