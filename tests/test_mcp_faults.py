"""The MCP fault table: one row per way an MCP server can fail, run over stdio and Streamable HTTP where both
apply, each ending as declared. Every row also checks that no server process outlives the session.

A call fault ends that call with the declared ``ToolError`` (the turn goes on and ends ``done``, or
``cancelled`` for Stop); a start fault ends the turn with ``error`` and a message that says why. ``noted`` is
what the server itself must have seen (a cancellation reaching it), ``recovers`` whether the next call works
(a crashed stdio server is started again; a crashed HTTP server is gone).
"""

from __future__ import annotations

import asyncio
import re
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from mcp_servers import TRANSPORTS, Reach, Transport, eventually, gone_within, served, toolbox

from nbstream import (
    MCPServer,
    ScriptedModel,
    Session,
    ToolError,
    ToolResult,
    ToolRunning,
    TurnFinished,
)
from nbstream._events import ToolErrorKind, TurnReason
from nbstream.testing import Call, Say


@dataclass(frozen=True)
class Expected:
    reason: TurnReason
    """How the turn ends."""
    says: str
    """A pattern the call's error (or, without a call, the turn's message) must match."""
    error: ToolErrorKind | None = None
    """The call's error kind; ``None`` for a fault before any call."""
    noted: str | None = None
    """A line the server must have noted: its side of the fault."""
    recovers: bool = False
    """The next call (echo) works."""


@dataclass(frozen=True)
class Fault:
    name: str
    transports: tuple[Transport, ...]
    expect: Expected
    call: tuple[str, dict[str, Any]] | None = None
    """What the model calls; ``None``: the server fails before the first call."""
    flags: tuple[str, ...] = ()
    """The toolbox's own options (how it misbehaves)."""
    options: dict[str, Any] = field(default_factory=dict)
    """``MCPServer`` options."""
    stop_after: float | None = None
    """Seconds after the call starts running that the user presses Stop."""
    server: Callable[[Reach], MCPServer] | None = None
    """A server other than the toolbox (a command that does not exist, a port nobody listens on)."""


NOTED_WITHIN = 10.0
"""Seconds a server has to note its side of a fault (a cancellation arriving)."""


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/mcp"


MCP_FAULTS = [
    Fault(
        "tool error (isError)",
        TRANSPORTS,
        Expected("done", "^quota exceeded$", error="exception", recovers=True),
        call=("fail", {"message": "quota exceeded"}),
    ),
    Fault(
        "invalid arguments",
        TRANSPORTS,
        Expected("done", "a: 'x' is not of type 'integer'", error="invalid_arguments", recovers=True),
        call=("add", {"a": "x", "b": 1}),
    ),
    Fault(
        "call past its timeout",
        TRANSPORTS,
        Expected(
            "done", "hang timed out after 0.5 s", error="timeout", noted="cancelled hang", recovers=True
        ),
        call=("hang", {}),
        options={"timeout": 0.5},
    ),
    Fault(
        "stop mid-call",
        TRANSPORTS,
        Expected("cancelled", "hang was cancelled", error="cancelled", noted="cancelled hang", recovers=True),
        call=("hang", {}),
        stop_after=0.3,
    ),
    Fault(
        "crash mid-call",
        ("stdio",),
        Expected(
            "done",
            r"stopped during the call \(its process exited\).*crashing on purpose",
            error="exception",
            recovers=True,
        ),
        call=("crash", {}),
    ),
    Fault(
        "crash mid-call",
        ("http",),
        Expected("done", "stopped during the call .*(Server disconnected|closed)", error="exception"),
        call=("crash", {}),
    ),
    Fault(
        "exits at start",
        ("stdio",),
        Expected("error", "did not start: it exited before answering.*cannot open the database"),
        flags=("--fail-at-start",),
    ),
    Fault(
        "never answers at start",
        ("stdio",),
        Expected(
            "error", r"did not start: it did not answer within 1 s \(startup_timeout\).*warming up forever"
        ),
        flags=("--hang-at-start",),
        options={"startup_timeout": 1.0},
    ),
    Fault(
        "command not found",
        ("stdio",),
        Expected("error", "did not start: cannot run 'nbstream-no-such-mcp-server': no such file or command"),
        server=lambda reach: MCPServer(["nbstream-no-such-mcp-server", "--stdio"]),
    ),
    Fault(
        "token refused",
        ("http",),
        Expected("error", "did not start: the server answered HTTP 401 Unauthorized"),
        server=lambda reach: reach.http.server(token="wrong-token") if reach.http else toolbox(),
    ),
    Fault(
        "nothing listening",
        ("http",),
        Expected("error", "did not start: ConnectError"),
        server=lambda reach: MCPServer(url=closed_port_url(), name="nowhere"),
    ),
]


