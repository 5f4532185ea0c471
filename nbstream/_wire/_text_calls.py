"""Tool calls written as text → tool-call parts: for servers that leave calls in the content.

A server without a tool-call parser (vLLM started without ``--tool-call-parser``, llama.cpp's raw completions,
some fine-tunes) streams the model's calls as ordinary text. ``TextCallFilter`` sits between a wire parser and
the assembler and turns those ``TextPart`` into ``ToolPart`` / ``ToolEndPart``, so such calls get the same
events, validation and dispatch as native ones. One syntax per filter (see vLLM's tool parsers of the same
names, and each model's chat template):

* ``"hermes"`` (Hermes 2 Pro / 3, Qwen 2.5 / 3): ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``;
  a call is final at its closing tag (or at the end of the response, after the finish reason).
* ``"mistral"``: ``[TOOL_CALLS][{"name": ..., "arguments": {...}}, ...]`` (tokenizer v3) or
  ``[TOOL_CALLS]name[ARGS]{...}`` (v11 and later); no closing tag: a call is final when its JSON closes.
* ``"llama3"`` (Llama 3.1-3.3 JSON tool calling): ``<|python_tag|>{"name": ..., "parameters": {...}}``, or the
  same JSON as the very start of the response (servers strip the special token); calls may follow each other,
  separated by ``;``. A call is final when its JSON closes.

Text before a call streams at once; the end of a text that could begin a tag (``<tool_``) is held back only
until the next text decides it. Nothing between the tags is ever text. Every character is looked at a bounded
number of times (the tag search is ``str.find`` over the new text plus at most a tag's length held back), so
the cost per token does not grow with the response. Calls get negative indexes, which no wire parser uses, and
no id: the assembler gives them made-up ones.
"""

from __future__ import annotations

from typing import Literal, get_args

from ._call_objects import CallObjects
from ._parts import EndPart, ErrorPart, FinishPart, Part, TextPart, ToolEndPart

__all__ = ["TEXT_CALL_FORMATS", "TextCallFilter", "TextCallFormat"]

TextCallFormat = Literal["hermes", "mistral", "llama3"]
TEXT_CALL_FORMATS: tuple[TextCallFormat, ...] = get_args(TextCallFormat)

_OPENERS: dict[str, str] = {"hermes": "<tool_call>", "mistral": "[TOOL_CALLS]", "llama3": "<|python_tag|>"}
_HERMES_CLOSE = "</tool_call>"
_MISTRAL_ARGS = "[ARGS]"
_MISTRAL_CALL_ID = "[CALL_ID]"
_MAX_NAME = 256  # a Mistral v11 name longer than this before [ARGS] was not a name

# filter states
_START, _TEXT, _OPENED, _NAME, _BODY = range(5)


def _held_prefix(text: str, tag: str) -> int:
    """How many characters at the end of ``text`` could be the start of ``tag`` (0 when none)."""
    start = max(0, len(text) - len(tag) + 1)
    i = text.find(tag[0], start)
    while i >= 0:
        if tag.startswith(text[i:]):
            return len(text) - i
        i = text.find(tag[0], i + 1)
    return 0


