"""A real MCP server for nbstream's tests, on the SDK's low-level server API: every kind of result and fault.

    python toolbox.py                  serve over stdio
    python toolbox.py --http           serve Streamable HTTP on 127.0.0.1, printing the port on the first line;
                                       with TOOLBOX_TOKEN set, every request needs "Authorization: Bearer <it>"

Options: ``--bad-schemas`` also lists tools whose input schemas nbstream must refuse (and one named with a
dot); ``--hang-at-start`` never answers; ``--fail-at-start`` exits at once after a line on stderr; ``--linger``
keeps the process 60 s after its stdin closes (only a kill ends it sooner).

What the tests check from outside goes to the file named by ``TOOLBOX_LOG``, one line per event: ``started
<pid>`` first, ``call <tool>`` when a call arrives, ``cancelled <tool>`` when one is cancelled, ``notified
<method>`` for each notification (``notifications/cancelled``), ``auth <header>`` for each HTTP request's
Authorization header.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import sys
import time
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

Handler = Callable[[ServerRequestContext[Any], dict[str, Any]], Awaitable[types.CallToolResult]]
TOOLS: list[types.Tool] = []
HANDLERS: dict[str, Handler] = {}
GATE = {"arrived": 0}
GATE_OPEN = anyio.Event()


def note(line: str) -> None:
    path = os.environ.get("TOOLBOX_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as file:
            file.write(line + "\n")


def tool(name: str, properties: dict[str, Any], required: list[str], description: str, **extra: Any):
    def register(handler: Handler) -> Handler:
        schema = {"type": "object", "properties": properties, "required": required}
        TOOLS.append(types.Tool(name=name, description=description, input_schema=schema, **extra))
        HANDLERS[name] = handler
        return handler

    return register


def text(value: str) -> types.TextContent:
    return types.TextContent(type="text", text=value)


def red_square_png(size: int = 2) -> bytes:
    """A tiny PNG, made here so the server needs nothing but the SDK."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode("ascii")


@tool("echo", {"text": {"type": "string"}}, ["text"], "Say the text back.")
async def echo(ctx: ServerRequestContext[Any], arguments: dict[str, Any]) -> types.CallToolResult:
    return types.CallToolResult(content=[text(arguments["text"])])


@tool(
    "add",
    {"a": {"type": "integer"}, "b": {"type": "integer"}},
    ["a", "b"],
    "Add two integers.",
    output_schema={"type": "object", "properties": {"sum": {"type": "integer"}}, "required": ["sum"]},
)
async def add(ctx: ServerRequestContext[Any], arguments: dict[str, Any]) -> types.CallToolResult:
    total = arguments["a"] + arguments["b"]
    return types.CallToolResult(content=[text(f'{{"sum": {total}}}')], structured_content={"sum": total})


@tool(
    "stats", {"values": {"type": "array", "items": {"type": "number"}}}, ["values"], "Count and sum numbers."
)
async def stats(ctx: ServerRequestContext[Any], arguments: dict[str, Any]) -> types.CallToolResult:
    values = arguments["values"]
    return types.CallToolResult(content=[], structured_content={"count": len(values), "total": sum(values)})


@tool("picture", {}, [], "A picture of a red square, with a caption.")
async def picture(ctx: ServerRequestContext[Any], arguments: dict[str, Any]) -> types.CallToolResult:
    image = types.ImageContent(type="image", data=b64(red_square_png()), mime_type="image/png")
    return types.CallToolResult(content=[text("a red square"), image])


