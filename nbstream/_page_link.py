"""The link from a chat to its page: what the kernel sends the browser while turns run, and when.

A ``StreamChat`` owns one ``PageLink`` and calls it only on nbstream's loop thread (``_widget.py`` explains the
threading model), so the buffer, the flush timer and the commit need no lock, and messages leave in the order
they were made. The link reaches the widget only through ``Page``: three synced traits, ``send_state`` and the
widget's custom messages. The protocol itself is in docs/WIDGET_PROTOCOL.md.

Display events are buffered and flushed as one ``{"type": "events"}`` message every ``FLUSH_INTERVAL`` seconds
while something is pending, with text runs merged, so bytes grow linearly with the response and the message
rate stays near 25/s. Every string is made sendable first (unpaired surrogates become U+FFFD: the kernel's
JSON packer refuses them), and a send that fails anyway is logged; it never stops a turn or a handle.

A finished turn is committed, compacted, once. When a page listens (its store said ``attach`` or ``ready``),
the commit is a ``{"type": "commit"}`` message with that turn only: the page appends it to its model's
``transcript`` value without sending it back (that value is what JupyterLab saves as widget state), and Python
updates its own trait value without sending it (``quiet_transcript``, which the widget's
``_should_send_property`` asks), so a new view or a reloaded page, which asks the kernel for state, still gets
the whole transcript. A turn then costs the same bytes however long the conversation is. With no page
(headless execution: nbclient saves widget state from the kernel's update messages and ignores custom ones)
the trait is sent whole, as it must be for the saved notebook to hold it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol

import ipywidgets  # type: ignore[import-untyped]

from ._display import DisplayEvent, ReasoningTimer, StatusTracker, compact, merge_batch
from ._sendable import sendable

__all__ = ["FLUSH_INTERVAL", "Page", "PageLink"]

log = logging.getLogger("nbstream")

FLUSH_INTERVAL = 0.04
"""Seconds between two ``events`` messages: ~25 messages/s, far below the server's IOPub limit (1000/s)."""


class Page(Protocol):
    """What the link uses of its widget (an ipywidgets ``Widget``, which also takes its custom messages)."""

    transcript: list[dict[str, Any]]
    status: str
    status_message: str

    def hold_sync(self) -> AbstractContextManager[object]: ...

    def send_state(self, key: str | None = None) -> None: ...


class PageLink:
    """Buffers a chat's display events, flushes them to the page, commits each finished turn and answers the
    page's ``ready``/``attach``/``sync``. Loop thread only."""

    def __init__(self, page: Page) -> None:
        self._page = page
        self.attached = False
        """A page's store listens: commits go as messages, not as the whole trait."""
        self.quiet_transcript = False
        """While set, assigning ``transcript`` updates Python only (the widget's ``_should_send_property``)."""
        self.turns = 0
        """Committed turns, for a repr that never walks the transcript."""
        self._turn_events: list[DisplayEvent] = []
        self._pending: list[DisplayEvent] = []
        self._flush_timer: asyncio.TimerHandle | None = None
        self._tracker = StatusTracker()
        self._reasoning = ReasoningTimer()

    def start_turn(self) -> None:
        """A turn starts: the status says "generating" at the next flush, no reasoning section is open."""
        self._tracker.start_turn()
        self._reasoning.reset()

    def emit(self, event: DisplayEvent) -> None:
        """Buffer an event for the next flush (and for the turn's commit); the first one arms the timer."""
        done = self._reasoning.before(event)  # a section's end, with its duration, goes first
        if done is not None:
            self.emit(done)
        event = sendable(event)
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

    def end_turn(self) -> None:
        """Send what is pending, then commit the turn to the transcript. Never raises."""
        try:
            self._flush()
            events, self._turn_events = compact(self._turn_events), []
        except Exception:  # a bug: keep the chat usable, drop the turn's display
            log.exception("nbstream: ending the turn's display failed")
            self._turn_events = []
            return
        self.turns += 1
        self._commit(events)

    def _commit(self, events: list[DisplayEvent]) -> None:
        """Append a finished turn to the transcript: as a ``commit`` message when a page listens (the trait is
        updated in Python without being sent), else by sending the whole trait."""
        page = self._page
        old = page.transcript
        new = [*old, *events]
        if not self.attached:
            self._sending(lambda: setattr(page, "transcript", new))
            return
        self.quiet_transcript = True
        try:
            page.transcript = new
        finally:
            self.quiet_transcript = False
        self._send_custom({"type": "commit", "transcript_length": len(old), "events": events})

    def _sync_status(self) -> None:
        page, tracker = self._page, self._tracker

        def sync() -> None:
            with page.hold_sync():
                if page.status != tracker.status:
                    page.status = tracker.status
                if page.status_message != tracker.message:
                    page.status_message = tracker.message

        self._sending(sync)

    def attach(self) -> None:
        """A page's store listens to this chat: from now on turns are committed as messages."""
        self.attached = True

    def send_transcript(self) -> None:
        """A page missed a commit (it asked for ``sync``): send it the whole transcript."""
        self._sending(lambda: self._page.send_state("transcript"))

    def answer_ready(self) -> None:
        """A view replayed the transcript; send it the turn in progress. Pending events go out first, so every
        later ``events`` message follows what ``live`` contains."""
        self.attached = True
        self._flush()
        self._send_custom(
            {
                "type": "live",
                "transcript_length": len(self._page.transcript),
                "events": compact(self._turn_events),
            }
        )

    def clear(self) -> None:
        """Empty the transcript, here and on the page (the chat has cleared its session)."""
        self._turn_events = []
        self.turns = 0
        self._tracker.reset()
        self._sending(lambda: setattr(self._page, "transcript", []))
        self._send_custom({"type": "cleared"})
        self._sync_status()

    def show_message(self, message: str) -> None:
        """Show ``message`` (why a browser-triggered action failed) where the user looks: the status message,
        until the next status sync."""
        self._sending(lambda: setattr(self._page, "status_message", message))

    def close(self) -> None:
        """The chat closes: no flush is left waiting on the loop."""
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None

    def _send_custom(self, content: dict[str, Any]) -> None:
        # ipywidgets' own ``send``: the chat's ``send`` starts a turn
        self._sending(lambda: ipywidgets.Widget.send(self._page, content))

    def _sending(self, send: Callable[[], object]) -> None:
        """Run something that sends to the page; a failure (a closed socket, a value the packer refuses) is
        logged and the turn goes on: the page may miss it, the kernel's state and the handles never do."""
        try:
            send()
        except Exception:
            log.exception("nbstream: a message to the page could not be sent")
