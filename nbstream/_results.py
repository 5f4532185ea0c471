"""A tool's return value → what the model is told: text (strings as they are, data as JSON, the rest as
``repr``) and images.

The text is cut at a limit, and making it costs time bounded by that limit rather than by the value's size, so a
huge return value cannot stall the event loop.

Images (``tool_return``): a tool may return one image (``ImageData``, image bytes, a matplotlib figure, a PIL or
``IPython.display.Image``; see ``_images.is_image``), or a list or tuple whose top-level items include images,
such as ``["the sales by month", fig]``. The images go to the result's ``images``; the other items, each as text
as above, joined by line breaks, are its text (``""`` for an image alone: a provider that takes images in tool
results sends them after the text, and one that cannot adds a note saying what the user was shown). Only the
first ``SCANNED_ITEMS`` items are looked at, so telling whether a long list holds images stays cheap. Bytes
that are no image stay data, as before. A matplotlib figure made with pyplot is closed once rendered: it was
handed over as the result, and left open the notebook would show it a second time when the cell ends.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import functools
import itertools
import json
import sys
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from ._images import ImageData, image_from, is_image

__all__ = ["SCANNED_ITEMS", "ToolReturn", "has_images", "serialize_result", "tool_return"]

SCANNED_ITEMS = 100
"""Top-level items of a returned list or tuple looked at for images."""

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


@dataclass(frozen=True)
class ToolReturn:
    """What a call returned, as the model is told it."""

    text: str
    images: tuple[ImageData, ...] = ()


def has_images(value: Any) -> bool:
    """Whether ``value`` is an image or a list / tuple with images among its first ``SCANNED_ITEMS`` items."""
    if is_image(value):
        return True
    return isinstance(value, (list, tuple)) and any(map(is_image, itertools.islice(value, SCANNED_ITEMS)))


def tool_return(value: Any, *, limit: int = 20_000) -> ToolReturn:
    """The text and images of a returned value. Images are converted here (a figure is rendered: run it off the
    event loop); an image that cannot be kept (past ``MAX_IMAGE_BYTES``, or unreadable) raises."""
    if not has_images(value):
        return ToolReturn(serialize_result(value, limit=limit))
    items = [value] if is_image(value) else value
    images: list[ImageData] = []
    pieces: list[str] = []
    size = 0
    for index, item in enumerate(items):
        if index >= SCANNED_ITEMS and size > limit:  # no image further on, and no room for more text
            break
        if index < SCANNED_ITEMS and is_image(item):
            images.append(_image(item))
        elif size <= limit:  # past the limit the text is cut anyway: the rest is not written
            pieces.append(serialize_result(item, limit=limit))
            size += len(pieces[-1]) + 1
    text = "\n".join(pieces)
    if len(text) > limit:
        text = f"{text[:limit]}… [truncated: more than {limit} characters]"
    return ToolReturn(text, tuple(images))


def _image(value: Any) -> ImageData:
    image = image_from(value)
    pyplot = sys.modules.get("matplotlib.pyplot")  # loaded if the figure came from it; never imported here
    if pyplot is not None and callable(getattr(value, "savefig", None)):
        pyplot.close(value)
    return image