async def run_fault(fault: Fault, reach: Reach) -> list[str]:
    """Run one row; the ways its outcome differs from the declared one."""
    expect = fault.expect
    if fault.server is not None:
        server = fault.server(reach)
    elif reach.http is None:
        server = reach.server(*fault.flags, **fault.options)
    else:
        server = reach.server(**fault.options)
    steps = [[Call(*fault.call)], [Say("after the fault")]] if fault.call else [[Say("never said")]]
    session = Session(ScriptedModel(steps), mcp=[server])
    events = []
    async for event in session.send("go"):
        events.append(event)
        if fault.stop_after is not None and isinstance(event, ToolRunning):
            await asyncio.sleep(fault.stop_after)
            session.cancel()
    problems: list[str] = []
    finished = [event for event in events if isinstance(event, TurnFinished)]
    errors = [event for event in events if isinstance(event, ToolError)]
    if len(finished) != 1 or finished[0] is not events[-1]:
        problems.append(f"expected one TurnFinished at the end, got {len(finished)}")
    elif finished[0].reason != expect.reason:
        problems.append(
            f"expected the turn to end {expect.reason}, got {finished[0].reason}: {finished[0].message}"
        )
    if [error.kind for error in errors] != ([expect.error] if expect.error else []):
        problems.append(f"expected errors {[expect.error]}, got {[(e.kind, e.message) for e in errors]}")
    said = errors[0].message if errors else (finished[-1].message or "" if finished else "")
    if not re.search(expect.says, said, re.DOTALL):
        problems.append(f"the message does not say /{expect.says}/: {said!r}")
    if fault.call is not None and any(isinstance(e, ToolResult) and e.name == fault.call[0] for e in events):
        problems.append("the faulty call produced a result")
    if expect.noted is not None:
        try:
            await eventually(lambda: expect.noted in reach.lines(), NOTED_WITHIN)
        except AssertionError:
            problems.append(f"the server never noted {expect.noted!r}: {reach.lines()}")
    problems += await _next_call(session, expect.recovers) if fault.call is not None else []
    await session.aclose()
    if reach.http is None:
        left = await asyncio.to_thread(gone_within, reach.pids(), 8.0)
        if left:
            problems.append(f"server processes outlived the session: {left}")
    return problems


async def _next_call(session: Session, recovers: bool) -> list[str]:
    """Whether a call after the fault works as declared: it does, or it fails at once saying why."""
    echo = session.tools.get("echo")
    assert echo is not None
    try:
        again = (await echo.run({"text": "again"}, timeout=10)).text
    except Exception as exc:
        return [f"the next call failed: {exc}"] if recovers or "did not start" not in str(exc) else []
    return [] if recovers and again == "again" else [f"the next call returned {again!r}"]


@pytest.mark.parametrize(
    ("transport", "fault"),
    [pytest.param(t, fault, id=f"{t}:{fault.name}") for fault in MCP_FAULTS for t in fault.transports],
)
async def test_each_mcp_fault_ends_as_the_table_says(
    transport: Transport, fault: Fault, tmp_path: Path
) -> None:
    with served(transport, tmp_path) as reach:
        problems = await run_fault(fault, reach)
    assert not problems, "\n".join([f"{fault.name} over {transport}:", *problems])


def test_the_table_covers_every_fault_the_issue_names() -> None:
    names = {(fault.name, transport) for fault in MCP_FAULTS for transport in fault.transports}
    for name in ("tool error (isError)", "call past its timeout", "stop mid-call", "crash mid-call"):
        assert {(name, "stdio"), (name, "http")} <= names, name
    for name in ("exits at start", "never answers at start", "command not found"):
        assert (name, "stdio") in names
    assert ("token refused", "http") in names


async def test_the_checks_catch_every_way_an_outcome_can_be_wrong(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row judged against a wrong expectation fails, on each dimension, so a pass means something."""
    monkeypatch.setattr(sys.modules[__name__], "NOTED_WITHIN", 1.0)  # what never comes: no need to wait long
    stop = next(fault for fault in MCP_FAULTS if fault.name == "stop mid-call")
    crash = next(
        fault for fault in MCP_FAULTS if fault.name == "crash mid-call" and "stdio" in fault.transports
    )
    wrong = [
        (stop, {"noted": "cancelled slow"}, "the server never noted 'cancelled slow'"),
        (stop, {"reason": "done"}, "expected the turn to end done, got cancelled"),
        (crash, {"says": "no such text"}, "the message does not say /no such text/"),
        (crash, {"error": "timeout"}, "expected errors ['timeout']"),
        (crash, {"recovers": False}, "the next call returned 'again'"),
    ]
    for fault, change, symptom in wrong:
        judged = replace(fault, expect=replace(fault.expect, **change))
        with served("stdio", tmp_path) as reach:
            problems = await run_fault(judged, reach)
        assert any(symptom in problem for problem in problems), (change, problems)
