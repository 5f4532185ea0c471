"""HTTP transport: send a provider request, retry what is safe to retry, hand the raw bytes on.

Everything that stops the bytes becomes a ``StreamFault`` with a named kind, so ``parse_stream`` can turn it into
a ``StreamError`` event: statuses before the first byte (retried with backoff for 429 / 5xx / 529), a redirect
(never followed: it could take the key to another host), an answer that is not a stream (an HTML page, one
JSON document) or cannot be decoded, a dropped connection, a stall longer than the read timeout. Once bytes
have flowed nothing is retried: the user has already seen output.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from ._errors import StreamFault
from ._events import ErrorKind
from ._model import ModelRequest
from ._providers import Provider, WireFormat
from ._urls import check_base_url, shown_url
from ._wire._frames import load_json

__all__ = ["HttpModel"]

_RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_EXCERPT_BYTES = 512  # read for a bad answer's excerpt
_JSON_SNIFF_LIMIT = 1 << 20  # an application/json body this long is passed on unjudged
_EXCERPT_CHARS = 160


class HttpModel:
    """A provider's model behind HTTP. One ``httpx.AsyncClient`` per model, closed by ``aclose``."""

    def __init__(
        self,
        provider: Provider,
        model: str,
        *,
        api_key: str | None,
        api_key_given: bool = False,
        base_url: str | None = None,
        read_timeout: float | None = 60.0,
        connect_timeout: float = 10.0,
        max_retries: int = 3,
        max_retry_wait: float = 30.0,
        options: dict[str, Any] | None = None,
    ) -> None:
        self._provider = provider
        self.model = model
        self._auth_hint = _auth_hint(provider.key_variable, api_key_given)
        given, setting = (base_url, "base_url") if base_url else provider.default_base()
        self._base_url = provider.normalized_base_url(check_base_url(given, setting))
        self._shown_base_url = shown_url(self._base_url)
        self._options = dict(options or {})
        self._max_retries = max_retries
        self._max_retry_wait = max_retry_wait
        self._read_timeout = read_timeout
        headers = {"content-type": "application/json", **provider.extra_headers}
        if api_key:
            headers.update(provider.auth_headers(api_key))
        # Credentials written into the URL become Basic auth (unless a key is set) and never stay in the URL,
        # where httpx's own logs would print them.
        url = httpx.URL(self._base_url)
        auth = httpx.BasicAuth(url.username, url.password) if url.username and not api_key else None
        self._base_url = str(url.copy_with(username=None, password=None))
        self._secrets = tuple(secret for secret in (api_key, url.password) if secret)
        self._client = httpx.AsyncClient(
            headers=headers,
            auth=auth,
            timeout=httpx.Timeout(connect=connect_timeout, read=read_timeout, write=30.0, pool=30.0),
        )

    @property
    def provider(self) -> str:
        return self._provider.name

    @property
    def wire(self) -> WireFormat:
        return self._provider.wire

    def __repr__(self) -> str:
        return f"HttpModel({self._provider.name}:{self.model})"

    async def aclose(self) -> None:
        await self._client.aclose()

    async def stream(self, request: ModelRequest) -> AsyncIterator[bytes]:
        http = self._provider.request(self.model, request, self._base_url, self._options)
        shown = shown_url(http.url)
        attempt = 0
        while True:
            try:
                async with self._client.stream("POST", http.url, json=http.body) as response:
                    delay = await self._check_status(response, shown, attempt)
                    if delay is None:
                        async for chunk in self._read(response, shown):
                            yield chunk
                        return
                attempt += 1
                await asyncio.sleep(delay)
            except httpx.ConnectError as exc:
                raise StreamFault(
                    "connection", f"could not connect to {shown} ({exc})", retryable=True
                ) from None
            except httpx.ConnectTimeout:
                raise StreamFault("connection", f"timed out connecting to {shown}") from None
            except httpx.ReadTimeout:  # waiting for the status line is a stall too
                raise StreamFault(
                    "stalled", f"no response for {self._read_timeout:g} s, the request stalled"
                ) from None
            except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
                raise StreamFault("interrupted", f"the connection failed before a response ({exc})") from None

    async def _check_status(self, response: httpx.Response, shown: str, attempt: int) -> float | None:
        """``None`` for a 2xx answer, the seconds to wait before retrying a retryable error; else raises."""
        status = response.status_code
        if status < 300:
            return None
        if status < 400:
            raise self._redirect_fault(response, shown)
        try:
            body = await response.aread()
        except httpx.DecodingError as exc:
            raise self._undecodable(response, shown, exc) from None
        if status in _RETRY_STATUSES and attempt < self._max_retries:
            delay = self._retry_delay(attempt, response.headers.get("retry-after"))
            if delay is not None:
                return delay
        raise self._status_fault(status, body, attempt)

    async def _read(self, response: httpx.Response, shown: str) -> AsyncIterator[bytes]:
        chunks = response.aiter_bytes()
        try:
            opening = await self._opening(response, chunks, shown)
            if opening:
                yield opening
            async for chunk in chunks:
                yield chunk
        except httpx.ReadTimeout:
            raise StreamFault(
                "stalled", f"no data for {self._read_timeout:g} s, the stream stalled"
            ) from None
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise StreamFault("interrupted", f"the stream was interrupted ({exc})") from None
        except httpx.DecodingError as exc:
            raise self._undecodable(response, shown, exc) from None

    async def _opening(self, response: httpx.Response, chunks: AsyncIterator[bytes], shown: str) -> bytes:
        """The bytes read ahead to judge a body whose content type says it may not be the stream.

        Only HTML and JSON are judged: compatible servers send valid streams under odd content types
        (``text/plain``, none at all), and NDJSON (Ollama's) may come as ``application/json``, so anything else,
        and JSON that reads as the stream, is passed on for the parser.
        """
        provider = self._provider
        media = response.headers.get("content-type", "").partition(";")[0].strip().lower()
        if media in _HTML_TYPES:
            head, _ = await _read_until(chunks, b"", lambda data: len(data) >= _EXCERPT_BYTES)
            base_path = provider.base_path
            like = f"often ending in {base_path}" if base_path else f"like {provider.default_base_url}"
            what = f"an HTML page; is base_url the API's address ({like})?"
            raise self._not_a_stream(response, shown, what, head)
        if media != "application/json" and not media.endswith("+json"):
            return b""
        head, ended = await _read_until(chunks, b"", lambda data: _json_judged(data, provider))
        problem = _json_problem(head, ended, provider)
        if problem is None:
            return head
        head, _ = await _read_until(chunks, head, lambda data: len(data) >= _EXCERPT_BYTES)
        raise self._not_a_stream(response, shown, problem, head)

    def _not_a_stream(self, response: httpx.Response, shown: str, what: str, head: bytes) -> StreamFault:
        content_type = response.headers.get("content-type", "none")
        return StreamFault(
            "bad_response",
            f"HTTP {response.status_code} from {shown} is not a stream (content-type {content_type!r}): "
            f"{what} {self._excerpt(head)}",
        )

    def _redirect_fault(self, response: httpx.Response, shown: str) -> StreamFault:
        """Say where a redirect points and what to set, without following it: a redirect to another host would
        take the request's key along."""
        status = response.status_code
        location = response.headers.get("location")
        try:
            target = response.url.join(location) if location else None
        except httpx.InvalidURL:
            target = None
        if target is None:
            return StreamFault(
                "bad_response",
                f"HTTP {status} from {shown}, a redirect with no usable Location; check base_url",
            )
        path = self._provider.path
        if target.path.endswith(path):
            advice = f"set base_url={shown_url(target.copy_with(path=target.path[: -len(path)]))!r}"
        else:
            advice = "if that is the API's new address, set base_url to it"
        return StreamFault(
            "bad_response",
            f"HTTP {status} from {shown}, a redirect to {shown_url(target)}; nbstream does not follow "
            f"redirects (one could take the key to another host): {advice}",
        )

    def _undecodable(self, response: httpx.Response, shown: str, exc: httpx.DecodingError) -> StreamFault:
        encoding = response.headers.get("content-encoding", "none")
        content_type = response.headers.get("content-type", "none")
        return StreamFault(
            "bad_response",
            f"HTTP {response.status_code} from {shown} could not be decoded (content-encoding {encoding!r}, "
            f"content-type {content_type!r}): {exc}; a proxy may have marked the body compressed "
            "without compressing it",
        )

    def _excerpt(self, data: bytes) -> str:
        """The opening of a body, short and printable, for a message; the key is blanked out if echoed."""
        text = self._redact(" ".join(data.decode("utf-8", "replace").split()))
        text = "".join(c if c.isprintable() else "\ufffd" for c in text)
        if not text:
            return "The body is empty."
        return f"The body begins {text[:_EXCERPT_CHARS] + ('…' if len(text) > _EXCERPT_CHARS else '')!r}"

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def _status_fault(self, status: int, body: bytes, retries: int) -> StreamFault:
        said = self._redact(_error_message_from_body(body))
        kind: ErrorKind
        if status in (401, 403):
            kind = "auth"
            message = f"HTTP {status}, authentication failed ({self._auth_hint}): {said}"
        elif status == 404:
            kind = "not_found"
            message = f"HTTP 404, model {self.model!r} or endpoint {self._shown_base_url} not found: {said}"
        elif status == 429:
            kind = "rate_limited"
            message = f"HTTP 429, rate limited (after {retries} retries): {said}"
        elif status == 529:
            kind = "overloaded"
            message = f"HTTP 529, overloaded (after {retries} retries): {said}"
        elif status >= 500:
            kind = "server"
            message = f"HTTP {status}, server error (after {retries} retries): {said}"
        else:
            kind = "bad_request"
            message = f"HTTP {status}: {said}"
        return StreamFault(kind, message, retryable=status in _RETRY_STATUSES)

    def _retry_delay(self, attempt: int, retry_after: str | None) -> float | None:
        """Seconds to wait before the next attempt; ``None`` when the server asks for longer than we wait."""
        wanted = _parse_retry_after(retry_after)
        if wanted is None:
            wanted = min(8.0, 0.5 * 2**attempt) * (0.75 + 0.5 * random.random())
        return wanted if wanted <= self._max_retry_wait else None


