"""Anthropic Messages SSE → provider parts.

Content arrives in indexed blocks. Only ``tool_use`` blocks become tool parts: ``server_tool_use`` blocks also
stream ``input_json_delta`` but run on Anthropic's side, so deltas for blocks not opened as ``tool_use`` are
dropped. A ``tool_use`` block's ``input`` is ``{}`` and its arguments come as deltas, except from servers that
send the input whole in ``content_block_start``: that input is used when no delta came for the block. Usage
parts always carry both counts known so far (``message_delta`` may omit the input count), so the last one is
the whole picture.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._events import ErrorKind, StopReason
from ._frames import (
    MAX_FRAME_SIZE,
    MalformedFrame,
    SSEJSONParser,
    error_message,
    int_or_none,
    json_text,
    optional_object,
    optional_str,
)
from ._parts import EndPart, ErrorPart, FinishPart, Part, TextPart, ToolEndPart, ToolPart, UsagePart

__all__ = ["AnthropicParser"]

_STOP_REASONS: dict[str, StopReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
}

_ERROR_KINDS: dict[str, tuple[ErrorKind, bool]] = {  # error.type → (kind, retryable)
    "overloaded_error": ("overloaded", True),
    "rate_limit_error": ("rate_limited", True),
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
        self._input_tokens: int | None = None

    def _on_object(self, obj: dict[str, Any], event: str, out: list[Part]) -> None:
        kind = obj.get("type")
        handler = _HANDLERS.get(kind if isinstance(kind, str) else event)
        if handler is not None:
            handler(self, obj, out)

    def _message_start(self, obj: dict[str, Any], out: list[Part]) -> None:
        usage = _object(obj, "message").get("usage")
        if isinstance(usage, dict):
            self._input_tokens = int_or_none(usage.get("input_tokens"))
            out.append(UsagePart(self._input_tokens, int_or_none(usage.get("output_tokens"))))

    def _block_start(self, obj: dict[str, Any], out: list[Part]) -> None:
        index = _block_index(obj)
        block = _object(obj, "content_block")
        block_type = block.get("type")
        if block_type == "text":
            text = optional_str(block, "text")
            if text:
                out.append(TextPart(text))
        elif block_type == "tool_use":
            call_id = optional_str(block, "id") or None
            self._open_tools[index] = call_id
            out.append(ToolPart(call_id, index, optional_str(block, "name"), None))
            whole = optional_object(block, "input")
            if whole:  # usually {}, a placeholder for the deltas
                self._whole_inputs[index] = json_text(whole)

    def _block_delta(self, obj: dict[str, Any], out: list[Part]) -> None:
        index = _block_index(obj)
        delta = _object(obj, "delta")
        delta_type = delta.get("type")
        if delta_type == "text_delta":
            text = optional_str(delta, "text")
            if text:
                out.append(TextPart(text))
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
            input_tokens = int_or_none(usage.get("input_tokens"))
            out.append(
                UsagePart(
                    self._input_tokens if input_tokens is None else input_tokens,
                    int_or_none(usage.get("output_tokens")),
                )
            )

    def _message_stop(self, obj: dict[str, Any], out: list[Part]) -> None:
        for index in list(self._whole_inputs):  # a block that never stopped
            self._flush_whole_input(index, out)
        out.append(EndPart())

    def _error(self, obj: dict[str, Any], out: list[Part]) -> None:
        error = obj.get("error")
        error_type = error.get("type") if isinstance(error, dict) else None
        kind, retryable = _ERROR_KINDS.get(
            error_type if isinstance(error_type, str) else "", ("provider", False)
        )
        out.append(ErrorPart(kind=kind, message=error_message(error), retryable=retryable))


_HANDLERS: dict[str, Callable[[AnthropicParser, dict[str, Any], list[Part]], None]] = {
    "message_start": AnthropicParser._message_start,
    "content_block_start": AnthropicParser._block_start,
    "content_block_delta": AnthropicParser._block_delta,
    "content_block_stop": AnthropicParser._block_stop,
    "message_delta": AnthropicParser._message_delta,
    "message_stop": AnthropicParser._message_stop,
    "error": AnthropicParser._error,
}
