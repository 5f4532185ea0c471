"""A ``Timeline`` drawn as one self-contained SVG: a lane for the text ticks, a bar per tool call."""

from __future__ import annotations

import html
import math
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._timeline import Timeline, ToolSpan, ToolState

__all__ = ["draw_svg", "present_states"]

_STATE_COLORS: dict[ToolState, str] = {
    # Mid-tone colors: readable on white and on dark backgrounds alike.
    "done": "#2e9d5b",
    "error": "#d9443a",
    "cancelled": "#8c8c8c",
    "running": "#3b82c4",
}


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
        if "running" in present_states(self.timeline):
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


def present_states(timeline: Timeline) -> list[ToolState]:
    """The tool states the timeline shows, in legend order."""
    return [state for state in _STATE_COLORS if any(span.state == state for span in timeline.tools)]


def draw_svg(timeline: Timeline, color: str, width: int) -> str:
    return _Drawing(timeline, color, width).svg()
