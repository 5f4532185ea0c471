"""Text the kernel can send: what goes to the page must encode as UTF-8.

A Python ``str`` may hold unpaired surrogates (``"Great day \\ud83d"``: a tool that cut an emoji in half, a JSON
``"\\ud83d"`` escape from a provider). ``json.dumps`` accepts them, but the kernel's packer encodes to UTF-8 and
raises. ``sendable`` replaces each unpaired surrogate with U+FFFD (a surrogate pair written as two code points
becomes its character) and returns clean values unchanged, the very same objects, so it costs a scan, no copy.
"""

from __future__ import annotations

from typing import Any

__all__ = ["clean_text", "sendable"]


def clean_text(text: str) -> str:
    """``text`` with unpaired surrogates replaced by U+FFFD; ``text`` itself when it has none."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def sendable(value: Any) -> Any:
    """A JSON-like value (dicts, lists, strings, numbers) with every string, keys included, made sendable.
    Containers are copied only when something in them changed."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        items = [(sendable(key), sendable(item)) for key, item in value.items()]
        if all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(items, value.items(), strict=True)):
            return value
        return dict(items)
    if isinstance(value, (list, tuple)):
        cleaned = [sendable(item) for item in value]
        if all(a is b for a, b in zip(cleaned, value, strict=True)):
            return value
        return cleaned
    return value
