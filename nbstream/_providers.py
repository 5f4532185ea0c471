"""Provider requests: the conversation → each provider's HTTP request (URL, headers, JSON body).

Pure functions; the transport (``_transport.py``) sends what they build. One ``ProviderSpec`` per provider says
where keys come from and which wire format the answer uses.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from ._errors import ConfigurationError, MissingAPIKeyError
from ._messages import AssistantMessage, Message, ToolCall, ToolResultMessage, UserMessage
from ._model import ModelRequest, ToolSpec
from ._wire import WireFormat
from ._wire._frames import load_json
from ._wire._text_calls import TextCallFormat

__all__ = [
    "PROVIDERS",
    "HttpRequestSpec",
    "ProviderSpec",
    "check_base_url",
    "parse_model_string",
    "shown_url",
    "text_call_history",
]

JSON = dict[str, Any]
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):(/*)(.*)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class HttpRequestSpec:
    url: str
    body: JSON


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    name: str
    wire: WireFormat
    default_base_url: str
    key_variable: str | None
    build: Callable[[str, ModelRequest, JSON], JSON]
    path: str
    auth_headers: Callable[[str], dict[str, str]]
    extra_headers: dict[str, str]

    def request(self, model: str, request: ModelRequest, base_url: str, options: JSON) -> HttpRequestSpec:
        base = httpx.URL(base_url)  # keep a query string (Azure's api-version) after the path
        url = base.copy_with(path=base.path.rstrip("/") + self.path)
        return HttpRequestSpec(url=str(url), body=self.build(model, request, options))

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


def _sendable(messages: list[Message]) -> list[Message]:
    """The history without assistant messages that say nothing: OpenAI answers 400 to ``content: null``
    with no tool calls, and no provider needs them."""
    return [m for m in messages if not isinstance(m, AssistantMessage) or m.text or m.tool_calls]


def _arguments_object(call: ToolCall) -> dict[str, Any]:
    """The call's arguments as an object; ``{}`` when the model sent something that is not one."""
    return call.arguments if call.arguments is not None else {}


def _arguments_text(call: ToolCall) -> str:
    """The model's own argument text when it was a JSON object, else ``"{}"``: strict servers (llama.cpp's
    llama-server) parse every tool call in the history and answer HTTP 500 to broken JSON."""
    return call.raw_arguments if call.arguments is not None and call.raw_arguments else "{}"


def _tool_result_text(message: ToolResultMessage) -> str:
    return f"Error: {message.content}" if message.error else message.content


# --- OpenAI Chat Completions (and every OpenAI-compatible server) -------------------------------------------


def _openai_chat_tools(tools: list[ToolSpec]) -> list[JSON]:
    return [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
        }
        for t in tools
    ]


def _openai_chat_message(message: Message) -> JSON:
    if isinstance(message, UserMessage):
        return {"role": "user", "content": message.content}
    if isinstance(message, ToolResultMessage):
        return {"role": "tool", "tool_call_id": message.call_id, "content": _tool_result_text(message)}
    entry: JSON = {"role": "assistant", "content": message.text or None}
    if message.tool_calls:
        entry["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": _arguments_text(c)},
            }
            for c in message.tool_calls
        ]
    return entry


