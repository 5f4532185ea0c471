"""Anthropic's Messages API, all of it: request mapping, stream parsing, errors, and the encoder that stands in
for it in scripted models and the test server.

Requests alternate user and assistant messages of content blocks (the tool results of one step share one user
message) and must name ``max_tokens``. The stream is SSE events around indexed content blocks. Only
``tool_use`` blocks become tool parts: ``server_tool_use`` blocks also stream ``input_json_delta`` but run on
Anthropic's side, so deltas for blocks not opened as ``tool_use`` are dropped. A ``tool_use`` block's ``input``
is ``{}`` and its arguments come as deltas, except from servers that send the input whole in
``content_block_start``: that input is used when no delta came for the block. Usage parts always carry the
counts known so far (``message_delta`` may omit the input count), so the last one is the whole picture. Anthropic's
``input_tokens`` leaves out the input read from the prompt cache (``cache_read_input_tokens``) and written to it
(``cache_creation_input_tokens``): both are added back, so that input counts all input as other providers count
it, and the cache reads are the part of it that was cached.

Reasoning is extended thinking: ``thinking`` blocks stream ``thinking_delta`` text and end with one
``signature_delta``; ``redacted_thinking`` blocks carry encrypted ``data`` and no text. The API refuses a
request whose last tool-calling assistant message lost its thinking blocks (or changed them), so every signed
or redacted block goes back unchanged, first in its message; a block without a signature (cut before it, or
from another provider) stays home. ``Session(reasoning=...)`` asks for ``thinking: {type: enabled,
budget_tokens}`` (low 2,048, medium 8,192, high 24,576 tokens) and raises ``max_tokens`` to the budget plus
4,096, since it counts the thinking too; ``options={"thinking": ..., "max_tokens": ...}`` win.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from .._encode._base import WireEncoder, json_text, sealed, sse
from .._events import ErrorKind, StopReason
from .._images import ImageData, decode_image
from .._messages import AssistantMessage, Message, Reasoning, ToolResultMessage, UserMessage
from .._model import ModelRequest, ReasoningLevel, ToolSpec
from .._wire._frames import (
    MAX_FRAME_SIZE,
    MalformedFrame,
    SSEJSONParser,
    error_message,
    int_or_none,
    optional_object,
    optional_str,
)
from .._wire._frames import json_text as arguments_json
from .._wire._parts import (
    EndPart,
    ErrorPart,
    FinishPart,
    Part,
    ReasoningPart,
    TextPart,
    ToolEndPart,
    ToolPart,
    UsagePart,
)
from ._base import JSON, Provider
from ._request import History, arguments_object, content_text, read_call, without_empty

__all__ = ["Anthropic", "AnthropicEncoder", "AnthropicParser"]

_ERRORS: tuple[tuple[str, int, ErrorKind], ...] = (  # error.type, the HTTP status it comes with, its kind
    ("invalid_request_error", 400, "bad_request"),
    ("authentication_error", 401, "auth"),
    ("permission_error", 403, "auth"),
    ("not_found_error", 404, "not_found"),
    ("rate_limit_error", 429, "rate_limited"),
    ("api_error", 500, "server"),
    ("overloaded_error", 529, "overloaded"),
    ("overloaded_error", 503, "overloaded"),
)
_KIND_OF_TYPE = {error_type: kind for error_type, _, kind in reversed(_ERRORS)}  # the first row wins
_TYPE_OF_KIND = {kind: error_type for error_type, _, kind in reversed(_ERRORS)}
_TYPE_OF_STATUS = {status: error_type for error_type, status, _ in _ERRORS}
_TRY_AGAIN: frozenset[ErrorKind] = frozenset({"rate_limited", "overloaded"})
"""Mid-stream, an error of these kinds keeps its kind and may be retried; any other is the provider's failing
(``"provider"``): the request was accepted, so it cannot be the request's fault."""

_CACHE_WRITE = "cache_creation_input_tokens"
_INPUT_KEYS = ("input_tokens", "cache_read_input_tokens", _CACHE_WRITE)
"""Anthropic's input counts: the uncached input, then what the prompt cache served and what was written to it."""

_STOP_REASONS: dict[str, StopReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
}


# --- the stream --------------------------------------------------------------------------------------------


def _object(container: dict[str, Any], key: str) -> dict[str, Any]:
    """The object at ``key``, which Anthropic always sends."""
    value = optional_object(container, key)
    if value is None:
        raise MalformedFrame(f"{key} is not an object")
    return value


def _block_index(obj: dict[str, Any]) -> int:
    index = obj.get("index")
    if type(index) is not int:
        raise MalformedFrame("block index is not an integer")
    return index


