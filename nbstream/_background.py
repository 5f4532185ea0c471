"""An asyncio event loop running on its own daemon thread, and the one such loop all chats share.

The chat widget runs its session here rather than on the kernel's loop: a cell that blocks (``time.sleep``)
freezes the kernel's loop, and ipykernel 7 can stall background tasks of that loop once their cell ends, but
messages sent from another thread still go out through IOPub. Any thread may hand work to this loop.

``shared_loop()`` is the process-wide loop every ``StreamChat`` schedules its work on: started lazily on first
use, daemon, never stopped by a chat (re-running ``chat = StreamChat(...)`` ten times must not leave ten
threads and loops: ipywidgets keeps every widget alive until it is closed).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["SHARED_LOOP_NAME", "LoopThread", "shared_loop"]

log = logging.getLogger("nbstream")

T = TypeVar("T")

SHARED_LOOP_NAME = "nbstream"
"""The name of the shared loop's thread (what ``threading.enumerate()`` shows)."""


class LoopThread:
    """Owns one event loop and the daemon thread that runs it (daemon: it never holds up kernel shutdown)."""

    def __init__(self, name: str = "nbstream-loop") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._grace = 1.0  # per cleanup phase once the loop stops; stop() sets it from its timeout

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("the loop thread is not running; call start() first")
        return self._loop

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def in_thread(self) -> bool:
        """True when called from the loop's own thread (where blocking on the loop would deadlock)."""
        return self._thread is not None and threading.current_thread() is self._thread

    def start(self) -> None:
        """Start the thread and return once its loop runs. Idempotent."""
        if self.running:
            return
        started = threading.Event()
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(started.set)
            try:
                loop.run_forever()
            finally:
                _shut_down(loop, self._grace)

        self._loop = loop
        self._thread = threading.Thread(target=run, name=self._name, daemon=True)
        self._thread.start()
        started.wait()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the loop from any thread."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call_soon(self, fn: Callable[..., object], *args: object) -> None:
        """Run ``fn(*args)`` on the loop thread soon; safe to call from any thread, including the loop's."""
        self.loop.call_soon_threadsafe(fn, *args)

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel what is left on the loop, stop it and join the thread, all within ``timeout``. Idempotent.

        Pending tasks get a quarter of ``timeout`` to clean up, async generators another: a task that swallows
        its cancellation is left unfinished rather than keeping the thread (and its loop) alive.
        """
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        if thread.is_alive():
            self._grace = timeout / 4
            with contextlib.suppress(RuntimeError):  # the loop already closed
                loop.call_soon_threadsafe(loop.stop)
            if threading.current_thread() is not thread:
                thread.join(timeout)
        self._thread = None
        self._loop = None


def _shut_down(loop: asyncio.AbstractEventLoop, grace: float) -> None:
    """Cancel what is pending and close the loop, done or not: a task that swallows cancellation must not
    keep the thread alive. Tasks, then async generators, get ``grace`` seconds each to clean up.
    """
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.wait(pending, timeout=grace))
    loop.run_until_complete(asyncio.wait({loop.create_task(loop.shutdown_asyncgens())}, timeout=grace))
    stubborn = [task for task in pending if not task.done()]
    if stubborn:
        names = ", ".join(getattr(task.get_coro(), "__qualname__", task.get_name()) for task in stubborn)
        log.warning("closing the loop with tasks that ignored their cancellation: %s", names)
    loop.close()


_shared: LoopThread | None = None
_shared_lock = threading.Lock()


def shared_loop() -> LoopThread:
    """The process's one nbstream loop thread, started on first use (and again if it died: after a fork, the
    thread is gone though the object survives). Every chat runs its sessions and async tools on it."""
    global _shared
    with _shared_lock:
        if _shared is None or not _shared.running:
            _shared = LoopThread(name=SHARED_LOOP_NAME)
            _shared.start()
        return _shared
