"""nbstream.testing.ProviderServer: real HTTP on 127.0.0.1, exact provider bytes, faults that do as named."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from typing import Any

import httpx
import pytest
from helpers import events_of, texts

from nbstream._events import StreamError, ToolResult, TurnFinished
from nbstream._messages import AssistantMessage, ToolCall, ToolResultMessage, UserMessage
from nbstream._model import ModelRequest, ToolSpec
from nbstream._parse import collect, parse_stream
from nbstream._providers import WireFormat, for_wire
from nbstream._session import Session
from nbstream.testing import (
    BadContentEncoding,
    Call,
    DropConnection,
    Duplicate,
    HttpStatus,
    Latency,
    MalformedEvent,
    NotAStream,
    ProviderError,
    ProviderServer,
    Redirect,
    Say,
    SlowHeaders,
    Stall,
    Think,
    Truncate,
    demo_steps,
    request_from_json,
)
from nbstream.testing._http import HTML_PAGE, WHOLE_TEXT

STEP = [
    Say("Let me add these numbers, ünïcode ✓ included."),
    Call("slow_sum", {"a": 2, "b": 3}),
    Say("More text after the call.", chunk=1),
]
STEP_TEXT = "Let me add these numbers, ünïcode ✓ included.More text after the call."
BODY = {"model": "test-model", "messages": [{"role": "user", "content": "add 2 and 3"}], "stream": True}


def url(server: ProviderServer, wire: WireFormat) -> str:
    return server.base_url(wire) + for_wire(wire).path


async def stream_message(
    server: ProviderServer, wire: WireFormat, body: dict[str, Any] = BODY
) -> AssistantMessage:
    async with httpx.AsyncClient() as client, client.stream("POST", url(server, wire), json=body) as response:
        assert response.status_code == 200
        return await collect(parse_stream(wire, response.aiter_bytes()))


def raw_exchange(
    server: ProviderServer, wire: WireFormat, body: dict[str, Any] = BODY
) -> tuple[bytes, list[bytes]]:
    """POST over a bare socket; return the response head and the body's HTTP chunks exactly as framed."""
    payload = json.dumps(body).encode()
    path = for_wire(wire).base_path + for_wire(wire).path
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    ).encode() + payload
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while piece := sock.recv(65536):
            data += piece
    head, _, rest = data.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" not in head.lower():
        return head, [rest]
    chunks = []
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        chunks.append(rest[:size])
        assert rest[size : size + 2] == b"\r\n"
        rest = rest[size + 2 :]
    return head, chunks


def server_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "nbstream-provider-server"]


# --- routes and the recorded requests ------------------------------------------------------------------


@pytest.mark.parametrize("framing", ["chunked", "close"])
async def test_each_route_streams_what_parse_stream_reads(wire: WireFormat, framing: Any) -> None:
    async with ProviderServer([STEP], seed=11, framing=framing) as server:
        message = await stream_message(server, wire)
    assert message.error is None
    assert message.text == STEP_TEXT
    assert [(c.name, c.arguments) for c in message.tool_calls] == [("slow_sum", {"a": 2, "b": 3})]
    assert message.stop_reason == "tool_calls"


async def test_a_step_that_thinks_is_kept_as_the_client_reads_it(wire: WireFormat) -> None:
    """``served`` keeps the responses of the steps that thought (with seeds, re-chunked): the ones later
    requests must carry the reasoning of; a step without ``Think`` is not kept."""
    async with ProviderServer([[Say("No thought.")], [Think("Hmm, add."), *STEP]], seed=3) as server:
        await stream_message(server, wire)
        message = await stream_message(server, wire)
    (served,) = server.served
    assert served.reasoning == message.reasoning  # signatures and encrypted content included
    assert [b.text for b in served.reasoning] == ["Hmm, add."] and served.tool_calls == message.tool_calls


def test_requests_are_recorded_and_base_urls_match_the_providers() -> None:
    with ProviderServer([[Say("hi")]]) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.base_url("anthropic") == server.url + "/v1"
        assert server.base_url("openai") == server.url + "/v1"
        assert server.base_url("ollama") == server.url
        assert server.base_url("gemini") == server.url + "/v1beta/openai"
        assert server.base_url("openai-chat") == server.url + "/v1"  # a wire format names its provider
        with pytest.raises(ValueError, match="unknown provider"):
            server.base_url("bedrock")
        response = httpx.post(url(server, "anthropic"), json=BODY, headers={"x-api-key": "test"})
        assert response.status_code == 200
        (recorded,) = server.requests
    assert (recorded.index, recorded.method, recorded.path, recorded.wire) == (
        0,
        "POST",
        "/v1/messages",
        "anthropic",
    )
    assert recorded.headers["x-api-key"] == "test"
    assert recorded.json == BODY
    assert server.steps_served == 1


