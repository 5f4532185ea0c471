"""OpenAI Chat Completions, all of it: request mapping, stream parsing, errors, and the encoder that stands in
for it in scripted models and the test server. Also the API of every OpenAI-compatible server.

Compatible servers bend the stream (Azure's empty ``choices``, usage on every chunk, a whole call in one
delta, parallel calls sharing ``index: 0`` with distinct ids, ``name`` resent on every delta), so the parser
passes fragments on exactly as they arrive and the assembler decides where each belongs. Calls have no end
marker of their own: ``finish_reason`` ends them all (in the assembler, as every wire's finish does), so no
tool starts before the response ends.

Reasoning streams as ``delta.reasoning_content`` (DeepSeek, llama.cpp's ``--reasoning-format``, older vLLM)
or ``delta.reasoning`` (newer vLLM, OpenRouter, Ollama's ``/v1``); the first is read when both come. It is
never sent back, as content or otherwise: OpenAI's message schema has no field for it (DeepSeek's thinking
mode, which wants ``reasoning_content`` back after a tool call, would need a preset of its own).
``Session(reasoning=...)`` sends ``reasoning_effort`` (OpenAI's reasoning models, Gemini, vLLM and others that
take it); ``options={"reasoning_effort": ...}`` wins, and a server that does not know the field is given it
anyway: pass ``reasoning=None`` there.
"""

from __future__ import annotations

from typing import Any

from .._encode._base import CREATED, WireEncoder, json_text, sse
from .._events import ErrorKind, StopReason
from .._images import ImageData, decode_image, unseen_note
from .._messages import Message, Reasoning, ToolResultMessage, UserMessage
from .._model import REASONING_LEVELS, ModelRequest, ReasoningLevel, ToolSpec
from .._wire._frames import (
    MalformedFrame,
    SSEJSONParser,
    error_message,
    int_or_none,
    optional_list,
    optional_object,
    optional_str,
)
from .._wire._parts import EndPart, ErrorPart, FinishPart, Part, ReasoningPart, TextPart, ToolPart, UsagePart
from ._base import JSON, Provider
from ._request import History, arguments_text, content_text, read_call, tool_result_text, without_empty

__all__ = [
    "ERROR_OF_KIND",
    "ERROR_OF_STATUS",
    "OpenAI",
    "OpenAIChatEncoder",
    "OpenAIChatParser",
    "chat_tools",
    "read_chat_request",
    "result_with_note",
]

_ERRORS: tuple[tuple[int, ErrorKind, str, str | None], ...] = (  # HTTP status, kind, error.type, error.code
    (400, "bad_request", "invalid_request_error", None),
    (401, "auth", "invalid_request_error", "invalid_api_key"),
    (403, "auth", "invalid_request_error", "permission_denied"),
    (404, "not_found", "invalid_request_error", "model_not_found"),
    (429, "rate_limited", "requests", "rate_limit_exceeded"),
    (500, "server", "server_error", None),
)
"""OpenAI's errors (both its APIs'): each status's error type and code, and the kind nbstream names it by."""
ERROR_OF_KIND = {
    kind: (error_type, code) for _, kind, error_type, code in reversed(_ERRORS)
}  # first row wins
ERROR_OF_STATUS = {status: (error_type, code) for status, _, error_type, code in _ERRORS}

_STOP_REASONS: dict[str, StopReason] = {
    "stop": "stop",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "length": "length",
    "content_filter": "content_filter",
}


# --- the stream -------------------------------------------------------------------------------------------


