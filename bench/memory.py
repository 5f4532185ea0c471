"""Benchmark: what a turn with a huge streamed tool call keeps in the kernel. ``python -m bench.memory``.

A ``StreamChat`` (its comm publishing nothing) runs a scripted turn: a sentence, then one ``write_report`` call
whose arguments (a realistic JSON object, ``bench.streams.tool_arguments``) stream a few characters per
fragment in a real provider's wire bytes, then a short reply after the tool's result. tracemalloc measures
what the turn left allocated once it ended: its ``TurnHandle`` and a timeline built from it, the transcript
trait and the session's history. The target is at most 3x the turn's raw stream bytes.

Ollama is not measured: it sends a call whole, in one line, so there are no fragments to keep.
"""

from __future__ import annotations

import argparse
import gc
import tracemalloc
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import comm
from comm.base_comm import BaseComm

from nbstream import Call, ModelRequest, Say, ScriptedModel, StreamChat, ToolArgumentsDelta
from nbstream._providers import WireFormat

from .streams import tool_arguments

__all__ = ["TARGET", "Measurement", "main", "measure"]

TARGET = 3.0
"""Memory kept per turn, at most this many times the turn's raw stream bytes."""

_SIZES = (64 * 1024, 256 * 1024, 1024 * 1024, 2048 * 1024)
_WIRES: tuple[WireFormat, ...] = ("anthropic", "openai-chat", "openai-responses")


class _SilentComm(BaseComm):
    """Publishes nothing: no kernel here, and the channel's cost is ``bench.widget``'s subject."""

    def publish_msg(self, *args: Any, **kwargs: Any) -> None:
        pass


class _CountingModel:
    """A scripted model that counts the bytes it streams: the turn's raw stream bytes."""

    def __init__(self, inner: ScriptedModel) -> None:
        self.inner = inner
        self.bytes = 0

    @property
    def provider(self) -> str:
        return self.inner.provider

    @property
    def wire(self) -> WireFormat:
        return self.inner.wire

    def stream(self, request: ModelRequest) -> AsyncIterator[bytes]:
        return self._count(self.inner.stream(request))

    async def _count(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        async for chunk in chunks:
            self.bytes += len(chunk)
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


def write_report(path: str, overwrite: bool, content: str, metadata: dict[str, Any]) -> str:
    """Write a report.

    Args:
        path: where to write it
        overwrite: replace an existing file
        content: the report's markdown
        metadata: authorship and sections
    """
    return f"wrote {len(content)} characters to {path}"


@dataclass(frozen=True)
class Measurement:
    wire: WireFormat
    arguments: int  # characters of JSON arguments
    fragments: int  # argument deltas on the wire
    raw: int  # bytes of the turn's streams (both responses)
    events: int  # events the TurnHandle keeps
    argument_events: int  # of which ToolArgumentsDelta
    kept: int  # bytes still allocated after the turn
    peak: int  # most bytes allocated during the turn

    @property
    def ratio(self) -> float:
        return self.kept / self.raw


def measure(size: int, wire: WireFormat = "anthropic", *, fragment: int = 8) -> Measurement:
    """Run one turn with about ``size`` characters of arguments, ``fragment`` characters a delta."""
    call = Call("write_report", tool_arguments(size), fragment=fragment)
    model = _CountingModel(
        ScriptedModel([[Say("Writing the report now."), call], [Say("The report is written.")]], wire=wire)
    )
    previous_comm = comm.create_comm
    comm.create_comm = lambda *args, **kwargs: _SilentComm(*args, **kwargs)
    try:
        chat = StreamChat(model, tools=[write_report])
    finally:
        comm.create_comm = previous_comm
    try:
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            handle = chat.send("Write the report.")
            handle.result(timeout=600)
            timeline = handle.timeline()
            gc.collect()
            kept, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        events = handle.events
        deltas = [event for event in events if isinstance(event, ToolArgumentsDelta)]
        assert handle.reason == "done", handle.reason
        assert "".join(delta.fragment for delta in deltas) == call.raw_arguments
        assert len(timeline.tools) == 1 and timeline.tools[0].state == "done"
        return Measurement(
            wire=wire,
            arguments=len(call.raw_arguments),
            fragments=len(call.fragments()),
            raw=model.bytes,
            events=len(events),
            argument_events=len(deltas),
            kept=kept - before,
            peak=peak - before,
        )
    finally:
        chat.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--fragment", type=int, default=8, help="characters per argument fragment")
    parser.add_argument("--wire", choices=_WIRES, action="append", help="wire format(s); default: all three")
    options = parser.parse_args(argv)
    header = (
        f"{'wire':<17} {'arguments':>9} {'fragments':>9} {'stream':>9} {'events':>6} {'kept':>8}"
        f" {'kept/stream':>11} {'peak':>8}  target"
    )
    print(
        f"{options.fragment} characters per fragment; kept and peak by tracemalloc; target kept <= {TARGET}x"
    )
    print(header)
    print("-" * len(header))
    failed = 0
    for wire in options.wire or _WIRES:
        for size in _SIZES:
            row = measure(size, wire, fragment=options.fragment)
            passed = row.ratio <= TARGET
            failed += not passed
            print(
                f"{wire:<17} {_size(row.arguments):>9} {row.fragments:>9,} {_size(row.raw):>9}"
                f" {row.events:>6,} {_size(row.kept):>8} {row.ratio:>10.2f}x {_size(row.peak):>8}"
                f"  {'pass' if passed else 'FAIL'}",
                flush=True,
            )
    print("all rows pass" if not failed else f"{failed} row(s) over the target")
    return 1 if failed else 0


def _size(count: int) -> str:
    return f"{count / 1024:.0f} KB" if count < 1024 * 1024 else f"{count / 1024 / 1024:.1f} MB"


if __name__ == "__main__":
    raise SystemExit(main())
