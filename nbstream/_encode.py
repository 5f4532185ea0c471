"""Wire encoders: script steps (``Say``, ``Call``, ``Pause``) → the exact bytes a real provider would stream.

The scripted model, the demo model and the loopback test server (``nbstream.testing``) all speak through here,
so everything they produce goes through the same parsers as a real provider's stream. Each encoder writes the
provider's own framing and event shapes (studied from recorded streams in ``tests/fixtures``): SSE
``event:`` / ``data:`` blocks for OpenAI and Anthropic, one JSON object a line for Ollama.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from ._events import ErrorKind
from ._wire import WIRE_FORMATS, WireFormat

__all__ = [
    "Call",
    "Frame",
    "Pause",
    "Say",
    "Step",
    "call_id",
    "count_calls",
    "encode_turn",
    "error_frames",
    "malformed_frame",
    "rough_tokens",
]

CREATED = 1735689600
"""A fixed timestamp (2025-01-01T00:00:00Z) so that encoded streams are byte-for-byte reproducible."""
CREATED_ISO = "2025-01-01T00:00:00Z"

_WORD = re.compile(r"\s*\S+")


@dataclass(frozen=True, slots=True)
class Say:
    """Stream ``text`` as assistant text, ``chunk`` *words* per delta (whitespace stays with the next word).

    ``delay`` is the wait before each delta; ``over`` spreads the deltas evenly over that many seconds
    instead. Neither: the text arrives as fast as the reader takes it.
    """

    text: str
    chunk: int = 3
    delay: float | None = None
    over: float | None = None

    def __post_init__(self) -> None:
        if self.chunk < 1:
            raise ValueError(f"Say(chunk={self.chunk}): at least one word per delta")
        if self.delay is not None and self.over is not None:
            raise ValueError("Say takes delay= or over=, not both")
        if (self.delay or 0) < 0 or (self.over or 0) < 0:
            raise ValueError("Say delays cannot be negative")

    def deltas(self) -> list[str]:
        """The pieces, in order; ``"".join(deltas) == text``."""
        words = _WORD.findall(self.text)
        if not words:
            return [self.text] if self.text else []
        tail = self.text[sum(map(len, words)) :]  # trailing whitespace rides on the last word
        words[-1] += tail
        return ["".join(words[i : i + self.chunk]) for i in range(0, len(words), self.chunk)]

    def delta_delay(self, count: int) -> float:
        if self.over is not None:
            return self.over / count if count else 0.0
        return self.delay or 0.0


@dataclass(frozen=True, slots=True)
class Call:
    """A tool call whose JSON arguments stream ``fragment`` characters at a time, ``delay`` s before each.

    A ``str`` is sent as it is, so broken or partial JSON can be scripted. ``id`` defaults to a deterministic
    provider-style id (``toolu_script_1``, ``call_script_1``...).
    """

    name: str
    arguments: dict[str, Any] | str
    id: str | None = None
    fragment: int = 8
    delay: float = 0.0

    def __post_init__(self) -> None:
        if self.fragment < 1:
            raise ValueError(f"Call(fragment={self.fragment}): at least one character per fragment")
        if self.delay < 0:
            raise ValueError("Call delay cannot be negative")

    @property
    def raw_arguments(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, ensure_ascii=False, separators=(",", ":"))

    def fragments(self) -> list[str]:
        raw = self.raw_arguments
        return [raw[i : i + self.fragment] for i in range(0, len(raw), self.fragment)]


@dataclass(frozen=True, slots=True)
class Pause:
    """Nothing on the wire for ``seconds``."""

    seconds: float

    def __post_init__(self) -> None:
        if self.seconds < 0:
            raise ValueError("Pause cannot be negative")


Step = Say | Call | Pause


class Frame(NamedTuple):
    """One provider event as bytes, and how long to wait before sending it.

    ``end`` marks the stream's end marker (``[DONE]``, ``message_stop``, ``response.completed``, the
    ``done: true`` line), so a fault can leave it out.
    """

    delay: float
    data: bytes
    end: bool = False


def _json(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def _sse(payload: str, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


def call_id(wire: WireFormat, number: int, *, source: str = "script") -> str:
    """The deterministic id of the ``number``-th scripted call in the provider's style: ``toolu_script_1``."""
    return f"toolu_{source}_{number}" if wire == "anthropic" else f"call_{source}_{number}"


