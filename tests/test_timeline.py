"""Timeline: spans and text-flow numbers from timed events, and the SVG drawn from them."""

from __future__ import annotations

import asyncio
import re
import time
import xml.etree.ElementTree as ET

import pytest
from helpers import slow
from hypothesis import given, settings
from hypothesis import strategies as st

from nbstream import (
    Call,
    Event,
    MessageFinished,
    Say,
    ScriptedModel,
    Session,
    StepStarted,
    TextDelta,
    ToolArgumentsDelta,
    ToolCallReady,
    ToolCallStarted,
    ToolError,
    ToolResult,
    ToolRunning,
    TurnFinished,
)
from nbstream._timeline import EventLog, Timeline

SVG = "{http://www.w3.org/2000/svg}"


def text(at: float) -> tuple[float, Event]:
    return at, TextDelta(text="x")


def call(at: float, call_id: str, name: str) -> list[tuple[float, Event]]:
    """A call whose arguments stream for 0.1 s before it is final."""
    return [
        (at - 0.1, ToolCallStarted(id=call_id, name=name, position=0)),
        (at, ToolCallReady(id=call_id, name=name, position=0, arguments={}, raw_arguments="{}")),
    ]


def running(at: float, call_id: str, name: str) -> tuple[float, Event]:
    return at, ToolRunning(id=call_id, name=name, started_at=1e9 + at)


def result(at: float, call_id: str, name: str, duration: float = 0.0) -> tuple[float, Event]:
    return at, ToolResult(id=call_id, name=name, output="ok", duration=duration)


def failure(at: float, call_id: str, name: str, kind: str = "exception") -> tuple[float, Event]:
    return at, ToolError(id=call_id, name=name, kind=kind, message="boom")  # type: ignore[arg-type]


def finished(at: float) -> tuple[float, Event]:
    return at, MessageFinished(stop_reason="tool_calls")


def one_tool_turn(origin: float = 0.0) -> list[tuple[float, Event]]:
    """Text at 0.1; a call final at 1.0 that runs 1.0 → 3.0; text every 0.25 s from 1.25 to 2.5; the response
    ends at 2.6; the next step's text at 3.2."""
    records = [
        (0.0, StepStarted(step=1)),
        text(0.1),
        *call(1.0, "c1", "slow"),
        running(1.0, "c1", "slow"),
        *(text(1.0 + 0.25 * k) for k in range(1, 7)),
        finished(2.6),
        result(3.0, "c1", "slow"),
        (3.1, StepStarted(step=2)),
        text(3.2),
        (3.3, MessageFinished(stop_reason="stop")),
        (3.4, TurnFinished(reason="done", steps=2)),
    ]
    return [(origin + at, event) for at, event in records]


