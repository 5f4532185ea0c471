"""Wire parsers: a provider's raw bytes → provider events (``_parts``). Pure, no I/O."""

from __future__ import annotations

from typing import Literal

WireFormat = Literal["openai-chat", "openai-responses", "anthropic", "ollama"]
WIRE_FORMATS: tuple[WireFormat, ...] = ("openai-chat", "openai-responses", "anthropic", "ollama")
