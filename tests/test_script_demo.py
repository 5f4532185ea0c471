"""Scripted steps and the demo model: real wire bytes, deterministic answers, schema-valid tool arguments."""

from __future__ import annotations

import time
from typing import Any, Literal

import jsonschema
import pytest
from helpers import events_of, texts
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from nbstream._demo import DemoModel, demo_arguments
from nbstream._encode import encode_step
from nbstream._errors import ConfigurationError, StreamFault
from nbstream._events import StreamError, ToolCallReady, TurnFinished
from nbstream._messages import AssistantMessage, ToolCall, ToolResultMessage, UserMessage
from nbstream._model import Model, ModelRequest, ToolSpec
from nbstream._parse import collect, parse_stream
from nbstream._providers import WireFormat, for_wire
from nbstream._script import Call, Pause, Say, ScriptedModel
from nbstream._session import Session

SUM = ToolSpec(
    "slow_sum",
    "Add two numbers, slowly.",
    {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    },
)
WEATHER = ToolSpec(
    "get_weather",
    "Current weather for a city.",
    {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 1, "maximum": 7, "default": 1},
        },
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
)
FAST = 1e9  # characters per second: no waiting in tests that are not about timing


async def read(model: Model, request: ModelRequest) -> AssistantMessage:
    return await collect(parse_stream(model.wire, model.stream(request), provider=model.provider))


def ask(prompt: str, tools: list[ToolSpec] | None = None) -> ModelRequest:
    return ModelRequest([UserMessage(content=prompt)], tools or [])


# --- ScriptedModel -------------------------------------------------------------------------------------


async def test_scripted_model_plays_steps_in_order_then_says_clearly_it_has_no_more() -> None:
    model = ScriptedModel([[Say("one"), Call("f", {"x": 1})], [Say("two")]])
    assert isinstance(model, Model) and model.provider == "scripted" and model.wire == "anthropic"
    first = await read(model, ask("a"))
    second = await read(model, ask("b"))
    assert (first.text, [c.arguments for c in first.tool_calls], first.tool_calls[0].id) == (
        "one",
        [{"x": 1}],
        "toolu_script_1",
    )
    assert (second.text, second.tool_calls) == ("two", [])
    events = [e async for e in parse_stream(model.wire, model.stream(ask("c")))]
    (error,) = [e for e in events if isinstance(e, StreamError)]
    assert error.kind == "provider" and "no step 3" in error.message and "2 step" in error.message
    assert [r.messages[0].content for r in model.requests] == ["a", "b", "c"]  # type: ignore[union-attr]


async def test_scripted_model_raises_stream_fault_past_the_script() -> None:
    model = ScriptedModel([])
    with pytest.raises(StreamFault, match="no step 1"):
        async for _ in model.stream(ask("x")):
            pass


async def test_call_ids_keep_counting_across_steps() -> None:
    model = ScriptedModel([[Call("f", {}), Call("g", {})], [Call("h", {})]], wire="openai-chat")
    await read(model, ask("a"))
    message = await read(model, ask("b"))
    assert [c.id for c in message.tool_calls] == ["call_script_3"]


def test_scripted_model_rejects_bad_actions_and_wires() -> None:
    with pytest.raises(ConfigurationError, match="step 2"):
        ScriptedModel([[Say("ok")], ["not an action"]])  # type: ignore[list-item]
    with pytest.raises(ConfigurationError, match="wire"):
        ScriptedModel([], wire="smoke-signals")  # type: ignore[arg-type]


async def test_a_tool_is_final_while_slow_text_still_streams() -> None:
    """The teaching exercise: with Anthropic's wire the call is ready long before the text after it ends."""
    model = ScriptedModel([[Say("Starting."), Call("slow", {"n": 1}), Say("and now a slow tail", over=0.4)]])
    start = time.monotonic()
    ready_at = finished_at = None
    async for event in parse_stream(model.wire, model.stream(ask("go"))):
        if isinstance(event, ToolCallReady):
            ready_at = time.monotonic() - start
        finished_at = time.monotonic() - start
    assert ready_at is not None and finished_at is not None
    assert finished_at >= 0.35
    assert ready_at < finished_at / 3


