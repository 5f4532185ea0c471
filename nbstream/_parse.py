"""Bytes → events → one assistant message: ``parse_stream`` and ``collect``, the public reading path.

Every backend (HTTP providers, the demo model, scripted models) yields wire bytes, so this is the one path
from a provider's stream to normalized events. It is pull-based: nothing is read before the caller asks for
events, and reading stops at the response's terminal event (the source is closed then).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Iterable, Iterator
from typing import TYPE_CHECKING, overload

from ._assembly import Assembler
from ._errors import StreamFault
from ._events import (
    Event,
    MessageFinished,
    ReasoningDelta,
    StreamError,
    TextDelta,
    ToolArgumentsDelta,
    ToolCallReady,
    Usage,
)
from ._messages import AssistantMessage, Reasoning, StreamFailure, TokenUsage, ToolCall
from ._providers import WireFormat, for_wire
from ._wire import MAX_FRAME_SIZE, WireParser
from ._wire._text_calls import TEXT_CALL_FORMATS, TextCallFilter, TextCallFormat

__all__ = ["EventStream", "MessageBuilder", "SyncEventStream", "collect", "parse_stream"]


class _Pipeline:
    """Parser (+ text tool-call filter) + assembler for one response: ``feed`` bytes, ``close`` at EOF, ``fail``
    when the source broke; events out."""

    __slots__ = ("_assembler", "_filter", "_parser")

    def __init__(self, parser: WireParser, assembler: Assembler, text_calls: TextCallFilter | None) -> None:
        self._parser = parser
        self._assembler = assembler
        self._filter = text_calls

    @property
    def done(self) -> bool:
        return self._assembler.done

    @property
    def reasoning(self) -> list[Reasoning]:
        return self._assembler.reasoning

    def feed(self, data: bytes) -> Iterator[Event]:
        # Events are yielded one by one, never gathered per chunk: a 64 KB chunk holds hundreds of tokens,
        # and batches of live objects survive into the GC's old generation, making full collections frequent.
        feed = self._assembler.feed
        text_calls = self._filter
        if text_calls is None:
            for part in self._parser.feed(data):
                yield from feed(part)
            return
        for part in self._parser.feed(data):
            for filtered in text_calls.feed(part):
                yield from feed(filtered)

    def fail(self, fault: StreamFault) -> list[Event]:
        events: list[Event] = []
        if self._filter is not None:  # text held back at a possible tag is text after all
            for part in self._filter.close():
                events += self._assembler.feed(part)
        return events + self._assembler.fail(fault.kind, fault.message, retryable=fault.retryable)

    def close(self) -> Iterator[Event]:
        feed = self._assembler.feed
        text_calls = self._filter
        for part in self._parser.close():
            if text_calls is None:
                yield from feed(part)
            else:
                for filtered in text_calls.feed(part):
                    yield from feed(filtered)
        if text_calls is not None:
            for part in text_calls.close():
                yield from feed(part)
        yield from self._assembler.close()


class EventStream:
    """The events of one model response, read lazily from its bytes with ``async for``.

    Single use: it consumes its byte source, and closes it once the response's terminal event is out.
    """

    def __init__(
        self,
        wire: WireFormat,
        chunks: Iterable[bytes] | AsyncIterable[bytes],
        *,
        previews: bool = True,
        provider: str | None = None,
        max_frame_size: int = MAX_FRAME_SIZE,
        made_up_ids: Iterator[str] | None = None,
        text_tool_calls: TextCallFormat | None = None,
    ) -> None:
        assembler = Assembler(previews=previews, provider=provider, made_up_ids=made_up_ids)
        text_calls = TextCallFilter(text_tool_calls) if text_tool_calls is not None else None
        parser = for_wire(wire).parser(max_frame_size)
        self._pipeline = _Pipeline(parser, assembler, text_calls)
        self._chunks = chunks
        self._started = False

    @property
    def is_sync(self) -> bool:
        """The byte source is a plain iterable, so ``for`` works too."""
        return _is_sync(self._chunks)

    @property
    def reasoning(self) -> list[Reasoning]:
        """The reasoning blocks read so far, with their signatures, ids and encrypted content (which no event
        carries): what ``collect`` puts in ``AssistantMessage.reasoning`` for this stream."""
        return self._pipeline.reasoning

    def __aiter__(self) -> AsyncIterator[Event]:
        self._claim()
        if isinstance(self._chunks, AsyncIterable):
            return self._from_async(self._chunks)
        return self._from_sync_async(self._chunks)

    if not TYPE_CHECKING:  # hidden from type checkers, so that an async-only stream is not an Iterable

        def __iter__(self) -> Iterator[Event]:
            return self._sync_events()

    def _sync_events(self) -> Iterator[Event]:
        if not self.is_sync:
            raise TypeError(
                "this EventStream reads an async byte source: iterate it with `async for`"
                " (plain `for` needs the chunks as a sync iterable)"
            )
        self._claim()
        return self._from_sync(self._chunks)  # type: ignore[arg-type]

    def _claim(self) -> None:
        if self._started:
            raise RuntimeError("an EventStream can be iterated only once (it consumes its byte source)")
        self._started = True

    async def _from_async(self, chunks: AsyncIterable[bytes]) -> AsyncIterator[Event]:
        pipeline = self._pipeline
        iterator = aiter(chunks)
        try:
            while True:
                try:
                    data = await anext(iterator)
                except StopAsyncIteration:
                    break
                except StreamFault as fault:
                    for event in pipeline.fail(fault):
                        yield event
                    return
                for event in pipeline.feed(data):
                    yield event
                if pipeline.done:
                    return
            for event in pipeline.close():
                yield event
        finally:
            close = getattr(iterator, "aclose", None)
            if close is not None:
                await close()

    async def _from_sync_async(self, chunks: Iterable[bytes]) -> AsyncIterator[Event]:
        for event in self._from_sync(chunks):
            yield event

    def _from_sync(self, chunks: Iterable[bytes]) -> Iterator[Event]:
        pipeline = self._pipeline
        iterator = iter(chunks)
        try:
            while True:
                try:
                    data = next(iterator)
                except StopIteration:
                    break
                except StreamFault as fault:
                    yield from pipeline.fail(fault)
                    return
                yield from pipeline.feed(data)
                if pipeline.done:
                    return
            yield from pipeline.close()
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()


class SyncEventStream(EventStream):
    """An ``EventStream`` over a sync byte source: ``for`` works as well as ``async for``."""

    def __iter__(self) -> Iterator[Event]:
        return self._sync_events()


@overload
def parse_stream(
    wire: WireFormat,
    chunks: Iterable[bytes],
    *,
    previews: bool = True,
    provider: str | None = None,
    max_frame_size: int = MAX_FRAME_SIZE,
    made_up_ids: Iterator[str] | None = None,
    text_tool_calls: TextCallFormat | None = None,
) -> SyncEventStream: ...
@overload
def parse_stream(
    wire: WireFormat,
    chunks: AsyncIterable[bytes],
    *,
    previews: bool = True,
    provider: str | None = None,
    max_frame_size: int = MAX_FRAME_SIZE,
    made_up_ids: Iterator[str] | None = None,
    text_tool_calls: TextCallFormat | None = None,
) -> EventStream: ...
def parse_stream(
    wire: WireFormat,
    chunks: Iterable[bytes] | AsyncIterable[bytes],
    *,
    previews: bool = True,
    provider: str | None = None,
    max_frame_size: int = MAX_FRAME_SIZE,
    made_up_ids: Iterator[str] | None = None,
    text_tool_calls: TextCallFormat | None = None,
) -> EventStream:
    """Read a provider's raw stream as normalized events.

    ``chunks`` may be split anywhere. A ``StreamFault`` raised by the source ends the stream with a
    ``StreamError`` of the fault's kind (text and finished calls before it are kept); other exceptions
    propagate. ``previews=False`` leaves ``ToolArgumentsDelta.partial`` as ``None``. A line or SSE event longer
    than ``max_frame_size`` characters (16 Mi) ends the stream as ``malformed`` instead of being buffered.
    Calls sent without an id get ``call_0``, ``call_1``...; pass one ``made_up_ids`` iterator to several streams
    (as a session does) to keep those ids unique across them.

    ``text_tool_calls`` (``"hermes"``, ``"mistral"``, ``"llama3"``) reads tool calls that the server left in the
    text (no tool-call parser) as tool calls: they never show as text and get the events of native calls.
    """
    if text_tool_calls is not None and text_tool_calls not in TEXT_CALL_FORMATS:
        raise ValueError(
            f"unknown text_tool_calls format {text_tool_calls!r}; expected one of: {', '.join(TEXT_CALL_FORMATS)}"
        )
    if isinstance(chunks, (bytes, bytearray, memoryview, str)):
        raise TypeError("chunks must be an iterable of bytes chunks: wrap a whole stream in a list, [data]")
    stream_type = SyncEventStream if _is_sync(chunks) else EventStream
    return stream_type(
        wire,
        chunks,
        previews=previews,
        provider=provider,
        max_frame_size=max_frame_size,
        made_up_ids=made_up_ids,
        text_tool_calls=text_tool_calls,
    )


@overload
def collect(events: Iterable[Event]) -> AssistantMessage: ...
@overload
def collect(events: AsyncIterable[Event]) -> Awaitable[AssistantMessage]: ...
def collect(events: Iterable[Event] | AsyncIterable[Event]) -> AssistantMessage | Awaitable[AssistantMessage]:
    """Assemble one response's events into an ``AssistantMessage``.

    A sync iterable gives the message; an async one gives an awaitable. Session events (tool results, steps)
    are ignored. The reasoning of an ``EventStream`` comes whole, as the provider sent it (signatures, ids,
    encrypted content: what the next request must carry back); other events give only its text, a block for
    each run of ``ReasoningDelta`` events.
    """
    if isinstance(events, EventStream):
        if events.is_sync:
            return _collect_sync(events, events)  # type: ignore[arg-type]
        return _collect_async(events, events)
    if isinstance(events, Iterable):
        return _collect_sync(events)
    if isinstance(events, AsyncIterable):
        return _collect_async(events)
    raise TypeError(f"collect() needs an iterable of events, not {type(events).__name__}")


def _collect_sync(events: Iterable[Event], stream: EventStream | None = None) -> AssistantMessage:
    builder = MessageBuilder(stream)
    for event in events:
        builder.add(event)
    return builder.message()


async def _collect_async(events: AsyncIterable[Event], stream: EventStream | None = None) -> AssistantMessage:
    builder = MessageBuilder(stream)
    async for event in events:
        builder.add(event)
    return builder.message()


def _is_sync(chunks: object) -> bool:
    return isinstance(chunks, Iterable) and not isinstance(chunks, AsyncIterable)


class MessageBuilder:
    """Builds one AssistantMessage from events as they arrive (what ``collect`` and the session use).

    Given the ``EventStream`` the events come from, the message's reasoning is the stream's, whole (signatures,
    ids, encrypted content); without it, a text-only block for each run of ``ReasoningDelta`` events.
    """

    __slots__ = ("_calls", "_error", "_finished", "_reasoning", "_stream", "_text", "_thinking", "_usage")

    def __init__(self, stream: EventStream | None = None) -> None:
        self._stream = stream
        self._text: list[str] = []
        self._reasoning: list[list[str]] = []  # the runs of ReasoningDelta texts
        self._thinking = False  # the last event of the response was a ReasoningDelta
        self._calls: list[tuple[int, ToolCall]] = []
        self._finished: MessageFinished | None = None
        self._usage: TokenUsage | None = None
        self._error: StreamFailure | None = None

    def add(self, event: Event) -> None:
        if isinstance(event, ToolArgumentsDelta):
            return  # the most frequent event; the ready call carries its whole arguments
        if isinstance(event, ReasoningDelta):
            if not self._thinking:
                self._reasoning.append([])
                self._thinking = True
            self._reasoning[-1].append(event.text)
            return
        self._thinking = False
        if isinstance(event, TextDelta):
            self._text.append(event.text)
        elif isinstance(event, ToolCallReady):
            call = ToolCall(
                id=event.id,
                name=event.name,
                arguments=event.arguments,
                raw_arguments=event.raw_arguments,
                error=event.error,
            )
            self._calls.append((event.position, call))
        elif isinstance(event, Usage):
            self._usage = TokenUsage(
                input_tokens=event.input_tokens,
                output_tokens=event.output_tokens,
                cached_tokens=event.cached_tokens,
                cache_write_tokens=event.cache_write_tokens,
            )
        elif isinstance(event, MessageFinished):
            self._finished = event
        elif isinstance(event, StreamError):
            self._error = StreamFailure(
                kind=event.kind, message=event.message, retryable=event.retryable, provider=event.provider
            )

    def message(self) -> AssistantMessage:
        finished = self._finished
        calls = sorted(self._calls, key=lambda entry: entry[0])  # stable: call order within the response
        if self._stream is not None:
            reasoning = self._stream.reasoning
        else:
            reasoning = [Reasoning(text="".join(run)) for run in self._reasoning]
        return AssistantMessage(
            text="".join(self._text),
            reasoning=reasoning,
            tool_calls=[call for _, call in calls],
            stop_reason=finished.stop_reason if finished is not None else None,
            raw_stop_reason=finished.raw_stop_reason if finished is not None else None,
            usage=self._usage,
            error=self._error,
        )
