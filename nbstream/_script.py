"""Scripted models: write a model's steps (its responses) by hand and replay them as a real provider's bytes.

    model = ScriptedModel([
        [Say("Let me add those."), Call("slow_sum", {"a": 2, "b": 3}), Say("It is running...", over=3.0)],
        [Think("The tool said 5."), Say("The sum is 5.")],
    ])

Step *k* plays on the model's *k*-th request. The default wire is Anthropic's because there a ``tool_use``
block ends (``content_block_stop``) before the text after it: the call is final, and its tool can start, while
that text is still streaming. With ``wire="openai-chat"`` a call is final only at ``finish_reason``, when the
whole response has arrived; Responses (``output_item.done``) and Ollama (a call comes whole) are eager too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from ._encode import Action, Call, Pause, Say, Think, TokenLimit, count_calls, encode_step, rough_tokens
from ._errors import ConfigurationError, StreamFault
from ._messages import AssistantMessage, ToolResultMessage, UserMessage
from ._model import ModelRequest
from ._providers import WireFormat, for_wire

__all__ = ["Call", "Pause", "Say", "ScriptedModel", "Think"]


def request_tokens(request: ModelRequest) -> int:
    """A deterministic input-token count for a request (about four characters a token)."""
    text = [request.system or ""]
    for message in request.messages:
        if isinstance(message, UserMessage | ToolResultMessage):
            text.append(message.content)
        elif isinstance(message, AssistantMessage):
            text += [message.text, *(call.raw_arguments for call in message.tool_calls)]
            text += [block.text for block in message.reasoning]
    text += [spec.name + spec.description for spec in request.tools]
    return sum(rough_tokens(piece) for piece in text)


class ScriptedModel:
    """A ``Model`` that replays ``steps``, each a list of ``Think`` / ``Say`` / ``Call`` / ``Pause`` /
    ``TokenLimit`` actions, as ``wire`` bytes.

    ``requests`` keeps every request it was sent, so a test can check what the session asked.
    """

    def __init__(self, steps: Sequence[Sequence[Action]], *, wire: WireFormat = "anthropic") -> None:
        self._provider = for_wire(wire)
        self._steps: list[tuple[Action, ...]] = []
        for number, step in enumerate(steps, start=1):
            actions = tuple(step)
            for action in actions:
                if not isinstance(action, Think | Say | Call | Pause | TokenLimit):
                    raise ConfigurationError(
                        f"step {number} of the script: {action!r} is not a Think, Say, Call, Pause or TokenLimit"
                    )
            self._steps.append(actions)
        self._wire: WireFormat = wire
        self.requests: list[ModelRequest] = []

    def __repr__(self) -> str:
        return f"ScriptedModel(steps={len(self._steps)}, played={len(self.requests)}, wire={self._wire!r})"

    @property
    def provider(self) -> str:
        return "scripted"

    @property
    def wire(self) -> WireFormat:
        return self._wire

    def stream(self, request: ModelRequest) -> AsyncIterator[bytes]:
        # The step is taken when the request is made, not when its bytes are first read.
        self.requests.append(request)
        return self._play(len(self.requests) - 1, request)

    async def _play(self, index: int, request: ModelRequest) -> AsyncIterator[bytes]:
        if index >= len(self._steps):
            raise StreamFault(
                "provider",
                f"the script has no step {index + 1}: it was written with {len(self._steps)} step(s)",
            )
        frames = encode_step(
            self._provider.encoder,
            self._steps[index],
            step=index + 1,
            call_offset=sum(count_calls(step) for step in self._steps[:index]),
            input_tokens=request_tokens(request),
        )
        for frame in frames:
            if frame.delay > 0:
                await asyncio.sleep(frame.delay)
            yield frame.data

    async def aclose(self) -> None:
        """Nothing to release: a script holds no connection."""
