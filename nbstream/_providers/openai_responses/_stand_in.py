"""Standing in for OpenAI's Responses API: ``OpenAIResponsesEncoder`` writes its SSE events byte for byte as
OpenAI streams them, so that scripted models, the demo model and the test server speak it (its errors are
OpenAI's, from ``openai_chat``).
"""

from __future__ import annotations

from typing import Any

from ..._encode._base import CREATED, WireEncoder, json_text, sealed, sse
from ..._events import ErrorKind
from ..openai_chat import ERROR_OF_KIND

__all__ = ["OpenAIResponsesEncoder"]


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