def test_script_exhausted_unknown_route_wrong_method_and_bad_json_get_clear_errors() -> None:
    with ProviderServer([[Say("only one")]]) as server, httpx.Client() as client:
        assert client.post(url(server, "openai-chat"), json=BODY).status_code == 200
        exhausted = client.post(url(server, "openai-chat"), json=BODY)
        assert exhausted.status_code == 500
        assert "no step 2" in exhausted.json()["error"]["message"]
        missing = client.post(server.url + "/v1/embeddings", json=BODY)
        assert missing.status_code == 404 and "no route" in missing.text
        assert client.get(url(server, "anthropic")).status_code == 405
        bad = client.post(url(server, "ollama"), content=b"{not json")
        assert bad.status_code == 400 and "error" in bad.json()
        assert [r.index for r in server.requests] == [0, 1, 2, 3, 4]


def test_a_callable_script_sees_each_request() -> None:
    seen: list[Any] = []

    def step(body: Any) -> list[Say]:
        seen.append(body)
        return [Say(f"you said {body['messages'][-1]['content']}")]

    with ProviderServer(step) as server:
        for word in ("one", "two"):
            body = {**BODY, "messages": [{"role": "user", "content": word}]}
            message = asyncio.run(stream_message(server, "ollama", body))
            assert message.text == f"you said {word}"
    assert [b["messages"][0]["content"] for b in seen] == ["one", "two"]


# --- byte-level behaviour ------------------------------------------------------------------------------


def test_without_faults_every_http_chunk_is_one_whole_frame(wire: WireFormat) -> None:
    with ProviderServer([STEP]) as server:
        head, chunks = raw_exchange(server, wire)
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    separator = b"\n" if for_wire(wire).framing == "ndjson" else b"\n\n"
    assert all(c.endswith(separator) and c.count(separator) == 1 for c in chunks)
    parsed = collect(parse_stream(wire, chunks))
    assert parsed.text == STEP_TEXT


def test_rechunking_splits_inside_and_across_frames_deterministically(wire: WireFormat) -> None:
    with ProviderServer([STEP, STEP, STEP], seed=5) as server:
        _, plain_chunks = raw_exchange(server, wire)  # request 0: rechunked as well
        _, again = raw_exchange(server, wire)
    with ProviderServer([STEP]) as reference:
        _, frames = raw_exchange(reference, wire)
    body = b"".join(frames)
    assert b"".join(plain_chunks) == body  # the bytes are the same, only the boundaries move
    frame_ends = {sum(map(len, frames[: i + 1])) for i in range(len(frames))}
    piece_ends = [sum(map(len, plain_chunks[: i + 1])) for i in range(len(plain_chunks))]
    assert len(plain_chunks) > len(frames)
    assert any(end not in frame_ends for end in piece_ends)  # cuts inside frames
    assert any(
        c.count(b"\n\n" if wire != "ollama" else b"\n") >= 1 and not c.endswith(b"\n") for c in plain_chunks
    )
    assert [len(c) for c in again] != [len(c) for c in plain_chunks]  # each request gets its own cuts
    with ProviderServer([STEP], seed=5) as replay:
        _, replayed = raw_exchange(replay, wire)
    assert replayed == plain_chunks  # same seed, same request index: same cuts


def test_duplicate_sends_the_chosen_frames_twice() -> None:
    with ProviderServer([STEP], faults=[Duplicate(frames={3})]) as server:
        _, chunks = raw_exchange(server, "anthropic")
    with ProviderServer([STEP]) as reference:
        _, frames = raw_exchange(reference, "anthropic")
    assert chunks == frames[:4] + [frames[3]] + frames[4:]