# Error types in each provider's vocabulary, per normalized kind.
_ANTHROPIC_ERROR = {
    "overloaded": "overloaded_error",
    "rate_limited": "rate_limit_error",
    "auth": "authentication_error",
    "not_found": "not_found_error",
    "bad_request": "invalid_request_error",
}
_OPENAI_ERROR = {
    "rate_limited": ("requests", "rate_limit_exceeded"),
    "auth": ("invalid_request_error", "invalid_api_key"),
    "not_found": ("invalid_request_error", "model_not_found"),
    "bad_request": ("invalid_request_error", None),
}


class _Encoder:
    """Turns one response's content operations into provider frames. One instance per response."""

    def __init__(self, *, turn: int, model: str, sequence: int = 0) -> None:
        self.turn = turn
        self.model = model
        self.sequence = sequence  # the next event's sequence number, where the wire numbers its events

    def start(self, input_tokens: int) -> list[bytes]:
        return []

    def text(self, delta: str) -> list[bytes]:
        raise NotImplementedError

    def tool_start(self, call_id: str, name: str, position: int) -> list[bytes]:
        return []

    def tool_arguments(self, fragment: str) -> list[bytes]:
        return []

    def tool_end(self, raw_arguments: str) -> list[bytes]:
        return []

    def finish(self, called_tools: bool, input_tokens: int, output_tokens: int) -> list[bytes]:
        """The frames that close the response, the end marker last."""
        raise NotImplementedError

    def error(self, kind: ErrorKind, message: str) -> list[bytes]:
        raise NotImplementedError

    def malformed(self) -> bytes:
        raise NotImplementedError


