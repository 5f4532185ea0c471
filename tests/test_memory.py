"""What a widget turn keeps: counted with tracemalloc and by events, not timed.

A turn streaming ~256 KB of tool arguments in 8-character fragments (~31k deltas) used to keep every delta
with a ``partial`` preview: ~60 MB, ~14x the turn's stream bytes. ``bench.memory`` runs the turn.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the benchmark lives in bench/, next to tests/
    sys.path.insert(0, str(ROOT))

from bench.memory import TARGET, measure  # noqa: E402
from nbstream._providers import WireFormat  # noqa: E402


@pytest.mark.parametrize("wire", ["anthropic", "openai-chat"])
def test_a_turn_with_256_kb_of_arguments_keeps_at_most_3x_its_stream_bytes(wire: WireFormat) -> None:
    turn = measure(256 * 1024, wire, fragment=8)

    assert turn.fragments > 30_000
    # Before: one ToolArgumentsDelta per fragment, each with a preview of the whole object so far.
    assert turn.argument_events == 1
    assert turn.events < 20
    assert turn.kept <= TARGET * turn.raw, f"kept {turn.kept:,} bytes for a {turn.raw:,}-byte stream"
    assert turn.kept < 20 * turn.arguments  # the arguments themselves, kept a few times at most
