"""Endpoints that are wrong, against real loopback HTTP: a base_url httpx cannot send to fails when the session is
made; an answer that is not the provider's stream (an HTML page, one JSON document, a redirect, a body that
does not decompress) ends as a ``bad_response`` error that says what came back; a query string in an Anthropic
base_url stays a query string."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest
from helpers import events_of, texts

from nbstream import ConfigurationError, Event, Session, StreamError, TurnFinished
from nbstream._encode import encode_step
from nbstream._providers import PROVIDERS, WIRE_FORMATS, WireFormat, for_wire
from nbstream._transport import HttpModel
from nbstream.testing import BadContentEncoding, NotAStream, ProviderServer, Redirect, Say
from nbstream.testing._http import WHOLE_TEXT, read_request

SSE_WIRES = [wire for wire in WIRE_FORMATS if for_wire(wire).framing == "sse"]
SECRET = "sk-nbstream-SECRET-0123456789"
HELLO = [Say("Hello from the stream.")]


async def run_turn(provider: str, base_url: str, **options: Any) -> list[Event]:
    options.setdefault("api_key", "test")
    session = Session(model=f"{provider}:m", base_url=base_url, **options)
    try:
        return await events_of(session, "Hi")
    finally:
        await session.aclose()


def the_error(events: list[Event]) -> StreamError:
    (error,) = [e for e in events if isinstance(e, StreamError)]
    finished = events[-1]
    assert isinstance(finished, TurnFinished) and finished.reason == "error"
    assert error.message in (finished.message or "")
    return error


@asynccontextmanager
async def raw_server(head: bytes, pieces: Sequence[bytes], *, pause: float = 0.0) -> AsyncIterator[str]:
    """An HTTP server that answers every request with ``head`` then ``pieces`` (each flushed on its own,
    ``pause`` s apart) and closes the connection; yields its root URL."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader, 0)
        writer.write(head)
        for piece in pieces:
            await writer.drain()
            await asyncio.sleep(pause)
            writer.write(piece)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    async with server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


def ok_head(content_type: str, *extra: str) -> bytes:
    lines = ["HTTP/1.1 200 OK", f"content-type: {content_type}", "connection: close", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def stream_bytes(wire: WireFormat) -> list[bytes]:
    return [
        frame.data for frame in encode_step(for_wire(wire).encoder, HELLO, step=0, model="m", input_tokens=1)
    ]


# --- base_url mistakes fail when the session is made ------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "base_url", "message"),
    [
        (
            "openai",
            "127.0.0.1:8000/v1",
            "base_url '127.0.0.1:8000/v1' has no scheme: use 'http://127.0.0.1:8000/v1'",
        ),
        (
            "ollama",
            "localhost:11434",
            "base_url 'localhost:11434' has no scheme: use 'http://localhost:11434'",
        ),
        ("openai", "api.example.com/v1", "has no scheme: use 'https://api.example.com/v1'"),
        (
            "anthropic",
            "ftp://127.0.0.1:8000/v1",
            "uses ftp:, which is not HTTP: use 'http://127.0.0.1:8000/v1'",
        ),
        ("openai-responses", "ws://h:1/v1", "uses ws:, which is not HTTP: use 'http://h:1/v1'"),
        ("openai", "http:/127.0.0.1:8000/v1", "does not start with http://: use 'http://127.0.0.1:8000/v1'"),
        ("openai", "http://", "base_url has no host"),
        ("openai", "http://127.0.0.1:port/v1", "base_url is not a valid URL: Invalid port"),
    ],
)
def test_a_base_url_httpx_cannot_send_to_fails_when_the_session_is_made(
    provider: str, base_url: str, message: str
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Session(model=f"{provider}:m", base_url=base_url, api_key="test")
    assert message in str(raised.value)
    with pytest.raises(ConfigurationError, match="base_url"):  # the model alone checks it too
        HttpModel(PROVIDERS[provider], "m", api_key=None, base_url=base_url)


def test_a_bad_base_url_message_shows_no_credentials() -> None:
    with pytest.raises(ConfigurationError) as raised:
        Session(model="openai:m", base_url=f"ws://someone:pw-{SECRET}@h:1/v1?key={SECRET}", api_key="test")
    assert str(raised.value) == "base_url 'ws://h:1/v1?…' uses ws:, which is not HTTP: use 'http://h:1/v1?…'"


def test_a_wrong_ollama_host_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "ftp://127.0.0.1:11434")
    with pytest.raises(ConfigurationError, match="^OLLAMA_HOST 'ftp://127.0.0.1:11434' uses ftp:"):
        Session(model="ollama:m")


