"""The providers nbstream speaks to, registered in one place (``_REGISTERED``), and lookups by name.

A provider is one module here (``openai_chat.py``...) holding all nbstream knows about it: its ``Provider``
subclass (spec, request mapping, error bodies), its stream parser and the encoder that stands in for it; one
grown large is a package of three (``anthropic/``: the provider in ``__init__``, the parser in ``_stream``, the
encoder in ``_stand_in``). To add one, see CONTRIBUTING.md: write the module, add its instance to
``_REGISTERED`` (and, for a new wire format, its name to ``WireFormat``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal, get_args

from .._errors import ConfigurationError
from ._base import Framing, Provider
from .anthropic import Anthropic
from .gemini import Gemini
from .ollama import Ollama
from .openai_chat import OpenAI
from .openai_responses import OpenAIResponses

__all__ = [
    "PROVIDERS",
    "WIRE_FORMATS",
    "Framing",
    "Provider",
    "WireFormat",
    "for_wire",
    "parse_model_string",
]

WireFormat = Literal["openai-chat", "openai-responses", "anthropic", "ollama"]
"""The streams ``parse_stream`` reads: each is the wire of the first registered provider that speaks it."""

_REGISTERED: tuple[Provider, ...] = (OpenAI(), OpenAIResponses(), Anthropic(), Ollama(), Gemini())

PROVIDERS: Mapping[str, Provider] = MappingProxyType({provider.name: provider for provider in _REGISTERED})
"""Every provider by the name a model string gives it (``"anthropic:claude-sonnet-4-5"``)."""

WIRE_FORMATS: tuple[WireFormat, ...] = get_args(WireFormat)
# The first registered provider of each wire format speaks for it (a preset shares its API's wire).
_BY_WIRE: dict[str, Provider] = {provider.wire: provider for provider in reversed(_REGISTERED)}


def for_wire(wire: object) -> Provider:
    """The provider whose stream ``wire`` names: the one check of a wire format's name."""
    provider = _BY_WIRE.get(wire) if isinstance(wire, str) else None
    if provider is None:
        raise ConfigurationError(f"unknown wire format {wire!r}; choose one of {', '.join(WIRE_FORMATS)}")
    return provider


def parse_model_string(model: str) -> tuple[Provider, str]:
    """``"anthropic:claude-sonnet-4-5"`` → (the Anthropic provider, ``"claude-sonnet-4-5"``)."""
    name, sep, model_name = model.partition(":")
    if not sep or not model_name:
        raise ConfigurationError(
            f"model {model!r} is not '<provider>:<model name>' (providers: {', '.join(PROVIDERS)}) or 'demo'"
        )
    provider = PROVIDERS.get(name)
    if provider is None:
        raise ConfigurationError(
            f"unknown provider {name!r} in {model!r}; choose one of {', '.join(PROVIDERS)}"
        )
    return provider, model_name
