"""OpenAI Responses' stream, parsed: ``OpenAIResponsesParser`` turns the typed SSE events (output items added
and done, their text, argument and reasoning deltas, and the response's end) into parts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..._events import StopReason
from ..._wire._frames import (
    MAX_FRAME_SIZE,
    MalformedFrame,
    SSEJSONParser,
    error_message,
    int_or_none,
    optional_list,
    optional_object,
    optional_str,
)
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
from .._base import JSON

__all__ = ["OpenAIResponsesParser"]

_INCOMPLETE_REASONS: dict[str, StopReason] = {
    "max_output_tokens": "length",
    "content_filter": "content_filter",
}


def _object(container: dict[str, Any], key: str) -> dict[str, Any]:
    """The object at ``key``, ``{}`` when absent: Responses events omit empty parts."""
    return optional_object(container, key) or {}


def _output_index(obj: dict[str, Any]) -> int | None:
    index = obj.get("output_index")
    if index is not None and type(index) is not int:
        raise MalformedFrame("output_index is not an integer")
    return index


def _usage(response: dict[str, Any], out: list[Part]) -> None:
    usage = response.get("usage")
    if isinstance(usage, dict):
        details = usage.get("input_tokens_details")
        cached = int_or_none(details.get("cached_tokens")) if isinstance(details, dict) else None
        input_tokens = int_or_none(usage.get("input_tokens"))  # cached tokens included
        out.append(UsagePart(input_tokens, int_or_none(usage.get("output_tokens")), cached))


def _describe(error: Any) -> str:
    """The provider's message, prefixed by its code when that adds something."""
    message = error_message(error)
    code = error.get("code") if isinstance(error, dict) else None
    return f"{code}: {message}" if isinstance(code, str) and code and code not in message else message