class AnthropicParser(SSEJSONParser):
    wire = "anthropic"

    def __init__(self, max_frame_size: int = MAX_FRAME_SIZE) -> None:
        super().__init__(max_frame_size)
        self._open_tools: dict[int, str | None] = {}  # block index → tool_use id, until content_block_stop
        self._whole_inputs: dict[
            int, str
        ] = {}  # block index → input sent in content_block_start, until a delta
        self._inputs: dict[str, int] = {}  # the input counts said so far, by their key in ``usage``

    def _on_object(self, obj: dict[str, Any], event: str, out: list[Part]) -> None:
        kind = obj.get("type")
        handler = _HANDLERS.get(kind if isinstance(kind, str) else event)
        if handler is not None:
            handler(self, obj, out)

    def _message_start(self, obj: dict[str, Any], out: list[Part]) -> None:
        usage = _object(obj, "message").get("usage")
        if isinstance(usage, dict):
            out.append(self._usage(usage))

    def _block_start(self, obj: dict[str, Any], out: list[Part]) -> None:
        index = _block_index(obj)
        block = _object(obj, "content_block")
        block_type = block.get("type")
        if block_type == "text":
            text = optional_str(block, "text")
            if text:
                out.append(TextPart(text))
        elif block_type == "thinking":  # its signature comes in a signature_delta, just before it stops
            text = optional_str(block, "thinking") or ""
            out.append(ReasoningPart(text, index, signature=optional_str(block, "signature") or None))
        elif block_type == "redacted_thinking":  # encrypted whole, no delta: shown as nothing, sent back
            out.append(ReasoningPart("", index, redacted=optional_str(block, "data") or None))
        elif block_type == "tool_use":
            call_id = optional_str(block, "id") or None
            self._open_tools[index] = call_id
            out.append(ToolPart(call_id, index, optional_str(block, "name"), None))
            whole = optional_object(block, "input")
            if whole:  # usually {}, a placeholder for the deltas
                self._whole_inputs[index] = arguments_json(whole)

    def _block_delta(self, obj: dict[str, Any], out: list[Part]) -> None:
        index = _block_index(obj)
        delta = _object(obj, "delta")
        delta_type = delta.get("type")
        if delta_type == "text_delta":
            text = optional_str(delta, "text")
            if text:
                out.append(TextPart(text))
        elif delta_type == "thinking_delta":
            text = optional_str(delta, "thinking")
            if text:
                out.append(ReasoningPart(text, index))
        elif delta_type == "signature_delta":
            signature = optional_str(delta, "signature")
            if signature:
                out.append(ReasoningPart("", index, signature=signature))
        elif delta_type == "input_json_delta" and index in self._open_tools:
            self._whole_inputs.pop(index, None)
            fragment = optional_str(delta, "partial_json")
            if fragment is not None:  # "" is kept: alone, it means a call with no arguments
                out.append(ToolPart(None, index, arguments=fragment))

    def _block_stop(self, obj: dict[str, Any], out: list[Part]) -> None:
        index = _block_index(obj)
        if index in self._open_tools:
            self._flush_whole_input(index, out)
            out.append(ToolEndPart(self._open_tools.pop(index), index))

    def _flush_whole_input(self, index: int, out: list[Part]) -> None:
        whole = self._whole_inputs.pop(index, None)
        if whole is not None:
            out.append(ToolPart(None, index, arguments=whole))

    def _message_delta(self, obj: dict[str, Any], out: list[Part]) -> None:
        delta = obj.get("delta")
        reason = optional_str(delta, "stop_reason") if isinstance(delta, dict) else None
        if reason:
            out.append(FinishPart(_STOP_REASONS.get(reason, "other"), reason))
        usage = obj.get("usage")
        if isinstance(usage, dict):
            out.append(self._usage(usage))

    def _usage(self, usage: dict[str, Any]) -> UsagePart:
        """The counts so far: an input count a frame leaves out keeps its earlier value; input is the uncached
        input plus the cache's reads and writes."""
        for key in _INPUT_KEYS:
            value = int_or_none(usage.get(key))
            if value is not None:
                self._inputs[key] = value
        inputs = self._inputs
        uncached = inputs.get("input_tokens")
        cache_read = inputs.get("cache_read_input_tokens")
        total = None if uncached is None else uncached + (cache_read or 0) + inputs.get(_CACHE_WRITE, 0)
        return UsagePart(total, int_or_none(usage.get("output_tokens")), cache_read)

    def _message_stop(self, obj: dict[str, Any], out: list[Part]) -> None:
        for index in list(self._whole_inputs):  # a block that never stopped
            self._flush_whole_input(index, out)
        out.append(EndPart())

    def _error(self, obj: dict[str, Any], out: list[Part]) -> None:
        error = obj.get("error")
        error_type = error.get("type") if isinstance(error, dict) else None
        kind = _KIND_OF_TYPE.get(error_type, "provider") if isinstance(error_type, str) else "provider"
        if kind in _TRY_AGAIN:
            out.append(ErrorPart(kind, error_message(error), retryable=True))
        else:
            out.append(ErrorPart("provider", error_message(error)))


