"""Ollama's native ``/api/chat``, all of it: request mapping, stream parsing, and the encoder that stands in for
it in scripted models and the test server.

The stream is NDJSON: one JSON object a line, the last one ``done: true``; errors come as a line of their own
with HTTP status 200, and carry no type. Ollama sends each tool call whole, with ``arguments`` as a JSON
*object* and, before 0.12.10, without an id; the parser re-serializes the arguments and ends each call at once.
Each call gets its own index (its position in the response), so two whole calls are never merged even when
they share an id or have none; the assembler gives id-less calls their ids. Calls may ride on the final
``done: true`` line, so they are read before finishing. The host comes from ``OLLAMA_HOST``, read as Ollama
reads it.

Reasoning streams as ``message.thinking`` and goes back as the assistant message's ``thinking`` (Ollama's
advice for tool calls). ``Session(reasoning=...)`` sends ``think``: the level for GPT-OSS models, which ignore
``true``, and ``true`` for others (older Ollama takes only a boolean); ``options={"think": "high"}`` wins.
"""

from __future__ import annotations

import json
import os
from typing import Any

from .._encode._base import CREATED_ISO, WireEncoder, json_text
from .._events import ErrorKind, StopReason
from .._messages import Message, ToolResultMessage, UserMessage
from .._model import ModelRequest
from .._wire._frames import (
    MAX_FRAME_SIZE,
    MalformedFrame,
    NDJSONParser,
    error_message,
    int_or_none,
    optional_list,
    optional_object,
    optional_str,
)
from .._wire._frames import json_text as arguments_json
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
from ._request import arguments_object, without_empty
from .openai_chat import chat_tools, read_chat_request, result_with_note

__all__ = ["Ollama", "OllamaEncoder", "OllamaParser"]


# --- the stream -------------------------------------------------------------------------------------------


def _arguments_text(arguments: Any) -> str | None:
    if arguments is None or isinstance(arguments, str):
        return arguments
    if not isinstance(arguments, dict):
        raise MalformedFrame("tool call arguments is not an object")
    return arguments_json(arguments)


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
            thinking = optional_str(message, "thinking")
            if thinking:
                out.append(ReasoningPart(thinking))
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


# --- standing in for Ollama -------------------------------------------------------------------------------


class OllamaEncoder(WireEncoder):
    """Ollama sends a tool call whole in one line, arguments an object (a non-JSON string stays a string)."""

    def __init__(self, *, step: int = 1, model: str = "scripted", sequence: int = 0) -> None:
        super().__init__(step=step, model=model, sequence=sequence)
        self.call: dict[str, Any] | None = None

    def _line(self, message: dict[str, Any], **fields: Any) -> bytes:
        line = {"model": self.model, "created_at": CREATED_ISO, "message": {"role": "assistant", **message}}
        return (json_text({**line, **fields}) + "\n").encode()

    def text(self, delta: str) -> list[bytes]:
        return [self._line({"content": delta}, done=False)]

    def reasoning(self, delta: str) -> list[bytes]:
        return [self._line({"content": "", "thinking": delta}, done=False)]

    def tool_start(self, call_id: str, name: str, position: int) -> list[bytes]:
        self.call = {"id": call_id, "function": {"index": position, "name": name}}
        if not call_id:  # Ollama before 0.12.10 sends no id
            del self.call["id"]
        return []

    def tool_end(self, raw_arguments: str) -> list[bytes]:
        assert self.call is not None
        try:
            arguments: Any = json.loads(raw_arguments)
        except ValueError:
            arguments = raw_arguments
        call = {**self.call, "function": {**self.call["function"], "arguments": arguments}}
        self.call = None
        return [self._line({"content": "", "tool_calls": [call]}, done=False)]

    def tool_cut(self, raw_arguments: str) -> list[bytes]:
        self.call = None  # Ollama parses calls whole out of the model's output: a cut one never comes
        return []

    def finish(self, called_tools: bool, input_tokens: int, output_tokens: int, *, cut: bool) -> list[bytes]:
        stats = {
            "total_duration": 0,
            "load_duration": 0,
            "prompt_eval_count": input_tokens,
            "prompt_eval_duration": 0,
            "eval_count": output_tokens,
            "eval_duration": 0,
        }
        reason = "length" if cut else "stop"
        return [self._line({"content": ""}, done_reason=reason, done=True, **stats)]

    def error(self, kind: ErrorKind, message: str) -> list[bytes]:
        return [(json_text({"error": message}) + "\n").encode()]

    def malformed(self) -> bytes:
        line = json_text({"model": self.model, "created_at": CREATED_ISO, "message": {"role": "assistant"}})
        return (line[: len(line) // 2] + "\n").encode()


# --- the provider: requests, errors, defaults -------------------------------------------------------------


def _message(message: Message) -> JSON:
    if isinstance(message, UserMessage):
        prompt: JSON = {"role": "user", "content": message.content}
        if message.images:
            prompt["images"] = [image.data for image in message.images]
        return prompt
    if isinstance(message, ToolResultMessage):
        return {"role": "tool", "tool_name": message.name, "content": result_with_note(message)}
    entry: JSON = {"role": "assistant", "content": message.text}
    thinking = "\n\n".join(block.text for block in message.reasoning if block.text)
    if thinking:
        entry["thinking"] = thinking
    if message.tool_calls:
        entry["tool_calls"] = [
            {"function": {"name": c.name, "arguments": arguments_object(c)}} for c in message.tool_calls
        ]
    return entry


class Ollama(Provider):
    name = "ollama"
    title = "Ollama"
    wire = "ollama"
    framing = "ndjson"
    parser = OllamaParser
    encoder = OllamaEncoder
    default_base_url = "http://localhost:11434"
    path = "/api/chat"
    token_limit = "options={'options': {'num_predict': ...}}"
    line_keys = frozenset({"message", "done", "error"})

    def build(self, model: str, request: ModelRequest, options: JSON) -> JSON:
        messages: list[JSON] = [{"role": "system", "content": request.system}] if request.system else []
        messages += [_message(m) for m in without_empty(request.messages)]
        body: JSON = {"model": model, "messages": messages, "stream": True}
        if request.reasoning is not None:
            body["think"] = request.reasoning if "gpt-oss" in model.lower() else True
        if request.tools:
            body["tools"] = chat_tools(request.tools)
        return {**body, **options}

    def read_request(self, body: JSON) -> ModelRequest:
        return read_chat_request(body)

    def default_base(self) -> tuple[str, str]:
        """``OLLAMA_HOST`` as Ollama itself reads it: a bare ``host:port`` gets ``http://``."""
        host = os.environ.get("OLLAMA_HOST", "").strip() or self.default_base_url
        if "://" not in host:
            host = "http://" + host
        return host.replace("://0.0.0.0", "://127.0.0.1"), "OLLAMA_HOST"

    def error_body(self, status: int, message: str, *, index: int) -> JSON:
        return {"error": message}

    def whole_answer(self, text: str, *, model: str, index: int) -> JSON:
        return {
            "model": model,
            "created_at": CREATED_ISO,
            "message": {"role": "assistant", "content": text},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": 1,
            "eval_count": 8,
        }
