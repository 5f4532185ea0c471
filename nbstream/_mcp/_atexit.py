"""Servers still running when the interpreter exits (a kernel shut down) are stopped, each on its own loop.

A chat's loop thread is a daemon and still runs while ``atexit`` hooks do, so each open connection is closed
there as ``aclose`` would: the SDK closes the server's stdin, then terminates its process group. A connection
whose loop has ended needs nothing: asyncio cancelled its owner task, which stopped the server on the way out.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import threading
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._connection import Connection

__all__ = ["EXIT_WAIT", "close_all_at_exit", "track"]

EXIT_WAIT = 7.0
"""Seconds the exit waits for the servers to stop: a stdio server gets 2 s after its stdin closes, then it is
terminated, then killed."""

_live: weakref.WeakSet[Connection] = weakref.WeakSet()
_live_lock = threading.Lock()
_hooked = False


def track(connection: Connection) -> None:
    global _hooked
    with _live_lock:
        _live.add(connection)
        if not _hooked:
            atexit.register(close_all_at_exit)
            _hooked = True


def close_all_at_exit(timeout: float = EXIT_WAIT) -> None:
    """Close every connection still open, each on its own loop (which must still run: a chat's shared loop
    thread does until the interpreter ends), waiting ``timeout`` seconds at most for all of them."""
    with _live_lock:
        connections = list(_live)
    waiting: list[concurrent.futures.Future[None]] = []
    for connection in connections:
        loop = connection.loop
        if loop is None or loop.is_closed() or not loop.is_running():
            continue  # its loop ended: asyncio cancelled the owner, which stopped the server on the way out
        with contextlib.suppress(RuntimeError):
            waiting.append(asyncio.run_coroutine_threadsafe(connection.aclose(), loop))
    if waiting:
        concurrent.futures.wait(waiting, timeout=timeout)
