"""What a turn cost and how fast it was: ``TurnMetrics``, on ``TurnFinished.metrics`` and the finished turn.

The session times a turn from the events it emits, on one monotonic clock (``TurnMeter``: O(1) work per event,
whatever the conversation's length). Tokens are the provider's own counts, summed over the turn's responses.
Cost comes from the ``genai-prices`` table (read offline from its bundled data, never updated over the
network), priced response by response (some prices depend on a request's size); a model the table does not
know has no cost, never a guessed one, and ``price_note`` says why. ``ChatMetrics`` sums a chat's turns.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:  # _events imports this module for TurnFinished.metrics
    from ._events import Event, MessageFinished, StreamError, Usage

__all__ = ["ChatMetrics", "Pricing", "TurnMeter", "TurnMetrics"]

_MIN_RATE_WINDOW = 0.01
"""Seconds of streaming below which no rate is given: output that arrived in one burst has no speed to tell."""


class TurnMetrics(BaseModel):
    """Timings, tokens and cost of one turn (all of its steps). ``None`` means unknown, never zero."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    duration: float
    """Seconds from ``send`` to ``TurnFinished``."""
    time_to_first_token: float | None = None
    """Seconds from ``send`` to the first text, reasoning or tool-call delta; ``None`` when none came."""
    output_tokens_per_second: float | None = None
    """Output tokens over the seconds the model's responses streamed (first delta to end, per step)."""
    input_tokens: int | None = None
    """Input tokens of all steps, as the provider reported them."""
    output_tokens: int | None = None
    """Output tokens of all steps."""
    cached_tokens: int | None = None
    """Input tokens served from the provider's prompt cache (part of ``input_tokens``)."""
    tool_time: float = 0.0
    """Seconds tools ran, summed over calls."""
    overlap_saved: float = 0.0
    """Tool seconds that ran while the model was still streaming: what eager dispatch saved."""
    cost: float | None = None
    """US dollars, from the price table; ``None`` when the model's price or the usage is unknown."""
    price_note: str | None = None
    """Where ``cost`` came from, or why it is unknown."""

    def line(self) -> str:
        """One quiet line for people: ``9.0 s · 1.2 s to first token · 48 tok/s · 812 in / 230 out (120 cached)
        · tools 3.1 s, 2.9 s overlapped · $0.0012``. Unknown timings and tokens are left out; an unknown cost is
        said (``price_note`` tells why)."""
        parts = [_seconds(self.duration)]
        if self.time_to_first_token is not None:
            parts.append(f"{_seconds(self.time_to_first_token)} to first token")
        if self.output_tokens_per_second is not None:
            parts.append(f"{self.output_tokens_per_second:,.0f} tok/s")
        parts += _tokens(self.input_tokens, self.output_tokens, self.cached_tokens)
        parts += _tools(self.tool_time, self.overlap_saved)
        parts.append(_cost(self.cost))
        return " · ".join(parts)


