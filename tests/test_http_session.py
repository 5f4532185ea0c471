"""Sessions against real loopback HTTP, one provider at a time: the tool loop, the bodies sent, keys, replays,
cancellation and stalls."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any

import pytest
from helpers import events_of, texts

from nbstream import (
    EVENTS,
    MESSAGES,
    AssistantMessage,
    Event,
    MissingAPIKeyError,
    Session,
    StreamError,
    Tool,
    ToolError,
    ToolResult,
    ToolResultMessage,
    ToolRunning,
    TurnFinished,
)
from nbstream._encode import Action, encode_step
from nbstream._providers import WireFormat, for_wire
from nbstream.testing import (
    Call,
    HttpStatus,
    ProviderServer,
    Say,
    Stall,
    request_from_json,
)

PROMPT = "What is the weather in Paris and Oslo?"
PARIS = {"city": "Paris", "days": 2}
OSLO = {"city": "Oslo", "days": 1}
PARIS_OUT = "Paris: sunny for 2 days"
OSLO_OUT = "Oslo: sunny for 1 days"
SECRET = "sk-nbstream-SECRET-0123456789"


def counting_lookup(invocations: list[dict[str, Any]], *, hold: float = 0.0) -> Tool:
    async def lookup(city: str, days: int) -> str:
        """Look up the weather in a city for some days."""
        invocations.append({"city": city, "days": days})
        await asyncio.sleep(hold)
        return f"{city}: sunny for {days} days"

    return Tool.from_function(lookup)


def session_for(server: ProviderServer, wire: WireFormat, **options: Any) -> Session:
    options.setdefault("api_key", "test")
    return Session(model=f"{for_wire(wire).name}:m", base_url=server.base_url(wire), **options)


# --- the two-step tool loop and the bodies each provider receives -------------------------------------------


def expected_history(wire: WireFormat) -> tuple[str, list[dict[str, Any]]]:
    """The second request's conversation, in the shape each provider's API documents."""
    first, second = for_wire(wire).encoder.call_id(1), for_wire(wire).encoder.call_id(2)
    said = "Checking both cities."
    paris_raw, oslo_raw = Call("lookup", PARIS).raw_arguments, Call("lookup", OSLO).raw_arguments
    if wire == "openai-chat":
        return "messages", [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": PROMPT},
            {
                "role": "assistant",
                "content": said,
                "tool_calls": [
                    {"id": first, "type": "function", "function": {"name": "lookup", "arguments": paris_raw}},
                    {"id": second, "type": "function", "function": {"name": "lookup", "arguments": oslo_raw}},
                ],
            },
            {"role": "tool", "tool_call_id": first, "content": PARIS_OUT},
            {"role": "tool", "tool_call_id": second, "content": OSLO_OUT},
        ]
    if wire == "anthropic":
        return "messages", [
            {"role": "user", "content": [{"type": "text", "text": PROMPT}]},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": said},
                    {"type": "tool_use", "id": first, "name": "lookup", "input": PARIS},
                    {"type": "tool_use", "id": second, "name": "lookup", "input": OSLO},
                ],
            },
            {
                "role": "user",  # both results in one user message, as Anthropic requires
                "content": [
                    {"type": "tool_result", "tool_use_id": first, "content": PARIS_OUT},
                    {"type": "tool_result", "tool_use_id": second, "content": OSLO_OUT},
                ],
            },
        ]
    if wire == "openai-responses":
        return "input", [
            {"role": "user", "content": PROMPT},
            {"role": "assistant", "content": said},
            {"type": "function_call", "call_id": first, "name": "lookup", "arguments": paris_raw},
            {"type": "function_call", "call_id": second, "name": "lookup", "arguments": oslo_raw},
            {"type": "function_call_output", "call_id": first, "output": PARIS_OUT},
            {"type": "function_call_output", "call_id": second, "output": OSLO_OUT},
        ]
    return "messages", [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": PROMPT},
        {
            "role": "assistant",
            "content": said,
            "tool_calls": [
                {"function": {"name": "lookup", "arguments": PARIS}},
                {"function": {"name": "lookup", "arguments": OSLO}},
            ],
        },
        {"role": "tool", "tool_name": "lookup", "content": PARIS_OUT},
        {"role": "tool", "tool_name": "lookup", "content": OSLO_OUT},
    ]


def tool_names(wire: WireFormat, body: dict[str, Any]) -> list[str]:
    tools = body["tools"]
    if wire in ("openai-chat", "ollama"):
        return [t["function"]["name"] for t in tools if t["type"] == "function"]
    return [t["name"] for t in tools]


async def test_the_two_step_tool_loop_sends_each_providers_history_shape(wire: WireFormat) -> None:
    invocations: list[dict[str, Any]] = []
    steps: list[list[Action]] = [
        [Say("Checking both cities."), Call("lookup", PARIS), Call("lookup", OSLO)],
        [Say("Paris and Oslo are sunny.")],
    ]
    async with ProviderServer(steps, seed=len(wire)) as server:
        session = session_for(server, wire, tools=[counting_lookup(invocations)], system="Be brief.")
        events = await events_of(session, PROMPT)
        await session.aclose()
    finished = events[-1]
    assert isinstance(finished, TurnFinished) and (finished.reason, finished.steps) == ("done", 2)
    assert sorted(invocations, key=str) == sorted([PARIS, OSLO], key=str)
    assert texts(events) == "Checking both cities.Paris and Oslo are sunny."
    first, second = (request.json for request in server.requests)
    key, history = expected_history(wire)
    assert first[key] == history[: 2 if wire in ("openai-chat", "ollama") else 1]
    assert second[key] == history
    assert first["stream"] is True and first["model"] == "m"
    assert tool_names(wire, first) == ["lookup"] == tool_names(wire, second)
    if wire == "anthropic":
        assert first["system"] == "Be brief."
    if wire == "openai-responses":
        assert first["instructions"] == "Be brief."
    assert server.requests[0].path == server.requests[1].path


# --- keys ---------------------------------------------------------------------------------------------------


async def test_the_key_is_sent_but_never_shown(wire: WireFormat, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    steps: list[list[Action]] = [[Say("One moment."), Call("lookup", PARIS)], [Say("Sunny.")]]
    async with ProviderServer(steps, faults=[HttpStatus(401, requests={2})]) as server:
        session = session_for(server, wire, api_key=SECRET, tools=[counting_lookup([])])
        events = await events_of(session, PROMPT)
        events += await events_of(session, "and tomorrow?")  # answered with 401
        shown = [repr(session), repr(session.model), repr(server)]
        await session.aclose()
    assert isinstance(events[-1], TurnFinished) and events[-1].reason == "error"
    assert "401" in (events[-1].message or "")
    for request in server.requests:
        if wire == "anthropic":
            assert request.headers["x-api-key"] == SECRET
        else:
            assert request.headers["authorization"] == f"Bearer {SECRET}"
    assert len(server.requests) == 3
    for place in (EVENTS.dump_json(events).decode(), MESSAGES.dump_json(session.messages).decode(), *shown):
        assert SECRET not in place
    assert SECRET not in caplog.text
    assert "sk-nbstream" not in caplog.text


async def test_credentials_in_the_base_url_stay_out_of_messages(wire: WireFormat) -> None:
    async with ProviderServer([], faults=[HttpStatus(404)]) as server:
        base = server.base_url(wire).replace("http://", "http://someone:pw-SECRET@")
        session = Session(model=f"{for_wire(wire).name}:m", base_url=base, api_key="test")
        events = await events_of(session, PROMPT)
        await session.aclose()
    finished = events[-1]
    assert isinstance(finished, TurnFinished) and finished.reason == "error"
    assert "404" in (finished.message or "") and server.url in (finished.message or "")
    assert "pw-SECRET" not in EVENTS.dump_json(events).decode()
    assert "pw-SECRET" not in repr(session) + repr(session.model)


@pytest.mark.parametrize(
    ("provider", "variable"),
    [
        ("openai", "OPENAI_API_KEY"),
        ("openai-responses", "OPENAI_API_KEY"),
        ("anthropic", "ANTHROPIC_API_KEY"),
    ],
)
@pytest.mark.usefixtures("no_keys")
def test_a_missing_key_fails_when_the_session_is_made(provider: str, variable: str) -> None:
    with pytest.raises(MissingAPIKeyError) as raised:
        Session(model=f"{provider}:m")  # the provider's own endpoint: nothing is sent without a key
    assert raised.value.variable == variable and variable in str(raised.value)


@pytest.mark.usefixtures("no_keys")
async def test_without_a_key_a_local_server_gets_no_auth_header(wire: WireFormat) -> None:
    async with ProviderServer([[Say("Hello from a local server.")]]) as server:
        session = session_for(server, wire, api_key=None)
        events = await events_of(session, PROMPT)
        await session.aclose()
    assert texts(events) == "Hello from a local server."
    (request,) = server.requests
    assert "authorization" not in request.headers and "x-api-key" not in request.headers


# --- idempotency --------------------------------------------------------------------------------------------


async def test_a_replayed_call_id_runs_once_and_the_result_is_reused(wire: WireFormat) -> None:
    invocations: list[dict[str, Any]] = []
    replayed = Call("lookup", PARIS, id=for_wire(wire).encoder.call_id(1))
    steps: list[list[Action]] = [
        [Say("Looking."), replayed],
        [Say("Looking again."), replayed],
        [Say("Sunny.")],
    ]
    async with ProviderServer(steps, seed=3) as server:
        session = session_for(server, wire, tools=[counting_lookup(invocations)])
        events = await events_of(session, PROMPT)
        await session.aclose()
    assert isinstance(events[-1], TurnFinished) and (events[-1].reason, events[-1].steps) == ("done", 3)
    assert invocations == [PARIS]
    assert [e.id for e in events if isinstance(e, ToolRunning)] == [replayed.id]
    results = [(e.id, e.output) for e in events if isinstance(e, ToolResult)]
    assert results == [(replayed.id, PARIS_OUT), (replayed.id, PARIS_OUT)]
    last_request = request_from_json(wire, server.requests[2].json)
    sent_back = [m.content for m in last_request.messages if isinstance(m, ToolResultMessage)]
    assert sent_back == [PARIS_OUT, PARIS_OUT]


# --- cancel -------------------------------------------------------------------------------------------------


class HangingServer:
    """Bare HTTP/1.1 on 127.0.0.1: answers any POST with a 200 head and ``frames``, then waits for the client
    to close the connection, and notes when it did. Runs on the test's own loop."""

    def __init__(self, frames: list[bytes]) -> None:
        self.frames = frames
        self.client_gone = asyncio.Event()
        self.handlers: list[asyncio.Task[Any]] = []
        self.url = ""
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> HangingServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.handlers.append(task)
        head = await reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"content-length:\s*(\d+)", head, re.IGNORECASE)
        await reader.readexactly(int(length.group(1)) if length else 0)
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        )
        for frame in self.frames:
            writer.write(b"%x\r\n%s\r\n" % (len(frame), frame))
        await writer.drain()
        while await reader.read(65536):
            pass
        self.client_gone.set()
        writer.close()


