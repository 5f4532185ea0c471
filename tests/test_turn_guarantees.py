"""The engine's guarantees, pinned: each call runs at most once with its own arguments, every turn ends with
exactly one ``TurnFinished``, and the history stays one a provider accepts (issue "Trust the engine")."""

from __future__ import annotations

import asyncio
import contextlib
import time
import typing
from typing import Any

import pytest
from helpers import events_of, slow, texts

from nbstream import (
    Call,
    ConfigurationError,
    Event,
    Say,
    ScriptedModel,
    Session,
    TokenLimit,
    ToolCallReady,
    ToolError,
    ToolResult,
    ToolResultMessage,
    ToolRunning,
    TurnFinished,
)
from nbstream._events import CallErrorKind
from nbstream._providers import WIRE_FORMATS, WireFormat, for_wire
from nbstream.testing import ProviderError, ProviderServer

CITIES = ["Tokyo", "Paris", "Lima"]


def weather_tool(ran: list[str]) -> Any:
    async def weather(city: str) -> str:
        """The weather in a city."""
        ran.append(city)
        return f"weather in {city}"

    return weather


def finished(events: list[Event]) -> list[TurnFinished]:
    return [event for event in events if isinstance(event, TurnFinished)]


# --- A. each call runs at most once, with its own arguments --------------------------------------------------


async def test_three_turns_of_id_less_ollama_calls_run_three_times_with_three_cities() -> None:
    """Ollama before 0.12.10 sends no call ids; the made-up ones used to restart at call_0 in every response,
    so "and in Paris?" got Tokyo's result and the tool never ran again."""
    turns = [
        step
        for city in CITIES
        for step in ([Call("weather", {"city": city}, id="")], [Say(f"{city}: fine.")])
    ]
    ran: list[str] = []
    async with ProviderServer(turns) as server:
        session = Session(
            "ollama:llama3.2", base_url=server.base_url("ollama"), tools=[weather_tool(ran)], max_steps=3
        )
        for city in CITIES:
            events = await events_of(session, f"And in {city}?")
            assert [f.reason for f in finished(events)] == ["done"]
        tool_messages = [m for body in server.requests for m in body.json["messages"] if m["role"] == "tool"]
    assert ran == CITIES
    told = list(dict.fromkeys(m["content"] for m in tool_messages))  # later requests repeat the history
    assert told == [f"weather in {city}" for city in CITIES]
    ids = [m.call_id for m in session.messages if isinstance(m, ToolResultMessage)]
    assert len(set(ids)) == 3, f"made-up ids must be unique across the session: {ids}"


@pytest.mark.parametrize("wire", ["openai-chat", "openai-responses", "anthropic", "ollama"])
async def test_a_reused_id_for_another_tool_runs_that_tool(wire: Any) -> None:
    ran: list[str] = []

    def clock() -> str:
        """The time."""
        ran.append("clock")
        return "noon"

    model = ScriptedModel(
        [
            [Call("weather", {"city": "Oslo"}, id="call_1")],
            [Call("clock", {}, id="call_1")],
            [Say("Done.")],
        ],
        wire=wire,
    )
    session = Session(model, tools=[weather_tool(ran), clock])
    events = await events_of(session)
    assert ran == ["Oslo", "clock"]
    assert [e.output for e in events if isinstance(e, ToolResult)] == ["weather in Oslo", "noon"]


async def test_a_true_replay_reuses_the_result_instead_of_running_twice() -> None:
    ran: list[str] = []
    call = Call("weather", {"city": "Oslo"}, id="call_1")
    session = Session(ScriptedModel([[call], [call], [Say("Done.")]]), tools=[weather_tool(ran)])
    events = await events_of(session)
    assert ran == ["Oslo"]
    assert [e.output for e in events if isinstance(e, ToolResult)] == ["weather in Oslo"] * 2


# --- B. every turn ends with exactly one TurnFinished ------------------------------------------------------


@pytest.mark.parametrize("prompt", [None, 42, b"bytes", ["a list"]])
async def test_a_prompt_that_is_not_a_str_is_a_type_error_at_once(prompt: Any) -> None:
    session = Session(ScriptedModel([[Say("Hi.")]]))
    with pytest.raises(TypeError, match="prompt must be a str"):
        session.send(prompt)
    assert [f.reason for f in finished(await events_of(session))] == ["done"], "the session still works"


