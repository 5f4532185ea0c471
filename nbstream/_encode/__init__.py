"""Wire encoders: a scripted step's actions (``Think``, ``Say``, ``Call``, ``Pause``) → the exact bytes a real
provider would stream.

The scripted model, the demo model and the loopback test server (``nbstream.testing``) all speak through
here, so everything they produce goes through the same parsers as a real provider's stream. The driver
(``encode_step``) is generic: it plays the actions through a provider's ``WireEncoder``, which each provider
module defines next to its parser (``nbstream._providers``), writing the provider's own framing and event
shapes (studied from recorded streams in ``tests/fixtures``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ._actions import Action, Call, Pause, Say, Think, TokenLimit
from ._base import Scheduled, WireEncoder

__all__ = [
    "Action",
    "Call",
    "Pause",
    "Say",
    "Scheduled",
    "Think",
    "TokenLimit",
    "WireEncoder",
    "count_calls",
    "encode_step",
    "rough_tokens",
]


def encode_step(
    encoder_type: type[WireEncoder],
    actions: Sequence[Action],
    *,
    step: int = 1,
    call_offset: int = 0,
    model: str = "scripted",
    input_tokens: int = 0,
) -> Iterator[Scheduled]:
    """One step (one model response) as a provider's frames, each with the delay to wait before sending it.

    ``step`` numbers the response's ids; calls without an ``id`` are numbered from ``call_offset + 1``. Output
    tokens are counted as one per delta or fragment. Delays of actions that produce no frame (an Ollama
    argument fragment, a ``Pause``) carry over to the next frame, so the timing survives every wire.
    """
    encoder = encoder_type(step=step, model=model)
    pending = 0.0
    output_tokens = 0
    called = 0
    cut = bool(actions) and isinstance(actions[-1], TokenLimit)
    if any(isinstance(action, TokenLimit) for action in actions[:-1]):
        raise ValueError("TokenLimit ends a response: it must be the step's last action")

    def emit(frames: list[bytes], delay: float) -> Iterator[Scheduled]:
        nonlocal pending
        pending += delay
        for data in frames:
            yield Scheduled(pending, data)
            pending = 0.0

    yield from emit(encoder.start(input_tokens), 0.0)
    for number, action in enumerate(actions, start=1):
        if isinstance(action, TokenLimit):
            break
        if isinstance(action, Pause):
            pending += action.seconds
        elif isinstance(action, Say | Think):
            write = encoder.text if isinstance(action, Say) else encoder.reasoning
            deltas = action.deltas()
            delay = action.delta_delay(len(deltas))
            for delta in deltas:
                output_tokens += 1
                yield from emit(write(delta), delay)
        elif isinstance(action, Call):
            called += 1
            identifier = encoder.call_id(call_offset + called) if action.id is None else action.id
            if action.whole:
                output_tokens += 1
                frames = encoder.tool_whole(identifier, action.name, called - 1, action.raw_arguments)
                yield from emit(frames, action.delay)
                continue
            yield from emit(encoder.tool_start(identifier, action.name, called - 1), 0.0)
            for fragment in action.fragments():
                output_tokens += 1
                yield from emit(encoder.tool_arguments(fragment), action.delay)
            cut_here = cut and number == len(actions) - 1
            ending = encoder.tool_cut if cut_here else encoder.tool_end
            yield from emit(ending(action.raw_arguments), 0.0)
        else:
            raise TypeError(f"a script action is Think, Say, Call, Pause or TokenLimit, not {action!r}")
    closing = encoder.finish(called > 0, input_tokens, output_tokens, cut=cut)
    for number, data in enumerate(closing, start=1):
        yield Scheduled(pending, data, end=number == len(closing))
        pending = 0.0


def count_calls(actions: Sequence[Action]) -> int:
    return sum(isinstance(action, Call) for action in actions)


def rough_tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: about four characters a token."""
    return (len(text) + 3) // 4
