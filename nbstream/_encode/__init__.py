"""Wire encoders: script steps (``Say``, ``Call``, ``Pause``) → the exact bytes a real provider would stream.

The scripted model, the demo model and the loopback test server (``nbstream.testing``) all speak through
here, so everything they produce goes through the same parsers as a real provider's stream. One module a
wire format, mirroring ``nbstream._wire``; each writes the provider's own framing and event shapes (studied
from recorded streams in ``tests/fixtures``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from .._events import ErrorKind
from .._wire import WIRE_FORMATS, WireFormat
from ._base import WireEncoder
from ._steps import Call, Frame, Pause, Say, Step, TokenLimit
from .anthropic import AnthropicEncoder
from .ollama import OllamaEncoder
from .openai_chat import OpenAIChatEncoder
from .openai_responses import OpenAIResponsesEncoder

__all__ = [
    "Call",
    "Frame",
    "Pause",
    "Say",
    "Step",
    "TokenLimit",
    "call_id",
    "count_calls",
    "encode_turn",
    "error_frames",
    "malformed_frame",
    "rough_tokens",
]

_ENCODERS: dict[WireFormat, type[WireEncoder]] = {
    "anthropic": AnthropicEncoder,
    "openai-chat": OpenAIChatEncoder,
    "openai-responses": OpenAIResponsesEncoder,
    "ollama": OllamaEncoder,
}


def call_id(wire: WireFormat, number: int, *, source: str = "script") -> str:
    """The deterministic id of the ``number``-th scripted call in the provider's style: ``toolu_script_1``."""
    return f"toolu_{source}_{number}" if wire == "anthropic" else f"call_{source}_{number}"


def _encoder(wire: WireFormat, turn: int, model: str, sequence: int = 0) -> WireEncoder:
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
    cut = bool(steps) and isinstance(steps[-1], TokenLimit)
    if any(isinstance(step, TokenLimit) for step in steps[:-1]):
        raise ValueError("TokenLimit ends a response: it must be the last step")

    def emit(frames: list[bytes], delay: float) -> Iterator[Frame]:
        nonlocal pending
        pending += delay
        for data in frames:
            yield Frame(pending, data)
            pending = 0.0

    yield from emit(encoder.start(input_tokens), 0.0)
    for number, step in enumerate(steps, start=1):
        if isinstance(step, TokenLimit):
            break
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
            identifier = call_id(wire, call_offset + called) if step.id is None else step.id
            if step.whole:
                output_tokens += 1
                frames = encoder.tool_whole(identifier, step.name, called - 1, step.raw_arguments)
                yield from emit(frames, step.delay)
                continue
            yield from emit(encoder.tool_start(identifier, step.name, called - 1), 0.0)
            for fragment in step.fragments():
                output_tokens += 1
                yield from emit(encoder.tool_arguments(fragment), step.delay)
            cut_here = cut and number == len(steps) - 1
            ending = encoder.tool_cut if cut_here else encoder.tool_end
            yield from emit(ending(step.raw_arguments), 0.0)
        else:
            raise TypeError(f"a script step is Say, Call, Pause or TokenLimit, not {step!r}")
    closing = encoder.finish(called > 0, input_tokens, output_tokens, cut=cut)
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
