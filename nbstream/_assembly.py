"""Provider parts → normalized events: assembles streamed tool calls and decides how a response ended.

Every rule here comes from a real provider's stream (see ``tests/fixtures/SOURCES.txt``):

* One accumulator per call, keyed by id. A part carrying an id belongs to the call with that id, and a *new*
  id starts a new call even at an index already used (Ollama's OpenAI endpoint sends parallel calls all at
  index 0). A part without id belongs to the latest call at its index; with neither, to the latest call.
* An id is not always unique (OpenRouter engines, GLM / Kimi-style ids): the same id at another index, or a
  whole new call (another tool's name, or a new JSON object after a complete one) under an open call's id, is
  a second call. It gets the id made unique (``id_2``), so its arguments are never glued to the first's.
* Calls sent without an id get one from ``made_up_ids``; a session shares one source across its responses,
  so a made-up id never names two different calls.
* The name is set once (servers resend it); ``ToolCallStarted`` waits for it.
* A call is final when its block / item ends (``ToolEndPart``), when the model says why it stopped
  (``FinishPart``: nothing more comes for any call; OpenAI Chat ends its calls only so) or when the stream
  ends; never because its buffer happens to parse: ``{"query": "test"}`` may be followed by
  ``, "limit": 10}``. Arguments are parsed once.
* A replayed part for a call that is already final never reopens it.
* A call that cannot run is readied with an error and its kind (``CallErrorKind``): arguments that are not a
  JSON object (``invalid_json``), no tool name (``no_name``), a stream that broke before the call was final
  (``incomplete``), or JSON left open by the output-token limit (``truncated``).

* Reasoning parts become ``ReasoningDelta`` events and the response's ``Reasoning`` blocks
  (``nbstream._reasoning``); text or a call ends the block that reasoning without a key continues.

The parsers only report what the wire said; this is the one place that decides which call a fragment belongs
to and when a call is final.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from ._events import (
    CallErrorKind,
    ErrorKind,
    Event,
    MessageFinished,
    StreamError,
    TextDelta,
    ToolArgumentsDelta,
    ToolCallReady,
    ToolCallStarted,
    Usage,
)
from ._messages import Reasoning
from ._partial_json import MAX_DEPTH, PartialJSON, nested_too_deep
from ._reasoning import ReasoningBlocks
from ._wire._frames import load_json
from ._wire._parts import (
    EndPart,
    ErrorPart,
    FinishPart,
    Part,
    ReasoningPart,
    TextPart,
    ToolEndPart,
    ToolPart,
    UsagePart,
)

__all__ = ["INCOMPLETE_CALL", "NO_NAME", "TRUNCATED_CALL", "Assembler", "made_up_ids"]

INCOMPLETE_CALL = "the stream ended before the call was complete"
TRUNCATED_CALL = "the response hit the output-token limit inside this call"
NO_NAME = "the model sent a tool call without a name"


def made_up_ids() -> Iterator[str]:
    """``call_0``, ``call_1``, ...: ids for calls that came without one."""
    return (f"call_{n}" for n in itertools.count())


class _Call:
    """What is known so far about one tool call."""

    __slots__ = (
        "final",
        "fragments",
        "id",
        "index",
        "name",
        "position",
        "preview",
        "started",
        "wire_id",
    )

    def __init__(self, call_id: str, wire_id: str | None, index: int | None, *, previews: bool) -> None:
        self.id = call_id  # unique in the response
        self.wire_id = wire_id  # the id the provider sent, if any
        self.index = index
        self.position = -1  # given when the call starts, so that calls start in position order
        self.name: str | None = None
        self.fragments: list[str] = []
        self.started = False
        self.final = False
        self.preview: PartialJSON | None = PartialJSON() if previews else None


class Assembler:
    """Turns one response's parts into events. Emits exactly one terminal event; ignores anything after it."""

    def __init__(
        self,
        *,
        previews: bool = True,
        provider: str | None = None,
        made_up_ids: Iterator[str] | None = None,
    ) -> None:
        self._previews = previews
        self._provider = provider
        self._made_up_ids = made_up_ids
        self._calls: list[_Call] = []
        self._by_id: dict[str, _Call] = {}  # by the call's own (unique) id
        self._by_wire_id: dict[str, _Call] = {}  # by the id the provider sent: the latest call sent with it
        self._by_index: dict[int, _Call] = {}
        self._started = 0  # calls started so far: the next call's position
        self._finish: FinishPart | None = None
        self._input_tokens: int | None = None
        self._output_tokens: int | None = None
        self._cached_tokens: int | None = None
        self._cache_write_tokens: int | None = None
        self._usage_seen = False
        self._done = False
        self._reasoning = ReasoningBlocks()

    @property
    def done(self) -> bool:
        """The terminal event (``MessageFinished`` or ``StreamError``) has been emitted."""
        return self._done

    @property
    def reasoning(self) -> list[Reasoning]:
        """The response's reasoning blocks so far, with what the wire said to send them back."""
        return self._reasoning.blocks()

    def feed(self, part: Part) -> list[Event]:
        """Events caused by one part (often none)."""
        if self._done:
            return []
        if isinstance(part, ToolPart):
            return self._on_tool(part)
        if isinstance(part, TextPart):
            if not part.text:
                return []
            self._reasoning.open = None  # reasoning after this text is a new block
            return [TextDelta(text=part.text)]
        if isinstance(part, ReasoningPart):
            return self._reasoning.feed(part)
        if isinstance(part, ToolEndPart):
            call = self._find_ended(part)
            return [] if call is None or call.final else self._ready(call, incomplete=False)
        if isinstance(part, UsagePart):
            self._on_usage(part)
            return []
        if isinstance(part, FinishPart):
            self._finish = part  # first: a call it ends with broken JSON was cut by the limit if it says so
            return self._ready_open_calls(incomplete=False)
        if isinstance(part, EndPart):
            return self._end()
        if isinstance(part, ErrorPart):
            return self.fail(part.kind, part.message, retryable=part.retryable)
        raise TypeError(f"not a provider part: {part!r}")

    def fail(self, kind: ErrorKind, message: str, *, retryable: bool = False) -> list[Event]:
        """The byte source broke: unfinished calls are readied with an error, then ``StreamError``."""
        if self._done:
            return []
        events = self._ready_open_calls(incomplete=True)
        self._close(events)
        events.append(StreamError(kind=kind, message=message, retryable=retryable, provider=self._provider))
        return events

    def close(self) -> list[Event]:
        """The bytes ran out. Without the end marker (or at least a finish reason) the response was cut."""
        if self._done:
            return []
        if self._finish is not None:
            return self._end()
        source = f"the {self._provider} stream" if self._provider else "the stream"
        return self.fail("interrupted", f"{source} ended before its end marker", retryable=True)

    # -- tool calls ---------------------------------------------------------------------------------------

    def _on_tool(self, part: ToolPart) -> list[Event]:
        self._reasoning.open = None  # reasoning after a call is a new block
        if part.id is None and part.name is None and part.index is not None:
            # the hot path, once per token: another fragment for a started call at a known index
            call = self._by_index.get(part.index)
            if call is not None and call.started and not call.final:
                fragment = part.arguments
                if not fragment:
                    return []
                call.fragments.append(fragment)
                return [self._delta(call, fragment)]
        call = self._call_for(part)
        if call is None:
            return []
        events: list[Event] = []
        if call.name is None and part.name:
            call.name = part.name
        if part.arguments:
            call.fragments.append(part.arguments)
            if call.started:
                events.append(self._delta(call, part.arguments))
        if not call.started and call.name is not None:
            self._start(call, events)
        return events

    def _call_for(self, part: ToolPart) -> _Call | None:
        """The call a fragment belongs to, created if needed; ``None`` when the fragment must be ignored."""
        if part.id is not None:
            call = self._sent_with(part.id, part.index)
            if call is not None:
                if call.final:
                    return None  # a replayed part never reopens a call
                if self._starts_another(call, part):
                    return self._new_call(part.id, part.index)
                if part.index is not None and call.index is None:
                    call.index = part.index
                    self._by_index[part.index] = call
                return call
            if self._replays_whole(part):
                return None
            current = self._latest_at(part.index)
            if current is not None and current.wire_id is None and not current.started and not current.final:
                # the id arrived after the call's first fragment: adopt it while nobody has seen the call yet
                del self._by_id[current.id]
                current.id = self._unused(part.id)
                current.wire_id = part.id
                self._by_id[current.id] = current
                self._by_wire_id[part.id] = current
                return current
            return self._new_call(part.id, part.index)
        call = self._latest_at(part.index)
        if call is None:  # a first fragment may come before the name; an empty one says nothing
            return self._new_call(None, part.index) if part.name or part.arguments else None
        if not call.final:
            return call
        # the call this fragment would continue is final: only a fragment that names a tool starts a new one
        return self._new_call(None, part.index) if part.name else None

    def _sent_with(self, wire_id: str, index: int | None) -> _Call | None:
        """The call the provider sent with this id at this index; ``None`` for the same id at another index,
        which is another call."""
        call = self._by_wire_id.get(wire_id)
        if call is None or index is None or call.index is None or call.index == index:
            return call
        at_index = self._by_index.get(index)
        return at_index if at_index is not None and at_index.wire_id == wire_id else None

    def _replays_whole(self, part: ToolPart) -> bool:
        """The same id, name and whole arguments again, for a call already final: a duplicated event (an
        Ollama line sent twice), not a second call."""
        assert part.id is not None
        earlier = self._by_wire_id.get(part.id)
        return (
            earlier is not None
            and earlier.final
            and part.name == earlier.name
            and part.arguments == "".join(earlier.fragments)
        )

    @staticmethod
    def _starts_another(call: _Call, part: ToolPart) -> bool:
        """A whole new call under an open call's id: another tool's name, or a new JSON object that follows a
        complete one. (A name resent on every delta, as some servers do, is the same name.)"""
        if part.name is None or call.name is None:
            return False
        if part.name != call.name:
            return True
        if not part.arguments or not call.fragments or not part.arguments.lstrip().startswith("{"):
            return False
        buffered = "".join(call.fragments)
        if not buffered.rstrip().endswith("}"):
            return False
        try:
            return isinstance(load_json(buffered), dict)
        except (ValueError, RecursionError):
            return False

    def _latest_at(self, index: int | None) -> _Call | None:
        if index is None:
            return self._calls[-1] if self._calls else None
        return self._by_index.get(index)

    def _new_call(self, wire_id: str | None, index: int | None) -> _Call:
        if wire_id is None:
            source = self._made_up_ids
            if source is None:
                source = self._made_up_ids = made_up_ids()
            call_id = self._unused(next(source))
        else:
            call_id = self._unused(wire_id)
        call = _Call(call_id, wire_id, index, previews=self._previews)
        self._calls.append(call)
        self._by_id[call_id] = call
        if wire_id is not None:
            self._by_wire_id[wire_id] = call
        if index is not None:
            self._by_index[index] = call
        return call

    def _unused(self, call_id: str) -> str:
        """``call_id``, or ``call_id_2``, ``call_id_3``... if a call of this response already has it."""
        if call_id not in self._by_id:
            return call_id
        number = 2
        while f"{call_id}_{number}" in self._by_id:
            number += 1
        return f"{call_id}_{number}"

    def _start(self, call: _Call, events: list[Event]) -> None:
        call.started = True
        call.position = self._started
        self._started += 1
        events.append(ToolCallStarted(id=call.id, name=call.name or "", position=call.position))
        if call.fragments:
            buffered = "".join(call.fragments)  # arguments that came before the name
            events.append(self._delta(call, buffered))

    def _delta(self, call: _Call, fragment: str) -> ToolArgumentsDelta:
        preview = call.preview
        if preview is None:
            return ToolArgumentsDelta(id=call.id, fragment=fragment)
        partial = preview.feed(fragment)
        if preview.stopped:
            call.preview = None
        return ToolArgumentsDelta(id=call.id, fragment=fragment, partial=partial)

    def _find_ended(self, part: ToolEndPart) -> _Call | None:
        """The call at the part's index, unless the id names another call (a second call with that id ends
        by its own index); an unknown id falls back to the index (Responses may change ``call_id``)."""
        named = self._by_wire_id.get(part.id) if part.id is not None else None
        if part.index is not None:
            call = self._by_index.get(part.index)
            if call is not None and (named is None or call.wire_id == part.id):
                return call
        if named is not None:
            return named
        if part.id is None and part.index is None and self._calls:
            return self._calls[-1]
        return None

    def _ready(self, call: _Call, *, incomplete: bool) -> list[Event]:
        """Make a call final. Arguments are parsed here, once, from the exact concatenation of fragments."""
        call.final = True
        call.preview = None
        events: list[Event] = []
        if not call.started:
            self._start(call, events)  # consumers always see a call start before it is ready
        raw = "".join(call.fragments)
        arguments: dict[str, Any] | None = None
        kind: CallErrorKind | None = None
        error: str | None = None
        if incomplete:
            kind, error = "incomplete", INCOMPLETE_CALL
        elif call.name is None:
            kind, error = "no_name", NO_NAME
        else:
            arguments, error = _parse_arguments(raw)
            if error is not None:
                kind = "invalid_json"
                if self._finish is not None and self._finish.reason == "length":
                    kind, error = "truncated", TRUNCATED_CALL
        events.append(
            ToolCallReady(
                id=call.id,
                name=call.name or "",
                position=call.position,
                arguments=arguments,
                raw_arguments=raw,
                error=error,
                error_kind=kind,
            )
        )
        return events

    def _ready_open_calls(self, *, incomplete: bool) -> list[Event]:
        events: list[Event] = []
        open_calls = [call for call in self._calls if not call.final]
        # started calls in position order, then the nameless ones (they start now, in arrival order)
        open_calls.sort(key=lambda call: (not call.started, call.position))
        for call in open_calls:
            events.extend(self._ready(call, incomplete=incomplete))
        return events

    # -- the end ------------------------------------------------------------------------------------------

    def _on_usage(self, part: UsagePart) -> None:
        """Keep the latest numbers; Anthropic sends input and output tokens in different events."""
        if part.input_tokens is not None:
            self._input_tokens = part.input_tokens
            self._usage_seen = True
        if part.output_tokens is not None:
            self._output_tokens = part.output_tokens
            self._usage_seen = True
        if part.cached_tokens is not None:
            self._cached_tokens = part.cached_tokens
            self._usage_seen = True
        if part.cache_write_tokens is not None:
            self._cache_write_tokens = part.cache_write_tokens
            self._usage_seen = True

    def _end(self) -> list[Event]:
        events = self._ready_open_calls(incomplete=False)
        self._close(events)
        finish = self._finish
        reason = finish.reason if finish is not None else "stop"
        if reason == "stop" and self._calls:
            reason = "tool_calls"  # Ollama says "stop" after a tool call
        raw = finish.raw_reason if finish is not None else None
        events.append(MessageFinished(stop_reason=reason, raw_stop_reason=raw))
        return events

    def _close(self, events: list[Event]) -> None:
        """Mark the stream done and add the one ``Usage`` event, if the provider reported any."""
        self._done = True
        if self._usage_seen:
            usage = Usage(
                input_tokens=self._input_tokens,
                output_tokens=self._output_tokens,
                cached_tokens=self._cached_tokens,
                cache_write_tokens=self._cache_write_tokens,
            )
            events.append(usage)


def _parse_arguments(raw: str) -> tuple[dict[str, Any] | None, str | None]:
    """``(arguments, None)`` for a JSON object (empty text means ``{}``), else ``(None, why)``."""
    if not raw.strip():
        return {}, None
    try:
        value = load_json(raw)
    except (ValueError, RecursionError) as exc:
        return None, f"invalid JSON arguments: {exc}"
    if not isinstance(value, dict):
        return None, f"invalid JSON arguments: expected an object, got {type(value).__name__}"
    if nested_too_deep(value, raw):
        return None, f"invalid JSON arguments: nested more than {MAX_DEPTH} levels deep"
    return value, None
