"""OpenAI's Responses API, all of it: request mapping, stream parsing, and the encoder that stands in for it in
scripted models and the test server (its errors are OpenAI's, from ``openai_chat``).

The event name is read from the JSON ``type`` (some servers send no ``event:`` line). Argument deltas name
their call only by ``item_id`` / ``output_index``, and ``call_id`` is not guaranteed stable between ``added``
and ``done``, so each call is keyed by its output index (and item id) to the id first announced in
``output_item.added``. Arguments usually stream as deltas; a server that sends none has them whole in
``output_item.done``, which then counts.

Reasoning comes as ``reasoning`` items: summary parts streamed by ``reasoning_summary_text.delta`` (or, from
servers that show the raw reasoning, ``reasoning_text.delta``), each part a ``Reasoning`` block with the item's
id; ``encrypted_content`` (on the item's first block) is the one in ``output_item.done``, a fresh encryption
of the ``added`` one. A reasoning item goes back as an input item before the message and calls it preceded,
with its summary and encrypted content; it is left out when it has no encrypted content and responses are
not stored (``store`` is false unless ``options`` say otherwise), as the API could not find it by id.
``Session(reasoning=...)`` asks for ``reasoning: {effort, summary: "auto"}``, and, unless ``store`` is true,
``include: ["reasoning.encrypted_content"]`` so that the reasoning before a call can go back;
``options={"reasoning": ..., "include": ...}`` win.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .._encode._base import CREATED, WireEncoder, json_text, sealed, sse
from .._events import ErrorKind, StopReason
from .._images import ImageData, decode_image
from .._messages import AssistantMessage, Message, Reasoning, ToolResultMessage, UserMessage
from .._model import REASONING_LEVELS, ModelRequest, ToolSpec
from .._wire._frames import (
    MAX_FRAME_SIZE,
    MalformedFrame,
    SSEJSONParser,
    error_message,
    int_or_none,
    optional_list,
    optional_object,
    optional_str,
)
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


# --- standing in for OpenAI -------------------------------------------------------------------------------


class OpenAIResponsesEncoder(WireEncoder):
    """Keeps the output items so far: ``*.done`` events and ``response.completed`` repeat them whole. Reasoning
    is a ``reasoning`` item with one summary part; its ``encrypted_content`` (``sealed``: a hash of the text,
    which the test server expects back) comes in ``output_item.done``."""

    def __init__(self, *, step: int = 1, model: str = "scripted", sequence: int = 0) -> None:
        super().__init__(step=step, model=model, sequence=sequence)
        self.output: list[dict[str, Any]] = []
        self.message: dict[str, Any] | None = None  # the open message item
        self.message_text: list[str] = []
        self.thought: dict[str, Any] | None = None  # the open reasoning item
        self.thought_text: list[str] = []
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

    def _close_reasoning(self) -> list[bytes]:
        if self.thought is None:
            return []
        item, index, text = self.thought, len(self.output), "".join(self.thought_text)
        part = {"type": "summary_text", "text": text}
        done = {**item, "encrypted_content": sealed(text, prefix="gAAAAA"), "summary": [part]}
        where = {"item_id": item["id"], "output_index": index, "summary_index": 0}
        frames = [
            self._event("response.reasoning_summary_text.done", {**where, "text": text}),
            self._event("response.reasoning_summary_part.done", {**where, "part": part}),
            self._event("response.output_item.done", {"output_index": index, "item": done}),
        ]
        self.output.append(done)
        self.thought, self.thought_text = None, []
        return frames

    def reasoning(self, delta: str) -> list[bytes]:
        frames = self._close_message()
        index = len(self.output)
        item_id = f"rs_script_{self.step}_{index}"
        where = {"item_id": item_id, "output_index": index, "summary_index": 0}
        if self.thought is None:
            self.thought = {"id": item_id, "type": "reasoning", "summary": []}
            part = {"type": "summary_text", "text": ""}
            frames += [
                self._event("response.output_item.added", {"output_index": index, "item": self.thought}),
                self._event("response.reasoning_summary_part.added", {**where, "part": part}),
            ]
        self.thought_text.append(delta)
        frames.append(self._event("response.reasoning_summary_text.delta", {**where, "delta": delta}))
        return frames

    def _close_items(self) -> list[bytes]:
        """Close the open reasoning or message item (a call or the finish follows)."""
        return self._close_reasoning() + self._close_message()

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
        frames = self._close_reasoning()
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
        frames = self._close_items()
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
        frames = self._close_items()
        usage = {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": self.cache_reads(input_tokens)},
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


def _content(text: str, images: list[ImageData]) -> str | list[JSON]:
    """Text alone as a string; with images, ``input_text`` (when there is text) and ``input_image`` parts."""
    if not images:
        return text
    parts: list[JSON] = [{"type": "input_text", "text": text}] if text else []
    parts += [{"type": "input_image", "image_url": image.data_url, "detail": "auto"} for image in images]
    return parts


def _read_images(content: Any) -> list[ImageData]:
    """The ``input_image`` parts of a content list that carry a data URL (file ids and links are skipped)."""
    images: list[ImageData] = []
    for part in content if isinstance(content, list) else []:
        url = part.get("image_url") if isinstance(part, dict) and part.get("type") == "input_image" else None
        image = decode_image(url) if isinstance(url, str) else None
        if image is not None:
            images.append(image)
    return images


def _items(message: Message) -> list[JSON]:
    if isinstance(message, UserMessage):
        return [{"role": "user", "content": _content(message.content, message.images)}]
    if isinstance(message, ToolResultMessage):  # the output takes images as a message's content does
        output = _content(tool_result_text(message), message.images)
        return [{"type": "function_call_output", "call_id": message.call_id, "output": output}]
    items: list[JSON] = [{"role": "assistant", "content": message.text}] if message.text else []
    items += [
        {"type": "function_call", "call_id": c.id, "name": c.name, "arguments": arguments_text(c)}
        for c in message.tool_calls
    ]
    return items


_NOT_STORED = (
    "Items are not persisted when `store` is set to false. Try again with `store` set to true, or remove this"
    " item from your input."
)


def _reasoning_items(reasoning: list[Reasoning], *, stored: bool) -> list[JSON]:
    """One input item per reasoning item (its blocks are its summary parts), as the API sent it."""
    items: list[JSON] = []
    for block in reasoning:
        if not block.id:
            continue  # from another provider
        if not items or items[-1]["id"] != block.id:
            items.append({"type": "reasoning", "id": block.id, "summary": []})
        if block.text:
            items[-1]["summary"].append({"type": "summary_text", "text": block.text})
        if block.encrypted:
            items[-1]["encrypted_content"] = block.encrypted
    return [item for item in items if stored or "encrypted_content" in item]


def _read_reasoning(item: JSON) -> list[Reasoning]:
    """A reasoning input item as blocks: one per summary part, the encrypted content on the first."""
    item_id, encrypted = item.get("id"), item.get("encrypted_content")
    parts = [part.get("text") for part in item.get("summary") or [] if isinstance(part, dict)]
    texts: list[str] = [text for text in parts if isinstance(text, str)] or [""]
    return [
        Reasoning(
            text=text,
            id=item_id if isinstance(item_id, str) else None,
            encrypted=encrypted if number == 0 and isinstance(encrypted, str) else None,
        )
        for number, text in enumerate(texts)
    ]


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
        stored = options.get("store") is True
        items: list[JSON] = []
        for message in without_empty(request.messages):
            if isinstance(message, AssistantMessage):  # reasoning first: it preceded the text and the calls
                items += _reasoning_items(message.reasoning, stored=stored)
            items += _items(message)
        body: JSON = {"model": model, "input": items, "stream": True, "store": False}
        if request.reasoning is not None:
            body["reasoning"] = {"effort": request.reasoning, "summary": "auto"}
            if not stored:
                body["include"] = ["reasoning.encrypted_content"]
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
                images = _read_images(item.get("output"))
                if images:
                    history.messages[-1] = history.messages[-1].model_copy(update={"images": images})
            elif role == "user":
                text, images = content_text(item.get("content")), _read_images(item.get("content"))
                if images:
                    history.messages.append(UserMessage(content=text, images=images))
                else:
                    history.user(text)
            elif role == "assistant":
                history.assistant(content_text(item.get("content")), [])
            elif kind == "reasoning":
                history.assistant("", [], _read_reasoning(item))
        tools = [
            ToolSpec(t.get("name", ""), t.get("description", ""), t.get("parameters") or {})
            for t in body.get("tools") or []
            if t.get("type", "function") == "function"
        ]
        effort = body.get("reasoning", {}).get("effort") if isinstance(body.get("reasoning"), dict) else None
        level = effort if effort in REASONING_LEVELS else None
        return ModelRequest(history.messages, tools, body.get("instructions"), level)

    def refused_history(self, body: JSON, served: Sequence[AssistantMessage]) -> str | None:
        """A call that followed reasoning must come back after that reasoning item; without stored responses,
        a reasoning item needs its encrypted content, as it was sent."""
        issued: dict[str, JSON] = {}  # call id → the reasoning item that preceded the call
        for message in served:
            items = _reasoning_items(message.reasoning, stored=True)
            issued |= {call.id: items[-1] for call in message.tool_calls if items}
        stored = body.get("store") is True
        seen: dict[str, JSON] = {}  # reasoning items sent so far, by id
        for item in body.get("input") or []:
            if not isinstance(item, dict):
                continue
            if item.get("type") == "reasoning" and isinstance(item.get("id"), str):
                seen[item["id"]] = item
                if not stored and "encrypted_content" not in item:
                    return f"Item with id '{item['id']}' not found. {_NOT_STORED}"
            want = issued.get(item.get("call_id") or "") if item.get("type") == "function_call" else None
            if want is None:
                continue
            sent = seen.get(want["id"])
            if sent is None:
                call = "fc_" + str(item.get("call_id")).removeprefix("call_")
                return (
                    f"Item '{call}' of type 'function_call' was provided without its required 'reasoning' item:"
                    f" '{want['id']}'."
                )
            if not stored and sent.get("encrypted_content") != want.get("encrypted_content"):
                return f"The encrypted content for item {want['id']} could not be verified."
        return None

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