def build_openai_chat(model: str, request: ModelRequest, options: JSON) -> JSON:
    messages: list[JSON] = [{"role": "system", "content": request.system}] if request.system else []
    messages += [_openai_chat_message(m) for m in _sendable(request.messages)]
    body: JSON = {
        "model": model,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if request.tools:
        body["tools"] = _openai_chat_tools(request.tools)
    return {**body, **options}


# --- Tool calls written as text (Session(text_tool_calls=...)) ------------------------------------------------


def text_call_history(messages: list[Message], syntax: TextCallFormat) -> list[Message]:
    """The history as a server that writes tool calls as text reads it back: in that same text.

    Such a server never parsed the calls, and its template may not know structured ``tool_calls`` (or, like
    mistral-common, refuses results for calls it has no record of), so each assistant message goes back as its
    text with its calls written in the model's own syntax after it, and no structured calls. The results go
    back as the template would write a ``tool`` message: Hermes / Qwen as ``<tool_response>`` blocks in one user
    message (what the Qwen 2.5 / 3 templates render tool messages into), Mistral as ``[TOOL_RESULTS]`` blocks in
    one user message; Llama 3 as ``tool`` messages, which Llama templates (Meta's, vLLM's, Ollama's) render as
    the ``ipython`` role that has no user-message form. Consecutive user messages are joined into one: the
    Mistral templates require user and assistant turns to alternate.
    """
    out: list[Message] = []
    joinable = False  # the last message is a user message made here from results
    for message in messages:
        if isinstance(message, AssistantMessage) and message.tool_calls:
            text = _with_text_calls(message.text, message.tool_calls, syntax)
            out.append(message.model_copy(update={"text": text, "tool_calls": []}))
            joinable = False
        elif isinstance(message, ToolResultMessage) and syntax != "llama3":
            block = _text_result(message, syntax)
            last = out[-1] if out else None
            if joinable and isinstance(last, UserMessage):
                out[-1] = UserMessage(content=last.content + "\n" + block)
            else:
                out.append(UserMessage(content=block))
            joinable = True
        elif isinstance(message, UserMessage) and joinable and isinstance(out[-1], UserMessage):
            out[-1] = UserMessage(content=out[-1].content + "\n\n" + message.content)
            joinable = False
        else:
            out.append(message)
            joinable = False
    return out


def _call_json(call: ToolCall, arguments_key: str) -> str:
    return json.dumps({"name": call.name, arguments_key: _arguments_object(call)}, ensure_ascii=False)


def _with_text_calls(text: str, calls: list[ToolCall], syntax: TextCallFormat) -> str:
    """The assistant's text followed by its calls, as the model writes them (and the templates render them)."""
    if syntax == "hermes":
        written = "\n".join(f"<tool_call>\n{_call_json(c, 'arguments')}\n</tool_call>" for c in calls)
        return _before(text) + written
    if syntax == "mistral":
        objects = ", ".join(_call_json(c, "arguments") for c in calls)
        return f"{text}[TOOL_CALLS][{objects}]"
    written = "; ".join(
        _call_json(c, "parameters") for c in calls
    )  # Llama: the JSON without the special token
    return _before(text) + written


def _before(text: str) -> str:
    """The text before the calls, ending in a line break (as the model wrote it, or as templates add one)."""
    return text if not text or text.endswith("\n") else text + "\n"


def _text_result(message: ToolResultMessage, syntax: TextCallFormat) -> str:
    if syntax == "hermes":
        return f"<tool_response>\n{_tool_result_text(message)}\n</tool_response>"
    content = json.dumps({"content": _tool_result_text(message)}, ensure_ascii=False)
    return f"[TOOL_RESULTS]{content}[/TOOL_RESULTS]"


# --- OpenAI Responses -----------------------------------------------------------------------------------------


def _responses_items(message: Message) -> list[JSON]:
    if isinstance(message, UserMessage):
        return [{"role": "user", "content": message.content}]
    if isinstance(message, ToolResultMessage):
        return [
            {"type": "function_call_output", "call_id": message.call_id, "output": _tool_result_text(message)}
        ]
    items: list[JSON] = [{"role": "assistant", "content": message.text}] if message.text else []
    items += [
        {"type": "function_call", "call_id": c.id, "name": c.name, "arguments": _arguments_text(c)}
        for c in message.tool_calls
    ]
    return items


def build_openai_responses(model: str, request: ModelRequest, options: JSON) -> JSON:
    body: JSON = {
        "model": model,
        "input": [item for m in _sendable(request.messages) for item in _responses_items(m)],
        "stream": True,
        "store": False,
    }
    if request.system:
        body["instructions"] = request.system
    if request.tools:
        body["tools"] = [
            {"type": "function", "name": t.name, "description": t.description, "parameters": t.parameters}
            for t in request.tools
        ]
    return {**body, **options}


# --- Anthropic Messages ---------------------------------------------------------------------------------------


def _anthropic_blocks(message: Message) -> tuple[str, list[JSON]]:
    if isinstance(message, UserMessage):
        return "user", [{"type": "text", "text": message.content}]
    if isinstance(message, ToolResultMessage):
        block: JSON = {"type": "tool_result", "tool_use_id": message.call_id, "content": message.content}
        if message.error:
            block["is_error"] = True
        return "user", [block]
    blocks: list[JSON] = [{"type": "text", "text": message.text}] if message.text else []
    blocks += [
        {"type": "tool_use", "id": c.id, "name": c.name, "input": _arguments_object(c)}
        for c in message.tool_calls
    ]
    return "assistant", blocks


def build_anthropic(model: str, request: ModelRequest, options: JSON) -> JSON:
    messages: list[JSON] = []
    for message in _sendable(request.messages):
        role, blocks = _anthropic_blocks(message)
        if messages and messages[-1]["role"] == role:  # tool results of one step share one user message
            messages[-1]["content"].extend(blocks)
        else:
            messages.append({"role": role, "content": blocks})
    body: JSON = {"model": model, "messages": messages, "max_tokens": 4096, "stream": True}
    if request.system:
        body["system"] = request.system
    if request.tools:
        body["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": t.parameters}
            for t in request.tools
        ]
    return {**body, **options}


# --- Ollama native /api/chat ----------------------------------------------------------------------------------


def _ollama_message(message: Message) -> JSON:
    if isinstance(message, UserMessage):
        return {"role": "user", "content": message.content}
    if isinstance(message, ToolResultMessage):
        return {"role": "tool", "tool_name": message.name, "content": _tool_result_text(message)}
    entry: JSON = {"role": "assistant", "content": message.text}
    if message.tool_calls:
        entry["tool_calls"] = [
            {"function": {"name": c.name, "arguments": _arguments_object(c)}} for c in message.tool_calls
        ]
    return entry


