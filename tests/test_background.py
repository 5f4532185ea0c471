"""LoopThread: an event loop on its own thread, which stop() ends within its timeout whatever runs on it."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator

import pytest

from nbstream._background import LoopThread


def thread_named(name: str) -> threading.Thread:
    (found,) = [thread for thread in threading.enumerate() if thread.name == name]
    return found


def test_runs_work_from_any_thread_and_stops_idempotently() -> None:
    runner = LoopThread(name="nbstream-test-basic")
    runner.start()
    runner.start()  # already running: nothing happens
    thread = thread_named("nbstream-test-basic")
    assert runner.running and not runner.in_thread()
    assert runner.submit(asyncio.sleep(0, result="done")).result(timeout=2) == "done"
    called = threading.Event()
    runner.call_soon(called.set)
    assert called.wait(2)
    runner.stop()
    runner.stop()
    assert not thread.is_alive() and not runner.running
    with pytest.raises(RuntimeError, match="call start"):
        runner.loop  # noqa: B018 - the property raises


def test_stop_lets_pending_tasks_and_async_generators_clean_up() -> None:
    cleaned: list[str] = []
    started: list[AsyncIterator[int]] = []
    entered = threading.Event()

    async def numbers() -> AsyncIterator[int]:
        try:
            while True:
                yield 1
        finally:
            await asyncio.sleep(0.01)
            cleaned.append("generator")

    async def waiting() -> None:
        started.append(numbers())
        await anext(started[0])  # held here and left suspended: only the loop's shutdown closes it
        entered.set()
        try:
            await asyncio.sleep(30)
        finally:
            await asyncio.sleep(0.01)  # a cleanup that itself awaits
            cleaned.append("task")

    runner = LoopThread(name="nbstream-test-cleanup")
    runner.start()
    runner.submit(waiting())
    assert entered.wait(2)
    runner.stop()
    assert sorted(cleaned) == ["generator", "task"]


def test_stop_ends_the_thread_when_a_task_swallows_its_cancellation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    swallowed = 0
    entered = threading.Event()

    async def stubborn() -> None:
        nonlocal swallowed
        entered.set()
        while True:
            try:
                await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                swallowed += 1

    runner = LoopThread(name="nbstream-test-stubborn")
    runner.start()
    thread = thread_named("nbstream-test-stubborn")
    runner.submit(stubborn())
    assert entered.wait(2)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="nbstream"):
        runner.stop(timeout=2.0)
    assert time.monotonic() - started < 2.0
    assert not thread.is_alive() and not runner.running
    assert swallowed >= 1  # it was cancelled, and ignored it
    assert "closing the loop with tasks that ignored their cancellation" in caplog.text
    assert "stubborn" in caplog.text
