"""Ollama ``/api/chat`` streaming: one JSON object a line, ending with a ``done: true`` line."""

from __future__ import annotations

import json
from typing import Any

from .._events import ErrorKind
from ._base import CREATED_ISO, WireEncoder, json_text

__all__ = ["OllamaEncoder"]


class OllamaEncoder(WireEncoder):
    """Ollama sends a tool call whole in one line, arguments an object (a non-JSON string stays a string)."""

    def __init__(self, *, turn: int, model: str, sequence: int = 0) -> None:
        super().__init__(turn=turn, model=model, sequence=sequence)
        self.call: dict[str, Any] | None = None

    def _line(self, message: dict[str, Any], **fields: Any) -> bytes:
        line = {"model": self.model, "created_at": CREATED_ISO, "message": {"role": "assistant", **message}}
        return (json_text({**line, **fields}) + "\n").encode()

    def text(self, delta: str) -> list[bytes]:
        return [self._line({"content": delta}, done=False)]

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
