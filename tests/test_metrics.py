"""Per-turn metrics: tokens as the provider reported them, timings on the session's clock, cost from genai-prices.

The turns run against the loopback server (``ProviderServer``), which counts a request's input as
``rough_tokens`` of its body, reports cache reads as ``WireEncoder.cache_reads`` says and one output token per
delta or argument fragment: the expected numbers below are computed from what the server received, never
from what nbstream parsed.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import genai_prices
import pytest
from helpers import events_of, fixture, slow, wire_of

from nbstream import (
    AssistantMessage,
    ScriptedModel,
    Session,
    TextDelta,
    TokenUsage,
    TurnFinished,
    TurnMetrics,
)
from nbstream._encode import Action, WireEncoder, rough_tokens
from nbstream._events import (
    Event,
    MessageFinished,
    StepStarted,
    ToolCallStarted,
    ToolResult,
    ToolRunning,
    TurnReason,
    Usage,
)
from nbstream._metrics import ChatMetrics, Pricing, StepUsage, TurnMeter
from nbstream._parse import collect, parse_stream
from nbstream._providers import WireFormat, for_wire
from nbstream.testing import Call, HttpStatus, Pause, ProviderError, ProviderServer, Say

FIRST_PAUSE = 0.3  # before the first token
TOOL = 0.4  # seconds the tool sleeps
DURING = [
    [
        Pause(FIRST_PAUSE),
        Say("Let me look."),
        Call("slow", {"seconds": TOOL}),
        Pause(1.5 * TOOL),
        Say("Still here."),
    ],
    [Say("Done.")],
]
"""A turn whose tool runs inside a pause of the response that called it (on wires where a call is final when
its block ends)."""
AFTER = [[Say("Calling it now."), Call("slow", {"seconds": TOOL})], [Say("Done again.")]]
"""A turn whose tool can only start once the response has ended: its call is the response's last content."""


async def finished(session: Session, reason: TurnReason = "done") -> TurnMetrics:
    """Run one turn; its ``TurnFinished`` metrics."""
    last = (await events_of(session))[-1]
    assert isinstance(last, TurnFinished) and last.reason == reason, last
    assert last.metrics is not None
    return last.metrics


def served(server: ProviderServer, requests: range) -> list[tuple[int, int]]:
    """(input, cached) tokens the server reported for each of these requests, from the bodies it received."""
    inputs = [rough_tokens(server.requests[i].body.decode("utf-8", "replace")) for i in requests]
    return [(n, WireEncoder(step=i + 1).cache_reads(n)) for i, n in zip(requests, inputs, strict=True)]


def output_tokens(steps: Sequence[Sequence[Action]]) -> list[int]:
    """Each step's output tokens as the server counts them: one per text delta or argument fragment."""
    return [
        sum(
            len(a.deltas()) if isinstance(a, Say) else len(a.fragments())
            for a in step
            if isinstance(a, Say | Call)
        )
        for step in steps
    ]


def gpt_41_mini(usages: Sequence[dict[str, int]]) -> float:
    """What genai-prices itself says these responses cost on gpt-4.1-mini, priced one by one."""
    prices = (
        genai_prices.calc_price(genai_prices.Usage(**usage), "gpt-4.1-mini", provider_id="openai").total_price
        for usage in usages
    )
    return float(sum(prices, Decimal(0)))


# --- through the loopback server ------------------------------------------------------------------------------


