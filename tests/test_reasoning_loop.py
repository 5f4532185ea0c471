"""Reasoning through the whole loop: a Session against the loopback server on every provider, over two steps
(a tool call after thinking); the server refusing, as the APIs do, a history that lost the reasoning; the
demo model thinking aloud."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from helpers import events_of

from nbstream import DemoModel, Session
from nbstream._events import (
    Event,
    ReasoningDelta,
    StepStarted,
    TextDelta,
    ToolCallReady,
    ToolResult,
    TurnFinished,
)
from nbstream._messages import AssistantMessage, Reasoning
from nbstream.testing import Call, DropConnection, ProviderServer, Say, Think, demo_steps

THOUGHT = "The user wants 2 plus 3: I will call add."
AFTERTHOUGHT = "The tool said 5."
STEPS = [
    [Think(THOUGHT, chunk=2), Say("Adding."), Call("add", {"a": 2, "b": 3})],
    [Think(AFTERTHOUGHT), Say("It is 5.")],
]
PROVIDER_NAMES = ["anthropic", "openai-responses", "openai", "ollama", "gemini"]


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def session_for(server: ProviderServer, provider: str, **options: Any) -> Session:
    return Session(
        f"{provider}:m", base_url=server.base_url(provider), api_key="test-key", tools=[add], **options
    )


def kinds(events: list[Event]) -> list[str]:
    """The events' types, runs of the same type written once."""
    names = [type(event).__name__ for event in events if not type(event).__name__.startswith("ToolArguments")]
    return [name for i, name in enumerate(names) if i == 0 or names[i - 1] != name]


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
async def test_reasoning_streams_first_is_kept_and_goes_back_as_the_provider_requires(provider: str) -> None:
    async with ProviderServer(STEPS) as server:
        async with session_for(server, provider, reasoning="medium") as session:
            events = await events_of(session, "add 2 and 3")
            messages = session.messages
        first, second = (request.json for request in server.requests)
    seen = kinds(events)
    assert seen[:4] == ["StepStarted", "ReasoningDelta", "TextDelta", "ToolCallStarted"]
    second_step = seen[seen.index("StepStarted", 1) :]
    assert second_step[:3] == ["StepStarted", "ReasoningDelta", "TextDelta"]
    assert isinstance(events[-1], TurnFinished) and events[-1].reason == "done"
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == THOUGHT + AFTERTHOUGHT
    answers = [m for m in messages if isinstance(m, AssistantMessage)]
    assert [[block.text for block in m.reasoning] for m in answers] == [[THOUGHT], [AFTERTHOUGHT]]
    assert any(isinstance(e, ToolResult) and e.output == "5" for e in events)
    check_carried_back(provider, first, second, answers[0].reasoning[0])


def check_carried_back(provider: str, first: Any, second: Any, block: Reasoning) -> None:
    """The first request asks for reasoning; the second carries the first step's back, where the API wants it."""
    if provider == "anthropic":
        assert first["thinking"] == {"type": "enabled", "budget_tokens": 8192}
        assistant = second["messages"][1]["content"]
        assert assistant[0] == {"type": "thinking", "thinking": THOUGHT, "signature": block.signature}
        assert [b["type"] for b in assistant] == ["thinking", "text", "tool_use"]
    elif provider == "openai-responses":
        assert first["reasoning"] == {"effort": "medium", "summary": "auto"}
        assert first["include"] == ["reasoning.encrypted_content"]
        kinds = [item.get("type", item.get("role")) for item in second["input"]]
        assert kinds == ["user", "reasoning", "assistant", "function_call", "function_call_output"]
        assert (
            second["input"][1]["encrypted_content"] == block.encrypted
            and block.id == second["input"][1]["id"]
        )
    elif provider == "ollama":
        assert first["think"] is True
        assert second["messages"][1]["thinking"] == THOUGHT
    else:  # Chat Completions and its presets: asked for, never sent back
        assert first["reasoning_effort"] == "medium"
        assert THOUGHT not in json.dumps(second)


def strip_reasoning(session: Session) -> None:
    """A history that lost its reasoning (as one saved by a tool that drops it, and loaded back)."""
    session._messages = [
        m.model_copy(update={"reasoning": []}) if isinstance(m, AssistantMessage) else m
        for m in session._messages
    ]


@pytest.mark.parametrize(
    ("provider", "refusal"),
    [
        (
            "anthropic",
            "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `text`",
        ),
        ("openai-responses", "of type 'function_call' was provided without its required 'reasoning' item"),
    ],
)
async def test_a_history_that_lost_the_reasoning_before_a_call_is_refused(
    provider: str, refusal: str
) -> None:
    steps = [STEPS[0], [Say("Continuing.")]]
    async with ProviderServer(steps) as server:
        async with session_for(server, provider, reasoning="low", max_steps=1, max_retries=0) as session:
            first = await events_of(session, "add 2 and 3")  # one step: the call runs, then max_steps
            assert first[-1].reason == "max_steps"  # type: ignore[union-attr]
            strip_reasoning(session)
            refused = await events_of(session, "go on")
        status = server.steps_served
    finished = refused[-1]
    assert isinstance(finished, TurnFinished) and finished.reason == "error"
    assert "400" in (finished.message or "") and refusal in (finished.message or "")
    assert status == 1  # the refused request played no step


