"""An MCP server's life: started once per session, down after a crash and started again by the next call,
stopped with its session, its chat, or the process (a kernel shutting down), never left behind as a process or
a zombie. A server started with ``--linger`` outlives its closed stdin by a minute, so only nbstream stopping
it ends it in time."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
from helpers import run_headless
from mcp_servers import TOKEN, HttpToolbox, alive, eventually, gone_within, started_pids, toolbox

from nbstream import ScriptedModel, Session


async def test_a_server_starts_once_and_a_crash_ends_only_that_call(tmp_path: Path) -> None:
    log = tmp_path / "log"
    async with Session(ScriptedModel([]), mcp=[toolbox(log=log)]) as session:
        connection = session.mcp.connection("toolbox")
        echo, crash = session.tools.get("echo"), session.tools.get("crash")
        assert echo is not None and crash is not None
        for _ in range(3):
            await echo.run({"text": "x"}, timeout=5)
        assert connection.starts == 1 and len(started_pids(log)) == 1  # once per session, not per call
        [first] = started_pids(log)
        try:
            await crash.run({}, timeout=5)
            raise AssertionError("the crash returned")
        except Exception as failure:
            assert "stopped during the call (its process exited)" in str(failure)
            assert "crashing on purpose" in str(failure)  # the stderr tail says why
        assert connection.state == "down" and connection.down_reason == "its process exited"
        assert not alive(first)  # reaped: no zombie
        assert (await echo.run({"text": "back"}, timeout=10)).text == "back"
        assert connection.state == "running" and connection.starts == 2 and len(started_pids(log)) == 2


async def test_a_server_that_dies_between_calls_is_seen_down_and_started_again(tmp_path: Path) -> None:
    log = tmp_path / "log"
    async with Session(ScriptedModel([]), mcp=[toolbox(log=log)]) as session:
        connection = session.mcp.connection("toolbox")
        exit_soon, pid = session.tools.get("exit_soon"), session.tools.get("pid")
        assert exit_soon is not None and pid is not None
        await exit_soon.run({}, timeout=5)
        await eventually(lambda: connection.state == "down")  # seen without a call
        assert (await pid.run({}, timeout=10)).text == str(started_pids(log)[-1])
        assert connection.starts == 2


async def test_closing_the_session_ends_every_server_process(tmp_path: Path) -> None:
    log = tmp_path / "log"
    session = Session(
        ScriptedModel([]), mcp=[toolbox(log=log), toolbox("--linger", log=log, name="lingering")]
    )
    async with session:
        pids = started_pids(log)
        assert len(pids) == 2 and all(alive(pid) for pid in pids)
        started = time.monotonic()
    assert time.monotonic() - started < 8  # the lingering one: stdin closed, 2 s, then terminated
    assert gone_within(pids, 2.0) == []
    assert session.tools.names == [] and repr(session.mcp) == "MCPServers([])"


def run_python(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(code))
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)


def test_servers_still_open_when_the_process_exits_are_stopped(tmp_path: Path) -> None:
    """A chat's session runs on the shared loop thread; nobody closes it: the exit does."""
    log = tmp_path / "log"
    done = run_python(
        f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from mcp_servers import toolbox
        from nbstream import ScriptedModel, Session
        from nbstream._background import shared_loop

        async def start():
            session = Session(ScriptedModel([]))
            await session.add_mcp(toolbox("--linger", log={str(log)!r}))
            return session

        session = shared_loop().submit(start()).result()
        print("running", flush=True)
        """,
        tmp_path,
    )
    assert done.returncode == 0 and "running" in done.stdout, done.stderr
    [pid] = started_pids(log)
    assert gone_within([pid], 8.0) == []  # without the exit hook it would linger for a minute


def test_a_chat_in_a_real_kernel_uses_mcp_tools_keeps_secrets_out_and_leaves_no_server(
    tmp_path: Path,
) -> None:
    log = tmp_path / "log"
    env_secret = "env-FAKE-kernel-secret-31"
    with HttpToolbox(tmp_path / "http.log") as http:
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        cells = [
            f"""
            import os, sys
            sys.path.insert(0, {str(Path(__file__).parent)!r})
            from mcp_servers import toolbox
            from nbstream import MCPServer, ScriptedModel, StreamChat
            from nbstream.testing import Call, Say
            model = ScriptedModel([[Call("pid", {{}}), Call("remote_echo", {{"text": "hi"}})], [Say("done")]])
            local = toolbox("--linger", log={str(log)!r}, env={{"API_KEY": os.environ["ENV_SECRET"]}})
            chat = StreamChat(model, mcp=[local])
            """,
            f"""
            token = os.environ["TOOLBOX_TOKEN"]
            bearer = {{"Authorization": "Bearer " + token}}
            remote = MCPServer(url={http.url!r}, name="remote", prefix=True, headers=bearer)
            print([tool.name for tool in chat.add_mcp(remote)][:2], remote)
            """,
            """
            await chat.send("go")
            print("results:", [(m.name, m.content) for m in chat.messages if hasattr(m, "call_id")])
            chat
            """,
        ]
        nb.cells = [nbformat.v4.new_code_cell(textwrap.dedent(cell).strip()) for cell in cells]
        path = run_headless(nb, tmp_path, store_widget_state=True, ENV_SECRET=env_secret, TOOLBOX_TOKEN=TOKEN)
        served_lines = http.log.read_text()
    saved = path.read_text()
    [pid] = started_pids(log)
    assert f"('pid', '{pid}')" in saved and "('remote_echo', 'hi')" in saved
    assert f"auth Bearer {TOKEN}" in served_lines  # the header was sent...
    assert TOKEN not in saved and env_secret not in saved  # ...and saved nowhere
    assert gone_within([pid], 8.0) == []  # the kernel shut down: its exit stopped the server