async def test_cancel_mid_stream_closes_the_connection_and_leaves_no_task(wire: WireFormat) -> None:
    script: list[Action] = [Say("Let me look."), Call("lookup", PARIS), Say("Still going")]
    frames = [frame.data for frame in encode_step(for_wire(wire).encoder, script, model="m")]
    last = next(i for i, data in enumerate(frames) if b'"Still going"' in data)
    invocations: list[dict[str, Any]] = []
    eager = for_wire(wire).eager_calls  # openai-chat ends a call only at finish_reason, which never comes
    async with HangingServer(frames[: last + 1]) as server:
        session = Session(
            model=f"{for_wire(wire).name}:m",
            base_url=server.url + for_wire(wire).base_path,
            api_key="test",
            tools=[counting_lookup(invocations, hold=30.0)],
        )
        events: list[Event] = []
        cancelled_at = 0.0
        async for event in session.send(PROMPT):
            events.append(event)
            running = any(isinstance(e, ToolRunning) for e in events) or not eager
            if not cancelled_at and running and texts(events).endswith("Still going"):
                cancelled_at = time.monotonic()
                session.cancel()
        await asyncio.wait_for(server.client_gone.wait(), 3.0)
        gone_after = time.monotonic() - cancelled_at
        await asyncio.wait(server.handlers, timeout=2.0)
        assert not session.busy
        await session.aclose()
    assert cancelled_at and gone_after < 2.0
    finished = events[-1]
    assert isinstance(finished, TurnFinished) and finished.reason == "cancelled"
    assert [m.text for m in session.messages if isinstance(m, AssistantMessage)] == [
        "Let me look.Still going"
    ]
    tool_errors = [e.kind for e in events if isinstance(e, ToolError)]
    assert tool_errors == (["cancelled"] if eager else [])
    assert invocations == ([PARIS] if eager else [])
    leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    assert leftover == []


# --- stalls -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("read_timeout", [0.3, 0.9])
async def test_a_stall_ends_as_stalled_after_the_read_timeout(read_timeout: float) -> None:
    step: list[Action] = [Say("Let me look that up."), Call("lookup", PARIS), Say("More text.")]
    async with ProviderServer([step], faults=[Stall(after_frames=4, seconds=None)]) as server:
        session = session_for(server, "anthropic", read_timeout=read_timeout, tools=[counting_lookup([])])
        started = time.monotonic()
        events = await events_of(session, PROMPT)
        elapsed = time.monotonic() - started
        await session.aclose()
    errors = [e for e in events if isinstance(e, StreamError)]
    assert [(e.kind, e.provider) for e in errors] == [("stalled", "anthropic")]
    assert f"{read_timeout:g} s" in errors[0].message
    assert read_timeout * 0.9 <= elapsed < read_timeout + 1.0
    assert texts(events) == "Let me look"  # what arrived before the stall is kept
    finished = events[-1]
    assert isinstance(finished, TurnFinished) and finished.reason == "error"
    assert len(server.requests) == 1  # output had begun: no retry