def test_truncate_ends_the_body_cleanly_without_the_end_marker(wire: WireFormat) -> None:
    with ProviderServer([STEP], faults=[Truncate()]) as server:
        _, chunks = raw_exchange(server, wire)
    with ProviderServer([STEP], faults=[Truncate(after_frames=5)]) as server:
        _, cut = raw_exchange(server, wire)
    with ProviderServer([STEP]) as reference:
        _, frames = raw_exchange(reference, wire)
    assert chunks == frames[:-1]  # the body is complete at the HTTP level, only the end marker is missing
    assert cut == frames[:5]
    message = collect(parse_stream(wire, cut))
    assert message.error is not None and message.error.kind == "interrupted"
    assert message.text  # what came before is kept


def test_malformed_event_is_a_frame_of_broken_json(wire: WireFormat) -> None:
    with ProviderServer([STEP], faults=[MalformedEvent(after_frames=2)]) as server:
        _, chunks = raw_exchange(server, wire)
    with ProviderServer([STEP]) as reference:
        _, frames = raw_exchange(reference, wire)
    assert chunks[:2] + chunks[3:] == frames
    broken = chunks[2].split(b"data:", 1)[-1]
    with pytest.raises(ValueError):
        json.loads(broken)
    events = list(parse_stream(wire, chunks))
    assert any(isinstance(e, StreamError) and e.kind == "malformed" for e in events)


def test_provider_error_event_uses_the_wires_shape_under_http_200(wire: WireFormat) -> None:
    with ProviderServer([STEP], faults=[ProviderError(after_frames=4)]) as server:
        head, chunks = raw_exchange(server, wire)
    assert head.startswith(b"HTTP/1.1 200")
    tail = b"".join(chunks[4:])
    expected = {
        "anthropic": b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error",',
        "openai-chat": b'data: {"error":{"message":"Overloaded","type":"server_error"',
        "openai-responses": b"event: error\n",
        "ollama": b'{"error":"Overloaded"}\n',
    }[wire]
    assert tail.startswith(expected)
    if wire == "openai-responses":
        assert b"event: response.failed\n" in tail and b'"sequence_number":4' in tail
    message = collect(parse_stream(wire, chunks))
    assert message.error is not None and message.error.kind in ("overloaded", "provider")
    assert "Overloaded" in message.error.message


@pytest.mark.parametrize("status", [401, 404, 429, 500, 503, 529])
def test_http_status_faults_fail_the_first_requests_then_the_step_plays(
    wire: WireFormat, status: int
) -> None:
    faults = [HttpStatus(status, retry_after=2, requests=range(2))]
    with ProviderServer([STEP], faults=faults) as server, httpx.Client() as client:
        failures = [client.post(url(server, wire), json=BODY) for _ in range(2)]
        success = client.post(url(server, wire), json=BODY)
    for failure in failures:
        assert failure.status_code == status
        assert failure.headers["content-type"] == "application/json"
        assert (failure.headers.get("retry-after") == "2") == (status in (429, 503, 529))
        error = failure.json()
        if wire == "anthropic":
            assert error["type"] == "error" and error["error"]["type"].endswith("_error")
            assert (status == 529) <= (error["error"]["type"] == "overloaded_error")
            assert (status == 429) <= (error["error"]["type"] == "rate_limit_error")
        elif wire == "ollama":
            assert isinstance(error["error"], str)
        else:
            assert set(error["error"]) == {"message", "type", "param", "code"}
    assert success.status_code == 200
    assert collect(parse_stream(wire, [success.content])).text == STEP_TEXT  # failures used no step


def split_response(head: bytes) -> tuple[int, dict[str, str]]:
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers


def test_not_a_stream_answers_200_with_a_page_or_the_whole_answer_and_uses_no_step(wire: WireFormat) -> None:
    faults = [
        NotAStream(requests={0}),
        NotAStream("application/json", requests={1}),
        NotAStream("text/plain", body=b"hello", requests={2}),
    ]
    with ProviderServer([STEP], faults=faults) as server:
        page, json_answer, custom, stream = (raw_exchange(server, wire) for _ in range(4))
    status, headers = split_response(page[0])
    assert (status, headers["content-type"]) == (200, "text/html; charset=utf-8")
    assert page[1] == [HTML_PAGE] and headers["content-length"] == str(len(HTML_PAGE))
    status, headers = split_response(json_answer[0])
    assert (status, headers["content-type"]) == (200, "application/json")
    answer = json.loads(json_answer[1][0])
    assert WHOLE_TEXT in json.dumps(answer)
    shape = {"openai-chat": "object", "openai-responses": "object", "anthropic": "type", "ollama": "done"}[
        wire
    ]
    assert answer[shape] in ("chat.completion", "response", "message", True)
    assert split_response(custom[0])[1]["content-type"] == "text/plain" and custom[1] == [b"hello"]
    assert collect(parse_stream(wire, stream[1])).text == STEP_TEXT  # the faults used no step


