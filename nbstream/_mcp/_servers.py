"""The MCP servers of one session, and their tools in the session's ``ToolRegistry``.

Servers given to ``Session(mcp=[...])`` start at the session's first turn (or on ``async with``); a server
added with ``add`` starts at once, so a server that cannot start fails in the cell that adds it. A server added
again under the same name (a notebook cell run again) replaces the running one, as a tool added again replaces
its function.

Tool names: a server's tool keeps its own name (made of the characters providers take) unless that name is
taken, by a Python tool or another server's; then it is ``<server>_<tool>``. ``MCPServer(prefix=True)`` names
every tool that way. A name still taken is a ``ConfigurationError``: a tool is never hidden behind another.
A tool whose input schema cannot be sent or checked is left out with a warning that says why.

A server that says its tools changed (or is started again after a crash) is offered as it lists its tools
now, from the model's next step on: new tools appear, named by the same rules (a name taken by then is left
out with a warning rather than failing), changed ones are replaced, and removed ones are retired: a call to
one is a tool error saying the server no longer offers it. A call already running finishes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._errors import ConfigurationError
from .._registry import ToolRegistry
from .._tools import Tool
from ._server import MCPServer, MCPServerError, tool_name_part

if TYPE_CHECKING:
    from ._connection import Connection
    from ._tool import MCPTool

__all__ = ["MCPServers"]

log = logging.getLogger("nbstream")

_MAX_TOOL_NAME = 64


@dataclass
class _Added:
    server: MCPServer
    connection: Connection
    tools: list[str]  # their names in the session
    skipped: dict[str, str]  # the server's tools left out → why


class MCPServers:
    """The MCP servers of a session (``session.mcp``): start, add, remove and close them."""

    def __init__(self, registry: ToolRegistry, servers: Iterable[MCPServer] = ()) -> None:
        self._registry = registry
        self._waiting: list[MCPServer] = []
        for server in servers:
            _check(server)
            if any(other.name == server.name for other in self._waiting):
                raise ConfigurationError(
                    f"two MCP servers are named {server.name!r}: give one of them another name with name=..."
                )
            self._waiting.append(server)
        self._added: dict[str, _Added] = {}
        self._lock = asyncio.Lock()
        self._closed = False

    @property
    def names(self) -> list[str]:
        """The servers' names: those running or down, then those not started yet."""
        return [*self._added, *(server.name for server in self._waiting)]

    def connection(self, name: str) -> Connection:
        """The live connection of the server ``name`` (its ``state``, ``starts``, ``stderr_tail()``)."""
        added = self._added.get(name)
        if added is None:
            raise KeyError(
                f"no MCP server {name!r} is running; the servers are: {', '.join(self.names) or 'none'}"
            )
        return added.connection

    def tools_of(self, name: str) -> list[str]:
        """The session's names of the server's tools."""
        return list(self._added[name].tools) if name in self._added else []

    def skipped(self, name: str) -> dict[str, str]:
        """The server's tools that were left out, each with the reason."""
        return dict(self._added[name].skipped) if name in self._added else {}

    async def start(self) -> None:
        """Start the servers given to the session and not started yet, side by side, then offer their tools in
        the order given (so names never depend on which started first). If one cannot start, the others are
        stopped again (the next turn tries them all again) and ``MCPServerError`` says why."""
        async with self._lock:
            self._check_open()
            waiting, self._waiting = self._waiting, []
            if not waiting:
                return
            try:
                outcomes = await asyncio.gather(*(self._connect(s) for s in waiting), return_exceptions=True)
            except BaseException:  # cancelled (a stopped turn): a server stops once it sees it was given up
                self._waiting = waiting
                raise
            failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
            if failures:
                started = [outcome for outcome in outcomes if not isinstance(outcome, BaseException)]
                await asyncio.gather(*(connection.aclose() for connection in started))
                self._waiting = waiting
                if len(failures) == 1 or not all(isinstance(f, MCPServerError) for f in failures):
                    raise failures[0]
                raise MCPServerError("\n".join(str(failure) for failure in failures))
            for index, outcome in enumerate(outcomes):
                assert not isinstance(outcome, BaseException)
                try:
                    await self._register(outcome)
                except (
                    BaseException
                ) as exc:  # its tools cannot be named: it and the rest wait for the next try
                    for connection in outcomes[index + 1 :]:
                        await connection.aclose()  # type: ignore[union-attr]
                    self._waiting = waiting[index:]
                    if isinstance(exc, ConfigurationError):
                        raise MCPServerError(str(exc)) from exc
                    raise

    async def add(self, server: MCPServer) -> list[Tool]:
        """Start ``server`` and offer its tools to the model; returns them. A server of the same name is
        replaced (stopped once the new one runs)."""
        _check(server)
        async with self._lock:
            self._check_open()
            self._waiting = [waiting for waiting in self._waiting if waiting.name != server.name]
            return await self._add(server)

    async def remove(self, name: str) -> None:
        """Stop the server ``name`` and withdraw its tools."""
        async with self._lock:
            if name not in self._added and all(server.name != name for server in self._waiting):
                raise KeyError(f"no MCP server {name!r}; the servers are: {', '.join(self.names) or 'none'}")
            self._waiting = [server for server in self._waiting if server.name != name]
            await self._remove(name)

    async def aclose(self) -> None:
        """Stop every server and withdraw their tools. Idempotent; the servers cannot be used afterwards."""
        async with self._lock:
            self._closed = True
            self._waiting = []
            await asyncio.gather(*(self._remove(name) for name in list(self._added)))

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this session is closed: its MCP servers cannot be started again")

    async def _add(self, server: MCPServer) -> list[Tool]:
        return await self._register(await self._connect(server))

    async def _connect(self, server: MCPServer) -> Connection:
        """A started connection to ``server``."""
        from ._connection import Connection

        connection = Connection(server, on_tools=self._relisted)
        await connection.start()
        return connection

    async def _register(self, connection: Connection) -> list[Tool]:
        """Offer a started server's tools (as it lists them now), in place of an earlier server of its name."""
        server = connection.server
        try:
            earlier = self._added.pop(server.name, None)
            if earlier is not None:
                log.info("nbstream: MCP server %r is replaced", server.name)
                self._withdraw(earlier)
                await earlier.connection.aclose()
            tools, skipped = self._tools(connection, set(self._registry.names), relisted=False)
            for tool in tools:
                self._registry.add(tool)
        except BaseException:
            await connection.aclose()
            raise
        self._added[server.name] = _Added(server, connection, [tool.name for tool in tools], skipped)
        for remote, why in skipped.items():
            log.warning("nbstream: MCP server %r: tool %r is left out: %s", server.name, remote, why)
        return list(tools)

    def _relisted(self, connection: Connection) -> None:
        """Offer what ``connection``'s server lists now, in place of what it listed before."""
        from ._tool import MCPTool

        added = self._added.get(connection.name)
        if added is None or added.connection is not connection:
            return  # not offered (yet, or any more): registering reads what it listed last
        before = {name: self._registry.get(name) for name in added.tools}
        tools, skipped = self._tools(connection, set(self._registry.names) - set(before), relisted=True)
        now = {tool.name: tool for tool in tools}
        for name, old in before.items():
            if not isinstance(old, MCPTool) or old.gone is not None:
                continue  # withdrawn by hand meanwhile
            if name not in now:
                self._registry.retire(name, old.retired())
            elif _same(old, now[name]):
                now[name] = old
            else:
                self._registry.remove(name)  # its schema changed, or the name is another tool's now
        for tool in tools:
            if now[tool.name] is tool:
                try:
                    self._registry.add(tool)
                except ConfigurationError as exc:  # a Python tool took the name meanwhile
                    skipped[tool.remote] = str(exc)
                    del now[tool.name]
        gone = [name for name in before if name not in now]
        new = [name for name in now if name not in before]
        changed = [name for name, tool in now.items() if name in before and tool is not before[name]]
        if gone or new or changed:
            log.debug(
                "nbstream: MCP server %r changed its tools: new %s, removed %s, changed %s",
                connection.name,
                new,
                gone,
                changed,
            )
        for remote, why in skipped.items():
            if added.skipped.get(remote) != why:
                log.warning("nbstream: MCP server %r: tool %r is left out: %s", connection.name, remote, why)
        added.tools, added.skipped = list(now), skipped

    def _tools(
        self, connection: Connection, taken: set[str], *, relisted: bool
    ) -> tuple[list[MCPTool], dict[str, str]]:
        """The tools the server listed last as nbstream tools, named around ``taken``; the ones left out, with
        the reason. Listed again, a missing tool of ``tools=`` or a name taken twice leaves a tool out instead
        of failing."""
        from ._tool import MCPTool

        server = connection.server
        listed = connection.tools
        if server.tools is not None and not relisted:
            missing = sorted(server.tools - {item.name for item in listed})
            if missing:
                have = ", ".join(item.name for item in listed) or "none"
                raise MCPServerError(
                    f"MCP server {server.name!r} has no tool {', '.join(missing)} (it has: {have})"
                )
        taken = set(taken)
        tools: list[MCPTool] = []
        skipped: dict[str, str] = {}
        for item in listed:
            if server.tools is not None and item.name not in server.tools:
                continue
            try:
                name = _local_name(server, item.name, taken)
            except ConfigurationError as exc:
                if not relisted:
                    raise
                skipped[item.name] = str(exc)
                continue
            try:
                tool = MCPTool.of(connection, item, name)
            except ValueError as exc:
                skipped[item.name] = str(exc)
                continue
            taken.add(name)
            tools.append(tool)
        return tools, skipped

    def _withdraw(self, added: _Added) -> None:
        for name in added.tools:
            if name in self._registry:
                self._registry.remove(name)

    async def _remove(self, name: str) -> None:
        added = self._added.pop(name, None)
        if added is not None:
            self._withdraw(added)
            await added.connection.aclose()

    def __repr__(self) -> str:
        shown = [f"{name}: {self._added[name].connection.state}" for name in self._added]
        shown += [f"{server.name}: not started" for server in self._waiting]
        return f"MCPServers([{', '.join(shown)}])"


def _same(old: MCPTool, new: MCPTool) -> bool:
    """Whether a tool listed again is the one offered already (a new object would change nothing)."""
    return old.remote == new.remote and old.spec == new.spec


def _check(server: object) -> None:
    if not isinstance(server, MCPServer):
        raise TypeError(f"expected an nbstream.MCPServer, not {type(server).__name__}")


def _local_name(server: MCPServer, remote: str, taken: set[str]) -> str:
    """The session's name for the server's tool ``remote``: its own if free (and not ``prefix=True``), else
    ``<server>_<tool>``; ``ConfigurationError`` when that is taken too."""
    own = tool_name_part(remote)[:_MAX_TOOL_NAME] or "tool"
    prefixed = f"{server.name}_{own}"[:_MAX_TOOL_NAME]
    if not server.prefix and own not in taken:
        return own
    if prefixed not in taken:
        return prefixed
    raise ConfigurationError(
        f"MCP server {server.name!r}: its tool {remote!r} cannot be named {own!r} or {prefixed!r}, both are "
        "taken: give the server another name with MCPServer(name=...)"
    )