class ChatMetrics(BaseModel):
    """The totals of a chat's finished turns (``Session.metrics``): what the conversation has cost so far.

    ``clear()`` forgets the conversation, not what it cost: the totals keep counting.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    turns: int = 0
    """Finished turns counted."""
    duration: float = 0.0
    """Seconds the turns took, summed."""
    input_tokens: int | None = None
    """Input tokens of all turns; ``None`` while no turn reported any."""
    output_tokens: int | None = None
    """Output tokens of all turns."""
    cached_tokens: int | None = None
    """Input tokens served from the provider's prompt cache (part of ``input_tokens``)."""
    tool_time: float = 0.0
    """Seconds tools ran, summed over calls."""
    overlap_saved: float = 0.0
    """Tool seconds that ran while the model was still streaming."""
    cost: float | None = 0.0
    """US dollars; ``None`` as soon as one turn's cost is unknown (``price_note`` says which and why)."""
    price_note: str | None = None
    """Where the cost came from, or which turn's cost is unknown and why."""

    def plus(self, turn: TurnMetrics) -> ChatMetrics:
        """These totals with one more finished turn."""
        number = self.turns + 1
        if self.cost is None:
            cost, note = None, self.price_note
        elif turn.cost is None:
            cost, note = None, f"turn {number}: {turn.price_note or 'no cost'}"
        else:
            cost, note = self.cost + turn.cost, self.price_note or turn.price_note
        return ChatMetrics(
            turns=number,
            duration=self.duration + turn.duration,
            input_tokens=_add(self.input_tokens, turn.input_tokens),
            output_tokens=_add(self.output_tokens, turn.output_tokens),
            cached_tokens=_add(self.cached_tokens, turn.cached_tokens),
            tool_time=self.tool_time + turn.tool_time,
            overlap_saved=self.overlap_saved + turn.overlap_saved,
            cost=cost,
            price_note=note,
        )

    def line(self) -> str:
        """One line for people, as ``TurnMetrics.line`` says a turn."""
        parts = [f"{self.turns} turn{'' if self.turns == 1 else 's'}, {_seconds(self.duration)}"]
        parts += _tokens(self.input_tokens, self.output_tokens, self.cached_tokens)
        parts += _tools(self.tool_time, self.overlap_saved)
        parts.append(_cost(self.cost))
        return " · ".join(parts)