async def test_each_wire_reports_tokens_first_token_and_the_tool_time_it_overlapped(wire: WireFormat) -> None:
    async with ProviderServer([*DURING, *AFTER]) as server:
        model = f"{for_wire(wire).name}:nbstream-test-model"
        session = Session(model, base_url=server.base_url(wire), api_key="k", tools=[slow])
        first = await finished(session)
        second = await finished(session)
        await session.aclose()

    for metrics, requests, steps in ((first, range(0, 2), DURING), (second, range(2, 4), AFTER)):
        reported = served(server, requests)
        assert metrics.input_tokens == sum(n for n, _ in reported)
        assert metrics.output_tokens == sum(output_tokens(steps))
        assert metrics.cached_tokens == (None if wire == "ollama" else sum(c for _, c in reported))
        assert metrics.tool_time >= TOOL
        assert metrics.cost is None and metrics.price_note and "no price" in metrics.price_note
    assert first.cached_tokens != 0 or wire == "ollama"  # the second response of a turn reads the cache
    cached = [m.usage.cached_tokens for m in session.messages if isinstance(m, AssistantMessage) and m.usage]
    assert cached == ([None] * 4 if wire == "ollama" else [c for _, c in served(server, range(4))])

    assert first.time_to_first_token is not None and first.time_to_first_token >= 0.9 * FIRST_PAUSE
    assert first.time_to_first_token < first.duration
    # the first response streamed across its second pause: its rate counts that time
    assert first.output_tokens_per_second is not None
    assert first.output_tokens_per_second <= sum(output_tokens(DURING)) / (0.9 * 1.5 * TOOL)

    if for_wire(wire).eager_calls:  # the call was final when its block ended: the tool ran inside the pause
        assert first.overlap_saved >= 0.8 * TOOL
    else:  # OpenAI Chat makes calls final only when the response ends
        assert first.overlap_saved <= 0.1 * TOOL
    assert second.overlap_saved <= 0.1 * TOOL  # nothing streamed after the call
    assert first.overlap_saved <= first.tool_time

    chat = session.metrics
    assert (chat.turns, chat.input_tokens, chat.output_tokens) == (
        2,
        first.input_tokens + second.input_tokens,  # type: ignore[operator]
        first.output_tokens + second.output_tokens,  # type: ignore[operator]
    )
    assert chat.tool_time == pytest.approx(first.tool_time + second.tool_time)
    assert chat.overlap_saved == pytest.approx(first.overlap_saved + second.overlap_saved)
    assert chat.duration == pytest.approx(first.duration + second.duration)
    assert (
        chat.cost is None and chat.price_note is not None and chat.price_note.startswith("turn 1: no price")
    )


async def test_a_known_model_costs_what_genai_prices_says_for_each_response() -> None:
    steps = [
        [Say("Looking."), Call("slow", {"seconds": 0.0})],
        [Say("It took no time.")],
        [Say("Second turn.")],
    ]
    async with ProviderServer(steps) as server:
        session = Session(
            "openai:gpt-4.1-mini", base_url=server.base_url("openai"), api_key="k", tools=[slow]
        )
        first = await finished(session)
        second = await finished(session)
        await session.aclose()

    usages = [
        {"input_tokens": n, "output_tokens": out, "cache_read_tokens": cached}
        for (n, cached), out in zip(served(server, range(3)), output_tokens(steps), strict=True)
    ]
    assert usages[1]["cache_read_tokens"] > 0
    assert first.cost == pytest.approx(gpt_41_mini(usages[:2]), rel=1e-12)
    assert second.cost == pytest.approx(gpt_41_mini(usages[2:]), rel=1e-12)
    uncached = [{**usage, "cache_read_tokens": 0} for usage in usages[:2]]
    assert 0 < first.cost < gpt_41_mini(uncached)  # cache reads are priced at their own, lower rate
    assert first.price_note == (
        f"OpenAI price of gpt-4.1-mini (genai-prices {genai_prices.__version__});"
        " base_url is not a server genai-prices knows"
    )
    assert session.metrics.cost == pytest.approx(first.cost + second.cost)
    assert session.metrics.price_note == first.price_note
    assert "$" in first.line() and session.metrics.line().startswith("2 turns")