async def test_pause_and_delays_are_real_time() -> None:
    model = ScriptedModel([[Say("a"), Pause(0.2), Call("f", {"k": "vvvvvvvv"}, fragment=4, delay=0.05)]])
    start = time.monotonic()
    message = await read(model, ask("x"))
    elapsed = time.monotonic() - start
    assert message.tool_calls[0].arguments == {"k": "vvvvvvvv"}
    assert 0.2 + 4 * 0.05 <= elapsed < 2.0


# --- DemoModel: choosing tools and arguments -----------------------------------------------------------


def test_demo_calls_a_matching_tool_with_numbers_from_the_prompt() -> None:
    actions = DemoModel().plan(ask("Please sum 2 and 40", [WEATHER, SUM]))
    assert isinstance(actions[0], Say) and "slow_sum" in actions[0].text
    (call,) = [a for a in actions if isinstance(a, Call)]
    assert (call.name, call.arguments, call.id) == ("slow_sum", {"a": 2, "b": 40}, "toolu_demo_1")


def test_demo_reads_intent_from_the_description_and_parameters_not_only_the_name() -> None:
    """ "What is 2 + 3?" shares no word with "Add two integers": the symbol and the synonyms carry the intent."""
    add = ToolSpec("combine", "Add two integers, slowly.", SUM.parameters)
    for prompt in ("What is 2 + 3?", "what's 2 plus 3", "the total of 2 and 3"):
        (call,) = [s for s in DemoModel().plan(ask(prompt, [WEATHER, add])) if isinstance(s, Call)]
        assert (call.name, call.arguments) == ("combine", {"a": 2, "b": 3}), prompt
    isbn = ToolSpec(
        "lookup", "Find a record.", {"type": "object", "properties": {"isbn": {"type": "string"}}}
    )
    (call,) = [
        s for s in DemoModel().plan(ask("Which book has ISBN 978?", [add, isbn])) if isinstance(s, Call)
    ]
    assert call.name == "lookup"
    for unrelated in ("What is 2 - 3?", "a state-of-the-art idea", "Explain Rust lifetimes"):
        assert not any(isinstance(s, Call) for s in DemoModel().plan(ask(unrelated, [add]))), unrelated


def test_demo_fills_strings_from_capitalised_words_and_enums_from_mentions() -> None:
    request = ask("What's the weather in San Francisco in fahrenheit?", [SUM, WEATHER])
    (call,) = [s for s in DemoModel().plan(request) if isinstance(s, Call)]
    assert call.arguments == {"city": "San Francisco", "unit": "fahrenheit"}
    (call,) = [
        s for s in DemoModel().plan(ask('weather for "new york", 3 days', [WEATHER])) if isinstance(s, Call)
    ]
    assert call.arguments == {"city": "new york", "unit": "celsius", "days": 3}


def test_demo_without_a_matching_tool_answers_in_markdown_about_the_topic() -> None:
    (say,) = DemoModel().plan(ask("Explain Rust lifetimes", [SUM]))
    assert isinstance(say, Say)
    assert "demo model" in say.text and "*Explain Rust lifetimes*" in say.text
    assert "```python" in say.text and "`slow_sum`" in say.text
    (plain,) = DemoModel().plan(ask("hello"))
    assert isinstance(plain, Say) and "*hello*" in plain.text


def test_demo_answers_tool_results_in_markdown() -> None:
    call = ToolCall(id="toolu_demo_1", name="slow_sum", arguments={"a": 2, "b": 3}, raw_arguments="{}")
    history = [
        UserMessage(content="sum 2 and 3"),
        AssistantMessage(text="Let me call slow_sum.", tool_calls=[call]),
        ToolResultMessage(call_id="toolu_demo_1", name="slow_sum", content="5"),
    ]
    (say,) = DemoModel().plan(ModelRequest(history, [SUM]))
    assert isinstance(say, Say) and say.text == "**slow_sum** returned `5`.\n"
    failed = [
        *history[:2],
        ToolResultMessage(call_id="x", name="slow_sum", content="boom", error="exception"),
    ]
    failed.append(ToolResultMessage(call_id="y", name="get_weather", content="line one\nline two"))
    (say,) = DemoModel().plan(ModelRequest(failed, [SUM]))
    assert isinstance(say, Say)
    assert (
        "**slow_sum** failed (exception): boom" in say.text
        and "```\n  line one\n  line two\n  ```" in say.text
    )


