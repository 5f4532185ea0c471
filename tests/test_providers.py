"""Provider requests built from a history (pure), model strings and keys."""

from __future__ import annotations

import json
from typing import get_args

import pytest

from nbstream import ConfigurationError, MissingAPIKeyError, Session
from nbstream._messages import AssistantMessage, ToolCall, ToolResultMessage, UserMessage
from nbstream._model import ModelRequest, ToolSpec
from nbstream._providers import PROVIDERS, WIRE_FORMATS, WireFormat, for_wire, parse_model_string
from nbstream._transport import _error_message_from_body, _parse_retry_after

SPEC = ToolSpec(
    name="get_weather",
    description="Weather for a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
HISTORY = ModelRequest(
    system="Be terse.",
    tools=[SPEC],
    messages=[
        UserMessage(content="Weather in Paris and Oslo?"),
        AssistantMessage(
            text="Checking.",
            tool_calls=[
                ToolCall(
                    id="c1", name="get_weather", arguments={"city": "Paris"}, raw_arguments='{"city":"Paris"}'
                ),
                ToolCall(
                    id="c2", name="get_weather", arguments={"city": "Oslo"}, raw_arguments='{"city":"Oslo"}'
                ),
            ],
        ),
        ToolResultMessage(call_id="c1", name="get_weather", content="18 C"),
        ToolResultMessage(call_id="c2", name="get_weather", content="boom", error="exception"),
    ],
)


def build(provider: str) -> dict:
    return PROVIDERS[provider].request("m", HISTORY, "http://127.0.0.1:1/v1", {}).body


def test_openai_chat_body() -> None:
    body = build("openai")
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "tool"]
    assistant = body["messages"][2]
    assert [c["function"]["arguments"] for c in assistant["tool_calls"]] == [
        '{"city":"Paris"}',
        '{"city":"Oslo"}',
    ]
    assert body["messages"][3] == {"role": "tool", "tool_call_id": "c1", "content": "18 C"}
    assert body["messages"][4]["content"] == "Error: boom"
    assert body["tools"][0]["function"]["parameters"] == SPEC.parameters


def test_responses_body() -> None:
    body = build("openai-responses")
    assert body["instructions"] == "Be terse."
    types = [item.get("type", item.get("role")) for item in body["input"]]
    assert types == [
        "user",
        "assistant",
        "function_call",
        "function_call",
        "function_call_output",
        "function_call_output",
    ]
    assert body["input"][4] == {"type": "function_call_output", "call_id": "c1", "output": "18 C"}
    assert body["tools"][0] == {
        "type": "function",
        **{k: getattr(SPEC, k) for k in ("name", "description", "parameters")},
    }


def test_anthropic_body_merges_tool_results_into_one_user_message() -> None:
    body = build("anthropic")
    assert body["system"] == "Be terse." and body["max_tokens"] > 0
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert [b["type"] for b in body["messages"][1]["content"]] == ["text", "tool_use", "tool_use"]
    results = body["messages"][2]["content"]
    assert [r["tool_use_id"] for r in results] == ["c1", "c2"] and results[1]["is_error"] is True
    assert body["tools"][0]["input_schema"] == SPEC.parameters


def test_ollama_body_sends_arguments_as_objects() -> None:
    body = build("ollama")
    assistant = body["messages"][2]
    assert assistant["tool_calls"][0]["function"]["arguments"] == {"city": "Paris"}
    assert body["messages"][3] == {"role": "tool", "tool_name": "get_weather", "content": "18 C"}


def test_options_reach_the_body() -> None:
    body = PROVIDERS["openai"].request("m", HISTORY, "http://x/v1", {"temperature": 0.2}).body
    assert body["temperature"] == 0.2


def test_model_strings() -> None:
    provider, name = parse_model_string("openai-responses:gpt-5")
    assert provider.wire == "openai-responses" and name == "gpt-5"
    with pytest.raises(ConfigurationError, match="unknown provider 'bedrock'"):
        parse_model_string("bedrock:claude")
    with pytest.raises(ConfigurationError, match="provider"):
        parse_model_string("gpt-4")


@pytest.mark.parametrize(
    ("model", "variable"),
    [("openai:gpt-4.1-mini", "OPENAI_API_KEY"), ("anthropic:claude", "ANTHROPIC_API_KEY")],
)
@pytest.mark.usefixtures("no_keys")
def test_missing_key_names_the_variable(model: str, variable: str) -> None:
    with pytest.raises(MissingAPIKeyError, match=variable):
        Session(model=model)


@pytest.mark.usefixtures("no_keys")
def test_local_servers_need_no_key() -> None:
    session = Session(model="openai:qwen", base_url="http://127.0.0.1:8000/v1")
    assert "qwen" in repr(session.model)
    Session(model="ollama:llama3.2")


def test_keys_never_show_in_reprs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-SECRET-123")
    session = Session(model="anthropic:claude")
    assert "SECRET" not in repr(session) and "SECRET" not in repr(session.model)


def test_ollama_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "0.0.0.0:11500")
    assert PROVIDERS["ollama"].default_base() == ("http://127.0.0.1:11500", "OLLAMA_HOST")
    monkeypatch.delenv("OLLAMA_HOST")
    assert PROVIDERS["ollama"].default_base() == ("http://localhost:11434", "OLLAMA_HOST")
    assert PROVIDERS["openai"].default_base() == ("https://api.openai.com/v1", "base_url")


anthropic_base = PROVIDERS["anthropic"].normalized_base_url


