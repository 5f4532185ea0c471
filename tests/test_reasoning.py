"""Reasoning, offline: what each wire's recorded reasoning becomes (events and the blocks a stream keeps whole),
the ``reasoning=`` option per provider, and the reasoning each request carries back."""

from __future__ import annotations

import json
from typing import Any

import pytest
from helpers import fixture, wire_of

from nbstream import ConfigurationError, Session
from nbstream._events import Event, ReasoningDelta, StreamError, TextDelta, ToolCallStarted
from nbstream._messages import AssistantMessage, Reasoning, ToolCall, ToolResultMessage, UserMessage
from nbstream._model import REASONING_LEVELS, ModelRequest
from nbstream._parse import collect, parse_stream
from nbstream._providers import PROVIDERS
from nbstream._providers._request import without_empty

# --- reading: the recorded streams ------------------------------------------------------------------------


def read(name: str, chunks: list[bytes] | None = None) -> tuple[list[Event], list[Reasoning]]:
    """The events of a recorded stream, and the reasoning blocks its stream kept."""
    stream = parse_stream(wire_of(name), chunks if chunks is not None else [fixture(name)])
    return list(stream), stream.reasoning


def payloads(name: str) -> list[dict[str, Any]]:
    """The JSON objects of a recorded SSE stream, read here with ``json`` alone (not with nbstream's parser)."""
    lines = fixture(name).decode().splitlines()
    return [json.loads(line[5:]) for line in lines if line.startswith("data:") and "{" in line]


def shown(events: list[Event]) -> str:
    return "".join(event.text for event in events if isinstance(event, ReasoningDelta))


def test_anthropic_thinking_keeps_its_signature() -> None:
    events, blocks = read("anthropic_thinking_text.sse")
    signature = next(
        p["delta"]["signature"]
        for p in payloads("anthropic_thinking_text.sse")
        if "delta" in p and p["delta"].get("type") == "signature_delta"
    )
    text = "The previous result was 925. Now I need to divide that by 5.\n\n925 ÷ 5 = 185"
    assert blocks == [Reasoning(text=text, signature=signature)]
    assert shown(events) == text
    last_thought = max(i for i, e in enumerate(events) if isinstance(e, ReasoningDelta))
    assert last_thought < min(i for i, e in enumerate(events) if isinstance(e, TextDelta))


def test_anthropic_redacted_thinking_is_kept_and_never_shown() -> None:
    events, blocks = read("anthropic_redacted_thinking.sse")
    data = [
        p["content_block"]["data"]
        for p in payloads("anthropic_redacted_thinking.sse")
        if p.get("type") == "content_block_start" and p["content_block"]["type"] == "redacted_thinking"
    ]
    assert len(data) == 2 and blocks == [Reasoning(redacted=d) for d in data]
    assert shown(events) == ""


def test_responses_reasoning_item_keeps_its_id_and_the_encrypted_content_of_done() -> None:
    name = "openai_responses_reasoning_function_call.sse"
    events, blocks = read(name)
    items = [p["item"] for p in payloads(name) if p["type"].startswith("response.output_item")]
    added, done = items[0], items[1]
    assert added["type"] == done["type"] == "reasoning"
    assert added["encrypted_content"] != done["encrypted_content"]  # a fresh encryption: done's goes back
    (block,) = blocks
    assert (block.id, block.encrypted) == (done["id"], done["encrypted_content"])
    assert block.text == done["summary"][0]["text"] == shown(events)


def test_responses_summary_parts_are_blocks_of_one_item() -> None:
    name = "openai_responses_reasoning_multi_summary.sse"
    events, blocks = read(name)
    done = next(p["item"] for p in payloads(name) if p["type"] == "response.output_item.done")
    assert [b.text for b in blocks] == [part["text"] for part in done["summary"]]
    assert {b.id for b in blocks} == {done["id"]}
    assert [b.encrypted for b in blocks] == [done["encrypted_content"]] + [None] * 5  # on the first only
    assert shown(events) == "\n\n".join(b.text for b in blocks)  # a blank line between the parts