def build_ollama(model: str, request: ModelRequest, options: JSON) -> JSON:
    messages: list[JSON] = [{"role": "system", "content": request.system}] if request.system else []
    messages += [_ollama_message(m) for m in _sendable(request.messages)]
    body: JSON = {"model": model, "messages": messages, "stream": True}
    if request.tools:
        body["tools"] = _openai_chat_tools(request.tools)
    return {**body, **options}


def ollama_host() -> str:
    """``OLLAMA_HOST`` as Ollama itself reads it: a bare ``host:port`` gets ``http://``."""
    host = os.environ.get("OLLAMA_HOST", "").strip() or "http://localhost:11434"
    if "://" not in host:
        host = "http://" + host
    return host.replace("://0.0.0.0", "://127.0.0.1")


def _bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


PROVIDERS: dict[str, ProviderSpec] = {
    "openai": ProviderSpec(
        name="openai",
        wire="openai-chat",
        default_base_url="https://api.openai.com/v1",
        key_variable="OPENAI_API_KEY",
        build=build_openai_chat,
        path="/chat/completions",
        auth_headers=_bearer,
        extra_headers={},
    ),
    "openai-responses": ProviderSpec(
        name="openai-responses",
        wire="openai-responses",
        default_base_url="https://api.openai.com/v1",
        key_variable="OPENAI_API_KEY",
        build=build_openai_responses,
        path="/responses",
        auth_headers=_bearer,
        extra_headers={},
    ),
    "anthropic": ProviderSpec(
        name="anthropic",
        wire="anthropic",
        default_base_url="https://api.anthropic.com/v1",
        key_variable="ANTHROPIC_API_KEY",
        build=build_anthropic,
        path="/messages",
        auth_headers=lambda key: {"x-api-key": key},
        extra_headers={"anthropic-version": "2023-06-01"},
    ),
    "ollama": ProviderSpec(
        name="ollama",
        wire="ollama",
        default_base_url="http://localhost:11434",
        key_variable=None,
        build=build_ollama,
        path="/api/chat",
        auth_headers=_bearer,
        extra_headers={},
    ),
}


def parse_model_string(model: str) -> tuple[ProviderSpec, str]:
    """``"anthropic:claude-sonnet-4-5"`` → (the Anthropic spec, ``"claude-sonnet-4-5"``)."""
    provider, sep, name = model.partition(":")
    if not sep or not name:
        raise ConfigurationError(
            f"model {model!r} is not '<provider>:<model name>' (providers: {', '.join(PROVIDERS)}) or 'demo'"
        )
    spec = PROVIDERS.get(provider)
    if spec is None:
        raise ConfigurationError(
            f"unknown provider {provider!r} in {model!r}; choose one of {', '.join(PROVIDERS)}"
        )
    return spec, name


def default_base_url(spec: ProviderSpec) -> str:
    return ollama_host() if spec.name == "ollama" else spec.default_base_url


def anthropic_base(base_url: str) -> str:
    """Accept both ``https://host`` and ``https://host/v1`` for Anthropic-style servers; a query string stays
    at the end."""
    url = httpx.URL(base_url)
    path = url.path.rstrip("/")
    return str(url.copy_with(path=path if path.endswith("/v1") else path + "/v1"))


def check_base_url(base_url: str, name: str = "base_url") -> str:
    """``base_url`` without surrounding blanks, or a ``ConfigurationError`` that says how to write it.

    httpx reads ``"localhost:11434"`` as a URL whose scheme is ``localhost`` and fails only when the request
    is sent, so the mistake is caught when the session is made. ``name`` is the setting the user wrote.
    """
    text = base_url.strip()
    match = _SCHEME.fullmatch(text)
    if match and (match[2] or match[1].lower() in ("http", "https")):  # "localhost:11434" has no scheme
        written, slashes, rest = match.groups()
        scheme = written.lower()
        if scheme not in ("http", "https"):
            problem = f"uses {written}:, which is not HTTP"
            scheme = "https" if scheme == "wss" else "http"
        else:
            problem = "" if slashes == "//" else f"does not start with {scheme}://"
    else:
        rest = text.lstrip("/")
        host = rest.partition("/")[0]
        scheme = "http" if ":" in host or host.startswith(("localhost", "127.", "[")) else "https"
        problem = "has no scheme"
    try:
        url = httpx.URL(f"{scheme}://{rest}")
    except httpx.InvalidURL as error:  # the URL is not repeated: it may hold a key
        raise ConfigurationError(f"{name} is not a valid URL: {error}") from None
    if not url.host:
        raise ConfigurationError(f"{name} has no host: write it like 'http://localhost:8000/v1'")
    if problem:
        fixed = shown_url(url)
        written_url = text[: len(text) - len(rest)] + fixed.partition("://")[2]
        raise ConfigurationError(f"{name} {written_url!r} {problem}: use {fixed!r}")
    return text


def shown_url(url: httpx.URL | str) -> str:
    """A URL for messages: no user info, and ``?…`` for a query string (either may carry a key)."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(username=None, password=None, query=None)) + ("?…" if parsed.query else "")


def error_message_from_body(body: bytes) -> str:
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
