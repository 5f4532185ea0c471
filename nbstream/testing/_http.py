"""Just enough HTTP/1.1 for the test server, by hand, so that every byte on the wire is ours to place."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from .._providers import PROVIDERS, Framing, Provider, WireFormat

__all__ = [
    "CONTENT_TYPES",
    "HTML_PAGE",
    "ROUTES",
    "WHOLE_TEXT",
    "BodyWriter",
    "RecordedRequest",
    "error_body",
    "read_request",
    "response_head",
]

ROUTES: dict[str, Provider] = {p.base_path + p.path: p for p in reversed(list(PROVIDERS.values()))}
"""Each provider's endpoint, as its default base URL places it (``/v1/messages``, ``/api/chat``); where two
share one, the first registered answers."""
CONTENT_TYPES: dict[Framing, str] = {
    "sse": "text/event-stream; charset=utf-8",
    "ndjson": "application/x-ndjson",
}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it. ``headers`` keys are lower-case; ``json`` is ``None`` when the
    body is not JSON; ``query`` is what followed ``?`` in the request target (``""`` if nothing)."""

    index: int
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any = field(default=None)
    query: str = ""

    @property
    def wire(self) -> WireFormat | None:
        provider = ROUTES.get(self.path)
        return provider.wire if provider is not None else None


class BadRequest(Exception):
    """The client sent something that is not HTTP/1.1 as this server speaks it."""


async def read_request(reader: asyncio.StreamReader, index: int) -> RecordedRequest | None:
    """The next request on the connection, or ``None`` when the client closed it."""
    line = await reader.readline()
    if not line.strip():
        return None
    try:
        method, target, _version = line.decode("latin-1").split()
    except ValueError as error:
        raise BadRequest(f"bad request line {line[:80]!r}") from error
    headers: dict[str, str] = {}
    while True:
        header = await reader.readline()
        if header in (b"\r\n", b"\n", b""):
            break
        name, _, value = header.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = await _read_chunked(reader)
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    path, _, query = target.partition("?")
    return RecordedRequest(index, method, path, headers, body, parsed, query)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    pieces: list[bytes] = []
    while True:
        size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(pieces)
        pieces.append(await reader.readexactly(size))
        await reader.readexactly(2)


def response_head(status: int, headers: dict[str, str]) -> bytes:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Overloaded" if status == 529 else "Error"
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class BodyWriter:
    """Writes a response body piece by piece, each piece flushed on its own (one HTTP chunk when chunked)."""

    def __init__(self, writer: asyncio.StreamWriter, *, chunked: bool) -> None:
        self.writer = writer
        self.chunked = chunked
        self.sent = 0

    async def write(self, data: bytes) -> None:
        if not data:
            return
        self.writer.write(b"%x\r\n%s\r\n" % (len(data), data) if self.chunked else data)
        await self.writer.drain()
        self.sent += len(data)

    async def finish(self) -> None:
        if self.chunked:
            self.writer.write(b"0\r\n\r\n")
            await self.writer.drain()


_MESSAGES: dict[int, str] = {  # what the providers say, more or less, with each status
    400: "Invalid request.",
    401: "Invalid API key.",
    403: "Permission denied.",
    404: "The model {model} does not exist.",
    429: "Rate limit reached for requests.",
    500: "The server had an error while processing your request.",
    503: "The server is overloaded. Please try again later.",
    529: "Overloaded",
}


def error_body(
    provider: Provider | None, status: int, message: str | None, *, model: str, index: int
) -> bytes:
    """The JSON error body ``provider`` sends with ``status``; with no provider (no route), a bare one."""
    text = message if message is not None else _MESSAGES.get(status, _MESSAGES[500]).format(model=model)
    body = provider.error_body(status, text, index=index) if provider else {"error": {"message": text}}
    return json.dumps(body).encode()


HTML_PAGE = (
    b"<!DOCTYPE html>\n<html>\n<head><title>Welcome</title></head>\n"
    b"<body><h1>It works!</h1><p>This web server answers every path with this page.</p></body>\n</html>\n"
)
WHOLE_TEXT = "This answer came whole, not streamed."