def _auth_hint(key_variable: str | None, api_key_given: bool) -> str:
    """What to check after a 401 / 403: always the provider's key variable, and the argument if one was passed."""
    if key_variable is None:
        return "check the server's credentials" + (" and the api_key= you passed" if api_key_given else "")
    return f"check the api_key= you passed or {key_variable}" if api_key_given else f"check {key_variable}"


async def _read_until(
    chunks: AsyncIterator[bytes], head: bytes, enough: Callable[[bytes], bool]
) -> tuple[bytes, bool]:
    """Read chunks onto ``head`` until ``enough(head)`` or the end; also say whether the body ended."""
    while not enough(head):
        try:
            head += await anext(chunks)
        except StopAsyncIteration:
            return head, True
    return head, False


def _json_judged(head: bytes, provider: Provider) -> bool:
    """Whether the opening of an ``application/json`` body is enough to judge it by ``_json_problem``.

    SSE never starts with ``{``, so its first byte decides; for NDJSON, one JSON line followed by another is
    the stream, while one document (perhaps pretty-printed) is read to its end.
    """
    text = head.lstrip()
    if not text:
        return False
    if text[:1] not in (b"{", b"[") or provider.framing != "ndjson" or len(head) >= _JSON_SNIFF_LIMIT:
        return True
    first, newline, rest = text.partition(b"\n")
    return bool(newline and rest.strip()) and _is_json(first)