def test_anthropic_base_accepts_both_forms() -> None:
    assert anthropic_base("http://h:1") == anthropic_base("http://h:1/v1/") == "http://h:1/v1"
    assert PROVIDERS["openai"].normalized_base_url("http://h:1") == "http://h:1"


def test_error_bodies() -> None:
    assert _error_message_from_body(b'{"error":{"message":"Invalid key","type":"auth"}}') == "Invalid key"
    assert (
        _error_message_from_body(b'{"type":"error","error":{"type":"not_found_error","message":"model: x"}}')
        == "model: x"
    )
    assert _error_message_from_body(b'{"error":"model \\"x\\" not found"}') == 'model "x" not found'
    assert _error_message_from_body(b"<html>Bad Gateway</html>") == "<html>Bad Gateway</html>"


def test_retry_after() -> None:
    assert _parse_retry_after("2") == 2.0
    assert _parse_retry_after(None) is None
    assert _parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert _parse_retry_after("soon") is None


def test_the_environment_key_never_goes_to_another_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real-openai-key")
    provider, _ = parse_model_string("openai:qwen")
    assert provider.resolve_key(None, "http://127.0.0.1:8000/v1") is None
    assert provider.resolve_key("sk-for-this-server", "http://127.0.0.1:8000/v1") == "sk-for-this-server"
    assert provider.resolve_key(None, "https://api.openai.com/v1") == "sk-real-openai-key"
    assert provider.resolve_key(None, None) == "sk-real-openai-key"


def test_a_query_string_in_base_url_stays_after_the_path() -> None:
    http = PROVIDERS["openai"].request("m", HISTORY, "https://x.example/openai/v1?api-version=2024-10", {})
    assert http.url == "https://x.example/openai/v1/chat/completions?api-version=2024-10"


def test_anthropic_base_keeps_a_query_string_at_the_end() -> None:
    assert anthropic_base("http://h/v1?beta=true") == "http://h/v1?beta=true"
    assert anthropic_base("http://h:1/?beta=true") == "http://h:1/v1?beta=true"
    http = PROVIDERS["anthropic"].request("m", HISTORY, anthropic_base("https://h/proxy?beta=true"), {})
    assert http.url == "https://h/proxy/v1/messages?beta=true"


BROKEN = ModelRequest(
    messages=[
        UserMessage(content="Weather in Paris?"),
        AssistantMessage(
            tool_calls=[
                ToolCall(id="c1", name="get_weather", arguments=None, raw_arguments='{"city": "Par'),
                ToolCall(id="c2", name="get_weather", arguments=None, raw_arguments='["Paris"]'),
                ToolCall(id="c3", name="get_weather", arguments={}, raw_arguments=""),
            ]
        ),
        ToolResultMessage(
            call_id="c1", name="get_weather", content="invalid arguments", error="invalid_arguments"
        ),
    ],
    tools=[SPEC],
)


def _sent_arguments(wire: WireFormat, body: dict) -> list[object]:
    if wire == "openai-responses":
        return [item["arguments"] for item in body["input"] if item.get("type") == "function_call"]
    if wire == "anthropic":
        blocks = [b for m in body["messages"] for b in m["content"]]
        return [b["input"] for b in blocks if b["type"] == "tool_use"]
    return [c["function"]["arguments"] for m in body["messages"] for c in m.get("tool_calls", [])]


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_a_call_whose_arguments_were_not_a_json_object_goes_back_as_an_empty_object(provider: str) -> None:
    body = PROVIDERS[provider].request("m", BROKEN, "http://127.0.0.1:1/v1", {}).body
    wire = PROVIDERS[provider].wire
    empty: object = "{}" if wire in ("openai-chat", "openai-responses") else {}
    assert _sent_arguments(wire, body) == [empty, empty, empty]  # llama-server answers 500 to '{"city": "Par'


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_an_assistant_message_with_neither_text_nor_calls_is_never_sent(provider: str) -> None:
    request = ModelRequest(
        messages=[
            UserMessage(content="Hi"),
            AssistantMessage(),  # a response that failed before it said anything
            UserMessage(content="Hello?"),
            AssistantMessage(text="Hello."),
        ]
    )
    body = PROVIDERS[provider].request("m", request, "http://127.0.0.1:1/v1", {}).body
    entries = body["input"] if PROVIDERS[provider].wire == "openai-responses" else body["messages"]
    assistant = [e for e in entries if e.get("role") == "assistant"]
    assert len(assistant) == 1
    assert all(e.get("content") not in (None, "", []) for e in entries)
    if provider == "anthropic":  # the two user messages merge: Anthropic wants roles to alternate
        assert [m["role"] for m in entries] == ["user", "assistant"]


def test_the_registry_names_every_wire_once_and_every_provider_is_whole() -> None:
    assert get_args(WireFormat) == WIRE_FORMATS
    assert set(WIRE_FORMATS) == {provider.wire for provider in PROVIDERS.values()}
    for wire in WIRE_FORMATS:
        assert for_wire(wire).wire == wire and for_wire(wire).parser.wire == wire  # type: ignore[attr-defined]
    for provider in PROVIDERS.values():
        body = json.loads(json.dumps(provider.build("m", HISTORY, {})))
        back = provider.read_request(body)
        assert (back.system, back.tools, len(back.messages)) == (HISTORY.system, HISTORY.tools, 4)
        assert json.dumps(provider.error_body(429, "slow down", index=0)).count("slow down") == 1
        assert "Hi" in json.dumps(provider.whole_answer("Hi", model="m", index=0))
        assert provider.encoder.call_id(1).endswith("script_1")