async def test_blanks_around_a_base_url_are_dropped() -> None:
    async with ProviderServer([HELLO]) as server:
        events = await run_turn("openai", f"  {server.base_url('openai')}\n")
    assert texts(events) == "Hello from the stream."


# --- an Anthropic base_url with a query string ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1", "", "/v1/"])
async def test_an_anthropic_base_url_keeps_its_query_at_the_end(path: str) -> None:
    async with ProviderServer([HELLO]) as server:
        events = await run_turn("anthropic", f"{server.url}{path}?beta=true")
    assert texts(events) == "Hello from the stream."
    (request,) = server.requests
    assert (request.path, request.query) == ("/v1/messages", "beta=true")


# --- answers that are not a stream -------------------------------------------------------------------------------


async def test_an_html_page_is_a_bad_response_that_says_what_came_back(wire: WireFormat) -> None:
    async with ProviderServer([HELLO], faults=[NotAStream()]) as server:
        events = await run_turn(for_wire(wire).name, server.base_url(wire))
    error = the_error(events)
    assert error.kind == "bad_response" and not error.retryable
    assert error.message.startswith(f"HTTP 200 from {server.url}")
    assert "content-type 'text/html; charset=utf-8'" in error.message and "an HTML page" in error.message
    assert "The body begins '<!DOCTYPE html> <html> <head><title>Welcome</title>" in error.message
    assert "end marker" not in error.message
    assert len(server.requests) == 1  # not retried


@pytest.mark.parametrize("wire", SSE_WIRES)
async def test_one_json_document_instead_of_an_event_stream_is_a_bad_response(wire: WireFormat) -> None:
    async with ProviderServer([HELLO], faults=[NotAStream("application/json")]) as server:
        events = await run_turn(for_wire(wire).name, server.base_url(wire))
    error = the_error(events)
    assert error.kind == "bad_response" and "content-type 'application/json'" in error.message
    assert 'does the server ignore "stream": true?' in error.message
    assert "The body begins '{" in error.message and "end marker" not in error.message
    assert len(server.requests) == 1


async def test_ollama_reads_its_whole_answer_as_one_line_of_its_stream() -> None:
    async with ProviderServer([HELLO], faults=[NotAStream("application/json")]) as server:
        events = await run_turn("ollama", server.base_url("ollama"))
    assert texts(events) == WHOLE_TEXT
    assert isinstance(events[-1], TurnFinished) and events[-1].reason == "done"


async def test_ollama_ndjson_labelled_application_json_still_streams() -> None:
    pieces = [piece for line in stream_bytes("ollama") for piece in (line[:7], line[7:])]  # cut inside lines
    async with raw_server(ok_head("application/json; charset=utf-8"), pieces, pause=0.01) as root:
        events = await run_turn("ollama", root)
    assert texts(events) == "Hello from the stream."


async def test_json_that_is_not_ollamas_shape_is_a_bad_response_for_ollama() -> None:
    body = b'{"object": "chat.completion", "choices": []}'
    async with ProviderServer([HELLO], faults=[NotAStream("application/json", body)]) as server:
        events = await run_turn("ollama", server.base_url("ollama"))
    error = the_error(events)
    assert error.kind == "bad_response"
    assert (
        "one JSON document, not Ollama's NDJSON stream" in error.message
        and "chat.completion" in error.message
    )
    pretty = json.dumps({"object": "chat.completion", "choices": [{"text": "x" * 300}]}, indent=2).encode()
    async with raw_server(ok_head("application/json"), [pretty[:20], pretty[20:]], pause=0.01) as root:
        events = await run_turn("ollama", root)  # read to its end before it is judged
    assert "one JSON document" in the_error(events).message


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", ""])
async def test_a_valid_stream_under_an_odd_content_type_still_streams(
    wire: WireFormat, content_type: str
) -> None:
    body = b"".join(stream_bytes(wire))
    async with ProviderServer([], faults=[NotAStream(content_type, body)]) as server:
        events = await run_turn(for_wire(wire).name, server.base_url(wire))
    assert texts(events) == "Hello from the stream."
    assert isinstance(events[-1], TurnFinished) and events[-1].reason == "done"


