"""MCP servers whose tools change (tests/mcp_servers/shifting.py, a real server over stdio): the model's next
step is offered what the server offers now, whether it says so on a listen stream (protocol 2026-07-28) or
unsolicited (the handshake era); a late call to a removed tool is a tool error that says so; a listing that
fails keeps the tools offered; a server started again after a crash is offered as it lists its tools then."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from helpers import events_of
from mcp_servers import log_lines, shifting

from nbstream import ScriptedModel, Session, ToolError, ToolResult
from nbstream.testing import Call, Say

ERAS = {"listen": (), "handshake": ("--handshake",)}
"""How the server tells of a change: the flags that make it do so each way."""


@pytest.mark.parametrize("era", list(ERAS))
async def test_the_next_step_is_offered_the_tools_the_server_offers_now(
    era: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="nbstream")
    log = tmp_path / "log"
    late_calls = [Call("alpha", {"text": "again"}), Call("beta", {}), Call("gauge", {"n": 3, "unit": "kg"})]
    model = ScriptedModel(
        [[Call("alpha", {"text": "hi"})], [*late_calls, Call("gauge", {"n": 4})], [Say("done")]]
    )
    async with Session(model, mcp=[shifting(*ERAS[era], log=log)]) as session:
        events = await events_of(session)
        assert session.mcp.tools_of("shifting") == ["beta", "gauge", "crash"]
    offered = [{spec.name: spec for spec in request.tools} for request in model.requests]
    assert sorted(offered[0]) == ["alpha", "crash", "gauge"]
    assert sorted(offered[1]) == ["beta", "crash", "gauge"]  # the very next step
    assert offered[0]["gauge"].parameters["required"] == ["n"]
    assert offered[1]["gauge"].parameters["required"] == ["n", "unit"]  # a changed schema, sent and checked
    results = [(event.name, event.output) for event in events if isinstance(event, ToolResult)]
    assert results == [
        ("alpha", "alpha: hi"),
        ("beta", "beta here"),
        ("gauge", "3 kg"),
    ]  # alpha's own call ends
    errors = {event.name: (event.kind, event.message) for event in events if isinstance(event, ToolError)}
    assert errors["alpha"] == (
        "unknown_tool",
        "alpha is no longer available: MCP server 'shifting' no longer offers it (its tools changed)",
    )
    assert errors["gauge"][0] == "invalid_arguments" and "'unit' is a required property" in errors["gauge"][1]
    assert [line for line in log_lines(log) if line.startswith("call ")] == [
        "call alpha",
        "call beta",
        "call gauge",
    ]
    assert "MCP server 'shifting' changed its tools: new ['beta'], removed ['alpha'], changed ['gauge']" in (
        caplog.text
    )


async def test_a_listing_that_fails_keeps_the_tools_offered(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log = tmp_path / "log"
    async with Session(ScriptedModel([]), mcp=[shifting("--handshake", "--fail-relist", log=log)]) as session:
        alpha, gauge = session.tools.get("alpha"), session.tools.get("gauge")
        assert alpha is not None and gauge is not None
        assert (await alpha.run({"text": "hi"}, timeout=10)).text == "alpha: hi"
        assert "MCP server 'shifting' said its tools changed, but listing them failed" in caplog.text
        assert "the tool catalogue is being rebuilt" in caplog.text
        assert sorted(session.tools.names) == ["alpha", "crash", "gauge"]
        assert session.mcp.connection("shifting").state == "running"
        assert (await gauge.run({"n": 2}, timeout=10)).text == "2 units"  # the connection lives on
    assert log_lines(log).count("listed beta,gauge,crash") == 1


async def test_a_new_tool_whose_name_is_taken_gets_the_servers_prefix(tmp_path: Path) -> None:
    def beta() -> str:
        """A Python tool the server's new tool must not hide."""
        return "python beta"

    async with Session(
        ScriptedModel([]), tools=[beta], mcp=[shifting("--handshake", log=tmp_path / "log")]
    ) as session:
        alpha = session.tools.get("alpha")
        assert alpha is not None
        await alpha.run({"text": "hi"}, timeout=10)
        assert session.mcp.tools_of("shifting") == ["shifting_beta", "gauge", "crash"]
        assert session.tools.get("beta").function is beta  # type: ignore[union-attr]
        prefixed = session.tools.get("shifting_beta")
        assert prefixed is not None and (await prefixed.run({}, timeout=10)).text == "beta here"


async def test_a_server_started_again_after_a_crash_is_offered_as_it_lists_its_tools(tmp_path: Path) -> None:
    log = tmp_path / "log"
    async with Session(ScriptedModel([]), mcp=[shifting("--handshake", log=log)]) as session:
        connection = session.mcp.connection("shifting")
        alpha, crash = session.tools.get("alpha"), session.tools.get("crash")
        assert alpha is not None and crash is not None
        await alpha.run({"text": "hi"}, timeout=10)
        assert sorted(session.tools.names) == ["beta", "crash", "gauge"]
        with pytest.raises(Exception, match="stopped during the call"):
            await crash.run({}, timeout=10)
        assert connection.state == "down"
        gauge = session.tools.get("gauge")
        assert gauge is not None and (await gauge.run({"n": 1, "unit": "kg"}, timeout=10)).text == "1 kg"
        assert connection.starts == 2
        assert sorted(session.tools.names) == ["alpha", "crash", "gauge"]  # a new process: the swap is undone
        assert session.tools.get("gauge").spec.parameters["required"] == ["n"]  # type: ignore[union-attr]
