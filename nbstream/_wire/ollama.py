"""Ollama's native ``/api/chat`` NDJSON → provider parts.

Ollama sends each tool call whole, with ``arguments`` as a JSON *object* and, before 0.12.10, without an id;
the parser re-serializes the arguments and ends each call at once. Each call gets its own index (its position
in the response), so two whole calls are never merged even when they share an id or have none; the assembler
gives id-less calls their ids. Calls may ride on the final ``done: true`` line, so they are read before
finishing.
"""

from __future__ import annotations

from typing import Any

from .._events import StopReason
from ._frames import (
    MAX_FRAME_SIZE,
    MalformedFrame,
    NDJSONParser,
    error_message,
    int_or_none,
    json_text,
    optional_list,
    optional_object,
    optional_str,
)
from ._parts import EndPart, ErrorPart, FinishPart, Part, TextPart, ToolEndPart, ToolPart, UsagePart

__all__ = ["OllamaParser"]


def _arguments_text(arguments: Any) -> str | None:
    if arguments is None or isinstance(arguments, str):
        return arguments
    if not isinstance(arguments, dict):
        raise MalformedFrame("tool call arguments is not an object")
    return json_text(arguments)


class OllamaParser(NDJSONParser):
    wire = "ollama"

    def __init__(self, max_frame_size: int = MAX_FRAME_SIZE) -> None:
        super().__init__(max_frame_size)
        self._call_count = 0

    def _on_object(self, obj: dict[str, Any], event: str, out: list[Part]) -> None:
        error = obj.get("error")
        if error:  # sent as a line of its own, with HTTP status 200
            out.append(ErrorPart(kind="provider", message=error_message(error)))
            return
        message = optional_object(obj, "message")
        if message is not None:
            content = optional_str(message, "content")
            if content:
                out.append(TextPart(content))
            for call in optional_list(message, "tool_calls") or ():
                self._tool_call(call, out)
        if obj.get("done") is True:
            self._finish(obj, out)

    def _tool_call(self, call: Any, out: list[Part]) -> None:
        if not isinstance(call, dict):
            raise MalformedFrame("a tool call is not an object")
        function = call.get("function")
        if not isinstance(function, dict):
            raise MalformedFrame("tool call function is not an object")
        if function.get("index") is not None and type(function.get("index")) is not int:
            raise MalformedFrame("tool call index is not an integer")
        arguments = _arguments_text(function.get("arguments"))
        call_id = optional_str(call, "id") or None
        position = self._call_count  # Ollama's own index restarts at 0 on each line: not an identity
        self._call_count += 1
        out.append(ToolPart(call_id, position, optional_str(function, "name") or None, arguments))
        out.append(ToolEndPart(call_id, position))

    def _finish(self, obj: dict[str, Any], out: list[Part]) -> None:
        out.append(UsagePart(int_or_none(obj.get("prompt_eval_count")), int_or_none(obj.get("eval_count"))))
        raw = optional_str(obj, "done_reason") or None
        reason: StopReason
        if raw is None or raw == "stop":  # Ollama says "stop" even when the model called tools
            reason = "tool_calls" if self._call_count else "stop"
        else:
            reason = "length" if raw == "length" else "other"
        out.append(FinishPart(reason, raw))
        out.append(EndPart())
