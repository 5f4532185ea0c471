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

Here are the provider, its request mapping and its error bodies; the stream parser is in ``_stream``, the
encoder in ``_stand_in``, both classes re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..._images import ImageData, decode_image
from ..._messages import AssistantMessage, Message, Reasoning, ToolResultMessage, UserMessage
from ..._model import REASONING_LEVELS, ModelRequest, ToolSpec
from .._base import JSON, Provider
from .._request import History, arguments_text, content_text, read_call, tool_result_text, without_empty
from ..openai_chat import ERROR_OF_STATUS
from ._stand_in import OpenAIResponsesEncoder
from ._stream import OpenAIResponsesParser

__all__ = ["OpenAIResponses", "OpenAIResponsesEncoder", "OpenAIResponsesParser"]


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
