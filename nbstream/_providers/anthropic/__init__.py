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
it; the reads are ``cached_tokens`` and the writes ``cache_write_tokens`` (each has its own price: writes are
priced at the 5-minute cache's rate, as genai-prices has no separate 1-hour rate).

Reasoning is extended thinking: ``thinking`` blocks stream ``thinking_delta`` text and end with one
``signature_delta``; ``redacted_thinking`` blocks carry encrypted ``data`` and no text. The API refuses a
request whose last tool-calling assistant message lost its thinking blocks (or changed them), so every signed
or redacted block goes back unchanged, first in its message; a block without a signature (cut before it, or
from another provider) stays home. ``Session(reasoning=...)`` asks for ``thinking: {type: enabled,
budget_tokens}`` (low 2,048, medium 8,192, high 24,576 tokens) and raises ``max_tokens`` to the budget plus
4,096, since it counts the thinking too; ``options={"thinking": ..., "max_tokens": ...}`` win.

Here are the provider, its request mapping and its error bodies; the stream parser and the error table are in
``_stream``, the encoder in ``_stand_in``, both classes re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from ..._images import ImageData, decode_image
from ..._messages import AssistantMessage, Message, Reasoning, ToolResultMessage, UserMessage
from ..._model import ModelRequest, ReasoningLevel, ToolSpec
from .._base import JSON, Provider
from .._request import History, arguments_object, content_text, read_call, without_empty
from ._stand_in import AnthropicEncoder
from ._stream import _TYPE_OF_STATUS, AnthropicParser

__all__ = ["Anthropic", "AnthropicEncoder", "AnthropicParser"]


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