async def test_a_response_cut_short_has_no_cost_and_a_refused_request_costs_nothing() -> None:
    broken = [[Say("one two three four five six", chunk=1)]]
    async with ProviderServer(broken, faults=[ProviderError(after_frames=3)]) as server:
        session = Session("openai:gpt-4.1-mini", base_url=server.base_url("openai"), api_key="k")
        cut = await finished(session, "error")
    assert cut.cost is None and cut.time_to_first_token is not None
    assert cut.price_note == "response 1 of the turn broke off (provider) before its final token counts"

    async with ProviderServer(broken, faults=[HttpStatus(401)]) as server:
        session = Session("openai:gpt-4.1-mini", base_url=server.base_url("openai"), api_key="k")
        refused = await finished(session, "error")
    assert (refused.cost, refused.input_tokens, refused.time_to_first_token) == (0.0, None, None)
    assert refused.price_note is not None and refused.price_note.startswith("OpenAI price of gpt-4.1-mini")


async def test_a_stopped_turn_is_measured_but_has_no_cost() -> None:
    async with ProviderServer([[Say("a b c d e f", chunk=1, delay=0.2)]]) as server:
        session = Session("openai:gpt-4.1-mini", base_url=server.base_url("openai"), api_key="k")
        events: list[Event] = []
        async for event in session.send("go"):
            events.append(event)
            if isinstance(event, TextDelta):
                session.cancel()
    last = events[-1]
    assert isinstance(last, TurnFinished) and last.reason == "cancelled" and last.metrics is not None
    assert last.metrics.cost is None
    assert last.metrics.price_note == "response 1 of the turn was stopped before its final token counts"
    assert session.metrics.turns == 1 and session.metrics.cost is None


async def test_the_demo_and_scripted_models_have_no_price() -> None:
    demo = await finished(Session("demo"))
    assert (demo.cost, demo.price_note) == (None, "the demo model has no price")
    assert demo.output_tokens and demo.time_to_first_token is not None
    scripted = await finished(Session(ScriptedModel([[Say("Hi there.")]])))
    assert (scripted.cost, scripted.price_note) == (None, "scripted models have no price")


# --- what the parsers read from recorded streams ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "uncached", "output"),
    [("anthropic_text_then_tool_use.sse", 377, 65), ("anthropic_thinking_text.sse", 69, 53)],
)
def test_anthropic_input_counts_the_cache_reads_and_writes_it_reports_apart(
    name: str, uncached: int, output: int
) -> None:
    """message_start has the input counts; message_delta has only the output count (older streams) or repeats
    them all (newer ones): either way they are counted once."""
    zero = b'"cache_creation_input_tokens":0,"cache_read_input_tokens":0'
    data = fixture(name).replace(zero, b'"cache_creation_input_tokens":7,"cache_read_input_tokens":5')
    assert data != fixture(name)
    usage = collect(parse_stream("anthropic", [data])).usage
    assert usage == TokenUsage(
        input_tokens=uncached + 7 + 5, output_tokens=output, cached_tokens=5, cache_write_tokens=7
    )


def test_cache_writes_are_priced_at_their_own_rate() -> None:
    """Anthropic bills input written to its prompt cache above the input rate, reads below it."""
    pricing = Pricing("anthropic:claude-sonnet-4-5")
    usage = genai_prices.Usage(
        input_tokens=4000, output_tokens=300, cache_read_tokens=1000, cache_write_tokens=2000
    )
    cost, note = pricing.cost([StepUsage(4000, 300, cached_tokens=1000, cache_write_tokens=2000)])
    expected = genai_prices.calc_price(usage, "claude-sonnet-4-5", provider_id="anthropic").total_price
    assert cost == pytest.approx(float(expected), rel=1e-12) and note.startswith("Anthropic price")
    unwritten, _ = pricing.cost([StepUsage(4000, 300, cached_tokens=1000)])
    assert unwritten is not None and cost > unwritten


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "openai_chat_reasoning_content_tool_call.sse",
            TokenUsage(input_tokens=339, output_tokens=83, cached_tokens=320),
        ),
        ("openai_chat_text_only.sse", TokenUsage(input_tokens=14, output_tokens=30)),  # no details: not said
        (
            "openai_responses_reasoning_text.sse",
            TokenUsage(input_tokens=182, output_tokens=61, cached_tokens=2),
        ),
    ],
)
def test_recorded_openai_streams_say_their_cached_tokens(name: str, expected: TokenUsage) -> None:
    assert collect(parse_stream(wire_of(name), [fixture(name)])).usage == expected


