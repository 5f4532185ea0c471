"""Images in a conversation: what a prompt carries and a tool returns, in one checked, serializable form.

An ``ImageData`` holds the encoded bytes (base64) of a PNG, JPEG, GIF or WebP image, and nothing else: its
type is checked against the bytes' own signature, so what reaches the page as a ``data:`` URL is always an
image of the type it claims, never HTML or script.
"""

from __future__ import annotations

import base64
import binascii
import io
import os
import pathlib
import struct
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

__all__ = [
    "MAX_IMAGE_BYTES",
    "ImageData",
    "ImageType",
    "decode_image",
    "image_from",
    "images_from",
    "is_image",
    "sniff",
    "unseen_note",
]

ImageType = Literal["image/png", "image/jpeg", "image/gif", "image/webp"]
"""The image types every provider that takes images accepts, and the only ones shown on the page."""

MAX_IMAGE_BYTES = 5 * 1024 * 1024
"""The largest image kept (encoded bytes, before base64): Anthropic's limit per image, and a bound on what
a saved notebook holds."""

_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
}


def sniff(data: bytes) -> ImageType | None:
    """The type ``data``'s first bytes say it is, or ``None`` when it is none of the four."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for media_type, signatures in _SIGNATURES.items():
        if data.startswith(signatures):
            return media_type  # type: ignore[return-value]
    return None


class ImageData(BaseModel):
    """An image in the conversation: ``ImageData.from_bytes(png)`` or what nbstream made of a figure."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    media_type: ImageType
    """The image's type, which its bytes are checked against."""
    data: str
    """The encoded image, base64 (standard alphabet, padded)."""
    width: int | None = None
    """Pixels across, when known."""
    height: int | None = None
    """Pixels down, when known."""

    @field_validator("data")
    @classmethod
    def _base64(cls, value: str) -> str:
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("data is not base64") from None
        if len(raw) > MAX_IMAGE_BYTES:
            raise ValueError(f"the image is {len(raw):,} bytes; at most {MAX_IMAGE_BYTES:,} are kept")
        return value

    @model_validator(mode="after")
    def _signature(self) -> ImageData:
        found = sniff(base64.b64decode(self.data[:64]))
        if found != self.media_type:
            raise ValueError(
                f"the bytes are {found or 'not an image of a supported type'}, not {self.media_type}"
            )
        return self

    @classmethod
    def from_bytes(cls, data: bytes, media_type: ImageType | None = None) -> ImageData:
        """An image from its encoded bytes; the type is read from the bytes when not given."""
        found = sniff(data)
        if found is None:
            raise ValueError("not a PNG, JPEG, GIF or WebP image")
        if len(data) > MAX_IMAGE_BYTES:  # said here in one line, not as pydantic's validation report
            raise ValueError(f"the image is {len(data):,} bytes; at most {MAX_IMAGE_BYTES:,} are kept")
        width, height = _dimensions(data, found)
        encoded = base64.b64encode(data).decode("ascii")
        return cls(media_type=media_type or found, data=encoded, width=width, height=height)

    @property
    def raw(self) -> bytes:
        """The encoded image."""
        return base64.b64decode(self.data)

    @property
    def data_url(self) -> str:
        """``data:image/png;base64,...``, as Chat Completions and Responses take images and the page shows them."""
        return f"data:{self.media_type};base64,{self.data}"

    def __repr__(self) -> str:
        size = f" {self.width}×{self.height}" if self.width and self.height else ""
        return f"ImageData({self.media_type}{size}, {len(self.data) * 3 // 4:,} bytes)"


def _dimensions(data: bytes, media_type: str) -> tuple[int | None, int | None]:
    """Width and height from the header (PNG's IHDR, GIF's screen, JPEG's frame), when it can be read."""
    try:
        if media_type == "image/png" and data[12:16] == b"IHDR":
            width, height = struct.unpack(">II", data[16:24])
            return width, height
        if media_type == "image/gif":
            width, height = struct.unpack("<HH", data[6:10])
            return width, height
        if media_type == "image/jpeg":
            at = 2
            while at + 9 < len(data) and data[at] == 0xFF:
                marker, length = data[at + 1], struct.unpack(">H", data[at + 2 : at + 4])[0]
                if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # a start-of-frame
                    height, width = struct.unpack(">HH", data[at + 5 : at + 9])
                    return width, height
                at += 2 + length
    except struct.error:
        pass
    return None, None


