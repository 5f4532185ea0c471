"""OpenAI Chat Completions SSE → provider parts; also the wire of every OpenAI-compatible server.

Compatible servers bend the format (Azure's empty ``choices``, usage on every chunk, a whole call in one
delta, parallel calls sharing ``index: 0`` with distinct ids, ``name`` resent on every delta), so fragments
are passed on exactly as they arrive and the assembler decides where each belongs. The parser only remembers
which calls it has seen, to end them all when ``finish_reason`` arrives.
"""

from __future__ import annotations

from typing import Any

from .._events import StopReason
from ._frames import (
    MAX_FRAME_SIZE,
    MalformedFrame,
    SSEJSONParser,
    error_message,
    int_or_none,
    optional_list,
    optional_object,
    optional_str,
)
from ._parts import EndPart, ErrorPart, FinishPart, Part, TextPart, ToolEndPart, ToolPart, UsagePart

__all__ = ["OpenAIChatParser"]

_STOP_REASONS: dict[str, StopReason] = {
    "stop": "stop",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "length": "length",
    "content_filter": "content_filter",
}


class OpenAIChatParser(SSEJSONParser):
    wire = "openai-chat"

    def __init__(self, max_frame_size: int = MAX_FRAME_SIZE) -> None:
        super().__init__(max_frame_size)
        self._calls: list[tuple[str | None, int | None]] = []  # (id, index) of calls not yet ended, in order
        self._seen: set[tuple[str, int | None]] = set()  # (id, index): one id may name calls at two indexes
        self._call_indices: set[int | None] = set()

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
            out.append(
                UsagePart(
                    int_or_none(usage.get("prompt_tokens")), int_or_none(usage.get("completion_tokens"))
                )
            )

    def _on_choice(self, choice: dict[str, Any], out: list[Part]) -> None:
        delta = optional_object(choice, "delta")
        if delta is not None:
            content = optional_str(delta, "content")
            if content:
                out.append(TextPart(content))
            out.extend(self._tool_part(call) for call in optional_list(delta, "tool_calls") or ())
        finish_reason = optional_str(choice, "finish_reason")
        if finish_reason:
            # the reason first: a call cut by the token limit ("length") is told from one with broken JSON
            out.append(FinishPart(_STOP_REASONS.get(finish_reason, "other"), finish_reason))
            out.extend(ToolEndPart(call_id, index) for call_id, index in self._calls)
            self._calls = []
            self._seen.clear()
            self._call_indices.clear()

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
        self._remember(call_id, index)
        return ToolPart(call_id, index, name, arguments)

    def _remember(self, call_id: str | None, index: int | None) -> None:
        """Track calls for finish_reason: a new id is a new call; an id-less fragment joins its index."""
        if call_id is None:
            if index not in self._call_indices:
                self._calls.append((None, index))
                self._call_indices.add(index)
            return
        if (call_id, index) in self._seen:
            return
        self._seen.add((call_id, index))
        self._call_indices.add(index)
        if self._calls and self._calls[-1] == (None, index):  # its first fragment came without the id
            self._calls[-1] = (call_id, index)
        else:
            self._calls.append((call_id, index))
