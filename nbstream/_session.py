"""The session: one conversation with one model and a set of tools.

``send`` runs a *turn*: stream the model's response, start each tool the moment its call is final (while the
model keeps streaming), send the results back, and repeat until the model stops calling tools or ``max_steps``
is reached. Events from the stream and from the running tools merge into one ordered async stream.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from ._events import (
    Event,
    StepStarted,
    ToolAwaitingApproval,
    ToolCallReady,
    ToolError,
    ToolErrorKind,
    ToolResult,
    ToolRunning,
    TurnFinished,
    TurnReason,
)
from ._messages import AssistantMessage, Message, ToolResultMessage, UserMessage
from ._model import Model, ModelRequest
from ._parse import MessageBuilder, parse_stream
from ._tools import Tool, ToolFailure, ToolRegistry

__all__ = ["Session"]

log = logging.getLogger("nbstream")

Emit = Callable[[Event], None]


class Session:
    """A conversation with a model that can call your Python functions.

    ``model`` is ``"demo"`` (the default: offline, deterministic), ``"<provider>:<name>"`` with provider one of
    ``openai``, ``openai-responses``, ``anthropic``, ``ollama``, or any ``Model`` object (e.g. ``ScriptedModel``).
    Keys come from ``api_key=`` or the provider's environment variable; ``base_url=`` points an ``openai:`` model
    at any OpenAI-compatible server. Bind a session to one event loop: use it from the loop it was first used on.
    """

    def __init__(
        self,
        model: str | Model = "demo",
        *,
        tools: Iterable[Tool | Callable[..., Any]] = (),
        system: str | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        max_steps: int = 10,
        tool_timeout: float | None = 60.0,
        read_timeout: float = 60.0,
        max_retries: int = 3,
        previews: bool = True,
        options: dict[str, Any] | None = None,
    ) -> None:
        from ._resolve import resolve_model  # the demo and HTTP models are only built when asked for

        self.model: Model = resolve_model(
            model,
            api_key=api_key,
            base_url=base_url,
            read_timeout=read_timeout,
            max_retries=max_retries,
            options=options,
        )
        self.model_label = model if isinstance(model, str) else self.model.provider
        self.tools = ToolRegistry(tools)
        self.system = system
        self.max_steps = max_steps
        self.tool_timeout = tool_timeout
        self.previews = previews
        self._messages: list[Message] = []
        self._results_by_call: dict[str, ToolResultMessage] = {}
        self._turn: asyncio.Task[None] | None = None
        self._cancel_requested = False
        self._approvals: dict[str, asyncio.Future[bool]] = {}

    def __repr__(self) -> str:
        return (
            f"Session(model={self.model_label!r}, tools={self.tools.names}, messages={len(self._messages)})"
        )

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def tool(self, fn: Callable[..., Any] | None = None, /, **options: Any) -> Any:
        """Decorator: register ``fn`` as a tool (a tool of the same name is replaced)."""
        return self.tools.tool(**options) if fn is None else self.tools.add(fn, **options)

    @property
    def messages(self) -> list[Message]:
        """The conversation so far (a copy)."""
        return list(self._messages)

    @property
    def busy(self) -> bool:
        return self._turn is not None and not self._turn.done()

    def clear(self) -> None:
        """Forget the conversation (not the tools)."""
        if self.busy:
            raise RuntimeError("cannot clear while a turn is running: cancel() it first")
        self._messages.clear()
        self._results_by_call.clear()

    def cancel(self) -> None:
        """Stop the running turn: close the stream, cancel tools, keep what arrived. Call it on the loop.

        Idempotent: a second cancel must not interrupt the turn's own cleanup (which ends with ``TurnFinished``).
        """
        if self._turn is not None and not self._turn.done() and not self._cancel_requested:
            self._cancel_requested = True
            self._turn.cancel()

    def approve(self, call_id: str) -> None:
        """Let a ``confirm=True`` tool call run."""
        self._decide(call_id, True)

    def deny(self, call_id: str) -> None:
        """Refuse a ``confirm=True`` tool call: the model is told it was denied by the user."""
        self._decide(call_id, False)

    def _decide(self, call_id: str, approved: bool) -> None:
        future = self._approvals.get(call_id)
        if future is None:
            raise KeyError(f"no tool call {call_id!r} is awaiting approval")
        if not future.done():
            future.set_result(approved)

    async def aclose(self) -> None:
        """Cancel any running turn and close the model's HTTP client."""
        if self._turn is not None and not self._turn.done():
            self._turn.cancel()
            await asyncio.gather(self._turn, return_exceptions=True)
        await self.model.aclose()

    async def send(self, prompt: str) -> AsyncIterator[Event]:
        """Run one turn for ``prompt``; yields every event, ending with exactly one ``TurnFinished``."""
        if self.busy:
            raise RuntimeError("a turn is already running: wait for it or cancel() it")
        queue: asyncio.Queue[Event] = asyncio.Queue()
        turn = asyncio.get_running_loop().create_task(self._run_turn(prompt, queue.put_nowait))
        self._turn = turn
        self._cancel_requested = False
        try:
            while True:
                event = await queue.get()
                yield event
                if isinstance(event, TurnFinished):
                    break
        finally:
            if not turn.done():
                turn.cancel()
            await asyncio.gather(turn, return_exceptions=True)

    async def _run_turn(self, prompt: str, emit: Emit) -> None:
        self._messages.append(UserMessage(content=prompt))
        step = 0
        reason: TurnReason = "done"
        detail: str | None = None
        builder = MessageBuilder()
        dispatcher: _Dispatcher | None = None
        try:
            while True:
                if step == self.max_steps:
                    reason = "max_steps"
                    detail = f"stopped after {step} model responses (max_steps={self.max_steps})"
                    break
                step += 1
                emit(StepStarted(step=step))
                builder = MessageBuilder()
                dispatcher = _Dispatcher(self, emit)
                request = ModelRequest(
                    messages=list(self._messages), tools=self.tools.specs(), system=self.system
                )
                stream = parse_stream(
                    self.model.wire,
                    self.model.stream(request),
                    previews=self.previews,
                    provider=self.model.provider,
                )
                async for event in stream:
                    builder.add(event)
                    emit(event)
                    if isinstance(event, ToolCallReady):
                        dispatcher.start(event)
                message = builder.message()
                results = await dispatcher.results()
                self._record(message, results)
                builder, dispatcher = MessageBuilder(), None
                if message.error is not None:
                    error = message.error
                    reason, detail = (
                        "error",
                        f"{error.provider}: {error.message}" if error.provider else error.message,
                    )
                    break
                if not message.tool_calls:
                    break
        except asyncio.CancelledError:
            reason, detail = "cancelled", "stopped by the user"
            if dispatcher is not None:
                self._record(builder.message(), await dispatcher.cancel())
        except Exception as exc:  # a bug must end the turn visibly, never kill the kernel's loop
            log.exception("nbstream turn failed")
            reason, detail = "error", f"internal error: {type(exc).__name__}: {exc}"
            if dispatcher is not None:
                self._record(builder.message(), await dispatcher.cancel())
        emit(TurnFinished(reason=reason, steps=step, message=detail))

    def _record(self, message: AssistantMessage, results: list[ToolResultMessage]) -> None:
        if message.text or message.tool_calls or message.error:
            self._messages.append(message)
        self._messages.extend(results)
        for result in results:
            if result.error is None:
                self._results_by_call[result.call_id] = result


