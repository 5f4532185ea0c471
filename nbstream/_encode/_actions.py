"""The script vocabulary: the actions of a scripted step (one model response): what it thinks (``Think``), says
(``Say``), calls (``Call``), waits (``Pause``), and where it runs out of output tokens (``TokenLimit``)."""

from __future__ import annotations

import json
import re
from dataclasses import KW_ONLY, dataclass
from typing import Any

__all__ = ["Action", "Call", "Pause", "Say", "TokenLimit", "Think"]

_WORD = re.compile(r"\s*\S+")


@dataclass(frozen=True, slots=True)
class _Words:
    """Text streamed ``chunk`` *words* per delta (whitespace stays with the next word).

    ``delay`` is the wait before each delta; ``over`` spreads the deltas evenly over that many seconds
    instead. Neither: the text arrives as fast as the reader takes it.
    """

    text: str
    _: KW_ONLY
    chunk: int = 3
    delay: float | None = None
    over: float | None = None

    def __post_init__(self) -> None:
        name = type(self).__name__
        if self.chunk < 1:
            raise ValueError(f"{name}(chunk={self.chunk}): at least one word per delta")
        if self.delay is not None and self.over is not None:
            raise ValueError(f"{name} takes delay= or over=, not both")
        if (self.delay or 0) < 0 or (self.over or 0) < 0:
            raise ValueError(f"{name} delays cannot be negative")

    def deltas(self) -> list[str]:
        """The pieces, in order; ``"".join(deltas) == text``."""
        words = _WORD.findall(self.text)
        if not words:
            return [self.text] if self.text else []
        tail = self.text[sum(map(len, words)) :]  # trailing whitespace rides on the last word
        words[-1] += tail
        return ["".join(words[i : i + self.chunk]) for i in range(0, len(words), self.chunk)]

    def delta_delay(self, count: int) -> float:
        if self.over is not None:
            return self.over / count if count else 0.0
        return self.delay or 0.0


@dataclass(frozen=True, slots=True)
class Say(_Words):
    """Stream ``text`` as assistant text, ``chunk`` *words* per delta (whitespace stays with the next word).

    ``delay`` is the wait before each delta; ``over`` spreads the deltas evenly over that many seconds
    instead. Neither: the text arrives as fast as the reader takes it.
    """


@dataclass(frozen=True, slots=True)
class Think(_Words):
    """Stream ``text`` as the model's reasoning, as ``Say`` streams text (``chunk``, ``delay``, ``over``).

    Each wire writes it its own way: an Anthropic ``thinking`` block that ends with a signature, a Responses
    ``reasoning`` item with a summary and ``encrypted_content``, Chat Completions ``reasoning_content``
    deltas, Ollama ``thinking``. Signature and encrypted content are deterministic (a hash of the text), so
    ``ProviderServer`` can check that the next request carries them back unchanged.
    """


@dataclass(frozen=True, slots=True)
class Call:
    """A tool call whose JSON arguments stream ``fragment`` characters at a time, ``delay`` s before each.

    A ``str`` is sent as it is, so broken or partial JSON can be scripted. ``id`` defaults to a deterministic
    provider-style id (``toolu_script_1``, ``call_script_1``...); ``id=""`` sends the call without one, as Ollama
    before 0.12.10 and some OpenAI-compatible servers do. ``whole=True`` sends the arguments whole, outside the
    deltas: in Anthropic's ``content_block_start`` ``input``, only in the Responses ``output_item.done``, in
    one Chat delta (Ollama always sends calls whole).
    """

    name: str
    arguments: dict[str, Any] | str
    _: KW_ONLY
    id: str | None = None
    fragment: int = 8
    delay: float = 0.0
    whole: bool = False

    def __post_init__(self) -> None:
        if self.fragment < 1:
            raise ValueError(f"Call(fragment={self.fragment}): at least one character per fragment")
        if self.delay < 0:
            raise ValueError("Call delay cannot be negative")

    @property
    def raw_arguments(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, ensure_ascii=False, separators=(",", ":"))

    def fragments(self) -> list[str]:
        raw = self.raw_arguments
        return [raw[i : i + self.fragment] for i in range(0, len(raw), self.fragment)]


@dataclass(frozen=True, slots=True)
class Pause:
    """Nothing on the wire for ``seconds``."""

    seconds: float

    def __post_init__(self) -> None:
        if self.seconds < 0:
            raise ValueError("Pause cannot be negative")


@dataclass(frozen=True, slots=True)
class TokenLimit:
    """The response runs out of output tokens here: a call before it is left unfinished, and the response ends
    with the wire's own word for it (``length``, ``max_tokens``, ``incomplete``). Must be the step's last action."""


Action = Say | Think | Call | Pause | TokenLimit
"""One item of a script: a step is a list of actions."""
