"""Timeline: when each event of a turn arrived, as numbers and as a small inline SVG.

The exercise nbstream comes from asks to *verify* that text keeps flowing while a slow tool runs. A timeline
answers with measurements taken on the consumer's side: every event is stamped when it arrives, tool runs
become spans (``ToolRunning`` → ``ToolResult`` / ``ToolError``), and the text deltas that arrived inside
those spans are counted. The picture is plain SVG (no script, no external library), so it survives in a saved
notebook; every name in it comes from model output and is escaped.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left, bisect_right
from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Literal

from ._events import (
    Event,
    MessageFinished,
    StepStarted,
    StreamError,
    TextDelta,
    ToolArgumentsDelta,
    ToolCallReady,
    ToolCallStarted,
    ToolError,
    ToolResult,
    ToolRunning,
    TurnFinished,
)
from ._timeline_svg import draw_svg, present_states

__all__ = ["EventLog", "Timeline", "ToolSpan"]

ToolState = Literal["done", "error", "cancelled", "running"]


@dataclass(frozen=True, slots=True)
class ToolSpan:
    """One tool call, in seconds from the start of the timeline.

    ``start`` is when the tool began running (``ToolRunning``, or earlier if the tool's own measured duration
    says so); a call that never ran (bad arguments, unknown tool, denied) starts when it was final. ``end``
    is ``None`` while the call had no result yet. ``called`` is when the model began writing the call, so
    ``start - called`` covers the streamed arguments.
    """

    name: str
    id: str
    start: float
    end: float | None
    state: ToolState
    called: float | None = None

    @property
    def duration(self) -> float | None:
        return None if self.end is None else self.end - self.start


class _OpenSpan:
    """A span being built while records are read."""

    __slots__ = ("called", "id", "name", "ready", "running", "slot")

    def __init__(self, call_id: str, name: str, slot: int) -> None:
        self.slot = slot  # its place in the list of spans
        self.id = call_id
        self.name = name
        self.called: float | None = None
        self.ready: float | None = None
        self.running: float | None = None

    def close(self, end: float | None, state: ToolState, measured: float = 0.0) -> ToolSpan:
        """``measured`` is the duration the session timed around the tool itself. When the consumer's loop
        was blocked (a tool calling ``time.sleep`` on it), every arrival is late, but ``end - measured``
        still puts the start where the tool really began."""
        start = next(t for t in (self.running, self.ready, end, self.called, 0.0) if t is not None)
        if end is not None and measured > 0:
            start = max(0.0, min(start, end - measured))
        return ToolSpan(self.name, self.id, start, end, state, self.called)


class EventLog:
    """A turn's events with their arrival times, in the form a turn keeps them.

    A call's arguments arrive in fragments of a few characters (2 MB of arguments is ~300k deltas), each delta
    possibly with a ``partial`` preview of the whole object so far: kept one by one, they cost tens of times
    the stream's own bytes. Nothing reads them afterwards (the timeline draws text ticks and tool bars;
    ``ToolCallReady`` carries the whole arguments), so a run of consecutive deltas of one call is kept as one
    delta: its first arrival, the fragments joined once, no preview. Text deltas stay one record each.

    One thread adds while any thread may read: a lock keeps every read whole.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[tuple[float, Event]] = []
        self._open: tuple[float, ToolArgumentsDelta] | None = None  # the first delta of the open run
        self._pieces: list[str] = []  # the open run's fragments

    def add(self, at: float, event: Event) -> None:
        with self._lock:
            if isinstance(event, ToolArgumentsDelta):
                if self._open is not None and self._open[1].id == event.id:
                    self._pieces.append(event.fragment)
                    return
                self._close_run()
                self._open, self._pieces = (at, event), [event.fragment]
            else:
                self._close_run(event.raw_arguments if isinstance(event, ToolCallReady) else None)
                self._records.append((at, event))

    def records(self) -> list[tuple[float, Event]]:
        """A copy of the records so far (an open run included, joined)."""
        with self._lock:
            return [*self._records] if self._open is None else [*self._records, self._joined()]

    def _close_run(self, whole: str | None = None) -> None:
        if self._open is not None:
            self._records.append(self._joined(whole))
            self._open, self._pieces = None, []

    def _joined(self, whole: str | None = None) -> tuple[float, ToolArgumentsDelta]:
        """The open run as one delta. When the run is the whole of the arguments that ``ToolCallReady``
        carries next (``whole``), that string is reused: the arguments are kept once, not twice."""
        assert self._open is not None
        at, first = self._open
        fragment = "".join(self._pieces)
        if fragment == whole:
            fragment = whole
        return at, first.model_copy(update={"fragment": fragment, "partial": None})