def parse_svg(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # raises on anything that is not well-formed XML


def text_tick_count(root: ET.Element) -> int:
    ticks = root.find(f"{SVG}path[@data-nbstream='text-ticks']")
    return 0 if ticks is None else len(re.findall("M", ticks.get("d", "")))


def bars(root: ET.Element) -> list[ET.Element]:
    return root.findall(f".//{SVG}rect[@data-nbstream='tool-bar']")


# -- numbers from synthetic records ----------------------------------------------------------------------


def test_spans_and_text_flow_of_one_tool() -> None:
    timeline = Timeline(one_tool_turn())

    (span,) = timeline.tools
    assert (span.name, span.id, span.state) == ("slow", "c1", "done")
    assert span.start == pytest.approx(1.0)
    assert span.end == pytest.approx(3.0)
    assert span.duration == pytest.approx(2.0)
    assert span.called == pytest.approx(0.9)
    assert timeline.text_times == pytest.approx([0.1, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 3.2])
    assert timeline.text_during_tools() == 6
    # The window is the tool's run clipped to the open response (1.0 → 2.6): the tool's last 0.4 s, after the
    # response ended, are not a gap in the text.
    assert timeline.max_text_gap_while_tools_run() == pytest.approx(0.25)
    assert timeline.duration == pytest.approx(3.4)


def test_times_are_relative_to_the_first_record() -> None:
    epoch = Timeline(one_tool_turn(origin=1_700_000_000.0))
    assert epoch.tools[0].start == pytest.approx(1.0, abs=1e-6)
    assert epoch.text_times[0] == pytest.approx(0.1, abs=1e-6)
    assert epoch.summary() == Timeline(one_tool_turn()).summary()


def test_a_stalled_stream_shows_as_a_large_gap() -> None:
    records = [
        (0.0, StepStarted(step=1)),
        *call(0.5, "c1", "slow"),
        running(0.5, "c1", "slow"),
        text(0.6),
        text(2.1),  # 1.5 s without text while the tool ran and the response was open
        text(2.2),
        finished(2.3),
        result(2.5, "c1", "slow"),
    ]
    timeline = Timeline(records)
    assert timeline.text_during_tools() == 3
    assert timeline.max_text_gap_while_tools_run() == pytest.approx(1.5)


def test_no_text_during_a_tool_is_a_gap_as_long_as_the_open_window() -> None:
    records = [(0.0, StepStarted(step=1)), *call(0.2, "c1", "t"), running(0.2, "c1", "t"), finished(1.2)]
    records += [result(2.0, "c1", "t")]
    timeline = Timeline(records)
    assert timeline.text_during_tools() == 0
    assert timeline.max_text_gap_while_tools_run() == pytest.approx(1.0)


def test_parallel_tools_count_each_delta_once() -> None:
    records = [
        (0.0, StepStarted(step=1)),
        *call(0.2, "a", "first"),
        running(0.2, "a", "first"),
        *call(0.4, "b", "second"),
        running(0.4, "b", "second"),
        text(0.5),
        text(0.7),
        result(0.8, "a", "first"),
        text(0.9),
        result(1.0, "b", "second"),
        finished(1.1),
    ]
    timeline = Timeline(records)
    assert [span.id for span in timeline.tools] == ["a", "b"]
    assert timeline.text_during_tools() == 3
    assert timeline.max_text_gap_while_tools_run() == pytest.approx(0.3)  # 0.2 → 0.5


def test_states_error_cancelled_running_and_never_ran() -> None:
    records = [
        (0.0, StepStarted(step=1)),
        *call(0.1, "e", "raises"),
        running(0.1, "e", "raises"),
        failure(0.3, "e", "raises"),
        *call(0.2, "bad", "no_args"),
        failure(0.25, "bad", "no_args", "invalid_arguments"),  # never ran: starts when it was final
        *call(0.3, "c", "stopped"),
        running(0.3, "c", "stopped"),
        failure(0.9, "c", "stopped", "cancelled"),
        *call(0.4, "r", "still_going"),
        running(0.5, "r", "still_going"),
        text(1.0),
    ]
    spans = {span.id: span for span in Timeline(records).tools}
    assert {k: s.state for k, s in spans.items()} == {
        "e": "error",
        "bad": "error",
        "c": "cancelled",
        "r": "running",
    }
    assert spans["bad"].start == pytest.approx(0.2)
    assert spans["bad"].duration == pytest.approx(0.05)
    assert spans["c"].duration == pytest.approx(0.6)
    assert spans["r"].end is None and spans["r"].duration is None
    summary = Timeline(records).summary()
    assert summary["tool_states"] == {"error": 2, "cancelled": 1, "running": 1}
    assert summary["tools"] == 4


def test_the_measured_duration_corrects_late_arrivals() -> None:
    """A blocked loop delays every arrival: the tool's own timing still puts its start where it was."""
    records = [
        (0.0, StepStarted(step=1)),
        *call(0.5, "c1", "blocking"),
        running(3.5, "c1", "blocking"),  # stamped late: the consumer could not run while the tool blocked
        result(3.51, "c1", "blocking", duration=3.0),
        *(text(3.52 + 0.01 * k) for k in range(5)),  # the text that piled up arrives in a burst
        finished(3.6),
    ]
    timeline = Timeline(records)
    (span,) = timeline.tools
    assert span.start == pytest.approx(0.51)
    assert span.duration == pytest.approx(3.0)
    assert timeline.text_during_tools() == 0
    assert timeline.max_text_gap_while_tools_run() == pytest.approx(3.0)


def test_a_call_id_seen_again_after_its_end_is_a_new_span() -> None:
    records = [*call(0.1, "same", "t"), running(0.1, "same", "t"), result(0.2, "same", "t")]
    records += [*call(0.5, "same", "t"), result(0.5, "same", "t")]  # a replayed id: result reused, no run
    spans = Timeline(records).tools
    assert [(s.start, s.state) for s in spans] == [(pytest.approx(0.1), "done"), (pytest.approx(0.5), "done")]


def test_empty_timeline() -> None:
    timeline = Timeline([])
    assert timeline.duration == 0.0
    assert timeline.text_during_tools() == 0
    assert timeline.max_text_gap_while_tools_run() == 0.0
    root = parse_svg(timeline.to_svg())
    assert text_tick_count(root) == 0 and bars(root) == []


# -- the picture ---------------------------------------------------------------------------------------------


def test_svg_has_one_bar_per_tool_and_one_tick_per_text_delta() -> None:
    records = [*one_tool_turn()]
    records += [*call(3.5, "c2", "other"), running(3.5, "c2", "other"), failure(3.9, "c2", "other")]
    timeline = Timeline(records)
    root = parse_svg(timeline.to_svg())

    assert text_tick_count(root) == len(timeline.text_times) == 8
    assert len(bars(root)) == 2
    tools = root.findall(f"{SVG}g[@data-nbstream='tool']")
    assert [(g.get("data-tool-id"), g.get("data-state")) for g in tools] == [("c1", "done"), ("c2", "error")]
    assert "2.00 s" in ET.tostring(tools[0], encoding="unicode")
    assert root.findall(f"{SVG}line[@data-nbstream='step']"), "the second step is marked"


def test_bars_are_placed_on_the_time_axis() -> None:
    timeline = Timeline(one_tool_turn())  # 3.4 s in all; the tool runs 1.0 → 3.0
    root = parse_svg(timeline.to_svg(width=640))
    (bar,) = bars(root)
    x, width = float(bar.get("x", "")), float(bar.get("width", ""))
    plot_start, plot_width = 120, 640 - 120 - 16
    assert x == pytest.approx(plot_start + 1.0 / 3.4 * plot_width, abs=0.1)
    assert width == pytest.approx(2.0 / 3.4 * plot_width, abs=0.2)


def test_names_from_the_model_are_escaped() -> None:
    evil = '<script>alert("x")</script>&\x00\ud800'
    evil_id = 'id"><img src=x onerror=alert(1)>'
    records = [*call(0.1, evil_id, evil), running(0.2, evil_id, evil), result(0.5, evil_id, evil)]
    timeline = Timeline(records)
    for svg in (timeline.to_svg(), timeline._repr_svg_(), timeline._repr_html_()):
        assert "<script" not in svg and "<img" not in svg
        assert "&lt;script&gt;" in svg
        svg.encode("utf-8")  # a lone surrogate would make the output unsendable
    root = parse_svg(timeline.to_svg())
    names = [g.get("data-tool-name") for g in root.findall(f"{SVG}g[@data-nbstream='tool']")]
    assert names[0] is not None and names[0].startswith('<script>alert("x")</script>&')


def test_html_follows_the_theme_and_svg_uses_a_neutral_grey() -> None:
    timeline = Timeline(one_tool_turn())
    assert 'fill="currentColor"' in timeline._repr_html_()
    standalone = timeline._repr_svg_()
    assert "currentColor" not in standalone and 'fill="#808080"' in standalone
    assert "<script" not in standalone and "http://" not in standalone.replace(
        "http://www.w3.org/2000/svg", ""
    )


events = st.one_of(
    st.builds(TextDelta, text=st.text(max_size=3)),
    st.builds(ToolCallStarted, id=st.sampled_from("abc"), name=st.text(max_size=8), position=st.just(0)),
    st.builds(ToolRunning, id=st.sampled_from("abc"), name=st.text(max_size=8), started_at=st.just(0.0)),
    st.builds(
        ToolResult,
        id=st.sampled_from("abc"),
        name=st.text(max_size=8),
        output=st.just(""),
        duration=st.just(0.0),
    ),
    st.builds(
        ToolError, id=st.sampled_from("abc"), name=st.text(), kind=st.just("cancelled"), message=st.just("")
    ),
    st.builds(StepStarted, step=st.integers(1, 3)),
    st.just(MessageFinished(stop_reason="stop")),
    st.builds(
        ToolArgumentsDelta,
        id=st.sampled_from("abc"),
        fragment=st.text(max_size=3),
        partial=st.none() | st.just({"k": "v"}),
    ),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1000), events), max_size=30))