_HANDLERS: dict[str, Callable[[AnthropicParser, dict[str, Any], list[Part]], None]] = {
    "message_start": AnthropicParser._message_start,
    "content_block_start": AnthropicParser._block_start,
    "content_block_delta": AnthropicParser._block_delta,
    "content_block_stop": AnthropicParser._block_stop,
    "message_delta": AnthropicParser._message_delta,
    "message_stop": AnthropicParser._message_stop,
    "error": AnthropicParser._error,
}


# --- standing in for Anthropic ----------------------------------------------------------------------------


class AnthropicEncoder(WireEncoder):
    """Opens and closes content blocks as thinking, text and calls alternate: a call's block ends right after
    its arguments, which is what makes it final while later text still streams; a thinking block ends with
    its signature (``sealed``: a hash of the thinking, which the test server expects back)."""

    call_id_prefix = "toolu_"

    def __init__(self, *, step: int = 1, model: str = "scripted", sequence: int = 0) -> None:
        super().__init__(step=step, model=model, sequence=sequence)
        self.block = -1
        self.open_kind: str | None = None
        self.thinking: list[str] = []  # the open thinking block's text

    def _event(self, event: str, payload: dict[str, Any]) -> bytes:
        return sse(json_text({"type": event, **payload}), event)

    def _close_block(self) -> list[bytes]:
        if self.open_kind is None:
            return []
        frames: list[bytes] = []
        if self.open_kind == "thinking":
            signature = {"type": "signature_delta", "signature": sealed("".join(self.thinking))}
            frames.append(self._event("content_block_delta", {"index": self.block, "delta": signature}))
            self.thinking = []
        self.open_kind = None
        frames.append(self._event("content_block_stop", {"index": self.block}))
        return frames

    def _open_block(self, kind: str, block: dict[str, Any]) -> list[bytes]:
        frames = self._close_block()
        self.block += 1
        self.open_kind = kind
        frames.append(self._event("content_block_start", {"index": self.block, "content_block": block}))
        return frames

    def start(self, input_tokens: int) -> list[bytes]:
        cached = self.cache_reads(input_tokens)  # Anthropic counts it apart from input_tokens
        usage = {
            "input_tokens": input_tokens - cached,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": cached,
            "output_tokens": 1,
        }
        message: dict[str, Any] = {
            "id": f"msg_script_{self.step}",
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        return [self._event("message_start", {"message": message}), self._event("ping", {})]

    def text(self, delta: str) -> list[bytes]:
        frames = [] if self.open_kind == "text" else self._open_block("text", {"type": "text", "text": ""})
        payload = {"index": self.block, "delta": {"type": "text_delta", "text": delta}}
        frames.append(self._event("content_block_delta", payload))
        return frames

    def reasoning(self, delta: str) -> list[bytes]:
        frames = []
        if self.open_kind != "thinking":
            frames = self._open_block("thinking", {"type": "thinking", "thinking": "", "signature": ""})
        self.thinking.append(delta)
        payload = {"index": self.block, "delta": {"type": "thinking_delta", "thinking": delta}}
        frames.append(self._event("content_block_delta", payload))
        return frames

    def tool_start(self, call_id: str, name: str, position: int) -> list[bytes]:
        return self._open_block("tool_use", {"type": "tool_use", "id": call_id, "name": name, "input": {}})

    def tool_arguments(self, fragment: str) -> list[bytes]:
        delta = {"type": "input_json_delta", "partial_json": fragment}
        return [self._event("content_block_delta", {"index": self.block, "delta": delta})]

    def tool_end(self, raw_arguments: str) -> list[bytes]:
        return self._close_block()  # the block ends here: the call is final while later text still streams

    def tool_whole(self, call_id: str, name: str, position: int, raw_arguments: str) -> list[bytes]:
        """The input in ``content_block_start`` and no delta, as some Anthropic-compatible servers send it."""
        block = {"type": "tool_use", "id": call_id, "name": name, "input": json.loads(raw_arguments)}
        return [*self._open_block("tool_use", block), *self._close_block()]

    def finish(self, called_tools: bool, input_tokens: int, output_tokens: int, *, cut: bool) -> list[bytes]:
        reason = "max_tokens" if cut else "tool_use" if called_tools else "end_turn"
        delta = {
            "delta": {"stop_reason": reason, "stop_sequence": None},
            "usage": {"output_tokens": output_tokens},
        }
        closing = [] if cut else self._close_block()  # cut by max_tokens: the open block never stops
        return [*closing, self._event("message_delta", delta), self._event("message_stop", {})]

    def error(self, kind: ErrorKind, message: str) -> list[bytes]:
        error = {"type": _TYPE_OF_KIND.get(kind, "api_error"), "message": message}
        return [self._event("error", {"error": error})]

    def malformed(self) -> bytes:
        payload = json_text(
            {"type": "content_block_delta", "index": max(self.block, 0), "delta": {"type": "text_delta"}}
        )
        return sse(payload[: len(payload) // 2], "content_block_delta")


# --- the provider: requests, errors, defaults --------------------------------------------------------------


def _image_block(image: ImageData) -> JSON:
    return {"type": "image", "source": {"type": "base64", "media_type": image.media_type, "data": image.data}}


def _read_images(blocks: Any) -> list[ImageData]:
    """The base64 ``image`` blocks of a content list (images by URL are skipped)."""
    images: list[ImageData] = []
    for block in blocks if isinstance(blocks, list) else []:
        source = block.get("source") if isinstance(block, dict) and block.get("type") == "image" else None
        if isinstance(source, dict) and source.get("type") == "base64":
            image = decode_image(str(source.get("data", "")))
            if image is not None:
                images.append(image)
    return images


def _blocks(message: Message) -> tuple[str, list[JSON]]:
    if isinstance(message, UserMessage):  # images first: Anthropic's advice for prompts about images
        prompt = [_image_block(image) for image in message.images]
        if message.content or not prompt:
            prompt.append({"type": "text", "text": message.content})
        return "user", prompt
    if isinstance(message, ToolResultMessage):
        content: str | list[JSON] = message.content
        if message.images:  # a text block must not be empty
            content = [{"type": "text", "text": message.content}] if message.content else []
            content += [_image_block(image) for image in message.images]
        block: JSON = {"type": "tool_result", "tool_use_id": message.call_id, "content": content}
        if message.error:
            block["is_error"] = True
        return "user", [block]
    blocks = _thinking_blocks(message.reasoning)
    blocks += [{"type": "text", "text": message.text}] if message.text else []
    blocks += [
        {"type": "tool_use", "id": c.id, "name": c.name, "input": arguments_object(c)}
        for c in message.tool_calls
    ]
    return "assistant", blocks


def _thinking_blocks(reasoning: list[Reasoning]) -> list[JSON]:
    """The thinking to send back, as it came: signed thinking and redacted thinking, in order."""
    blocks: list[JSON] = []
    for block in reasoning:
        if block.redacted:
            blocks.append({"type": "redacted_thinking", "data": block.redacted})
        elif block.signature:
            blocks.append({"type": "thinking", "thinking": block.text, "signature": block.signature})
    return blocks


def _read_thinking(blocks: list[Any]) -> list[Reasoning]:
    """The thinking blocks of an assistant message, read back."""
    reasoning: list[Reasoning] = []
    for block in (b for b in blocks if isinstance(b, dict)):
        text, signature, data = block.get("thinking"), block.get("signature"), block.get("data")
        if block.get("type") == "thinking":
            signed = signature if isinstance(signature, str) and signature else None
            reasoning.append(Reasoning(text=text if isinstance(text, str) else "", signature=signed))
        elif block.get("type") == "redacted_thinking" and isinstance(data, str):
            reasoning.append(Reasoning(redacted=data))
    return reasoning


_THINKING_REQUIRED = (
    "Expected `thinking` or `redacted_thinking`, but found `{}`. When `thinking` is enabled, a final `assistant`"
    " message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result`"
    " blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement,"
    " disable `thinking`. Please consult our documentation at"
    " https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
)
"""The API's words (sic) for a tool-calling message that lost its thinking."""
_ANSWER_TOKENS = 4096
_THINKING_BUDGETS: dict[ReasoningLevel, int] = {"low": 2048, "medium": 8192, "high": 24576}


def _reasoning_level(thinking: Any) -> ReasoningLevel | None:
    """The level a request's ``thinking`` asks for, read back (the demo behind the test server reasons then)."""
    if not isinstance(thinking, dict) or thinking.get("type") not in ("enabled", "adaptive"):
        return None
    budget = thinking.get("budget_tokens")
    budget = budget if isinstance(budget, int) else _THINKING_BUDGETS["medium"]
    return next((level for level, most in _THINKING_BUDGETS.items() if budget <= most), "high")


class Anthropic(Provider):
    name = "anthropic"
    title = "Anthropic"
    wire = "anthropic"
    parser = AnthropicParser
    encoder = AnthropicEncoder
    default_base_url = "https://api.anthropic.com/v1"
    path = "/messages"
    key_variable = "ANTHROPIC_API_KEY"
    extra_headers = {"anthropic-version": "2023-06-01"}

    def build(self, model: str, request: ModelRequest, options: JSON) -> JSON:
        messages: list[JSON] = []
        for message in without_empty(request.messages):
            role, blocks = _blocks(message)
            if messages and messages[-1]["role"] == role:  # tool results of one step share one user message
                messages[-1]["content"].extend(blocks)
            else:
                messages.append({"role": role, "content": blocks})
        body: JSON = {"model": model, "messages": messages, "max_tokens": _ANSWER_TOKENS, "stream": True}
        if request.reasoning is not None:
            budget = _THINKING_BUDGETS[request.reasoning]
            body["thinking"] = {"type": "enabled", "budget_tokens": budget}
            body["max_tokens"] = budget + _ANSWER_TOKENS  # max_tokens counts the thinking too
        if request.system:
            body["system"] = request.system
        if request.tools:
            body["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters}
                for t in request.tools
            ]
        return {**body, **options}

    def read_request(self, body: JSON) -> ModelRequest:
        history = History()
        for message in body.get("messages") or []:
            content = message.get("content")
            blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
            texts = content_text([b for b in blocks if b.get("type") == "text"])
            if message.get("role") == "assistant":
                calls = [
                    read_call(b.get("id", ""), b.get("name", ""), b.get("input"))
                    for b in blocks
                    if b.get("type") == "tool_use"
                ]
                history.assistant(texts, calls, _read_thinking(blocks))
                continue
            for block in blocks:
                if block.get("type") == "tool_result":
                    error = bool(block.get("is_error"))
                    history.result(
                        block.get("tool_use_id", ""), content_text(block.get("content")), error=error
                    )
                    images = _read_images(block.get("content"))
                    if images:
                        history.messages[-1] = history.messages[-1].model_copy(update={"images": images})
            images = _read_images(blocks)
            if images:
                history.messages.append(UserMessage(content=texts, images=images))
            else:
                history.user(texts)
        tools = [
            ToolSpec(t.get("name", ""), t.get("description", ""), t.get("input_schema") or {})
            for t in body.get("tools") or []
        ]
        system = content_text(body.get("system")) or None
        return ModelRequest(history.messages, tools, system, _reasoning_level(body.get("thinking")))

    def refused_history(self, body: JSON, served: Sequence[AssistantMessage]) -> str | None:
        """An assistant message with calls from a step that thought must start with that step's thinking
        blocks, unchanged (the API checks their signatures); the API asks it of the last such message, the
        test server of every one."""
        issued = {call.id: message for message in served if message.reasoning for call in message.tool_calls}
        for number, entry in enumerate(body.get("messages") or []):
            content = entry.get("content") if entry.get("role") == "assistant" else None
            blocks = [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []
            called = [
                issued[b["id"]] for b in blocks if b.get("type") == "tool_use" and b.get("id") in issued
            ]
            expected = _thinking_blocks(called[0].reasoning) if called else []
            if not expected:
                continue
            first = blocks[0].get("type") if blocks else None
            if first not in ("thinking", "redacted_thinking"):
                return f"messages.{number}.content.0.type: {_THINKING_REQUIRED.format(first)}"
            for position, block in enumerate(expected):
                sent = blocks[position] if position < len(blocks) else {}
                if any(sent.get(key) != value for key, value in block.items()):
                    return f"messages.{number}.content.{position}: Invalid `signature` in `thinking` block"
        return None

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"x-api-key": key}

    def normalized_base_url(self, base_url: str) -> str:
        """Both ``https://host`` and ``https://host/v1`` are accepted; a query string stays at the end."""
        url = httpx.URL(base_url)
        path = url.path.rstrip("/")
        return str(url.copy_with(path=path if path.endswith("/v1") else path + "/v1"))

    def error_body(self, status: int, message: str, *, index: int) -> JSON:
        error = {"type": _TYPE_OF_STATUS.get(status, "api_error"), "message": message}
        return {"type": "error", "error": error, "request_id": f"req_script_{index}"}

    def whole_answer(self, text: str, *, model: str, index: int) -> JSON:
        return {
            "id": f"msg_script_{index}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 1, "output_tokens": 8},
        }
