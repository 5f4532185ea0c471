"""Fuzzing: mutated provider streams never make the parser or the assembler raise.

Hypothesis mutates every recorded fixture (byte flips, truncation, duplicated, dropped, reordered and garbage
frames, random chunking, a fault from the byte source) and generates frames of the right envelope whose fields
hold random JSON. Whatever the input, a response's events must obey the event contract: exactly one terminal
event, last; every event serializes and reads back; each call starts once, then is readied once with either
arguments or an error; ``collect`` agrees with the events; the reasoning blocks a stream keeps hold the
reasoning shown, each piece once. Splitting the bytes differently, switching previews
off, or reading through the async path must not change the events.

``NBSTREAM_FUZZ_SCALE=10`` runs ten times as many cases (the default totals a little over 10,000); add
``--timeout=0`` then, as a test takes longer than pytest-timeout's limit.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from helpers import FIXTURES, split, texts, wire_of
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from nbstream._assembly import Assembler
from nbstream._errors import StreamFault
from nbstream._events import (
    EVENTS,
    Event,
    MessageFinished,
    ReasoningDelta,
    StreamError,
    ToolArgumentsDelta,
    ToolCallReady,
    ToolCallStarted,
)
from nbstream._messages import Reasoning
from nbstream._parse import collect, parse_stream
from nbstream._providers import WireFormat, for_wire
from nbstream._reasoning import BLOCK_SEPARATOR


def _ndjson(wire: WireFormat) -> bool:
    return for_wire(wire).framing == "ndjson"


def _frames(wire: WireFormat, data: bytes) -> list[bytes]:
    """The fixture's frames with their separators: SSE events end at a blank line, NDJSON at a newline."""
    if _ndjson(wire):
        return data.splitlines(keepends=True)
    return [frame for frame in re.split(rb"(?<=\n\n)", data) if frame]


STREAMS: dict[str, tuple[WireFormat, bytes]] = {
    path.name: (wire_of(path.name), path.read_bytes())
    for path in sorted(FIXTURES.iterdir())
    if path.suffix in (".sse", ".ndjson")
}
FRAMES: dict[str, list[bytes]] = {name: _frames(wire, data) for name, (wire, data) in STREAMS.items()}
ALL_FRAMES: list[bytes] = [frame for frames in FRAMES.values() for frame in frames]
assert len(STREAMS) == 26, sorted(STREAMS)  # every shared fixture, so a new one is fuzzed too

Stream = tuple[WireFormat, bytes, list[int]]
"""A wire format, the stream's bytes, and where the byte source cuts them."""

_SCALE = float(os.environ.get("NBSTREAM_FUZZ_SCALE", "1"))

settings.register_profile(
    "nbstream-fuzz",
    database=None,  # each CI run is independent, and nothing is written into the repository
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_FUZZ = settings.get_profile("nbstream-fuzz")


def fuzz_settings(cases: int) -> settings:
    return settings(_FUZZ, max_examples=max(1, round(cases * _SCALE)))


# ---------------------------------------------------------------------------------------------------------
# Strategies: byte streams


@st.composite
def garbage_frames(draw: st.DrawFn) -> bytes:
    """A frame that does not belong: noise, a broken or foreign frame, an end marker out of place."""
    return draw(
        st.one_of(
            st.binary(max_size=40),
            st.sampled_from(ALL_FRAMES),  # from any fixture, so often another wire's
            st.sampled_from(
                [
                    b"data: [DONE]\n\n",
                    b"data: {\n\n",
                    b"data: null\n\n",
                    b"data: []\n\n",
                    b'data: "text"\n\n',
                    b"event: error\ndata: {}\n\n",
                    b": keep-alive\n\n",
                    b"\r\n\r\n",
                    b"\xef\xbb\xbf",
                    b"\xff\xfe\x00",
                    b'{"done": true}\n',
                    b'{"message": {"tool_calls": [{"function": {}}]}}\n',
                    b'data: {"choices": [{"delta": {"tool_calls": [{"index": 0}]}}]}\n\n',
                    b'data: {"type": "content_block_stop", "index": 1}\n\n',
                    b'data: {"type": "response.output_item.done", "item": {"type": "function_call"}}\n\n',
                ]
            ),
        )
    )


@st.composite
def mutated_frames(draw: st.DrawFn, frames: list[bytes]) -> list[bytes]:
    """Frames duplicated, dropped, swapped, moved, or with garbage inserted."""
    frames = list(frames)
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["duplicate", "drop", "swap", "move", "garbage", "shuffle"]))
        if op == "garbage":
            frames.insert(draw(st.integers(0, len(frames))), draw(garbage_frames()))
            continue
        if not frames:
            continue
        i = draw(st.integers(0, len(frames) - 1))
        j = draw(st.integers(0, len(frames) - 1))
        if op == "duplicate":
            frames.insert(j, frames[i])
        elif op == "drop":
            del frames[i]
        elif op == "swap":
            frames[i], frames[j] = frames[j], frames[i]
        elif op == "move":
            frames.insert(j, frames.pop(i))
        else:
            frames = draw(st.permutations(frames))
    return frames


