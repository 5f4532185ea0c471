"""Timeline: when each event of a turn arrived, as numbers and as a small inline SVG.

The exercise nbstream comes from asks to *verify* that text keeps flowing while a slow tool runs. A timeline
answers with measurements taken on the consumer's side: every event is stamped when it arrives, tool runs
become spans (``ToolRunning`` → ``ToolResult`` / ``ToolError``), and the text deltas that arrived inside
those spans are counted. The picture is plain SVG (no script, no external library), so it survives in a saved
notebook; every name in it comes from model output and is escaped.
"""

from __future__ import annotations

import html
import math
import re
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
    ToolCallReady,
    ToolCallStarted,
    ToolError,
    ToolResult,
    ToolRunning,
    TurnFinished,
)

__all__ = ["Timeline", "ToolSpan"]

ToolState = Literal["done", "error", "cancelled", "running"]

_STATE_COLORS: dict[ToolState, str] = {
    # Mid-tone colors: readable on white and on dark backgrounds alike.
    "done": "#2e9d5b",
    "error": "#d9443a",
    "cancelled": "#8c8c8c",
    "running": "#3b82c4",
}


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


class Timeline:
    """The events of a turn with their arrival times: ``await Timeline.record(session.send(prompt))``.

    Build one from ``(time, event)`` pairs in arrival order (``time.perf_counter()`` or epoch seconds); times
    are kept relative to the first record.
    """

    def __init__(self, records: Iterable[tuple[float, Event]]) -> None:
        pairs = list(records)
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
        return cls([(time.perf_counter(), event) async for event in events])

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
                state: sum(1 for s in self.tools if s.state == state) for state in _present(self)
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
        return _Drawing(self, color, width).svg()

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


def _present(timeline: Timeline) -> list[ToolState]:
    return [state for state in _STATE_COLORS if any(span.state == state for span in timeline.tools)]


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


# -- drawing ------------------------------------------------------------------------------------------------

_LABEL_WIDTH = 120  # the left column with the lane names
_RIGHT_PAD = 16
_LANE = 22
_BAR = 12
_TEXT_TICK_COLOR = "#8a63d2"
_NAME_CHARS = 18


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Characters XML cannot carry even escaped (and lone surrogates, which cannot be encoded to send)."""


def _esc(text: str) -> str:
    """Model output made safe as SVG text or attribute: markup escaped, unencodable characters replaced."""
    return html.escape(_NOT_XML.sub("\ufffd", text), quote=True)


def _num(value: float) -> str:
    """An axis label: ``0``, ``0.5``, ``12``, ``0.02`` (no float noise like ``0.30000000000000004``)."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _nice_step(span: float, target: int = 6) -> float:
    """A round axis step (1, 2 or 5 × 10^k) giving about ``target`` ticks over ``span`` seconds."""
    raw = max(span, 1e-3) / target
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 5, 10) if raw <= m * magnitude)


def _short(name: str) -> str:
    return name if len(name) <= _NAME_CHARS else name[: _NAME_CHARS - 1] + "…"


