"""Benchmark: what a streamed reply costs on the kernel → browser channel. ``python -m bench.widget``.

A ``StreamChat`` plays a scripted reply of N characters (one word per delta, as a fast model streams it); the
widget's comm is replaced by one that counts every message it would publish, packed as the kernel packs it.
The first table shows, per reply size: bytes sent, bytes per character of text (flat = linear cost), messages
sent and messages per second (Jupyter drops IOPub messages past 1000/s), and the transcript commits (one per
turn, not per delta).

The second part holds a conversation of ``--turns`` turns (a reply, a tool call, its result, a short answer)
with a page attached (its store said ``attach``, as it does in JupyterLab) and compares what turn 1 and the
last turn cost: the same, when the finished turn is committed as a message instead of re-sending the whole
transcript (target: ratio ≤ 1.5). Without a page (headless execution) the transcript trait is still sent whole,
for nbclient to save it; that is shown for comparison.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import comm
from comm.base_comm import BaseComm
from jupyter_client.session import json_packer

from nbstream import Call, Say, ScriptedModel, StreamChat

__all__ = ["main", "measure"]

_SIZES = (4_000, 16_000, 64_000)
_SECONDS = 2.0
_TURNS = 50
TARGET_RATIO = 1.5
"""The last turn of a conversation may cost at most this many times the first turn's bytes."""
_WORDS = (
    "Streaming markdown arrives in small pieces, with `code`, **bold** words and a list:\n- one\n- two\n\n"
)


class _CountingComm(BaseComm):
    """Counts what the kernel would publish instead of publishing it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.custom_bytes = 0
        self.custom_messages = 0
        self.state_updates = 0
        self.total_bytes = 0
        super().__init__(*args, **kwargs)

    def publish_msg(
        self, msg_type: str, data: Any = None, metadata: Any = None, buffers: Any = None, **keys: Any
    ) -> None:
        payload = data or {}
        size = len(json_packer(payload))
        self.total_bytes += size
        if payload.get("method") == "custom":
            self.custom_messages += 1
            self.custom_bytes += size
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


def _attach_page(chat: StreamChat) -> None:
    """Deliver the ``attach`` a page's store sends once it listens, as the kernel would."""
    content = {"type": "attach"}
    data = {"method": "custom", "content": content}
    message = {"content": {"comm_id": chat.comm.comm_id, "data": data}, "buffers": []}
    chat.comm.handle_msg(message)


def measure_conversation(turns: int = _TURNS, *, page: bool = True) -> list[int]:
    """Bytes sent for each turn of one conversation of ``turns`` turns."""
    reply = (_WORDS * 20)[:2_000]
    script = [
        step
        for _ in range(turns)
        for step in ([Say(reply, chunk=3), Call("lookup", {"query": "streaming"})], [Say("Found it.")])
    ]
    chat = StreamChat(ScriptedModel(script))

    @chat.tool
    def lookup(query: str) -> str:
        """Look something up."""
        return f"3 results for {query}: " + "a result line. " * 20

    channel = chat.comm
    assert isinstance(channel, _CountingComm)
    if page:
        _attach_page(chat)
    costs = []
    for turn in range(turns):
        before = channel.total_bytes
        chat.send(f"question {turn + 1}").result(timeout=30)
        costs.append(channel.total_bytes - before)
    chat.close()
    return costs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=_SECONDS, help="how long each reply streams")
    parser.add_argument("--turns", type=int, default=_TURNS, help="turns of the conversation")
    arguments = parser.parse_args(argv)
    seconds, turns = arguments.seconds, arguments.turns
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

    print(f"\nA conversation of {turns} turns: bytes sent per turn")
    header = f"{'':<28} {'turn 1':>10} {f'turn {turns}':>10} {'ratio':>7} {'all turns':>11}"
    print(header)
    print("-" * len(header))
    ratio = 0.0
    for label, page in (("page attached (JupyterLab)", True), ("no page (headless, nbclient)", False)):
        costs = measure_conversation(turns, page=page)
        row_ratio = costs[-1] / costs[0]
        ratio = row_ratio if page else ratio
        print(f"{label:<28} {costs[0]:>10,} {costs[-1]:>10,} {row_ratio:>6.2f}x {sum(costs):>11,}")
    verdict = "pass" if ratio <= TARGET_RATIO else "FAIL"
    print(f"\nturn {turns} / turn 1 with a page: {ratio:.2f}x (target ≤ {TARGET_RATIO}): {verdict}")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