async def test_a_changed_signature_or_encrypted_content_is_refused() -> None:
    async with ProviderServer([STEPS[0], [Say("Continuing.")]]) as server:
        async with session_for(server, "anthropic", reasoning="low", max_steps=1) as session:
            await events_of(session, "add 2 and 3")
        body = dict(server.requests[0].json)
        thought = next(m for m in session.messages if isinstance(m, AssistantMessage)).reasoning[0]
        assistant = {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": thought.text + " (edited)", "signature": thought.signature},
                {"type": "tool_use", "id": "toolu_script_1", "name": "add", "input": {"a": 2, "b": 3}},
            ],
        }
        result = {"type": "tool_result", "tool_use_id": "toolu_script_1", "content": "5"}
        body["messages"] = [*body["messages"], assistant, {"role": "user", "content": [result]}]
        async with httpx.AsyncClient() as client:
            answer = await client.post(server.base_url("anthropic") + "/messages", json=body)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error == {
        "type": "invalid_request_error",
        "message": "messages.1.content.0: Invalid `signature` in `thinking` block",
    }


async def test_responses_refuses_reasoning_without_encrypted_content_when_not_stored() -> None:
    async with ProviderServer([STEPS[0], [Say("Continuing.")]]) as server:
        async with session_for(server, "openai-responses", reasoning="low", max_steps=1) as session:
            await events_of(session, "add 2 and 3")
        body = dict(server.requests[0].json)
        body["input"] = [*body["input"], {"type": "reasoning", "id": "rs_script_1_0", "summary": []}]
        async with httpx.AsyncClient() as client:
            answer = await client.post(server.base_url("openai-responses") + "/responses", json=body)
            stored = await client.post(
                server.base_url("openai-responses") + "/responses", json={**body, "store": True}
            )
    assert answer.status_code == 400
    assert answer.json()["error"]["message"].startswith("Item with id 'rs_script_1_0' not found.")
    assert stored.status_code == 200  # stored responses are found by id


async def test_a_drop_inside_reasoning_keeps_it_and_the_next_request_leaves_it_out() -> None:
    steps = [[Think(THOUGHT, chunk=1), Say("Never sent.")], [Say("Fresh start.")]]
    async with ProviderServer(steps, faults=[DropConnection(after_bytes=700, requests={0})]) as server:
        async with session_for(server, "anthropic", reasoning="low") as session:
            cut = await events_of(session, "think")
            kept = [m for m in session.messages if isinstance(m, AssistantMessage)]
            again = await events_of(session, "again")
        second = server.requests[1].json
    shown = "".join(e.text for e in cut if isinstance(e, ReasoningDelta))
    assert shown and THOUGHT.startswith(shown) and shown != THOUGHT
    assert isinstance(cut[-1], TurnFinished) and cut[-1].reason == "error"
    (message,) = kept
    assert message.reasoning == [Reasoning(text=shown)] and message.error is not None
    assert message.error.kind == "interrupted"
    (prompts,) = second["messages"]  # the cut thinking stays home: the two prompts make one user message
    assert [block["text"] for block in prompts["content"]] == ["think", "again"]
    assert isinstance(again[-1], TurnFinished) and again[-1].reason == "done"


# --- the demo model -------------------------------------------------------------------------------------


def plus(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@pytest.mark.parametrize("wire", ["anthropic", "openai-responses", "openai-chat", "ollama"])
async def test_the_demo_thinks_aloud_before_it_answers_on_every_wire(wire: Any) -> None:
    model = DemoModel(chars_per_second=1e6, wire=wire, reasoning=True)
    async with Session(model, tools=[plus]) as session:
        events = await events_of(session, "What is 2 + 3?")
    steps = [i for i, e in enumerate(events) if isinstance(e, StepStarted)]
    assert len(steps) == 2
    for start, end in zip(steps, [*steps[1:], len(events)], strict=True):
        step = events[start:end]
        thought = "".join(e.text for e in step if isinstance(e, ReasoningDelta))
        first_thought = next(i for i, e in enumerate(step) if isinstance(e, ReasoningDelta))
        assert first_thought < next(i for i, e in enumerate(step) if isinstance(e, TextDelta))
        assert "`plus`" in thought
    plan = "".join(e.text for e in events[: steps[1]] if isinstance(e, ReasoningDelta))
    assert "2 + 3" in plan and "a=2, b=3" in plan  # about the prompt, and the call it will make
    ready = next(e for e in events if isinstance(e, ToolCallReady))
    assert ready.arguments == {"a": 2, "b": 3}


async def test_the_demo_thinks_only_when_asked() -> None:
    async with Session(DemoModel(chars_per_second=1e6), tools=[plus]) as quiet:
        assert not any(isinstance(e, ReasoningDelta) for e in await events_of(quiet, "What is 2 + 3?"))
    async with Session("demo", tools=[plus], reasoning="low") as asked:
        assert any(isinstance(e, ReasoningDelta) for e in await events_of(asked, "Hello there"))


@pytest.mark.parametrize("provider", ["anthropic", "openai-responses"])
async def test_the_demo_behind_the_server_thinks_when_the_client_asks(provider: str) -> None:
    wire = "anthropic" if provider == "anthropic" else "openai-responses"
    server = ProviderServer(demo_steps(wire, chars_per_second=1e6))
    async with server, session_for(server, provider, reasoning="high") as session:
        events = await events_of(session, "add 2 and 3")
    assert isinstance(events[-1], TurnFinished) and events[-1].reason == "done"
    assert len(server.served) == 2  # both steps thought; the second request carried the first's back
    assert sum(isinstance(e, StepStarted) for e in events) == 2