async def test_cancel_before_the_first_step_still_ends_the_turn_once() -> None:
    """The turn's task exists but has not run a line: cancelling it used to leave the reader waiting."""
    session = Session(ScriptedModel([[Say("never said")], [Say("Hello again.")]]))
    stream = session.send("go")
    reading = asyncio.ensure_future(stream.__anext__())
    while not session.busy:  # the turn is created, not started
        await asyncio.sleep(0)
    await session.cancel()
    first = await asyncio.wait_for(reading, 2)
    assert first == TurnFinished(reason="cancelled", steps=0, message="stopped by the user")
    with pytest.raises(StopAsyncIteration):
        await stream.__anext__()
    assert [f.reason for f in finished(await events_of(session))] == ["done"]


async def test_cancel_at_every_moment_ends_each_turn_with_exactly_one_turn_finished() -> None:
    """Cancel after the k-th event, for every k of a turn with text, a call and a running tool."""
    script = [Say("Let me wait.", chunk=1), Call("slow", {"seconds": 0.05}), Say("Still here.", chunk=1)]
    whole = await events_of(Session(ScriptedModel([script, [Say("Done.")]]), tools=[slow]))
    for k in range(len(whole)):
        session = Session(ScriptedModel([script, [Say("Done.")], [Say("Again.")]]), tools=[slow])
        events: list[Event] = []
        async for event in session.send("go"):
            events.append(event)
            if len(events) == k + 1:
                session.cancel()
        assert len(finished(events)) == 1 and events[-1] is finished(events)[0], k
        assert finished(events)[0].reason in ("cancelled", "done"), k
        assert not session.busy


async def test_breaking_out_of_the_loop_ends_the_turn_and_the_next_send_works() -> None:
    hold = asyncio.Event()

    async def wait_forever() -> str:
        """Wait until released."""
        await hold.wait()
        return "released"

    model = ScriptedModel([[Say("Working."), Call("wait_forever", {})], [Say("Fresh answer.")]])
    session = Session(model, tools=[wait_forever])
    async for event in session.send("first"):
        if isinstance(event, ToolRunning):
            break
    events = await asyncio.wait_for(events_of(session, "second"), 5)
    assert texts(events) == "Fresh answer."
    results = [m for m in session.messages if isinstance(m, ToolResultMessage)]
    assert [r.error for r in results] == ["cancelled"], "the abandoned call still got its result"


async def test_cancel_then_send_works_and_awaiting_cancel_waits_for_the_end() -> None:
    async def nap() -> str:
        """Nap."""
        await asyncio.sleep(10)
        return "rested"

    session = Session(ScriptedModel([[Call("nap", {})], [Say("Second turn.")]]), tools=[nap])
    first = session.send("first")
    async for event in first:
        if isinstance(event, ToolRunning):
            break  # the loop ends, but ``first`` is still referenced: the turn runs on
    assert session.busy
    with pytest.raises(RuntimeError, match="already running"):
        session.send("too soon")
    await session.cancel()
    assert not session.busy
    assert [f.reason for f in finished(await events_of(session, "second"))] == ["done"]


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("max_steps", -1),
        ("max_steps", 0),
        ("max_steps", None),
        ("max_steps", 2.5),
        ("max_steps", "3"),
        ("max_steps", True),
        ("tool_timeout", "5"),
        ("tool_timeout", 0),
        ("tool_timeout", -1.0),
        ("tool_timeout", float("nan")),
        ("tool_timeout", float("inf")),
        ("read_timeout", "60"),
        ("read_timeout", 0),
        ("max_retries", -1),
        ("max_retries", 1.5),
        ("max_frame_size", 0),
    ],
)
def test_options_are_checked_when_the_session_is_built(option: str, value: Any) -> None:
    with pytest.raises(ConfigurationError, match=option):
        Session(ScriptedModel([[Say("Hi.")]]), **{option: value})


def test_good_options_are_accepted() -> None:
    Session(ScriptedModel([]), max_steps=1, tool_timeout=None, read_timeout=None, max_retries=0)
    Session(ScriptedModel([]), tool_timeout=0.5, read_timeout=5, max_frame_size=1024)


# --- C. the history stays valid for the next request --------------------------------------------------------


async def test_a_call_with_broken_json_says_what_the_model_sent_and_is_sent_back_as_an_empty_object() -> None:
    model = ScriptedModel([[Call("weather", '{"city": "Oslo",, }')], [Say("Sorry.")]], wire="openai-chat")
    session = Session(model, tools=[weather_tool([])])
    events = await events_of(session)
    error = next(e for e in events if isinstance(e, ToolError))
    assert error.kind == "invalid_arguments"
    assert '{"city": "Oslo",, }' in error.message and "was not run" in error.message
    second = model.requests[1].messages
    assert any(isinstance(m, ToolResultMessage) and m.error == "invalid_arguments" for m in second)