# --- the meter and the totals, on a clock the test sets -----------------------------------------------------


class Clock:
    """A clock that reads what the test set, and counts how often it was read."""

    def __init__(self) -> None:
        self.now = 0.0
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.now


def test_a_tool_still_running_when_the_response_ends_overlaps_only_until_then() -> None:
    clock = Clock()
    meter = TurnMeter(clock)
    script: list[tuple[float, Event]] = [
        (0.0, StepStarted(step=1)),
        (0.5, ToolCallStarted(id="a", name="t", position=0)),
        (1.0, ToolRunning(id="a", name="t", started_at=0.0)),
        (1.0, ToolRunning(id="b", name="t", started_at=0.0)),
        (1.5, ToolResult(id="b", name="t", output="", duration=0.5)),  # inside the stream: all of it
        (3.0, Usage(input_tokens=10, output_tokens=25, cached_tokens=4)),
        (3.0, MessageFinished(stop_reason="tool_calls")),
        (5.0, ToolResult(id="a", name="t", output="", duration=4.0)),  # 1.0 → 3.0 inside, 3.0 → 5.0 after
    ]
    for at, event in script:
        clock.now = at
        meter.observe(event)
    clock.now = 6.0
    metrics = meter.finish()
    assert metrics.overlap_saved == pytest.approx(0.5 + 2.0)
    assert metrics.tool_time == pytest.approx(4.5)
    assert (metrics.time_to_first_token, metrics.duration) == (0.5, 6.0)
    assert metrics.output_tokens_per_second == pytest.approx(25 / 2.5)  # first delta (0.5) to the end (3.0)
    assert (metrics.input_tokens, metrics.output_tokens, metrics.cached_tokens) == (10, 25, 4)


def test_deltas_cost_the_meter_no_clock_reading_after_the_first() -> None:
    clock = Clock()
    meter = TurnMeter(clock)
    meter.observe(StepStarted(step=1))
    before = clock.reads
    for _ in range(10_000):
        meter.observe(TextDelta(text="x"))
    assert clock.reads == before + 1  # the first delta's arrival; the others only check a flag


def test_chat_totals_keep_unknown_tokens_apart_and_lose_the_cost_at_the_first_unknown_one() -> None:
    priced = TurnMetrics(duration=1.0, input_tokens=10, output_tokens=5, cost=0.25, price_note="list price")
    unpriced = TurnMetrics(duration=2.0, tool_time=1.5, overlap_saved=1.0, price_note="no price for x")
    total = ChatMetrics().plus(priced)
    assert (total.cost, total.price_note, total.cached_tokens) == (0.25, "list price", None)
    total = total.plus(unpriced).plus(priced)
    assert (total.turns, total.input_tokens, total.output_tokens) == (3, 20, 10)
    assert (total.tool_time, total.overlap_saved, total.duration) == (1.5, 1.0, 4.0)
    assert (total.cost, total.price_note) == (None, "turn 2: no price for x")


def test_the_line_says_what_is_known() -> None:
    metrics = TurnMetrics(
        duration=9.0,
        time_to_first_token=1.2,
        output_tokens_per_second=48.2,
        input_tokens=812,
        output_tokens=230,
        cached_tokens=120,
        tool_time=3.1,
        overlap_saved=2.9,
        cost=0.0012,
    )
    assert metrics.line() == (
        "9.0 s · 1.2 s to first token · 48 tok/s · 812 in / 230 out (120 cached) · tools 3.1 s, 2.9 s overlapped"
        " · $0.0012"
    )
    assert TurnMetrics(duration=0.05).line() == "50 ms · cost unknown"
    assert TurnMetrics(duration=1, input_tokens=12_345, output_tokens=None, cost=3.5).line() == (
        "1.0 s · 12,345 in / ? out · $3.50"
    )