class OpenAIChatParser(SSEJSONParser):
    wire = "openai-chat"

    def _on_frame(self, data: str, event: str, out: list[Part]) -> None:
        if len(data) < 16 and data.strip() == "[DONE]":
            out.append(EndPart())
        else:
            super()._on_frame(data, event, out)

    def _on_object(self, obj: dict[str, Any], event: str, out: list[Part]) -> None:
        error = obj.get("error")
        if error:
            out.append(ErrorPart(kind="provider", message=error_message(error)))
            return
        if obj.get("object") == "error":  # vLLM and friends: the error fields sit at the top level
            out.append(ErrorPart(kind="provider", message=error_message(obj)))
            return
        for choice in optional_list(obj, "choices") or ():
            if not isinstance(choice, dict):
                raise MalformedFrame("a choice is not an object")
            if choice.get("index") in (0, None):
                self._on_choice(choice, out)
        usage = obj.get("usage")
        if isinstance(usage, dict):
            input_tokens = int_or_none(usage.get("prompt_tokens"))  # cached tokens included
            details = usage.get("prompt_tokens_details")
            cached = int_or_none(details.get("cached_tokens")) if isinstance(details, dict) else None
            out.append(UsagePart(input_tokens, int_or_none(usage.get("completion_tokens")), cached))

    def _on_choice(self, choice: dict[str, Any], out: list[Part]) -> None:
        delta = optional_object(choice, "delta")
        if delta is not None:
            # DeepSeek, llama.cpp and older vLLM say reasoning_content; newer vLLM and OpenRouter, reasoning
            reasoning = optional_str(delta, "reasoning_content") or optional_str(delta, "reasoning")
            if reasoning:
                out.append(ReasoningPart(reasoning))
            content = optional_str(delta, "content")
            if content:
                out.append(TextPart(content))
            out.extend(self._tool_part(call) for call in optional_list(delta, "tool_calls") or ())
        finish_reason = optional_str(choice, "finish_reason")
        if finish_reason:
            out.append(FinishPart(_STOP_REASONS.get(finish_reason, "other"), finish_reason))

    def _tool_part(self, call: Any) -> ToolPart:
        if not isinstance(call, dict):
            raise MalformedFrame("a tool call is not an object")
        index = call.get("index")
        if index is not None and type(index) is not int:
            raise MalformedFrame("tool call index is not an integer")
        call_id = optional_str(call, "id") or None  # "" identifies nothing
        name = arguments = None
        function = optional_object(call, "function")
        if function is not None:
            name = optional_str(function, "name") or None
            arguments = optional_str(function, "arguments")
        return ToolPart(call_id, index, name, arguments)


# --- standing in for OpenAI -------------------------------------------------------------------------------


class OpenAIChatEncoder(WireEncoder):
    """Chat Completions: a call is final only at ``finish_reason`` (there is no per-call end event)."""

    def __init__(self, *, step: int = 1, model: str = "scripted", sequence: int = 0) -> None:
        super().__init__(step=step, model=model, sequence=sequence)
        self.position = 0

    def _chunk(self, delta: dict[str, Any] | None, finish_reason: str | None = None, **fields: Any) -> bytes:
        choices = [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None}]
        if choices:
            choices[0]["finish_reason"] = finish_reason
        chunk = {
            "id": f"chatcmpl-script-{self.step}",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": self.model,
            "system_fingerprint": "fp_script",
            "choices": choices,
            **fields,
        }
        return sse(json_text(chunk))

    def _call(self, call_id: str, name: str, position: int, arguments: str) -> dict[str, Any]:
        call: dict[str, Any] = {"index": position, "id": call_id} if call_id else {"index": position}
        return call | {"type": "function", "function": {"name": name, "arguments": arguments}}

    def start(self, input_tokens: int) -> list[bytes]:
        return [self._chunk({"role": "assistant", "content": "", "refusal": None})]

    def text(self, delta: str) -> list[bytes]:
        return [self._chunk({"content": delta})]

    def reasoning(self, delta: str) -> list[bytes]:
        return [self._chunk({"content": None, "reasoning_content": delta})]  # as DeepSeek streams it

    def tool_start(self, call_id: str, name: str, position: int) -> list[bytes]:
        self.position = position
        return [self._chunk({"tool_calls": [self._call(call_id, name, position, "")]})]

    def tool_arguments(self, fragment: str) -> list[bytes]:
        return [self._chunk({"tool_calls": [{"index": self.position, "function": {"arguments": fragment}}]})]

    def finish_reason(self, called_tools: bool, cut: bool) -> str:
        return "length" if cut else "tool_calls" if called_tools else "stop"

    def finish(self, called_tools: bool, input_tokens: int, output_tokens: int, *, cut: bool) -> list[bytes]:
        usage = {
            "prompt_tokens": input_tokens,
            "completion_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
            "prompt_tokens_details": {"cached_tokens": self.cache_reads(input_tokens)},
        }
        return [
            self._chunk({}, self.finish_reason(called_tools, cut)),
            self._chunk(None, usage=usage),
            b"data: [DONE]\n\n",
        ]

    def error(self, kind: ErrorKind, message: str) -> list[bytes]:
        error_type, code = ERROR_OF_KIND.get(kind, ("server_error", None))
        error = {"message": message, "type": error_type, "param": None, "code": code}
        return [sse(json_text({"error": error}))]

    def malformed(self) -> bytes:
        payload = json_text(
            {"id": f"chatcmpl-script-{self.step}", "choices": [{"index": 0, "delta": {"content": ""}}]}
        )
        return sse(payload[: len(payload) // 2])


# --- the provider: requests, errors, defaults -------------------------------------------------------------


def chat_tools(tools: list[ToolSpec]) -> list[JSON]:
    """Tools as Chat Completions (and Ollama) describe them."""
    return [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
        }
        for t in tools
    ]


def result_with_note(message: ToolResultMessage) -> str:
    """A tool result's text for an API that takes no images in tool results: a note says what the user saw."""
    text = tool_result_text(message)
    if not message.images:
        return text
    return f"{text}\n{unseen_note(message.images)}" if text else unseen_note(message.images)


def _message(message: Message) -> JSON:
    if isinstance(message, UserMessage):
        if not message.images:
            return {"role": "user", "content": message.content}
        parts: list[JSON] = [{"type": "text", "text": message.content}] if message.content else []
        parts += [{"type": "image_url", "image_url": {"url": image.data_url}} for image in message.images]
        return {"role": "user", "content": parts}
    if isinstance(message, ToolResultMessage):
        return {"role": "tool", "tool_call_id": message.call_id, "content": result_with_note(message)}
    entry: JSON = {"role": "assistant", "content": message.text or None}
    if message.tool_calls:
        entry["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": arguments_text(c)}}
            for c in message.tool_calls
        ]
    return entry


