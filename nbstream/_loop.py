"""Which event loop ``async def`` tools run on, and what to say when a tool awaits an object of another loop.

A chat runs its sessions, and so its ``async def`` tools, on nbstream's own loop thread (``_background.
shared_loop``), not on the kernel's loop: a blocking cell must not stop the stream, and ipykernel 7 stalls
background tasks of its loop (ipykernel #1510). An asyncio object made in a cell (``asyncio.Event()`` awaited
there, an ``aiohttp.ClientSession``, a used ``httpx.AsyncClient``) belongs to the kernel's loop: awaiting it
from a tool raises "... is bound to a different event loop" / "attached to a different loop". Running the tool
on the kernel's loop instead would bring back both problems, and a loop-bound object cannot be moved, so the
call fails with an error that says what happened and what to do (``explain_foreign_loop``).
"""

from __future__ import annotations

__all__ = ["FOREIGN_LOOP_HINT", "explain_foreign_loop"]

FOREIGN_LOOP_HINT = (
    "nbstream runs async tools on its own event loop (thread 'nbstream'), not on the notebook's, so an asyncio "
    "object created in a cell (an asyncio.Event, Lock, Queue or Future, an aiohttp or httpx client session) "
    "cannot be awaited from a tool. Create it inside the tool, or lazily on first use inside a tool (e.g. a "
    "global set to None in the cell and made by the tool when it is still None), and use it only from tools."
)
"""What the user and the model are told after the error itself."""

_SIGNS = (
    "is bound to a different event loop",  # asyncio.Lock/Event/Queue/Semaphore (_LoopBoundMixin)
    "attached to a different loop",  # awaiting a Future or Task of another loop
    "different event loop",  # anyio, aiohttp ("... in a different event loop")
    "timeout context manager should be used inside a task",  # aiohttp's timeout on a foreign loop
    "non-thread-safe operation invoked on an event loop other than the current one",  # asyncio debug mode
)


def explain_foreign_loop(exc: BaseException) -> str | None:
    """The error text to show for a tool failure caused by an asyncio object of another event loop, or
    ``None`` when ``exc`` (and its causes) is something else. The text keeps the original error first."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, RuntimeError) and any(sign in str(current).lower() for sign in _SIGNS):
            return f"{type(exc).__name__}: {exc}. {FOREIGN_LOOP_HINT}"
        current = current.__cause__ or current.__context__
    return None
