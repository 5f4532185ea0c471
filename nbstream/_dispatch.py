"""Running the tool calls of one model response: each as soon as it is ready, concurrently, at most once.

Every call ends with exactly one ``ToolResult`` or ``ToolError`` event and one ``ToolResultMessage`` for the
history, whatever happens: invalid arguments, an unknown tool, a denial, an exception, a timeout, a
cancellation, or a bug here. A call whose id, name and arguments all match an earlier successful call of the
session is a replay (a duplicated or replayed stream): its result is reused instead of running the tool again.
Any other call runs, even when a server reuses an id.

While a tool runs, what it prints or logs becomes ``ToolOutput`` events of its call (see ``_capture``), and what
it reports through its ``Progress`` reporter (or yields, as a generator tool) ``ToolProgress`` events, throttled
(see ``_progress.relay``); all of them come before its result. The model never sees them: its result is the
return value alone, as the tool's author wrote it. Output is for the person watching (progress, debugging
prints, warnings) and may be long, noisy or hold what was never meant for a provider; and a result must not
change with how chatty a tool is. Images the tool returned go with its result (``ToolResult.images``,
``ToolResultMessage.images``), a replayed result's too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from ._capture import capture_output
from ._events import (
    CallErrorKind,
    Event,
    ToolAwaitingApproval,
    ToolCallReady,
    ToolError,
    ToolErrorKind,
    ToolOutput,
    ToolOutputStream,
    ToolProgress,
    ToolResult,
    ToolRunning,
)
from ._messages import ToolResultMessage
from ._progress import relay
from ._registry import ToolRegistry
from ._tools import ToolFailure

__all__ = ["Dispatcher", "Replays"]

log = logging.getLogger("nbstream")

Emit = Callable[[Event], None]
_SHOWN_ARGUMENTS = 300  # characters of broken arguments quoted back to the model
_NOT_RUN: dict[CallErrorKind, ToolErrorKind] = {  # why a ready call cannot run → its tool error
    "invalid_json": "invalid_arguments",
    "no_name": "unknown_tool",
    "incomplete": "incomplete",
    "truncated": "incomplete",
}


class Replays:
    """Successful results of the session's calls, by (id, name, raw arguments): what a replay may reuse."""

    def __init__(self) -> None:
        self._results: dict[tuple[str, str, str], ToolResultMessage] = {}

    def get(self, call: ToolCallReady) -> ToolResultMessage | None:
        return self._results.get((call.id, call.name, call.raw_arguments))

    def remember(self, call: ToolCallReady, result: ToolResultMessage) -> None:
        if result.error is None:
            self._results[(call.id, call.name, call.raw_arguments)] = result

    def clear(self) -> None:
        self._results.clear()