def test_responses_raw_reasoning_text_is_read_too() -> None:
    events, blocks = read("openai_responses_reasoning_text.sse")
    (block,) = blocks
    assert block.id == "rs_3yo6zy4vu4hq6iegqwhn1" and block.encrypted is None
    assert block.text.startswith("The user is asking for the weather in San Francisco.")
    assert shown(events) == block.text


def test_responses_reasoning_sent_only_in_output_item_done_is_read_there() -> None:
    item = {"id": "rs_1", "type": "reasoning", "summary": [{"type": "summary_text", "text": "Whole."}]}
    frames = [
        {"type": "response.output_item.added", "output_index": 0, "item": {**item, "summary": []}},
        {"type": "response.output_item.done", "output_index": 0, "item": {**item, "encrypted_content": "E"}},
        {"type": "response.completed", "response": {}},
    ]
    body = "".join(f"data: {json.dumps(frame)}\n\n" for frame in frames).encode()
    events, blocks = read("openai_responses_x.sse", [body])
    assert blocks == [Reasoning(text="Whole.", id="rs_1", encrypted="E")]
    assert shown(events) == "Whole."


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (
            "openai_chat_reasoning_content_tool_call.sse",
            "The user is asking for the weather in San Francisco. I need to use the weather tool to get this"
            ' information. Let me invoke the weather tool with the location parameter set to "San Francisco".',
        ),
        ("openai_chat_reasoning_field.sse", "Let me consider this carefully"),
        ("ollama_chat_thinking_tool_call.ndjson", "Hue is a city."),
    ],
)
def test_reasoning_text_alone_on_chat_and_ollama(name: str, text: str) -> None:
    events, blocks = read(name)
    assert blocks == [Reasoning(text=text)] and shown(events) == text


def test_chat_reads_reasoning_content_when_both_fields_come() -> None:
    delta = {"reasoning_content": "From reasoning_content", "reasoning": "From reasoning"}
    body = f"data: {json.dumps({'choices': [{'index': 0, 'delta': delta}]})}\n\ndata: [DONE]\n\n".encode()
    _, blocks = read("openai_chat_x.sse", [body])
    assert blocks == [Reasoning(text="From reasoning_content")]


def test_reasoning_after_text_or_a_call_is_a_new_block() -> None:
    def chunk(**delta: Any) -> str:
        return f"data: {json.dumps({'choices': [{'index': 0, 'delta': delta}]})}\n\n"

    call = {"index": 0, "id": "c1", "function": {"name": "f", "arguments": "{}"}}
    body = "".join(
        [
            chunk(reasoning_content="one "),
            chunk(reasoning_content="two"),
            chunk(content="Text."),
            chunk(reasoning_content="three"),
            chunk(tool_calls=[call]),
            chunk(reasoning_content="four"),
            "data: [DONE]\n\n",
        ]
    ).encode()
    events, blocks = read("openai_chat_x.sse", [body])
    assert [b.text for b in blocks] == ["one two", "three", "four"]
    assert shown(events) == "one two\n\nthree\n\nfour"
    # events alone: a block per run of deltas, text only
    assert [b.text for b in collect(events).reasoning] == ["one two", "\n\nthree", "\n\nfour"]
    kinds = [type(e).__name__ for e in events if isinstance(e, ReasoningDelta | TextDelta | ToolCallStarted)]
    assert kinds[-2:] == ["ToolCallStarted", "ReasoningDelta"]


def test_a_drop_inside_thinking_keeps_the_text_but_no_signature() -> None:
    data = fixture("anthropic_thinking_text.sse")
    cut = data.rindex(b"event:", 0, data.index(b"signature_delta"))  # dropped before the signature
    events, blocks = read("anthropic_thinking_text.sse", [data[:cut]])
    assert isinstance(events[-1], StreamError) and events[-1].kind == "interrupted"
    assert blocks == [Reasoning(text=shown(events))] and shown(events).startswith("The previous result")
    message = collect(parse_stream("anthropic", [data[:cut]]))
    assert message.reasoning == blocks and message.error is not None


