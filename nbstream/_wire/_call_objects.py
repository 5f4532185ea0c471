"""Tool calls written as JSON objects, read as they stream: the inside of a call for ``_text_calls``.

After an opening tag (or at the start of a response) a text call is a JSON object, ``{"name": ...,
"arguments": {...}}``, or a run of them; Mistral v11 writes ``name[ARGS]`` and then the arguments alone.
``CallObjects`` reads them chunk by chunk without waiting for an object to close: a call's name goes out once
read, its arguments' raw text as it arrives (the assembler parses it once the call is final). Like the filter
around it, it looks at each character a bounded number of times.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from ._parts import Part, ToolEndPart, ToolPart

__all__ = ["CallObjects"]

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


class CallObjects:
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
