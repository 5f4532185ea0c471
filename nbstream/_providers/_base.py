"""What a provider is: one object that holds everything nbstream knows about it.

A provider module (``openai_chat.py``..., or a package: ``anthropic/``) subclasses ``Provider`` once: the
wire it speaks (its parser, and the encoder that scripted models and the test server write it with), how a
request is built and read back, its errors, its defaults and quirks. The generic machinery asks the provider
and never names one: the transport (``_transport``), the reading path (``_parse``), the encoder driver
(``_encode``) and the test server (``nbstream.testing``). ``nbstream._providers`` registers one instance of
each.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import httpx

from .._encode import WireEncoder
from .._errors import MissingAPIKeyError
from .._messages import AssistantMessage
from .._model import ModelRequest
from .._wire import WireParser

if TYPE_CHECKING:
    from . import WireFormat

__all__ = ["JSON", "Framing", "HttpRequest", "Provider"]

JSON = dict[str, Any]
Framing = Literal["sse", "ndjson"]


@dataclass(frozen=True, slots=True)
class HttpRequest:
    url: str
    body: JSON


class Provider:
    """One provider: a model string's prefix, the API it speaks, and what tests need to stand in for it.

    Subclasses set the class attributes and implement ``build``, ``read_request``, ``error_body`` and
    ``whole_answer``; a provider that speaks another's API (a preset: Gemini's OpenAI endpoint) subclasses that
    one and changes only its defaults and quirks.
    """

    name: ClassVar[str]
    """The model string's prefix: ``"anthropic"`` in ``"anthropic:claude-sonnet-4-5"``."""
    title: ClassVar[str]
    """How messages name it: ``"Anthropic"``."""
    wire: ClassVar[WireFormat]
    """The wire format its answers are read as (``parse_stream(wire, ...)``); a preset shares its API's."""
    framing: ClassVar[Framing] = "sse"
    parser: ClassVar[type[WireParser]]
    encoder: ClassVar[type[WireEncoder]]
    default_base_url: ClassVar[str]
    path: ClassVar[str]
    """The streaming endpoint, after the base URL: ``"/messages"``."""
    key_variable: ClassVar[str | None] = None
    """The environment variable holding the key; ``None``: no key needed."""
    extra_headers: ClassVar[Mapping[str, str]] = MappingProxyType({})
    eager_calls: ClassVar[bool] = True
    """A call is final when its own block ends, so its tool starts while the response streams on (False for
    OpenAI Chat, whose calls end only at ``finish_reason``)."""
    token_limit: ClassVar[str] = "options={'max_tokens': ...}"
    """How to raise the output-token limit, for the message of a turn that hit it."""
    line_keys: ClassVar[frozenset[str]] = frozenset()
    """For an NDJSON stream: one of these keys is in every line, so one JSON document with one is a whole
    answer in one line, not an error page."""

    def __repr__(self) -> str:
        return f"<provider {self.name}>"

    # --- requests --------------------------------------------------------------------------------------

    def build(self, model: str, request: ModelRequest, options: JSON) -> JSON:
        """The JSON body that asks for a streamed answer; ``options`` go in last (they win)."""
        raise NotImplementedError

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"authorization": f"Bearer {key}"}

    def default_base(self) -> tuple[str, str]:
        """The base URL when none is given, and the setting it came from (named in error messages)."""
        return self.default_base_url, "base_url"

    def normalized_base_url(self, base_url: str) -> str:
        """The base URL as this provider's endpoints expect it (Anthropic: with ``/v1``)."""
        return base_url

    @property
    def base_path(self) -> str:
        """The path of the default base URL: ``"/v1"``, or ``""`` for a server's root (Ollama)."""
        return httpx.URL(self.default_base_url).path.rstrip("/")

    def request(self, model: str, request: ModelRequest, base_url: str, options: JSON) -> HttpRequest:
        base = httpx.URL(base_url)  # keep a query string (Azure's api-version) after the path
        url = base.copy_with(path=base.path.rstrip("/") + self.path)
        return HttpRequest(url=str(url), body=self.build(model, request, options))

    def resolve_key(self, api_key: str | None, base_url: str | None) -> str | None:
        """The key to use. The environment's key only ever goes to the provider's own endpoint.

        With ``base_url`` pointing elsewhere (vLLM, llama.cpp, LM Studio, OpenRouter...), pass ``api_key=`` if the
        server wants one: sending your OpenAI key to a third-party server would leak it.
        """
        if api_key:
            return api_key
        if self.key_variable is None:
            return None
        if base_url is not None and httpx.URL(base_url).host != httpx.URL(self.default_base_url).host:
            return None
        key = os.environ.get(self.key_variable)
        if not key:
            raise MissingAPIKeyError(self.name, self.key_variable)
        return key

    # --- standing in for the provider: scripted models and the test server --------------------------------

    def read_request(self, body: JSON) -> ModelRequest:
        """A request body as a client POSTs it, read back (leniently) into a ``ModelRequest``."""
        raise NotImplementedError

    def refused_history(self, body: JSON, served: Sequence[AssistantMessage]) -> str | None:
        """Why the API would refuse ``body`` (the message of its HTTP 400), given the responses the test server
        streamed before (``served``); ``None`` when it would take it. Only what an API checks of what it sent
        is checked: the reasoning it requires back with the calls (Anthropic's signed thinking, Responses'
        reasoning items)."""
        return None

    def error_body(self, status: int, message: str, *, index: int) -> JSON:
        """The JSON error body the provider answers with ``status``; ``index`` numbers the request."""
        raise NotImplementedError

    def whole_answer(self, text: str, *, model: str, index: int) -> JSON:
        """The whole non-streamed answer (``"stream": false``), as a server that ignores ``stream`` sends it."""
        raise NotImplementedError
