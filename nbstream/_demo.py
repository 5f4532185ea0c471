"""The demo model: a deterministic stand-in for an LLM, so that nbstream works offline and without a key.

It reads the request like a (very literal) model would. A user prompt whose words match a registered tool's
name or description gets a short sentence and a call to that tool, with arguments built from the prompt to fit
the tool's JSON schema; tool results get a markdown answer that quotes them; anything else gets a helpful
markdown reply about the demo itself. The answer streams through the same wire bytes and parsers as a real
provider's, at ``chars_per_second``. With ``reasoning=True`` (or when the request asks for reasoning, as
``Session(reasoning=...)`` does) it first thinks aloud, briefly: what it was asked and which tool it will call.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from ._encode import Action, Call, Say, Think, encode_step
from ._messages import AssistantMessage, ToolResultMessage, UserMessage
from ._model import ModelRequest, ToolSpec
from ._providers import WireFormat, for_wire
from ._script import request_tokens

__all__ = ["DemoModel"]

_COMMON_WORDS = """
    the and for with that this these those what which from into onto your you are was were can could would
    should please tell give about does have has had will then than them their there here how why when where
    who whom its not but all any some one two use using call run tool tools function return returns value
    values given get set make let just also very much many more most out our ours
"""
_STOP_WORDS = frozenset(_COMMON_WORDS.split())
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_CAMEL = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.]*[A-Za-z])")
_QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”|(?<!\w)'([^']+)'(?!\w)")
_CAPITALISED = re.compile(r"\b[A-Z][a-zA-Z]+(?:\s+[A-Z][a-zA-Z]+)*")
_SENTENCE_START = re.compile(r"(?:^|[.!?:]\s+|\n\s*)$")
_MARKDOWN_SPECIALS = str.maketrans("", "", "*_`#[]()<>|~\\")
_MAX_DEPTH = 6


def _stem(word: str) -> str:
    """A crude, deterministic stemmer so that "sum"/"sums" and "slow"/"slowly" meet."""
    for suffix in ("ing", "ly", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _keywords(text: str) -> set[str]:
    words = (w.lower() for w in _WORD.findall(text))
    return {_stem(w) for w in words if len(w) >= 3 and w not in _STOP_WORDS}


# Words that name the same operation, and the symbols a prompt writes it with between two numbers: "What is
# 2 + 3?" means the tool described as "Add two integers" even though the two share no word.
_SYNONYMS = [
    ("add sum plus total addition", "+"),
    ("subtract minus difference subtraction", "-"),
    ("multiply times product multiplication", "*×"),
    ("divide divided quotient ratio division", "/÷"),
]
_INTENT_OF_WORD = {_stem(w): f"@{n}" for n, (words, _) in enumerate(_SYNONYMS) for w in words.split()}
_OPERATOR = re.compile(r"\d\s*([-+*×/÷])\s*-?\d")


def _intents(text: str, words: set[str]) -> set[str]:
    """The operations ``text`` names, by a synonym or (between numbers) a symbol: ``{"@0"}`` for addition."""
    found = {_INTENT_OF_WORD[w] for w in words if w in _INTENT_OF_WORD}
    symbols = set(_OPERATOR.findall(text))
    return found | {f"@{n}" for n, (_, ops) in enumerate(_SYNONYMS) if symbols & set(ops)}


def _tool_keywords(tool: ToolSpec) -> set[str]:
    """What a tool is about: its name's words, its description, and its parameters' names and descriptions."""
    name_words = " ".join(_CAMEL.findall(tool.name.replace("-", "_").replace("_", " ")))
    properties = tool.parameters.get("properties")
    parameters = properties if isinstance(properties, dict) else {}
    parameter_text = " ".join(
        f"{name.replace('_', ' ')} {spec.get('description', '') if isinstance(spec, dict) else ''}"
        for name, spec in parameters.items()
    )
    words = _keywords(name_words) | _keywords(tool.description) | _keywords(parameter_text)
    return words | _intents("", words)


def _matching_tools(prompt: str, tools: list[ToolSpec]) -> list[ToolSpec]:
    words = _keywords(prompt)
    words |= _intents(prompt, words)
    named = {w.lower() for w in re.findall(r"[\w-]+", prompt)}
    return [tool for tool in tools if tool.name.lower() in named or words & _tool_keywords(tool)]


@dataclass
class _PromptValues:
    """What a prompt offers for arguments: its numbers and strings (quoted, then capitalised), in order."""

    prompt: str
    numbers: list[float] = field(default_factory=list)
    strings: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, prompt: str) -> _PromptValues:
        quoted = [next(g for g in match.groups() if g) for match in _QUOTED.finditer(prompt)]
        unquoted = _QUOTED.sub(" ", prompt)
        names = [
            m.group(0)
            for m in _CAPITALISED.finditer(unquoted)
            if m.group(0) != "I" and not _SENTENCE_START.search(unquoted[: m.start()])
        ]
        numbers = [float(n) for n in _NUMBER.findall(unquoted)]
        return cls(prompt, numbers, quoted + names)


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` (``#/$defs/Model``), as pydantic writes nested models."""
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return schema
    target: Any = root
    for key in ref[2:].split("/"):
        target = target.get(key, {}) if isinstance(target, dict) else {}
    return _resolve(target, root) if isinstance(target, dict) else {}