@st.composite
def mutated_bytes(draw: st.DrawFn, data: bytes) -> bytes:
    """Bytes flipped, inserted, deleted, or the stream truncated."""
    buffer = bytearray(data)
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        position = draw(st.integers(0, len(buffer)))
        if op == "insert":
            buffer[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif op == "truncate":
            del buffer[position:]
        elif position == len(buffer):
            continue
        elif op == "flip":
            buffer[position] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            buffer[position] = draw(st.sampled_from(b'\x00\n\r"{}[]:,\\ \x80\xff'))
        else:
            del buffer[position : position + draw(st.integers(1, 16))]
    return bytes(buffer)


@st.composite
def cut_points(draw: st.DrawFn, data: bytes) -> list[int]:
    """Where the byte source splits the stream (anywhere, including inside a UTF-8 character)."""
    if len(data) < 2:
        return []
    if draw(st.integers(0, 3)) == 0:  # many small pieces, like a slow connection
        step = draw(st.sampled_from([1, 2, 3, 5, 8, 13]))
        return list(range(step, len(data), step))
    return sorted(set(draw(st.lists(st.integers(1, len(data) - 1), max_size=12))))


@st.composite
def mutated_streams(draw: st.DrawFn) -> Stream:
    """A fixture with frame-level and byte-level mutations, and a random chunking."""
    name = draw(st.sampled_from(sorted(STREAMS)))
    wire = STREAMS[name][0]
    data = b"".join(draw(mutated_frames(FRAMES[name])))
    line_end = draw(st.sampled_from([b"\n", b"\n", b"\r\n", b"\r"]))  # SSE allows all three
    data = draw(mutated_bytes(data.replace(b"\n", line_end)))
    return wire, data, draw(cut_points(data))


@st.composite
def garbage_streams(draw: st.DrawFn) -> Stream:
    """Any wire reading frames picked from every fixture and noise (often another wire's)."""
    wire = draw(st.sampled_from(sorted({wire for wire, _ in STREAMS.values()})))
    data = b"".join(draw(st.lists(garbage_frames(), max_size=12)))
    return wire, data, draw(cut_points(data))


# ---------------------------------------------------------------------------------------------------------
# Strategies: frames of the right envelope with random field values

_FIELDS = [
    "type", "index", "id", "name", "arguments", "delta", "content", "tool_calls", "function", "choices",
    "finish_reason", "usage", "error", "message", "done", "done_reason", "item", "item_id", "call_id",
    "output_index", "partial_json", "text", "content_block", "stop_reason", "response", "object",
    "incomplete_details", "reason", "code", "input_tokens", "output_tokens", "prompt_tokens",
    "completion_tokens", "prompt_eval_count", "eval_count", "thinking", "signature", "data",
    "reasoning_content", "reasoning", "summary", "summary_index", "content_index", "encrypted_content",
]  # fmt: skip
_TYPES = [
    "message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta",
    "message_stop", "error", "text", "tool_use", "text_delta", "input_json_delta", "function_call",
    "response.output_text.delta", "response.output_item.added", "response.function_call_arguments.delta",
    "response.output_item.done", "response.completed", "response.incomplete", "response.failed",
    "overloaded_error", "rate_limit_error", "thinking", "redacted_thinking", "thinking_delta",
    "signature_delta", "reasoning", "summary_text", "response.reasoning_summary_text.delta",
    "response.reasoning_text.delta",
]  # fmt: skip
_ODD_TEXT = ["", " ", "\ud800", "x\udfffy", "\ud83d", "{", '{"a": ', '"}', "[DONE]", "\\u00", "\x00", "null"]
_DEEP_TEXT = ['{"a": ' * 150 + "1" + "}" * 150, "[" * 300, '{"a": [' + "[" * 250 + "]" * 250 + "]}"]
_DEEP_VALUE = json.loads("[" * 220 + "]" * 220)  # nested deeper than events can be serialized

JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.integers(),
    st.floats(),  # NaN and infinities too: Python's json reads them back
    st.text(max_size=12),
    st.sampled_from(_ODD_TEXT + _DEEP_TEXT + _TYPES + _FIELDS),
    st.just(_DEEP_VALUE),
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(_FIELDS) | st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
REPLACEMENTS = JSON_LEAVES | JSON_VALUES  # a plain leaf half of the time: st.recursive is slow to draw


def _envelope(wire: WireFormat, frame: bytes) -> tuple[str | None, Any] | None:
    """A fixture frame as (SSE event name, JSON payload); ``None`` for frames that carry no JSON object."""
    text = frame.decode()
    if _ndjson(wire):
        return None, json.loads(text)
    event = re.search(r"^event: ?(.*)$", text, re.M)
    data = re.search(r"^data: ?(.*)$", text, re.M)
    if data is None or not data.group(1).startswith("{"):
        return None
    return (event.group(1) if event else None), json.loads(data.group(1))


ENVELOPES: dict[str, list[tuple[str | None, Any] | None]] = {
    name: [_envelope(STREAMS[name][0], frame) for frame in frames] for name, frames in FRAMES.items()
}


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for position, item in enumerate(value):
            yield from _paths(item, (*prefix, position))


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    value = copy.copy(value)
    step, rest = path[0], path[1:]
    value[step] = _replaced(value[step], rest, new) if rest else new  # the last step may add a key
    return value


@st.composite
def reshaped_envelope(draw: st.DrawFn, obj: Any) -> Any:
    """The payload with one to three places given random JSON (or a known field added)."""
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_paths(obj))))
        target = obj
        for step in path:
            target = target[step]
        if isinstance(target, dict) and draw(st.booleans()):
            path = (*path, draw(st.sampled_from(_FIELDS)))
        obj = _replaced(obj, path, draw(REPLACEMENTS))
    return obj


