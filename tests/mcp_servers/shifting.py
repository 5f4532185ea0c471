"""A real MCP server whose tools change, on the SDK's low-level server API, saying so as the spec asks.

    python shifting.py                 serve stdio in the era the client opens (2026-07-28 for the SDK's client:
                                       the notice goes to the client's subscriptions/listen stream)
    python shifting.py --handshake     serve only the 2025 handshake era, as most servers do today (the notice
                                       is an unsolicited notifications/tools/list_changed)

It starts with ``alpha``, ``gauge`` (takes ``n``) and ``crash``. Calling ``alpha`` swaps it for ``beta`` and
makes ``gauge`` require a ``unit`` too, then tells the client its tools changed and answers. With
``--fail-relist`` every tools/list after the swap fails. A call to a tool it does not offer (any more) is an
``isError`` result.

Answering ``alpha``: a handshake-era notice is written before the answer, as the server awaits it; a listen
stream's notice is written by a task of its own, in no set order with the answer, so in that era ``alpha``
answers once the client has asked for the tools again (or after 10 s): a test then sees one order.

Notes go to the file named by ``TOOLBOX_LOG``: ``started <pid>``, ``call <tool>``, ``listed <names>``.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.lowlevel.server import NotificationOptions
from mcp.server.runner import serve_loop
from mcp.server.stdio import stdio_server
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler, ToolsListChanged
from toolbox import note, text

FLAGS = set(sys.argv[1:])
BUS = InMemorySubscriptionBus()
STATE = {"swapped": False}
RELISTED = anyio.Event()  # the client asked for the tools after the swap


def schema(**properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": sorted(properties)}


def tools() -> list[types.Tool]:
    """What the server offers now."""
    integer, string = {"type": "integer"}, {"type": "string"}
    if not STATE["swapped"]:
        first = types.Tool(
            name="alpha", description="Say hello; then swap.", input_schema=schema(text=string)
        )
        gauge = types.Tool(name="gauge", description="Measure n.", input_schema=schema(n=integer))
    else:
        first = types.Tool(name="beta", description="The tool after the swap.", input_schema=schema())
        gauge = types.Tool(
            name="gauge", description="Measure n in a unit.", input_schema=schema(n=integer, unit=string)
        )
    crash = types.Tool(name="crash", description="Exit in the middle of the call.", input_schema=schema())
    return [first, gauge, crash]


async def list_tools(ctx: ServerRequestContext[Any], params: Any) -> types.ListToolsResult:
    listed = tools()
    note(f"listed {','.join(tool.name for tool in listed)}")
    if STATE["swapped"]:
        RELISTED.set()
        if "--fail-relist" in FLAGS:
            raise ValueError("the tool catalogue is being rebuilt")
    return types.ListToolsResult(tools=listed)


async def call_tool(
    ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
) -> types.CallToolResult:
    note(f"call {params.name}")
    arguments = params.arguments or {}
    if params.name not in {tool.name for tool in tools()}:
        return types.CallToolResult(content=[text(f"no tool {params.name}")], is_error=True)
    if params.name == "crash":
        os._exit(3)
    if params.name == "gauge":
        return types.CallToolResult(content=[text(f"{arguments['n']} {arguments.get('unit', 'units')}")])
    if params.name == "beta":
        return types.CallToolResult(content=[text("beta here")])
    STATE["swapped"] = True
    if "--handshake" in FLAGS:
        await ctx.session.send_tool_list_changed()
    else:
        await BUS.publish(ToolsListChanged())
        with anyio.move_on_after(10):
            await RELISTED.wait()
    return types.CallToolResult(content=[text(f"alpha: {arguments['text']}")])


SERVER = Server(
    "shifting", on_list_tools=list_tools, on_call_tool=call_tool, on_subscriptions_listen=ListenHandler(BUS)
)


async def serve() -> None:
    async with stdio_server() as (read, write):
        if "--handshake" not in FLAGS:
            await SERVER.run(read, write, SERVER.create_initialization_options())
            return
        options = SERVER.create_initialization_options(NotificationOptions(tools_changed=True))
        async with SERVER.lifespan(SERVER) as state:
            await serve_loop(SERVER, read, write, lifespan_state=state, init_options=options)


if __name__ == "__main__":
    note(f"started {os.getpid()}")
    anyio.run(serve)