def _json_problem(head: bytes, ended: bool, provider: Provider) -> str | None:
    """Why an ``application/json`` body is not the provider's stream, or ``None`` when it may be one."""
    text = head.strip()
    if text[:1] not in (b"{", b"["):
        return None  # SSE lines or NDJSON under an odd content type, or nothing at all
    if provider.framing != "ndjson":
        return 'JSON, not an event stream; does the server ignore "stream": true?'
    if not ended:
        return None  # several JSON lines (NDJSON), or too long to judge
    try:
        document = load_json(text.decode("utf-8", "replace"))
    except (ValueError, RecursionError):
        return None  # the parser says what is broken
    if isinstance(document, dict) and not provider.line_keys.isdisjoint(document):
        return None  # a whole answer in one line reads as the stream
    return f"one JSON document, not {provider.title}'s NDJSON stream."


def _error_message_from_body(body: bytes) -> str:
    """The provider's own words from an error body (OpenAI, Anthropic, Ollama shapes), else a short excerpt."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = load_json(text)
    except ValueError:
        return text[:300]
    error = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(error, dict):
        return str(error.get("message") or error.get("type") or error)[:300]
    return str(error)[:300]


def _is_json(data: bytes) -> bool:
    try:
        load_json(data.decode("utf-8", "replace"))
    except (ValueError, RecursionError):
        return False
    return True


def _parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` is either seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