def test_any_records_give_consistent_numbers_and_well_formed_svg(records: list[tuple[float, Event]]) -> None:
    records.sort(key=lambda pair: pair[0])
    timeline = Timeline(records)
    root = parse_svg(timeline.to_svg())
    assert text_tick_count(root) == len(timeline.text_times)
    assert len(bars(root)) == len(timeline.tools)
    assert 0 <= timeline.text_during_tools() <= len(timeline.text_times)
    assert 0.0 <= timeline.max_text_gap_while_tools_run() <= timeline.duration + 1e-9
    for span in timeline.tools:
        assert span.end is None or span.end >= span.start
    # Argument deltas: one per run of a call, the call's fragments in order, no preview.
    kept = timeline.events
    assert [e for e in kept if not isinstance(e, ToolArgumentsDelta)] == [
        e for _, e in records if not isinstance(e, ToolArgumentsDelta)
    ]
    for call_id in "abc":
        sent = [e.fragment for _, e in records if isinstance(e, ToolArgumentsDelta) and e.id == call_id]
        got = [e for e in kept if isinstance(e, ToolArgumentsDelta) and e.id == call_id]
        assert "".join(e.fragment for e in got) == "".join(sent)
        assert all(e.partial is None for e in got)
    for a, b in zip(kept, kept[1:], strict=False):
        assert not (isinstance(a, ToolArgumentsDelta) and isinstance(b, ToolArgumentsDelta) and a.id == b.id)


