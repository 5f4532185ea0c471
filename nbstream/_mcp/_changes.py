"""Listing one client's tools: at the start, and again each time the server says they changed.

A server whose tools may change says so in its capabilities (``tools.listChanged``) and then sends
``notifications/tools/list_changed``: unsolicited before protocol 2026-07-28, from then on only on a
``subscriptions/listen`` stream the client holds open. The watched read stream (``_watch``) notes each notice as
it is read, which is the only place that knows a notice came before the answer that followed it (the SDK hands
notifications and listen events to tasks of their own). Each notice makes one more listing (notices heard
during a listing make the next one), and a call answered after a notice waits for that listing: so the
model's next step is offered the tools the server has now.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

__all__ = ["ToolChanges"]

log = logging.getLogger("nbstream")

_TOOL_PAGES = 100  # tools/list pages read at most (a server that paginates forever cannot hang a start)


class ToolChanges:
    """The notices of tool changes one client heard, and the listings that followed them."""

    def __init__(self, name: str, timeout: float, offer: Callable[[list[Any]], None]) -> None:
        self._name = name
        self._timeout = timeout  # a listing after a notice is bounded as the first one (startup_timeout)
        self._offer = offer  # takes each new listing, on the client's loop
        self._heard = 0  # notices heard
        self._listed = 0  # how many of them the last listing came after (tried, at least)
        self._notice = asyncio.Event()  # a notice no listing has followed yet
        self._relisted = asyncio.Event()  # set, and replaced, after each listing
        self._ended = False

    def heard(self) -> None:
        """The server said its tools changed (called as the notice is read)."""
        self._heard += 1
        self._notice.set()

    async def list_tools(self, client: Any) -> list[Any]:
        """Every page of the server's tools, bounded; the notices heard so far are then listed after."""
        heard = self._heard
        tools: list[Any] = []
        cursor: str | None = None
        for _ in range(_TOOL_PAGES):
            page = await client.list_tools(cursor=cursor)
            tools.extend(page.tools)
            cursor = page.next_cursor
            if cursor is None:
                break
        self._listed_after(heard)
        return tools

    async def caught_up(self) -> None:
        """Wait until a listing has followed every notice heard so far, or the client is gone."""
        heard = self._heard
        while self._listed < heard and not self._ended:
            await self._relisted.wait()

    async def follow(self, client: Any, gone: asyncio.Event) -> None:
        """List the tools again after each notice, until cancelled; once ``gone`` is set (the client's end), a
        failed listing is no news. Never raises: the task that owns the client must outlive a bad answer."""
        import anyio

        async with anyio.create_task_group() as group:
            if _tells_changes_on_listen(client):
                group.start_soon(self._listen, client)
            while True:
                await self._notice.wait()
                self._notice.clear()
                heard = self._heard
                with anyio.move_on_after(self._timeout) as bound:
                    try:
                        tools = await self.list_tools(client)
                    except Exception as exc:
                        if not gone.is_set():
                            log.warning(
                                "nbstream: MCP server %r said its tools changed, but listing them failed "
                                "(%s: %s); its tools stay as they were",
                                self._name,
                                type(exc).__name__,
                                exc,
                            )
                    else:
                        log.debug("nbstream: MCP server %r listed its %d tools again", self._name, len(tools))
                        self._offer(tools)
                if bound.cancelled_caught:
                    log.warning(
                        "nbstream: MCP server %r said its tools changed, but did not list them within %g s "
                        "(startup_timeout); its tools stay as they were",
                        self._name,
                        self._timeout,
                    )
                self._listed_after(heard)

    def end(self) -> None:
        """The client is gone: calls waiting for a listing wait no more."""
        self._ended = True
        self._listed_after(self._listed)

    async def _listen(self, client: Any) -> None:
        """Hold a ``subscriptions/listen`` stream open; its notices are noted by the watched read stream."""
        try:
            async with client.listen(tools_list_changed=True) as subscription:
                self.heard()  # no replay: a change before the stream opened is seen by listing once more
                async for _notice in subscription:
                    pass
            log.debug("nbstream: MCP server %r closed the stream of its tool changes", self._name)
        except Exception as exc:  # refused, or lost: the server went away or dropped the stream
            log.debug("nbstream: MCP server %r sends no more notices of tool changes: %s", self._name, exc)

    def _listed_after(self, heard: int) -> None:
        self._listed = max(self._listed, heard)
        relisted, self._relisted = self._relisted, asyncio.Event()
        relisted.set()


def _tells_changes_on_listen(client: Any) -> bool:
    """Whether the server says its tools may change and, at its protocol version, tells only listeners."""
    from mcp_types.version import MODERN_PROTOCOL_VERSIONS

    session = client.session
    tools = getattr(session.server_capabilities, "tools", None)
    return (
        bool(getattr(tools, "list_changed", False)) and session.protocol_version in MODERN_PROTOCOL_VERSIONS
    )
