"""Real MCP servers for the tests (``toolbox.py``, and ``shifting.py`` whose tools change; both on the SDK's
server API) and how a test reaches them.

``served("stdio" | "http", tmp_path)`` gives a ``Reach``: ``reach.server(...)`` is the ``MCPServer`` that
starts the toolbox as a subprocess (stdio) or reaches the one this context started on a free port of 127.0.0.1
(Streamable HTTP, behind a bearer token); ``reach.lines()`` is what the toolbox noted (calls, cancellations,
the Authorization headers it got).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from nbstream import MCPServer

TOOLBOX = Path(__file__).with_name("toolbox.py")
SHIFTING = Path(__file__).with_name("shifting.py")
TOKEN = "mcp-FAKE-token-7f3a9c1e5b"
"""The HTTP toolbox's bearer token: a secret no repr, log or saved notebook may show."""

Transport = Literal["stdio", "http"]
TRANSPORTS: tuple[Transport, ...] = ("stdio", "http")


def toolbox(
    *flags: str,
    log: Path | None = None,
    name: str = "toolbox",
    env: dict[str, str] | None = None,
    script: Path = TOOLBOX,
    **options: Any,
) -> MCPServer:
    """The toolbox (or another ``script`` here) over stdio: nbstream starts it as a subprocess (noting to
    ``log``, with ``env`` added)."""
    variables = {"TOOLBOX_LOG": str(log)} if log is not None else {}
    return MCPServer(
        [sys.executable, str(script), *flags], name=name, env={**variables, **(env or {})}, **options
    )


def shifting(*flags: str, log: Path, **options: Any) -> MCPServer:
    """The server whose tools change, over stdio."""
    return toolbox(*flags, log=log, name="shifting", script=SHIFTING, **options)


class HttpToolbox:
    """The toolbox served over Streamable HTTP by a process of its own (killed on exit)."""

    def __init__(self, log: Path, *flags: str, token: str | None = TOKEN) -> None:
        self.log = log
        self.flags = flags
        self.token = token
        self.url = ""
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> HttpToolbox:
        env = {**os.environ, "TOOLBOX_LOG": str(self.log)}
        if self.token is not None:
            env["TOOLBOX_TOKEN"] = self.token
        self.process = subprocess.Popen(
            [sys.executable, str(TOOLBOX), "--http", *self.flags],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            text=True,
        )
        assert self.process.stdout is not None
        port = self.process.stdout.readline().strip()
        if not port.isdigit():
            self.__exit__()
            raise RuntimeError(f"the HTTP toolbox did not start (it printed {port!r})")
        self.url = f"http://127.0.0.1:{port}/mcp"
        return self

    def server(self, *, name: str = "toolbox", token: str | None = None, **options: Any) -> MCPServer:
        headers = {"Authorization": f"Bearer {token or self.token}"} if (token or self.token) else {}
        return MCPServer(url=self.url, name=name, headers=headers, **options)

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            if self.process.stdout is not None:
                self.process.stdout.close()


@dataclass
class Reach:
    """One way to a toolbox: ``server()`` describes it, ``lines()`` is what it noted."""

    transport: Transport
    log: Path
    http: HttpToolbox | None = None

    def server(self, *flags: str, **options: Any) -> MCPServer:
        if self.http is None:
            return toolbox(*flags, log=self.log, **options)
        assert not flags, "an HTTP toolbox takes its flags when it starts"
        return self.http.server(**options)

    def lines(self) -> list[str]:
        return log_lines(self.log)

    def pids(self) -> list[int]:
        """Every toolbox process this reach started (or, over HTTP, the one serving)."""
        return started_pids(self.log)


@contextlib.contextmanager
def served(transport: Transport, tmp_path: Path, *flags: str) -> Iterator[Reach]:
    log = tmp_path / f"toolbox-{transport}.log"
    if transport == "stdio":
        yield Reach("stdio", log)
        return
    with HttpToolbox(log, *flags) as http:
        yield Reach("http", log, http)


def log_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def started_pids(log: Path) -> list[int]:
    return [int(line.split()[1]) for line in log_lines(log) if line.startswith("started ")]


def alive(pid: int) -> bool:
    """Whether ``pid`` is a process that has not ended: a zombie (ended, not reaped) counts as alive, since a
    zombie left behind is what the tests look for."""
    if Path("/proc/self").exists():  # Linux: a zombie keeps its /proc entry until it is reaped
        return Path(f"/proc/{pid}").exists()
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait until ``condition()`` holds, polling; ``AssertionError`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {getattr(condition, '__name__', condition)}")
        await asyncio.sleep(0.02)


def gone_within(pids: list[int], timeout: float) -> list[int]:
    """The pids still alive (or zombies) after waiting up to ``timeout`` seconds for them to go."""
    deadline = time.monotonic() + timeout
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]