class _Drawing:
    """One SVG: a text lane of ticks, one lane per tool, a time axis and a legend."""

    def __init__(self, timeline: Timeline, color: str, width: int) -> None:
        self.timeline = timeline
        self.color = _esc(color)
        self.width = max(width, _LABEL_WIDTH + 200)
        self.span = timeline.duration if timeline.duration > 0 else 1.0
        self.plot_width = self.width - _LABEL_WIDTH - _RIGHT_PAD
        self.axis_y = 6 + _LANE * (1 + len(timeline.tools)) + 4
        self.height = self.axis_y + 44

    def x(self, at: float) -> float:
        return _LABEL_WIDTH + at / self.span * self.plot_width

    def svg(self) -> str:
        t = self.timeline
        summary = f"{len(t.text_times)} text deltas, {len(t.tools)} tools over {t.duration:.2f} s"
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" data-nbstream="timeline" role="img" '
            f'viewBox="0 0 {self.width} {self.height}" width="{self.width}" height="{self.height}" '
            f'style="max-width:100%;height:auto" font-family="system-ui, sans-serif" font-size="11" '
            f'fill="{self.color}">',
            f"<title>nbstream timeline: {_esc(summary)}</title>",
            *self.steps(),
            *self.text_lane(),
            *(self.tool_lane(index, span) for index, span in enumerate(t.tools)),
            *self.axis(),
            *self.legend(),
            "</svg>",
        ]
        return "\n".join(parts)

    def lane_label(self, lane: int, label: str) -> str:
        y = 6 + lane * _LANE + _LANE / 2 + 4
        return f'<text x="{_LABEL_WIDTH - 8}" y="{y:.1f}" text-anchor="end">{_esc(label)}</text>'

    def steps(self) -> list[str]:
        """Faint dashed lines where the session sent the conversation back to the model."""
        top, bottom = 6, self.axis_y
        return [
            f'<line data-nbstream="step" x1="{self.x(at):.1f}" x2="{self.x(at):.1f}" y1="{top}" '
            f'y2="{bottom}" stroke="{self.color}" stroke-opacity="0.3" stroke-dasharray="2 3"/>'
            for at in self.timeline.step_times[1:]
        ]

    def text_lane(self) -> list[str]:
        out = [self.lane_label(0, "text")]
        if self.timeline.text_times:
            y, height = 6 + (_LANE - _BAR) / 2, _BAR
            path = "".join(f"M{self.x(at):.1f} {y:.1f}v{height}" for at in self.timeline.text_times)
            out.append(
                f'<path data-nbstream="text-ticks" d="{path}" stroke="{_TEXT_TICK_COLOR}" '
                f'stroke-width="1.5" fill="none"/>'
            )
        return out

    def tool_lane(self, index: int, span: ToolSpan) -> str:
        lane = index + 1
        fill = _STATE_COLORS[span.state]
        end = self.timeline.duration if span.end is None else span.end
        x0, x1 = self.x(span.start), max(self.x(end), self.x(span.start) + 2)
        top = 6 + lane * _LANE + (_LANE - _BAR) / 2
        middle = top + _BAR / 2
        duration = "running" if span.duration is None else f"{span.duration:.2f} s"
        tip = f"{span.name} ({span.id}): {span.state}, {duration}, from {span.start:.3f} s"
        out = [
            f'<g data-nbstream="tool" data-tool-id="{_esc(span.id)}" data-tool-name="{_esc(span.name)}" '
            f'data-state="{span.state}">',
            f"<title>{_esc(tip)}</title>",
            self.lane_label(lane, _short(span.name)),
        ]
        if span.called is not None and span.start - span.called > 0:  # the arguments being written
            out.append(
                f'<line x1="{self.x(span.called):.1f}" x2="{x0:.1f}" y1="{middle:.1f}" y2="{middle:.1f}" '
                f'stroke="{fill}" stroke-width="2" stroke-opacity="0.5"/>'
            )
        out.append(
            f'<rect data-nbstream="tool-bar" x="{x0:.1f}" y="{top:.1f}" width="{x1 - x0:.1f}" '
            f'height="{_BAR}" rx="2" fill="{fill}"/>'
        )
        label = duration  # the name is the lane's label
        room = len(label) * 6.5 + 6
        if x1 + room <= self.width - _RIGHT_PAD / 2:
            where = f'x="{x1 + 4:.1f}"'
        elif x0 - room >= _LABEL_WIDTH:
            where = f'x="{x0 - 4:.1f}" text-anchor="end"'
        else:
            where = f'x="{x1 - 4:.1f}" text-anchor="end" fill="#ffffff"'
        out.append(f'<text {where} y="{middle + 4:.1f}">{_esc(label)}</text>')
        out.append("</g>")
        return "\n".join(out)

    def axis(self) -> list[str]:
        y = self.axis_y
        step = _nice_step(self.span)
        count = int(self.span / step + 1e-9)
        out = [
            f'<g data-nbstream="axis" stroke="{self.color}" stroke-opacity="0.6">',
            f'<line x1="{_LABEL_WIDTH}" x2="{self.width - _RIGHT_PAD}" y1="{y}" y2="{y}"/>',
            *(
                f'<line x1="{self.x(i * step):.1f}" x2="{self.x(i * step):.1f}" y1="{y}" y2="{y + 4}"/>'
                for i in range(count + 1)
            ),
            "</g>",
            f'<text x="{_LABEL_WIDTH - 8}" y="{y + 15}" text-anchor="end">time (s)</text>',
            *(
                f'<text x="{self.x(i * step):.1f}" y="{y + 15}" text-anchor="middle">{_num(i * step)}</text>'
                for i in range(count + 1)
            ),
        ]
        return out

    def legend(self) -> list[str]:
        y = self.axis_y + 34
        states: list[ToolState] = ["done", "error", "cancelled"]
        if "running" in _present(self.timeline):
            states.append("running")
        x = _LABEL_WIDTH
        out = [
            f'<g data-nbstream="legend"><path d="M{x} {y - 9}v10" stroke="{_TEXT_TICK_COLOR}"/>',
            f'<text x="{x + 6}" y="{y}">text delta</text>',
        ]
        x += 80
        for state in states:
            out.append(
                f'<rect x="{x}" y="{y - 9}" width="14" height="10" rx="2" fill="{_STATE_COLORS[state]}"/>'
            )
            out.append(f'<text x="{x + 18}" y="{y}">tool {state}</text>')
            x += 96
        out.append("</g>")
        return out
