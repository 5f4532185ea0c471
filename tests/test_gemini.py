"""The Gemini preset (Google's OpenAI-compatible endpoint): its defaults, and a whole tool loop against the
loopback server, which streams the way Google does (each call whole, without ``index``; ``finish_reason``
``"stop"`` after calls)."""

from __future__ import annotations

import json

import pytest
from helpers import events_of, texts

from nbstream import MissingAPIKeyError, ModelRequest, Session, ToolResult, TurnFinished, UserMessage
from nbstream._encode import encode_step
from nbstream._providers import PROVIDERS
from nbstream.testing import Call, ProviderServer, Say

GEMINI = PROVIDERS["gemini"]


def test_gemini_streams_each_call_whole_without_an_index_and_finishes_with_stop() -> None:
    body = b"".join(frame.data for frame in encode_step(GEMINI.encoder, [Call("f", {"a": 1}, fragment=2)]))
    chunks = [json.loads(line[6:]) for line in body.decode().split("\n\n") if line.startswith("data: {")]
    choices = [choice for chunk in chunks for choice in chunk["choices"]]
    calls = [call for choice in choices for call in choice["delta"].get("tool_calls", [])]
    assert calls == [
        {"id": "call_script_1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}
    ]
    assert [choice["finish_reason"] for choice in choices if choice["finish_reason"]] == ["stop"]


@pytest.mark.usefixtures("no_keys")
def test_gemini_takes_its_own_key_and_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")  # never sent to Google
    with pytest.raises(MissingAPIKeyError, match="GEMINI_API_KEY"):
        Session("gemini:gemini-2.5-flash")
    monkeypatch.setenv("GEMINI_API_KEY", "g-key")
    assert GEMINI.resolve_key(None, None) == "g-key"
    request = GEMINI.request(
        "gemini-2.5-flash", ModelRequest([UserMessage(content="Hi")]), GEMINI.default_base_url, {}
    )
    assert request.url == "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions"
    assert request.body["model"] == "gemini-2.5-flash" and request.body["stream"] is True


async def test_a_gemini_session_runs_its_tools_against_the_loopback_server() -> None:
    ran: list[str] = []

    async def weather(city: str) -> str:
        """The weather in a city."""
        ran.append(city)
        return f"{city}: sunny"

    steps = [
        [Say("Checking both."), Call("weather", {"city": "Oslo"}), Call("weather", {"city": "Lima"})],
        [Say("Both are sunny.")],
    ]
    async with ProviderServer(steps, seed=5) as server:
        session = Session(
            "gemini:gemini-2.5-flash", base_url=server.base_url("gemini"), api_key="g", tools=[weather]
        )
        events = await events_of(session, "Weather in Oslo and Lima?")
        await session.aclose()
    finished = events[-1]
    assert isinstance(finished, TurnFinished) and (finished.reason, finished.steps) == ("done", 2)
    assert ran == ["Oslo", "Lima"]  # two whole calls without an index: two calls, each with its own arguments
    assert [e.output for e in events if isinstance(e, ToolResult)] == ["Oslo: sunny", "Lima: sunny"]
    assert texts(events) == "Checking both.Both are sunny."
    assert [r.path for r in server.requests] == ["/v1beta/openai/chat/completions"] * 2
    assert server.requests[0].headers["authorization"] == "Bearer g"
    tool_messages = [m for m in server.requests[1].json["messages"] if m["role"] == "tool"]
    assert [m["content"] for m in tool_messages] == ["Oslo: sunny", "Lima: sunny"]