class _AnthropicEncoder(_Encoder):
    def __init__(self, *, turn: int, model: str, sequence: int = 0) -> None:
        super().__init__(turn=turn, model=model, sequence=sequence)
        self.block = -1
        self.open_kind: str | None = None

    def _event(self, event: str, payload: dict[str, Any]) -> bytes:
        return _sse(_json({"type": event, **payload}), event)

    def _close_block(self) -> list[bytes]:
        if self.open_kind is None:
            return []
        self.open_kind = None
        return [self._event("content_block_stop", {"index": self.block})]

    def _open_block(self, kind: str, block: dict[str, Any]) -> list[bytes]:
        frames = self._close_block()
        self.block += 1
        self.open_kind = kind
        frames.append(self._event("content_block_start", {"index": self.block, "content_block": block}))
        return frames

    def start(self, input_tokens: int) -> list[bytes]:
        message = {
            "id": f"msg_script_{self.turn}",
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": 1},
        }
        return [self._event("message_start", {"message": message}), self._event("ping", {})]

    def text(self, delta: str) -> list[bytes]:
        frames = [] if self.open_kind == "text" else self._open_block("text", {"type": "text", "text": ""})
        frames.append(
            self._event(
                "content_block_delta", {"index": self.block, "delta": {"type": "text_delta", "text": delta}}
            )
        )
        return frames

    def tool_start(self, call_id: str, name: str, position: int) -> list[bytes]:
        return self._open_block("tool_use", {"type": "tool_use", "id": call_id, "name": name, "input": {}})

    def tool_arguments(self, fragment: str) -> list[bytes]:
        delta = {"type": "input_json_delta", "partial_json": fragment}
        return [self._event("content_block_delta", {"index": self.block, "delta": delta})]

    def tool_end(self, raw_arguments: str) -> list[bytes]:
        return self._close_block()  # the block ends here: the call is final while later text still streams

    def finish(self, called_tools: bool, input_tokens: int, output_tokens: int) -> list[bytes]:
        reason = "tool_use" if called_tools else "end_turn"
        delta = {
            "delta": {"stop_reason": reason, "stop_sequence": None},
            "usage": {"output_tokens": output_tokens},
        }
        return [*self._close_block(), self._event("message_delta", delta), self._event("message_stop", {})]

    def error(self, kind: ErrorKind, message: str) -> list[bytes]:
        error = {"type": _ANTHROPIC_ERROR.get(kind, "api_error"), "message": message}
        return [self._event("error", {"error": error})]

    def malformed(self) -> bytes:
        payload = _json(
            {"type": "content_block_delta", "index": max(self.block, 0), "delta": {"type": "text_delta"}}
        )
        return _sse(payload[: len(payload) // 2], "content_block_delta")


class _OpenAIChatEncoder(_Encoder):
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
        return _sse(_json(chunk))

    def start(self, input_tokens: int) -> list[bytes]:
        return [self._chunk({"role": "assistant", "content": "", "refusal": None})]

    def text(self, delta: str) -> list[bytes]:
        return [self._chunk({"content": delta})]

    def tool_start(self, call_id: str, name: str, position: int) -> list[bytes]:
        self.position = position
        call = {
            "index": position,
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        return [self._chunk({"tool_calls": [call]})]

    def tool_arguments(self, fragment: str) -> list[bytes]:
        return [self._chunk({"tool_calls": [{"index": self.position, "function": {"arguments": fragment}}]})]

    def finish(self, called_tools: bool, input_tokens: int, output_tokens: int) -> list[bytes]:
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
            self._chunk({}, "tool_calls" if called_tools else "stop"),
            _sse(_json(usage_chunk)),
            b"data: [DONE]\n\n",
        ]

    def error(self, kind: ErrorKind, message: str) -> list[bytes]:
        error_type, code = _OPENAI_ERROR.get(kind, ("server_error", None))
        return [_sse(_json({"error": {"message": message, "type": error_type, "param": None, "code": code}}))]

    def malformed(self) -> bytes:
        payload = _json(
            {"id": f"chatcmpl-script-{self.turn}", "choices": [{"index": 0, "delta": {"content": ""}}]}
        )
        return _sse(payload[: len(payload) // 2])


class _OpenAIResponsesEncoder(_Encoder):
    def __init__(self, *, turn: int, model: str, sequence: int = 0) -> None:
        super().__init__(turn=turn, model=model, sequence=sequence)
        self.output: list[dict[str, Any]] = []
        self.message: dict[str, Any] | None = None  # the open message item
        self.message_text: list[str] = []
        self.call: dict[str, Any] | None = None

    def _event(self, event: str, payload: dict[str, Any]) -> bytes:
        frame = _sse(_json({"type": event, **payload, "sequence_number": self.sequence}), event)
        self.sequence += 1
        return frame

    def _response(self, status: str, **fields: Any) -> dict[str, Any]:
        return {
            "id": f"resp_script_{self.turn}",
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
            item_id = f"msg_script_{self.turn}_{index}"
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

    def finish(self, called_tools: bool, input_tokens: int, output_tokens: int) -> list[bytes]:
        frames = self._close_message()
        usage = {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens,
        }
        response = self._response("completed", output=self.output, usage=usage)
        frames.append(self._event("response.completed", {"response": response}))
        return frames

    def error(self, kind: ErrorKind, message: str) -> list[bytes]:
        error_type, code = _OPENAI_ERROR.get(kind, ("server_error", "server_error"))
        error = {"type": error_type, "code": code, "message": message, "param": None}
        failed = self._response("failed", output=self.output, error={"code": code, "message": message})
        return [self._event("error", {"error": error}), self._event("response.failed", {"response": failed})]

    def malformed(self) -> bytes:
        payload = _json(
            {"type": "response.output_text.delta", "item_id": "msg", "output_index": 0, "delta": ""}
        )
        return _sse(payload[: len(payload) // 2], "response.output_text.delta")


class _OllamaEncoder(_Encoder):
    """Ollama sends a tool call whole in one line, arguments an object (a non-JSON string stays a string)."""

    def __init__(self, *, turn: int, model: str, sequence: int = 0) -> None:
        super().__init__(turn=turn, model=model, sequence=sequence)
        self.call: dict[str, Any] | None = None

    def _line(self, message: dict[str, Any], **fields: Any) -> bytes:
        line = {"model": self.model, "created_at": CREATED_ISO, "message": {"role": "assistant", **message}}
        return (_json({**line, **fields}) + "\n").encode()

    def text(self, delta: str) -> list[bytes]:
        return [self._line({"content": delta}, done=False)]

    def tool_start(self, call_id: str, name: str, position: int) -> list[bytes]:
        self.call = {"id": call_id, "function": {"index": position, "name": name}}
        return []

    def tool_end(self, raw_arguments: str) -> list[bytes]:
        assert self.call is not None
        try:
            arguments: Any = json.loads(raw_arguments)
        except ValueError:
            arguments = raw_arguments
        call = {"id": self.call["id"], "function": {**self.call["function"], "arguments": arguments}}
        self.call = None
        return [self._line({"content": "", "tool_calls": [call]}, done=False)]

    def finish(self, called_tools: bool, input_tokens: int, output_tokens: int) -> list[bytes]:
        stats = {
            "total_duration": 0,
            "load_duration": 0,
            "prompt_eval_count": input_tokens,
            "prompt_eval_duration": 0,
            "eval_count": output_tokens,
            "eval_duration": 0,
        }
        return [self._line({"content": ""}, done_reason="stop", done=True, **stats)]

    def error(self, kind: ErrorKind, message: str) -> list[bytes]:
        return [(_json({"error": message}) + "\n").encode()]

    def malformed(self) -> bytes:
        line = _json({"model": self.model, "created_at": CREATED_ISO, "message": {"role": "assistant"}})
        return (line[: len(line) // 2] + "\n").encode()


_ENCODERS: dict[WireFormat, type[_Encoder]] = {
    "anthropic": _AnthropicEncoder,
    "openai-chat": _OpenAIChatEncoder,
    "openai-responses": _OpenAIResponsesEncoder,
    "ollama": _OllamaEncoder,
}


def _encoder(wire: WireFormat, turn: int, model: str, sequence: int = 0) -> _Encoder:
    if wire not in WIRE_FORMATS:
        raise ValueError(f"unknown wire format {wire!r}; choose one of {', '.join(WIRE_FORMATS)}")
    return _ENCODERS[wire](turn=turn, model=model, sequence=sequence)


def encode_turn(
    wire: WireFormat,
    steps: Sequence[Step],
    *,
    turn: int = 1,
    call_offset: int = 0,
    model: str = "scripted",
    input_tokens: int = 0,
) -> Iterator[Frame]:
    """One response as ``wire`` frames, each with the delay to wait before sending it.

    ``turn`` numbers the response's ids; calls without an ``id`` are numbered from ``call_offset + 1``. Output
    tokens are counted as one per delta or fragment. Delays of steps that produce no frame (an Ollama argument
    fragment, a ``Pause``) carry over to the next frame, so the timing survives every wire.
    """
    encoder = _encoder(wire, turn, model)
    pending = 0.0
    output_tokens = 0
    called = 0

    def emit(frames: list[bytes], delay: float) -> Iterator[Frame]:
        nonlocal pending
        pending += delay
        for data in frames:
            yield Frame(pending, data)
            pending = 0.0

    yield from emit(encoder.start(input_tokens), 0.0)
    for step in steps:
        if isinstance(step, Pause):
            pending += step.seconds
        elif isinstance(step, Say):
            deltas = step.deltas()
            delay = step.delta_delay(len(deltas))
            for delta in deltas:
                output_tokens += 1
                yield from emit(encoder.text(delta), delay)
        elif isinstance(step, Call):
            called += 1
            identifier = step.id or call_id(wire, call_offset + called)
            yield from emit(encoder.tool_start(identifier, step.name, called - 1), 0.0)
            for fragment in step.fragments():
                output_tokens += 1
                yield from emit(encoder.tool_arguments(fragment), step.delay)
            yield from emit(encoder.tool_end(step.raw_arguments), 0.0)
        else:
            raise TypeError(f"a script step is Say, Call or Pause, not {step!r}")
    closing = encoder.finish(called > 0, input_tokens, output_tokens)
    for number, data in enumerate(closing, start=1):
        yield Frame(pending, data, end=number == len(closing))
        pending = 0.0


def error_frames(
    wire: WireFormat,
    kind: ErrorKind = "overloaded",
    message: str = "Overloaded",
    *,
    turn: int = 1,
    model: str = "scripted",
    sequence: int = 0,
) -> list[bytes]:
    """The provider's own mid-stream error event(s): Anthropic ``event: error``, OpenAI ``{"error": ...}``,
    Responses ``error`` + ``response.failed`` (numbered from ``sequence``), Ollama ``{"error": "..."}``."""
    return _encoder(wire, turn, model, sequence).error(kind, message)


def malformed_frame(wire: WireFormat) -> bytes:
    """A frame in the wire's framing whose JSON is cut in half."""
    return _encoder(wire, 1, "scripted").malformed()


def count_calls(steps: Sequence[Step]) -> int:
    return sum(isinstance(step, Call) for step in steps)


def rough_tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: about four characters a token."""
    return (len(text) + 3) // 4