def _render(wire: WireFormat, event: str | None, obj: Any) -> bytes:
    payload = json.dumps(obj)  # ASCII escapes, so a lone surrogate travels as "\ud800"
    if _ndjson(wire):
        return payload.encode() + b"\n"
    head = f"event: {event}\n" if event is not None else ""
    return f"{head}data: {payload}\n\n".encode()


@st.composite
def reshaped_streams(draw: st.DrawFn) -> Stream:
    """A fixture where some frames keep their envelope but hold random values in random fields."""
    name = draw(st.sampled_from(sorted(STREAMS)))
    wire = STREAMS[name][0]
    frames = list(FRAMES[name])
    envelopes = ENVELOPES[name]
    candidates = [i for i, envelope in enumerate(envelopes) if envelope is not None]
    for i in draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=4)):
        event, obj = envelopes[i]  # type: ignore[misc]
        frames[i] = _render(wire, event, draw(reshaped_envelope(obj)))
    if draw(st.booleans()):
        frames = draw(mutated_frames(frames))
    data = b"".join(frames)
    return wire, data, draw(cut_points(data))


# ---------------------------------------------------------------------------------------------------------
# Running a stream, and what must hold


class _Source:
    """A byte source that may raise a ``StreamFault`` before one of its chunks, and records being closed."""

    def __init__(self, chunks: list[bytes], fault_at: int | None) -> None:
        self.chunks = chunks
        self.fault_at = fault_at
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            for position, chunk in enumerate(self.chunks):
                if position == self.fault_at:
                    raise StreamFault("interrupted", "connection dropped", retryable=True)
                yield chunk
        finally:
            self.closed = True

    async def stream(self) -> AsyncIterator[bytes]:
        try:
            for position, chunk in enumerate(self.chunks):
                if position % 8 == 0:
                    await asyncio.sleep(0)  # let the loop run, as a socket read would
                if position == self.fault_at:
                    raise StreamFault("interrupted", "connection dropped", retryable=True)
                yield chunk
        finally:
            self.closed = True


