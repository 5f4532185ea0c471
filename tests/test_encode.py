"""Wire encoders: the bytes look like the recorded provider streams and parse back into what was scripted."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from helpers import fixture, split
from hypothesis import given, settings
from hypothesis import strategies as st

from nbstream._encode import Action, Call, Pause, Say, Scheduled, Think, encode_step
from nbstream._encode._base import sealed
from nbstream._events import ReasoningDelta, TextDelta, ToolCallReady
from nbstream._messages import AssistantMessage, Reasoning
from nbstream._parse import collect, parse_stream
from nbstream._providers import WIRE_FORMATS, WireFormat, for_wire

STEP = [
    Say("I'll add those numbers for you."),
    Call("slow_sum", {"a": 2, "b": 3}),
    Say('While it runs: ünïcode ✓, "quotes" and a\nnewline.', chunk=2),
    Call("lookup", {"city": "San Francisco", "tags": ["a", "b"], "nested": {"x": None}}, fragment=3),
]
TEXT = 'I\'ll add those numbers for you.While it runs: ünïcode ✓, "quotes" and a\nnewline.'


def parse(wire: WireFormat, chunks: list[bytes]) -> AssistantMessage:
    return collect(parse_stream(wire, chunks))


def frames(wire: WireFormat, actions: list[Action], **options: Any) -> list[Scheduled]:
    return list(encode_step(for_wire(wire).encoder, actions, **options))


def error_frames(
    wire: WireFormat, kind: Any = "overloaded", message: str = "Overloaded", **options: Any
) -> bytes:
    return b"".join(for_wire(wire).encoder(**options).error(kind, message))


# --- actions ----------------------------------------------------------------------------------------------


@given(st.text(), st.integers(min_value=1, max_value=5))
def test_say_deltas_rebuild_the_text_exactly(text: str, chunk: int) -> None:
    deltas = Say(text, chunk=chunk).deltas()
    assert "".join(deltas) == text
    assert all(deltas)


def test_say_chunks_words_and_keeps_whitespace_with_the_next_word() -> None:
    assert Say("one two three four five", chunk=2).deltas() == ["one two", " three four", " five"]
    assert Say("  lead and trail  ", chunk=1).deltas() == ["  lead", " and", " trail  "]
    assert Say("").deltas() == []
    assert Say("   ").deltas() == ["   "]


def test_say_and_call_reject_impossible_settings() -> None:
    with pytest.raises(ValueError, match="not both"):
        Say("x", delay=0.1, over=1.0)
    with pytest.raises(ValueError):
        Say("x", chunk=0)
    with pytest.raises(ValueError):
        Call("f", {}, fragment=0)
    with pytest.raises(ValueError):
        Pause(-1)


def test_call_fragments_rebuild_the_arguments() -> None:
    call = Call("f", {"query": "ünï", "limit": 10}, fragment=4)
    assert "".join(call.fragments()) == call.raw_arguments
    assert json.loads(call.raw_arguments) == {"query": "ünï", "limit": 10}
    assert all(len(f) <= 4 for f in call.fragments())
    assert Call("f", '{"broken": ').raw_arguments == '{"broken": '


# --- round trip through the real parsers ------------------------------------------------------------------


def test_every_wire_round_trips_text_and_calls(wire: WireFormat) -> None:
    message = parse(wire, [f.data for f in frames(wire, STEP, input_tokens=42)])
    assert message.error is None
    assert message.text == TEXT
    assert [(c.name, c.arguments) for c in message.tool_calls] == [
        ("slow_sum", {"a": 2, "b": 3}),
        ("lookup", {"city": "San Francisco", "tags": ["a", "b"], "nested": {"x": None}}),
    ]
    assert [c.id for c in message.tool_calls] == [
        f"{for_wire(wire).encoder.call_id_prefix}script_{n}" for n in (1, 2)
    ]
    assert message.stop_reason == "tool_calls"
    assert message.usage is not None and message.usage.input_tokens == 42
    pieces = [a.deltas() if isinstance(a, Say) else a.fragments() for a in STEP if isinstance(a, Say | Call)]
    assert message.usage.output_tokens == sum(map(len, pieces))  # one token a delta or fragment


@pytest.mark.parametrize("wire", WIRE_FORMATS)
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32))
def test_every_wire_survives_random_byte_splits(wire: WireFormat, seed: int) -> None:
    body = b"".join(f.data for f in frames(wire, STEP))
    rng = random.Random(seed)
    message = parse(wire, split(body, rng.sample(range(1, len(body)), len(body) // 5)))
    assert message.text == TEXT
    assert [c.name for c in message.tool_calls] == ["slow_sum", "lookup"]
    assert message.error is None


def test_text_only_step_stops_with_stop(wire: WireFormat) -> None:
    message = parse(wire, [f.data for f in frames(wire, [Say("Just text.")])])
    assert (message.text, message.tool_calls, message.stop_reason) == ("Just text.", [], "stop")


def test_raw_string_arguments_are_sent_as_written(wire: WireFormat) -> None:
    message = parse(wire, [f.data for f in frames(wire, [Call("f", '{"a": 1, ')])])
    (call,) = message.tool_calls
    assert call.raw_arguments == '{"a": 1, '
    assert call.arguments is None and call.error


def test_call_ids_follow_the_offset_and_explicit_ids_win(wire: WireFormat) -> None:
    actions: list[Action] = [Call("f", {}), Call("g", {}, id="mine")]
    message = parse(wire, [f.data for f in frames(wire, actions, call_offset=4)])
    assert [c.id for c in message.tool_calls] == [for_wire(wire).encoder.call_id(5), "mine"]
    assert for_wire("anthropic").encoder.call_id(5) == "toolu_script_5"  # each provider's style of id
    assert for_wire("openai-chat").encoder.call_id(5, source="demo") == "call_demo_5"


def test_anthropic_call_is_final_before_later_text_but_openai_chat_only_at_the_end() -> None:
    actions: list[Action] = [Say("a b c"), Call("slow", {"n": 1}), Say("d e f g h i", chunk=1)]

    def order(wire: WireFormat) -> list[str]:
        events = parse_stream(wire, [f.data for f in frames(wire, actions)])
        return [type(e).__name__ for e in events if isinstance(e, TextDelta | ToolCallReady)]

    anthropic = order("anthropic")
    assert anthropic.index("ToolCallReady") < len(anthropic) - 6  # six text deltas still to come
    chat = order("openai-chat")
    assert chat[-1] == "ToolCallReady"


def test_encoding_is_deterministic() -> None:
    for wire in WIRE_FORMATS:
        assert frames(wire, STEP, step=3) == frames(wire, STEP, step=3)


def test_only_the_last_frame_is_the_end_marker() -> None:
    markers = {
        "openai-chat": b"data: [DONE]\n\n",
        "anthropic": b'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    }
    for wire in WIRE_FORMATS:
        encoded = frames(wire, STEP)
        assert [f.end for f in encoded] == [False] * (len(encoded) - 1) + [True]
        if wire in markers:
            assert encoded[-1].data == markers[wire]
    assert b'"type":"response.completed"' in frames("openai-responses", STEP)[-1].data
    assert json.loads(frames("ollama", STEP)[-1].data)["done"] is True


def test_delays_spread_over_the_deltas_and_carry_across_silent_actions() -> None:
    encoded = frames("anthropic", [Pause(0.5), Say("a b c d", chunk=1, over=1.0)])
    text_frames = [f for f in encoded if b"text_delta" in f.data]
    assert [f.delay for f in text_frames] == [0.0, 0.25, 0.25, 0.25]  # the block start takes the first wait
    assert sum(f.delay for f in encoded) == pytest.approx(1.5)
    # Ollama sends a call whole: the fragments' delays land on that one line.
    ollama = frames("ollama", [Call("f", {"a": "xxxxxxxxxxxxxxxx"}, fragment=4, delay=0.1)])
    assert ollama[0].delay == pytest.approx(0.6)
    assert b'"arguments":{"a":"xxxxxxxxxxxxxxxx"}' in ollama[0].data


# --- the frames look like the recorded streams ------------------------------------------------------


def sse_payloads(body: bytes) -> list[tuple[str | None, dict[str, Any]]]:
    out = []
    for block in body.decode().split("\n\n"):
        event, data = None, None
        for line in block.splitlines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and line[5:].strip() != "[DONE]":
                data = json.loads(line[5:])
        if data is not None:
            out.append((event, data))
    return out


def keys_by_type(payloads: list[dict[str, Any]], kind: Any) -> dict[str, set[str]]:
    shapes: dict[str, set[str]] = {}
    for payload in payloads:
        shapes.setdefault(kind(payload), set()).update(payload)
    return shapes


@pytest.mark.parametrize(
    ("wire", "recording"),
    [
        ("anthropic", "anthropic_text_then_tool_use.sse"),
        ("openai-responses", "openai_responses_function_call.sse"),
        ("openai-chat", "openai_chat_single_tool_call.sse"),
    ],
)
def test_sse_events_use_the_recorded_field_names(wire: WireFormat, recording: str) -> None:
    recorded = sse_payloads(fixture(recording))
    ours = sse_payloads(b"".join(f.data for f in frames(wire, STEP)))

    def kind(payload: dict[str, Any]) -> str:
        return payload.get("type") or payload.get("object", "")

    theirs = keys_by_type([p for _, p in recorded], kind)
    mine = keys_by_type([p for _, p in ours], kind)
    shared = set(theirs) & set(mine)
    assert len(shared) >= (1 if wire == "openai-chat" else 4)
    for name in shared:
        assert mine[name] <= theirs[name], (name, mine[name] - theirs[name])
    if wire != "openai-chat":  # Anthropic and Responses name each event twice: `event:` and "type"
        assert all(event == payload["type"] for event, payload in ours)


def test_openai_chat_chunks_nest_like_the_recorded_ones() -> None:
    recorded = [p for _, p in sse_payloads(fixture("openai_chat_parallel_tool_calls.sse"))]
    recorded += [p for _, p in sse_payloads(fixture("openai_chat_text_only.sse"))]
    recorded += [p for _, p in sse_payloads(fixture("openai_chat_reasoning_content_tool_call.sse"))]
    ours = [p for _, p in sse_payloads(b"".join(f.data for f in frames("openai-chat", STEP)))]

    def shapes(payloads: list[dict[str, Any]]) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {"choice": set(), "delta": set(), "call": set(), "function": set()}
        for payload in payloads:
            found.setdefault("usage", set()).update(payload.get("usage") or {})
            for choice in payload["choices"]:
                found["choice"].update(choice)
                found["delta"].update(choice["delta"])
                for call in choice["delta"].get("tool_calls") or []:
                    found["call"].update(call)
                    found["function"].update(call["function"])
        return found

    theirs, mine = shapes(recorded), shapes(ours)
    for level, keys in mine.items():
        assert keys and keys <= theirs[level], (level, keys - theirs[level])
    assert b"".join(f.data for f in frames("openai-chat", STEP)).endswith(b"data: [DONE]\n\n")


def test_anthropic_event_sequence_matches_a_recorded_stream() -> None:
    ours = [
        e for e, _ in sse_payloads(b"".join(f.data for f in frames("anthropic", [Say("Hi."), Call("f", {})])))
    ]
    assert ours == [
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


def test_ollama_lines_match_the_recorded_shape() -> None:
    recorded = [json.loads(line) for line in fixture("ollama_chat_tool_call.ndjson").splitlines()]
    ours = [json.loads(f.data) for f in frames("ollama", [Call("get_weather", {"city": "Tokyo"})])]
    assert set(ours[0]) == set(recorded[0])
    assert set(ours[-1]) == set(recorded[-1])
    call = ours[0]["message"]["tool_calls"][0]
    assert call["function"]["arguments"] == {"city": "Tokyo"}  # an object, as Ollama sends it
    assert all(f.data.endswith(b"\n") and f.data.count(b"\n") == 1 for f in frames("ollama", STEP))


# --- provider errors and broken frames ----------------------------------------------------------------


def test_error_frames_use_each_providers_shape() -> None:
    (anthropic,) = sse_payloads(error_frames("anthropic"))
    assert anthropic == (
        "error",
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    )
    (chat,) = sse_payloads(error_frames("openai-chat", "server", "boom"))
    assert chat[1]["error"]["message"] == "boom" and chat[1]["error"]["type"] == "server_error"
    responses = sse_payloads(error_frames("openai-responses", "rate_limited", "slow down", sequence=7))
    assert [e for e, _ in responses] == ["error", "response.failed"]
    assert [p["sequence_number"] for _, p in responses] == [7, 8]
    assert responses[1][1]["response"]["status"] == "failed"
    assert json.loads(error_frames("ollama", message="oom")) == {"error": "oom"}


def test_a_mid_stream_error_keeps_the_text_before_it(wire: WireFormat) -> None:
    encoded = frames(wire, [Say("Hello world, more to come.", chunk=1)])
    cut = next(i for i, f in enumerate(encoded) if b"world" in f.data) + 1
    chunks = [f.data for f in encoded[:cut]] + [error_frames(wire)]
    message = parse(wire, chunks)
    assert message.error is not None
    assert message.text == "Hello world,"


def test_malformed_frame_is_reported_as_malformed(wire: WireFormat) -> None:
    frame = for_wire(wire).encoder().malformed()
    with pytest.raises(ValueError):
        json.loads(frame.split(b"data:", 1)[-1])
    events = list(parse_stream(wire, [frame]))
    assert any(getattr(e, "kind", None) == "malformed" for e in events)


# --- reasoning (Think) ------------------------------------------------------------------------------------

THINKING = [
    Think("Two numbers to add: I will call slow_sum.", chunk=2),
    Say("Adding."),
    Call("slow_sum", {"a": 2, "b": 3}),
    Say("Running."),
]


def test_think_streams_like_say_and_rejects_what_say_rejects() -> None:
    assert Think("one two three", chunk=2).deltas() == Say("one two three", chunk=2).deltas()
    assert Think("x", over=2.0).delta_delay(4) == 0.5
    with pytest.raises(ValueError, match=r"Think\(chunk=0\)"):
        Think("x", chunk=0)
    with pytest.raises(ValueError, match="Think takes delay= or over="):
        Think("x", delay=0.1, over=1.0)
    assert not isinstance(Think("x"), Say)  # never encoded as text


@pytest.mark.parametrize("wire", WIRE_FORMATS)
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32))
def test_every_wire_round_trips_reasoning_before_text_and_a_call(wire: WireFormat, seed: int) -> None:
    body = b"".join(f.data for f in frames(wire, THINKING))
    rng = random.Random(seed)
    stream = parse_stream(wire, split(body, rng.sample(range(1, len(body)), len(body) // 7)))
    events = list(stream)
    message = collect(events)
    assert [block.text for block in stream.reasoning] == ["Two numbers to add: I will call slow_sum."]
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == THINKING[0].text
    first_text = next(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    assert all(i < first_text for i, e in enumerate(events) if isinstance(e, ReasoningDelta))
    assert message.text == "Adding.Running." and [c.name for c in message.tool_calls] == ["slow_sum"]


def test_each_wire_seals_the_reasoning_where_its_api_does() -> None:
    """Anthropic signs the thinking block, Responses encrypts the item; Chat and Ollama send text only. The
    seal is a hash of the text: the same thinking gets the same seal, other thinking another."""

    def block(wire: WireFormat, text: str) -> Reasoning:
        stream = parse_stream(wire, [f.data for f in frames(wire, [Think(text), Say("ok")])])
        list(stream)
        (only,) = stream.reasoning
        return only

    signed, again, other = (block("anthropic", text) for text in ("Hmm.", "Hmm.", "Hmm!"))
    assert signed.signature and signed.signature == again.signature != other.signature
    assert signed.signature == sealed("Hmm.")
    item = block("openai-responses", "Hmm.")
    assert item.id == "rs_script_1_0" and item.encrypted == sealed("Hmm.", prefix="gAAAAA")
    for wire in ("openai-chat", "ollama"):
        assert block(wire, "Hmm.") == Reasoning(text="Hmm.")


@pytest.mark.parametrize(
    ("wire", "recording"),
    [
        ("anthropic", "anthropic_thinking_text.sse"),
        ("openai-responses", "openai_responses_reasoning_function_call.sse"),
    ],
)
def test_reasoning_events_use_the_recorded_field_names(wire: WireFormat, recording: str) -> None:
    recorded = [p for _, p in sse_payloads(fixture(recording))]
    ours = [p for _, p in sse_payloads(b"".join(f.data for f in frames(wire, THINKING)))]

    def kind(payload: dict[str, Any]) -> str:
        delta = payload.get("delta")
        block = payload.get("content_block") or payload.get("item")
        inner = delta if isinstance(delta, dict) else block if isinstance(block, dict) else {}
        return f"{payload['type']}/{inner.get('type', '')}"

    theirs, mine = keys_by_type(recorded, kind), keys_by_type(ours, kind)
    thinking = {name for name in mine if "thinking" in name or "signature" in name or "reasoning" in name}
    assert len(thinking) >= 3, sorted(mine)
    for name in thinking:
        assert name in theirs, name
        assert mine[name] <= theirs[name], (name, mine[name] - theirs[name])

    def inner(payloads: list[dict[str, Any]]) -> dict[str, set[str]]:
        found = [p.get(key) for p in payloads for key in ("delta", "item", "content_block")]
        return keys_by_type([value for value in found if isinstance(value, dict)], lambda p: p.get("type"))

    inner_mine, inner_theirs = inner(ours), inner(recorded)
    for name in ("thinking_delta", "signature_delta", "reasoning"):
        if name in inner_mine:
            assert inner_mine[name] <= inner_theirs[name], (name, inner_mine[name] - inner_theirs[name])


def test_chat_and_ollama_reasoning_look_like_the_recorded_lines() -> None:
    recorded = [p for _, p in sse_payloads(fixture("openai_chat_reasoning_content_tool_call.sse"))]
    ours = [p for _, p in sse_payloads(b"".join(f.data for f in frames("openai-chat", THINKING)))]
    delta = next(p["choices"][0]["delta"] for p in ours if "reasoning_content" in p["choices"][0]["delta"])
    recorded_delta = next(
        p["choices"][0]["delta"] for p in recorded if p["choices"][0]["delta"].get("reasoning_content")
    )
    assert set(delta) <= set(recorded_delta) and delta["content"] is None
    lines = [json.loads(line) for line in fixture("ollama_chat_thinking_tool_call.ndjson").splitlines()]
    mine = json.loads(frames("ollama", THINKING)[0].data)
    assert set(mine) <= set(lines[0]) | {"created_at"} and set(mine["message"]) == set(lines[0]["message"])