# --- the reasoning= option ----------------------------------------------------------------------------------


REQUEST = ModelRequest([UserMessage(content="Hi")])


def body(provider: str, level: Any = None, options: dict[str, Any] | None = None, model: str = "m") -> Any:
    request = ModelRequest(REQUEST.messages, reasoning=level)
    return PROVIDERS[provider].request(model, request, "http://127.0.0.1:1/v1", options or {}).body


@pytest.mark.parametrize("value", ["extreme", "LOW", True, 1])
def test_session_refuses_an_unknown_level_naming_the_option(value: Any) -> None:
    with pytest.raises(ConfigurationError, match=r"reasoning must be one of 'low', 'medium', 'high' or None"):
        Session(reasoning=value)
    assert Session(reasoning="high").reasoning == "high" and Session().reasoning is None


def test_no_level_sends_no_reasoning_field() -> None:
    fields = {"thinking", "reasoning", "include", "reasoning_effort", "think"}
    for provider in PROVIDERS:
        assert not fields & set(body(provider)), provider
    assert body("anthropic")["max_tokens"] == 4096


@pytest.mark.parametrize(("level", "budget"), [("low", 2048), ("medium", 8192), ("high", 24576)])
def test_anthropic_thinking_budget_and_max_tokens_above_it(level: str, budget: int) -> None:
    sent = body("anthropic", level)
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert sent["max_tokens"] == budget + 4096
    raw = body(
        "anthropic", level, {"thinking": {"type": "enabled", "budget_tokens": 1024}, "max_tokens": 2000}
    )
    assert (raw["thinking"]["budget_tokens"], raw["max_tokens"]) == (1024, 2000)  # options win


def test_responses_effort_summary_and_encrypted_content_unless_stored() -> None:
    sent = body("openai-responses", "medium")
    assert sent["reasoning"] == {"effort": "medium", "summary": "auto"}
    assert sent["include"] == ["reasoning.encrypted_content"] and sent["store"] is False
    stored = body("openai-responses", "medium", {"store": True})
    assert "include" not in stored and stored["store"] is True
    assert body("openai-responses", "low", {"reasoning": {"effort": "minimal"}})["reasoning"] == {
        "effort": "minimal"
    }


def test_chat_and_gemini_send_reasoning_effort() -> None:
    for provider in ("openai", "gemini"):
        assert body(provider, "high")["reasoning_effort"] == "high"
    assert body("openai", "high", {"reasoning_effort": "minimal"})["reasoning_effort"] == "minimal"


def test_ollama_think_is_the_level_for_gpt_oss_and_true_for_others() -> None:
    assert body("ollama", "low", model="qwen3:8b")["think"] is True
    assert body("ollama", "low", model="gpt-oss:20b")["think"] == "low"
    assert body("ollama", "low", {"think": "high"}, model="qwen3:8b")["think"] == "high"


@pytest.mark.parametrize("provider", ["anthropic", "openai-responses", "openai", "ollama"])
def test_the_test_server_reads_the_level_back(provider: str) -> None:
    model = "gpt-oss:20b" if provider == "ollama" else "m"
    for level in REASONING_LEVELS:
        sent = body(provider, level, model=model)
        assert PROVIDERS[provider].read_request(sent).reasoning == level, (provider, level)
    assert PROVIDERS[provider].read_request(body(provider, model=model)).reasoning is None


# --- what goes back --------------------------------------------------------------------------------------

CALL = ToolCall(id="call_1", name="add", arguments={"a": 1}, raw_arguments='{"a":1}')
SIGNED = Reasoning(text="Think.", signature="sig")
REDACTED = Reasoning(redacted="opaque")
UNSIGNED = Reasoning(text="Cut before its signature.")
ITEM = [Reasoning(text="Part one.", id="rs_1", encrypted="enc"), Reasoning(text="Part two.", id="rs_1")]