def _direct(wire: WireFormat, data: bytes, *, previews: bool) -> list[Event]:
    """Parser and assembler without ``parse_stream``: every byte reaches the parser, even past the end."""
    parser = for_wire(wire).parser()
    assembler = Assembler(previews=previews, provider="fuzz")
    parts = parser.feed(data) + parser.close()
    events: list[Event] = []
    for part in parts:
        events += assembler.feed(part)
    return events + assembler.close()


def _dump(events: list[Event]) -> bytes:
    return EVENTS.dump_json(events)


def _without_previews(events: list[Event]) -> bytes:
    return _dump(
        [e.model_copy(update={"partial": None}) if isinstance(e, ToolArgumentsDelta) else e for e in events]
    )


def check_response(events: list[Event], *, previews: bool) -> None:
    """The event contract of one response, and ``collect``'s agreement with it."""
    assert events, "a response always ends with a terminal event"
    terminals = [i for i, e in enumerate(events) if isinstance(e, (MessageFinished, StreamError))]
    assert terminals == [len(events) - 1], events

    blob = _dump(events)
    assert _dump(EVENTS.validate_json(blob)) == blob

    started: dict[str, ToolCallStarted] = {}
    fragments: dict[str, list[str]] = {}
    previewed: dict[str, Any] = {}  # the latest preview of each call
    readied: dict[str, ToolCallReady] = {}
    for event in events:
        if isinstance(event, ToolCallStarted):
            assert event.id not in started, f"call {event.id} started twice"
            assert event.position == len(started)
            started[event.id] = event
            fragments[event.id] = []
        elif isinstance(event, ToolArgumentsDelta):
            assert event.id in started and event.id not in readied, event
            assert previews or event.partial is None
            fragments[event.id].append(event.fragment)
            previewed[event.id] = event.partial
        elif isinstance(event, ToolCallReady):
            assert event.id in started, f"call {event.id} readied before it started"
            assert event.id not in readied, f"call {event.id} readied twice"
            readied[event.id] = event
            assert (event.position, event.name) == (started[event.id].position, started[event.id].name)
            assert event.raw_arguments == "".join(fragments[event.id])
            if event.arguments is None:
                assert isinstance(event.error, str) and event.error, event
            else:
                assert isinstance(event.arguments, dict) and event.error is None, event
                # a small buffer's preview is rebuilt on every fragment: it may be missing, never wrong
                preview = previewed.get(event.id)
                assert preview is None or len(event.raw_arguments) > 4096 or preview == event.arguments
    assert readied.keys() == started.keys(), "a started call was never readied"

    message = collect(events)
    assert message.text == texts(events)
    shown = "".join(event.text for event in events if isinstance(event, ReasoningDelta))
    assert "".join(block.text for block in message.reasoning) == shown
    by_position = sorted(readied.values(), key=lambda call: call.position)
    assert [call.id for call in message.tool_calls] == [call.id for call in by_position]
    terminal = events[-1]
    if isinstance(terminal, StreamError):
        assert message.error is not None and message.error.kind == terminal.kind
        assert message.stop_reason is None
    else:
        assert isinstance(terminal, MessageFinished)
        assert message.error is None and message.stop_reason == terminal.stop_reason


