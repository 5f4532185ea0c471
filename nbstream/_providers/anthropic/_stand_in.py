"""Standing in for Anthropic: ``AnthropicEncoder`` writes the Messages API's SSE events byte for byte as
Anthropic streams them, so that scripted models, the demo model and the test server speak Anthropic.
"""

from __future__ import annotations

import json
from typing import Any

from ..._encode._base import WireEncoder, json_text, sealed, sse
from ..._events import ErrorKind
from ._stream import _TYPE_OF_KIND

__all__ = ["AnthropicEncoder"]


class AnthropicEncoder(WireEncoder):
    """Opens and closes content blocks as thinking, text and calls alternate: a call's block ends right after
    its arguments, which is what makes it final while later text still streams; a thinking block ends with
    its signature (``sealed``: a hash of the thinking, which the test server expects back)."""

    call_id_prefix = "toolu_"

    def __init__(self, *, step: int = 1, model: str = "scripted", sequence: int = 0) -> None:
        super().__init__(step=step, model=model, sequence=sequence)
        self.block = -1
        self.open_kind: str | None = None
        self.thinking: list[str] = []  # the open thinking block's text

    def _event(self, event: str, payload: dict[str, Any]) -> bytes:
        return sse(json_text({"type": event, **payload}), event)

    def _close_block(self) -> list[bytes]:
        if self.open_kind is None:
            return []
        frames: list[bytes] = []
        if self.open_kind == "thinking":
            signature = {"type": "signature_delta", "signature": sealed("".join(self.thinking))}
            frames.append(self._event("content_block_delta", {"index": self.block, "delta": signature}))
            self.thinking = []
        self.open_kind = None
        frames.append(self._event("content_block_stop", {"index": self.block}))
        return frames

    def _open_block(self, kind: str, block: dict[str, Any]) -> list[bytes]:
        frames = self._close_block()
        self.block += 1
        self.open_kind = kind
        frames.append(self._event("content_block_start", {"index": self.block, "content_block": block}))
        return frames

    def start(self, input_tokens: int) -> list[bytes]:
        cached = self.cache_reads(input_tokens)  # Anthropic counts it apart from input_tokens
        usage = {
            "input_tokens": input_tokens - cached,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": cached,
            "output_tokens": 1,
        }
        message: dict[str, Any] = {
            "id": f"msg_script_{self.step}",
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        return [self._event("message_start", {"message": message}), self._event("ping", {})]

    def text(self, delta: str) -> list[bytes]:
        frames = [] if self.open_kind == "text" else self._open_block("text", {"type": "text", "text": ""})
        payload = {"index": self.block, "delta": {"type": "text_delta", "text": delta}}
        frames.append(self._event("content_block_delta", payload))
        return frames

    def reasoning(self, delta: str) -> list[bytes]:
        frames = []
        if self.open_kind != "thinking":
            frames = self._open_block("thinking", {"type": "thinking", "thinking": "", "signature": ""})
        self.thinking.append(delta)
        payload = {"index": self.block, "delta": {"type": "thinking_delta", "thinking": delta}}
        frames.append(self._event("content_block_delta", payload))
        return frames

    def tool_start(self, call_id: str, name: str, position: int) -> list[bytes]:
        return self._open_block("tool_use", {"type": "tool_use", "id": call_id, "name": name, "input": {}})

    def tool_arguments(self, fragment: str) -> list[bytes]:
        delta = {"type": "input_json_delta", "partial_json": fragment}
        return [self._event("content_block_delta", {"index": self.block, "delta": delta})]

    def tool_end(self, raw_arguments: str) -> list[bytes]:
        return self._close_block()  # the block ends here: the call is final while later text still streams

    def tool_whole(self, call_id: str, name: str, position: int, raw_arguments: str) -> list[bytes]:
        """The input in ``content_block_start`` and no delta, as some Anthropic-compatible servers send it."""
        block = {"type": "tool_use", "id": call_id, "name": name, "input": json.loads(raw_arguments)}
        return [*self._open_block("tool_use", block), *self._close_block()]

    def finish(self, called_tools: bool, input_tokens: int, output_tokens: int, *, cut: bool) -> list[bytes]:
        reason = "max_tokens" if cut else "tool_use" if called_tools else "end_turn"
        delta = {
            "delta": {"stop_reason": reason, "stop_sequence": None},
            "usage": {"output_tokens": output_tokens},
        }
        closing = [] if cut else self._close_block()  # cut by max_tokens: the open block never stops
        return [*closing, self._event("message_delta", delta), self._event("message_stop", {})]

    def error(self, kind: ErrorKind, message: str) -> list[bytes]:
        error = {"type": _TYPE_OF_KIND.get(kind, "api_error"), "message": message}
        return [self._event("error", {"error": error})]

    def malformed(self) -> bytes:
        payload = json_text(
            {"type": "content_block_delta", "index": max(self.block, 0), "delta": {"type": "text_delta"}}
        )
        return sse(payload[: len(payload) // 2], "content_block_delta")
