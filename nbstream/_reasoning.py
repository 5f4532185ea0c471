"""Reasoning parts → ``ReasoningDelta`` events and the response's ``Reasoning`` blocks (used by the assembler).

A part with a ``key`` belongs to the block the wire names so (Anthropic's block index, a Responses item's
summary part), wherever it arrives; a part without one (Chat Completions' ``reasoning_content``, Ollama's
``thinking``) continues the reasoning that came last, unless text or a call came in between. Blocks keep the
order they began in. The first delta of a block that follows another block with text starts with a blank
line, so that the deltas joined read as the blocks' texts joined by ``"\\n\\n"``.

Signatures, redacted data, item ids and encrypted content never show as deltas: they are kept on the block,
the latest value winning (Responses repeats ``encrypted_content`` in ``output_item.done``, the one to send
back).
"""

from __future__ import annotations

from ._events import Event, ReasoningDelta
from ._messages import Reasoning
from ._wire._parts import ReasoningPart

__all__ = ["BLOCK_SEPARATOR", "ReasoningBlocks"]

BLOCK_SEPARATOR = "\n\n"
"""What the deltas put between two blocks' texts."""


class _Block:
    __slots__ = ("encrypted", "fragments", "id", "redacted", "signature")

    def __init__(self) -> None:
        self.fragments: list[str] = []
        self.signature: str | None = None
        self.redacted: str | None = None
        self.id: str | None = None
        self.encrypted: str | None = None

    def update(self, part: ReasoningPart) -> None:
        if part.signature:
            self.signature = part.signature
        if part.redacted:
            self.redacted = part.redacted
        if part.id:
            self.id = part.id
        if part.encrypted:
            self.encrypted = part.encrypted

    def block(self) -> Reasoning | None:
        """The finished block; ``None`` when the wire gave it nothing (a thinking block cut before its text)."""
        text = "".join(self.fragments)
        if not (text or self.signature or self.redacted or self.id or self.encrypted):
            return None
        return Reasoning(
            text=text, signature=self.signature, redacted=self.redacted, id=self.id, encrypted=self.encrypted
        )


class ReasoningBlocks:
    """The reasoning of one response so far. ``open`` is the block a part without a key continues; the
    assembler sets it to ``None`` when text or a call comes."""

    __slots__ = ("_blocks", "_by_key", "_shown", "open")

    def __init__(self) -> None:
        self._blocks: list[_Block] = []
        self._by_key: dict[str | int, _Block] = {}
        self._shown: _Block | None = None  # the last block whose text was shown
        self.open: _Block | None = None

    def feed(self, part: ReasoningPart) -> list[Event]:
        block = self._block_for(part)
        if block is None:
            return []
        block.update(part)
        if not part.text:
            return []
        block.fragments.append(part.text)
        text = part.text
        if self._shown is not None and self._shown is not block and len(block.fragments) == 1:
            text = BLOCK_SEPARATOR + text
        self._shown = block
        return [ReasoningDelta(text=text)]

    def _block_for(self, part: ReasoningPart) -> _Block | None:
        key = part.key
        if key is not None:
            block = self._by_key.get(key)
            if block is None:
                block = self._by_key[key] = self._new()
            return block
        if self.open is not None:
            return self.open
        if not (part.text or part.signature or part.redacted or part.id or part.encrypted):
            return None  # an empty piece starts nothing
        self.open = self._new()
        return self.open

    def _new(self) -> _Block:
        block = _Block()
        self._blocks.append(block)
        return block

    def blocks(self) -> list[Reasoning]:
        """The blocks so far, in the order they began, without those the wire left empty."""
        return [reasoning for block in self._blocks if (reasoning := block.block()) is not None]
