"""One MCP server's live client: started once, restarted after a crash, closed with its session or at exit,
its tools listed again whenever the server says they changed.

The SDK's client holds anyio task groups that must be entered and left by one task, so each connection has an
*owner* task on the session's loop (the loop that runs the tools) that enters the client, lists the tools and
then waits until it is told to close or the server goes away. Calls are made from the dispatcher's tasks on the
same loop: the SDK's session multiplexes them over its streams, so calls run concurrently.

- Starting is bounded by ``startup_timeout``: a server that does not answer in time, cannot be run, exits
  first or refuses the connection raises ``MCPServerError`` saying why, with the tail of its stderr (kept in a
  temporary file, never shown otherwise).
- Cancelling a call (Stop, a timeout) cancels it on the server: the SDK sends ``notifications/cancelled``
  (over Streamable HTTP at protocol 2026-07-28, which has no such message, it closes the call's stream).
- A server that exits or drops the connection is *down*: a call in flight fails with an error that says so
  (and shows the stderr tail), the owner leaves the client (which reaps the process), and the next call starts
  the server again.
- ``aclose`` stops the server (the SDK closes its stdin, then terminates its process group). Connections still
  open when the interpreter exits (a kernel shut down) are closed by an ``atexit`` hook on their own loops.
- A server that says its tools changed has them listed again by the owner (see ``_changes``), and the new
  list goes to ``on_tools``; a call answered after such a notice returns once they are listed, so the model's
  next step is offered the new tools. A listing that fails keeps the old tools, with a warning. A server
  started again after a crash is listed afresh, and that list goes to ``on_tools`` too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import tempfile
from collections.abc import Callable
from typing import Any, Literal

from .._errors import ConfigurationError
from .._events import ToolErrorKind
from .._progress import Progress, current_progress
from .._tools import ToolFailure
from ._atexit import track
from ._changes import ToolChanges
from ._server import MCPServer, MCPServerError
from ._watch import watched

__all__ = ["Connection", "State", "load_sdk"]

log = logging.getLogger("nbstream")

State = Literal["new", "running", "down", "closed"]

_STDERR_TAIL = 2000  # bytes of a server's stderr quoted in an error
_CLOSE_WAIT = 6.0  # seconds for a server to stop (the SDK gives a stdio server 2 s, then TERM, then KILL)
_LOST_WAIT = 3.0  # seconds a failed call waits for its connection's end, to say why it ended


def load_sdk() -> Any:
    """The ``mcp`` package, or a ``ConfigurationError`` that says how to install it."""
    try:
        import mcp.client.client
        import mcp.client.stdio
        import mcp.client.streamable_http
    except ImportError as exc:
        raise ConfigurationError(
            f'MCP servers need the MCP SDK, which is not installed ({exc}): pip install "nbstream[mcp]"'
        ) from exc
    return mcp


class Connection:
    """The client of one MCP server, owned by one task on the loop it was started on. ``on_tools`` is called
    (on that loop) with the connection each time its server lists tools after its first start: it said they
    changed, or it was started again."""

    def __init__(self, server: MCPServer, on_tools: Callable[[Connection], None] | None = None) -> None:
        self.server = server
        self._on_tools = on_tools
        self.state: State = "new"
        self.starts = 0
        """How many times the server was started (a crash, then a call: 2)."""
        self.down_reason: str | None = None
        self._client: Any = None
        self._tools: list[Any] = []
        self._owner: asyncio.Task[None] | None = None
        # Set to make the owner leave the client: aclose(), or the server's messages ended.
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()  # one start at a time
        self._stderr: Any = None  # the server's stderr: a temporary file, deleted on close
        self._http_status: str | None = None  # the last HTTP error status the server answered
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changes: ToolChanges | None = None  # the running client's notices of tool changes

    @property
    def name(self) -> str:
        return self.server.name

    @property
    def tools(self) -> list[Any]:
        """The tools the server listed last (``mcp.types.Tool``): at its start, or after it said they changed."""
        return list(self._tools)

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The loop the server's client lives on, while its owner task runs (``None`` once it has ended)."""
        owner = self._owner
        return self._loop if owner is not None and not owner.done() else None

    async def start(self) -> list[Any]:
        """Start the server (if it is not running) and return its tools (``mcp.types.Tool``)."""
        async with self._lock:
            if self.state == "closed":
                raise MCPServerError(f"MCP server {self.name!r} is closed")
            if self._client is not None:
                return list(self._tools)
            sdk = load_sdk()
            loop = asyncio.get_running_loop()
            if self._loop is not None and self._loop is not loop:
                raise MCPServerError(f"MCP server {self.name!r} was started on another event loop")
            self._loop = loop
            self._wake = wake = asyncio.Event()
            self._http_status = None
            ready: asyncio.Future[list[Any]] = loop.create_future()
            ready.add_done_callback(_retrieve)  # a start given up on must not warn about its failure
            self.starts += 1
            track(self)
            self._owner = loop.create_task(self._own(sdk, ready, wake), name=f"nbstream-mcp:{self.name}")
            try:
                return list(await ready)
            except asyncio.CancelledError:  # given up on: the owner leaves as soon as it has started
                wake.set()
                raise

    async def call(self, name: str, arguments: dict[str, Any]) -> Any:
        """Call the server's tool ``name``; its ``CallToolResult``, or ``ToolFailure`` saying what went wrong."""
        sdk = load_sdk()
        client = await self._running_client()
        changes = self._changes
        progress = current_progress()
        try:
            result = await client.call_tool(
                name, arguments, progress_callback=None if progress is None else _progress_relay(progress)
            )
        except sdk.MCPError as exc:
            if exc.code == sdk.types.CONNECTION_CLOSED:
                raise ToolFailure("exception", await self._lost_during_call()) from None
            kind: ToolErrorKind = "invalid_arguments" if exc.code == sdk.types.INVALID_PARAMS else "exception"
            raise ToolFailure(
                kind, f"MCP server {self.name!r} answered with an error: {exc.message}"
            ) from None
        except (RuntimeError, ValueError) as exc:  # a result the SDK refused (output schema, protocol)
            raise ToolFailure("exception", f"MCP server {self.name!r}: {exc}") from None
        if changes is not None:  # tool changes it announced before answering: listed before the next step
            await changes.caught_up()
        return result

    async def _running_client(self) -> Any:
        """The client, starting the server first if it is down (or was never started)."""
        if self.state == "closed":
            raise ToolFailure("exception", f"MCP server {self.name!r} is closed")
        if self._client is None:
            try:
                await self.start()
            except MCPServerError as exc:
                raise ToolFailure("exception", str(exc)) from None
        if self._client is None:
            raise ToolFailure("exception", f"MCP server {self.name!r} stopped as soon as it started")
        return self._client

    async def aclose(self) -> None:
        """Stop the server and wait (a few seconds at most) until it is gone. Idempotent."""
        self.state = "closed"
        owner = self._owner
        if owner is not None and not owner.done():
            self._wake.set()
            _done, pending = await asyncio.wait({owner}, timeout=_CLOSE_WAIT)
            if pending:
                owner.cancel()
                await asyncio.wait({owner}, timeout=_CLOSE_WAIT)
        self._drop_stderr()

    def stderr_tail(self) -> str:
        """The end of what the server wrote to stderr ("" for an HTTP server, or one that wrote nothing)."""
        stderr = self._stderr
        if stderr is None:
            return ""
        try:
            with open(stderr.name, "rb") as file:  # a second handle: the server's file offset stays its own
                file.seek(max(0, os.path.getsize(stderr.name) - _STDERR_TAIL))
                data = file.read(_STDERR_TAIL)
        except OSError:
            return ""
        return data.decode("utf-8", "replace").strip()

    def __repr__(self) -> str:
        reason = f": {self.down_reason}" if self.state == "down" and self.down_reason else ""
        return f"<MCP server {self.name!r} ({self.server.where}) {self.state}{reason}>"

    # -- the owner task ----------------------------------------------------------------------------------------

    async def _own(self, sdk: Any, ready: asyncio.Future[list[Any]], wake: asyncio.Event) -> None:
        """Enter the client, list the tools, then hold the client until told to close or the server is gone."""
        import anyio

        failure: BaseException | None = None
        timed_out = False
        try:
            with anyio.CancelScope() as startup:
                startup.deadline = anyio.current_time() + self.server.startup_timeout
                async with contextlib.AsyncExitStack() as stack:
                    changes = ToolChanges(
                        self.name, self.server.startup_timeout, lambda tools: self._relisted(changes, tools)
                    )
                    client = sdk.Client(
                        watched(await self._transport(sdk, stack), wake.set, changes.heard),
                        mode="auto",
                        client_info=sdk.types.Implementation(name="nbstream", version=_version()),
                        cache=None,  # nbstream keeps the list itself; a cached one could outlive a change
                    )
                    await stack.enter_async_context(client)
                    tools = await changes.list_tools(client)
                    startup.deadline = math.inf  # started: no deadline any more
                    if self.state != "closed" and self._owner is asyncio.current_task():
                        self._client, self._tools, self.state = client, tools, "running"
                        self._changes, self.down_reason = changes, None
                        if self.starts > 1:  # started again: its tools may not be the ones offered
                            self._offer()
                    ready.set_result(tools)
                    await self._follow(changes, client, wake)
            timed_out = startup.cancelled_caught
        except asyncio.CancelledError:  # the loop shuts down: the SDK stopped the server on the way out
            failure = asyncio.CancelledError()
            raise
        except BaseException as exc:  # an exception group of the SDK's task groups, an OSError, ...
            failure = exc
        finally:
            current = self._owner is asyncio.current_task()  # not an owner a cancelled start left behind
            if current:
                self._client = self._changes = None
            if not ready.done():
                ready.set_exception(self._start_error(failure, timed_out))
            elif current and self.state != "closed":
                self.state = "down"
                self.down_reason = self._why_down(failure)
                log.warning("nbstream: MCP server %r is down: %s", self.name, self.down_reason)

    async def _follow(self, changes: ToolChanges, client: Any, wake: asyncio.Event) -> None:
        """Hold the client until ``wake`` (the server's messages ended: it exited or dropped us; or
        ``aclose()``), listing its tools again each time it says they changed."""
        import anyio

        try:
            async with anyio.create_task_group() as group:
                group.start_soon(changes.follow, client, wake)
                await wake.wait()
                group.cancel_scope.cancel()
        finally:
            changes.end()

    def _relisted(self, changes: ToolChanges, tools: list[Any]) -> None:
        if changes is self._changes:  # (not an owner a cancelled start left behind)
            self._tools = tools
            self._offer()

    def _offer(self) -> None:
        """Hand the tools listed last to ``on_tools``."""
        if self._on_tools is None:
            return
        try:
            self._on_tools(self)
        except Exception:  # a bug there must not end the connection
            log.exception("nbstream: offering the tools MCP server %r listed failed", self.name)

    async def _transport(self, sdk: Any, stack: contextlib.AsyncExitStack) -> Any:
        server = self.server
        if server.command is not None:
            self._drop_stderr()
            self._stderr = tempfile.NamedTemporaryFile(  # noqa: SIM115 - open until the connection closes
                "w", prefix=f"nbstream-mcp-{server.name}-", suffix=".log", delete=False
            )
            parameters = sdk.client.stdio.StdioServerParameters(
                command=server.command[0],
                args=list(server.command[1:]),
                env=server.env or None,
                cwd=server.cwd,
            )
            return sdk.client.stdio.stdio_client(parameters, errlog=self._stderr)
        import httpx2

        async def saw(response: Any) -> None:
            if response.status_code >= 400:
                self._http_status = f"HTTP {response.status_code} {response.reason_phrase}".strip()

        http = httpx2.AsyncClient(
            headers=server.headers,
            timeout=httpx2.Timeout(30.0, read=300.0),  # the SDK's defaults: a response stream may stay open
            event_hooks={"response": [saw]},
        )
        await stack.enter_async_context(http)
        return sdk.client.streamable_http.streamable_http_client(server.url, http_client=http)

    # -- what went wrong ---------------------------------------------------------------------------------------

    def _start_error(self, failure: BaseException | None, timed_out: bool) -> MCPServerError:
        server = self.server
        if timed_out:
            why = f"it did not answer within {server.startup_timeout:g} s (startup_timeout)"
        elif isinstance(failure, asyncio.CancelledError):
            why = "starting it was cancelled"
        else:
            why = self._describe(failure)
        return MCPServerError(
            f"MCP server {self.name!r} ({server.where}) did not start: {why}{self._stderr_note()}"
        )

    def _why_down(self, failure: BaseException | None) -> str:
        if failure is None or isinstance(failure, asyncio.CancelledError):
            return (
                "its process exited"
                if self.server.command is not None
                else "the server closed the connection"
            )
        return self._describe(failure)

    def _describe(self, failure: BaseException | None) -> str:
        cause = _root(failure)
        if self._http_status is not None:
            return f"the server answered {self._http_status}"
        if cause is None:
            return "it stopped"
        code = getattr(cause, "code", None)
        sdk = load_sdk()
        if isinstance(cause, sdk.MCPError) and code == sdk.types.CONNECTION_CLOSED:
            return (
                "it exited before answering" if self.server.command is not None else "the connection closed"
            )
        if isinstance(cause, FileNotFoundError) and self.server.command is not None:
            return f"cannot run {self.server.command[0]!r}: no such file or command"
        text = str(cause)
        return f"{type(cause).__name__}: {text}" if text else type(cause).__name__

    def _stderr_note(self) -> str:
        tail = self.stderr_tail()
        return f". Its stderr ends with:\n{tail}" if tail else ""

    async def _lost_during_call(self) -> str:
        """Why a call's connection closed, once its owner has finished (so the state says down and why)."""
        owner = self._owner
        if owner is not None and not owner.done():
            await asyncio.wait({owner}, timeout=_LOST_WAIT)
        reason = self.down_reason or "the connection closed"
        again = "it is started again" if self.server.command is not None else "nbstream connects again"
        said = f"MCP server {self.name!r} stopped during the call ({reason}); {again} at the next call"
        return said + self._stderr_note()

    def _drop_stderr(self) -> None:
        stderr, self._stderr = self._stderr, None
        if stderr is not None:
            with contextlib.suppress(OSError):
                stderr.close()
                os.unlink(stderr.name)


def _root(failure: BaseException | None) -> BaseException | None:
    """The first real error inside (nested) exception groups, skipping cancellations."""
    inner_failures = getattr(failure, "exceptions", None)  # an exception group (a backport's on 3.10)
    if isinstance(inner_failures, tuple):
        for inner in inner_failures:
            found = _root(inner)
            if found is not None:
                return found
        return None
    if isinstance(failure, asyncio.CancelledError):
        return None
    return failure


def _progress_relay(progress: Progress) -> Callable[[float, float | None, str | None], Any]:
    """An SDK progress callback reporting to ``progress`` (captured here: the SDK calls back from its own
    task, where ``current_progress()`` is not the call's)."""

    async def relay(value: float, total: float | None, message: str | None) -> None:
        if total:
            progress(message, value / total)
        else:  # no total: say how far it got, as a count
            progress(message if message is not None else f"{value:g}")

    return relay


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def _version() -> str:
    from .. import __version__

    return __version__