def test_redirect_points_at_the_same_url_over_https_unless_told_where(wire: WireFormat) -> None:
    elsewhere = "https://elsewhere.example/v2/x?token=1"
    faults = [Redirect(requests={0}), Redirect(301, location=elsewhere, requests={1})]
    with ProviderServer([STEP], faults=faults) as server:
        moved, told, stream = (raw_exchange(server, wire) for _ in range(3))
    status, headers = split_response(moved[0])
    assert (status, headers["location"]) == (307, url(server, wire).replace("http://", "https://"))
    assert headers["content-length"] == str(len(moved[1][0]))
    status, headers = split_response(told[0])
    assert (status, headers["location"]) == (301, elsewhere)
    assert collect(parse_stream(wire, stream[1])).text == STEP_TEXT
    with pytest.raises(ValueError, match="3xx"):
        Redirect(200)


def test_bad_content_encoding_labels_the_stream_without_encoding_it(wire: WireFormat) -> None:
    with ProviderServer([STEP], faults=[BadContentEncoding()]) as server:
        head, chunks = raw_exchange(server, wire)
    with ProviderServer([STEP]) as reference:
        _, frames = raw_exchange(reference, wire)
    assert split_response(head)[1]["content-encoding"] == "gzip"
    assert chunks == frames
    with ProviderServer([STEP], faults=[BadContentEncoding("br")]) as server, httpx.Client() as client:
        response = client.post(url(server, wire), json=BODY, headers={"accept-encoding": "identity"})
    assert response.headers["content-encoding"] == "br"


def test_recorded_requests_keep_the_query_string() -> None:
    with ProviderServer([[Say("hi")], [Say("hi")]]) as server, httpx.Client() as client:
        client.post(url(server, "anthropic") + "?beta=true&x=1", json=BODY)
        client.post(url(server, "anthropic"), json=BODY)
    assert [(r.path, r.query, r.wire) for r in server.requests] == [
        ("/v1/messages", "beta=true&x=1", "anthropic"),
        ("/v1/messages", "", "anthropic"),
    ]


@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_drop_connection_cuts_after_exactly_n_body_bytes(framing: Any) -> None:
    with ProviderServer([STEP, STEP], faults=[DropConnection(after_bytes=250)], framing=framing) as server:
        received = b""
        with httpx.Client() as client, client.stream("POST", url(server, "anthropic"), json=BODY) as response:
            try:
                for piece in response.iter_raw():
                    received += piece
                cut_detected = False
            except httpx.RemoteProtocolError:
                cut_detected = True
        head, chunks = raw_exchange(server, "anthropic")
    assert len(received) == 250
    assert cut_detected == (framing == "chunked")  # with Connection: close only the end marker is missing
    assert sum(map(len, chunks)) == 250


async def test_stall_pauses_mid_stream_then_continues() -> None:
    async with ProviderServer([STEP], faults=[Stall(after_frames=3, seconds=0.4)]) as server:
        stamps: list[float] = []
        async with (
            httpx.AsyncClient() as client,
            client.stream("POST", url(server, "anthropic"), json=BODY) as r,
        ):
            async for _ in r.aiter_raw():
                stamps.append(time.monotonic())
        gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    assert max(gaps) >= 0.35
    assert len(stamps) >= 4


async def test_a_hanging_stream_trips_the_read_timeout_and_the_server_still_stops() -> None:
    server = ProviderServer([STEP], faults=[Stall(after_frames=2, seconds=None)])
    async with server:
        timeout = httpx.Timeout(5.0, read=0.3)
        async with httpx.AsyncClient(timeout=timeout) as client:
            with pytest.raises(httpx.ReadTimeout):
                async with client.stream("POST", url(server, "openai-chat"), json=BODY) as response:
                    async for _ in response.aiter_raw():
                        pass
        started = time.monotonic()
    assert time.monotonic() - started < 2.0
    assert not server_threads()