def _read_images(message: JSON) -> list[ImageData]:
    """A user message's images: ``image_url`` parts with a data URL (Chat), base64 ``images`` (Ollama)."""
    content = message.get("content")
    parts = content if isinstance(content, list) else []
    sent = [
        part["image_url"].get("url") if isinstance(part.get("image_url"), dict) else part.get("image_url")
        for part in parts
        if isinstance(part, dict) and part.get("type") == "image_url"
    ]
    sent += message.get("images") or []
    found = [decode_image(item) for item in sent if isinstance(item, str)]
    return [image for image in found if image is not None]


def read_chat_request(body: JSON) -> ModelRequest:
    """A Chat Completions body, or an Ollama ``/api/chat`` one (calls carry objects, results ``tool_name``)."""
    history, system = History(), []
    for message in body.get("messages") or []:
        role = message.get("role")
        if role in ("system", "developer"):
            system.append(content_text(message.get("content")))
        elif role == "user":
            text, images = content_text(message.get("content")), _read_images(message)
            if images:
                history.messages.append(UserMessage(content=text, images=images))
            else:
                history.user(text)
        elif role == "assistant":
            calls = [
                read_call(c.get("id") or "", function.get("name", ""), function.get("arguments"))
                for c in message.get("tool_calls") or []
                for function in [c.get("function", {})]
            ]
            thinking = message.get("thinking")  # Ollama's; Chat Completions histories carry no reasoning
            reasoning = [Reasoning(text=thinking)] if isinstance(thinking, str) and thinking else None
            history.assistant(content_text(message.get("content")), calls, reasoning)
        elif role == "tool":
            call_id = message.get("tool_call_id") or ""
            history.result(call_id, content_text(message.get("content")), name=message.get("tool_name"))
    tools = [
        ToolSpec(f.get("name", ""), f.get("description", ""), f.get("parameters") or {})
        for f in (t.get("function", {}) for t in body.get("tools") or [])
    ]
    return ModelRequest(history.messages, tools, "\n".join(system) or None, _requested_level(body))


def _requested_level(body: JSON) -> ReasoningLevel | None:
    """The reasoning a body asks for: ``reasoning_effort``, or Ollama's ``think`` (``true`` is medium)."""
    value = body.get("reasoning_effort", body.get("think"))
    if value is True:
        return "medium"
    return next((level for level in REASONING_LEVELS if level == value), None)


class OpenAI(Provider):
    name = "openai"
    title = "OpenAI"
    wire = "openai-chat"
    parser = OpenAIChatParser
    encoder = OpenAIChatEncoder
    default_base_url = "https://api.openai.com/v1"
    path = "/chat/completions"
    key_variable = "OPENAI_API_KEY"
    eager_calls = False

    def build(self, model: str, request: ModelRequest, options: JSON) -> JSON:
        messages: list[JSON] = [{"role": "system", "content": request.system}] if request.system else []
        messages += [_message(m) for m in without_empty(request.messages)]
        body: JSON = {
            "model": model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.reasoning is not None:
            body["reasoning_effort"] = request.reasoning
        if request.tools:
            body["tools"] = chat_tools(request.tools)
        return {**body, **options}

    def read_request(self, body: JSON) -> ModelRequest:
        return read_chat_request(body)

    def error_body(self, status: int, message: str, *, index: int) -> JSON:
        error_type, code = ERROR_OF_STATUS.get(status, ERROR_OF_STATUS[500])
        return {"error": {"message": message, "type": error_type, "param": None, "code": code}}

    def whole_answer(self, text: str, *, model: str, index: int) -> JSON:
        return {
            "id": f"chatcmpl-script-{index}",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 8, "total_tokens": 9},
        }
