"""StreamChat: the notebook widget that shows a session's turns live and lets the user steer them.

Threading model
---------------
The session runs on the widget's own thread and event loop (``LoopThread``), not on the kernel's loop:

- a cell that blocks (``time.sleep``) freezes the kernel's loop, yet messages sent from another thread still
  go out through IOPub, so text keeps streaming into the page;
- ipykernel 7 can stall background tasks of the kernel's loop once their cell ends (ipykernel #1510).

Everything that touches the session or the outgoing stream (events, flushes, trait commits) runs on that loop
thread; public methods and browser messages (which may arrive on a kernel subshell thread) only hand work to
it. Async tools therefore run on the widget's loop; plain ``def`` tools run in their own threads.

Kernel → browser: display events are buffered and flushed as one ``{"type": "events"}`` message every
``FLUSH_INTERVAL`` seconds while something is pending, with text runs merged, so bytes grow linearly with the
response and the message rate stays near 25/s. A finished turn is committed, compacted, to the ``transcript``
trait once. Turns sent while one runs are queued and run in order; ``stop()`` ends the running turn and drops
the queued ones.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import pathlib
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable
from typing import Any

import anywidget
import ipywidgets  # type: ignore[import-untyped]
import traitlets

from ._background import LoopThread
from ._display import DisplayEvent, StatusTracker, compact, merge_batch, to_display, user_prompt
from ._errors import NbstreamError
from ._events import Event, TurnFinished, TurnReason
from ._messages import AssistantMessage, Message
from ._model import Model
from ._session import Session
from ._timeline import EventLog, Timeline
from ._tools import Tool

__all__ = ["StreamChat", "TurnHandle"]

FLUSH_INTERVAL = 0.04
"""Seconds between two ``events`` messages: ~25 messages/s, far below the server's IOPub limit (1000/s)."""

_STATIC = pathlib.Path(__file__).parent / "static"
_ESM_PATH = _STATIC / "widget.js"
_CSS_PATH = _STATIC / "widget.css"


class FrontendMissingError(NbstreamError, RuntimeError):
    """The JavaScript bundle was not built (a source checkout without ``npm run build``)."""

    def __init__(self) -> None:
        super().__init__(
            f"nbstream's frontend bundle is missing ({_ESM_PATH}). Build it with "
            "`cd js && npm install && npm run build` in the nbstream repository, or install a built wheel."
        )


class TurnHandle:
    """One prompt sent to a chat. ``await handle`` (e.g. in a cell) waits for the turn to finish; ``done()``,
    ``events`` and ``reason`` can be read at any time from any thread."""

    def __init__(self, prompt: str) -> None:
        self.prompt = prompt
        self._log = EventLog()
        self.reason: TurnReason | None = None
        self._future: concurrent.futures.Future[AssistantMessage | None] = concurrent.futures.Future()
        # Running from the start: a waiter that is cancelled (an interrupted cell) cannot cancel the turn.
        self._future.set_running_or_notify_cancel()
        self._loop_thread: LoopThread | None = None

    def done(self) -> bool:
        return self._future.done()

    @property
    def events(self) -> list[Event]:
        """The turn's events so far, as a new list. A call's argument fragments are one ``ToolArgumentsDelta``
        without preview, so a turn keeps O(text deltas + calls) events however long the arguments."""
        return [event for _, event in self._log.records()]

    @property
    def arrivals(self) -> list[float]:
        """``time.perf_counter()`` when each of ``events`` arrived (a call's arguments: their first fragment)."""
        return [at for at, _ in self._log.records()]

    def timeline(self) -> Timeline:
        """When each event of this turn arrived: text ticks and tool bars (display it, or read its numbers)."""
        return Timeline(self._log.records())

    def _record(self, event: Event) -> None:
        self._log.add(time.perf_counter(), event)

    def result(self, timeout: float | None = None) -> AssistantMessage | None:
        """The turn's last assistant message (``None`` if it produced none); blocks until the turn ends.

        Blocking a cell is fine: the turn runs on the chat's own thread and keeps streaming to the page.
        """
        if not self.done() and self._loop_thread is not None and self._loop_thread.in_thread():
            raise RuntimeError("result() would deadlock on the chat's own loop; use `await handle` there")
        return self._future.result(timeout)

    def __await__(self) -> Generator[Any, None, AssistantMessage | None]:
        return asyncio.wrap_future(self._future).__await__()

    def _finish(self, reason: TurnReason, message: AssistantMessage | None) -> None:
        self.reason = reason
        self._future.set_result(message)

    def _fail(self, error: BaseException) -> None:
        self.reason = "error"
        self._future.set_exception(error)

    def __repr__(self) -> str:
        prompt = self.prompt if len(self.prompt) <= 40 else self.prompt[:39] + "…"
        state = f"finished: {self.reason}" if self.done() else "running"
        return f"<TurnHandle {prompt!r} {state}>"


