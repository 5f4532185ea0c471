"""Smoke test of ``python -m bench.render``: it runs in Chromium and prints its table. Nothing is timed here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.render import generate_reply, record_turn, schedule

REPO = Path(__file__).resolve().parents[1]


def test_the_reply_is_deterministic_and_a_steady_schedule_replays_all_of_it() -> None:
    reply = generate_reply(4096)
    assert reply == generate_reply(4096)
    assert generate_reply(1024) == reply[: len(generate_reply(1024))]
    for marker in ("## ", "- ", "```python", "| size |", "1. "):
        assert marker in reply
    timed = schedule(record_turn(reply), "steady")
    import json

    text = "".join(
        event["text"]
        for message in timed
        if "custom" in message and json.loads(message["custom"])["type"] == "events"
        for event in json.loads(message["custom"])["events"]
        if event["type"] == "text_delta"
    )
    assert text == reply
    assert json.loads(timed[-1]["custom"])["type"] == "commit"


@pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"), reason="needs /usr/bin/chromium")
def test_a_tiny_run_prints_a_table_row() -> None:
    pytest.importorskip("playwright")
    done = subprocess.run(
        [sys.executable, "-m", "bench.render", "--sizes", "1", "--modes", "once", "--repeats", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert any(line.startswith("at once") and "1KB" in line for line in done.stdout.splitlines()), done.stdout