class TextCallFilter:
    """Parts in, parts out: text that holds tool calls becomes text parts and tool-call parts.

    ``feed`` one part at a time; ``close`` when the bytes ran out. A call is ended (``ToolEndPart``) by its
    closing tag or closing brace, or by the response's finish / end marker. At the ``FinishPart`` the text an
    open call still holds goes out before it, since the assembler makes every call final there, knowing the
    reason (so a call cut by the token limit is reported as such); a stream that breaks leaves open calls to
    the assembler, which readies them with an error.
    """

    def __init__(self, syntax: TextCallFormat) -> None:
        if syntax not in _OPENERS:
            raise ValueError(
                f"unknown text tool-call format {syntax!r}; expected one of: {', '.join(TEXT_CALL_FORMATS)}"
            )
        self._opener = _OPENERS[syntax]
        self._closer = _HERMES_CLOSE if syntax == "hermes" else None
        self._names_first = syntax == "mistral"  # [TOOL_CALLS]name[ARGS]{...}
        self._state = (
            _START if syntax == "llama3" else _TEXT
        )  # Llama: a response that opens with "{" is a call
        self._held = ""  # text not yet decided: a possible partial tag (or a Llama response's leading blanks)
        self._name: list[str] = []  # a Mistral v11 name before [ARGS]
        self._after_call = False  # blanks right after a call are dropped, not shown as text
        self._count = 0
        self._calls = CallObjects(self._next_index, tagged=self._closer is not None)

    def _next_index(self) -> int:
        self._count += 1
        return -self._count

    def feed(self, part: Part) -> list[Part]:
        if isinstance(part, TextPart):
            return self._text(part.text) if part.text else []
        if isinstance(part, FinishPart):
            # what open calls still hold goes out before it, since the finish ends them
            out = self._release()
            ended = self._end_calls()
            out += [held for held in ended if not isinstance(held, ToolEndPart)]
            out.append(part)
            out += [end for end in ended if isinstance(end, ToolEndPart)]
            return out
        if isinstance(part, EndPart):
            out = self._release()
            out += self._end_calls()
            out.append(part)
            return out
        if isinstance(part, ErrorPart):
            out = self._release()
            out.append(part)
            return out
        return [part]

    def close(self) -> list[Part]:
        """The bytes ran out: undecided text is text after all. Open calls stay open (the response was cut)."""
        return self._release()

    # -- text -----------------------------------------------------------------------------------------------

    def _text(self, text: str) -> list[Part]:
        out: list[Part] = []
        buf = self._held + text
        self._held = ""
        while buf:
            state = self._state
            if state == _TEXT:
                if self._after_call:
                    buf = buf.lstrip()
                    if not buf:
                        break
                    self._after_call = False
                at = buf.find(self._opener)
                if at < 0:
                    keep = _held_prefix(buf, self._opener)
                    if keep:
                        self._held, buf = buf[-keep:], buf[:-keep]
                    if buf:
                        out.append(TextPart(buf))
                    break
                if at:
                    out.append(TextPart(buf[:at]))
                buf = buf[at + len(self._opener) :]
                self._state = _OPENED
            elif state == _START:
                stripped = buf.lstrip()
                if not stripped:
                    self._held = buf
                    break
                if stripped[0] == "{":
                    buf = stripped
                    self._state = _BODY
                else:
                    self._state = _TEXT
            elif state == _OPENED:
                buf = buf.lstrip()
                if not buf:
                    break
                self._state = _NAME if self._names_first and buf[0] not in "{[" else _BODY
            elif state == _NAME:
                buf = self._read_name(buf, out)
            else:
                buf = self._read_body(buf, out)
        return out

    def _read_name(self, buf: str, out: list[Part]) -> str:
        """Mistral v11: ``name[ARGS]`` → the call starts; its arguments follow as one JSON value."""
        at = buf.find(_MISTRAL_ARGS)
        if at < 0:
            keep = _held_prefix(buf, _MISTRAL_ARGS)
            self._name.append(buf[: len(buf) - keep])
            self._held = buf[len(buf) - keep :]
            if sum(map(len, self._name)) > _MAX_NAME:  # not a call after all: show what was written
                self._state = _TEXT
                text = self._opener + "".join(self._name) + self._held
                self._name, self._held = [], ""
                out.append(TextPart(text))
            return ""
        name = ("".join(self._name) + buf[:at]).partition(_MISTRAL_CALL_ID)[0].strip()
        self._name = []
        out += self._calls.start_arguments(name)
        self._state = _BODY
        return buf[at + len(_MISTRAL_ARGS) :]

    def _read_body(self, buf: str, out: list[Part]) -> str:
        closer = self._closer
        if closer is None:  # the JSON itself says where the calls end
            parts, rest = self._calls.feed(buf)
            out += parts
            if rest is None:
                return ""
            self._state = _TEXT
            self._after_call = True
            return rest
        at = buf.find(closer)
        if at < 0:
            keep = _held_prefix(buf, closer)
            if keep:
                self._held, buf = buf[-keep:], buf[:-keep]
            out += self._calls.feed(buf)[0]
            return ""
        out += self._calls.feed(buf[:at])[0]
        out += self._calls.close()
        self._state = _TEXT
        self._after_call = True
        return buf[at + len(closer) :]

    # -- the end --------------------------------------------------------------------------------------------

    def _release(self) -> list[Part]:
        """Text held back is text now (or, inside a tag, the call's own text)."""
        held, self._held = self._held, ""
        state = self._state
        if state == _NAME:  # [TOOL_CALLS]name without [ARGS]: not a call
            held = self._opener + "".join(self._name) + held
            self._name = []
            self._state = _TEXT
        elif state == _BODY:
            return self._calls.feed(held)[0] if held else []
        return [TextPart(held)] if held and state in (_TEXT, _START, _NAME) else []

    def _end_calls(self) -> list[Part]:
        """The response is over: every call still open is final."""
        out = self._calls.close() if self._state == _BODY else []
        self._state = _TEXT
        return out