async def test_a_call_cut_by_the_token_limit_ends_the_turn_instead_of_asking_again() -> None:
    model = ScriptedModel([[Say("Writing."), Call("weather", '{"city": "Os'), TokenLimit()]] * 3)
    session = Session(model, tools=[weather_tool([])])
    events = await events_of(session)
    end = finished(events)[0]
    assert (end.reason, end.steps) == ("max_tokens", 1)
    assert end.message is not None and "max_tokens" in end.message
    assert [e.kind for e in events if isinstance(e, ToolError)] == ["incomplete"]
    assert len(model.requests) == 1


async def test_the_token_limit_message_names_the_providers_own_option() -> None:
    model = ScriptedModel([[Call("weather", '{"city": "Os'), TokenLimit()]], wire="openai-responses")
    end = finished(await events_of(Session(model, tools=[weather_tool([])])))[0]
    assert end.reason == "max_tokens" and "options={'max_output_tokens': ...}" in (end.message or "")


# --- C2. a call that cannot run says why with a typed kind, from a real provider stream ----------------------

_LONG = {"city": "Oslo", "note": "x" * 200}
_STREAMED: list[WireFormat] = ["openai-chat", "openai-responses", "anthropic"]  # arguments in fragments
_KIND_CASES = [
    # (call error kind, the step's actions, faults, its ToolError kind, wires that can send it)
    ("invalid_json", [Call("weather", '{"city": "Oslo",, }')], [], "invalid_arguments", list(WIRE_FORMATS)),
    ("no_name", [Call("", {"city": "Oslo"})], [], "unknown_tool", list(WIRE_FORMATS)),
    # Ollama sends a call whole on its own line: the call is final before the finish, never cut open
    ("truncated", [Call("weather", '{"city": "Os'), TokenLimit()], [], "incomplete", _STREAMED),
    (  # the provider's error event in the middle of the call's arguments
        "incomplete",
        [Call("weather", _LONG, fragment=4)],
        [ProviderError(after_frames=12)],
        "incomplete",
        _STREAMED,
    ),
]


@pytest.mark.parametrize(
    ("wire", "kind", "actions", "faults", "tool_error"),
    [
        pytest.param(wire, kind, actions, faults, tool_error, id=f"{kind}-{wire}")
        for kind, actions, faults, tool_error, wires in _KIND_CASES
        for wire in wires
    ],
)
async def test_every_call_error_kind_comes_from_a_real_stream(
    wire: WireFormat, kind: str, actions: list[Any], faults: list[Any], tool_error: str
) -> None:
    ran: list[str] = []
    async with ProviderServer([actions, [Say("Sorry.")]], faults=faults) as server:
        session = Session(
            f"{for_wire(wire).name}:m",
            base_url=server.base_url(wire),
            api_key="test",
            tools=[weather_tool(ran)],
            max_retries=0,
        )
        events = await events_of(session)
    [ready] = [e for e in events if isinstance(e, ToolCallReady)]
    assert (ready.error_kind, ready.arguments) == (kind, None)
    assert ready.error
    assert [e.kind for e in events if isinstance(e, ToolError)] == [tool_error]
    assert ran == []
    assert len(finished(events)) == 1


assert {case[0] for case in _KIND_CASES} == set(typing.get_args(CallErrorKind)), "every kind has its case"


# --- A10 at the session level: Stop is prompt even when a tool ignores it ------------------------------------


async def test_stop_takes_effect_at_once_when_a_tool_swallows_cancellation() -> None:
    async def stubborn() -> str:
        """Ignores cancellation for a while."""
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(0.05)
        return "late"

    session = Session(ScriptedModel([[Call("stubborn", {})], [Say("never")]]), tools=[stubborn])
    events: list[Event] = []
    stopped_at = 0.0
    async for event in session.send("go"):
        events.append(event)
        if isinstance(event, ToolRunning):
            stopped_at = time.monotonic()
            session.cancel()
    took = time.monotonic() - stopped_at
    assert finished(events)[0].reason == "cancelled"
    assert [e.kind for e in events if isinstance(e, ToolError)] == ["cancelled"]
    assert took < 1.5, f"Stop waited {took:.2f} s for a tool that ignores it (it would run 3 s)"
