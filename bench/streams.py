"""Synthetic provider streams for benchmarks and scaling tests: one big tool call in tiny fragments."""

from __future__ import annotations

import json
import random
from typing import Any

__all__ = ["anthropic_tool_stream", "chunked", "tool_arguments"]

_WORDS = (
    *("revenue", "forecast", "quarter", "margin", "growth", "churn", "cohort", "latency", "throughput"),
    *("région", "café", "naïve", "über", "straße", "東京", "données", "emoji 🚀", "path/to/file"),
    *('"quoted"', "back\\slash", "tab\tend", "line\nbreak"),
)


def tool_arguments(size: int, *, seed: int = 7) -> dict[str, Any]:
    """A realistic arguments object of about ``size`` characters of JSON: a long document and nested data.

    About half the text is one long string (markdown with escapes and non-ASCII), half is a list of records
    with numbers, booleans, nulls and nested arrays, as a "write a report" tool would receive.
    """
    rng = random.Random(seed)
    lines: list[str] = []
    length = 0
    while length < size // 2:
        line = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 14)))
        if rng.random() < 0.1:
            line = "## " + line.title()
        lines.append(line)
        length += len(line) + 2
    sections: list[dict[str, Any]] = []
    while length < size:
        section = {
            "title": " ".join(rng.choice(_WORDS) for _ in range(4)),
            "line_count": rng.randint(1, 5000),
            "ratio": round(rng.uniform(-1, 1), 6),
            "exponent": rng.uniform(1, 9) * 10 ** rng.randint(-30, 30),
            "published": rng.random() < 0.5,
            "reviewer": None if rng.random() < 0.3 else rng.choice(_WORDS),
            "tags": [rng.choice(_WORDS) for _ in range(rng.randint(0, 4))],
            "matrix": [[rng.randint(-99, 99) for _ in range(3)] for _ in range(2)],
        }
        sections.append(section)
        length += len(json.dumps(section))
    return {
        "path": "reports/2024/q3-summary.md",
        "overwrite": True,
        "content": "\n".join(lines),
        "metadata": {"author": "analyst", "version": 3, "sections": sections},
    }


def _event(name: str, payload: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(payload, ensure_ascii=False, separators=(',', ':'))}\n\n"


def anthropic_tool_stream(arguments_text: str, *, fragment_chars: int = 4) -> bytes:
    """An Anthropic Messages SSE stream carrying one tool call whose input arrives in tiny fragments."""
    head = [
        _event(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_bench",
                    "type": "message",
                    "role": "assistant",
                    "model": "claude-bench",
                    "content": [],
                    "stop_reason": None,
                    "usage": {"input_tokens": 1200, "output_tokens": 1},
                },
            },
        ),
        _event(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {
                    "type": "tool_use",
                    "id": "toolu_bench",
                    "name": "write_report",
                    "input": {},
                },
            },
        ),
    ]
    prefix = (
        "event: content_block_delta\n"
        'data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":'
    )
    body = [
        f"{prefix}{json.dumps(arguments_text[start : start + fragment_chars], ensure_ascii=False)}}}}}\n\n"
        for start in range(0, len(arguments_text), fragment_chars)
    ]
    tail = [
        _event("content_block_stop", {"type": "content_block_stop", "index": 0}),
        _event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                "usage": {"output_tokens": len(body)},
            },
        ),
        _event("message_stop", {"type": "message_stop"}),
    ]
    return "".join(head + body + tail).encode()


def chunked(data: bytes, size: int = 64 * 1024) -> list[bytes]:
    """The stream as a network would hand it over: fixed-size byte chunks, cut anywhere."""
    return [data[start : start + size] for start in range(0, len(data), size)]
