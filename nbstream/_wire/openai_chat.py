"""OpenAI Chat Completions SSE → provider parts; also the wire of every OpenAI-compatible server.

Compatible servers bend the format (Azure's empty ``choices``, usage on every chunk, a whole call in one
delta, parallel calls sharing ``index: 0`` with distinct ids, ``name`` resent on every delta), so fragments
are passed on exactly as they arrive and the assembler decides where each belongs. Calls have no end marker of
their own: ``finish_reason`` ends them all (in the assembler, as every wire's finish does).
"""

from __future__ import annotations

from typing import Any

from .._events import StopReason
from ._frames import (
    MalformedFrame,
    SSEJSONParser,
    error_message,
    int_or_none,
    optional_list,
    optional_object,
    optional_str,
)
from ._parts import EndPart, ErrorPart, FinishPart, Part, TextPart, ToolPart, UsagePart

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
