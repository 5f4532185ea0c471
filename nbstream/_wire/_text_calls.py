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

import json
import re
from collections.abc import Callable
from typing import Literal, get_args

from ._parts import EndPart, ErrorPart, FinishPart, Part, TextPart, ToolEndPart, ToolPart

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
        self._calls = _CallObjects(self._next_index, tagged=self._closer is not None)

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


# call-object phases
_SEQ, _KEY, _KEY_STR, _COLON, _VALUE_START, _VALUE, _AFTER_VALUE, _JUNK = range(8)
# what a value is for
_OTHER, _NAME_VALUE, _ARGS_VALUE = range(3)
_NAME_KEYS = frozenset({"name"})
_ARGS_KEYS = frozenset({"arguments", "parameters"})
_IN_STRING = re.compile(r'["\\]')
_STRUCTURE = re.compile(r'[{}\[\]",]')
_BLANKS = frozenset(" \t\r\n")
_BETWEEN_CALLS = frozenset(" \t\r\n,;[]")


class _CallObjects:
    """Reads a run of JSON call objects (``{"name": ..., "arguments": ...}``, alone, in a list or separated by
    ``;``), emitting each call's name once and its arguments' raw text as it streams.

    Lenient about the object around the arguments (a missing comma or colon is skipped), strict about the
    arguments: they go to the assembler byte for byte, which parses them once the call is final. Arguments
    written as a JSON *string* holding JSON are unwrapped. A call object without a name reaches the assembler
    with its whole text as arguments, and is refused there ("without a name"), never run.

    ``tagged``: the run sits inside a tag (Hermes), so text that is not JSON is a broken call; untagged, such
    text ends the run and is handed back (``feed`` returns it) to be shown as text.
    """

    def __init__(self, next_index: Callable[[], int], *, tagged: bool) -> None:
        self._next_index = next_index
        self._tagged = tagged
        self._phase = _SEQ
        self._seen_call = False  # in this run
        self._closed: list[int] = []  # tagged: calls whose JSON closed, final at the closing tag
        self._bare = False  # Mistral v11: the value is the arguments themselves, no object around them
        self._index = 0
        self._raw: list[str] = []  # the current object's text, for a call that never named itself
        self._emitted = False  # a ToolPart went out for the current call
        self._named = False
        self._args_read = False
        self._key: list[str] = []
        self._kind = _OTHER
        self._depth = 0  # nesting inside the current value
        self._in_string = False
        self._escape = False
        self._collect = False  # the value's text is gathered (a name, or string-wrapped arguments)
        self._value: list[str] = []

    def start_arguments(self, name: str) -> list[Part]:
        """A Mistral v11 call: its name is known; the next JSON value is its arguments."""
        self._new_call()
        self._bare = True
        self._phase = _VALUE_START
        self._kind = _ARGS_VALUE
        self._emitted = self._named = True
        return [ToolPart(index=self._index, name=name or None)]

    def _new_call(self) -> None:
        self._index = self._next_index()
        self._seen_call = True
        self._raw = []
        self._emitted = self._named = self._args_read = self._bare = False

    def feed(self, text: str) -> tuple[list[Part], str | None]:
        """Parts for this text, and the text after the run when the run ended in it (untagged only)."""
        out: list[Part] = []
        n = len(text)
        i = 0
        start = 0 if self._phase != _SEQ else -1  # where the current object's text begins in this chunk
        capture = 0 if self._phase == _VALUE and self._kind != _OTHER else -1
        while i < n:
            phase = self._phase
            if phase == _VALUE:
                i, done = self._scan_value(text, i, n)
                if not done:
                    continue
                end = i
                if capture >= 0:
                    self._value_piece(text[capture:end], out)
                    capture = -1
                self._value_done(out)
                if self._bare:
                    self._close_call(text[start:end], out)
                    self._phase = _SEQ
                    self._seen_call = False
                    return out, text[end:]
                self._phase = _AFTER_VALUE
                continue
            c = text[i]
            if phase == _SEQ:
                if c == "{":
                    self._new_call()
                    start = i
                    self._phase = _KEY
                    i += 1
                elif c in _BETWEEN_CALLS:
                    i += 1
                elif not self._tagged:
                    return out, text[i:]
                elif self._seen_call:  # stray text after a call inside its tag: not part of any call
                    i = n
                else:
                    self._new_call()
                    start = i
                    self._phase = _JUNK
            elif phase == _JUNK:
                i = n
            elif phase == _KEY:
                if c == '"':
                    self._key = []
                    self._phase = _KEY_STR
                    self._escape = False
                    i += 1
                elif c == "}":
                    i += 1
                    self._close_call(text[start:i], out)
                    start = -1
                    self._phase = _SEQ
                elif c in "{[":  # a value without a key
                    self._kind = _OTHER
                    self._phase = _VALUE_START
                else:
                    i += 1
            elif phase == _KEY_STR:
                match = None if self._escape else _IN_STRING.search(text, i)
                if self._escape:
                    self._escape = False
                    self._key.append(text[i])
                    i += 1
                elif match is None:
                    self._key.append(text[i:])
                    i = n
                else:
                    j = match.start()
                    self._key.append(text[i:j])
                    if text[j] == "\\":
                        self._key.append("\\")
                        self._escape = True
                        i = j + 1
                    else:
                        key = "".join(self._key)
                        if key in _NAME_KEYS and not self._named:
                            self._kind = _NAME_VALUE
                        elif key in _ARGS_KEYS and not self._args_read:
                            self._kind = _ARGS_VALUE
                        else:
                            self._kind = _OTHER
                        self._phase = _COLON
                        i = j + 1
            elif phase == _COLON:
                if c == ":":
                    self._phase = _VALUE_START
                    i += 1
                elif c in _BLANKS:
                    i += 1
                else:
                    self._phase = _VALUE_START
            elif phase == _VALUE_START:
                if c in _BLANKS:
                    i += 1
                elif c in ",}":  # no value at all
                    self._phase = _AFTER_VALUE
                    if self._bare:
                        self._close_call(text[start:i] if start >= 0 else "", out)
                        self._phase = _SEQ
                        return out, text[i:]
                else:
                    self._begin_value(c)
                    if self._kind != _OTHER:
                        capture = i
                    self._phase = _VALUE
                    i += 1 if c in '{["' else 0
            elif phase == _AFTER_VALUE:
                if c == ",":
                    self._phase = _KEY
                    i += 1
                elif c == "}":
                    i += 1
                    self._close_call(text[start:i], out)
                    start = -1
                    self._phase = _SEQ
                elif c == '"':  # a missing comma
                    self._phase = _KEY
                else:
                    i += 1
        if capture >= 0:
            self._value_piece(text[capture:], out)
        if start >= 0 and not self._emitted:
            self._raw.append(text[start:])
        return out, None

    def _begin_value(self, c: str) -> None:
        self._in_string = c == '"'
        self._escape = False
        self._depth = 1 if c in "{[" else 0
        self._value = []
        if self._kind == _NAME_VALUE and c != '"':
            self._kind = _OTHER  # a name that is not a string names nothing
        self._collect = self._kind == _NAME_VALUE or (self._kind == _ARGS_VALUE and c == '"')

    def _scan_value(self, text: str, i: int, n: int) -> tuple[int, bool]:
        """Advance through the current value; ``(position, True)`` just after it when it ends here."""
        if self._in_string:
            if self._escape:
                self._escape = False
                return i + 1, False
            match = _IN_STRING.search(text, i)
            if match is None:
                return n, False
            j = match.start()
            if text[j] == "\\":
                self._escape = True
                return j + 1, False
            self._in_string = False
            return j + 1, self._depth == 0
        if self._depth == 0:  # a number, true, false, null: ends before the next delimiter
            match = _STRUCTURE.search(text, i)
            if match is None:
                return n, False
            return match.start(), True
        match = _STRUCTURE.search(text, i)
        if match is None:
            return n, False
        j = match.start()
        c = text[j]
        if c == '"':
            self._in_string = True
        elif c in "{[":
            self._depth += 1
        elif c in "}]":
            self._depth -= 1
            if self._depth == 0:
                return j + 1, True
        return j + 1, False

    def _value_piece(self, piece: str, out: list[Part]) -> None:
        if not piece:
            return
        if self._collect:
            self._value.append(piece)
        elif self._kind == _ARGS_VALUE:
            self._emitted = True
            out.append(ToolPart(index=self._index, arguments=piece))

    def _value_done(self, out: list[Part]) -> None:
        kind = self._kind
        if kind == _NAME_VALUE:
            name = _json_string("".join(self._value).rstrip())
            if name:
                self._emitted = self._named = True
                out.append(ToolPart(index=self._index, name=name))
        elif kind == _ARGS_VALUE:
            self._args_read = True
            if self._collect:  # arguments sent as a JSON string: its content is the arguments
                raw = "".join(self._value).rstrip()
                inner = _json_string(raw)
                self._emitted = True
                out.append(ToolPart(index=self._index, arguments=inner if inner is not None else raw))
        self._kind = _OTHER
        self._collect = False
        self._value = []

    def _close_call(self, tail: str, out: list[Part]) -> None:
        """The call's text is complete: name it if it never named itself, then end it."""
        if not self._emitted:
            raw = ("".join(self._raw) + tail).strip()
            if not raw:
                return
            out.append(ToolPart(index=self._index, arguments=raw))
        if self._tagged:  # final at the closing tag, not at the closing brace
            self._closed.append(self._index)
        else:
            out.append(ToolEndPart(index=self._index))
        self._raw = []
        self._emitted = False

    def close(self) -> list[Part]:
        """The run is over (closing tag, end of response): the open call, if any, is final as it is."""
        out: list[Part] = []
        phase = self._phase
        if phase != _SEQ:
            if phase == _VALUE and self._collect and self._kind == _ARGS_VALUE and self._value:
                out.append(ToolPart(index=self._index, arguments="".join(self._value)))  # never closed
                self._emitted = True
            self._close_call("", out)
        out += [ToolEndPart(index=index) for index in self._closed]
        self._closed = []
        self._phase = _SEQ
        self._seen_call = False
        self._kind = _OTHER
        self._collect = False
        self._value = []
        return out


def _json_string(raw: str) -> str | None:
    """The text of a JSON string literal, or ``None`` when ``raw`` is not one."""
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, str) else None