def check_blocks(events: list[Event], blocks: list[Reasoning]) -> None:
    """The blocks a stream keeps hold every piece of reasoning shown, each once: the deltas are the blocks'
    texts, with a blank line before the first piece of a block that follows another's."""
    shown = "".join(event.text for event in events if isinstance(event, ReasoningDelta))
    kept = sum(len(block.text) for block in blocks)
    separators = len(shown) - kept
    assert separators % len(BLOCK_SEPARATOR) == 0
    assert 0 <= separators // len(BLOCK_SEPARATOR) < max(1, sum(bool(block.text) for block in blocks))


def check_stream(
    wire: WireFormat, data: bytes, cuts: list[int], *, previews: bool, fault_at: int | None = None
) -> list[Event]:
    """Run one stream through every reading path and check each; returns the chunked events."""
    whole = _direct(wire, data, previews=previews)
    check_response(whole, previews=previews)

    source = _Source(split(data, cuts), None)
    stream = parse_stream(wire, source, previews=previews, provider="fuzz")
    chunked = list(stream)
    assert source.closed
    assert _dump(chunked) == _dump(whole), "the events depend on how the bytes were split"
    check_blocks(chunked, stream.reasoning)

    other = list(parse_stream(wire, [data], previews=not previews, provider="fuzz"))
    check_response(other, previews=not previews)
    with_previews, without = (chunked, other) if previews else (other, chunked)
    assert _without_previews(with_previews) == _dump(without), "previews changed more than previews"

    if fault_at is not None:
        faulty = _Source(split(data, cuts), fault_at)
        broken = list(parse_stream(wire, faulty, previews=previews, provider="fuzz"))
        assert faulty.closed
        check_response(broken, previews=previews)
    return chunked


# ---------------------------------------------------------------------------------------------------------
# The fuzz tests


@fuzz_settings(4500)
@given(stream=mutated_streams(), previews=st.booleans(), fault_at=st.none() | st.integers(0, 12))
@example(  # a lone surrogate escape in the text: events must still serialize
    stream=("openai-chat", b'data: {"choices": [{"delta": {"content": "a\\ud800b"}}]}\n\n', []),
    previews=True,
    fault_at=None,
)
def test_mutated_fixtures(stream: Stream, previews: bool, fault_at: int | None) -> None:
    wire, data, cuts = stream
    check_stream(wire, data, cuts, previews=previews, fault_at=fault_at)


@fuzz_settings(4500)
@given(stream=reshaped_streams(), previews=st.booleans())
@example(  # a lone surrogate escaped inside the arguments text
    stream=(
        "anthropic",
        b'data: {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use",'
        b' "id": "t", "name": "f"}}\n\n'
        b'data: {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta",'
        b' "partial_json": "{\\"a\\": \\"\\\\udc00\\"}"}}\n\n'
        b'data: {"type": "content_block_stop", "index": 0}\n\ndata: {"type": "message_stop"}\n\n',
        [],
    ),
    previews=True,
)
@example(  # arguments nested deeper than pydantic can serialize: the call is refused, previews stop
    stream=(
        "anthropic",
        b'data: {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use",'
        b' "id": "t", "name": "f"}}\n\n'
        b'data: {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta",'
        b' "partial_json": "{\\"a\\": ' + b"[" * 250 + b"]" * 250 + b'}"}}\n\n'
        b'data: {"type": "content_block_stop", "index": 0}\n\ndata: {"type": "message_stop"}\n\n',
        [],
    ),
    previews=True,
)
@example(  # the same as an Ollama arguments object
    stream=(
        "ollama",
        b'{"message": {"tool_calls": [{"function": {"name": "f", "arguments": {"a": '
        + b"[" * 250
        + b"]" * 250
        + b'}}}]}, "done": true}\n',
        [],
    ),
    previews=True,
)
def test_reshaped_frames(stream: Stream, previews: bool) -> None:
    wire, data, cuts = stream
    check_stream(wire, data, cuts, previews=previews)


