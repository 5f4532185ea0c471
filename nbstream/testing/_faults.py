"""Injectable faults for ``ProviderServer``: small dataclasses, composable in a list.

Every fault has ``requests``: the request indexes (0, 1, 2... in arrival order, failed ones included)
it applies to, or ``None`` for every request. ``HttpStatus(503, requests=range(2))`` fails the first two
requests, then the server answers normally: the way to test retries. Frame positions (``after_frames``)
count the encoded frames of the scripted step, from 0.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from .._encode import Scheduled
from .._events import ErrorKind
from .._providers import Provider

__all__ = [
    "BadContentEncoding",
    "DropConnection",
    "Duplicate",
    "Fault",
    "HttpStatus",
    "Latency",
    "MalformedEvent",
    "NotAStream",
    "ProviderError",
    "Rechunk",
    "Redirect",
    "SlowHeaders",
    "Stall",
    "Truncate",
]


@dataclass(frozen=True, kw_only=True)
class Fault:
    requests: Collection[int] | None = None

    def applies(self, index: int) -> bool:
        return self.requests is None or index in self.requests


@dataclass(frozen=True, kw_only=True)
class Latency(Fault):
    """Wait ``seconds`` plus up to ``jitter`` more (seeded) before every frame."""

    seconds: float = 0.0
    jitter: float = 0.0
    seed: int = 0


@dataclass(frozen=True, kw_only=True)
class Rechunk(Fault):
    """Split the body at random byte boundaries (seeded), flushing each piece on its own, ``delay`` s apart.

    Up to ``max_cuts`` cuts a frame; a piece may also carry the start of the next frame, so boundaries fall
    inside lines, inside UTF-8 characters and across events.
    """

    seed: int = 0
    max_cuts: int = 3
    delay: float = 0.0005


@dataclass(frozen=True)
class Duplicate(Fault):
    """Send the frames at these positions twice."""

    frames: Collection[int]


@dataclass(frozen=True)
class Truncate(Fault):
    """End the body cleanly without the end marker: after ``after_frames`` frames, or (``None``) just
    without the end marker frame."""

    after_frames: int | None = None


@dataclass(frozen=True)
class MalformedEvent(Fault):
    """Insert a frame whose JSON is cut in half after ``after_frames`` frames; the rest follows."""

    after_frames: int


@dataclass(frozen=True)
class ProviderError(Fault):
    """After ``after_frames`` frames, the provider's own error event (then the body ends, as real ones do).

    Anthropic: ``event: error`` (``overloaded_error`` by default); OpenAI Chat: an ``{"error": {...}}``
    data line; Responses: ``error`` then ``response.failed``; Ollama: an ``{"error": "..."}`` line; all
    under HTTP 200.
    """

    after_frames: int
    kind: ErrorKind = "overloaded"
    message: str = "Overloaded"


@dataclass(frozen=True)
class Stall(Fault):
    """After ``after_frames`` frames, send nothing for ``seconds``, then go on; ``None`` hangs until the
    client goes away or the server stops."""

    after_frames: int
    seconds: float | None


@dataclass(frozen=True)
class DropConnection(Fault):
    """Close the connection after ``after_bytes`` bytes of body, mid-frame if need be, no terminator."""

    after_bytes: int


@dataclass(frozen=True)
class HttpStatus(Fault):
    """Answer with this status and the provider's JSON error body instead of a stream.

    ``retry_after`` (seconds) is sent as ``Retry-After`` on 429, 503 and 529; ``None`` leaves the header out.
    """

    status: int
    retry_after: float | None = 0.0
    message: str | None = None


@dataclass(frozen=True)
class NotAStream(Fault):
    """Answer HTTP 200 with a body that is not the stream, as a web server or login portal at a wrong base URL
    does (an HTML page), or a server that ignores ``"stream": true`` (one JSON document).

    ``body=None`` sends, for a JSON ``content_type``, the provider's whole non-streamed answer (for Ollama
    that is one valid line of its stream, which clients read as the answer), and an HTML page for any other
    type.
    """

    content_type: str = "text/html; charset=utf-8"
    body: bytes | None = None


@dataclass(frozen=True)
class Redirect(Fault):
    """Answer with this 3xx status and ``Location`` instead of a stream; ``location=None`` points at the same
    URL over ``https``, as a server that moved to TLS does."""

    status: int = 307
    location: str | None = None

    def __post_init__(self) -> None:
        if not 300 <= self.status < 400:
            raise ValueError(f"Redirect takes a 3xx status, not {self.status}")


@dataclass(frozen=True)
class BadContentEncoding(Fault):
    """Send the stream labelled ``Content-Encoding: <encoding>`` but not encoded, as a misconfigured proxy
    does: the client cannot decode the body."""

    encoding: str = "gzip"


@dataclass(frozen=True)
class SlowHeaders(Fault):
    """Wait ``seconds`` before the status line."""

    seconds: float


def frames_with_faults(
    frames: list[Scheduled], faults: list[Fault], provider: Provider, *, step: int, model: str
) -> list[Scheduled]:
    """Apply the faults that change *what* is sent: errors, truncation, malformed and duplicated frames."""
    for fault in faults:
        if isinstance(fault, ProviderError):
            kept = frames[: fault.after_frames]
            encoder = provider.encoder(step=step, model=model, sequence=len(kept))
            frames = kept + [Scheduled(0.0, data) for data in encoder.error(fault.kind, fault.message)]
    for fault in faults:
        if isinstance(fault, Truncate):
            cut = fault.after_frames
            frames = [f for f in frames if not f.end] if cut is None else frames[:cut]
    for fault in faults:
        if isinstance(fault, MalformedEvent):
            at = fault.after_frames
            frames = frames[:at] + [Scheduled(0.0, provider.encoder().malformed())] + frames[at:]
    for fault in faults:
        if isinstance(fault, Duplicate):
            twice = fault.frames
            frames = [
                c for i, f in enumerate(frames) for c in ([f, f._replace(delay=0.0)] if i in twice else [f])
            ]
    return frames
