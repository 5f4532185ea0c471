"""Benchmark: what a streamed reply costs on the kernel → browser channel. ``python -m bench.widget``.

A ``StreamChat`` plays a scripted reply of N characters (one word per delta, as a fast model streams it); the
widget's comm is replaced by one that records every message it would publish. The table shows, per reply size:
bytes sent, bytes per character of text (flat = linear cost), messages sent and messages per second (Jupyter
drops IOPub messages past 1000/s), and the transcript commits (one per turn, not per delta).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import comm
from comm.base_comm import BaseComm

from nbstream import Say, ScriptedModel, StreamChat

__all__ = ["main", "measure"]

_SIZES = (4_000, 16_000, 64_000)
_SECONDS = 2.0
_WORDS = (
    "Streaming markdown arrives in small pieces, with `code`, **bold** words and a list:\n- one\n- two\n\n"
)


class _CountingComm(BaseComm):
    """Counts what the kernel would publish instead of publishing it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.custom_bytes = 0
        self.custom_messages = 0
        self.state_updates = 0
        super().__init__(*args, **kwargs)

    def publish_msg(
        self, msg_type: str, data: Any = None, metadata: Any = None, buffers: Any = None, **keys: Any
    ) -> None:
        payload = data or {}
        if payload.get("method") == "custom":
            self.custom_messages += 1
            self.custom_bytes += len(json.dumps(payload))
        elif payload.get("method") == "update" and "transcript" in payload.get("state", {}):
            self.state_updates += 1


def measure(characters: int, seconds: float = _SECONDS) -> dict[str, float]:
    """Stream one reply of ``characters`` characters over ``seconds`` and count the channel's traffic."""
    text = (_WORDS * (characters // len(_WORDS) + 1))[:characters]
    chat = StreamChat(ScriptedModel([[Say(text, chunk=1, over=seconds)]]))
    channel = chat.comm
    assert isinstance(channel, _CountingComm)
    started = time.perf_counter()
    chat.send("go").result(timeout=seconds * 10)
    elapsed = time.perf_counter() - started
    chat.close()
    return {
        "characters": characters,
        "deltas": len(text.split(" ")),
        "bytes": channel.custom_bytes,
        "bytes_per_char": channel.custom_bytes / characters,
        "messages": channel.custom_messages,
        "messages_per_s": channel.custom_messages / elapsed,
        "transcript_commits": channel.state_updates,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=_SECONDS, help="how long each reply streams")
    seconds = parser.parse_args(argv).seconds
    comm.create_comm = lambda *args, **kwargs: _CountingComm(*args, **kwargs)
    columns = ("reply chars", 12), ("deltas", 8), ("bytes sent", 11), ("bytes/char", 11), ("messages", 9)
    header = " ".join(f"{name:>{width}}" for name, width in columns) + f" {'msg/s':>7} {'commits':>8}"
    print(header)
    print("-" * len(header))
    rows = [measure(size, seconds) for size in _SIZES]
    for row in rows:
        print(
            f"{row['characters']:>12,} {row['deltas']:>8,} {row['bytes']:>11,} {row['bytes_per_char']:>11.2f} "
            f"{row['messages']:>9} {row['messages_per_s']:>7.1f} {row['transcript_commits']:>8}"
        )
    growth = rows[-1]["bytes"] / rows[0]["bytes"]
    size_growth = rows[-1]["characters"] / rows[0]["characters"]
    print(
        f"\n{size_growth:.0f}x the text costs {growth:.2f}x the bytes (linear: ~{size_growth:.0f}x); "
        "IOPub drops messages past 1000/s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