class Dispatcher:
    """Runs the tool calls of one model response, each as soon as it is ready, concurrently."""

    def __init__(
        self,
        tools: ToolRegistry,
        replays: Replays,
        approvals: dict[str, asyncio.Future[bool]],
        emit: Emit,
        *,
        timeout: float | None,
    ) -> None:
        self._tools = tools
        self._replays = replays
        self._approvals = approvals
        self._emit = emit
        self._timeout = timeout
        self._tasks: dict[str, tuple[ToolCallReady, asyncio.Task[ToolResultMessage]]] = {}

    def start(self, call: ToolCallReady) -> None:
        if call.id in self._tasks:  # the assembler gives each call of a response its own id: never twice
            return
        self._tasks[call.id] = (call, asyncio.get_running_loop().create_task(self._run(call)))

    def _in_call_order(self) -> list[tuple[ToolCallReady, asyncio.Task[ToolResultMessage]]]:
        return sorted(self._tasks.values(), key=lambda entry: entry[0].position)

    async def results(self) -> list[ToolResultMessage]:
        """Every call's result, in call order, once all are done."""
        ordered = self._in_call_order()
        results = list(await asyncio.gather(*(task for _, task in ordered)))
        for (call, _), result in zip(ordered, results, strict=True):
            self._replays.remember(call, result)
        return results

    async def cancel(self) -> list[ToolResultMessage]:
        """Cancel what still runs; every call still gets a result, so the history stays valid for the provider."""
        ordered = self._in_call_order()
        for _, task in ordered:
            task.cancel()
        outcomes = await asyncio.gather(*(task for _, task in ordered), return_exceptions=True)
        results: list[ToolResultMessage] = []
        for (call, _), outcome in zip(ordered, outcomes, strict=True):
            if isinstance(outcome, ToolResultMessage):
                self._replays.remember(call, outcome)
                results.append(outcome)
            else:
                results.append(self._fail(call, "cancelled", f"{call.name} was cancelled"))
        return results

    def _fail(
        self, call: ToolCallReady, kind: ToolErrorKind, message: str, duration: float = 0.0
    ) -> ToolResultMessage:
        self._emit(ToolError(id=call.id, name=call.name, kind=kind, message=message, duration=duration))
        return ToolResultMessage(
            call_id=call.id, name=call.name, content=message, error=kind, duration=duration
        )

    async def _run(self, call: ToolCallReady) -> ToolResultMessage:
        started = time.perf_counter()
        try:
            return await self._execute(call)
        except asyncio.CancelledError:
            return self._fail(call, "cancelled", f"{call.name} was cancelled", time.perf_counter() - started)
        except Exception as exc:  # a bug must fail this call only, never its siblings or the turn
            log.exception("nbstream: running tool call %s (%s) failed", call.id, call.name)
            message = f"{call.name} failed inside nbstream: {type(exc).__name__}: {exc}"
            return self._fail(call, "exception", message, time.perf_counter() - started)

    async def _execute(self, call: ToolCallReady) -> ToolResultMessage:
        if call.error is not None or call.arguments is None:
            return self._not_run(call)
        earlier = self._replays.get(call)
        if earlier is not None:  # a replayed call: reuse the result instead of running the tool twice
            replayed = ToolResult(
                id=call.id, name=call.name, output=earlier.content, duration=0.0, images=earlier.images
            )
            self._emit(replayed)
            return earlier.model_copy(update={"duration": 0.0})  # as its event says: it did not run
        tool = self._tools.get(call.name)
        if tool is None:
            available = ", ".join(self._tools.names) or "none"
            return self._fail(call, "unknown_tool", f"unknown tool {call.name!r} (available: {available})")
        try:
            kwargs = tool.validate(call.arguments)
        except ToolFailure as failure:
            return self._fail(call, failure.kind, failure.message)
        if tool.confirm and not await self._approved(call):
            return self._fail(call, "denied", f"{call.name} was denied by the user")
        self._emit(ToolRunning(id=call.id, name=call.name, started_at=time.time()))
        started = time.perf_counter()

        def show(stream: ToolOutputStream, text: str) -> None:
            self._emit(ToolOutput(id=call.id, name=call.name, stream=stream, text=text))

        def report(message: str | None, fraction: float | None) -> None:
            self._emit(ToolProgress(id=call.id, name=call.name, message=message, fraction=fraction))

        try:
            with capture_output(show), relay(report) as progress:  # both deliver what is left on the way out
                returned = await tool.run(kwargs, timeout=self._timeout, progress=progress)
        except ToolFailure as failure:
            return self._fail(call, failure.kind, failure.message, time.perf_counter() - started)
        duration = time.perf_counter() - started
        images = list(returned.images)
        self._emit(
            ToolResult(id=call.id, name=call.name, output=returned.text, duration=duration, images=images)
        )
        return ToolResultMessage(
            call_id=call.id, name=call.name, content=returned.text, images=images, duration=duration
        )

    def _not_run(self, call: ToolCallReady) -> ToolResultMessage:
        """A call whose arguments never became a JSON object. The history sends it with ``{}`` (strict servers
        reject broken JSON there), so its error result quotes what the model actually sent."""
        error = call.error or "arguments are not a JSON object"
        kind = _NOT_RUN[call.error_kind or "invalid_json"]  # no kind: a ToolCallReady made by hand
        sent = call.raw_arguments
        if len(sent) > _SHOWN_ARGUMENTS:
            sent = sent[:_SHOWN_ARGUMENTS] + f"… ({len(call.raw_arguments):,} characters)"
        return self._fail(call, kind, f"{call.name} was not run: {error}. The arguments sent were: {sent}")

    async def _approved(self, call: ToolCallReady) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._approvals[call.id] = future
        arguments: dict[str, Any] = call.arguments or {}
        self._emit(ToolAwaitingApproval(id=call.id, name=call.name, arguments=arguments))
        try:
            return await future
        finally:
            self._approvals.pop(call.id, None)