def _schema_type(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None and "properties" in schema:
        return "object"
    return kind if isinstance(kind, str) else None


def _number(schema: dict[str, Any], values: _PromptValues, integer: bool) -> float | int:
    value: float = (
        values.numbers.pop(0) if values.numbers else schema.get("default", schema.get("minimum", 0))
    )
    low, high = schema.get("minimum"), schema.get("maximum")
    step = 1 if integer else 1e-6
    if "exclusiveMinimum" in schema and isinstance(schema["exclusiveMinimum"], int | float):
        low = (
            schema["exclusiveMinimum"] + step if low is None else max(low, schema["exclusiveMinimum"] + step)
        )
    if "exclusiveMaximum" in schema and isinstance(schema["exclusiveMaximum"], int | float):
        high = (
            schema["exclusiveMaximum"] - step
            if high is None
            else min(high, schema["exclusiveMaximum"] - step)
        )
    if low is not None:
        value = max(value, low)
    if high is not None:
        value = min(value, high)
    multiple = schema.get("multipleOf")
    if isinstance(multiple, int | float) and multiple > 0:
        value = math.ceil(value / multiple) * multiple
    if integer:
        return math.ceil(value) if low is not None and value < low else int(value)
    return value


def _string(schema: dict[str, Any], values: _PromptValues) -> str:
    formats = {"date": "2025-01-01", "date-time": "2025-01-01T00:00:00Z", "email": "demo@example.com"}
    if values.strings:
        text = values.strings.pop(0)
    elif "default" in schema:
        text = str(schema["default"])
    else:
        text = formats.get(schema.get("format", ""), "demo")
    text = text[: schema.get("maxLength", len(text))]
    return text.ljust(schema.get("minLength", 0), "x")


def _value(schema: dict[str, Any], root: dict[str, Any], values: _PromptValues, depth: int = 0) -> Any:
    """A value that satisfies ``schema``, using the prompt's numbers and strings where it wants them."""
    schema = _resolve(schema, root)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        mentioned = [v for v in schema["enum"] if isinstance(v, str) and v.lower() in values.prompt.lower()]
        return mentioned[0] if mentioned else schema["enum"][0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        options = schema.get(combinator)
        if isinstance(options, list) and options:
            usable = [o for o in options if _schema_type(_resolve(o, root)) != "null"] or options
            return _value(usable[0], root, values, depth)
    kind = _schema_type(schema)
    if kind in ("integer", "number"):
        return _number(schema, values, integer=kind == "integer")
    if kind == "string":
        return _string(schema, values)
    if kind == "boolean":
        return schema.get("default", False)
    if kind == "null":
        return None
    if kind == "array":
        if "default" in schema:
            return schema["default"]
        items: dict[str, Any] = schema["items"] if isinstance(schema.get("items"), dict) else {}
        prefix = schema.get("prefixItems") or []
        count = max(schema.get("minItems", 0), len(prefix))
        if depth >= _MAX_DEPTH:
            return []
        return [
            _value(prefix[i] if i < len(prefix) else items, root, values, depth + 1) for i in range(count)
        ]
    if kind == "object":
        return _object(schema, root, values, depth)
    return schema.get("default", "")


def _wants(schema: dict[str, Any], root: dict[str, Any], values: _PromptValues) -> bool:
    """An optional property is filled only when the prompt offers a value of its type."""
    kind = _schema_type(_resolve(schema, root))
    return (kind in ("integer", "number") and bool(values.numbers)) or (
        kind == "string" and bool(values.strings)
    )


def _object(
    schema: dict[str, Any], root: dict[str, Any], values: _PromptValues, depth: int
) -> dict[str, Any]:
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    result: dict[str, Any] = {}
    for name, sub in properties.items():
        if depth < _MAX_DEPTH and (name in required or _wants(sub, root, values)):
            result[name] = _value(sub, root, values, depth + 1)
    return result


def demo_arguments(prompt: str, tool: ToolSpec) -> dict[str, Any]:
    """The arguments the demo passes to ``tool`` for ``prompt``: always an object that fits the schema."""
    return _object(tool.parameters, tool.parameters, _PromptValues.read(prompt), 0)


def _topic(prompt: str) -> str:
    line = next((ln for ln in prompt.strip().splitlines() if ln.strip()), "")
    topic = " ".join(line.translate(_MARKDOWN_SPECIALS).split())
    return topic if len(topic) <= 80 else topic[:77].rstrip() + "..."


def _join(names: list[str]) -> str:
    quoted = [f"`{name}`" for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _while_tools_run(tools: list[ToolSpec]) -> str:
    """Text streamed after the calls: each tool already runs, so the words and the tools move together."""
    names = _join([t.name for t in tools])
    verb = "runs" if len(tools) == 1 else "run"
    return (
        f"\n\nWhile {names} {verb}, I keep talking: nbstream starts a tool the moment its call is complete, "
        "so this text streams in while the tool works. When the result is back, I will read it and answer."
    )


def _results_answer(results: list[ToolResultMessage]) -> str:
    lines = []
    for result in results:
        output = result.content.strip()
        if result.error:
            lines.append(f"- **{result.name}** failed ({result.error}): {output}")
        elif "\n" in output or len(output) > 80:
            lines.append(
                f"- **{result.name}** returned:\n\n  ```\n  {output.replace(chr(10), chr(10) + '  ')}\n  ```"
            )
        else:
            lines.append(f"- **{result.name}** returned `{output}`.")
    if len(lines) == 1:
        return lines[0][2:] + "\n"
    return "Here is what the tools said:\n\n" + "\n".join(lines) + "\n"


def _help_answer(prompt: str, tools: list[ToolSpec]) -> str:
    topic = _topic(prompt) or "nothing in particular"
    if tools:
        nudge = (
            f"None of the registered tools ({_join([t.name for t in tools])}) matches those words, "
            "so I answer directly. Mention a tool's name or what it does (a word from its description or "
            "parameters) and I will call it."
        )
    else:
        nudge = "Give me a tool whose name or description matches your words and I will call it:"
    return (
        "I'm the **demo model**: I run inside your kernel, need no API key, "
        "and answer the same way every time.\n\n"
        f"You asked about *{topic}*. {nudge}\n\n"
        "```python\n"
        "from nbstream import Session\n\n"
        "def slow_sum(a: int, b: int) -> int:\n"
        '    """Add two numbers, slowly."""\n'
        "    return a + b\n\n"
        "session = Session(tools=[slow_sum])  # then ask: sum 2 and 3\n"
        "```\n\n"
        'For a real model, pass `model="anthropic:claude-sonnet-4-5"` (or `openai:`, `ollama:`).\n'
    )


def _thought(prompt: str, tools: list[ToolSpec], results: list[ToolResultMessage]) -> str:
    """What the demo thinks before it answers: a short plan, in the words a reasoning model would use."""
    if results:
        failed = [r.name for r in results if r.error]
        names = _join(sorted({r.name for r in results}))
        verdict = f"{_join(failed)} failed, so I should say so." if failed else "I have what I need."
        return f"The results of {names} are back. {verdict} I'll quote them and answer briefly."
    topic = _topic(prompt) or "nothing in particular"
    if not tools:
        return (
            f'The user asks about "{topic}". None of my tools matches those words, so I can\'t compute '
            "anything; I'll explain what the demo does and how to get a tool called."
        )
    plans = "; ".join(f"`{tool.name}` with {_compact(demo_arguments(prompt, tool))}" for tool in tools)
    return (
        f'The user asks: "{topic}". That matches {_join([t.name for t in tools])}. '
        f"Plan: call {plans}, then read the result before answering."
    )


def _compact(arguments: dict[str, Any]) -> str:
    return ", ".join(f"{name}={value!r}" for name, value in arguments.items()) or "no arguments"


class DemoModel:
    """A deterministic, offline ``Model``: same request, same bytes. No key, no network.

    ``reasoning=True`` makes it think aloud before each answer (a request that asks for reasoning does too).
    """

    def __init__(
        self, *, chars_per_second: float = 200.0, wire: WireFormat = "anthropic", reasoning: bool = False
    ) -> None:
        if not chars_per_second > 0:
            raise ValueError(f"chars_per_second must be positive, not {chars_per_second!r}")
        self._provider = for_wire(wire)
        self.chars_per_second = chars_per_second
        self.reasoning = reasoning
        self._wire: WireFormat = wire

    def __repr__(self) -> str:
        thinks = ", reasoning=True" if self.reasoning else ""
        return f"DemoModel(chars_per_second={self.chars_per_second}, wire={self._wire!r}{thinks})"

    @property
    def provider(self) -> str:
        return "demo"

    @property
    def wire(self) -> WireFormat:
        return self._wire

    def _say(self, text: str) -> Say:
        return Say(text, chunk=1, over=len(text) / self.chars_per_second)

    def plan(self, request: ModelRequest) -> list[Action]:
        """The actions of the demo's answer: what ``stream`` encodes (and what a test server can play)."""
        messages = request.messages
        results: list[ToolResultMessage] = []
        for message in reversed(messages):
            if not isinstance(message, ToolResultMessage):
                break
            results.insert(0, message)
        prompt = messages[-1].content if messages and isinstance(messages[-1], UserMessage) else ""
        tools = _matching_tools(prompt, request.tools) if prompt and not results else []
        thinking: list[Action] = []
        if self.reasoning or request.reasoning is not None:
            thought = _thought(prompt, tools, results)
            thinking.append(Think(thought, chunk=1, over=len(thought) / self.chars_per_second))
        return thinking + self._answer(request, prompt, tools, results)

    def _answer(
        self, request: ModelRequest, prompt: str, tools: list[ToolSpec], results: list[ToolResultMessage]
    ) -> list[Action]:
        messages = request.messages
        if results:
            return [self._say(_results_answer(results))]
        if not tools:
            return [self._say(_help_answer(prompt, request.tools))]
        earlier_calls = sum(len(m.tool_calls) for m in messages if isinstance(m, AssistantMessage))
        actions: list[Action] = [self._say(f"Let me call {_join([t.name for t in tools])}.")]
        for number, tool in enumerate(tools, start=earlier_calls + 1):
            identifier = self._provider.encoder.call_id(number, source="demo")
            actions.append(
                Call(tool.name, demo_arguments(prompt, tool), id=identifier, delay=8 / self.chars_per_second)
            )
        if self._provider.eager_calls:  # else a call is final only when the response ends
            actions.append(self._say(_while_tools_run(tools)))
        return actions

    async def stream(self, request: ModelRequest) -> AsyncIterator[bytes]:
        step = 1 + sum(isinstance(m, AssistantMessage) for m in request.messages)
        frames = encode_step(
            self._provider.encoder,
            self.plan(request),
            step=step,
            model="demo",
            input_tokens=request_tokens(request),
        )
        for frame in frames:
            if frame.delay > 0:
                await asyncio.sleep(frame.delay)
            yield frame.data

    async def aclose(self) -> None:
        """Nothing to release."""