class Address(BaseModel):
    street: str
    zip_code: str = Field(min_length=5, max_length=5)


class Order(BaseModel):
    customer: str
    quantity: int = Field(ge=1, le=10)
    price: float = Field(gt=0)
    express: bool
    tags: list[str]
    sizes: list[int] = Field(min_length=2)
    ship_to: Address
    note: str | None
    priority: Literal["low", "high"] = "low"


SCHEMAS = [
    SUM.parameters,
    WEATHER.parameters,
    Order.model_json_schema(),
    {
        "type": "object",
        "properties": {"n": {"type": "number", "exclusiveMinimum": 0, "multipleOf": 0.5}},
        "required": ["n"],
    },
    {
        "type": "object",
        "properties": {"items": {"type": "array", "items": {"type": "integer"}, "minItems": 3}},
        "required": ["items"],
    },  # fmt: skip
    {"type": "object", "properties": {}},
]


@pytest.mark.parametrize("schema", SCHEMAS)
@settings(max_examples=40, deadline=None)
@given(
    prompt=st.text(alphabet=st.characters(codec="utf-8"), max_size=80)
    | st.from_regex(r"[A-Z][a-z]+ -?\d{1,4}")
)
def test_demo_arguments_always_satisfy_the_schema(schema: dict[str, Any], prompt: str) -> None:
    arguments = demo_arguments(prompt, ToolSpec("t", "d", schema))
    jsonschema.validate(arguments, schema)


def test_demo_arguments_for_a_pydantic_model_use_the_prompt() -> None:
    arguments = demo_arguments(
        'order for Ada: 4 items at 2.5, ship to "Main St" 12345', ToolSpec("o", "", Order.model_json_schema())
    )
    jsonschema.validate(arguments, Order.model_json_schema())
    assert arguments["customer"] == "Main St" and arguments["quantity"] == 4 and arguments["price"] == 2.5
    assert arguments["ship_to"]["street"] == "Ada"  # the strings, in order: quoted first, then capitalised
    Order.model_validate(arguments)


# --- DemoModel: streaming ------------------------------------------------------------------------------


async def test_demo_streams_the_same_bytes_every_time(wire: WireFormat) -> None:
    model = DemoModel(chars_per_second=FAST, wire=wire)
    request = ask("sum 2 and 3", [SUM, WEATHER])
    first = b"".join([chunk async for chunk in model.stream(request)])
    second = b"".join([chunk async for chunk in DemoModel(chars_per_second=FAST, wire=wire).stream(request)])
    assert first == second
    message = await read(model, request)
    assert message.tool_calls[0].arguments == {"a": 2, "b": 3} and message.error is None


def test_demo_paces_its_text_at_chars_per_second() -> None:
    for cps in (100.0, 400.0):
        actions = DemoModel(chars_per_second=cps).plan(ask("Tell me about tides"))
        (say,) = actions
        assert isinstance(say, Say)
        total = sum(f.delay for f in encode_step(for_wire("anthropic").encoder, actions))
        assert total == pytest.approx(len(say.text) / cps)
        assert max(len(d) for d in say.deltas()) < 40  # small deltas


def test_demo_rejects_a_non_positive_speed_and_an_unknown_wire() -> None:
    with pytest.raises(ValueError):
        DemoModel(chars_per_second=0)
    with pytest.raises(ConfigurationError, match="unknown wire format 'smoke-signals'"):
        DemoModel(wire="smoke-signals")  # type: ignore[arg-type]


async def test_demo_two_step_flow_through_a_session() -> None:
    """User prompt → demo calls the tool → the session runs it → the demo answers with the result."""
    calls: list[tuple[int, int]] = []

    def slow_sum(a: int, b: int) -> int:
        """Add two numbers, slowly."""
        calls.append((a, b))
        return a + b

    session = Session(model=DemoModel(chars_per_second=FAST), tools=[slow_sum])
    events = await events_of(session, "please sum 20 and 22")
    assert calls == [(20, 22)]
    finished = events[-1]
    assert isinstance(finished, TurnFinished) and (finished.reason, finished.steps) == ("done", 2)
    text = texts(events)
    assert text.startswith("Let me call `slow_sum`.\n\nWhile `slow_sum` runs, I keep talking")
    assert text.endswith("I will read it and answer.**slow_sum** returned `42`.\n")
    await session.aclose()
