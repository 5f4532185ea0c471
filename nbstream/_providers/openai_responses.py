"""OpenAI's Responses API, all of it: request mapping, stream parsing, and the encoder that stands in for it in
scripted models and the test server (its errors are OpenAI's, from ``openai_chat``).

The event name is read from the JSON ``type`` (some servers send no ``event:`` line). Argument deltas name
their call only by ``item_id`` / ``output_index``, and ``call_id`` is not guaranteed stable between ``added``
and ``done``, so each call is keyed by its output index (and item id) to the id first announced in
``output_item.added``. Arguments usually stream as deltas; a server that sends none has them whole in
``output_item.done``, which then counts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._encode._base import CREATED, WireEncoder, json_text, sse
from .._events import ErrorKind, StopReason
from .._messages import Message, ToolResultMessage, UserMessage
from .._model import ModelRequest, ToolSpec
from .._wire._frames import (
    MAX_FRAME_SIZE,
    MalformedFrame,
    SSEJSONParser,
    error_message,
    int_or_none,
    optional_object,
    optional_str,
)
from .._wire._parts import EndPart, ErrorPart, FinishPart, Part, TextPart, ToolEndPart, ToolPart, UsagePart
from ._base import JSON, Provider
from ._request import History, arguments_text, content_text, read_call, tool_result_text, without_empty
from .openai_chat import ERROR_OF_KIND, ERROR_OF_STATUS

__all__ = ["OpenAIResponses", "OpenAIResponsesEncoder", "OpenAIResponsesParser"]

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
        out.append(UsagePart(int_or_none(usage.get("input_tokens")), int_or_none(usage.get("output_tokens"))))


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
    "response.completed": OpenAIResponsesParser._completed,
    "response.incomplete": OpenAIResponsesParser._incomplete,
    "error": OpenAIResponsesParser._error,
    "response.failed": OpenAIResponsesParser._failed,
}


# --- standing in for OpenAI -------------------------------------------------------------------------------


class OpenAIResponsesEncoder(WireEncoder):
    """Keeps the output items so far: ``*.done`` events and ``response.completed`` repeat them whole."""

    def __init__(self, *, step: int = 1, model: str = "scripted", sequence: int = 0) -> None:
        super().__init__(step=step, model=model, sequence=sequence)
        self.output: list[dict[str, Any]] = []
        self.message: dict[str, Any] | None = None  # the open message item
        self.message_text: list[str] = []
        self.call: dict[str, Any] | None = None

    def _event(self, event: str, payload: dict[str, Any]) -> bytes:
        frame = sse(json_text({"type": event, **payload, "sequence_number": self.sequence}), event)
        self.sequence += 1
        return frame

    def _response(self, status: str, **fields: Any) -> dict[str, Any]:
        return {
            "id": f"resp_script_{self.step}",
            "object": "response",
            "created_at": CREATED,
            "status": status,
            "error": None,
            "incomplete_details": None,
            "instructions": None,
            "model": self.model,
            "output": [],
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "usage": None,
            **fields,
        }

    def _close_message(self) -> list[bytes]:
        if self.message is None:
            return []
        item, index, text = self.message, len(self.output), "".join(self.message_text)
        part = {"type": "output_text", "annotations": [], "text": text}
        done = {**item, "status": "completed", "content": [part]}
        where = {"item_id": item["id"], "output_index": index, "content_index": 0}
        frames = [
            self._event("response.output_text.done", {**where, "text": text}),
            self._event("response.content_part.done", {**where, "part": part}),
            self._event("response.output_item.done", {"output_index": index, "item": done}),
        ]
        self.output.append(done)
        self.message, self.message_text = None, []
        return frames

    def start(self, input_tokens: int) -> list[bytes]:
        response = self._response("in_progress")
        return [
            self._event("response.created", {"response": response}),
            self._event("response.in_progress", {"response": response}),
        ]

    def text(self, delta: str) -> list[bytes]:
        frames: list[bytes] = []
        index = len(self.output)
        if self.message is None:
            item_id = f"msg_script_{self.step}_{index}"
            self.message = {"id": item_id, "type": "message", "status": "in_progress", "role": "assistant"}
            part = {"type": "output_text", "annotations": [], "text": ""}
            frames += [
                self._event(
                    "response.output_item.added",
                    {"output_index": index, "item": {**self.message, "content": []}},
                ),
                self._event(
                    "response.content_part.added",
                    {"item_id": item_id, "output_index": index, "content_index": 0, "part": part},
                ),
            ]
        self.message_text.append(delta)
        where = {"item_id": self.message["id"], "output_index": index, "content_index": 0}
        frames.append(self._event("response.output_text.delta", {**where, "delta": delta, "logprobs": []}))
        return frames

    def tool_start(self, call_id: str, name: str, position: int) -> list[bytes]:
        frames = self._close_message()
        suffix = call_id.removeprefix("call_")
        self.call = {"id": f"fc_{suffix}", "type": "function_call", "status": "in_progress", "arguments": ""}
        self.call |= {"call_id": call_id, "name": name}
        frames.append(
            self._event("response.output_item.added", {"output_index": len(self.output), "item": self.call})
        )
        return frames

    def tool_arguments(self, fragment: str) -> list[bytes]:
        assert self.call is not None
        where = {"item_id": self.call["id"], "output_index": len(self.output)}
        return [self._event("response.function_call_arguments.delta", {**where, "delta": fragment})]

    def tool_end(self, raw_arguments: str) -> list[bytes]:
        assert self.call is not None
        index, done = len(self.output), {**self.call, "status": "completed", "arguments": raw_arguments}
        frames = [
            self._event(
                "response.function_call_arguments.done",
                {"item_id": done["id"], "output_index": index, "arguments": raw_arguments},
            ),
            self._event("response.output_item.done", {"output_index": index, "item": done}),
        ]
        self.output.append(done)
        self.call = None
        return frames

    def tool_whole(self, call_id: str, name: str, position: int, raw_arguments: str) -> list[bytes]:
        """No delta events: the arguments are only in ``*.done``."""
        return self.tool_start(call_id, name, position) + self.tool_end(raw_arguments)

    def finish(self, called_tools: bool, input_tokens: int, output_tokens: int, *, cut: bool) -> list[bytes]:
        frames = self._close_message()
        usage = {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens,
        }
        if cut:
            details = {"reason": "max_output_tokens"}
            response = self._response(
                "incomplete", output=self.output, usage=usage, incomplete_details=details
            )
            frames.append(self._event("response.incomplete", {"response": response}))
            return frames
        response = self._response("completed", output=self.output, usage=usage)
        frames.append(self._event("response.completed", {"response": response}))
        return frames

    def error(self, kind: ErrorKind, message: str) -> list[bytes]:
        error_type, code = ERROR_OF_KIND.get(kind, ("server_error", None))
        code = code or (
            "server_error" if error_type == "server_error" else None
        )  # Responses names server errors
        error = {"type": error_type, "code": code, "message": message, "param": None}
        failed = self._response("failed", output=self.output, error={"code": code, "message": message})
        return [self._event("error", {"error": error}), self._event("response.failed", {"response": failed})]

    def malformed(self) -> bytes:
        payload = json_text(
            {"type": "response.output_text.delta", "item_id": "msg", "output_index": 0, "delta": ""}
        )
        return sse(payload[: len(payload) // 2], "response.output_text.delta")


# --- the provider: requests, errors, defaults -------------------------------------------------------------


def _items(message: Message) -> list[JSON]:
    if isinstance(message, UserMessage):
        return [{"role": "user", "content": message.content}]
    if isinstance(message, ToolResultMessage):
        return [
            {"type": "function_call_output", "call_id": message.call_id, "output": tool_result_text(message)}
        ]
    items: list[JSON] = [{"role": "assistant", "content": message.text}] if message.text else []
    items += [
        {"type": "function_call", "call_id": c.id, "name": c.name, "arguments": arguments_text(c)}
        for c in message.tool_calls
    ]
    return items


class OpenAIResponses(Provider):
    name = "openai-responses"
    title = "OpenAI"
    wire = "openai-responses"
    parser = OpenAIResponsesParser
    encoder = OpenAIResponsesEncoder
    default_base_url = "https://api.openai.com/v1"
    path = "/responses"
    token_limit = "options={'max_output_tokens': ...}"
    key_variable = "OPENAI_API_KEY"

    def build(self, model: str, request: ModelRequest, options: JSON) -> JSON:
        body: JSON = {
            "model": model,
            "input": [item for m in without_empty(request.messages) for item in _items(m)],
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

    def read_request(self, body: JSON) -> ModelRequest:
        history = History()
        items = body.get("input")
        for item in [{"role": "user", "content": items}] if isinstance(items, str) else items or []:
            kind, role = item.get("type"), item.get("role")
            if kind == "function_call":
                call = read_call(item.get("call_id", ""), item.get("name", ""), item.get("arguments"))
                history.assistant("", [call])
            elif kind == "function_call_output":
                history.result(item.get("call_id", ""), content_text(item.get("output")))
            elif role == "user":
                history.user(content_text(item.get("content")))
            elif role == "assistant":
                history.assistant(content_text(item.get("content")), [])
        tools = [
            ToolSpec(t.get("name", ""), t.get("description", ""), t.get("parameters") or {})
            for t in body.get("tools") or []
            if t.get("type", "function") == "function"
        ]
        return ModelRequest(history.messages, tools, body.get("instructions"))

    def error_body(self, status: int, message: str, *, index: int) -> JSON:
        error_type, code = ERROR_OF_STATUS.get(status, ERROR_OF_STATUS[500])
        return {"error": {"message": message, "type": error_type, "param": None, "code": code}}

    def whole_answer(self, text: str, *, model: str, index: int) -> JSON:
        content = {"type": "output_text", "text": text, "annotations": []}
        return {
            "id": f"resp_script_{index}",
            "object": "response",
            "status": "completed",
            "model": model,
            "output": [
                {"type": "message", "id": f"msg_script_{index}", "role": "assistant", "content": [content]}
            ],
            "usage": {"input_tokens": 1, "output_tokens": 8, "total_tokens": 9},
        }
