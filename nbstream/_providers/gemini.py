"""Gemini through Google's OpenAI-compatible endpoint: the OpenAI Chat provider with Google's defaults and
the quirks of its stream.

``"gemini:gemini-2.5-flash"`` needs ``GEMINI_API_KEY``; the base URL is not OpenAI's ``/v1`` but
``/v1beta/openai``. Google's stream bends Chat Completions in ways the parser and assembler already take:
each tool call comes whole in one delta, without the ``index`` field, and a response that called tools
finishes with ``finish_reason: "stop"`` (googleapis/python-genai #2868, open-webui/computer #224). The encoder
writes those quirks, so the test server (and a scripted ``Session``) exercises them.
"""

from __future__ import annotations

from typing import Any

from .openai_chat import OpenAI, OpenAIChatEncoder

__all__ = ["Gemini", "GeminiEncoder"]


class GeminiEncoder(OpenAIChatEncoder):
    """Each call whole, in the delta that ends it, without ``index``; ``finish_reason`` is ``stop`` anyway."""

    def __init__(self, *, step: int = 1, model: str = "scripted", sequence: int = 0) -> None:
        super().__init__(step=step, model=model, sequence=sequence)
        self.call: dict[str, Any] = {}
        self.arguments: list[str] = []

    def tool_start(self, call_id: str, name: str, position: int) -> list[bytes]:
        self.call, self.arguments = {"id": call_id, "type": "function", "name": name}, []
        return []

    def tool_arguments(self, fragment: str) -> list[bytes]:
        self.arguments.append(fragment)
        return []

    def tool_end(self, raw_arguments: str) -> list[bytes]:
        function = {"name": self.call.pop("name"), "arguments": "".join(self.arguments)}
        return [self._chunk({"role": "assistant", "tool_calls": [{**self.call, "function": function}]})]

    def finish_reason(self, called_tools: bool, cut: bool) -> str:
        return "length" if cut else "stop"


class Gemini(OpenAI):
    name = "gemini"
    title = "Gemini"
    encoder = GeminiEncoder
    default_base_url = "https://generativelanguage.googleapis.com/v1beta/openai"
    key_variable = "GEMINI_API_KEY"