# -- what a turn keeps -----------------------------------------------------------------------------------


def delta(call_id: str, fragment: str) -> ToolArgumentsDelta:
    return ToolArgumentsDelta(id=call_id, fragment=fragment, partial={"preview": fragment})


def test_a_run_of_argument_fragments_is_kept_as_one_delta_at_its_first_arrival() -> None:
    raw = '{"a": 1}'
    log = EventLog()
    log.add(0.0, ToolCallStarted(id="c1", name="t", position=0))
    for k, piece in enumerate(['{"a', '": ', "1}"]):
        log.add(0.1 + k * 0.1, delta("c1", piece))
    ready = ToolCallReady(id="c1", name="t", position=0, arguments={"a": 1}, raw_arguments=raw)
    log.add(0.5, ready)

    at, kept = log.records()[1]
    assert at == 0.1
    assert kept == ToolArgumentsDelta(id="c1", fragment=raw)  # no preview
    assert (
        isinstance(kept, ToolArgumentsDelta) and kept.fragment is ready.raw_arguments
    )  # kept once, not twice
    assert [event.type for _, event in log.records()] == [
        "tool_call_started",
        "tool_arguments_delta",
        "tool_call_ready",
    ]


def test_runs_are_split_by_other_events_and_other_calls() -> None:
    log = EventLog()
    records: list[tuple[float, Event]] = [
        (0.0, delta("a", "1")),
        (0.1, delta("a", "2")),
        (0.2, delta("b", "x")),
        (0.3, delta("a", "3")),
        (0.4, TextDelta(text="t")),
        (0.5, delta("a", "4")),
        (0.6, delta("a", "5")),
    ]
    for at, event in records:
        log.add(at, event)
    kept = [
        (at, event.id, event.fragment) for at, event in log.records() if isinstance(event, ToolArgumentsDelta)
    ]
    assert kept == [(0.0, "a", "12"), (0.2, "b", "x"), (0.3, "a", "3"), (0.5, "a", "45")]


def test_a_read_mid_run_sees_the_run_so_far_and_the_run_goes_on() -> None:
    log = EventLog()
    log.add(0.0, delta("a", "{"))
    log.add(0.1, delta("a", '"k"'))
    first = log.records()
    log.add(0.2, delta("a", ":1}"))
    assert [(at, event) for at, event in first] == [(0.0, ToolArgumentsDelta(id="a", fragment='{"k"'))]
    assert log.records() == [(0.0, ToolArgumentsDelta(id="a", fragment='{"k":1}'))]


