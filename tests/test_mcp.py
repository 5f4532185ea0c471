"""MCP tools next to Python functions, against real MCP servers (tests/mcp_servers/toolbox.py) over stdio and
Streamable HTTP: listing, schemas, validation, results of every content type, progress, concurrency, approval,
Stop and timeouts (the server sees the cancellation), name collisions, and a turn end to end through a
provider's wire."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import events_of
from mcp_servers import TRANSPORTS, Reach, eventually, served, toolbox

from nbstream import (
    ConfigurationError,
    MCPServer,
    ScriptedModel,
    Session,
    ToolAwaitingApproval,
    ToolError,
    ToolProgress,
    ToolResult,
    ToolResultMessage,
    ToolRunning,
    TurnFinished,
)
from nbstream._mcp._tool import MCPTool
from nbstream._providers import WireFormat, for_wire
from nbstream.testing import Call, ProviderServer, Say, request_from_json


@pytest.fixture(params=TRANSPORTS)
def reach(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Reach]:
    """The toolbox over each transport: a test that takes ``reach`` runs once per transport."""
    with served(request.param, tmp_path) as way:
        yield way


def scripted(*steps: list[Any]) -> ScriptedModel:
    return ScriptedModel([*steps, [Say("done")]])


def of(events: list[Any], kind: type) -> list[Any]:
    return [event for event in events if isinstance(event, kind)]


async def cancelled_in_server(reach: Reach, tool: str) -> None:
    """The server saw the call cancelled: over stdio by a ``notifications/cancelled`` message; over Streamable
    HTTP (protocol 2026-07-28, which has no such message there) by the client closing the call's stream."""
    await eventually(lambda: f"cancelled {tool}" in reach.lines())
    if reach.transport == "stdio":
        await eventually(lambda: "notified notifications/cancelled" in reach.lines())


