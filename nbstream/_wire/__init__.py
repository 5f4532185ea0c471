"""Wire parsers: a provider's raw bytes → provider events (``_parts``). Pure, no I/O."""

from __future__ import annotations

from typing import Literal, Protocol

from ._frames import MAX_FRAME_SIZE
from ._parts import Part
from .anthropic import AnthropicParser
from .ollama import OllamaParser
from .openai_chat import OpenAIChatParser
from .openai_responses import OpenAIResponsesParser

__all__ = ["MAX_FRAME_SIZE", "WIRE_FORMATS", "WireFormat", "WireParser", "make_parser"]

WireFormat = Literal["openai-chat", "openai-responses", "anthropic", "ollama"]
WIRE_FORMATS: tuple[WireFormat, ...] = ("openai-chat", "openai-responses", "anthropic", "ollama")


class WireParser(Protocol):
    """Incremental: ``feed`` any slice of the stream's bytes, ``close`` at EOF. Never raises on bad input."""

    def feed(self, data: bytes) -> list[Part]: ...

    def close(self) -> list[Part]: ...


class _ParserType(Protocol):
    def __call__(self, max_frame_size: int = ...) -> WireParser: ...


_PARSERS: dict[str, _ParserType] = {
    "openai-chat": OpenAIChatParser,
    "openai-responses": OpenAIResponsesParser,
    "anthropic": AnthropicParser,
    "ollama": OllamaParser,
}


def make_parser(wire: WireFormat, *, max_frame_size: int = MAX_FRAME_SIZE) -> WireParser:
    """A fresh parser for one response stream in the given wire format."""
    parser = _PARSERS.get(wire) if isinstance(wire, str) else None
    if parser is None:
        raise ValueError(f"unknown wire format {wire!r}; expected one of: {', '.join(WIRE_FORMATS)}")
    return parser(max_frame_size)