class _ClearJob:
    """A queued ``clear()``: it runs after the turns before it have ended."""


class StreamChat(anywidget.AnyWidget):
    """A live view of a tool-using model: ``chat = StreamChat(); chat``, then ``await chat.send("hi")``."""

    if _ESM_PATH.is_file() and _CSS_PATH.is_file():  # else __init__ says how to build the bundle
        _esm = _ESM_PATH
        _css = _CSS_PATH

    transcript = traitlets.List(traitlets.Dict()).tag(sync=True)
    status = traitlets.Unicode("idle").tag(sync=True)
    status_message = traitlets.Unicode("").tag(sync=True)
    model_label = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self,
        model: str | Model = "demo",
        *,
        tools: Iterable[Tool | Callable[..., Any]] = (),
        system: str | None = None,
        **session_options: Any,
    ) -> None:
        if not hasattr(type(self), "_esm"):
            raise FrontendMissingError()
        # The page never shows ``ToolArgumentsDelta.partial`` (``to_display`` drops it) and a turn keeps none:
        # a preview per fragment would cost parsing and memory for nothing, unless asked for.
        session_options.setdefault("previews", False)
        runner = LoopThread(name="nbstream-chat")
        runner.start()

        async def make_session() -> Session:  # built on its loop, whatever it binds to binds there
            return Session(model, tools=tools, system=system, **session_options)

        try:
            session = runner.submit(make_session()).result()
        except BaseException:
            runner.stop()
            raise
        self._runner = runner
        self._session = session
        self._closed = False
        # Loop-thread state: touched only by methods that run on the runner's loop.
        self._jobs: deque[TurnHandle | _ClearJob] = deque()
        self._worker: asyncio.Task[None] | None = None
        self._active: TurnHandle | None = None
        self._stop_requested = False  # for the active turn
        self._cancel_sent = False
        self._turn_events: list[DisplayEvent] = []
        self._last_handle: TurnHandle | None = None
        self._pending: list[DisplayEvent] = []
        self._flush_timer: asyncio.TimerHandle | None = None
        self._tracker = StatusTracker()
        super().__init__(model_label=session.model_label)
        self.on_msg(self._on_browser_message)

    # -- public API (any thread) -------------------------------------------------------------------------

    def send(self, prompt: str) -> TurnHandle:  # type: ignore[override]
        """Start a turn (queued behind a running one) and return at once."""
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a str, not {type(prompt).__name__}")
        self._check_open()
        handle = TurnHandle(prompt)
        handle._loop_thread = self._runner
        self._last_handle = handle
        self._runner.call_soon(self._enqueue, handle)
        return handle

    def tool(self, fn: Callable[..., Any] | None = None, /, **options: Any) -> Any:
        """Register a tool (decorator, with or without options); re-running a cell replaces it by name."""
        return self._session.tool(fn, **options)

    def timeline(self) -> Timeline:
        """The timeline of the latest turn sent (see ``TurnHandle.timeline``)."""
        if self._last_handle is None:
            raise RuntimeError("no turn yet: send a prompt first")
        return self._last_handle.timeline()

    @property
    def messages(self) -> list[Message]:
        """A copy of the conversation so far."""
        return list(self._session.messages)

    @property
    def session(self) -> Session:
        return self._session

    def stop(self) -> None:
        """Cancel the running turn and drop the queued ones."""
        if not self._closed:
            self._runner.call_soon(self._stop_on_loop)

    def clear(self) -> None:
        """Stop, then forget the history and empty the transcript."""
        self._check_open()
        self._runner.call_soon(self._stop_on_loop)
        self._runner.call_soon(self._enqueue, _ClearJob())

    def approve(self, call_id: str) -> None:
        """Let a ``confirm=True`` call run (an unknown id is reported in ``status_message``)."""
        self._check_open()
        self._runner.call_soon(self._guarded, self._session.approve, call_id)

    def deny(self, call_id: str) -> None:
        """Refuse a ``confirm=True`` call: the model is told the user denied it."""
        self._check_open()
        self._runner.call_soon(self._guarded, self._session.deny, call_id)

    def close(self) -> None:
        """Stop the turn, close the session and its thread, and remove the widget from the page."""
        if getattr(self, "_closed", True):
            super().close()
            return
        self._closed = True
        runner = self._runner
        if runner.running and not runner.in_thread():
            runner.call_soon(self._stop_on_loop)
            with contextlib.suppress(Exception):
                runner.submit(self._session.aclose()).result(timeout=5)
        runner.stop()
        super().close()

    def __repr__(self) -> str:
        turns = sum(1 for event in self.transcript if event.get("type") == "user_prompt")
        return f"StreamChat(model={self.model_label!r}, status={self.status!r}, turns={turns})"

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this chat is closed")

    # -- browser messages (any thread: hand over to the loop) --------------------------------------------

    def _on_browser_message(self, _widget: object, content: Any, _buffers: object) -> None:
        if self._closed or not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "ready":
            self._runner.call_soon(self._answer_ready)
        elif kind == "send" and isinstance(content.get("prompt"), str) and content["prompt"].strip():
            self.send(content["prompt"])
        elif kind == "stop":
            self.stop()
        elif kind in ("approve", "deny") and isinstance(content.get("id"), str):
            (self.approve if kind == "approve" else self.deny)(content["id"])

    # -- loop thread ---------------------------------------------------------------------------------------

    def _guarded(self, action: Callable[..., object], *args: object) -> None:
        """Run a browser-triggered action; a failure becomes the status message, never a dead handler."""
        try:
            action(*args)
        except Exception as error:
            self.status_message = f"{type(error).__name__}: {error}"

    def _enqueue(self, job: TurnHandle | _ClearJob) -> None:
        self._jobs.append(job)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._work())

    async def _work(self) -> None:
        while self._jobs:
            job = self._jobs.popleft()
            if isinstance(job, _ClearJob):
                self._clear_now()
            else:
                await self._run_turn(job)

    def _stop_on_loop(self) -> None:
        kept: deque[TurnHandle | _ClearJob] = deque()
        for job in self._jobs:
            if isinstance(job, TurnHandle):
                job._finish("cancelled", None)
            else:
                kept.append(job)
        self._jobs = kept
        if self._active is not None:
            self._stop_requested = True
            self._cancel_active()

    def _cancel_active(self) -> None:
        """Cancel the session's turn once it exists, and only once: a second cancel would interrupt the
        session's own cleanup. A stop that came before the turn started is applied at its first event."""
        if self._stop_requested and not self._cancel_sent and self._session.busy:
            self._cancel_sent = True
            self._session.cancel()

    async def _run_turn(self, handle: TurnHandle) -> None:
        self._active = handle
        self._stop_requested = self._cancel_sent = False
        first_new_message = len(self._session.messages)
        self._tracker.start_turn()
        self._emit(user_prompt(handle.prompt))
        reason: TurnReason = "error"
        try:
            async for event in self._session.send(handle.prompt):
                handle._record(event)
                self._emit(to_display(event))
                if isinstance(event, TurnFinished):
                    reason = event.reason
                else:
                    self._cancel_active()
        except asyncio.CancelledError:  # the loop is shutting down (close)
            handle._finish("cancelled", None)
            raise
        except Exception as error:  # a bug or bad setup surfaced mid-turn: show it, keep the kernel alive
            failure = TurnFinished(reason="error", steps=0, message=f"{type(error).__name__}: {error}")
            handle._record(failure)
            self._emit(to_display(failure))
            self._end_turn()
            handle._fail(error)
            return
        finally:
            self._active = None
        self._end_turn()
        new_messages = self._session.messages[first_new_message:]
        last = next((m for m in reversed(new_messages) if isinstance(m, AssistantMessage)), None)
        handle._finish(reason, last)

    def _emit(self, event: DisplayEvent) -> None:
        self._turn_events.append(event)
        self._pending.append(event)
        if event["type"] != "user_prompt":
            self._tracker.update(event)
        if self._flush_timer is None:
            self._flush_timer = asyncio.get_running_loop().call_later(FLUSH_INTERVAL, self._flush)

    def _flush(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        if self._pending:
            batch, self._pending = merge_batch(self._pending), []
            self._send_custom({"type": "events", "events": batch})
        self._sync_status()

    def _end_turn(self) -> None:
        """Send what is pending, then commit the turn to the transcript in one assignment."""
        self._flush()
        self.transcript = [*self.transcript, *compact(self._turn_events)]
        self._turn_events = []

    def _sync_status(self) -> None:
        with self.hold_sync():
            if self.status != self._tracker.status:
                self.status = self._tracker.status
            if self.status_message != self._tracker.message:
                self.status_message = self._tracker.message

    def _answer_ready(self) -> None:
        """A view replayed the transcript; send it the turn in progress. Pending events go out first, so every
        later ``events`` message follows what ``live`` contains."""
        self._flush()
        self._send_custom(
            {
                "type": "live",
                "transcript_length": len(self.transcript),
                "events": compact(self._turn_events),
            }
        )

    def _clear_now(self) -> None:
        self._session.clear()
        self._turn_events = []
        self._tracker.reset()
        self.transcript = []
        self._send_custom({"type": "cleared"})
        self._sync_status()

    def _send_custom(self, content: dict[str, Any]) -> None:
        ipywidgets.Widget.send(self, content)
