"""LoopThread: an event loop on its own thread, which stop() ends within its timeout whatever runs on it; the one
loop thread all chats share; the error a tool gets for awaiting an object of the notebook's loop."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
from collections.abc import AsyncIterator

import pytest

from nbstream import _background
from nbstream._background import SHARED_LOOP_NAME, LoopThread, shared_loop
from nbstream._loop import explain_foreign_loop


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
    caplog.clear()
    del (
        runner
    )  # the abandoned task dies pending: collect it now, or asyncio's complaint lands in a later test
    gc.collect()
    assert "Task was destroyed but it is pending" in caplog.text


def test_the_shared_loop_is_one_daemon_thread_started_on_first_use_and_again_if_it_died(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_background, "_shared", None)  # this process's real one is left alone
    first = shared_loop()
    assert shared_loop() is first and first.running
    thread = first._thread
    assert thread is not None and thread.daemon and thread.name == SHARED_LOOP_NAME
    assert first.submit(asyncio.sleep(0, result=1)).result(timeout=2) == 1
    first.stop()  # as after a fork: the object outlives its thread
    again = shared_loop()
    assert again is not first and again.running and not thread.is_alive()
    assert again.submit(asyncio.sleep(0, result=2)).result(timeout=2) == 2
    again.stop()


def _foreign_loop_errors() -> list[BaseException]:
    """What awaiting objects of the caller's loop from another loop really raises (asyncio objects)."""
    errors: list[BaseException] = []
    tools_loop = LoopThread(name="nbstream-test-foreign")
    tools_loop.start()

    async def notebook() -> None:
        event, queue = asyncio.Event(), asyncio.Queue[int]()
        waiting = [asyncio.ensure_future(event.wait()), asyncio.ensure_future(queue.get())]
        await asyncio.sleep(0)  # both are now bound to this loop, as if awaited in a cell
        future = asyncio.get_running_loop().create_future()

        async def wait_event() -> None:
            await event.wait()

        async def get_item() -> None:
            await queue.get()

        async def await_future() -> None:
            await future

        for tool in (wait_event, get_item, await_future):
            try:
                tools_loop.submit(tool()).result(timeout=2)
            except RuntimeError as error:
                errors.append(error)
        for task in waiting:
            task.cancel()

    try:
        asyncio.run(notebook())
    finally:
        tools_loop.stop()
    return errors


def test_explain_foreign_loop_names_the_cause_and_the_fix_for_real_asyncio_errors() -> None:
    errors = _foreign_loop_errors()
    assert len(errors) == 3
    for error in errors:
        text = explain_foreign_loop(error)
        assert text is not None, error
        assert text.startswith(f"RuntimeError: {error}")
        assert "own event loop" in text and "inside the tool" in text and "lazily on first use" in text
    wrapped = ValueError("the tool failed")
    wrapped.__cause__ = errors[0]
    assert explain_foreign_loop(wrapped) is not None  # a library that wraps the error
    for other in (RuntimeError("something else"), ValueError("bound"), KeyError("loop")):
        assert explain_foreign_loop(other) is None