@tool("odd_content", {}, [], "Content nbstream cannot show as such.")
async def odd_content(ctx: ServerRequestContext[Any], arguments: dict[str, Any]) -> types.CallToolResult:
    svg = b64(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    return types.CallToolResult(
        content=[
            types.AudioContent(type="audio", data=b64(b"RIFF0000WAVE"), mime_type="audio/wav"),
            types.ImageContent(type="image", data=svg, mime_type="image/svg+xml"),
            types.ResourceLink(type="resource_link", name="report", uri="file:///tmp/report.txt"),
            types.EmbeddedResource(
                type="resource",
                resource=types.TextResourceContents(uri="memo://1", mime_type="text/plain", text="memo text"),
            ),
        ]
    )


@tool(
    "slow",
    {"steps": {"type": "integer", "minimum": 1}, "delay": {"type": "number"}},
    ["steps"],
    "Work in steps, reporting progress after each.",
)
async def slow(ctx: ServerRequestContext[Any], arguments: dict[str, Any]) -> types.CallToolResult:
    steps, delay = arguments["steps"], arguments.get("delay", 0.05)
    try:
        for step in range(1, steps + 1):
            await anyio.sleep(delay)
            await ctx.session.report_progress(step, steps, f"step {step} of {steps}")
    except anyio.get_cancelled_exc_class():
        note("cancelled slow")
        raise
    return types.CallToolResult(content=[text(f"{steps} steps done")])


@tool("hang", {}, [], "Never answer.")
async def hang(ctx: ServerRequestContext[Any], arguments: dict[str, Any]) -> types.CallToolResult:
    try:
        await anyio.sleep_forever()
    except anyio.get_cancelled_exc_class():
        note("cancelled hang")
        raise
    raise AssertionError("unreachable")


@tool("gate", {"n": {"type": "integer"}}, ["n"], "Return once n calls of gate are running at the same time.")
async def gate(ctx: ServerRequestContext[Any], arguments: dict[str, Any]) -> types.CallToolResult:
    GATE["arrived"] += 1
    if GATE["arrived"] >= arguments["n"]:
        GATE_OPEN.set()
    with anyio.move_on_after(10):
        await GATE_OPEN.wait()
        return types.CallToolResult(content=[text(f"{arguments['n']} calls met")])
    return types.CallToolResult(content=[text("alone at the gate")], is_error=True)


@tool(
    "keywords",
    {name: {"type": "string"} for name in ("self", "class", "from", "my-arg")},
    [],
    "Say which arguments arrived (names that are Python keywords or no identifiers at all).",
)
async def keywords(ctx: ServerRequestContext[Any], arguments: dict[str, Any]) -> types.CallToolResult:
    return types.CallToolResult(content=[text(json.dumps(arguments, sort_keys=True))])


@tool("fail", {"message": {"type": "string"}}, ["message"], "Report an error.")
async def fail(ctx: ServerRequestContext[Any], arguments: dict[str, Any]) -> types.CallToolResult:
    return types.CallToolResult(content=[text(arguments["message"])], is_error=True)


@tool("crash", {}, [], "Exit in the middle of the call.")
async def crash(ctx: ServerRequestContext[Any], arguments: dict[str, Any]) -> types.CallToolResult:
    print("toolbox: crashing on purpose", file=sys.stderr, flush=True)
    os._exit(3)


@tool("exit_soon", {}, [], "Answer, then exit a moment later.")
async def exit_soon(ctx: ServerRequestContext[Any], arguments: dict[str, Any]) -> types.CallToolResult:
    def later() -> None:
        time.sleep(0.2)
        os._exit(4)

    import threading

    threading.Thread(target=later, daemon=True).start()
    return types.CallToolResult(content=[text("exiting soon")])


@tool("pid", {}, [], "The server's process id.")
async def pid(ctx: ServerRequestContext[Any], arguments: dict[str, Any]) -> types.CallToolResult:
    return types.CallToolResult(content=[text(str(os.getpid()))])


def bad_schemas() -> None:
    """Tools whose schemas nbstream must leave out, and one whose name needs mending."""
    TOOLS.append(
        types.Tool(name="broken", input_schema={"type": "object", "properties": {"x": {"type": "nonsense"}}})
    )
    TOOLS.append(types.Tool(name="misshapen", input_schema={"type": "object", "required": "x"}))
    TOOLS.append(
        types.Tool(name="notes.read", input_schema={"type": "object"}, description="Read the notes.")
    )
    HANDLERS["notes.read"] = echo_notes


async def echo_notes(ctx: ServerRequestContext[Any], arguments: dict[str, Any]) -> types.CallToolResult:
    return types.CallToolResult(content=[text("the notes")])


async def list_tools(ctx: ServerRequestContext[Any], params: Any) -> types.ListToolsResult:
    return types.ListToolsResult(tools=TOOLS)


async def call_tool(
    ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
) -> types.CallToolResult:
    note(f"call {params.name}")
    handler = HANDLERS.get(params.name)
    if handler is None:
        return types.CallToolResult(content=[text(f"no tool {params.name}")], is_error=True)
    return await handler(ctx, params.arguments or {})


async def note_notifications(ctx: ServerRequestContext[Any], call_next: Any) -> Any:
    """Middleware: ``notified <method>`` for each notification that arrives (``notifications/cancelled``...)."""
    if ctx.request_id is None:
        note(f"notified {ctx.method}")
    return await call_next(ctx)


SERVER = Server("toolbox", on_list_tools=list_tools, on_call_tool=call_tool)
SERVER.middleware.append(note_notifications)


async def serve_stdio() -> None:
    async with stdio_server() as (read, write):
        await SERVER.run(read, write, SERVER.create_initialization_options())


class RequireToken:
    """ASGI middleware: 401 without the bearer token, and a note of what each request carried."""

    def __init__(self, app: Any, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            given = dict(scope["headers"]).get(b"authorization", b"").decode()
            note(f"auth {given}")
            if self.token is not None and given != f"Bearer {self.token}":
                await send({"type": "http.response.start", "status": 401, "headers": []})
                await send({"type": "http.response.body", "body": b"unauthorized"})
                return
        await self.app(scope, receive, send)


def serve_http() -> None:
    import uvicorn

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    print(listener.getsockname()[1], flush=True)
    app = RequireToken(SERVER.streamable_http_app(), os.environ.get("TOOLBOX_TOKEN"))
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    anyio.run(uvicorn.Server(config).serve, [listener])


def main(arguments: list[str]) -> None:
    note(f"started {os.getpid()}")
    if "--fail-at-start" in arguments:
        print("toolbox: cannot open the database /nonexistent/db", file=sys.stderr, flush=True)
        sys.exit(2)
    if "--hang-at-start" in arguments:
        print("toolbox: warming up forever", file=sys.stderr, flush=True)
        time.sleep(3600)
    if "--bad-schemas" in arguments:
        bad_schemas()
    if "--http" in arguments:
        serve_http()
        return
    anyio.run(serve_stdio)
    if "--linger" in arguments:
        time.sleep(60)


if __name__ == "__main__":
    main(sys.argv[1:])
