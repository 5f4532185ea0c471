"""Scripted models: write a model's turns by hand and replay them as a real provider's bytes.

    model = ScriptedModel([
        [Say("Let me add those."), Call("slow_sum", {"a": 2, "b": 3}), Say("It is running...", over=3.0)],
        [Say("The sum is 5.")],
    ])

Turn *k* plays on the model's *k*-th request. The default wire is Anthropic's because there a ``tool_use``
block ends (``content_block_stop``) before the text after it: the call is final, and its tool can start, while
that text is still streaming. With ``wire="openai-chat"`` a call is final only at ``finish_reason``, when the
whole response has arrived; Responses (``output_item.done``) and Ollama (a call comes whole) are eager too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from ._encode import Call, Pause, Say, Step, TokenLimit, count_calls, encode_turn, rough_tokens
from ._errors import ConfigurationError, StreamFault
from ._messages import AssistantMessage, ToolResultMessage, UserMessage
from ._model import ModelRequest
from ._wire import WIRE_FORMATS, WireFormat

__all__ = ["Call", "Pause", "Say", "ScriptedModel"]


def request_tokens(request: ModelRequest) -> int:
    """A deterministic input-token count for a request (about four characters a token)."""
    text = [request.system or ""]
    for message in request.messages:
        if isinstance(message, UserMessage | ToolResultMessage):
            text.append(message.content)
        elif isinstance(message, AssistantMessage):
            text += [message.text, *(call.raw_arguments for call in message.tool_calls)]
    text += [spec.name + spec.description for spec in request.tools]
    return sum(rough_tokens(piece) for piece in text)


class ScriptedModel:
    """A ``Model`` that replays ``turns`` of ``Say`` / ``Call`` / ``Pause`` / ``TokenLimit`` steps as ``wire`` bytes.

    ``requests`` keeps every request it was sent, so a test can check what the session asked.
    """

    def __init__(self, turns: Sequence[Sequence[Step]], *, wire: WireFormat = "anthropic") -> None:
        if wire not in WIRE_FORMATS:
            raise ConfigurationError(f"unknown wire format {wire!r}; choose one of {', '.join(WIRE_FORMATS)}")
        self._turns: list[tuple[Step, ...]] = []
        for number, turn in enumerate(turns, start=1):
            steps = tuple(turn)
            for step in steps:
                if not isinstance(step, Say | Call | Pause | TokenLimit):
                    raise ConfigurationError(
                        f"turn {number} of the script: {step!r} is not a Say, Call, Pause or TokenLimit"
                    )
            self._turns.append(steps)
        self._wire: WireFormat = wire
        self.requests: list[ModelRequest] = []

    def __repr__(self) -> str:
        return f"ScriptedModel(turns={len(self._turns)}, played={len(self.requests)}, wire={self._wire!r})"

    @property
    def provider(self) -> str:
        return "scripted"

    @property
    def wire(self) -> WireFormat:
        return self._wire

    def stream(self, request: ModelRequest) -> AsyncIterator[bytes]:
        # The turn is taken when the request is made, not when its bytes are first read.
        self.requests.append(request)
        return self._play(len(self.requests) - 1, request)

    async def _play(self, index: int, request: ModelRequest) -> AsyncIterator[bytes]:
        if index >= len(self._turns):
            raise StreamFault(
                "provider",
                f"the script has no turn {index + 1}: it was written with {len(self._turns)} turn(s)",
            )
        frames = encode_turn(
            self._wire,
            self._turns[index],
            turn=index + 1,
            call_offset=sum(count_calls(turn) for turn in self._turns[:index]),
            input_tokens=request_tokens(request),
        )
        for frame in frames:
            if frame.delay > 0:
                await asyncio.sleep(frame.delay)
            yield frame.data

    async def aclose(self) -> None:
        """Nothing to release: a script holds no connection."""