class _Dispatcher:
    """Runs the tool calls of one model response, each as soon as it is ready, concurrently."""

    def __init__(self, session: Session, emit: Emit) -> None:
        self._session = session
        self._emit = emit
        self._tasks: dict[str, tuple[ToolCallReady, asyncio.Task[ToolResultMessage]]] = {}

    def start(self, call: ToolCallReady) -> None:
        if call.id in self._tasks:  # a duplicated call in one response runs once
            return
        self._tasks[call.id] = (call, asyncio.get_running_loop().create_task(self._run(call)))

    def _in_call_order(self) -> list[tuple[ToolCallReady, asyncio.Task[ToolResultMessage]]]:
        return sorted(self._tasks.values(), key=lambda entry: entry[0].position)

    async def results(self) -> list[ToolResultMessage]:
        """Every call's result, in call order, once all are done."""
        return list(await asyncio.gather(*(task for _, task in self._in_call_order())))

    async def cancel(self) -> list[ToolResultMessage]:
        """Cancel what still runs; every call still gets a result, so the history stays valid for the provider."""
        ordered = self._in_call_order()
        for _, task in ordered:
            task.cancel()
        outcomes = await asyncio.gather(*(task for _, task in ordered), return_exceptions=True)
        return [
            outcome
            if isinstance(outcome, ToolResultMessage)
            else self._fail(call, "cancelled", f"{call.name} was cancelled")
            for (call, _), outcome in zip(ordered, outcomes, strict=True)
        ]

    def _fail(
        self, call: ToolCallReady, kind: ToolErrorKind, message: str, duration: float = 0.0
    ) -> ToolResultMessage:
        self._emit(ToolError(id=call.id, name=call.name, kind=kind, message=message, duration=duration))
        return ToolResultMessage(call_id=call.id, name=call.name, content=message, error=kind)

    async def _run(self, call: ToolCallReady) -> ToolResultMessage:
        started = time.perf_counter()
        try:
            return await self._execute(call)
        except asyncio.CancelledError:
            return self._fail(call, "cancelled", f"{call.name} was cancelled", time.perf_counter() - started)

    async def _execute(self, call: ToolCallReady) -> ToolResultMessage:
        session = self._session
        if call.error is not None or call.arguments is None:
            error = call.error or "arguments are not a JSON object"
            kind: ToolErrorKind = "incomplete" if error.startswith("incomplete") else "invalid_arguments"
            return self._fail(call, kind, f"{call.name} was not run: {error}")
        earlier = session._results_by_call.get(call.id)
        if earlier is not None:  # a replayed call id: reuse the result instead of running the tool twice
            self._emit(ToolResult(id=call.id, name=call.name, output=earlier.content, duration=0.0))
            return earlier
        tool = session.tools.get(call.name)
        if tool is None:
            available = ", ".join(session.tools.names) or "none"
            return self._fail(call, "unknown_tool", f"unknown tool {call.name!r} (available: {available})")
        try:
            kwargs = tool.validate(call.arguments)
        except ToolFailure as failure:
            return self._fail(call, failure.kind, failure.message)
        if tool.confirm and not await self._approved(call):
            return self._fail(call, "denied", f"{call.name} was denied by the user")
        self._emit(ToolRunning(id=call.id, name=call.name, started_at=time.time()))
        started = time.perf_counter()
        try:
            output = await tool.invoke(kwargs, timeout=session.tool_timeout)
        except ToolFailure as failure:
            return self._fail(call, failure.kind, failure.message, time.perf_counter() - started)
        duration = time.perf_counter() - started
        self._emit(ToolResult(id=call.id, name=call.name, output=output, duration=duration))
        return ToolResultMessage(call_id=call.id, name=call.name, content=output)

    async def _approved(self, call: ToolCallReady) -> bool:
        approvals = self._session._approvals
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        approvals[call.id] = future
        self._emit(ToolAwaitingApproval(id=call.id, name=call.name, arguments=call.arguments or {}))
        try:
            return await future
        finally:
            approvals.pop(call.id, None)