async def test_a_key_echoed_in_a_page_is_blanked_out() -> None:
    page = f"<html><body>Debug: Authorization: Bearer {SECRET}</body></html>".encode()
    async with ProviderServer([HELLO], faults=[NotAStream(body=page)]) as server:
        events = await run_turn("openai", server.base_url("openai"), api_key=SECRET)
    error = the_error(events)
    assert "Bearer [redacted]" in error.message and SECRET not in error.message


# --- redirects are reported, never followed --------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_a_redirect_is_not_followed_and_says_where_to_point_base_url(
    wire: WireFormat, status: int
) -> None:
    provider = for_wire(wire).name
    async with ProviderServer([HELLO]) as target:
        location = target.base_url(provider) + PROVIDERS[provider].path
        async with ProviderServer([HELLO], faults=[Redirect(status, location=location)]) as server:
            events = await run_turn(provider, server.base_url(provider), api_key=SECRET)
    error = the_error(events)
    assert error.kind == "bad_response" and not error.retryable
    assert error.message.startswith(f"HTTP {status} from {server.url}")
    assert f"a redirect to {location}; nbstream does not follow redirects" in error.message
    assert error.message.endswith(f"set base_url={target.base_url(provider)!r}")
    assert len(server.requests) == 1 and target.requests == []  # the key never went to the other host


async def test_a_redirect_elsewhere_shows_no_credentials_and_no_query() -> None:
    location = f"https://someone:pw-{SECRET}@login.example/sso?token={SECRET}"
    async with ProviderServer([HELLO], faults=[Redirect(302, location=location)]) as server:
        events = await run_turn("openai", server.base_url("openai"))
    error = the_error(events)
    assert "a redirect to https://login.example/sso?…;" in error.message and SECRET not in error.message
    assert error.message.endswith("if that is the API's new address, set base_url to it")


async def test_a_relative_redirect_and_one_without_location() -> None:
    async with ProviderServer([HELLO], faults=[Redirect(308, location="/v2/chat/completions")]) as server:
        events = await run_turn("openai", server.base_url("openai"))
    assert the_error(events).message.endswith(f"set base_url='{server.url}/v2'")
    head = b"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    async with raw_server(head, []) as root:
        events = await run_turn("openai", root + "/v1")
    assert (
        the_error(events).message
        == f"HTTP 302 from {root}/v1/chat/completions, a redirect with no usable Location; check base_url"
    )


# --- bodies that do not decompress -------------------------------------------------------------------------------


async def test_a_body_that_does_not_decompress_is_a_bad_response(wire: WireFormat) -> None:
    async with ProviderServer([HELLO], faults=[BadContentEncoding()]) as server:
        events = await run_turn(for_wire(wire).name, server.base_url(wire))
    error = the_error(events)
    assert error.kind == "bad_response" and not error.retryable
    assert error.message.startswith(f"HTTP 200 from {server.url}") and "could not be decoded" in error.message
    assert "content-encoding 'gzip'" in error.message and "incorrect header check" in error.message
    assert len(server.requests) == 1


async def test_gzip_garbage_and_a_cut_gzip_error_body() -> None:
    async with raw_server(
        ok_head("text/event-stream", "content-encoding: gzip"), [b"\x1f\x8b garbage"]
    ) as root:
        events = await run_turn("anthropic", root)
    assert the_error(events).kind == "bad_response"
    broken = gzip.compress(b'{"error": {"message": "boom"}}')[:-12] + b"garbage!!!!!"
    head = (
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\n"
        f"content-length: {len(broken)}\r\nconnection: close\r\n\r\n"
    ).encode()
    async with raw_server(head, [broken]) as root:
        events = await run_turn("openai", root + "/v1")
    error = the_error(events)
    assert (
        error.kind == "bad_response" and error.message.startswith("HTTP 400 from") and "gzip" in error.message
    )
