"""What a turn cost and how fast it was: ``TurnMetrics``, on ``TurnFinished.metrics`` and the finished turn."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["TurnMetrics"]


class TurnMetrics(BaseModel):
    """Timings, tokens and cost of one turn (all of its steps). ``None`` means unknown, never zero."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    duration: float
    """Seconds from ``send`` to ``TurnFinished``."""
    time_to_first_token: float | None = None
    """Seconds from ``send`` to the first text, reasoning or tool-call delta; ``None`` when none came."""
    output_tokens_per_second: float | None = None
    """Output tokens over the seconds the model's responses streamed (first delta to end, per step)."""
    input_tokens: int | None = None
    """Input tokens of all steps, as the provider reported them."""
    output_tokens: int | None = None
    """Output tokens of all steps."""
    cached_tokens: int | None = None
    """Input tokens served from the provider's prompt cache (part of ``input_tokens``)."""
    tool_time: float = 0.0
    """Seconds tools ran, summed over calls."""
    overlap_saved: float = 0.0
    """Tool seconds that ran while the model was still streaming: what eager dispatch saved."""
    cost: float | None = None
    """US dollars, from the price table; ``None`` when the model's price or the usage is unknown."""
    price_note: str | None = None
    """Where ``cost`` came from, or why it is unknown."""
