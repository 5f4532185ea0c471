"""``ProviderServer``: a real HTTP/1.1 server on 127.0.0.1 that streams scripted steps in providers' formats.

It runs its own asyncio loop on its own thread, so it serves sync tests, async tests and notebook cells alike,
and it writes HTTP by hand, so tests decide where every byte boundary falls.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import threading
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any, Literal

from .._encode import Action, Scheduled, Think, count_calls, encode_step, rough_tokens
from .._messages import AssistantMessage
from .._parse import collect, parse_stream
from .._providers import PROVIDERS, WIRE_FORMATS, Provider, for_wire
from ._faults import (
    BadContentEncoding,
    DropConnection,
    Fault,
    HttpStatus,
    Latency,
    NotAStream,
    Rechunk,
    Redirect,
    SlowHeaders,
    Stall,
    frames_with_faults,
)
from ._http import (
    CONTENT_TYPES,
    HTML_PAGE,
    ROUTES,
    WHOLE_TEXT,
    BadRequest,
    BodyWriter,
    RecordedRequest,
    error_body,
    read_request,
    response_head,
)

__all__ = ["ProviderServer"]

Steps = Sequence[Sequence[Action]] | Callable[[Any], Sequence[Action]]
_RETRY_STATUSES = (429, 503, 529)


class _NoStep(Exception):
    pass


class _Dropped(Exception):
    """The response was cut on purpose: the connection must not be reused."""


class ProviderServer:
    """A loopback provider: each streamed request plays the next step; see the package docstring for use.

    ``steps`` is a list of steps (lists of ``Say`` / ``Call`` / ``Pause`` actions) or a callable
    ``(request_json) -> step``. ``seed`` re-chunks every body at random byte boundaries; ``latency`` and
    ``jitter`` delay every frame; ``faults`` adds any of the fault dataclasses. ``framing="close"`` ends
    bodies by closing the connection instead of ``Transfer-Encoding: chunked``.
    """

    def __init__(
        self,
        steps: Steps = (),
        *,
        faults: Sequence[Fault] = (),
        seed: int | None = None,
        latency: float = 0.0,
        jitter: float = 0.0,
        framing: Literal["chunked", "close"] = "chunked",
    ) -> None:
        self._steps = steps if callable(steps) else [tuple(step) for step in steps]
        self._faults: list[Fault] = list(faults)
        if seed is not None:
            self._faults.append(Rechunk(seed=seed))
        if latency or jitter:
            self._faults.append(Latency(seconds=latency, jitter=jitter, seed=seed or 0))
        self._chunked = framing == "chunked"
        self.requests: list[RecordedRequest] = []
        self.served: list[AssistantMessage] = []
        """The responses of the steps that thought, as a client reads them: a request that should carry their
        reasoning back and does not is refused, as the API refuses it (``Provider.refused_history``)."""
        self.steps_served = 0
        self._calls_served = 0
        self._port: int | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._connections: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        where = self.url if self._port is not None else "not started"
        return f"ProviderServer({where}, requests={len(self.requests)}, steps_served={self.steps_served})"

    # --- lifecycle --------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("the server is not running: use it as a context manager or call start()")
        return f"http://127.0.0.1:{self._port}"

    def base_url(self, provider: str) -> str:
        """What a client of ``provider`` (or of a wire format) should use as its base URL: the path of the
        provider's own default ("…/v1", the root for Ollama)."""
        found = for_wire(provider) if provider in WIRE_FORMATS else PROVIDERS.get(provider)
        if found is None:
            raise ValueError(f"unknown provider {provider!r}; choose one of {', '.join(PROVIDERS)}")
        return self.url + found.base_path

    def start(self) -> ProviderServer:
        if self._thread is not None:
            raise RuntimeError("a ProviderServer starts once")
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._main(),), name="nbstream-provider-server"
        )
        self._thread.daemon = True
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            raise self._startup_error
        return self

    def stop(self) -> None:
        """Close every connection and the listening socket; return when the server thread has ended."""
        if self._thread is None or self._loop is None or self._stopping is None:
            return
        with suppress(RuntimeError):  # the loop already ended
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(timeout=10)
        if self._thread.is_alive():
            raise RuntimeError("the provider server thread did not stop within 10 s")

    def __enter__(self) -> ProviderServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def __aenter__(self) -> ProviderServer:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.to_thread(self.stop)

    async def _main(self) -> None:
        try:
            server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        except OSError as error:
            self._startup_error = error
            self._ready.set()
            return
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._port = server.sockets[0].getsockname()[1]
        self._ready.set()
        await self._stopping.wait()
        server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await server.wait_closed()

    # --- one connection ---------------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(
                socket.IPPROTO_TCP, socket.TCP_NODELAY, 1
            )  # small pieces leave as they are written
        try:
            while True:
                request = await read_request(reader, len(self.requests))
                if request is None:
                    break
                self.requests.append(request)
                keep = await self._respond(request, reader, writer)
                if not keep or request.headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError, BadRequest, _Dropped, asyncio.CancelledError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with suppress(Exception):
                await writer.wait_closed()

    async def _respond(
        self, request: RecordedRequest, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Answer one request; ``False`` when the connection cannot carry another."""
        faults = [fault for fault in self._faults if fault.applies(request.index)]
        for fault in faults:
            if isinstance(fault, SlowHeaders):
                await asyncio.sleep(fault.seconds)
        provider = ROUTES.get(request.path)
        body = request.json if isinstance(request.json, dict) else None
        named = body.get("model") if body else None
        model = named if isinstance(named, str) else "scripted"
        status = next((f for f in faults if isinstance(f, HttpStatus)), None)
        if provider is None:
            return await self._error(
                writer, request, 404, f"no route for {request.method} {request.path}", model
            )
        if request.method != "POST":
            return await self._error(writer, request, 405, f"{request.path} takes POST", model)
        if status is not None:
            return await self._error(
                writer, request, status.status, status.message, model, status.retry_after
            )
        redirect = next((f for f in faults if isinstance(f, Redirect)), None)
        if redirect is not None:
            target = request.path + (f"?{request.query}" if request.query else "")
            location = redirect.location or self.url.replace("http://", "https://", 1) + target
            page = b'<html><body>Moved to <a href="%s">%s</a></body></html>\n' % ((location.encode(),) * 2)
            headers = {"content-type": "text/html; charset=utf-8", "location": location}
            return await self._whole(writer, request, redirect.status, headers, page)
        not_a_stream = next((f for f in faults if isinstance(f, NotAStream)), None)
        if not_a_stream is not None:
            return await self._whole(
                writer,
                request,
                200,
                {"content-type": not_a_stream.content_type},
                self._not_a_stream_body(not_a_stream, provider, model, request.index),
            )
        if body is None:
            return await self._error(writer, request, 400, "the request body is not a JSON object", model)
        refused = provider.refused_history(body, self.served)
        if refused is not None:
            return await self._error(writer, request, 400, refused, model)
        try:
            actions = self._next_step(body)
        except _NoStep as error:
            return await self._error(writer, request, 500, str(error), model)
        frames = list(
            encode_step(
                provider.encoder,
                actions,
                step=self.steps_served,
                call_offset=self._calls_served - count_calls(actions),
                model=model,
                input_tokens=rough_tokens(request.body.decode("utf-8", "replace")),
            )
        )
        if any(isinstance(action, Think) for action in actions):  # what the next requests must carry back
            self.served.append(collect(parse_stream(provider.wire, [frame.data for frame in frames])))
        frames = frames_with_faults(frames, faults, provider, step=self.steps_served, model=model)
        headers = {"content-type": CONTENT_TYPES[provider.framing], "cache-control": "no-cache"}
        encoding = next((f for f in faults if isinstance(f, BadContentEncoding)), None)
        if encoding is not None:
            headers["content-encoding"] = encoding.encoding
        headers |= {"x-request-id": f"req_script_{request.index}"}
        headers |= {"transfer-encoding": "chunked"} if self._chunked else {"connection": "close"}
        writer.write(response_head(200, headers))
        out = BodyWriter(writer, chunked=self._chunked)
        await self._send(frames, faults, request.index, out, reader)
        await out.finish()
        return self._chunked

    def _next_step(self, body: dict[str, Any]) -> Sequence[Action]:
        """The step this request plays; only a request that gets a stream uses one up."""
        if callable(self._steps):
            try:
                actions = tuple(self._steps(body))
            except Exception as error:
                raise _NoStep(f"the step function raised {error!r}") from error
        elif self.steps_served < len(self._steps):
            actions = self._steps[self.steps_served]
        else:
            written = len(self._steps)
            raise _NoStep(
                f"the script has no step {self.steps_served + 1}: it was written with {written} step(s)"
            )
        self.steps_served += 1
        self._calls_served += count_calls(actions)
        return actions

    async def _error(
        self,
        writer: asyncio.StreamWriter,
        request: RecordedRequest,
        status: int,
        message: str | None,
        model: str,
        retry_after: float | None = None,
    ) -> bool:
        payload = error_body(ROUTES.get(request.path), status, message, model=model, index=request.index)
        headers = {"content-type": "application/json"}
        if retry_after is not None and status in _RETRY_STATUSES:
            headers["retry-after"] = f"{retry_after:g}"
        return await self._whole(writer, request, status, headers, payload)

    @staticmethod
    def _not_a_stream_body(fault: NotAStream, provider: Provider, model: str, index: int) -> bytes:
        if fault.body is not None:
            return fault.body
        media = fault.content_type.partition(";")[0].strip().lower()
        if media == "application/json" or media.endswith("+json"):
            return json.dumps(provider.whole_answer(WHOLE_TEXT, model=model, index=index)).encode()
        return HTML_PAGE

    async def _whole(
        self,
        writer: asyncio.StreamWriter,
        request: RecordedRequest,
        status: int,
        headers: dict[str, str],
        payload: bytes,
    ) -> bool:
        """Answer with a whole body of known length (an error, a redirect, a page) instead of a stream."""
        headers = headers | {
            "content-length": str(len(payload)),
            "x-request-id": f"req_script_{request.index}",
        }
        if not self._chunked:
            headers["connection"] = "close"
        writer.write(response_head(status, headers) + payload)
        await writer.drain()
        return self._chunked

    async def _send(
        self,
        frames: list[Scheduled],
        faults: list[Fault],
        index: int,
        out: BodyWriter,
        reader: asyncio.StreamReader,
    ) -> None:
        """Write the frames with the timing faults applied; ``_Dropped`` when the body is cut on purpose."""
        latency = next((f for f in faults if isinstance(f, Latency)), None)
        rechunk = next((f for f in faults if isinstance(f, Rechunk)), None)
        drop = next((f for f in faults if isinstance(f, DropConnection)), None)
        stalls = {f.after_frames: f for f in faults if isinstance(f, Stall)}
        jitter = random.Random(f"latency:{latency.seed}:{index}") if latency else None
        cutter = random.Random(f"rechunk:{rechunk.seed}:{index}") if rechunk else None
        carry = b""  # the tail of a re-chunked frame, which rides with the next one

        async def write(piece: bytes) -> None:
            if drop is not None and out.sent + len(piece) >= drop.after_bytes:
                await out.write(piece[: drop.after_bytes - out.sent])
                raise _Dropped
            await out.write(piece)

        async def stall_at(position: int) -> None:
            stall = stalls.get(position)
            if stall is None:
                return
            if stall.seconds is not None:
                await asyncio.sleep(stall.seconds)
                return
            while await reader.read(65536):  # hang until the client goes away
                pass
            raise _Dropped

        for position, frame in enumerate(frames):
            wait = frame.delay
            if latency is not None and jitter is not None:
                wait += latency.seconds + jitter.uniform(0, latency.jitter)
            if (wait > 0 or position in stalls) and carry:
                await write(carry)
                carry = b""
            await stall_at(position)
            if wait > 0:
                await asyncio.sleep(wait)
            if rechunk is None or cutter is None:
                await write(frame.data)
                continue
            data = carry + frame.data
            count = min(cutter.randint(0, rechunk.max_cuts), len(data) - 1)
            cuts = sorted(cutter.sample(range(1, len(data)), count))
            pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
            carry = pieces.pop() if len(pieces) > 1 and cutter.random() < 0.5 else b""
            for piece in pieces:
                await write(piece)
                await asyncio.sleep(rechunk.delay)
        if carry:
            await write(carry)
        await stall_at(len(frames))
