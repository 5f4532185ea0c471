"""Helpers shared by the non-browser test modules: ``from helpers import ...`` (pytest puts tests/ on the path,
as tests/browser imports its jupyter_lab.py)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TypeVar

import nbformat

from nbstream import Event, Session, TextDelta
from nbstream._providers import WIRE_FORMATS, WireFormat

FIXTURES = Path(__file__).parent / "fixtures"
"""Recorded provider streams, named after their wire format: ``openai_chat_*.sse``, ``ollama_*.ndjson``..."""

Piece = TypeVar("Piece", bytes, str)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def wire_of(name: str) -> WireFormat:
    """The wire format a recorded stream's file name starts with: ``openai_chat_x.sse`` → ``openai-chat``."""
    for wire in WIRE_FORMATS:
        if name.startswith(wire.replace("-", "_") + "_"):
            return wire
    raise AssertionError(f"fixture {name} names no wire format")


def split(data: Piece, cuts: Iterable[int]) -> list[Piece]:
    """``data`` cut at the given positions (any order, repeats allowed: empty pieces happen too)."""
    bounds = sorted(cuts)
    return [data[start:end] for start, end in zip([0, *bounds], [*bounds, len(data)], strict=True)]


def texts(events: Sequence[object]) -> str:
    """The text the events streamed."""
    return "".join(event.text for event in events if isinstance(event, TextDelta))


async def events_of(session: Session, prompt: str = "go") -> list[Event]:
    """Every event of one turn."""
    return [event async for event in session.send(prompt)]


async def slow(seconds: float) -> str:
    """Sleep, then say how long.

    Args:
        seconds: how long to sleep
    """
    await asyncio.sleep(seconds)
    return f"slept {seconds}"


def run_headless(nb: nbformat.NotebookNode, tmp_path: Path, *, store_widget_state: bool, **env: str) -> Path:
    """Execute ``nb`` in a fresh kernel as ``jupyter nbconvert --execute`` does (this checkout importable, the
    variables ``env`` set), save it to ``tmp_path / "saved.ipynb"`` and return that path."""
    from nbclient import NotebookClient

    repo = str(Path(__file__).resolve().parents[1])
    path_entries = filter(None, [repo, os.environ.get("PYTHONPATH")])
    variables = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(path_entries),
        "IPYTHONDIR": str(tmp_path / "ipython"),
    }
    client = NotebookClient(
        nb,
        timeout=60,
        kernel_name="python3",
        store_widget_state=store_widget_state,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute(env={**variables, **env})
    path = tmp_path / "saved.ipynb"
    nbformat.write(nb, path)
    return path