def _kind(value: Any) -> Literal["figure", "pil", "ipython"] | None:
    """Which object holding an image ``value`` is, told by what it has: nothing is imported."""
    if callable(getattr(value, "savefig", None)):  # a matplotlib Figure
        return "figure"
    if callable(getattr(value, "save", None)) and hasattr(value, "mode") and hasattr(value, "size"):
        return "pil"
    if isinstance(getattr(value, "data", None), bytes) and hasattr(value, "_repr_png_"):
        return "ipython"  # an IPython.display.Image holding its bytes (not one that only links a URL)
    return None


def is_image(value: Any) -> bool:
    """Whether ``value`` is an image as a tool returns one: an ``ImageData``, image bytes, a figure, a PIL or
    ``IPython.display.Image``. Paths are not: a ``str`` a tool returns is text. Converts nothing."""
    if isinstance(value, ImageData):
        return True
    if isinstance(value, (bytes, bytearray, memoryview)):
        return sniff(bytes(value[:16])) is not None
    return _kind(value) is not None


def image_from(value: Any) -> ImageData:
    """An ``ImageData`` from what notebooks hold images as.

    Takes an ``ImageData``; PNG / JPEG / GIF / WebP bytes; a path (``str`` or ``os.PathLike``) to such a file;
    a PIL image (saved as PNG); a matplotlib figure (saved as PNG); an ``IPython.display.Image``. Anything else
    is a ``TypeError`` that says what is taken; an image past ``MAX_IMAGE_BYTES`` a ``ValueError``. Nothing is
    imported: each kind is recognised by what it has.
    """
    if isinstance(value, ImageData):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return ImageData.from_bytes(bytes(value))
    if isinstance(value, (str, os.PathLike)):
        return ImageData.from_bytes(pathlib.Path(value).read_bytes())
    kind = _kind(value)
    if kind == "figure":
        buffer = io.BytesIO()
        value.savefig(buffer, format="png", bbox_inches="tight")
        return ImageData.from_bytes(buffer.getvalue())
    if kind == "pil":
        buffer = io.BytesIO()
        value.save(buffer, format="PNG")
        return ImageData.from_bytes(buffer.getvalue())
    if kind == "ipython":
        return ImageData.from_bytes(value.data)
    raise TypeError(
        f"cannot use a {type(value).__name__} as an image: give PNG/JPEG/GIF/WebP bytes, a path to such a file, "
        "a PIL image, a matplotlib figure or an IPython.display.Image"
    )


def decode_image(data: str) -> ImageData | None:
    """An image from base64 or a ``data:`` URL, as request bodies carry them; ``None`` when it is not one of
    the four types (a request read back leniently skips it)."""
    if data.startswith("data:"):
        header, _, data = data.partition(",")
        if not header.endswith(";base64"):
            return None
    try:
        return ImageData.from_bytes(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError):
        return None


def unseen_note(images: list[ImageData]) -> str:
    """What a model that cannot take images in tool results is told instead of them:
    ``[1 image (image/png, 640×480) was shown to the user; this model cannot see tool images]``."""
    described = "; ".join(
        f"{image.media_type}, {image.width}×{image.height}"
        if image.width and image.height
        else image.media_type
        for image in images
    )
    count = f"1 image ({described}) was" if len(images) == 1 else f"{len(images)} images ({described}) were"
    return f"[{count} shown to the user; this model cannot see tool images]"


def images_from(images: Any) -> list[ImageData]:
    """What ``send(prompt, images=...)`` was given, converted now: one image alone, or an iterable of them. A bad
    one is the ``TypeError`` / ``ValueError`` of ``image_from``, saying which (``images[1]: ...``)."""
    if images is None:
        return []
    if isinstance(images, (str, os.PathLike)) or is_image(images):
        images = [images]
    converted: list[ImageData] = []
    for index, image in enumerate(images):
        try:
            converted.append(image_from(image))
        except (TypeError, ValueError) as exc:  # a pydantic error is a ValueError: said as one
            kind = TypeError if isinstance(exc, TypeError) else ValueError
            raise kind(f"images[{index}]: {exc}") from exc
    return converted