# --- measuring a turn --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StepUsage:
    """What one model response reported about its tokens. ``unknown`` says why its cost cannot be known: only
    a response that finished has its final counts (one cut short may have reported its input, never all of its
    output); ``None`` when the counts are final, or when the request was refused and nothing was charged."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_tokens: int | None = None
    cache_write_tokens: int | None = None
    unknown: str | None = None


_REFUSED = frozenset(
    {"auth", "not_found", "bad_request", "rate_limited", "server", "connection", "bad_response"}
)
"""Error kinds of a request the provider refused or never answered with a stream: no tokens were charged."""
_DELTAS = frozenset({"text_delta", "reasoning_delta", "tool_call_started", "tool_arguments_delta"})
"""The events that are the model's output: the first one is the turn's first token."""


class TurnMeter:
    """Watches one turn's events as the session emits them and sums them up when the turn ends.

    Every event is stamped on one monotonic clock when it is emitted, and costs O(1) work (a step's end visits
    the tools still running, which are few). The tool spans come from ``ToolRunning`` to ``ToolResult`` /
    ``ToolError``; a step streams from ``StepStarted`` to its ``MessageFinished`` / ``StreamError``. A tool's
    overlap is the part of its span inside the stream of the step that called it: without eager dispatch it
    would only have started when that stream ended.
    """

    __slots__ = (
        "_after",
        "_clock",
        "_first_token",
        "_overlap",
        "_rate_seconds",
        "_rate_tokens",
        "_running",
        "_start",
        "_step_first",
        "_steps",
        "_streaming",
        "_tool_time",
        "_usage",
    )

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self._start = clock()
        self._first_token: float | None = None
        self._streaming = False  # a step's response is open
        self._step_first: float | None = None  # the open step's first delta
        self._usage: Usage | None = None  # the open step's Usage event
        self._steps: list[StepUsage] = []
        self._rate_tokens = 0
        self._rate_seconds = 0.0
        self._running: dict[str, float] = {}  # call id → when it started, for tools started while streaming
        self._after: dict[
            str, float
        ] = {}  # call id → seconds overlapped, for tools running at the step's end
        self._tool_time = 0.0
        self._overlap = 0.0

    def watching(self, emit: Callable[[Event], None]) -> Callable[[Event], None]:
        """``emit``, with each event observed first."""

        def observed(event: Event) -> None:
            self.observe(event)
            emit(event)

        return observed

    def observe(self, event: Event) -> None:
        # Dispatched on the tag: this module cannot import the event classes (they import TurnMetrics).
        if event.type in _DELTAS:
            if self._step_first is None:
                self._step_first = now = self._clock()
                if self._first_token is None:
                    self._first_token = now
        elif event.type == "step_started":
            self._streaming, self._step_first, self._usage = True, None, None
            self._after.clear()
        elif event.type == "usage":
            self._usage = event
        elif event.type == "message_finished" or event.type == "stream_error":
            self._end_step(self._clock(), event)
        elif event.type == "tool_running":
            if self._streaming:
                self._running[event.id] = self._clock()
        elif event.type == "tool_result" or event.type == "tool_error":
            self._tool_done(self._clock(), event.id, event.duration)

    def _end_step(self, now: float, event: MessageFinished | StreamError) -> None:
        if not self._streaming:
            return
        self._streaming = False
        usage = self._usage
        if event.type == "message_finished":
            self._steps.append(_step(usage, None if usage is not None else "reported no token counts"))
            if usage is not None and usage.output_tokens is not None and self._step_first is not None:
                self._rate_tokens += usage.output_tokens
                self._rate_seconds += now - self._step_first
        elif event.kind in _REFUSED and usage is None and self._step_first is None:
            self._steps.append(StepUsage())  # refused before it streamed: nothing charged
        else:
            self._steps.append(_step(usage, f"broke off ({event.kind}) before its final token counts"))
        for call_id, started in self._running.items():
            self._after[call_id] = now - started
        self._running.clear()

    def _tool_done(self, now: float, call_id: str, duration: float) -> None:
        self._tool_time += duration
        started = self._running.pop(call_id, None)
        overlapped = now - started if started is not None else self._after.pop(call_id, 0.0)
        self._overlap += max(0.0, min(overlapped, duration))  # never more than the tool's own measured time

    def finish(self, pricing: Pricing | None = None) -> TurnMetrics:
        """The turn's metrics, now that its last event (before ``TurnFinished``) was emitted."""
        now = self._clock()
        steps = list(self._steps)
        if self._streaming:  # stopped mid-response
            steps.append(_step(self._usage, "was stopped before its final token counts"))
        rate = None
        if self._rate_seconds >= _MIN_RATE_WINDOW:
            rate = self._rate_tokens / self._rate_seconds
        cost, note = pricing.cost(steps) if pricing is not None else (None, None)
        return TurnMetrics(
            duration=now - self._start,
            time_to_first_token=None if self._first_token is None else self._first_token - self._start,
            output_tokens_per_second=rate,
            input_tokens=_sum(step.input_tokens for step in steps),
            output_tokens=_sum(step.output_tokens for step in steps),
            cached_tokens=_sum(step.cached_tokens for step in steps),
            tool_time=self._tool_time,
            overlap_saved=self._overlap,
            cost=cost,
            price_note=note,
        )


# --- pricing ------------------------------------------------------------------------------------------------


