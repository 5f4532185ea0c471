"""The one interface every model backend implements: a request in, the provider's raw bytes out.

HTTP providers, the demo model and scripted models all produce *wire bytes*; the session feeds them to
``parse_stream``, so every backend goes through the same parsing and assembly path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args, runtime_checkable

from ._messages import Message

if TYPE_CHECKING:
    from ._providers import WireFormat

__all__ = ["REASONING_LEVELS", "Model", "ModelRequest", "ReasoningLevel", "ToolSpec"]

ReasoningLevel = Literal["low", "medium", "high"]
"""How much the model should reason before it answers (``Session(reasoning=...)``); each provider module maps
it to its own request fields."""
REASONING_LEVELS: tuple[ReasoningLevel, ...] = get_args(ReasoningLevel)


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """What the model is told about a tool: its name, description and JSON schema of its parameters."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ModelRequest:
    messages: list[Message]
    tools: list[ToolSpec] = field(default_factory=list)
    system: str | None = None
    reasoning: ReasoningLevel | None = None
    """Ask the model to reason at this level; ``None`` leaves the provider's default (usually no reasoning)."""


@runtime_checkable
class Model(Protocol):
    """A model backend. ``stream`` raises ``StreamFault`` for anything that stops the bytes."""

    @property
    def provider(self) -> str:
        """Short provider name used in messages, e.g. ``"anthropic"`` or ``"demo"``."""
        ...

    @property
    def wire(self) -> WireFormat: ...

    def stream(self, request: ModelRequest) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...
