"""StreamChat: the notebook widget that shows a session's turns live and lets the user steer them.

Threading model
---------------
Every chat runs on nbstream's one shared loop thread (``_background.shared_loop()``, thread ``nbstream``), not
on the kernel's loop:

- a cell that blocks (``time.sleep``) freezes the kernel's loop, yet messages sent from another thread still
  go out through IOPub, so text keeps streaming into the page;
- ipykernel 7 can stall background tasks of the kernel's loop once their cell ends (ipykernel #1510).

One loop for all chats, started lazily, daemon, never stopped by a chat: ipywidgets keeps a widget alive until
``close()``, so re-running ``chat = StreamChat(...)`` keeps the old chat too; with a thread and a loop per
chat, ten re-runs left ten threads and loops. A chat owns only its session (with the model's HTTP client),
which ``close()`` closes. Nothing a chat does blocks the loop (blocking tools run in their own threads), so
chats sharing it do not slow each other down.

Everything that touches a chat's session or outgoing stream (events, flushes, commits) runs on that loop
thread; public methods and browser messages (which may arrive on a kernel subshell thread) only hand work to
it. ``async def`` tools therefore run on the shared nbstream loop, never on the notebook's; plain ``def`` tools
run in their own threads. An asyncio object made in a cell (an ``asyncio.Event`` awaited there, an aiohttp or
httpx client session) belongs to the notebook's loop and cannot be awaited from a tool: the call fails with an
error saying to create it inside the tool, or lazily on first use (``_loop.explain_foreign_loop``).

Kernel → browser
----------------
The chat's ``PageLink`` (``_page_link.py``) buffers display events, flushes them to the page, commits each
finished turn and answers the page's ``ready``/``attach``/``sync``; the chat calls it on the loop thread.

After the commit (and after a clear) the outputs showing the chat get a fresh static copy of the conversation
for readers without widgets, also while a page shows the widget (``_static_html.py``).

Turns sent while one runs are queued and run in order; ``stop()`` ends the running turn and drops the queued
ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pathlib
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, Literal

import anywidget
import traitlets

from . import _interrupt
from ._background import LoopThread, shared_loop
from ._display import DisplayEvent, to_display, turn_footer, user_prompt
from ._errors import ConfigurationError, NbstreamError
from ._events import Event, TurnFinished, TurnReason
from ._export import Conversation
from ._export_html import static_html
from ._images import images_from
from ._mcp import MCPServer
from ._messages import AssistantMessage, Message
from ._metrics import ChatMetrics
from ._model import Model, ReasoningLevel
from ._page_link import PageLink
from ._sendable import clean_text
from ._session import Session
from ._static_html import display_bundle, refresh, with_static_html
from ._timeline import Timeline
from ._tools import Tool
from ._turn_handle import TurnHandle

__all__ = ["StreamChat", "TurnHandle"]

log = logging.getLogger("nbstream")

_STATIC = pathlib.Path(__file__).parent / "static"
_ESM_PATH = _STATIC / "widget.js"
_CSS_PATH = _STATIC / "widget.css"


class FrontendMissingError(NbstreamError, RuntimeError):
    """The JavaScript bundle was not built (a source checkout whose install skipped the build hook)."""

    def __init__(self) -> None:
        super().__init__(
            f"nbstream's frontend bundle is missing ({_ESM_PATH}). Build it with `python hatch_build.py` "
            "in the nbstream repository (node comes from PyPI if needed), or install a built wheel."
        )


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
    view = traitlets.CaselessStrEnum(["detailed", "quiet"], default_value="detailed").tag(sync=True)
    """How turns are shown: ``"detailed"`` (each tool call's card where the call was made) or ``"quiet"`` (a
    "working…" line while tools run, their cards folded into the turn's activity panel). Change it any time."""
    show_reasoning = traitlets.Bool(True).tag(sync=True)
    """Show the model's reasoning, a section per step above its text (open while it streams, then folded to
    "Thought for 4.2 s"); ``False`` hides it on the page (it stays in the events and the transcript)."""

    def __init__(
        self,
        model: str | Model = "demo",
        *,
        tools: Iterable[Tool | Callable[..., Any]] = (),
        system: str | None = None,
        view: Literal["detailed", "quiet"] = "detailed",
        show_reasoning: bool = True,
        reasoning: ReasoningLevel | None = None,
        **session_options: Any,
    ) -> None:
        """``reasoning`` (``"low"``, ``"medium"``, ``"high"``) asks the model to reason (``Session``'s option);
        ``show_reasoning`` says whether the page shows it. Other keywords go to ``Session``."""
        if not hasattr(type(self), "_esm"):
            raise FrontendMissingError()
        if not isinstance(view, str) or view.lower() not in ("detailed", "quiet"):
            raise ConfigurationError(f'view must be "detailed" or "quiet", not {view!r}')
        session_options["reasoning"] = reasoning
        # The page never shows ``ToolArgumentsDelta.partial`` (``to_display`` drops it) and a turn keeps none:
        # a preview per fragment would cost parsing and memory for nothing, unless asked for.
        session_options.setdefault("previews", False)
        runner = shared_loop()  # one loop thread for every chat of the process: see the module docstring

        async def make_session() -> Session:  # built on its loop, whatever it binds to binds there
            made = Session(model, tools=tools, system=system, **session_options)
            try:
                await made.mcp.start()  # MCP servers start now: one that cannot start fails in this cell
            except BaseException:
                await made.aclose()
                raise
            return made

        if runner.in_thread():  # made by a tool: already on the loop
            session = Session(model, tools=tools, system=system, **session_options)
        else:
            session = runner.submit(make_session()).result()
        self._runner: LoopThread = runner
        self._session = session
        self._closed = False
        self._link = PageLink(self)  # before any trait changes: ``_should_send_property`` asks it
        # Loop-thread state: touched only by methods that run on the runner's loop.
        self._jobs: deque[TurnHandle | _ClearJob] = deque()
        self._worker: asyncio.Task[None] | None = None
        self._active: TurnHandle | None = None
        self._stop_requested = False  # for the active turn
        self._cancel_sent = False
        self._last_handle: TurnHandle | None = None
        super().__init__(
            model_label=clean_text(session.model_label), view=view, show_reasoning=bool(show_reasoning)
        )
        self.on_msg(self._on_browser_message)
        _interrupt.register(self)  # ■ stops this chat's turns, also between cells (_interrupt.py)

    # -- public API (any thread) -------------------------------------------------------------------------

    def send(self, prompt: str, *, images: Iterable[Any] | None = None) -> TurnHandle:  # type: ignore[override]
        """Start a turn (queued behind a running one) and return at once.

        ``images``: pictures sent with the prompt, as ``Session.send`` takes them (PNG/JPEG/GIF/WebP bytes,
        paths, PIL images, matplotlib figures, ``IPython.display.Image``, ``ImageData``; one alone too), shown as
        thumbnails in the prompt's bubble. One that cannot be used raises here, in the cell, before anything
        is sent.
        """
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a str, not {type(prompt).__name__}")
        converted = images_from(images)
        self._check_open()
        handle = TurnHandle(prompt, converted)
        handle._loop_thread = self._runner
        self._last_handle = handle
        self._runner.call_soon(self._enqueue, handle)
        return handle

    def tool(self, fn: Callable[..., Any] | None = None, /, **options: Any) -> Any:
        """Register a tool (decorator, with or without options); re-running a cell replaces it by name."""
        return self._session.tool(fn, **options)

    def add_mcp(self, server: MCPServer) -> list[Tool]:
        """Start an MCP server and offer its tools (returned) to the model; re-running the cell replaces it.
        Waits until it runs: one that cannot start raises ``MCPServerError`` here, saying why."""
        self._check_open()
        if self._runner.in_thread():
            raise RuntimeError("chat.add_mcp waits for the server: from a tool, await chat.session.add_mcp")
        return self._runner.submit(self._session.add_mcp(server)).result()

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
    def metrics(self) -> ChatMetrics:
        """The totals of the chat's turns: time, tokens, tool time, cost (its session's; each turn's is on its
        handle's ``metrics`` and under the turn, as its footer)."""
        return self._session.metrics

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
        """Stop the turn, close the session (and its HTTP client) and remove the widget from the page.

        Waits up to 5 s for the turn to end. The shared loop thread keeps running for the other chats.
        """
        if getattr(self, "_closed", True):
            super().close()
            return
        self._closed = True
        _interrupt.forget(self)  # lifecycle hook (_interrupt.py)
        runner = self._runner
        if runner.running:
            closing = runner.submit(self._close_on_loop())
            if not runner.in_thread():
                with contextlib.suppress(Exception):
                    closing.result(timeout=5)
        super().close()

    def __repr__(self) -> str:
        return f"StreamChat(model={self.model_label!r}, status={self.status!r}, turns={self._link.turns})"

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this chat is closed")

    # -- export, and the static copy for readers without widgets (_export.py, _static_html.py) -------------

    _display_id: str | None = None
    """Set by the first ``display(chat)``: its outputs get a fresh static copy at each turn's end."""

    def record(self, path: str | os.PathLike[str] | None) -> pathlib.Path | None:
        """Record every turn from now on to ``path`` (JSON lines; ``nbstream.replay(path)`` plays them back);
        ``None`` stops. ``StreamChat(record=path)`` records from the start. No key, header or base URL."""
        return self._session.record(path)

    def export(self, path: str | os.PathLike[str]) -> pathlib.Path:
        """Write the conversation to ``path``: ``.md``, ``.html`` (self-contained, sanitized) or ``.json``
        (``Session.load`` continues it). Holds no key, header or base URL."""
        return self._session.export(path)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget view, plus ``text/html`` for frontends that cannot show widgets."""
        return with_static_html(super()._repr_mimebundle_(**kwargs), static_html(self._conversation()))

    def _conversation(self) -> Conversation:
        session = self._session
        return Conversation(session.messages, model=self.model_label, system=session.system)  # a copy

    def _ipython_display_(self) -> None:
        """``display(chat)`` and a cell ending with ``chat``: publish under this chat's display id."""
        bundle = self._repr_mimebundle_() if callable(self._repr_mimebundle_) else None  # None once closed
        display_id = self._display_id or f"nbstream-{self.model_id}"
        if display_bundle(bundle, display_id, repr(self)):
            self._display_id = display_id

    async def _update_static_copy(self) -> None:
        """Refresh the outputs' ``text/html`` (at a turn's end, after a clear), rendered on the static-copy
        thread from the conversation as it is now. Loop thread; never raises."""
        if self._display_id is None or self._closed:
            return
        try:
            conversation, view = self._conversation(), super()._repr_mimebundle_()
        except Exception:  # a bug: the chat goes on without its copy
            log.exception("nbstream: the notebook's static copy of the chat could not be made")
            return
        await asyncio.wrap_future(
            refresh(self._display_id, lambda: with_static_html(view, static_html(conversation)))
        )

    # -- browser messages (any thread: hand over to the loop) --------------------------------------------

    def _on_browser_message(self, _widget: object, content: Any, _buffers: object) -> None:
        if self._closed or not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "ready":
            self._runner.call_soon(self._link.answer_ready)
        elif kind == "attach":
            self._runner.call_soon(self._link.attach)
        elif kind == "sync":
            self._runner.call_soon(self._link.send_transcript)
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
            self._link.show_message(clean_text(f"{type(error).__name__}: {error}"))

    async def _close_on_loop(self) -> None:
        """Stop the turn, let the worker finish (every handle resolves), then close the session."""
        self._stop_on_loop()
        worker = self._worker
        if worker is not None and not worker.done():
            await asyncio.wait({worker})
        self._link.close()
        await self._session.aclose()

    def _enqueue(self, job: TurnHandle | _ClearJob) -> None:
        self._jobs.append(job)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._work())

    async def _work(self) -> None:
        while self._jobs:
            job = self._jobs.popleft()
            if isinstance(job, _ClearJob):
                self._clear_now()
                await self._update_static_copy()
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
        self._link.start_turn()
        reason: TurnReason = "error"
        failure: Exception | None = None
        try:
            self._link.emit(user_prompt(handle.prompt, handle.images))
            async for event in self._events_of(handle):
                handle._record(event)
                if isinstance(event, TurnFinished):
                    reason = event.reason
                    self._link.emit(self._finished(event))
                else:
                    self._link.emit(to_display(event))
                    self._cancel_active()
        except asyncio.CancelledError:  # the loop is shutting down (the process exits)
            handle._finish("cancelled", None)
            raise
        except Exception as error:  # a bug or bad setup surfaced mid-turn: show it, keep the kernel alive
            failure = error
            finished = TurnFinished(reason="error", steps=0, message=f"{type(error).__name__}: {error}")
            handle._record(finished)
            self._link.emit(to_display(finished))
        finally:
            self._active = None
        self._link.end_turn()  # never raises: a page that cannot be reached must not leave the handle unresolved
        try:
            await self._update_static_copy()  # first: a notebook run headless saves the copy with this turn
        finally:
            if failure is not None:
                handle._fail(failure)
            else:
                new_messages = self._session.messages[first_new_message:]
                last = next((m for m in reversed(new_messages) if isinstance(m, AssistantMessage)), None)
                handle._finish(reason, last)

    def _finished(self, event: TurnFinished) -> DisplayEvent:
        """The turn's end as shown: with its metrics, and the chat's totals that already count them, as a footer."""
        shown = to_display(event)
        if event.metrics is not None:
            shown |= turn_footer(event.metrics, self.metrics)
        return shown

    def _events_of(self, handle: TurnHandle) -> AsyncIterator[Event]:
        """The events of a turn: the session's (``nbstream.replay`` plays recorded ones instead)."""
        return self._session.send(handle.prompt, images=handle.images)

    def _should_send_property(self, key: str, value: Any) -> bool:
        """ipywidgets asks this before sending a changed trait. A commit updates ``transcript`` in Python only
        (``PageLink.quiet_transcript``): the page already appended the turn. (ipywidgets' ``_lock_property``
        would also suppress the send, at the cost of a JSON round trip of the whole transcript per turn, and it
        swaps the lock the kernel thread uses for browser updates.)"""
        if key == "transcript" and self._link.quiet_transcript:
            return False
        return bool(super()._should_send_property(key, value))

    def _clear_now(self) -> None:
        self._session.clear()
        self._link.clear()