def test_a_hung_connection_does_not_block_shutdown() -> None:
    server = ProviderServer([STEP], faults=[Stall(after_frames=1, seconds=None)]).start()
    sock = socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])))
    payload = json.dumps(BODY).encode()
    sock.sendall(b"POST /api/chat HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s" % (len(payload), payload))
    assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 2.0
    assert not server_threads()
    sock.close()


def test_slow_headers_and_latency_delay_what_they_say() -> None:
    with ProviderServer([STEP, STEP], faults=[SlowHeaders(seconds=0.3, requests={0})]) as server:
        started = time.monotonic()
        httpx.post(url(server, "ollama"), json=BODY)
        slow = time.monotonic() - started
        started = time.monotonic()
        httpx.post(url(server, "ollama"), json=BODY)
        fast = time.monotonic() - started
    assert slow >= 0.3 > fast
    for faults, options in (([Latency(seconds=0.02, jitter=0.01)], {}), ([], {"latency": 0.02})):
        with ProviderServer([STEP], faults=faults, **options) as server:
            started = time.monotonic()
            _, chunks = raw_exchange(server, "ollama")
            elapsed = time.monotonic() - started
        assert elapsed >= 0.02 * len(chunks)


# --- shutdown ------------------------------------------------------------------------------------------


def test_servers_shut_down_cleanly_with_no_thread_left() -> None:
    for _ in range(3):
        with ProviderServer([STEP], seed=1) as server, httpx.Client() as client:
            assert client.post(url(server, "anthropic"), json=BODY).status_code == 200
    assert not server_threads()
    server = ProviderServer()
    server.stop()  # stopping a server that never started is harmless
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.url


# --- the demo model behind the server, and real sessions against it ------------------------------------


def sample_request() -> ModelRequest:
    call = ToolCall(id="call_1", name="slow_sum", arguments={"a": 2, "b": 3}, raw_arguments='{"a":2,"b":3}')
    return ModelRequest(
        messages=[
            UserMessage(content="sum 2 and 3"),
            AssistantMessage(text="Let me call slow_sum.", tool_calls=[call]),
            ToolResultMessage(call_id="call_1", name="slow_sum", content="5"),
        ],
        tools=[
            ToolSpec(
                "slow_sum", "Add two numbers.", {"type": "object", "properties": {"a": {"type": "integer"}}}
            )
        ],
        system="Be brief.",
    )


def test_request_bodies_read_back_into_the_request(wire: WireFormat) -> None:
    original = sample_request()
    body = for_wire(wire).build("m", original, {})
    back = request_from_json(wire, json.loads(json.dumps(body)))
    assert back.system == original.system
    assert back.tools == original.tools
    assert [type(m).__name__ for m in back.messages] == [
        "UserMessage",
        "AssistantMessage",
        "ToolResultMessage",
    ]
    assert back.messages[1].tool_calls[0].arguments == {"a": 2, "b": 3}  # type: ignore[union-attr]
    result = back.messages[2]
    assert isinstance(result, ToolResultMessage) and (result.name, result.content) == ("slow_sum", "5")


async def test_demo_steps_answer_provider_requests(wire: WireFormat) -> None:
    request = ModelRequest([UserMessage(content="sum 4 and 5")], sample_request().tools)
    body = for_wire(wire).build("m", request, {})
    async with ProviderServer(demo_steps(wire, chars_per_second=1e9)) as server:
        message = await stream_message(server, wire, body)
        answer = await stream_message(server, wire, for_wire(wire).build("m", sample_request(), {}))
    assert [(c.name, c.arguments) for c in message.tool_calls] == [("slow_sum", {"a": 4})]
    assert answer.text == "**slow_sum** returned `5`.\n"


async def test_a_session_runs_a_tool_turn_against_the_server(wire: WireFormat) -> None:
    def slow_sum(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    steps = [STEP, [Say("The sum is 5.")]]
    async with ProviderServer(steps, seed=3, faults=[HttpStatus(503, requests={0})]) as server:
        model = f"{for_wire(wire).name}:x"
        session = Session(model=model, base_url=server.base_url(wire), api_key="test", tools=[slow_sum])
        events = await events_of(session, "add 2 and 3")
        await session.aclose()
    finished = events[-1]
    assert isinstance(finished, TurnFinished) and finished.reason == "done", finished
    assert [e.output for e in events if isinstance(e, ToolResult)] == ["5"]
    assert texts(events) == STEP_TEXT + "The sum is 5."
    assert len(server.requests) == 3  # one 503, retried, then the answer to the tool result
