"""A tool's return value → the text the model is told: strings as they are, data as JSON, the rest as ``repr``.

The text is cut at a limit, and making it costs time bounded by that limit rather than by the value's size, so a
huge return value cannot stall the event loop.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import functools
import itertools
import json
from typing import Any

from pydantic import BaseModel

__all__ = ["serialize_result"]

_JSON_NATIVE = (dict, list, tuple, int, float, bool, type(None))


def _json_default(value: Any, limit: int) -> Any:
    """What ``json`` cannot write itself: models, dataclasses, dates, sets, enums; else ``str``."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {item.name: getattr(value, item.name) for item in dataclasses.fields(value)}
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        if len(value) > limit:  # cannot be shown whole, and sorting it all would cost what the limit saves
            return list(itertools.islice(value, limit))
        try:
            return sorted(value)
        except TypeError:
            return list(value)
    if callable(getattr(value, "tolist", None)):  # numpy arrays and scalars
        return value.tolist()
    return str(value)


def _json_prefix(value: Any, limit: int) -> tuple[str, bool]:
    """JSON of ``value``, stopping once past ``limit`` characters; and whether it is whole.

    ``iterencode`` is the pure-Python encoder, which yields as it goes (``json.dumps`` writes it all first):
    the cost follows the limit, not the size of the value.
    """
    encoder = json.JSONEncoder(ensure_ascii=False, default=functools.partial(_json_default, limit=limit))
    parts: list[str] = []
    size = 0
    for part in encoder.iterencode(value):
        parts.append(part)
        size += len(part)
        if size > limit:
            return "".join(parts), False
    return "".join(parts), True


def _to_text(value: Any, limit: int) -> tuple[str, bool]:
    if isinstance(value, str):
        return str.__str__(value), True
    if isinstance(value, BaseModel):
        return value.model_dump_json(), True
    if isinstance(value, (*_JSON_NATIVE, set, frozenset)) or (
        dataclasses.is_dataclass(value) and not isinstance(value, type)
    ):
        return _json_prefix(value, limit)
    return repr(value), True


def serialize_result(value: Any, *, limit: int = 20_000) -> str:
    """A tool's return value as text for the model: strings as they are, data as JSON, the rest as ``repr``.

    Never raises; text longer than ``limit`` is cut with a marker saying how long it was (or, for JSON, which
    is only written up to the limit, that it was longer).
    """
    try:
        text, whole = _to_text(value, limit)
    except Exception:
        try:
            text, whole = repr(value), True
        except Exception:
            text, whole = f"<{type(value).__name__} object that could not be shown>", True
    if len(text) > limit:
        size = f"{len(text)} characters in all" if whole else f"more than {limit} characters"
        return f"{text[:limit]}… [truncated: {size}]"
    return text
