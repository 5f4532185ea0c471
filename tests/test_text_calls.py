"""Tool calls written as text (``text_tool_calls=``): the filter, fixtures at every split, history, end to end."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from helpers import events_of, split, texts
from hypothesis import given, settings
from hypothesis import strategies as st

import nbstream
from nbstream._assembly import INCOMPLETE_CALL, TRUNCATED_CALL
from nbstream._errors import ConfigurationError, StreamFault
from nbstream._events import (
    MessageFinished,
    StreamError,
    ToolArgumentsDelta,
    ToolCallReady,
    ToolCallStarted,
    ToolResult,
    TurnFinished,
)
from nbstream._messages import AssistantMessage, TokenUsage, ToolCall, ToolResultMessage, UserMessage
from nbstream._model import ModelRequest
from nbstream._parse import collect, parse_stream
from nbstream._providers import PROVIDERS, WireFormat
from nbstream._providers._request import text_call_history
from nbstream._wire._parts import EndPart, FinishPart, Part, TextPart, ToolEndPart, ToolPart
from nbstream._wire._text_calls import TextCallFilter, TextCallFormat
from nbstream.testing import ProviderServer, Say

FIXTURES = Path(__file__).parent / "fixtures" / "text_calls"


def _call(
    name: str, arguments: dict[str, object] | None, raw: str, error: str | None = None, *, id: str
) -> ToolCall:
    return ToolCall(id=id, name=name, arguments=arguments, raw_arguments=raw, error=error)


OSLO = '{"city": "Oslo"}'
# file → (wire, syntax, the message it collects to)
EXPECTED: dict[str, tuple[WireFormat, TextCallFormat, AssistantMessage]] = {
    "openai_chat_hermes_qwen25_vllm.sse": (
        "openai-chat",
        "hermes",
        AssistantMessage(
            text="I'll look up both cities.\n",
            tool_calls=[
                _call("get_weather", {"city": "Oslo"}, OSLO, id="call_0"),
                _call(
                    "get_weather",
                    {"city": "Paris", "unit": "celsius"},
                    '{"city": "Paris", "unit": "celsius"}',
                    id="call_1",
                ),
            ],
            stop_reason="tool_calls",
            raw_stop_reason="stop",
            usage=TokenUsage(input_tokens=412, output_tokens=58),
        ),
    ),
    "openai_chat_mistral_v11_llamacpp.sse": (
        "openai-chat",
        "mistral",
        AssistantMessage(
            tool_calls=[
                _call("get_weather", {"city": "Oslo", "days": 3}, '{"city": "Oslo", "days": 3}', id="call_0")
            ],
            stop_reason="tool_calls",
            raw_stop_reason="stop",
            usage=TokenUsage(input_tokens=388, output_tokens=19),
        ),
    ),
    "openai_chat_mistral_v3_vllm.sse": (
        "openai-chat",
        "mistral",
        AssistantMessage(
            tool_calls=[
                _call("get_weather", {"city": "Oslo"}, OSLO, id="call_0"),
                _call(
                    "get_time",
                    None,
                    '{"zone": "CET",}',
                    "invalid JSON arguments: Expecting property name enclosed in double quotes: line 1 column 16"
                    " (char 15)",
                    id="call_1",
                ),
            ],
            stop_reason="tool_calls",
            raw_stop_reason="stop",
            usage=TokenUsage(input_tokens=301, output_tokens=41),
        ),
    ),
    "openai_chat_llama3_python_tag_vllm.sse": (
        "openai-chat",
        "llama3",
        AssistantMessage(
            tool_calls=[_call("get_weather", {"city": "Oslo"}, OSLO, id="call_0")],
            stop_reason="tool_calls",
            raw_stop_reason="stop",
            usage=TokenUsage(input_tokens=512, output_tokens=21),
        ),
    ),
    "ollama_llama3_bare_json.ndjson": (
        "ollama",
        "llama3",
        AssistantMessage(
            tool_calls=[_call("get_weather", {"city": "Tokyo"}, '{"city": "Tokyo"}', id="call_0")],
            stop_reason="tool_calls",
            raw_stop_reason="stop",
            usage=TokenUsage(input_tokens=223, output_tokens=18),
        ),
    ),
    "ollama_hermes_finetune.ndjson": (
        "ollama",
        "hermes",
        AssistantMessage(
            text="Checking now. One moment.",
            tool_calls=[_call("get_weather", {"city": "Lima"}, '{"city": "Lima"}', id="call_0")],
            stop_reason="tool_calls",
            raw_stop_reason="stop",
            usage=TokenUsage(input_tokens=350, output_tokens=33),
        ),
    ),
}
NAMES = sorted(EXPECTED)


def read(name: str, chunks: list[bytes]) -> list[object]:
    wire, syntax, _ = EXPECTED[name]
    return list(parse_stream(wire, chunks, text_tool_calls=syntax))


def test_every_fixture_on_disk_has_an_expected_message() -> None:
    assert {p.name for p in FIXTURES.iterdir() if p.suffix in (".sse", ".ndjson")} == set(EXPECTED)


@pytest.mark.parametrize("name", NAMES)
def test_fixture_collects_to_the_expected_message(name: str) -> None:
    events = read(name, [(FIXTURES / name).read_bytes()])
    assert collect(events) == EXPECTED[name][2]  # type: ignore[arg-type]
    shown = texts(events)
    for marker in ("tool_call", "TOOL_CALLS", "[ARGS]", "python_tag", '"name"'):
        assert marker not in shown
    assert sum(isinstance(e, (MessageFinished, StreamError)) for e in events) == 1


@pytest.mark.parametrize("name", NAMES)
def test_every_single_byte_split_gives_the_same_events(name: str) -> None:
    raw = (FIXTURES / name).read_bytes()
    whole = read(name, [raw])
    for cut in range(1, len(raw), 3):  # every third byte: the property test below draws the others
        assert read(name, [raw[:cut], raw[cut:]]) == whole, cut


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_any_split_gives_the_same_events(name: str, data: st.DataObject) -> None:
    raw = (FIXTURES / name).read_bytes()
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=60), label="cuts")
    assert read(name, split(raw, cuts)) == read(name, [raw])


def test_the_hermes_call_streams_its_arguments_and_is_ready_at_its_closing_tag() -> None:
    raw = (FIXTURES / "openai_chat_hermes_qwen25_vllm.sse").read_bytes()
    events = read("openai_chat_hermes_qwen25_vllm.sse", [raw])
    kinds = [type(e).__name__ for e in events]
    first_ready = kinds.index("ToolCallReady")
    assert kinds.index("ToolCallStarted") < kinds.index("ToolArgumentsDelta") < first_ready
    assert first_ready < kinds.index("ToolCallStarted", first_ready)  # ready before the second call starts
    deltas = [e for e in events if isinstance(e, ToolArgumentsDelta) and e.id == "call_0"]
    assert len(deltas) > 3 and deltas[-1].partial == {"city": "Oslo"}


# -- the filter alone -------------------------------------------------------------------------------------------


def run(syntax: TextCallFormat, texts: list[str], *, finish: str | None = "stop") -> list[Part]:
    text_calls = TextCallFilter(syntax)
    out: list[Part] = []
    for text in texts:
        out += text_calls.feed(TextPart(text))
    if finish is not None:
        out += text_calls.feed(FinishPart("stop" if finish == "stop" else "length", finish))
        out += text_calls.feed(EndPart())
    else:
        out += text_calls.close()
    return out


def normalized(parts: list[Part]) -> list[tuple[object, ...]]:
    """Adjacent text joined, argument fragments of a call joined: what must not depend on token boundaries."""
    out: list[tuple[object, ...]] = []
    for part in parts:
        if isinstance(part, TextPart):
            if out and out[-1][0] == "text":
                out[-1] = ("text", str(out[-1][1]) + part.text)
                continue
            out.append(("text", part.text))
        elif isinstance(part, ToolPart) and part.arguments is not None and part.name is None:
            if out and out[-1][:2] == ("args", part.index):
                out[-1] = ("args", part.index, str(out[-1][2]) + part.arguments)
                continue
            out.append(("args", part.index, part.arguments))
        elif isinstance(part, ToolPart):
            out.append(("name", part.index, part.name))
        elif isinstance(part, ToolEndPart):
            out.append(("end", part.index))
        else:
            out.append((type(part).__name__,))
    return out


def test_text_before_a_call_streams_at_once_and_a_partial_tag_waits_only_until_decided() -> None:
    text_calls = TextCallFilter("hermes")
    assert text_calls.feed(TextPart("Let me check. <tool_")) == [TextPart("Let me check. ")]
    assert text_calls.feed(TextPart("s> are")) == [TextPart("<tool_s> are")]  # not a tag: released as text
    assert text_calls.feed(TextPart(" ready <")) == [TextPart(" ready ")]
    assert text_calls.feed(TextPart("tool_call>")) == []
    assert text_calls.feed(TextPart('{"name": "f", "arguments": {"a"')) == [
        ToolPart(index=-1, name="f"),
        ToolPart(index=-1, arguments='{"a"'),
    ]
    assert text_calls.feed(TextPart(": 1}}</tool")) == [ToolPart(index=-1, arguments=": 1}")]
    assert text_calls.feed(TextPart("_call>\n\nDone.")) == [ToolEndPart(index=-1), TextPart("Done.")]


@pytest.mark.parametrize(
    ("syntax", "tail"), [("hermes", "<tool_cal"), ("mistral", "[TOOL_"), ("llama3", "<|python")]
)
def test_a_partial_tag_at_the_end_of_the_response_is_text(syntax: TextCallFormat, tail: str) -> None:
    assert normalized(run(syntax, ["So: ", tail])) == [("text", "So: " + tail), ("FinishPart",), ("EndPart",)]
    assert normalized(run(syntax, ["So: ", tail], finish=None)) == [("text", "So: " + tail)]


def test_a_call_is_final_at_its_closing_tag_not_when_its_json_happens_to_parse() -> None:
    parts = run(
        "hermes", ['<tool_call>{"name": "f", "arguments": {"q": "test"}', "}\n</tool_call>"], finish=None
    )
    assert parts[-1] == ToolEndPart(index=-1)
    assert run("hermes", ['<tool_call>{"name": "f", "arguments": {"q": "test"}}'], finish=None)[
        -1
    ] != ToolEndPart(index=-1)


HERMES = (
    'Sure.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo", "note": "a<b </tool"}}'
    "\n</tool_call>\nOk."
)
MISTRAL = (
    'Hi[TOOL_CALLS][{"name": "a", "arguments": {"x": [1, {"y": "]}"}]}},'
    ' {"name": "b", "arguments": "{\\"z\\": 2}"}]'
)
MISTRAL_V11 = '[TOOL_CALLS]get_weather[ARGS]{"city": "Oslo"}[TOOL_CALLS]get_time[CALL_ID]a1b2c3d4e[ARGS]{}'
LLAMA = ' {"name": "a", "parameters": {"q": "\\"x\\" }"}}; {"parameters": {}, "name": "b"}'


@pytest.mark.parametrize(
    ("syntax", "text", "expected"),
    [
        (
            "hermes",
            HERMES,
            [
                ("text", "Sure.\n"),
                ("name", -1, "get_weather"),
                ("args", -1, '{"city": "Oslo", "note": "a<b </tool"}'),
                ("end", -1),
                ("text", "Ok."),
            ],
        ),
        (
            "mistral",
            MISTRAL,
            [
                ("text", "Hi"),
                ("name", -1, "a"),
                ("args", -1, '{"x": [1, {"y": "]}"}]}'),
                ("end", -1),
                ("name", -2, "b"),
                ("args", -2, '{"z": 2}'),  # arguments written as a JSON string are unwrapped
                ("end", -2),
            ],
        ),
        (
            "mistral",
            MISTRAL_V11,
            [
                ("name", -1, "get_weather"),
                ("args", -1, OSLO),
                ("end", -1),
                ("name", -2, "get_time"),
                ("args", -2, "{}"),
                ("end", -2),
            ],
        ),
        (
            "llama3",
            LLAMA,
            [
                ("name", -1, "a"),
                ("args", -1, '{"q": "\\"x\\" }"}'),
                ("end", -1),
                ("args", -2, "{}"),
                ("name", -2, "b"),
                ("end", -2),
            ],
        ),
    ],
)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_tokenization_of_the_text_reads_the_same_calls(
    syntax: TextCallFormat, text: str, expected: list[tuple[object, ...]], data: st.DataObject
) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=30), label="cuts"))
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    assert normalized(run(syntax, pieces)) == [*expected, ("FinishPart",), ("EndPart",)]


def test_llama3_text_that_does_not_open_with_json_is_text() -> None:
    assert normalized(run("llama3", ["  The answer is {x}."])) == [
        ("text", "  The answer is {x}."),
        ("FinishPart",),
        ("EndPart",),
    ]


def test_a_call_without_a_closing_tag_is_final_when_the_response_ends_after_the_finish_reason() -> None:
    parts = run("hermes", ['<tool_call>{"name": "f", "arguments": {"a": 1}}'])
    assert normalized(parts)[-3:] == [("FinishPart",), ("end", -1), ("EndPart",)]


# -- through the assembler: errors --------------------------------------------------------------------------------


def chat_stream(*contents: str, finish: str | None = "stop") -> bytes:
    frames = [
        f"data: {json.dumps({'choices': [{'index': 0, 'delta': {'content': c}}]})}\n\n".encode()
        for c in contents
    ]
    if finish is not None:
        frames.append(
            f"data: {json.dumps({'choices': [{'index': 0, 'delta': {}, 'finish_reason': finish}]})}\n\n".encode()
        )
        frames.append(b"data: [DONE]\n\n")
    return b"".join(frames)


def message_of(data: bytes, syntax: TextCallFormat = "hermes") -> AssistantMessage:
    return collect(parse_stream("openai-chat", [data], text_tool_calls=syntax))


def test_malformed_json_is_the_usual_invalid_arguments_error() -> None:
    message = message_of(chat_stream('<tool_call>{"name": "f", "arguments": {"a": 1,}}</tool_call>'))
    (call,) = message.tool_calls
    assert (
        call.arguments is None and call.error is not None and call.error.startswith("invalid JSON arguments")
    )


def test_a_call_that_is_not_json_is_refused_and_quotes_what_the_model_wrote() -> None:
    message = message_of(chat_stream('<tool_call>get_weather(city="Oslo")</tool_call>'))
    (call,) = message.tool_calls
    assert call.arguments is None or call.error is not None
    assert call.error == "the model sent a tool call without a name"
    assert call.raw_arguments == 'get_weather(city="Oslo")'


def test_a_call_cut_by_the_token_limit_is_truncated_and_a_broken_stream_leaves_it_incomplete() -> None:
    cut = message_of(chat_stream('<tool_call>{"name": "f", "arguments": {"text": "long', finish="length"))
    assert cut.tool_calls[0].error == TRUNCATED_CALL
    dropped = message_of(chat_stream('Hm <tool_call>{"name": "f", "arguments": {"a": 1}}', finish=None))
    assert dropped.tool_calls[0].error == INCOMPLETE_CALL and dropped.error is not None
    assert dropped.text == "Hm "


def test_held_text_is_kept_when_the_source_faults() -> None:
    def chunks() -> object:
        yield chat_stream("Wait <tool_", finish=None)
        raise StreamFault("interrupted", "dropped")

    message = collect(parse_stream("openai-chat", chunks(), text_tool_calls="hermes"))  # type: ignore[call-overload]
    assert message.text == "Wait <tool_" and message.error is not None


def test_without_the_option_tags_are_text_and_unknown_formats_are_refused() -> None:
    data = chat_stream('<tool_call>{"name": "f", "arguments": {}}</tool_call>')
    assert collect(parse_stream("openai-chat", [data])).text.startswith("<tool_call>")
    with pytest.raises(ValueError, match="hermes"):
        parse_stream("openai-chat", [data], text_tool_calls="qwen")  # type: ignore[call-overload]
    with pytest.raises(ConfigurationError, match="'hermes', 'mistral', 'llama3'"):
        nbstream.Session(model="demo", text_tool_calls="json")  # type: ignore[arg-type]


# -- the history sent back ----------------------------------------------------------------------------------------


def history(text: str = "Checking.") -> list[object]:
    calls = [
        ToolCall(id="call_0", name="get_weather", arguments={"city": "Oslo"}, raw_arguments=OSLO),
        ToolCall(
            id="call_1",
            name="get_time",
            arguments=None,
            raw_arguments="{oops",
            error="invalid JSON arguments",
        ),
    ]
    return [
        UserMessage(content="Weather and time?"),
        AssistantMessage(text=text, tool_calls=calls, stop_reason="tool_calls"),
        ToolResultMessage(call_id="call_0", name="get_weather", content="sunny"),
        ToolResultMessage(
            call_id="call_1", name="get_time", content="invalid JSON arguments", error="invalid_arguments"
        ),
        UserMessage(content="And tomorrow?"),
    ]


def test_hermes_history_is_text_with_tags_and_tool_response_blocks() -> None:
    body = PROVIDERS["openai"].build("m", ModelRequest(messages=text_call_history(history(), "hermes")), {})  # type: ignore[arg-type]
    assert body["messages"] == [
        {"role": "user", "content": "Weather and time?"},
        {
            "role": "assistant",
            "content": 'Checking.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>\n'
            '<tool_call>\n{"name": "get_time", "arguments": {}}\n</tool_call>',
        },
        {
            "role": "user",
            "content": "<tool_response>\nsunny\n</tool_response>\n<tool_response>\nError: invalid JSON arguments\n"
            "</tool_response>\n\nAnd tomorrow?",
        },
    ]


def test_mistral_history_uses_tool_calls_and_tool_results_markers() -> None:
    messages = text_call_history(history(""), "mistral")  # type: ignore[arg-type]
    assert messages[1] == AssistantMessage(
        text='[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Oslo"}},'
        ' {"name": "get_time", "arguments": {}}]',
        stop_reason="tool_calls",
    )
    assert messages[2] == UserMessage(
        content='[TOOL_RESULTS]{"content": "sunny"}[/TOOL_RESULTS]\n'
        '[TOOL_RESULTS]{"content": "Error: invalid JSON arguments"}[/TOOL_RESULTS]\n\nAnd tomorrow?'
    )


def test_llama3_history_writes_the_json_and_keeps_tool_messages_for_the_ipython_role() -> None:
    body = PROVIDERS["ollama"].build("m", ModelRequest(messages=text_call_history(history(""), "llama3")), {})  # type: ignore[arg-type]
    assert body["messages"][1] == {
        "role": "assistant",
        "content": '{"name": "get_weather", "parameters": {"city": "Oslo"}}; {"name": "get_time", "parameters": {}}',
    }
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "tool", "tool", "user"]


# -- end to end -----------------------------------------------------------------------------------------------


async def test_a_session_runs_a_call_written_as_text_and_sends_it_back_as_text() -> None:
    ran: list[str] = []

    async def get_weather(city: str) -> str:
        """The weather in a city.

        Args:
            city: the city
        """
        ran.append(city)
        await asyncio.sleep(0)
        return f"sunny in {city}"

    said = 'Checking.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>'
    async with ProviderServer([[Say(said)], [Say("It is sunny in Oslo.")]]) as server:
        session = nbstream.Session(
            model="openai:qwen",
            base_url=server.base_url("openai"),
            api_key="test",
            tools=[get_weather],
            text_tool_calls="hermes",
        )
        events = await events_of(session, "Weather in Oslo?")
        await session.aclose()
    assert ran == ["Oslo"]
    assert isinstance(events[-1], TurnFinished) and (events[-1].reason, events[-1].steps) == ("done", 2)
    assert texts(events) == "Checking.\nIt is sunny in Oslo."
    started = [e for e in events if isinstance(e, ToolCallStarted)]
    ready = [e for e in events if isinstance(e, ToolCallReady)]
    results = [e for e in events if isinstance(e, ToolResult)]
    assert [(e.name, e.id) for e in started] == [("get_weather", "call_0")]
    assert ready[0].arguments == {"city": "Oslo"} and results[0].id == "call_0"
    assert session.messages[1] == AssistantMessage(
        text="Checking.\n",
        tool_calls=[
            ToolCall(id="call_0", name="get_weather", arguments={"city": "Oslo"}, raw_arguments=OSLO)
        ],
        stop_reason="tool_calls",
        raw_stop_reason="stop",
        usage=session.messages[1].usage,  # type: ignore[union-attr]
    )
    second = server.requests[1].json["messages"]
    assert second[1:] == [
        {
            "role": "assistant",
            "content": 'Checking.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>',
        },
        {"role": "user", "content": "<tool_response>\nsunny in Oslo\n</tool_response>"},
    ]
