"""The session: one conversation with one model and a set of tools.

``send`` runs a *turn*: stream the model's response, start each tool the moment its call is final (while the
model keeps streaming), send the results back, and repeat until the model stops calling tools or ``max_steps``
is reached. Events from the stream and from the running tools merge into one ordered async stream.

Guarantees: every turn ends with exactly one ``TurnFinished`` (also when it is cancelled before it began, or
when a bug ends it); each call runs at most once, with its own arguments (see ``_dispatch``); the history only
ever holds what a provider accepts back: no empty assistant message (one that only reasoned is kept, and left
out of requests), every call answered by one result.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import pathlib
from collections.abc import Awaitable, Callable, Generator, Iterable
from typing import Any

from ._assembly import made_up_ids
from ._dispatch import Dispatcher, Emit, Replays
from ._errors import ConfigurationError
from ._events import StepStarted, ToolCallReady, TurnFinished, TurnReason
from ._images import images_from
from ._mcp import MCPServer, MCPServerError, MCPServers
from ._messages import AssistantMessage, Message, ToolResultMessage, UserMessage
from ._metrics import ChatMetrics, Pricing, TurnMeter, TurnMetrics
from ._model import REASONING_LEVELS, Model, ModelRequest, ReasoningLevel
from ._parse import MessageBuilder, parse_stream
from ._providers import for_wire
from ._registry import ToolRegistry
from ._replay import Recorder, redactions_for
from ._tools import Tool
from ._turn_stream import TurnStream
from ._wire import MAX_FRAME_SIZE
from ._wire._text_calls import TEXT_CALL_FORMATS, TextCallFormat

__all__ = ["Session"]

log = logging.getLogger("nbstream")


class Session:
    """A conversation with a model that can call your Python functions.

    ``model`` is ``"demo"`` (the default: offline, deterministic), ``"<provider>:<name>"`` for a provider of
    ``nbstream._providers`` (``openai``, ``openai-responses``, ``anthropic``, ``ollama``, ``gemini``), or any
    ``Model`` object (e.g. ``ScriptedModel``).
    Keys come from ``api_key=`` or the provider's environment variable; ``base_url=`` points an ``openai:`` model
    at any OpenAI-compatible server. ``reasoning="low"|"medium"|"high"`` asks the model to reason first (each
    provider module says what it sends; ``options=`` still win); the reasoning streams as ``ReasoningDelta``
    events and stays in ``AssistantMessage.reasoning``, sent back where the provider needs it. ``mcp=[MCPServer(
    ...)]`` adds the tools of MCP servers (``add_mcp`` one at a time). Bind a session to one event loop: use it
    from the loop it was first used on. ``record=path`` writes every turn to a recording (``record``).
    """

    def __init__(
        self,
        model: str | Model = "demo",
        *,
        tools: Iterable[Tool | Callable[..., Any]] = (),
        mcp: Iterable[MCPServer] = (),
        system: str | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        max_steps: int = 10,
        tool_timeout: float | None = 60.0,
        read_timeout: float | None = 60.0,
        max_retries: int = 3,
        previews: bool = True,
        max_frame_size: int = MAX_FRAME_SIZE,
        options: dict[str, Any] | None = None,
        text_tool_calls: TextCallFormat | None = None,
        reasoning: ReasoningLevel | None = None,
        record: str | os.PathLike[str] | None = None,
    ) -> None:
        from ._resolve import resolve_model  # the demo and HTTP models are only built when asked for

        if text_tool_calls is not None and text_tool_calls not in TEXT_CALL_FORMATS:
            raise ConfigurationError(
                f"text_tool_calls must be one of {', '.join(map(repr, TEXT_CALL_FORMATS))} or None,"
                f" not {text_tool_calls!r}"
            )

        if reasoning is not None and reasoning not in REASONING_LEVELS:
            raise ConfigurationError(
                f"reasoning must be one of {', '.join(map(repr, REASONING_LEVELS))} or None, not {reasoning!r}"
            )
        _check_count("max_steps", max_steps, minimum=1)
        _check_count("max_retries", max_retries, minimum=0)
        _check_count("max_frame_size", max_frame_size, minimum=1)
        _check_seconds("tool_timeout", tool_timeout)
        _check_seconds("read_timeout", read_timeout)
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
        self.mcp = MCPServers(self.tools, mcp)
        """The MCP servers whose tools the model may call (started at the first turn, or by ``async with``)."""
        self.system = system
        self.max_steps = max_steps
        self.tool_timeout = tool_timeout
        self.previews = previews
        self.max_frame_size = max_frame_size
        self.text_tool_calls = text_tool_calls
        """Tool calls the server leaves in the text, in this syntax, are read (and sent back) as such."""
        self.reasoning: ReasoningLevel | None = reasoning
        """How much the model is asked to reason (each provider module maps it to its own request fields);
        ``None`` leaves the provider's default."""
        self._messages: list[Message] = []
        self._replays = Replays()
        self._made_up_ids = made_up_ids()  # one source for the session: a made-up id never names two calls
        self._turn: asyncio.Task[None] | None = None
        self._cancel_requested = False
        self._approvals: dict[str, asyncio.Future[bool]] = {}
        self._pricing = Pricing(model, base_url=base_url)
        self._metrics = ChatMetrics()
        self._recorder: Recorder | None = None
        if record is not None:
            self.record(record)

    def __repr__(self) -> str:
        return (
            f"Session(model={self.model_label!r}, tools={self.tools.names}, messages={len(self._messages)})"
        )

    async def __aenter__(self) -> Session:
        await self.mcp.start()  # a server that cannot start fails here, not at the first turn
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def tool(self, fn: Callable[..., Any] | None = None, /, **options: Any) -> Any:
        """Decorator: register ``fn`` as a tool (a tool of the same name is replaced)."""
        return self.tools.tool(**options) if fn is None else self.tools.add(fn, **options)

    async def add_mcp(self, server: MCPServer) -> list[Tool]:
        """Start an MCP server now and offer its tools (returned) to the model; a server of the same name is
        replaced. Raises ``MCPServerError`` when it cannot start (saying why, with its stderr)."""
        return await self.mcp.add(server)

    @property
    def messages(self) -> list[Message]:
        """The conversation so far (a copy)."""
        return list(self._messages)

    @property
    def metrics(self) -> ChatMetrics:
        """The totals of the finished turns: tokens, tool time, cost (each turn's is on its ``TurnFinished``)."""
        return self._metrics

    @property
    def busy(self) -> bool:
        return self._turn is not None and not self._turn.done()

    def extend(self, messages: Iterable[Message]) -> None:
        """Add messages to the conversation, as if those turns had run (a saved history, a replayed turn)."""
        if self.busy:
            raise RuntimeError("cannot change the conversation while a turn is running")
        self._messages.extend(messages)

    def clear(self) -> None:
        """Forget the conversation (not the tools)."""
        if self.busy:
            raise RuntimeError("cannot clear while a turn is running: cancel() it first")
        self._messages.clear()
        self._replays.clear()

    def cancel(self) -> Awaitable[None]:
        """Stop the running turn: close the stream, cancel tools, keep what arrived. Call it on the loop.

        ``await session.cancel()`` returns once the turn has finished (its ``TurnFinished`` is out); a bare
        ``session.cancel()`` just asks. Idempotent: a second cancel must not interrupt the turn's own cleanup.
        """
        turn = self._turn
        if turn is not None and not turn.done() and not self._cancel_requested:
            self._cancel_requested = True
            turn.cancel()
        return _Finished(turn)

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
        """Cancel any running turn, stop the MCP servers and close the model's HTTP client."""
        await self.cancel()
        await self.mcp.aclose()
        await self.model.aclose()
        self.record(None)

    def record(self, path: str | os.PathLike[str] | None) -> pathlib.Path | None:
        """Write every turn from now on (its prompt, each event and when it came) to ``path`` as JSON lines,
        replacing the file; ``None`` stops. ``nbstream.replay(path)`` plays it back, ``Recording.load(path)``
        reads it (``nbstream/_replay.py``). It holds the model's label, never a key, header or base URL."""
        made = None
        if path is not None:
            made = Recorder(path, model=str(self.model_label), redactions=redactions_for(self.model))
        old, self._recorder = self._recorder, made  # a running turn keeps writing to the one it started with
        if old is not None:
            old.close()
        return None if made is None else made.path

    def send(self, prompt: str, *, images: Iterable[Any] | None = None) -> TurnStream:
        """Run one turn for ``prompt``: ``async for event in session.send(...)`` yields every event, ending with
        exactly one ``TurnFinished``. Leaving the loop early (``break``) or ``aclose()`` stops the turn.

        ``images`` go with the prompt: each an ``ImageData``, PNG/JPEG/GIF/WebP bytes, a path, a PIL image, a
        matplotlib figure or an ``IPython.display.Image`` (one image alone is taken too). They are converted
        now, so a bad one is a ``TypeError`` / ``ValueError`` raised here, before the turn starts.

        A turn that is being cancelled is waited for; a turn still running is an error (one turn at a time).
        """
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a str, not {type(prompt).__name__}")
        converted = images_from(images)
        self._check_free()
        return TurnStream(self, UserMessage(content=prompt, images=converted))

    def _check_free(self) -> None:
        if self.busy and not self._cancel_requested:
            raise RuntimeError("a turn is already running: wait for it, or cancel() it first")

    async def _start(self, prompt: UserMessage, emit: Emit) -> asyncio.Task[None]:
        """Start a turn once the previous one, if it is being cancelled, has finished its cleanup."""
        while self.busy:
            self._check_free()
            assert self._turn is not None
            await asyncio.wait({self._turn})
        self._cancel_requested = False
        self._turn = asyncio.get_running_loop().create_task(self._run_turn(prompt, emit))
        return self._turn

    async def _run_turn(self, prompt: UserMessage, emit: Emit) -> None:
        meter = TurnMeter()  # times the turn from what it emits, tools included
        emit = meter.watching(emit)
        recorder = self._recorder  # record() may swap it from another thread
        if recorder is not None:  # the prompt now, then each event as it is emitted
            emit = recorder.turn(prompt, emit)
        self._messages.append(prompt)
        step = 0
        reason: TurnReason = "done"
        detail: str | None = None
        builder = MessageBuilder()
        dispatcher: Dispatcher | None = None
        try:
            await self.mcp.start()  # the servers given to Session(mcp=...), at the first turn
            while True:
                if step == self.max_steps:
                    reason = "max_steps"
                    detail = f"stopped after {step} model responses (max_steps={self.max_steps})"
                    break
                step += 1
                emit(StepStarted(step=step))
                dispatcher = Dispatcher(
                    self.tools, self._replays, self._approvals, emit, timeout=self.tool_timeout
                )
                request = ModelRequest(
                    messages=self._sent_history(),
                    tools=self.tools.specs(),
                    system=self.system,
                    reasoning=self.reasoning,
                )
                stream = parse_stream(
                    self.model.wire,
                    self.model.stream(request),
                    previews=self.previews,
                    provider=self.model.provider,
                    max_frame_size=self.max_frame_size,
                    made_up_ids=self._made_up_ids,
                    text_tool_calls=self.text_tool_calls,
                )
                builder = MessageBuilder(stream)  # the stream keeps what no event carries: signatures
                async for event in stream:
                    builder.add(event)
                    emit(event)
                    if isinstance(event, ToolCallReady):
                        dispatcher.start(event)
                message = builder.message()
                results = await dispatcher.results()
                self._record(message, results)
                builder, dispatcher = MessageBuilder(), None
                ended = _why_the_turn_ends(message, for_wire(self.model.wire).token_limit)
                if ended is not None:
                    reason, detail = ended
                    break
        except asyncio.CancelledError:
            reason, detail = "cancelled", "stopped by the user"
            if dispatcher is not None:
                self._record(builder.message(), await dispatcher.cancel())
        except MCPServerError as exc:  # a server of Session(mcp=...) did not start; the next turn tries again
            reason, detail = "error", str(exc)
        except Exception as exc:  # a bug must end the turn visibly, never kill the kernel's loop
            log.exception("nbstream turn failed")
            reason, detail = "error", f"internal error: {type(exc).__name__}: {exc}"
            if dispatcher is not None:
                self._record(builder.message(), await dispatcher.cancel())
        emit(TurnFinished(reason=reason, steps=step, message=detail, metrics=self._measured(meter)))

    def _measured(self, meter: TurnMeter) -> TurnMetrics | None:
        """The turn's metrics, added to the chat's; ``None`` if measuring failed (the turn still finishes)."""
        try:
            metrics = meter.finish(self._pricing)
        except Exception:
            log.exception("nbstream: measuring the turn failed")
            return None
        self._metrics = self._metrics.plus(metrics)
        return metrics

    def _sent_history(self) -> list[Message]:
        if self.text_tool_calls is None:
            return list(self._messages)
        from ._providers._request import text_call_history  # calls written as text go back as text

        return text_call_history(self._messages, self.text_tool_calls)

    def _record(self, message: AssistantMessage, results: list[ToolResultMessage]) -> None:
        """Keep what arrived: a response that said nothing (an HTTP error, a drop before the first byte) is
        no message at all. One that only reasoned (cut while it thought) is kept for people; requests leave it
        out (``without_empty``): no provider takes reasoning alone back."""
        if message.text or message.tool_calls or message.reasoning:
            self._messages.append(message)
        self._messages.extend(results)

    # -- export and load (nbstream/_export.py) -------------------------------------------------------------

    def export(self, path: str | os.PathLike[str]) -> pathlib.Path:
        """Write the conversation to ``path``: ``.md``, ``.html`` (self-contained, sanitized) or ``.json``
        (``Session.load`` continues it). Holds no key, header or base URL: only the model's label."""
        from ._export import Conversation, export

        return export(Conversation(self._messages, model=self.model_label, system=self.system), path)

    @classmethod
    def load(cls, path: str | os.PathLike[str], model: str | Model = "demo", **options: Any) -> Session:
        """A new session that continues a ``.json`` export: its history, and its system prompt unless
        ``system=`` is given. ``model``, ``tools`` and the other options are those of ``Session(...)``."""
        from ._export import load

        saved = load(path)
        options.setdefault("system", saved.system)
        session = cls(model, **options)
        session.extend(saved.messages)
        return session

    # -- end of export and load ----------------------------------------------------------------------------