async def test_a_recorded_turn_keeps_one_arguments_delta_per_call_even_with_previews() -> None:
    arguments = {"path": "notes.md", "content": "word " * 400}
    model = ScriptedModel([[Call("save", arguments, fragment=4)], [Say("Saved.")]])

    def save(path: str, content: str) -> str:
        """Save a file.

        Args:
            path: where
            content: what
        """
        return "ok"

    session = Session(model, tools=[save])  # previews on: each delta of the stream carries a preview
    timeline = await Timeline.record(session.send("go"))

    deltas = [event for event in timeline.events if isinstance(event, ToolArgumentsDelta)]
    (ready,) = [event for event in timeline.events if isinstance(event, ToolCallReady)]
    assert len(deltas) == 1 and deltas[0].partial is None
    assert deltas[0].fragment == ready.raw_arguments and ready.arguments == arguments
    assert len(ready.raw_arguments) // 4 > 100  # it did arrive in many fragments
    (span,) = timeline.tools
    assert span.state == "done"


# -- real turns through the session ----------------------------------------------------------------------


async def test_recorded_scripted_turn_shows_text_flowing_while_the_tool_runs() -> None:
    model = ScriptedModel(
        [
            [
                Say("Starting the slow tool."),
                Call("slow", {"seconds": 0.8}),
                Say("still talking " * 15, chunk=1, over=1.2),
            ],
            [Say("It slept.")],
        ]
    )
    session = Session(model, tools=[slow])
    timeline = await Timeline.record(session.send("go"))

    (span,) = timeline.tools
    assert (span.name, span.state) == ("slow", "done")
    assert span.duration == pytest.approx(0.8, abs=0.15)
    assert timeline.text_during_tools() >= 12  # 30 deltas over 1.2 s, 0.8 s of them with the tool
    assert timeline.max_text_gap_while_tools_run() < 0.3
    deltas = [event for event in timeline.events if isinstance(event, TextDelta)]
    assert len(timeline.text_times) == len(deltas)
    root = parse_svg(timeline.to_svg())
    assert text_tick_count(root) == len(deltas)
    assert len(bars(root)) == 1
    assert timeline.summary()["steps"] == 2


async def test_a_blocking_stream_is_caught_by_the_numbers() -> None:
    """The negative control: with the text scripted *after* a long pause, the gap shows it."""
    model = ScriptedModel(
        [
            [Call("slow", {"seconds": 0.6}), Say("a"), Say("b", delay=0.5), Say("c d e", chunk=1)],
            [Say("done")],
        ]
    )
    timeline = await Timeline.record(Session(model, tools=[slow]).send("go"))
    assert timeline.max_text_gap_while_tools_run() >= 0.4


async def test_a_tool_that_blocks_the_event_loop_is_caught() -> None:
    """The mistake the exercise warns about: ``time.sleep`` in an ``async def`` tool freezes the stream."""

    async def blocking(seconds: float) -> str:
        """Blocks the loop.

        Args:
            seconds: how long
        """
        time.sleep(seconds)
        return "done"

    model = ScriptedModel(
        [[Call("blocking", {"seconds": 1.0}), Say("talking " * 30, chunk=1, over=1.5)], [Say("ok")]]
    )
    timeline = await Timeline.record(Session(model, tools=[blocking]).send("go"))
    (span,) = timeline.tools
    assert span.duration == pytest.approx(1.0, abs=0.15)
    assert timeline.max_text_gap_while_tools_run() > 0.8
    assert timeline.text_during_tools() <= 5  # a healthy stream would deliver about 20 here


async def test_recorded_cancel_and_error_states() -> None:
    def broken() -> str:
        """Always fails."""
        raise RuntimeError("nope")

    model = ScriptedModel(
        [[Call("broken", {}), Call("slow", {"seconds": 5}), Say("waiting " * 40, over=2.0)], [Say("never")]]
    )
    session = Session(model, tools=[slow, broken])
    recording = asyncio.get_running_loop().create_task(Timeline.record(session.send("go")))
    await asyncio.sleep(0.5)
    session.cancel()
    timeline = await recording

    states = {span.name: span.state for span in timeline.tools}
    assert states == {"broken": "error", "slow": "cancelled"}
    cancelled = next(span for span in timeline.tools if span.name == "slow")
    assert cancelled.duration is not None and cancelled.duration < 1.0
    root = parse_svg(timeline.to_svg())
    assert sorted(g.get("data-state", "") for g in root.findall(f"{SVG}g[@data-nbstream='tool']")) == [
        "cancelled",
        "error",
    ]