class OpenAIResponsesParser(SSEJSONParser):
    wire = "openai-responses"

    def __init__(self, max_frame_size: int = MAX_FRAME_SIZE) -> None:
        super().__init__(max_frame_size)
        # Calls announced by output_item.added, as (call id, output index), found by output index or item id.
        self._calls_by_index: dict[int | None, tuple[str | None, int | None]] = {}
        self._calls_by_item: dict[str, tuple[str | None, int | None]] = {}
        self._with_arguments: set[int | None] = set()  # output indexes of calls whose arguments have come
        self._reasoning_items: dict[str, str] = {}  # reasoning item id → its key (see _reasoning_key)
        self._streamed: set[str] = set()  # reasoning keys whose text came as deltas
        self._saw_call = False
        self._reported_error = False

    def _on_object(self, obj: dict[str, Any], event: str, out: list[Part]) -> None:
        kind = obj.get("type")
        handler = _HANDLERS.get(kind if isinstance(kind, str) else event)
        if handler is not None:
            handler(self, obj, out)

    def _text_delta(self, obj: dict[str, Any], out: list[Part]) -> None:
        delta = optional_str(obj, "delta")
        if delta:
            out.append(TextPart(delta))

    def _item_added(self, obj: dict[str, Any], out: list[Part]) -> None:
        item = _object(obj, "item")
        if item.get("type") == "reasoning":
            self._reasoning_item(obj, item, out)
        if item.get("type") != "function_call":
            return
        index = _output_index(obj)
        item_id = optional_str(item, "id")
        call_id = optional_str(item, "call_id") or item_id
        self._calls_by_index[index] = (call_id, index)
        if item_id:
            self._calls_by_item[item_id] = (call_id, index)
        self._saw_call = True
        arguments = optional_str(item, "arguments") or None
        if arguments:
            self._with_arguments.add(index)
        out.append(ToolPart(call_id, index, optional_str(item, "name"), arguments))

    def _arguments_delta(self, obj: dict[str, Any], out: list[Part]) -> None:
        delta = optional_str(obj, "delta")
        if delta is None:
            return
        index = _output_index(obj)
        call_id, index = self._announced(index, optional_str(obj, "item_id")) or (None, index)
        self._with_arguments.add(index)
        out.append(ToolPart(call_id, index, arguments=delta))

    def _item_done(self, obj: dict[str, Any], out: list[Part]) -> None:
        item = _object(obj, "item")
        if item.get("type") == "reasoning":
            self._reasoning_item(obj, item, out, done=True)
        if item.get("type") != "function_call":
            return
        index = _output_index(obj)
        item_id = optional_str(item, "id")
        announced = self._announced(index, item_id)
        if announced is None:  # the whole call is here
            call_id = optional_str(item, "call_id") or item_id
            self._saw_call = True
            name = optional_str(item, "name")
            out.append(ToolPart(call_id, index, name, optional_str(item, "arguments") or None))
        else:
            call_id, index = announced
            whole = optional_str(item, "arguments")
            if whole and index not in self._with_arguments:  # no delta came: the arguments are only here
                self._with_arguments.add(index)
                out.append(ToolPart(call_id, index, arguments=whole))
        out.append(ToolEndPart(call_id, index))

    def _announced(self, index: int | None, item_id: str | None) -> tuple[str | None, int | None] | None:
        if index in self._calls_by_index:
            return self._calls_by_index[index]
        return self._calls_by_item.get(item_id) if item_id else None

    # -- reasoning: one block per summary (or content) part of a reasoning item, all with the item's id --

    def _reasoning_key(self, index: int | None, item_id: str | None, kind: str = "", number: Any = 0) -> str:
        """A block's key: its item's (the output index, else the id), then ``/s1``... for parts after the
        first: the item's ``encrypted_content`` goes on its first block."""
        if number is not None and type(number) is not int:
            raise MalformedFrame(f"a reasoning part number is {type(number).__name__}, not an integer")
        base = self._reasoning_items.get(item_id or "")
        if base is None:
            base = f"{index}" if index is not None else f"id:{item_id}"
        return f"{base}/{kind}{number}" if number else base

    def _reasoning_item(self, obj: JSON, item: JSON, out: list[Part], *, done: bool = False) -> None:
        item_id = optional_str(item, "id") or None
        key = self._reasoning_key(_output_index(obj), item_id)
        if item_id:
            self._reasoning_items[item_id] = key
        encrypted = optional_str(item, "encrypted_content") or None
        out.append(ReasoningPart("", key, id=item_id, encrypted=encrypted))
        for kind, field in (("s", "summary"), ("c", "content")) if done else ():
            for number, piece in enumerate(optional_list(item, field) or ()):
                text = optional_str(piece, "text") if isinstance(piece, dict) else None
                part_key = self._reasoning_key(None, item_id, kind, number)
                if text and part_key not in self._streamed:  # no delta came: the text is only here
                    self._streamed.add(part_key)
                    out.append(ReasoningPart(text, part_key, id=item_id))

    def _reasoning_delta(self, obj: dict[str, Any], out: list[Part]) -> None:
        delta = optional_str(obj, "delta")
        if not delta:
            return
        item_id = optional_str(obj, "item_id") or None
        summary = "summary_index" in obj
        number = obj.get("summary_index") if summary else obj.get("content_index", 0)
        key = self._reasoning_key(_output_index(obj), item_id, "s" if summary else "c", number)
        self._streamed.add(key)
        out.append(ReasoningPart(delta, key, id=item_id))

    def _completed(self, obj: dict[str, Any], out: list[Part]) -> None:
        _usage(_object(obj, "response"), out)
        out.append(FinishPart("tool_calls" if self._saw_call else "stop", "completed"))
        out.append(EndPart())

    def _incomplete(self, obj: dict[str, Any], out: list[Part]) -> None:
        response = _object(obj, "response")
        reason = _object(response, "incomplete_details").get("reason")
        raw = reason if isinstance(reason, str) and reason else "incomplete"
        _usage(response, out)
        out.append(FinishPart(_INCOMPLETE_REASONS.get(raw, "other"), raw))
        out.append(EndPart())

    def _error(self, obj: dict[str, Any], out: list[Part]) -> None:
        nested = obj.get(
            "error"
        )  # recorded streams nest the fields; the documented shape has them at the top
        self._reported_error = True
        out.append(ErrorPart(kind="provider", message=_describe(nested if isinstance(nested, dict) else obj)))

    def _failed(self, obj: dict[str, Any], out: list[Part]) -> None:
        if self._reported_error:  # the `error` event just before said it already
            return
        error = _object(_object(obj, "response"), "error")
        self._reported_error = True
        out.append(ErrorPart(kind="provider", message=_describe(error) if error else "response failed"))


_HANDLERS: dict[str, Callable[[OpenAIResponsesParser, dict[str, Any], list[Part]], None]] = {
    "response.output_text.delta": OpenAIResponsesParser._text_delta,
    "response.output_item.added": OpenAIResponsesParser._item_added,
    "response.function_call_arguments.delta": OpenAIResponsesParser._arguments_delta,
    "response.output_item.done": OpenAIResponsesParser._item_done,
    "response.reasoning_summary_text.delta": OpenAIResponsesParser._reasoning_delta,
    "response.reasoning_text.delta": OpenAIResponsesParser._reasoning_delta,
    "response.completed": OpenAIResponsesParser._completed,
    "response.incomplete": OpenAIResponsesParser._incomplete,
    "error": OpenAIResponsesParser._error,
    "response.failed": OpenAIResponsesParser._failed,
}
