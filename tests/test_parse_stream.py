"""parse_stream + collect over every recorded provider stream, cut at arbitrary byte boundaries."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path

import pytest
from helpers import FIXTURES, fixture, split, wire_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbstream._assembly import INCOMPLETE_CALL, TRUNCATED_CALL
from nbstream._errors import StreamFault
from nbstream._events import (
    EVENTS,
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
from nbstream._messages import AssistantMessage, Reasoning, StreamFailure, TokenUsage, ToolCall
from nbstream._parse import EventStream, SyncEventStream, collect, parse_stream
from nbstream._providers import for_wire

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the benchmark's stream generator lives in bench/, next to tests/
    sys.path.insert(0, str(ROOT))

from bench.streams import anthropic_tool_stream, chunked, tool_arguments  # noqa: E402

_TAX_GUIDE_ARGUMENTS = (
    '{"filename": "taxes.txt", "lines_of_text": [\n"# COMPREHENSIVE TAX GUIDE FOR INDIVIDUALS WITH MULTIPLE'
    ' W-2s",\n"",\n"## INTRODUCTION",\n"",\n"Filing taxes'
)

EXPECTED: dict[str, AssistantMessage] = {
    "anthropic_error_overloaded_midstream.sse": AssistantMessage(
        text="Hello",
        usage=TokenUsage(input_tokens=17, output_tokens=1),
        error=StreamFailure(kind="overloaded", message="Overloaded", retryable=True, provider="anthropic"),
    ),
    "anthropic_incomplete_partial_json_max_tokens.sse": AssistantMessage(
        text="I'll create a comprehensive tax guide for someone with multiple W2s and save it in a file"
        " called taxes.txt. Let me do that for you now.",
        tool_calls=[
            ToolCall(
                id="toolu_01EKqbqmZrGRXy18eN7m9kvY",
                name="make_file",
                arguments=None,
                raw_arguments=_TAX_GUIDE_ARGUMENTS,
                error=TRUNCATED_CALL,
            )
        ],
        stop_reason="length",
        raw_stop_reason="max_tokens",
        usage=TokenUsage(input_tokens=450, output_tokens=124, cached_tokens=0, cache_write_tokens=0),
    ),
    "anthropic_text_then_tool_use.sse": AssistantMessage(
        text="I'll check the current weather in Paris for you.",
        tool_calls=[
            ToolCall(
                id="toolu_01NRLabsLyVHZPKxbKvkfSMn",
                name="get_weather",
                arguments={"location": "Paris"},
                raw_arguments='{"location": "Paris"}',
            )
        ],
        stop_reason="tool_calls",
        raw_stop_reason="tool_use",
        usage=TokenUsage(input_tokens=377, output_tokens=65, cached_tokens=0, cache_write_tokens=0),
    ),
    "anthropic_tool_no_args.sse": AssistantMessage(
        text="I'll update the issue list for you.",
        tool_calls=[
            ToolCall(
                id="toolu_01QE1WLsSVp5hy5Q3GmGTmjP", name="updateIssueList", arguments={}, raw_arguments=""
            )
        ],
        stop_reason="tool_calls",
        raw_stop_reason="tool_use",
        usage=TokenUsage(input_tokens=565, output_tokens=48, cached_tokens=0, cache_write_tokens=0),
    ),
    "ollama_chat_tool_call.ndjson": AssistantMessage(
        tool_calls=[
            ToolCall(
                id="call_0", name="get_weather", arguments={"city": "Tokyo"}, raw_arguments='{"city":"Tokyo"}'
            )
        ],
        stop_reason="tool_calls",
        raw_stop_reason="stop",
        usage=TokenUsage(input_tokens=169, output_tokens=15),
    ),
    "ollama_chat_tool_call_in_done_chunk.ndjson": AssistantMessage(
        tool_calls=[ToolCall(id="call_s8sschyx", name="get_time", arguments={}, raw_arguments="{}")],
        stop_reason="tool_calls",
        raw_stop_reason="stop",
    ),
    "ollama_midstream_error.ndjson": AssistantMessage(
        error=StreamFailure(
            kind="provider", message="an error was encountered while running the model", provider="ollama"
        ),
    ),
    "openai_chat_extra_empty_chunk_nim.sse": AssistantMessage(
        tool_calls=[
            ToolCall(
                id="chatcmpl-tool-b3b307239370432d9910d4b79b4dbbaa",
                name="searchGoogle",
                arguments={"query": "latest news on ai"},
                raw_arguments='{"query": "latest news on ai"}',
            )
        ],
        stop_reason="tool_calls",
        raw_stop_reason="tool_calls",
        usage=TokenUsage(input_tokens=226, output_tokens=20),
    ),
    "openai_chat_missing_type_azure_mistral.sse": AssistantMessage(
        tool_calls=[
            ToolCall(
                id="call_abc123",
                name="test-tool",
                arguments={"value": "hello"},
                raw_arguments='{"value":"hello"}',
            )
        ],
        stop_reason="tool_calls",
        raw_stop_reason="tool_calls",
        usage=TokenUsage(input_tokens=10, output_tokens=5),
    ),
    "openai_chat_parallel_tool_calls.sse": AssistantMessage(
        tool_calls=[
            ToolCall(
                id="call_JMW1whyEaYG438VE1OIflxA2",
                name="GetWeatherArgs",
                arguments={"city": "Edinburgh", "country": "GB", "units": "c"},
                raw_arguments='{"city": "Edinburgh", "country": "GB", "units": "c"}',
            ),
            ToolCall(
                id="call_DNYTawLBoN8fj3KN6qU9N1Ou",
                name="get_stock_price",
                arguments={"ticker": "AAPL", "exchange": "NASDAQ"},
                raw_arguments='{"ticker": "AAPL", "exchange": "NASDAQ"}',
            ),
        ],
        stop_reason="tool_calls",
        raw_stop_reason="tool_calls",
        usage=TokenUsage(input_tokens=149, output_tokens=60),
    ),
    "openai_chat_parsable_prefix.sse": AssistantMessage(
        tool_calls=[
            ToolCall(
                id="call_early123",
                name="search",
                arguments=None,
                raw_arguments='{"query": "test"}, "limit": 10}',
                error="invalid JSON arguments: Extra data: line 1 column 18 (char 17)",
            )
        ],
        stop_reason="tool_calls",
        raw_stop_reason="tool_calls",
    ),
    "openai_chat_single_tool_call.sse": AssistantMessage(
        tool_calls=[
            ToolCall(
                id="call_c91SqDXlYFuETYv8mUHzz6pp",
                name="GetWeatherArgs",
                arguments={"city": "Edinburgh", "country": "UK", "units": "c"},
                raw_arguments='{"city":"Edinburgh","country":"UK","units":"c"}',
            )
        ],
        stop_reason="tool_calls",
        raw_stop_reason="tool_calls",
        usage=TokenUsage(input_tokens=76, output_tokens=24),
    ),
    "openai_chat_text_only.sse": AssistantMessage(
        text="I'm unable to provide real-time weather updates. To get the current weather in San Francisco, I"
        " recommend checking a reliable weather website or a weather app.",
        stop_reason="stop",
        raw_stop_reason="stop",
        usage=TokenUsage(input_tokens=14, output_tokens=30),
    ),
    "openai_chat_tool_call_one_chunk.sse": AssistantMessage(
        tool_calls=[
            ToolCall(
                id="call_O17Uplv4lJvD6DVdIvFFeRMw",
                name="test-tool",
                arguments={"value": "Sparkle Day"},
                raw_arguments='{"value":"Sparkle Day"}',
            )
        ],
        stop_reason="tool_calls",
        raw_stop_reason="tool_calls",
        usage=TokenUsage(input_tokens=53, output_tokens=17),
    ),
    "openai_responses_error.sse": AssistantMessage(
        error=StreamFailure(
            kind="provider",
            message="insufficient_quota: You exceeded your current quota, please check your plan and billing"
            " details. For more information on this error, read the docs:"
            " https://platform.openai.com/docs/guides/error-codes/api-errors.",
            provider="openai-responses",
        ),
    ),
    "openai_responses_function_call.sse": AssistantMessage(
        tool_calls=[
            ToolCall(
                id="call_Q7pq6EfVGRnauPLWSSYBGJ1l",
                name="get_weather",
                arguments={"location": "San Francisco, CA", "unit": "fahrenheit"},
                raw_arguments='{"location":"San Francisco, CA","unit":"fahrenheit"}',
            )
        ],
        stop_reason="tool_calls",
        raw_stop_reason="completed",
        usage=TokenUsage(input_tokens=467, output_tokens=26, cached_tokens=0),
    ),
    "openai_responses_parallel_tool_calls.sse": AssistantMessage(
        tool_calls=[
            ToolCall(
                id="call_6KxSghkb4MVnunFH2TxPErLP", name="currentLocation", arguments={}, raw_arguments="{}"
            ),
            ToolCall(
                id="call_Dg6WUmFHNeR5JxX1s53s1G4b",
                name="weather",
                arguments={"location": "Rome"},
                raw_arguments='{"location":"Rome"}',
            ),
        ],
        stop_reason="tool_calls",
        raw_stop_reason="completed",
        usage=TokenUsage(input_tokens=0, output_tokens=0, cached_tokens=0),
    ),
    # Reasoning, as events alone carry it: its text (test_reasoning.py checks the blocks a stream keeps whole).
    "anthropic_thinking_text.sse": AssistantMessage(
        text="925 ÷ 5 = 185",
        reasoning=[
            Reasoning(text="The previous result was 925. Now I need to divide that by 5.\n\n925 ÷ 5 = 185")
        ],
        stop_reason="stop",
        raw_stop_reason="end_turn",
        usage=TokenUsage(input_tokens=69, output_tokens=53, cached_tokens=0, cache_write_tokens=0),
    ),
    "anthropic_redacted_thinking.sse": AssistantMessage(  # redacted thinking has no text: no event shows it
        text="I notice that you've sent what appears to be some kind of test string or command. I don't have"
        ' any special "magic string" triggers or backdoor commands that would expose internal systems or'
        " change my behavior.\n\nI'm Claude, an AI assistant created by Anthropic to be helpful, harmless,"
        " and honest. How can I assist you today with a legitimate task or question?",
        stop_reason="stop",
        raw_stop_reason="end_turn",
        usage=TokenUsage(input_tokens=92, output_tokens=189, cached_tokens=0, cache_write_tokens=0),
    ),
    "anthropic_thinking_tool_use.sse": AssistantMessage(
        reasoning=[Reasoning(text="Let me call the tool.")],
        tool_calls=[
            ToolCall(
                id="toolu_second",
                name="test-tool",
                arguments={"value": "Sparkle Day"},
                raw_arguments='{"value":"Sparkle Day"}',
            )
        ],
        stop_reason="tool_calls",
        raw_stop_reason="tool_use",
        usage=TokenUsage(input_tokens=17, output_tokens=65),
    ),
    "openai_responses_reasoning_function_call.sse": AssistantMessage(
        reasoning=[
            Reasoning(
                text="**Calculating step-by-step using calculator**\n\nI'll compute 12 plus 7, then multiply the"
                " result by 3, and finally multiply that by 10, reporting the final product."
            )
        ],
        tool_calls=[
            ToolCall(
                id="call_AB6AaRZ1FYZB2RwS6A5vbdqn",
                name="calculator",
                arguments={"a": 12, "b": 7, "op": "add"},
                raw_arguments='{"a":12,"b":7,"op":"add"}',
            )
        ],
        stop_reason="tool_calls",
        raw_stop_reason="completed",
        usage=TokenUsage(input_tokens=134, output_tokens=28, cached_tokens=0),
    ),
    "openai_responses_reasoning_multi_summary.sse": AssistantMessage(
        text="X",
        reasoning=[  # six summary parts, one run of deltas: a blank line between the parts
            Reasoning(
                text="\n\n".join(
                    f"**Anonymized summary {n}**\n\nThis is placeholder reasoning text for anonymized fixture"
                    f" summary index {n}. The actual reasoning content has been redacted; only the streaming"
                    " structure is preserved for test purposes."
                    for n in range(6)
                )
            )
        ],
        stop_reason="stop",
        raw_stop_reason="completed",
        usage=TokenUsage(input_tokens=100, output_tokens=500, cached_tokens=0),
    ),
    "openai_responses_reasoning_text.sse": AssistantMessage(
        text="I'll get the current weather information for San Francisco for you.",
        reasoning=[
            Reasoning(
                text="The user is asking for the weather in San Francisco. I have a weather function available"
                ' that takes a location parameter. The user has provided "San Francisco" as the location, so I'
                " have all the required information to make the function call."
            )
        ],
        tool_calls=[
            ToolCall(
                id="call_2025306790300011",
                name="weather",
                arguments={"location": "San Francisco"},
                raw_arguments='{"location":"San Francisco"}',
            )
        ],
        stop_reason="tool_calls",
        raw_stop_reason="completed",
        usage=TokenUsage(input_tokens=182, output_tokens=61, cached_tokens=2),
    ),
    "openai_chat_reasoning_content_tool_call.sse": AssistantMessage(
        reasoning=[
            Reasoning(
                text="The user is asking for the weather in San Francisco. I need to use the weather tool to get"
                " this information. Let me invoke the weather tool with the location parameter set to"
                ' "San Francisco".'
            )
        ],
        tool_calls=[
            ToolCall(
                id="call_00_ioIn7yN9p1ZOMNpDLwd4MgAF",
                name="weather",
                arguments={"location": "San Francisco"},
                raw_arguments='{"location": "San Francisco"}',
            )
        ],
        stop_reason="tool_calls",
        raw_stop_reason="tool_calls",
        usage=TokenUsage(input_tokens=339, output_tokens=83, cached_tokens=320),
    ),
    "openai_chat_reasoning_field.sse": AssistantMessage(
        text="My answer is correct",
        reasoning=[Reasoning(text="Let me consider this carefully")],
        stop_reason="stop",
        raw_stop_reason="stop",
        usage=TokenUsage(input_tokens=18, output_tokens=439),
    ),
    "ollama_chat_thinking_tool_call.ndjson": AssistantMessage(
        text="Checking.",
        reasoning=[Reasoning(text="Hue is a city.")],
        tool_calls=[
            ToolCall(
                id="call_cy3xwkra",
                name="get_weather",
                arguments={"city": "Hue"},
                raw_arguments='{"city":"Hue"}',
            )
        ],
        stop_reason="tool_calls",
        raw_stop_reason="stop",
        usage=TokenUsage(input_tokens=272, output_tokens=32),
    ),
}

FIXTURE_NAMES = sorted(path.name for path in FIXTURES.iterdir() if path.suffix in (".sse", ".ndjson"))


async def trickle(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        await asyncio.sleep(0)
        yield chunk


def events_sync(name: str, chunks: Iterable[bytes]) -> list[Event]:
    wire = wire_of(name)
    return list(parse_stream(wire, chunks, provider=for_wire(wire).name))


def events_async(name: str, chunks: Iterable[bytes]) -> list[Event]:
    wire = wire_of(name)
    provider = for_wire(wire).name

    async def read() -> list[Event]:
        return [event async for event in parse_stream(wire, trickle(chunks), provider=provider)]

    return asyncio.run(read())


def test_every_fixture_has_an_expected_message() -> None:
    assert set(FIXTURE_NAMES) == set(EXPECTED)


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_collects_to_the_expected_message(name: str) -> None:
    events = events_sync(name, [fixture(name)])
    assert collect(events) == EXPECTED[name]
    assert isinstance(events[-1], (MessageFinished, StreamError))
    assert sum(isinstance(event, (MessageFinished, StreamError)) for event in events) == 1


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_events_survive_a_json_round_trip(name: str) -> None:
    events = events_sync(name, [fixture(name)])
    assert EVENTS.validate_json(EVENTS.dump_json(events)) == events


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_one_byte_chunks_give_the_same_events(name: str) -> None:
    data = fixture(name)
    whole = events_sync(name, [data])
    one_byte = [data[index : index + 1] for index in range(len(data))]
    assert events_sync(name, one_byte) == whole
    assert events_async(name, one_byte) == whole


@pytest.mark.parametrize("name", FIXTURE_NAMES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_split_gives_the_same_events_sync_and_async(name: str, data: st.DataObject) -> None:
    raw = fixture(name)
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=40), label="cuts")
    chunks = split(raw, cuts)
    whole = events_sync(name, [raw])
    assert events_sync(name, chunks) == whole
    assert events_async(name, chunks) == whole
    assert collect(events_sync(name, chunks)) == EXPECTED[name]


# -- fixture-specific behaviour ------------------------------------------------------------------------------


def test_parallel_calls_start_and_finish_in_order() -> None:
    events = events_sync(
        "openai_chat_parallel_tool_calls.sse", [fixture("openai_chat_parallel_tool_calls.sse")]
    )
    lifecycle = [
        (event.type, event.id, event.position)
        for event in events
        if isinstance(event, (ToolCallStarted, ToolCallReady))
    ]
    first, second = "call_JMW1whyEaYG438VE1OIflxA2", "call_DNYTawLBoN8fj3KN6qU9N1Ou"
    assert lifecycle == [
        ("tool_call_started", first, 0),
        ("tool_call_started", second, 1),
        ("tool_call_ready", first, 0),
        ("tool_call_ready", second, 1),
    ]
    deltas = [event for event in events if isinstance(event, ToolArgumentsDelta)]
    # every fragment went to its own call: the first call's deltas all come before the second one starts
    assert [delta.id for delta in deltas] == [first] * 11 + [second] * 9


def test_nim_extra_empty_chunk_does_not_duplicate_the_call() -> None:
    name = "openai_chat_extra_empty_chunk_nim.sse"
    events = events_sync(name, [fixture(name)])
    assert sum(isinstance(event, ToolCallStarted) for event in events) == 1
    assert sum(isinstance(event, ToolCallReady) for event in events) == 1
    fragments = [event.fragment for event in events if isinstance(event, ToolArgumentsDelta)]
    assert "".join(fragments) == '{"query": "latest news on ai"}'
    assert "" not in fragments


def test_parsable_prefix_is_not_finalized_early() -> None:
    name = "openai_chat_parsable_prefix.sse"
    events = events_sync(name, [fixture(name)])
    types = [event.type for event in events]
    last_delta = max(index for index, kind in enumerate(types) if kind == "tool_arguments_delta")
    assert types.index("tool_call_ready") > last_delta
    deltas = [event for event in events if isinstance(event, ToolArgumentsDelta)]
    assert deltas[0].partial == {"query": "test"}  # shown as a preview, never executed
    assert deltas[-1].partial is None  # the rest made it invalid: previews stopped
    ready = next(event for event in events if isinstance(event, ToolCallReady))
    assert ready.raw_arguments == '{"query": "test"}, "limit": 10}'
    assert ready.arguments is None and ready.error is not None and ready.error_kind == "invalid_json"


def test_anthropic_call_without_arguments_gets_an_empty_object() -> None:
    message = collect(events_sync("anthropic_tool_no_args.sse", [fixture("anthropic_tool_no_args.sse")]))
    assert message.tool_calls[0].arguments == {}
    assert message.tool_calls[0].error is None


def test_anthropic_max_tokens_call_is_an_error_and_the_stop_reason_is_length() -> None:
    name = "anthropic_incomplete_partial_json_max_tokens.sse"
    events = events_sync(name, [fixture(name)])
    assert [e.error_kind for e in events if isinstance(e, ToolCallReady)] == ["truncated"]
    message = collect(events)
    assert message.stop_reason == "length"
    assert message.tool_calls[0].arguments is None
    assert message.tool_calls[0].error == TRUNCATED_CALL
    assert message.error is None


def test_ollama_call_in_the_done_chunk() -> None:
    name = "ollama_chat_tool_call_in_done_chunk.ndjson"
    events = events_sync(name, [fixture(name)])
    assert [event.type for event in events] == [
        "tool_call_started",
        "tool_arguments_delta",
        "tool_call_ready",
        "message_finished",
    ]
    assert collect(events).tool_calls == [
        ToolCall(id="call_s8sschyx", name="get_time", arguments={}, raw_arguments="{}")
    ]


def test_openai_responses_error_carries_the_provider_message() -> None:
    message = collect(events_sync("openai_responses_error.sse", [fixture("openai_responses_error.sse")]))
    assert message.error is not None
    assert message.error.kind == "provider"
    assert "You exceeded your current quota" in message.error.message
    assert message.stop_reason is None


def test_anthropic_overloaded_midstream_keeps_the_text() -> None:
    name = "anthropic_error_overloaded_midstream.sse"
    events = events_sync(name, [fixture(name)])
    assert events[0] == TextDelta(text="Hello")
    assert events[-1] == StreamError(
        kind="overloaded", message="Overloaded", retryable=True, provider="anthropic"
    )


def test_ollama_midstream_error_ends_the_stream() -> None:
    name = "ollama_midstream_error.ndjson"
    events = events_sync(name, [fixture(name)])
    assert events == [
        StreamError(
            kind="provider", message="an error was encountered while running the model", provider="ollama"
        )
    ]


# -- byte sources ------------------------------------------------------------------------------------------


async def test_a_fault_from_an_async_source_keeps_the_text_and_ends_with_its_kind() -> None:
    data = fixture("anthropic_text_then_tool_use.sse")
    cut = data.index(b'"partial_json":"on')  # inside the tool call's arguments

    async def dropping() -> AsyncIterator[bytes]:
        yield data[:100]
        yield data[100:cut]
        raise StreamFault("connection", "connection reset by peer", retryable=True)

    events = [event async for event in parse_stream("anthropic", dropping(), provider="anthropic")]
    assert [e.error_kind for e in events if isinstance(e, ToolCallReady)] == ["incomplete"]
    message = await collect(trickle_events(events))
    assert message.text == "I'll check the current weather in Paris for you."
    assert message.tool_calls == [
        ToolCall(
            id="toolu_01NRLabsLyVHZPKxbKvkfSMn",
            name="get_weather",
            arguments=None,
            raw_arguments='{"locati',
            error=INCOMPLETE_CALL,
        )
    ]
    assert message.error == StreamFailure(
        kind="connection", message="connection reset by peer", retryable=True, provider="anthropic"
    )


async def trickle_events(events: list[Event]) -> AsyncIterator[Event]:
    for event in events:
        yield event


def test_a_fault_from_a_sync_source() -> None:
    def stalling() -> Iterator[bytes]:
        yield b'data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'
        raise StreamFault("stalled", "no bytes for 30 s")

    events = list(parse_stream("openai-chat", stalling()))
    assert events == [TextDelta(text="Hi"), StreamError(kind="stalled", message="no bytes for 30 s")]


def test_an_end_of_bytes_without_the_end_marker_is_interrupted() -> None:
    data = fixture("anthropic_text_then_tool_use.sse")
    cut = data.index(b"event: message_delta")
    message = collect(parse_stream("anthropic", [data[:cut]], provider="anthropic"))
    assert message.tool_calls[0].arguments == {"location": "Paris"}  # its block had ended: it stays final
    assert message.error == StreamFailure(
        kind="interrupted",
        message="the anthropic stream ended before its end marker",
        retryable=True,
        provider="anthropic",
    )


def test_other_exceptions_from_the_source_propagate() -> None:
    def broken() -> Iterator[bytes]:
        yield b'data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'
        raise KeyError("a bug")

    events = iter(parse_stream("openai-chat", broken()))
    assert next(events) == TextDelta(text="Hi")
    with pytest.raises(KeyError):
        next(events)


async def test_reading_stops_at_the_terminal_event_and_closes_the_source() -> None:
    closed = []

    async def endless() -> AsyncIterator[bytes]:
        try:
            yield fixture("openai_chat_text_only.sse")
            while True:  # a server that keeps sending after [DONE]
                yield b'data: {"choices":[{"index":0,"delta":{"content":"more"}}]}\n\n'
        finally:
            closed.append(True)

    message = await collect(parse_stream("openai-chat", endless()))
    assert message == EXPECTED["openai_chat_text_only.sse"].model_copy(update={"error": None})
    assert closed == [True]


def test_unknown_wire_format_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="openai-chat, openai-responses, anthropic, ollama"):
        parse_stream("openai", [])  # type: ignore[call-overload]


def test_a_bare_bytes_object_is_refused_with_a_hint() -> None:
    with pytest.raises(TypeError, match=r"\[data\]"):
        parse_stream("anthropic", b"event: ping\n\n")  # type: ignore[call-overload]


async def test_an_async_source_cannot_be_read_with_a_plain_for() -> None:
    stream = parse_stream("anthropic", trickle([]))
    assert isinstance(stream, EventStream) and not isinstance(stream, SyncEventStream)
    with pytest.raises(TypeError, match="async for"):
        iter(stream)  # type: ignore[call-overload]


def test_a_stream_is_read_once() -> None:
    stream = parse_stream("ollama", [fixture("ollama_chat_tool_call.ndjson")])
    assert len(list(stream)) == 5
    with pytest.raises(RuntimeError, match="once"):
        list(stream)


async def test_a_sync_source_can_be_read_with_async_for_too() -> None:
    name = "openai_chat_single_tool_call.sse"
    events = [event async for event in parse_stream("openai-chat", split(fixture(name), [7, 300, 301]))]
    assert events == events_sync(name, [fixture(name)])


async def test_collect_an_async_stream_returns_an_awaitable() -> None:
    name = "openai_responses_function_call.sse"
    message = await collect(parse_stream("openai-responses", trickle([fixture(name)]), provider="openai"))
    assert message == EXPECTED[name]


def test_collect_ignores_session_events() -> None:
    events: list[Event] = [
        StepStarted(step=1),
        TextDelta(text="Checking."),
        ToolCallStarted(id="c1", name="f", position=0),
        ToolCallReady(id="c1", name="f", position=0, arguments={}, raw_arguments="{}"),
        ToolRunning(id="c1", name="f", started_at=1.0),
        ToolResult(id="c1", name="f", output="42", duration=0.1),
        ToolError(id="c2", name="g", kind="timeout", message="too slow"),
        MessageFinished(stop_reason="tool_calls"),
        TurnFinished(reason="done", steps=1),
    ]
    assert collect(events) == AssistantMessage(
        text="Checking.",
        tool_calls=[ToolCall(id="c1", name="f", arguments={}, raw_arguments="{}")],
        stop_reason="tool_calls",
    )


def test_collect_orders_calls_by_position() -> None:
    events: list[Event] = [
        ToolCallReady(id="b", name="g", position=1, arguments={}, raw_arguments=""),
        ToolCallReady(id="a", name="f", position=0, arguments={}, raw_arguments=""),
    ]
    assert [call.id for call in collect(events).tool_calls] == ["a", "b"]


def test_collect_refuses_what_is_not_iterable() -> None:
    with pytest.raises(TypeError):
        collect(42)  # type: ignore[call-overload]


# -- cost --------------------------------------------------------------------------------------------------


def test_cost_scales_linearly() -> None:
    """4x the arguments (in 4-character fragments) must take less than 8x the time, measured in one run."""
    streams = {}
    for size in (32 * 1024, 128 * 1024):
        text = json.dumps(tool_arguments(size), ensure_ascii=False)
        streams[size] = (chunked(anthropic_tool_stream(text)), json.loads(text))
    best = dict.fromkeys(streams, float("inf"))
    for _ in range(3):
        for size, (chunks, expected) in streams.items():
            start = time.process_time()
            message = collect(parse_stream("anthropic", chunks))
            best[size] = min(best[size], time.process_time() - start)
            assert message.tool_calls[0].arguments == expected
    assert best[128 * 1024] < 8 * best[32 * 1024], best


def test_an_event_stream_made_directly_over_a_sync_source_is_iterable_too() -> None:
    name = "openai_chat_text_only.sse"
    stream = EventStream("openai-chat", [fixture(name)])
    assert stream.is_sync
    assert collect(stream) == collect(events_sync(name, [fixture(name)]))
