"""Just enough HTTP/1.1 for the test server, by hand, so that every byte on the wire is ours to place."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from .._wire import WireFormat

__all__ = [
    "HTML_PAGE",
    "WHOLE_TEXT",
    "BodyWriter",
    "RecordedRequest",
    "error_body",
    "read_request",
    "response_head",
    "whole_answer",
]

ROUTES: dict[str, WireFormat] = {
    "/v1/chat/completions": "openai-chat",
    "/v1/responses": "openai-responses",
    "/v1/messages": "anthropic",
    "/api/chat": "ollama",
}
CONTENT_TYPES: dict[WireFormat, str] = {
    "openai-chat": "text/event-stream; charset=utf-8",
    "openai-responses": "text/event-stream; charset=utf-8",
    "anthropic": "text/event-stream; charset=utf-8",
    "ollama": "application/x-ndjson",
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
        return ROUTES.get(self.path)


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


# Each provider's error body, per HTTP status: (Anthropic error type, OpenAI (type, code), default message).
_ERRORS: dict[int, tuple[str, tuple[str, str | None], str]] = {
    400: ("invalid_request_error", ("invalid_request_error", None), "Invalid request."),
    401: ("authentication_error", ("invalid_request_error", "invalid_api_key"), "Invalid API key."),
    403: ("permission_error", ("invalid_request_error", "permission_denied"), "Permission denied."),
    404: (
        "not_found_error",
        ("invalid_request_error", "model_not_found"),
        "The model {model} does not exist.",
    ),
    429: ("rate_limit_error", ("requests", "rate_limit_exceeded"), "Rate limit reached for requests."),
    500: ("api_error", ("server_error", None), "The server had an error while processing your request."),
    503: ("overloaded_error", ("server_error", None), "The server is overloaded. Please try again later."),
    529: ("overloaded_error", ("server_error", None), "Overloaded"),
}


def error_body(wire: WireFormat | None, status: int, message: str | None, *, model: str, index: int) -> bytes:
    """The JSON error body the provider behind ``wire`` sends with ``status``."""
    anthropic_type, (openai_type, code), default = _ERRORS.get(status, _ERRORS[500])
    text = message if message is not None else default.format(model=model)
    if wire == "anthropic":
        body: dict[str, Any] = {
            "type": "error",
            "error": {"type": anthropic_type, "message": text},
            "request_id": f"req_script_{index}",
        }
    elif wire == "ollama":
        body = {"error": text}
    else:
        body = {"error": {"message": text, "type": openai_type, "param": None, "code": code}}
    return json.dumps(body).encode()


HTML_PAGE = (
    b"<!DOCTYPE html>\n<html>\n<head><title>Welcome</title></head>\n"
    b"<body><h1>It works!</h1><p>This web server answers every path with this page.</p></body>\n</html>\n"
)
WHOLE_TEXT = "This answer came whole, not streamed."


def whole_answer(wire: WireFormat, *, model: str, index: int) -> bytes:
    """The provider's whole non-streamed answer (``"stream": false``), as a server that ignores ``stream``
    sends it."""
    body: dict[str, Any]
    if wire == "openai-chat":
        body = {
            "id": f"chatcmpl-script-{index}",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": WHOLE_TEXT}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 8, "total_tokens": 9},
        }
    elif wire == "openai-responses":
        text = {"type": "output_text", "text": WHOLE_TEXT, "annotations": []}
        body = {
            "id": f"resp_script_{index}",
            "object": "response",
            "status": "completed",
            "model": model,
            "output": [
                {"type": "message", "id": f"msg_script_{index}", "role": "assistant", "content": [text]}
            ],
            "usage": {"input_tokens": 1, "output_tokens": 8, "total_tokens": 9},
        }
    elif wire == "anthropic":
        body = {
            "id": f"msg_script_{index}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": WHOLE_TEXT}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 1, "output_tokens": 8},
        }
    else:
        body = {
            "model": model,
            "created_at": "2025-01-01T00:00:00Z",
            "message": {"role": "assistant", "content": WHOLE_TEXT},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": 1,
            "eval_count": 8,
        }
    return json.dumps(body).encode()
