"""Anthropic's stream, parsed: ``AnthropicParser`` turns the Messages API's SSE events (content blocks opened,
streamed and stopped by their index, around ``message_start``, ``message_delta`` and ``message_stop``) into
parts. The error table is here too, where the stream first needs it; the encoder and the provider read it from
here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..._events import ErrorKind, StopReason
from ..._wire._frames import (
    MAX_FRAME_SIZE,
    MalformedFrame,
    SSEJSONParser,
    error_message,
    int_or_none,
    optional_object,
    optional_str,
)
from ..._wire._frames import json_text as arguments_json
from ..._wire._parts import (
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

__all__ = ["AnthropicParser"]

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
        cache_read, cache_write = inputs.get("cache_read_input_tokens"), inputs.get(_CACHE_WRITE)
        total = None if uncached is None else uncached + (cache_read or 0) + (cache_write or 0)
        return UsagePart(total, int_or_none(usage.get("output_tokens")), cache_read, cache_write)

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
