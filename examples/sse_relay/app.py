"""Relay a tool-using turn to a web page over Server-Sent Events, with Starlette.

    pip install "nbstream[relay]"            # starlette + uvicorn
    python examples/sse_relay/app.py         # then open http://127.0.0.1:8000

``GET /`` serves ``index.html``: it reads ``/chat?prompt=...`` with the browser's ``EventSource`` and shows the
answer as it streams, each tool call's arguments, its status (running, with a timer) and its result.
``GET /chat?prompt=...`` runs one turn and streams ``nbstream.to_sse(session.send(prompt))`` with
``nbstream.SSE_HEADERS``: one SSE event per normalized event, named by its ``type``, plus a ``: keep-alive``
comment during silences (a slow tool) so that no proxy times the connection out.

The offline demo model calls ``slow_sum`` (2 s) when asked "What is 2 + 3?" and keeps talking while it runs.
When the page goes away (closed, reloaded, Stop pressed: ``EventSource.close()``), uvicorn reports the
disconnect, Starlette stops the response, ``to_sse`` closes the turn's stream and the turn is cancelled: the
model's stream is closed and ``slow_sum`` gets ``CancelledError``. ``--debug`` adds ``GET /debug/tools``, the
counts of ``slow_sum`` calls started, finished and cancelled (the browser test reads it).

Each request gets its own ``Session`` (a session runs one turn at a time and keeps one conversation); a real
model is one argument away: ``Session(model="anthropic:claude-sonnet-4-5", tools=[...])``, and then close it
when the response ends (``await session.aclose()``) to release its HTTP client.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import asdict, dataclass
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from nbstream import SSE_HEADERS, DemoModel, Session, to_sse

PAGE = Path(__file__).with_name("index.html")


@dataclass
class ToolStats:
    """What happened to ``slow_sum`` calls in this process."""

    started: int = 0
    finished: int = 0
    cancelled: int = 0


def create_app(
    *,
    tool_seconds: float = 2.0,
    chars_per_second: float = 100.0,
    heartbeat: float = 15.0,
    debug: bool = False,
) -> Starlette:
    """The relay app: ``/`` (the page), ``/chat`` (the turn as SSE) and, with ``debug``, ``/debug/tools``."""
    stats = ToolStats()

    async def slow_sum(a: int, b: int) -> int:
        """Add two integers, slowly.

        Args:
            a: first addend
            b: second addend
        """
        stats.started += 1
        try:
            await asyncio.sleep(tool_seconds)
        except asyncio.CancelledError:  # the client went away: the turn was cancelled
            stats.cancelled += 1
            raise
        stats.finished += 1
        return a + b

    async def page(request: Request) -> Response:
        return FileResponse(PAGE, media_type="text/html; charset=utf-8")

    async def chat(request: Request) -> Response:
        prompt = request.query_params.get("prompt", "").strip()
        if not prompt:
            return PlainTextResponse("ask something: /chat?prompt=...", status_code=400)
        session = Session(model=DemoModel(chars_per_second=chars_per_second), tools=[slow_sum])
        headers = dict(SSE_HEADERS)
        if request.scope.get("http_version") not in ("1.0", "1.1"):
            del headers["Connection"]  # connection-specific headers are forbidden in HTTP/2 and 3
        return StreamingResponse(to_sse(session.send(prompt), heartbeat=heartbeat), headers=headers)

    async def tool_stats(request: Request) -> Response:
        return JSONResponse(asdict(stats))

    routes = [Route("/", page), Route("/chat", chat)]
    if debug:
        routes.append(Route("/debug/tools", tool_stats))
    return Starlette(routes=routes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--debug", action="store_true", help="serve /debug/tools (slow_sum call counts)")
    args = parser.parse_args()
    uvicorn.run(create_app(debug=args.debug), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