def _why_the_turn_ends(message: AssistantMessage, token_limit: str) -> tuple[TurnReason, str | None] | None:
    """How the turn ends after this response, or ``None`` when the model must see its tool results.
    ``token_limit`` is the option that raises the provider's output-token limit."""
    error = message.error
    if error is not None:
        return "error", f"{error.provider}: {error.message}" if error.provider else error.message
    if message.stop_reason == "length" and any(call.arguments is None for call in message.tool_calls):
        said = f" ({message.raw_stop_reason!r})" if message.raw_stop_reason else ""
        return "max_tokens", (
            f"the model ran out of output tokens inside a tool call{said}: asking again would cut it again; "
            f"raise the output-token limit ({token_limit})"
        )
    if not message.tool_calls:
        return "done", None
    return None


class _Finished:
    """What ``cancel()`` returns: awaiting it waits until the turn has finished; ignoring it is fine."""

    __slots__ = ("_turn",)

    def __init__(self, turn: asyncio.Task[None] | None) -> None:
        self._turn = turn

    def __await__(self) -> Generator[Any, None, None]:
        if self._turn is not None and not self._turn.done():
            yield from asyncio.wait({self._turn}).__await__()


def _check_count(name: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigurationError(f"{name} must be an integer ≥ {minimum}, not {value!r}")


def _check_seconds(name: str, value: object) -> None:
    """A timeout: a positive, finite number of seconds, or ``None`` for no limit."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 < value < math.inf):
        raise ConfigurationError(f"{name} must be a positive number of seconds or None, not {value!r}")
