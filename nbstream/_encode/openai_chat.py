"""OpenAI Chat Completions streaming: ``data:`` chunks, ``finish_reason``, a usage chunk, ``[DONE]``."""

from __future__ import annotations

from typing import Any

from .._events import ErrorKind
from ._base import CREATED, OPENAI_ERROR, WireEncoder, json_text, sse

__all__ = ["OpenAIChatEncoder"]


class OpenAIChatEncoder(WireEncoder):
    """Chat Completions: a call is final only at ``finish_reason`` (there is no per-call end event)."""

    def __init__(self, *, turn: int, model: str, sequence: int = 0) -> None:
        super().__init__(turn=turn, model=model, sequence=sequence)
        self.position = 0

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        chunk = {
            "id": f"chatcmpl-script-{self.turn}",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": self.model,
            "system_fingerprint": "fp_script",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        }
        return sse(json_text(chunk))

    def start(self, input_tokens: int) -> list[bytes]:
        return [self._chunk({"role": "assistant", "content": "", "refusal": None})]

    def text(self, delta: str) -> list[bytes]:
        return [self._chunk({"content": delta})]

    def tool_start(self, call_id: str, name: str, position: int) -> list[bytes]:
        self.position = position
        call: dict[str, Any] = {"index": position, "id": call_id} if call_id else {"index": position}
        call |= {"type": "function", "function": {"name": name, "arguments": ""}}
        return [self._chunk({"tool_calls": [call]})]

    def tool_arguments(self, fragment: str) -> list[bytes]:
        return [self._chunk({"tool_calls": [{"index": self.position, "function": {"arguments": fragment}}]})]

    def finish(self, called_tools: bool, input_tokens: int, output_tokens: int, *, cut: bool) -> list[bytes]:
        usage = {
            "prompt_tokens": input_tokens,
            "completion_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
        }
        usage_chunk = {
            "id": f"chatcmpl-script-{self.turn}",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": self.model,
            "system_fingerprint": "fp_script",
            "choices": [],
            "usage": usage,
        }
        return [
            self._chunk({}, "length" if cut else "tool_calls" if called_tools else "stop"),
            sse(json_text(usage_chunk)),
            b"data: [DONE]\n\n",
        ]

    def error(self, kind: ErrorKind, message: str) -> list[bytes]:
        error_type, code = OPENAI_ERROR.get(kind, ("server_error", None))
        return [
            sse(json_text({"error": {"message": message, "type": error_type, "param": None, "code": code}}))
        ]

    def malformed(self) -> bytes:
        payload = json_text(
            {"id": f"chatcmpl-script-{self.turn}", "choices": [{"index": 0, "delta": {"content": ""}}]}
        )
        return sse(payload[: len(payload) // 2])