class Timeline:
    """The events of a turn with their arrival times: ``await Timeline.record(session.send(prompt))``.

    Build one from ``(time, event)`` pairs in arrival order (``time.perf_counter()`` or epoch seconds); times
    are kept relative to the first record. Argument deltas are kept as ``EventLog`` keeps them: one per run of
    fragments of a call, at its first arrival, without preview.
    """

    def __init__(self, records: Iterable[tuple[float, Event]]) -> None:
        log = EventLog()
        for at, event in records:
            log.add(at, event)
        pairs = log.records()
        origin = pairs[0][0] if pairs else 0.0
        self.records: list[tuple[float, Event]] = [(at - origin, event) for at, event in pairs]
        self.tools: list[ToolSpan] = _tool_spans(self.records)
        self.text_times: list[float] = sorted(
            at for at, event in self.records if isinstance(event, TextDelta)
        )
        self.step_times: list[float] = [at for at, event in self.records if isinstance(event, StepStarted)]

    @classmethod
    async def record(cls, events: AsyncIterable[Event]) -> Timeline:
        """Consume a stream of events (e.g. ``session.send(prompt)``), stamping each one as it arrives."""
        log = EventLog()
        async for event in events:
            log.add(time.perf_counter(), event)
        return cls(log.records())

    @property
    def duration(self) -> float:
        """Seconds from the first event to the last."""
        return self.records[-1][0] if self.records else 0.0

    @property
    def events(self) -> list[Event]:
        return [event for _, event in self.records]

    def text_during_tools(self) -> int:
        """How many text deltas arrived while at least one tool was running."""
        times = self.text_times
        return sum(bisect_right(times, end) - bisect_left(times, start) for start, end in self._tool_runs())

    def max_text_gap_while_tools_run(self) -> float:
        """The longest stretch without a text delta while a tool ran and the model's response was still open.

        Counted from a tool's start (or the response's) to the first delta, between deltas, and from the last
        delta to the tool's end (or the response's): once a response has ended there is no text to wait for.
        ``0.0`` when no tool ran during an open response.
        """
        times = self.text_times
        longest = 0.0
        for start, end in _intersect(self._tool_runs(), self._response_intervals()):
            marks = [start, *times[bisect_right(times, start) : bisect_left(times, end)], end]
            longest = max(longest, *(b - a for a, b in pairwise(marks)))
        return longest

    def summary(self) -> dict[str, Any]:
        """The headline numbers, rounded for reading."""
        first_text = self.text_times[0] if self.text_times else None
        return {
            "duration_s": round(self.duration, 3),
            "steps": len(self.step_times),
            "text_deltas": len(self.text_times),
            "first_text_s": None if first_text is None else round(first_text, 3),
            "tools": len(self.tools),
            "tool_states": {
                state: sum(1 for s in self.tools if s.state == state) for state in present_states(self)
            },
            "text_during_tools": self.text_during_tools(),
            "max_text_gap_while_tools_run_s": round(self.max_text_gap_while_tools_run(), 3),
        }

    def _tool_runs(self) -> list[tuple[float, float]]:
        """When at least one tool was running, as disjoint intervals (parallel tools count once)."""
        return _merge([(span.start, self.duration if span.end is None else span.end) for span in self.tools])

    def _response_intervals(self) -> list[tuple[float, float]]:
        """From each step's start (or the first event) to its end marker (or the end of the records)."""
        intervals: list[tuple[float, float]] = []
        opened: float | None = (
            0.0 if self.records and not isinstance(self.records[0][1], StepStarted) else None
        )
        for at, event in self.records:
            if isinstance(event, StepStarted):
                opened = at
            elif isinstance(event, MessageFinished | StreamError | TurnFinished) and opened is not None:
                intervals.append((opened, at))
                opened = None
        if opened is not None:
            intervals.append((opened, self.duration))
        return intervals

    # -- display ------------------------------------------------------------------------------------------

    def to_svg(self, *, color: str = "currentColor", width: int = 640) -> str:
        """The timeline as one self-contained ``<svg>`` element; ``color`` is used for text and axes."""
        return draw_svg(self, color, width)

    def _repr_html_(self) -> str:
        # Inline in the page, ``currentColor`` follows the theme's text color.
        caption = (
            f"{len(self.text_times)} text deltas, {self.text_during_tools()} while a tool ran; "
            f"longest gap in the text while a tool ran: {self.max_text_gap_while_tools_run():.2f} s"
        )
        return (
            f'<div class="nbstream-timeline">{self.to_svg()}'
            f'<div style="font-size:0.85em;opacity:0.8">{caption}</div></div>'
        )

    def _repr_svg_(self) -> str:
        # Shown as an image, the SVG cannot see the page's color: a mid grey reads on light and dark.
        return self.to_svg(color="#808080")

    def __repr__(self) -> str:
        return (
            f"Timeline({self.duration:.2f} s, {len(self.text_times)} text deltas, {len(self.tools)} tools, "
            f"{self.text_during_tools()} deltas during tools)"
        )


def _tool_spans(records: list[tuple[float, Event]]) -> list[ToolSpan]:
    """Tool calls in the order the model made them; an id seen again after its end starts a new span."""
    opened: dict[str, _OpenSpan] = {}
    order: list[_OpenSpan | ToolSpan] = []

    def span_for(call_id: str, name: str) -> _OpenSpan:
        span = opened.get(call_id)
        if span is None:
            span = opened[call_id] = _OpenSpan(call_id, name, len(order))
            order.append(span)
        return span

    def finish(call_id: str, name: str, end: float, state: ToolState, measured: float) -> None:
        span = span_for(call_id, name)
        order[span.slot] = span.close(end, state, measured)
        del opened[call_id]

    for at, event in records:
        if isinstance(event, ToolCallStarted):
            span_for(event.id, event.name).called = at
        elif isinstance(event, ToolCallReady):
            span_for(event.id, event.name).ready = at
        elif isinstance(event, ToolRunning):
            span_for(event.id, event.name).running = at
        elif isinstance(event, ToolResult):
            finish(event.id, event.name, at, "done", event.duration)
        elif isinstance(event, ToolError):
            state: ToolState = "cancelled" if event.kind == "cancelled" else "error"
            finish(event.id, event.name, at, state, event.duration)
    return [item if isinstance(item, ToolSpan) else item.close(None, "running") for item in order]


def _merge(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Overlapping intervals joined: parallel tools count once."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _intersect(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Where two sets of disjoint intervals overlap (empty overlaps dropped)."""
    out = []
    for a_start, a_end in a:
        for b_start, b_end in b:
            start, end = max(a_start, b_start), min(a_end, b_end)
            if end > start:
                out.append((start, end))
    return out
