"""Test helpers: a loopback provider server that streams scripted steps (model responses), with injectable faults.

``ProviderServer`` is a real HTTP/1.1 server on 127.0.0.1 (a free port), on its own thread and event loop, so
it works from sync tests, async tests and notebooks. It answers like the real APIs, byte for byte, each
provider on its own route (the path of its default base URL, then its endpoint):

=========================================  ====================  ===========================================
route                                      wire format           ``server.base_url(...)``
=========================================  ====================  ===========================================
POST /v1/chat/completions                  ``openai-chat``       ``"openai"`` → ``http://127.0.0.1:PORT/v1``
POST /v1/responses                         ``openai-responses``  ``"openai-responses"`` → ``…/v1``
POST /v1/messages                          ``anthropic``         ``"anthropic"`` → ``…/v1``
POST /api/chat                             ``ollama``            ``"ollama"`` → ``http://127.0.0.1:PORT``
POST /v1beta/openai/chat/completions       ``openai-chat``       ``"gemini"`` → ``…/v1beta/openai``
=========================================  ====================  ===========================================

Point a session at it::

    from nbstream import Session
    from nbstream.testing import Call, ProviderServer, Say

    steps = [
        [Say("Let me add those."), Call("slow_sum", {"a": 2, "b": 3})],
        [Say("The sum is 5.")],
    ]
    with ProviderServer(steps, seed=7) as server:  # seed: split the bytes at random boundaries
        session = Session(model="anthropic:claude-x", base_url=server.base_url("anthropic"), api_key="test")
        ...
        assert server.requests[1].json["messages"][-1]["content"][0]["type"] == "tool_result"

A step that thinks (``Think``) streams the wire's reasoning, signed or encrypted by a hash of its text; the
server then answers HTTP 400, with the API's words, a later request that drops it where the API needs it back:
an Anthropic assistant message with the step's calls that does not start with its thinking blocks unchanged,
or a Responses ``function_call`` without the reasoning item that preceded it (``server.served`` keeps those
steps' responses).

Each streamed request plays the next step; ``steps`` may also be a callable ``(request_json) -> step``,
such as ``demo_steps("anthropic")``, which lets the demo model answer. ``server.requests`` records every
request (method, path, headers, body, parsed JSON). Faults change what is sent, for chosen request
indexes (``requests=``) or for all::

    ProviderServer(steps, faults=[HttpStatus(429, retry_after=0, requests=range(2))])  # 2 failures, then OK
    ProviderServer(steps, faults=[ProviderError(after_frames=5)])       # the provider's own error event
    ProviderServer(steps, faults=[DropConnection(after_bytes=300)])     # cut mid-body
    ProviderServer(steps, faults=[Stall(after_frames=3, seconds=None)]) # hang until the client gives up

Answers that are not a stream at all, which clients must report as ``bad_response`` and never retry::

    ProviderServer(steps, faults=[NotAStream()])                    # HTTP 200 with an HTML page
    ProviderServer(steps, faults=[NotAStream("application/json")])  # the whole answer, one JSON document
    ProviderServer(steps, faults=[Redirect(301, location="https://elsewhere.example/v1/messages")])
    ProviderServer(steps, faults=[BadContentEncoding("gzip")])      # labelled gzip, sent plain

``NotAStream(content_type="text/html; charset=utf-8", body=None)``: ``body=None`` sends an HTML page, or
for a JSON content type the provider's whole non-streamed answer (for Ollama that is one valid line of its
stream, so an Ollama client reads it as the answer). ``Redirect(status=307, location=None)``: ``None``
points at the same URL over ``https``. Neither uses up a step; ``BadContentEncoding`` does.

The others: ``Latency``, ``Rechunk``, ``Duplicate``, ``Truncate`` (no end marker), ``MalformedEvent``,
``SlowHeaders``. Use it as ``async with`` from async code. ``server.requests[i].query`` keeps the query
string of each request's URL.
"""

from .._encode import Call, Pause, Say, Think
from ._faults import (
    BadContentEncoding,
    DropConnection,
    Duplicate,
    Fault,
    HttpStatus,
    Latency,
    MalformedEvent,
    NotAStream,
    ProviderError,
    Rechunk,
    Redirect,
    SlowHeaders,
    Stall,
    Truncate,
)
from ._http import RecordedRequest
from ._requests import demo_steps, request_from_json
from ._server import ProviderServer

__all__ = [
    "BadContentEncoding",
    "Call",
    "DropConnection",
    "Duplicate",
    "Fault",
    "HttpStatus",
    "Latency",
    "MalformedEvent",
    "NotAStream",
    "Pause",
    "ProviderError",
    "ProviderServer",
    "Rechunk",
    "RecordedRequest",
    "Redirect",
    "Say",
    "SlowHeaders",
    "Stall",
    "Think",
    "Truncate",
    "demo_steps",
    "request_from_json",
]
