"""Previews of streamed tool-call arguments: the JSON value so far, parsed from an unfinished text.

pydantic_core parses the prefix (``allow_partial="trailing-strings"``): an open string shows what it holds so
far; an unfinished key, number or literal is left out until it is whole. A partial parse ignores whatever
follows a complete value, so the text is read as the first item of an open list: ``{"a": 1}, "b": 2}`` (a
call glued to the one before) then reads as a second item or an error, which stops the previews, and not as
``{"a": 1}``. The parser is lenient right after a complete value (``{"a": 1} {"b": 2}`` reads as ``{"a": 1}``):
such text keeps its last preview, and the call's error says what was wrong once it is ready. Previews are for
display; arguments are parsed strictly, once, when the call is final.

Parsing the whole buffer again on every fragment would cost O(n²) for n characters, so a buffer is parsed on
every fragment only while it is small (``SMALL``), and after that once it has grown by 1/``GROWTH`` since the
last parse: the sizes parsed form a geometric series, O(n) in all. Between two parses a fragment gets the
latest preview again (the same object: a preview is never changed once returned).
"""

from __future__ import annotations

from typing import Any

from pydantic_core import from_json

__all__ = ["GROWTH", "MAX_DEPTH", "SMALL", "PartialJSON", "nested_too_deep"]

SMALL = 4096
"""Up to this many characters, every fragment gets a preview of the whole buffer."""
GROWTH = 4
"""Past ``SMALL``, the buffer is parsed again once it has grown by 1/``GROWTH`` of its size."""
MAX_DEPTH = 100
"""Arguments and previews nested deeper are refused: pydantic can neither dump nor read back events holding a
value nested ~200 levels deep, and no real tool takes such arguments."""


class PartialJSON:
    """The preview of one call's arguments, fed fragment by fragment."""

    __slots__ = ("_due", "_pieces", "_size", "_text", "_value", "stopped")

    def __init__(self) -> None:
        self._text = "["  # what the last parse read: "[" and the text so far
        self._pieces: list[str] = []  # fragments since then
        self._size = 0
        self._due = 0  # the size at which the buffer is parsed again
        self._value: Any = None
        self.stopped = False
        """The text cannot be the start of JSON (or nests deeper than ``MAX_DEPTH``): no more previews."""

    def feed(self, fragment: str) -> Any:
        """The value so far: ``None`` while nothing parses, and for good once ``stopped``."""
        if self.stopped:
            return None
        self._pieces.append(fragment)
        self._size += len(fragment)
        if self._size < self._due:
            return self._value
        text = self._text = self._text + "".join(self._pieces)
        self._pieces = []
        self._due = self._size + 1 if self._size < SMALL else self._size + self._size // GROWTH
        try:
            items = from_json(text, allow_inf_nan=False, allow_partial="trailing-strings")
        except ValueError:  # no prefix of JSON (a lone surrogate escape counts as broken)
            return self._stop()
        if len(items) != 1:  # nothing whole enough to show yet, or a second value after the first
            self._value = None  # what an empty fragment before the next parse gets too
            return None if not items else self._stop()
        value = items[0]
        if nested_too_deep(value, text):  # an event holding it could not be serialized
            return self._stop()
        self._value = value
        return value

    def _stop(self) -> None:
        self.stopped = True
        self._text, self._pieces, self._value = "", [], None


def nested_too_deep(value: Any, text: str) -> bool:
    """``value`` (parsed from ``text``) nests lists and objects more than ``MAX_DEPTH`` levels deep."""
    if text.count("{") + text.count("[") <= MAX_DEPTH:  # the common case, at C speed: too few brackets
        return False
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                return True
            items = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in items)
    return False