def history(*reasoning: Reasoning) -> list[Any]:
    return [
        UserMessage(content="Add."),
        AssistantMessage(text="Adding.", reasoning=list(reasoning), tool_calls=[CALL]),
        ToolResultMessage(call_id="call_1", name="add", content="2"),
    ]


def sent(provider: str, messages: list[Any], options: dict[str, Any] | None = None) -> Any:
    request = ModelRequest(messages)
    return PROVIDERS[provider].request("m", request, "http://127.0.0.1:1/v1", options or {}).body


def test_anthropic_sends_signed_and_redacted_thinking_first_and_unchanged() -> None:
    assistant = sent("anthropic", history(SIGNED, UNSIGNED, REDACTED, *ITEM))["messages"][1]
    assert assistant["content"] == [
        {"type": "thinking", "thinking": "Think.", "signature": "sig"},
        {"type": "redacted_thinking", "data": "opaque"},
        {"type": "text", "text": "Adding."},
        {"type": "tool_use", "id": "call_1", "name": "add", "input": {"a": 1}},
    ]  # unsigned thinking and another provider's reasoning stay home


def test_responses_sends_each_reasoning_item_before_the_message_and_calls() -> None:
    items = sent("openai-responses", history(SIGNED, *ITEM))["input"]
    assert items[1:4] == [
        {
            "type": "reasoning",
            "id": "rs_1",
            "summary": [
                {"type": "summary_text", "text": "Part one."},
                {"type": "summary_text", "text": "Part two."},
            ],
            "encrypted_content": "enc",
        },
        {"role": "assistant", "content": "Adding."},
        {"type": "function_call", "call_id": "call_1", "name": "add", "arguments": '{"a":1}'},
    ]


def test_responses_leaves_out_an_item_it_could_not_be_found_by() -> None:
    plain = [Reasoning(text="No encrypted content.", id="rs_2")]
    assert not [i for i in sent("openai-responses", history(*plain))["input"] if i.get("type") == "reasoning"]
    stored = sent("openai-responses", history(*plain), {"store": True})["input"]
    assert {
        "type": "reasoning",
        "id": "rs_2",
        "summary": [{"type": "summary_text", "text": "No encrypted content."}],
    } in stored


def test_chat_never_sends_reasoning_and_ollama_sends_its_thinking() -> None:
    chat = sent("openai", history(Reasoning(text="Hmm."), SIGNED))["messages"][1]
    assert set(chat) == {"role", "content", "tool_calls"}
    ollama = sent("ollama", history(Reasoning(text="Hmm."), SIGNED))["messages"][1]
    assert ollama["thinking"] == "Hmm.\n\nThink."


@pytest.mark.parametrize("provider", ["anthropic", "openai-responses", "openai", "ollama"])
def test_a_message_with_reasoning_alone_is_not_sent(provider: str) -> None:
    cut = AssistantMessage(reasoning=[SIGNED, *ITEM])  # a response cut while it thought
    messages = [UserMessage(content="Hi"), cut, UserMessage(content="Again")]
    assert without_empty(messages) == [messages[0], messages[2]]
    dumped = json.dumps(sent(provider, messages))
    assert "Think." not in dumped and "rs_1" not in dumped


@pytest.mark.parametrize("provider", ["anthropic", "openai-responses", "ollama"])
def test_a_request_read_back_keeps_the_reasoning_it_carried(provider: str) -> None:
    """The test server reads bodies back: what a request carries back is what it finds."""
    reasoning = {
        "anthropic": [SIGNED, REDACTED],
        "openai-responses": ITEM,
        "ollama": [Reasoning(text="Hmm.")],
    }
    messages = history(*reasoning[provider])
    read_back = PROVIDERS[provider].read_request(sent(provider, messages)).messages
    assistant = next(m for m in read_back if isinstance(m, AssistantMessage))
    assert assistant.reasoning == reasoning[provider]
    assert (assistant.text, [c.name for c in assistant.tool_calls]) == ("Adding.", ["add"])
