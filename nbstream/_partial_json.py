"""Best-effort previews of a JSON value while its text is still arriving (``ToolArgumentsDelta.partial``).

Re-parsing the whole argument buffer on every fragment costs O(n²) over a call; a 1 MB argument sent in 4-byte
fragments would re-parse 128 GB. ``PartialJSON`` is instead an incremental state machine: each fragment is
consumed exactly once, containers are built as their members complete, and the string being read is kept as a
list of pieces. Long runs of plain string characters are taken with one regex match, so the per-character cost
is C speed for the bulk of a typical payload (long strings).

Materializing a preview never copies finished data: a completed value (string, number, closed container)
is never mutated again, so every preview shares it by reference. Only the *open path* is copied: a shallow
copy of each still-open container, plus the open string's text. That copy can still be large (a 1 MB open
string, an open array of 100k items), so previews are throttled by cost, counted in units of about one copied
character: a preview is rebuilt on every fragment while its last build cost at most ``_CHEAP`` units (every
ordinary buffer under ~8 KB), otherwise only once the input has grown by ``cost / _GROWTH_DIVISOR``
characters since the last build. A build costs O(input so far), so past the cheap size builds happen at
geometrically spaced sizes (every ~3% of growth for a long string) and their total cost is a constant times
the input size: amortized O(1) per fragment. In between, ``preview()`` returns the last preview (the same
object; a preview is never mutated after it is returned). A complete value is always shown at once.

The preview is for display only: it omits an incomplete key, shows a half-read number as its longest valid
prefix (``3.5e`` → ``3.5``) and a half-read literal as the literal it must become (``tr`` → ``True``). Text
that is not JSON stops the preview for good (``preview()`` returns ``None``); bad input never raises.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["PartialJSON"]

_CHEAP = 8192
"""A preview whose last build cost at most this many units is rebuilt on every fragment (small buffers)."""
_GROWTH_DIVISOR = 32
"""An expensive preview is rebuilt once the input grew by ``cost / _GROWTH_DIVISOR`` characters."""
_ITEM_COST = 64
"""Cost units (~ characters of copied string text) of copying one container item."""
_FRAME_COST = 64
"""Cost units of copying one open container, whatever its size (the Python-level work)."""

# Parser states: what the next significant character may be.
_VALUE = 0  # any value
_ARRAY_START = 1  # a value or "]"
_OBJECT_START = 2  # a key or "}"
_KEY = 3  # a key (after a comma in an object)
_COLON = 4
_AFTER_VALUE = 5  # "," or a closing bracket; at top level, only whitespace
_STRING = 6  # inside a string (key or value)
_TOKEN = 7  # inside a number or a literal

_WHITESPACE = frozenset(" \t\n\r")
_STRING_RUN = re.compile(r'[^"\\\x00-\x1f]+')
_NUMBER_RUN = re.compile(r"[0-9eE.+\-]*")
_LITERAL_RUN = re.compile(r"[a-z]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+\-]?[0-9]+)?")
_LITERALS: dict[str, Any] = {"true": True, "false": False, "null": None}
_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_REPLACEMENT = "\ufffd"  # stands in for a lone surrogate, which could not be serialized

_NOTHING: Any = object()  # "no value here yet", distinct from JSON null


class _Frame:
    """An open container and, for an object, the key whose value is being read."""

    __slots__ = ("container", "key")

    def __init__(self, container: dict[str, Any] | list[Any]) -> None:
        self.container = container
        self.key: str | None = None


class PartialJSON:
    """Consumes JSON text fragment by fragment and offers a preview of the value read so far."""

    __slots__ = (
        "_consumed",
        "_deepest",
        "_escape",
        "_failed",
        "_high_surrogate",
        "_last_preview",
        "_rebuild_at",
        "_root",
        "_stack",
        "_state",
        "_string_is_key",
        "_string_pieces",
        "_token",
    )

    def __init__(self) -> None:
        self._state = _VALUE
        self._stack: list[_Frame] = []
        self._deepest = 0
        self._root: Any = _NOTHING
        self._failed = False
        self._string_pieces: list[str] = []
        self._string_is_key = False
        self._escape = ""  # an escape sequence cut by a fragment end: "\\", "\\u", "\\u0", ...
        self._high_surrogate: int | None = None  # first half of a \\uXXXX surrogate pair
        self._token = ""
        self._consumed = 0
        self._rebuild_at = 0  # build a new preview once this many characters are consumed
        self._last_preview: Any = None

    @property
    def failed(self) -> bool:
        """The text is not JSON: previews stopped."""
        return self._failed

    @property
    def deepest(self) -> int:
        """How deeply containers have nested so far (the preview holds values that deep)."""
        return self._deepest

    def feed(self, text: str) -> None:
        """Consume the next fragment (any length, cut anywhere)."""
        if self._failed:
            return
        end = len(text)
        self._consumed += end
        if (  # the common case, tested with C-speed checks: more plain text of an open string
            self._state == _STRING
            and '"' not in text
            and "\\" not in text
            and text.isprintable()  # no control characters (nor a few rare ones that take the long way)
            and not self._escape
            and self._high_surrogate is None
        ):
            self._string_pieces.append(text)
            return
        position = 0
        while position < end:
            state = self._state
            if state == _STRING:
                position = self._read_string(text, position)
            elif state == _TOKEN:
                position = self._read_token(text, position)
            else:
                char = text[position]
                if char in _WHITESPACE:
                    position += 1
                    continue
                position += self._structural(char, state)
            if self._failed:
                self._last_preview = None
                return

    def preview(self) -> Any:
        """The value so far (``None`` when nothing is readable or the text is not JSON); throttled by cost."""
        if self._state == _AFTER_VALUE and not self._stack and not self._failed:
            return self._root  # complete: nothing to copy, never stale
        if self._consumed >= self._rebuild_at and not self._failed:
            preview, cost = self._build_preview()
            self._last_preview = preview
            # cheap builds happen on every new character; costly ones once the input grew by a fraction
            self._rebuild_at = self._consumed + (1 if cost <= _CHEAP else cost // _GROWTH_DIVISOR)
        return self._last_preview

    # -- parsing ------------------------------------------------------------------------------------------

    def _structural(self, char: str, state: int) -> int:
        """Handle one significant character outside strings and tokens; returns how many it consumed."""
        if state == _AFTER_VALUE:
            self._after_value(char)
        elif state == _COLON:
            if char == ":":
                self._state = _VALUE
            else:
                self._failed = True
        elif state in (_OBJECT_START, _KEY):
            if char == '"':
                self._open_string(is_key=True)
            elif char == "}" and state == _OBJECT_START:
                self._close_container(dict)
            else:
                self._failed = True
        elif char == "]" and state == _ARRAY_START:
            self._close_container(list)
        else:
            return self._open_value(char)
        return 1

    def _open_value(self, char: str) -> int:
        if char == "{":
            self._open_container({}, _OBJECT_START)
        elif char == "[":
            self._open_container([], _ARRAY_START)
        elif char == '"':
            self._open_string(is_key=False)
        elif char == "-" or "0" <= char <= "9" or char in "tfn":
            self._token = ""
            self._state = _TOKEN
            return 0  # the token reader takes this character
        else:
            self._failed = True
        return 1

    def _open_container(self, container: dict[str, Any] | list[Any], state: int) -> None:
        stack = self._stack
        stack.append(_Frame(container))
        self._state = state
        if len(stack) > self._deepest:
            self._deepest = len(stack)

    def _after_value(self, char: str) -> None:
        stack = self._stack
        if not stack:
            self._failed = True  # text after the complete top-level value
        elif char == ",":
            self._state = _KEY if type(stack[-1].container) is dict else _VALUE
        elif char == "}":
            self._close_container(dict)
        elif char == "]":
            self._close_container(list)
        else:
            self._failed = True

    def _close_container(self, kind: type) -> None:
        frame = self._stack[-1]
        if type(frame.container) is not kind:
            self._failed = True
            return
        self._stack.pop()
        self._complete(frame.container)

    def _complete(self, value: Any) -> None:
        """A value is finished: put it in its container (it is never mutated again)."""
        self._state = _AFTER_VALUE
        if not self._stack:
            self._root = value
            return
        frame = self._stack[-1]
        container = frame.container
        if isinstance(container, list):
            container.append(value)
        elif frame.key is not None:  # always, in an object: the key was read before its value
            container[frame.key] = value
            frame.key = None

    def _open_string(self, *, is_key: bool) -> None:
        self._state = _STRING
        self._string_is_key = is_key
        self._string_pieces = []

    def _read_string(self, text: str, position: int) -> int:
        """Consume string content from ``position``; returns where it stopped."""
        if self._escape:
            position = self._continue_escape(text, position)
            if self._escape or self._failed or position >= len(text):
                return position
        run = _STRING_RUN.match(text, position)
        if run is not None:
            if self._high_surrogate is not None:
                self._flush_surrogate()
            self._string_pieces.append(run.group())
            position = run.end()
            if position >= len(text):
                return position
        char = text[position]
        if char == '"':
            self._flush_surrogate()
            value = "".join(self._string_pieces)
            self._string_pieces = []
            if self._string_is_key:
                self._stack[-1].key = value
                self._state = _COLON
            else:
                self._complete(value)
        elif char == "\\":
            self._escape = "\\"
        else:
            self._failed = True  # a raw control character: json.loads rejects it too
        return position + 1

    def _continue_escape(self, text: str, position: int) -> int:
        """Extend a pending escape sequence with the next characters; decode it once complete."""
        escape = self._escape
        if escape == "\\":
            char = text[position]
            position += 1
            if char == "u":
                self._escape = "\\u"
            elif char in _SIMPLE_ESCAPES:
                self._escape = ""
                self._flush_surrogate()
                self._string_pieces.append(_SIMPLE_ESCAPES[char])
            else:
                self._failed = True
            return position
        missing = 6 - len(escape)
        digits = text[position : position + missing]
        if not all(digit in _HEX_DIGITS for digit in digits):
            self._failed = True
            return position
        escape += digits
        position += len(digits)
        if len(escape) < 6:
            self._escape = escape
            return position
        self._escape = ""
        self._add_code_point(int(escape[2:], 16))
        return position

    def _add_code_point(self, code: int) -> None:
        if 0xD800 <= code < 0xDC00:
            self._flush_surrogate()
            self._high_surrogate = code
        elif 0xDC00 <= code < 0xE000 and self._high_surrogate is not None:
            combined = 0x10000 + ((self._high_surrogate - 0xD800) << 10) + (code - 0xDC00)
            self._high_surrogate = None
            self._string_pieces.append(chr(combined))
        else:
            self._flush_surrogate()
            self._string_pieces.append(_REPLACEMENT if 0xDC00 <= code < 0xE000 else chr(code))

    def _flush_surrogate(self) -> None:
        if self._high_surrogate is not None:
            self._high_surrogate = None
            self._string_pieces.append(_REPLACEMENT)

    def _read_token(self, text: str, position: int) -> int:
        """Consume a number or literal; it ends at the first character that cannot belong to it."""
        token = self._token
        first = token[:1] or text[position]
        run = (_LITERAL_RUN if first in "tfn" else _NUMBER_RUN).match(text, position)
        assert run is not None  # a `*` pattern always matches
        token += run.group()
        position = run.end()
        self._token = token
        if position < len(text):
            self._end_token()
        return position

    def _end_token(self) -> None:
        token = self._token
        self._token = ""
        if token in _LITERALS:
            self._complete(_LITERALS[token])
            return
        if _NUMBER.fullmatch(token) is None:
            self._failed = True
            return
        value = _number(token)
        if value is _NOTHING:
            self._failed = True
        else:
            self._complete(value)

    # -- previews -----------------------------------------------------------------------------------------

    def _build_preview(self) -> tuple[Any, int]:
        """Copy the open path, sharing every completed value; returns the preview and what it cost."""
        cost = 1
        tail: Any = _NOTHING
        if self._state == _STRING and not self._string_is_key:
            pieces = self._string_pieces
            if len(pieces) > 1:
                pieces[:] = ["".join(pieces)]  # collapse, so the next build joins two pieces, not thousands
            tail = pieces[0] if pieces else ""
            cost += len(tail)
        elif self._state == _TOKEN:
            tail = _token_preview(self._token)
        for frame in reversed(self._stack):
            container = frame.container.copy()
            cost += len(container) * _ITEM_COST + _FRAME_COST
            if tail is not _NOTHING:
                if isinstance(container, list):
                    container.append(tail)
                elif frame.key is not None:
                    container[frame.key] = tail
            tail = container
        if not self._stack and self._state == _AFTER_VALUE:
            return self._root, cost
        return (None if tail is _NOTHING else tail), cost


def _number(token: str) -> Any:
    """A valid JSON number token as int or float (``_NOTHING`` if Python refuses it, e.g. too many digits)."""
    try:
        if "." in token or "e" in token or "E" in token:
            return float(token)
        return int(token)
    except ValueError:
        return _NOTHING


def _token_preview(token: str) -> Any:
    if token[:1] in ("t", "f", "n"):
        for literal, value in _LITERALS.items():
            if literal.startswith(token):
                return value
        return _NOTHING
    prefix = _NUMBER.match(token)
    return _NOTHING if prefix is None else _number(prefix.group())