class Pricing:
    """Which price applies to a session's model, or why none does; decided once per session.

    ``"<provider>:<model>"`` strings (and HTTP model objects) are priced at the provider's list price in
    ``genai-prices``. With a ``base_url``, the price of the provider genai-prices recognizes at that URL wins;
    a server it does not know (a proxy, a loopback) is priced as the named provider, and the note says so. The
    demo model and scripted models have no price.
    """

    __slots__ = ("_api_url", "_model", "_none", "_provider")

    def __init__(self, model: Any, *, base_url: str | None = None) -> None:
        self._provider: str | None = None
        self._model: str | None = None
        self._api_url = base_url or None
        self._none: str | None = None
        if isinstance(model, str):
            provider, _, name = model.partition(":")
            if not name:
                self._none = f"the {model} model has no price"
            else:
                self._provider, self._model = provider, name
            return
        kind, label = getattr(model, "provider", None), getattr(model, "model", None)
        if isinstance(kind, str) and isinstance(label, str):  # an HTTP model object
            self._provider, self._model = kind, label
        elif kind == "scripted":
            self._none = "scripted models have no price"
        else:
            self._none = (
                f"a {type(model).__name__} model has no price (only '<provider>:<model>' models have one)"
            )

    def cost(self, steps: Sequence[StepUsage]) -> tuple[float | None, str]:
        """Dollars for these responses and where the price came from, or ``None`` and why not."""
        if self._none is not None:
            return None, self._none
        for number, step in enumerate(steps, 1):
            if step.unknown is None and (step.input_tokens is None) != (step.output_tokens is None):
                step = StepUsage(unknown="reported only part of its token counts")
            if step.unknown is not None:
                return None, f"response {number} of the turn {step.unknown}"
        try:
            import genai_prices
        except ImportError:
            return None, "no price table: install genai-prices"
        try:
            return self._priced(genai_prices, steps)
        except LookupError as exc:
            return None, f"no price for {self._provider}:{self._model} in genai-prices ({exc})"
        except Exception as exc:  # the table is someone else's code: a surprise there must not end the turn
            return None, f"genai-prices failed: {type(exc).__name__}: {exc}"

    def _priced(self, genai_prices: Any, steps: Sequence[StepUsage]) -> tuple[float, str]:
        """Each response priced on its own (a price may depend on a request's size), then summed. Raises
        ``LookupError`` when genai-prices has no price for the model."""
        assert self._provider is not None and self._model is not None
        calc, zero = genai_prices.calc_price, genai_prices.Usage(input_tokens=0, output_tokens=0)
        where, aside = {"provider_id": self._provider}, ""
        if self._api_url is not None:  # the server at base_url, when genai-prices knows it
            try:
                calc(zero, self._model, provider_api_url=self._api_url)
                where = {"provider_api_url": self._api_url}
            except LookupError:
                aside = "; base_url is not a server genai-prices knows"
        found = calc(zero, self._model, **where)
        total = Decimal(0)
        for step in steps:
            if step.input_tokens is None or step.output_tokens is None:
                continue  # refused: nothing charged
            counts = {"input_tokens": step.input_tokens, "output_tokens": step.output_tokens}
            if step.cached_tokens:
                counts["cache_read_tokens"] = step.cached_tokens
            if step.cache_write_tokens:
                counts["cache_write_tokens"] = step.cache_write_tokens
            total += calc(genai_prices.Usage(**counts), self._model, **where).total_price
        version = genai_prices.__version__
        return float(
            total
        ), f"{found.provider.name} price of {found.model.id} (genai-prices {version}){aside}"


# --- helpers ----------------------------------------------------------------------------------------------


def _step(usage: Usage | None, unknown: str | None) -> StepUsage:
    if usage is None:
        return StepUsage(unknown=unknown)
    return StepUsage(
        usage.input_tokens, usage.output_tokens, usage.cached_tokens, usage.cache_write_tokens, unknown
    )


def _sum(values: Iterable[int | None]) -> int | None:
    known = [value for value in values if value is not None]
    return sum(known) if known else None


def _add(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else a + b


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 0.1 else f"{value:.1f} s"


def _tokens(input_tokens: int | None, output_tokens: int | None, cached: int | None) -> list[str]:
    if input_tokens is None and output_tokens is None:
        return []
    said = f"{'?' if input_tokens is None else f'{input_tokens:,}'} in / "
    said += f"{'?' if output_tokens is None else f'{output_tokens:,}'} out"
    return [said + (f" ({cached:,} cached)" if cached else "")]


def _tools(tool_time: float, overlap: float) -> list[str]:
    if tool_time <= 0:
        return []
    return [f"tools {_seconds(tool_time)}" + (f", {_seconds(overlap)} overlapped" if overlap > 0 else "")]


def _cost(cost: float | None) -> str:
    """Cents as cents; below a cent, two significant digits (a short turn costs $0.000074); unknown as such."""
    if cost is None:
        return "cost unknown"
    if cost >= 0.01 or cost <= 0:
        return f"${cost:,.2f}"
    decimals = min(10, 1 - math.floor(math.log10(cost)))
    return f"${cost:.{decimals}f}"
