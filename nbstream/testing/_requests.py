"""Provider request bodies → ``ModelRequest``: what lets the demo model answer behind the test server.

Lenient on purpose: it reads what clients send (strings or content-part lists, Ollama's ``tool_name``...) and
skips what the demo does not need (images, options).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .._demo import DemoModel
from .._encode import Step
from .._messages import AssistantMessage, Message, ToolCall, ToolResultMessage, UserMessage
from .._model import ModelRequest, ToolSpec
from .._wire import WireFormat

__all__ = ["demo_turns", "request_from_json"]

JSON = dict[str, Any]


def _text(content: Any) -> str:
    """A message's text, whether a string or a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return ""


def _call(call_id: str, name: str, arguments: Any) -> ToolCall:
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments if arguments is not None else {})
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    return ToolCall(
        id=call_id, name=name, arguments=parsed if isinstance(parsed, dict) else None, raw_arguments=raw
    )


class _History:
    """Builds the message list, remembering call names so that results (which carry only an id) get theirs."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.names: dict[str, str] = {}

    def user(self, text: str) -> None:
        if text:
            self.messages.append(UserMessage(content=text))

    def assistant(self, text: str, calls: list[ToolCall]) -> None:
        self.names.update((c.id, c.name) for c in calls)
        last = self.messages[-1] if self.messages else None
        if isinstance(last, AssistantMessage) and not text:  # Responses sends calls as items of their own
            self.messages[-1] = AssistantMessage(text=last.text, tool_calls=[*last.tool_calls, *calls])
        else:
            self.messages.append(AssistantMessage(text=text, tool_calls=calls))

    def result(self, call_id: str, content: str, *, name: str | None = None, error: bool = False) -> None:
        name = name or self.names.get(call_id, "")
        self.messages.append(
            ToolResultMessage(
                call_id=call_id, name=name, content=content, error="exception" if error else None
            )
        )


def _chat_style(body: JSON) -> ModelRequest:
    """OpenAI Chat Completions and Ollama ``/api/chat`` (calls carry objects, results ``tool_name``)."""
    history, system = _History(), []
    for message in body.get("messages") or []:
        role = message.get("role")
        if role in ("system", "developer"):
            system.append(_text(message.get("content")))
        elif role == "user":
            history.user(_text(message.get("content")))
        elif role == "assistant":
            calls = [
                _call(
                    c.get("id") or "",
                    c.get("function", {}).get("name", ""),
                    c.get("function", {}).get("arguments"),
                )
                for c in message.get("tool_calls") or []
            ]
            history.assistant(_text(message.get("content")), calls)
        elif role == "tool":
            history.result(
                message.get("tool_call_id") or "",
                _text(message.get("content")),
                name=message.get("tool_name"),
            )
    tools = [
        ToolSpec(f.get("name", ""), f.get("description", ""), f.get("parameters") or {})
        for f in (t.get("function", {}) for t in body.get("tools") or [])
    ]
    return ModelRequest(history.messages, tools, "\n".join(system) or None)


def _responses(body: JSON) -> ModelRequest:
    history = _History()
    items = body.get("input")
    for item in [{"role": "user", "content": items}] if isinstance(items, str) else items or []:
        kind, role = item.get("type"), item.get("role")
        if kind == "function_call":
            history.assistant(
                "", [_call(item.get("call_id", ""), item.get("name", ""), item.get("arguments"))]
            )
        elif kind == "function_call_output":
            history.result(item.get("call_id", ""), _text(item.get("output")))
        elif role == "user":
            history.user(_text(item.get("content")))
        elif role == "assistant":
            history.assistant(_text(item.get("content")), [])
    tools = [
        ToolSpec(t.get("name", ""), t.get("description", ""), t.get("parameters") or {})
        for t in body.get("tools") or []
        if t.get("type", "function") == "function"
    ]
    return ModelRequest(history.messages, tools, body.get("instructions"))


def _anthropic(body: JSON) -> ModelRequest:
    history = _History()
    for message in body.get("messages") or []:
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        if message.get("role") == "assistant":
            calls = [
                _call(b.get("id", ""), b.get("name", ""), b.get("input"))
                for b in blocks
                if b.get("type") == "tool_use"
            ]
            history.assistant(_text([b for b in blocks if b.get("type") == "text"]), calls)
            continue
        for block in blocks:
            if block.get("type") == "tool_result":
                history.result(
                    block.get("tool_use_id", ""),
                    _text(block.get("content")),
                    error=bool(block.get("is_error")),
                )
        history.user(_text([b for b in blocks if b.get("type") == "text"]))
    tools = [
        ToolSpec(t.get("name", ""), t.get("description", ""), t.get("input_schema") or {})
        for t in body.get("tools") or []
    ]
    system = body.get("system")
    return ModelRequest(history.messages, tools, _text(system) or None)


def request_from_json(wire: WireFormat, body: JSON) -> ModelRequest:
    """Read a provider request body (the JSON a client POSTs) back into a ``ModelRequest``."""
    if wire == "anthropic":
        return _anthropic(body)
    if wire == "openai-responses":
        return _responses(body)
    return _chat_style(body)


def demo_turns(wire: WireFormat, *, chars_per_second: float = 200.0) -> Callable[[JSON], list[Step]]:
    """Turns for ``ProviderServer`` that the demo model answers: ``ProviderServer(demo_turns("anthropic"))``.

    ``wire`` is the request format the client will POST (the route it calls).
    """
    model = DemoModel(chars_per_second=chars_per_second, wire=wire)
    return lambda body: model.plan(request_from_json(wire, body))