async def test_listing_sends_each_server_schema_and_leaves_out_the_ones_it_cannot_check(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with Session(ScriptedModel([]), mcp=[toolbox("--bad-schemas", log=tmp_path / "log")]) as session:
        names = session.tools.names
        assert {"echo", "add", "picture", "slow", "hang", "notes_read"} <= set(names)
        assert not {"broken", "misshapen"} & set(names)
        skipped = session.mcp.skipped("toolbox")
        assert "'nonsense' is not valid" in skipped["broken"]
        assert "required: 'x' is not of type 'array'" in skipped["misshapen"]
        assert (
            "tool 'broken' is left out" in caplog.text
        )  # said where a notebook shows it, not dropped silently
        add = session.tools.get("add")
        assert isinstance(add, MCPTool) and add.remote == "add" and add.server == "toolbox"
        assert add.spec.parameters == {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
        }
        assert add.spec.description == "Add two integers."
        notes = session.tools.get(
            "notes_read"
        )  # "notes.read" is no name a provider takes: mended, still called
        assert notes is not None and notes.spec.parameters == {"type": "object", "properties": {}}
        assert (await notes.run({}, timeout=5)).text == "the notes"


async def test_every_content_type_becomes_text_images_or_a_note(reach: Reach) -> None:
    session = Session(ScriptedModel([]), mcp=[reach.server()])
    async with session:
        tools = session.tools

        async def run(name: str, **arguments: Any) -> Any:
            tool = tools.get(name)
            assert tool is not None
            return await tool.run(tool.validate(arguments), timeout=10)

        assert (await run("echo", text="héllo")).text == "héllo"
        assert json.loads((await run("add", a=2, b=3)).text) == {"sum": 5}  # said once, not twice
        assert json.loads((await run("stats", values=[1, 2.5])).text) == {"count": 2, "total": 3.5}
        picture = await run("picture")
        assert picture.text == "a red square"
        assert [(i.media_type, i.width, i.height) for i in picture.images] == [("image/png", 2, 2)]
        odd = (await run("odd_content")).text.splitlines()
        assert odd[0].startswith("[audio/wav audio from the tool, not shown")
        assert odd[1].startswith("[an image (image/svg+xml) from the tool, not shown: not a PNG")
        assert odd[2] == "[resource report at file:///tmp/report.txt]"
        assert odd[3] == "memo text"
        odd_names = {"self": "1", "class": "2", "from": "3", "my-arg": "4"}
        assert json.loads((await run("keywords", **odd_names)).text) == odd_names
    assert reach.lines().count("call echo") == 1


async def test_arguments_are_checked_against_the_schema_before_anything_is_sent(reach: Reach) -> None:
    model = scripted([Call("add", {"a": 1, "b": "two"}), Call("slow", {"steps": 0}), Call("add", {"a": 1})])
    async with Session(model, mcp=[reach.server()]) as session:
        events = await events_of(session)
    errors = {error.message for error in of(events, ToolError)}
    assert {error.kind for error in of(events, ToolError)} == {"invalid_arguments"}
    assert "invalid arguments for add: b: 'two' is not of type 'integer'" in errors
    assert "invalid arguments for slow: steps: 0 is less than the minimum of 1" in errors
    assert "invalid arguments for add: 'b' is a required property" in errors
    assert not [line for line in reach.lines() if line.startswith("call")]  # the server never saw them


async def test_a_turn_calls_mcp_tools_through_each_providers_wire(wire: WireFormat, tmp_path: Path) -> None:
    steps = [[Say("Adding."), Call("add", {"a": 20, "b": 22}), Call("picture", {})], [Say("It is 42.")]]
    with ProviderServer(steps) as server:
        model = f"{for_wire(wire).name}:m"
        session = Session(
            model, api_key="test", base_url=server.base_url(wire), mcp=[toolbox(log=tmp_path / "l")]
        )
        async with session:
            events = await events_of(session, "What is 20 + 22?")
        first, second = (request.json for request in server.requests)
    assert of(events, TurnFinished)[0].reason == "done"
    results = {result.name: result for result in of(events, ToolResult)}
    assert results["add"].output == '{"sum": 42}'
    assert results["picture"].output == "a red square" and len(results["picture"].images) == 1
    offered = {spec.name: spec for spec in request_from_json(wire, first).tools}
    assert {"add", "echo", "slow", "hang", "picture"} <= set(offered)
    assert offered["slow"].parameters["properties"]["steps"] == {
        "type": "integer",
        "minimum": 1,
    }  # the server's
    answered = [m for m in request_from_json(wire, second).messages if isinstance(m, ToolResultMessage)]
    assert [(m.name, m.content) for m in answered][0] == ("add", '{"sum": 42}')


async def test_progress_notifications_arrive_live_as_tool_progress(reach: Reach) -> None:
    model = scripted([Call("slow", {"steps": 4, "delay": 0.15})])
    async with Session(model, mcp=[reach.server()]) as session:
        events = await events_of(session)
    progress = of(events, ToolProgress)
    assert len(progress) >= 3  # one per step at ~0.15 s, throttled to at most one per Progress.INTERVAL
    fractions = [update.fraction for update in progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert progress[-1].message == "step 4 of 4"
    kinds = [type(event) for event in events]
    assert kinds.index(ToolRunning) < kinds.index(ToolProgress) and events.index(progress[-1]) < kinds.index(
        ToolResult
    )


async def test_calls_of_one_response_run_at_the_same_time(reach: Reach) -> None:
    """Each gate call returns only once both are in the server at once: serial calls would fail."""
    model = scripted([Call("gate", {"n": 2}), Call("gate", {"n": 2})])
    async with Session(model, mcp=[reach.server()]) as session:
        events = await events_of(session)
    assert [result.output for result in of(events, ToolResult)] == ["2 calls met", "2 calls met"]


async def test_confirm_per_server_or_per_tool_waits_for_the_user(tmp_path: Path) -> None:
    log = tmp_path / "log"
    model = scripted([Call("echo", {"text": "secret plan"}), Call("add", {"a": 1, "b": 1})])
    every = toolbox(log=log, name="every", prefix=True, confirm=True)
    async with Session(model, mcp=[toolbox(log=log, confirm={"echo"}), every]) as session:
        confirmed = {name for name in session.tools.names if session.tools.get(name).confirm}  # type: ignore[union-attr]
        assert confirmed == {"echo", *session.mcp.tools_of("every")}
        events = []
        async for event in session.send("go"):
            events.append(event)
            if isinstance(event, ToolAwaitingApproval):
                session.deny(event.id)
    assert [(e.name, e.kind) for e in of(events, ToolError)] == [("echo", "denied")]
    assert [r.name for r in of(events, ToolResult)] == ["add"]
    assert "call echo" not in log.read_text()


async def test_stop_mid_call_cancels_it_on_the_server_which_keeps_running(reach: Reach) -> None:
    model = scripted([Call("hang", {})], [Call("pid", {})])
    async with Session(model, mcp=[reach.server()]) as session:
        events = []
        async for event in session.send("go"):
            events.append(event)
            if isinstance(event, ToolRunning):
                await asyncio.sleep(0.2)  # the call is in the server
                session.cancel()
        assert of(events, TurnFinished)[0].reason == "cancelled"
        assert [(e.name, e.kind) for e in of(events, ToolError)] == [("hang", "cancelled")]
        await cancelled_in_server(reach, "hang")
        connection = session.mcp.connection("toolbox")
        assert connection.state == "running" and connection.starts == 1
        later = await events_of(session)
        assert of(later, ToolResult)[0].output.isdigit()


async def test_a_timeout_cancels_the_call_on_the_server(reach: Reach) -> None:
    model = scripted([Call("hang", {})])
    async with Session(model, mcp=[reach.server(timeout=0.5)]) as session:
        events = await events_of(session)
    [error] = of(events, ToolError)
    assert (error.kind, error.message) == ("timeout", "hang timed out after 0.5 s")
    await cancelled_in_server(reach, "hang")


async def test_a_tool_error_goes_back_to_the_model_as_an_error_result(reach: Reach) -> None:
    model = scripted([Call("fail", {"message": "the disk is full"})])
    async with Session(model, mcp=[reach.server()]) as session:
        events = await events_of(session)
        [error] = of(events, ToolError)
        assert (error.kind, error.message) == ("exception", "the disk is full")
        sent = model.requests[1].messages[-1]
        assert sent.error == "exception" and sent.content == "the disk is full"  # type: ignore[union-attr]


async def test_names_that_collide_get_the_servers_prefix_and_both_tools_stay(tmp_path: Path) -> None:
    def echo(text: str) -> str:
        """A Python echo."""
        return f"python: {text}"

    log = tmp_path / "log"
    first, second = toolbox(log=log, name="first"), toolbox(log=log, name="second", prefix=True)
    async with Session(ScriptedModel([]), tools=[echo], mcp=[first, second]) as session:
        names = session.tools.names
        assert {"echo", "first_echo", "second_echo"} <= set(names)  # the Python tool keeps its name
        assert "add" in names and "first_add" not in names  # no collision: its own name
        assert "second_add" in names  # prefix=True: every tool of that server
        assert session.tools.get("echo").function is echo  # type: ignore[union-attr]
        pids = [(await session.tools.get(name).run({}, timeout=5)).text for name in ("pid", "second_pid")]  # type: ignore[union-attr]
        assert len(set(pids)) == 2  # two servers, each reached under its own names
        with pytest.raises(ConfigurationError, match="'first_echo'"):
            session.tool(echo, name="first_echo")  # a Python tool never hides an MCP tool either

    def first_echo(text: str) -> str:
        """Takes the name the prefix would give."""
        return text

    async with Session(ScriptedModel([]), tools=[echo, first_echo]) as session:
        with pytest.raises(ConfigurationError, match="cannot be named 'echo' or 'first_echo'"):
            await session.add_mcp(toolbox(log=log, name="first"))
        assert session.mcp.names == [] and session.tools.names == ["echo", "first_echo"]


async def test_a_server_added_again_replaces_the_running_one(tmp_path: Path) -> None:
    log = tmp_path / "log"
    async with Session(ScriptedModel([])) as session:
        tools = await session.add_mcp(toolbox(log=log))
        first = session.mcp.connection("toolbox")
        again = await session.add_mcp(toolbox(log=log, tools=["echo", "pid"]))
        assert [tool.name for tool in again] == ["echo", "pid"] and len(tools) > 2
        assert first.state == "closed" and session.mcp.connection("toolbox") is not first
        assert sorted(session.tools.names) == ["echo", "pid"]
        with pytest.raises(Exception, match="has no tool nope"):
            await session.add_mcp(toolbox(log=log, name="other", tools=["nope"]))


def test_the_server_description_checks_its_options_and_hides_secrets() -> None:
    server = MCPServer(["python", "-m", "notes.server"], env={"NOTES_KEY": "sk-env-secret"})
    assert server.name == "notes_server"
    assert (
        repr(server)
        == "MCPServer('notes_server', command=['python', '-m', 'notes.server'], env=['NOTES_KEY'])"
    )
    remote = MCPServer(
        url="https://user:pw@example.com/tools/mcp?key=q-secret", headers={"X-Key": "h-secret"}
    )
    assert remote.name == "tools" and remote.where == "https://example.com/tools/mcp"
    assert "secret" not in repr(remote) and "pw" not in repr(remote) and "X-Key" in repr(remote)
    for bad in (
        lambda: MCPServer(),
        lambda: MCPServer(["x"], url="http://h"),
        lambda: MCPServer(url="ftp://h"),
        lambda: MCPServer(["x"], headers={"A": "b"}),
        lambda: MCPServer(url="http://h", env={"A": "b"}),
        lambda: MCPServer(["x"], timeout=0),
        lambda: MCPServer(["x"], confirm="echo"),
        lambda: MCPServer([]),
        lambda: MCPServer(["x"], env={"A": 1}),  # type: ignore[dict-item]
    ):
        with pytest.raises(ConfigurationError):
            bad()
    with pytest.raises(ConfigurationError, match="two MCP servers are named 'a'"):
        Session(ScriptedModel([]), mcp=[MCPServer(["x"], name="a"), MCPServer(["y"], name="a")])


async def test_without_the_sdk_adding_a_server_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mcp.client.client", None)
    async with Session(ScriptedModel([])) as session:
        with pytest.raises(ConfigurationError, match=r'pip install "nbstream\[mcp\]"'):
            await session.add_mcp(MCPServer(["python", "server.py"]))


async def test_secrets_stay_out_of_reprs_errors_and_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: nbstream's, the SDK's, httpx's
    env_secret = "env-FAKE-secret-99c1"
    with served("http", tmp_path) as http:
        assert http.http is not None
        stdio = toolbox(log=tmp_path / "s", env={"API_KEY": env_secret})
        session = Session(scripted([Call("echo", {"text": "hi"})]), mcp=[http.server(name="remote"), stdio])
        async with session:
            events = await events_of(session)
            shown = [repr(session), repr(session.mcp), repr(http.server()), repr(stdio), str(session.tools)]
            shown += [repr(session.mcp.connection(name)) for name in ("remote", "toolbox")]
        with pytest.raises(Exception) as refused:
            async with Session(ScriptedModel([]), mcp=[http.http.server(token="wrong-FAKE-token")]):
                pass
    assert of(events, TurnFinished)[0].reason == "done"
    assert f"auth Bearer {http.http.token}" in http.lines()  # the token was really sent
    assert "HTTP 401" in str(refused.value) and "wrong-FAKE-token" not in str(refused.value)
    everything = "\n".join([*shown, caplog.text, json.dumps([e.model_dump() for e in events], default=str)])
    for secret in (http.http.token, env_secret, "wrong-FAKE-token"):
        assert secret not in everything


async def test_the_example_server_converts_reports_progress_and_draws(tmp_path: Path) -> None:
    example = Path(__file__).parents[1] / "examples" / "mcp_server.py"
    model = scripted(
        [
            Call("convert", {"value": 1, "from_unit": "mi", "to_unit": "km"}),
            Call("convert", {"value": 1, "from_unit": "kg", "to_unit": "km"}),
            Call("survey", {"samples": 3, "seconds_each": 0.15}),
            Call("chart", {"values": [3, -1, 4], "title": "Demo"}),
        ]
    )
    async with Session(model, mcp=[MCPServer([sys.executable, str(example)], name="units")]) as session:
        assert session.tools.names == ["convert", "survey", "chart"]
        events = await events_of(session)
    results = {result.name: result for result in of(events, ToolResult)}
    assert json.loads(results["convert"].output) == {"value": 1.609344, "unit": "km"}
    [error] = of(events, ToolError)
    assert error.message.endswith("cannot convert a mass (kg) to a length (km)")
    assert json.loads(results["survey"].output)["samples"] == 3
    assert [update.fraction for update in of(events, ToolProgress)][-1] == 1.0
    assert results["chart"].output == "Demo: 3 bars, from -1 to 4"
    assert [(image.width, image.height) for image in results["chart"].images] == [(320, 160)]
