"""HTTP transport: send a provider request, retry what is safe to retry, hand the raw bytes on.

Everything that stops the bytes becomes a ``StreamFault`` with a named kind, so ``parse_stream`` can turn it into
a ``StreamError`` event: statuses before the first byte (retried with backoff for 429 / 5xx / 529), a dropped
connection, a stall longer than the read timeout. Once bytes have flowed nothing is retried: the user has
already seen output.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from ._errors import StreamFault
from ._events import ErrorKind
from ._model import ModelRequest
from ._providers import ProviderSpec, anthropic_base, default_base_url, error_message_from_body
from ._wire import WireFormat

__all__ = ["HttpModel"]

_RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


class HttpModel:
    """A provider's model behind HTTP. One ``httpx.AsyncClient`` per model, closed by ``aclose``."""

    def __init__(
        self,
        spec: ProviderSpec,
        model: str,
        *,
        api_key: str | None,
        api_key_given: bool = False,
        base_url: str | None = None,
        read_timeout: float = 60.0,
        connect_timeout: float = 10.0,
        max_retries: int = 3,
        max_retry_wait: float = 30.0,
        options: dict[str, Any] | None = None,
    ) -> None:
        self._spec = spec
        self.model = model
        self._auth_hint = _auth_hint(spec.key_variable, api_key_given)
        base = base_url or default_base_url(spec)
        self._base_url = anthropic_base(base) if spec.name == "anthropic" else base
        self._shown_base_url = _without_credentials(self._base_url)
        self._options = dict(options or {})
        self._max_retries = max_retries
        self._max_retry_wait = max_retry_wait
        self._read_timeout = read_timeout
        headers = {"content-type": "application/json", **spec.extra_headers}
        if api_key:
            headers.update(spec.auth_headers(api_key))
        # Credentials written into the URL become Basic auth (unless a key is set) and never stay in the URL,
        # where httpx's own logs would print them.
        url = httpx.URL(self._base_url)
        auth = httpx.BasicAuth(url.username, url.password) if url.username and not api_key else None
        self._base_url = str(url.copy_with(username=None, password=None))
        self._client = httpx.AsyncClient(
            headers=headers,
            auth=auth,
            timeout=httpx.Timeout(connect=connect_timeout, read=read_timeout, write=30.0, pool=30.0),
        )

    @property
    def provider(self) -> str:
        return self._spec.name

    @property
    def wire(self) -> WireFormat:
        return self._spec.wire

    def __repr__(self) -> str:
        return f"HttpModel({self._spec.name}:{self.model})"

    async def aclose(self) -> None:
        await self._client.aclose()

    async def stream(self, request: ModelRequest) -> AsyncIterator[bytes]:
        spec = self._spec.request(self.model, request, self._base_url, self._options)
        shown_url = _without_credentials(spec.url)
        attempt = 0
        while True:
            try:
                async with self._client.stream("POST", spec.url, json=spec.body) as response:
                    if response.status_code >= 400:
                        body = await response.aread()
                        fault = self._status_fault(response.status_code, body, attempt)
                        if response.status_code in _RETRY_STATUSES and attempt < self._max_retries:
                            delay = self._retry_delay(attempt, response.headers.get("retry-after"))
                            if delay is not None:
                                attempt += 1
                                await asyncio.sleep(delay)
                                continue
                        raise fault
                    async for chunk in self._read(response):
                        yield chunk
                    return
            except httpx.ConnectError as exc:
                raise StreamFault(
                    "connection", f"could not connect to {shown_url} ({exc})", retryable=True
                ) from None
            except httpx.ConnectTimeout:
                raise StreamFault("connection", f"timed out connecting to {shown_url}") from None
            except httpx.ReadTimeout:  # waiting for the status line is a stall too
                raise StreamFault(
                    "stalled", f"no response for {self._read_timeout:g} s, the request stalled"
                ) from None
            except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
                raise StreamFault("interrupted", f"the connection failed before a response ({exc})") from None

    async def _read(self, response: httpx.Response) -> AsyncIterator[bytes]:
        try:
            async for chunk in response.aiter_bytes():
                yield chunk
        except httpx.ReadTimeout:
            raise StreamFault(
                "stalled", f"no data for {self._read_timeout:g} s, the stream stalled"
            ) from None
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise StreamFault("interrupted", f"the stream was interrupted ({exc})") from None

    def _status_fault(self, status: int, body: bytes, retries: int) -> StreamFault:
        said = error_message_from_body(body)
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


def _without_credentials(url: str) -> str:
    """The URL for messages: no user info, no query string (either may carry a key)."""
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}{parsed.path}"


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