@fuzz_settings(1100)
@given(stream=garbage_streams(), previews=st.booleans())
def test_foreign_and_garbage_frames(stream: Stream, previews: bool) -> None:
    wire, data, cuts = stream
    check_stream(wire, data, cuts, previews=previews)


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """One event loop for every example (a new loop per example would cost more than the example)."""
    event_loop = asyncio.new_event_loop()
    yield event_loop
    event_loop.close()


@fuzz_settings(400)
@given(
    stream=st.one_of(mutated_streams(), reshaped_streams(), garbage_streams()),
    previews=st.booleans(),
    fault_at=st.none() | st.integers(0, 12),
)
def test_async_path(
    loop: asyncio.AbstractEventLoop, stream: Stream, previews: bool, fault_at: int | None
) -> None:
    """``async for`` over an async byte source gives the sync path's events and closes the source."""
    wire, data, cuts = stream
    source = _Source(split(data, cuts), fault_at)
    expected = list(parse_stream(wire, _Source(split(data, cuts), fault_at), previews=previews))

    async def read() -> tuple[list[Event], bytes]:
        events = [event async for event in parse_stream(wire, source.stream(), previews=previews)]
        again = _Source(split(data, cuts), fault_at)
        message = await collect(parse_stream(wire, again.stream(), previews=previews))
        assert again.closed
        return events, message.model_dump_json().encode()

    events, message = loop.run_until_complete(read())
    assert source.closed
    check_response(events, previews=previews)
    assert _dump(events) == _dump(expected)
    # collect over a stream keeps its reasoning blocks whole, on either path
    whole = collect(parse_stream(wire, _Source(split(data, cuts), fault_at), previews=previews))
    assert message == whole.model_dump_json().encode()


@st.composite
def ollama_whole_calls(draw: st.DrawFn) -> tuple[list[str], bytes]:
    """Whole Ollama calls, some with ids that look like the ones the parser makes up (``call_<n>``)."""
    count = draw(st.integers(1, 5))
    ids = draw(st.lists(st.sampled_from(["call_0", "call_1", "call_2", "call_1_", "x"]), unique=True))
    names = [f"tool{n}" for n in range(count)]
    calls: list[dict[str, Any]] = []
    for name in names:
        call: dict[str, Any] = {"function": {"name": name, "arguments": {}}}
        with_id = draw(st.booleans())
        if ids and with_id:
            call["id"] = ids.pop()
        calls.append(call)
    lines = [{"message": {"content": "", "tool_calls": [call]}, "done": False} for call in calls]
    lines.append({"message": {"content": ""}, "done": True, "done_reason": "stop"})
    return names, b"".join(json.dumps(line).encode() + b"\n" for line in lines)


@fuzz_settings(200)
@given(calls=ollama_whole_calls())
@example(
    calls=(
        ["tool0", "tool1"],
        b'{"message": {"tool_calls": [{"id": "call_1", "function": {"name": "tool0"}},'
        b' {"function": {"name": "tool1"}}]}, "done": true}\n',
    )
)
@example(
    calls=(
        ["tool0", "tool1"],
        b'{"message": {"tool_calls": [{"function": {"name": "tool0"}},'
        b' {"id": "call_0", "function": {"name": "tool1"}}]}, "done": true}\n',
    )
)
def test_ollama_whole_calls_are_never_lost(calls: tuple[list[str], bytes]) -> None:
    """Each whole call is a call of its own, whatever ids the model gave: none is mistaken for a replay."""
    names, data = calls
    events = list(parse_stream("ollama", [data]))
    check_response(events, previews=True)
    assert [call.name for call in collect(events).tool_calls] == names
