"""The notebook's interrupt button (■) stops the chats' running turns.

How a kernel delivers ■ (measured on ipykernel 7.4 and 6.31, both alike): the server sends SIGINT to the kernel
process and Python runs the main thread's SIGINT handler at once. Which handler that is depends on the kernel:

- a cell blocked in ``handle.result()``: ``default_int_handler``, so ``KeyboardInterrupt`` ends the cell, but the
  turn runs on nbstream's loop thread and goes on;
- a cell awaiting (``await chat.send(...)``): ipykernel's ``_cancel_on_sigint`` handler, which only schedules the
  cancellation of the cell's task on the kernel's loop, and that loop does not wake up for it: the cell ended
  (with ``CancelledError``) when the turn did, 19 s later in a test, and so does a plain ``asyncio.sleep``;
- no cell running (a turn started from the widget's prompt, or by ``chat.send`` without ``await``): ipykernel
  ignores SIGINT between messages (``SIG_IGN``).

What nbstream does, so that ■ means "stop what runs in this kernel", chat turns included:

- ``handle.result()`` interrupted: every chat's running turn is stopped (``chat.stop()``: partial text kept,
  queued prompts dropped) and the ``KeyboardInterrupt`` goes on ending the cell;
- ``await handle`` in the main thread: while it waits, a SIGINT handler chained in front of the current one stops
  the turns and cancels the wait itself, so the cell ends at once with ``CancelledError`` (what an interrupted
  async cell shows); the previous handler still runs after it;
- kernel idle: a handler chained in front of ipykernel's between-messages one (``SIG_IGN``) stops the turns and
  otherwise keeps its behaviour. ipykernel swaps handlers around every message it handles and restores the one
  it saved in ``Kernel.saved_sigint_handler``; a chat made in a cell replaces that saved value, so the chained
  handler is what the kernel restores once the cell ends. Kernels without that attribute get no idle handler.
- a cell running other code (``time.sleep(60)``): ■ interrupts that cell only, as it always did; the chat goes
  on (press its Stop button, or call ``chat.stop()``). The kernel installs its own handler for the cell, and
  replacing it would take patching ipykernel.

■ stops *every* chat's running turn, not just the awaited one: it interrupts the kernel, and a turn cannot be
matched to a handle from here without reaching into the chat's loop-thread state. Handlers are only chained
in the main thread (Python's rule) and never in front of ``SIG_DFL`` (the process would die after our part ran
anyway), and a handler that is no longer the installed one is left in place, disarmed, rather than restored
over a handler installed after it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import signal
import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, Protocol, TypeVar

__all__ = ["forget", "interrupted", "register", "wait"]

log = logging.getLogger("nbstream")

T = TypeVar("T")

_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


class _Stoppable(Protocol):
    def stop(self) -> None: ...


_chats: weakref.WeakSet[_Stoppable] = weakref.WeakSet()
"""Open chats of this process. Weak: a chat that is gone needs no stopping."""


def register(chat: _Stoppable) -> None:
    """A new chat: ■ will stop its turns. Called from ``StreamChat.__init__``."""
    _chats.add(chat)
    _install_idle_handler()


def forget(chat: _Stoppable) -> None:
    """A closed chat. Called from ``StreamChat.close``."""
    _chats.discard(chat)


def interrupted() -> None:
    """The kernel was interrupted: stop every chat's running turn (thread-safe, returns at once).

    Runs inside signal handlers, in whatever code the main thread was running: it must never raise.
    """
    for chat in list(_chats):
        try:
            chat.stop()
        except Exception:  # e.g. the loop thread is gone at interpreter exit
            log.debug("nbstream: stopping a chat on SIGINT failed", exc_info=True)


async def wait(future: concurrent.futures.Future[T]) -> T:
    """Await a turn's future; in the main thread, ■ stops the turns and ends this wait at once."""
    waiter = asyncio.wrap_future(future)
    loop = asyncio.get_running_loop()

    def on_sigint() -> None:
        interrupted()
        # Inside a signal handler, possibly in the middle of the loop's own code: the thread-safe call only
        # queues the callback and wakes the selector, as asyncio's own signal handling does.
        loop.call_soon_threadsafe(waiter.cancel)

    with _chained_sigint(on_sigint):
        return await waiter


@contextlib.contextmanager
def _chained_sigint(action: Callable[[], None]) -> Iterator[None]:
    """Run ``action`` on SIGINT before the handler installed now, while the block runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handler = _ChainedHandler(action, signal.getsignal(signal.SIGINT))
    if not handler.safe:
        yield
        return
    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        handler.armed = False
        if signal.getsignal(signal.SIGINT) is handler:
            signal.signal(signal.SIGINT, handler.previous)


class _ChainedHandler:
    """A SIGINT handler that runs ``action`` (while armed) and then does what ``previous`` did."""

    def __init__(self, action: Callable[[], None], previous: _Handler) -> None:
        self.action = action
        self.previous = previous
        self.armed = True

    @property
    def safe(self) -> bool:
        """Whether ``previous`` can be kept: a Python handler, or "ignore". ``SIG_DFL`` would kill the process
        and ``None`` (set outside Python) cannot be called or restored."""
        return callable(self.previous) or self.previous == signal.SIG_IGN

    def __call__(self, signum: int, frame: FrameType | None) -> Any:
        if self.armed:
            self.action()
        if callable(self.previous):
            return self.previous(signum, frame)
        return None


def _install_idle_handler() -> None:
    """Chain a handler in front of the one ipykernel restores between messages (see the module docstring)."""
    if threading.current_thread() is not threading.main_thread():
        return
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    kernel: Any = getattr(shell, "kernel", None)
    if not hasattr(kernel, "saved_sigint_handler") or isinstance(
        kernel.saved_sigint_handler, _ChainedHandler
    ):
        return
    handler = _ChainedHandler(interrupted, kernel.saved_sigint_handler)
    if handler.safe:
        kernel.saved_sigint_handler = handler
