"""Reading a provider's stream, the generic part: raw bytes → frames (``_frames``) → provider events
(``_parts``). Each provider's parser lives in its module in ``nbstream._providers``. Pure, no I/O."""

from __future__ import annotations

from typing import Protocol

from ._frames import MAX_FRAME_SIZE
from ._parts import Part

__all__ = ["MAX_FRAME_SIZE", "WireParser"]


class WireParser(Protocol):
    """Incremental: ``feed`` any slice of the stream's bytes, ``close`` at EOF. Never raises on bad input."""

    def __init__(self, max_frame_size: int = ...) -> None: ...

    def feed(self, data: bytes) -> list[Part]: ...

    def close(self) -> list[Part]: ...
