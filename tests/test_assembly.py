"""The assembler, fed provider parts directly: one rule per test, each taken from a real provider's stream."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbstream._assembly import INCOMPLETE_CALL, NO_NAME, TRUNCATED_CALL, Assembler, made_up_ids
from nbstream._events import (
    Event,
    MessageFinished,
    StreamError,
    TextDelta,
    ToolArgumentsDelta,
    ToolCallReady,
    ToolCallStarted,
    Usage,
)
from nbstream._wire._parts import (
    EndPart,
    ErrorPart,
    FinishPart,
    Part,
    TextPart,
    ToolEndPart,
    ToolPart,
    UsagePart,
)


def run(*parts: Part, finish: bool = True, **options: Any) -> list[Event]:
    assembler = Assembler(**options)
    events: list[Event] = []
    for part in parts:
        events += assembler.feed(part)
    if finish:
        events += assembler.close()
    return events


def readies(events: list[Event]) -> list[ToolCallReady]:
    return [event for event in events if isinstance(event, ToolCallReady)]


def kinds(events: list[Event]) -> list[str]:
    return [event.type for event in events]


def test_text_deltas_in_order_and_empty_text_skipped() -> None:
    events = run(TextPart("Hel"), TextPart(""), TextPart("lo"), EndPart())
    assert events == [
        TextDelta(text="Hel"),
        TextDelta(text="lo"),
        MessageFinished(stop_reason="stop", raw_stop_reason=None),
    ]


def test_a_streamed_call_start_deltas_previews_ready() -> None:
    events = run(
        ToolPart("call_a", 0, "get_weather", ""),
        ToolPart(None, 0, None, '{"city": "Par'),
        ToolPart(None, 0, None, 'is"}'),
        ToolEndPart("call_a", 0),
        FinishPart("tool_calls", "tool_use"),
        EndPart(),
    )
    assert events == [
        ToolCallStarted(id="call_a", name="get_weather", position=0),
        ToolArgumentsDelta(id="call_a", fragment='{"city": "Par', partial={"city": "Par"}),
        ToolArgumentsDelta(id="call_a", fragment='is"}', partial={"city": "Paris"}),
        ToolCallReady(
            id="call_a",
            name="get_weather",
            position=0,
            arguments={"city": "Paris"},
            raw_arguments='{"city": "Paris"}',
        ),
        MessageFinished(stop_reason="tool_calls", raw_stop_reason="tool_use"),
    ]


def test_previews_off_leaves_partial_empty() -> None:
    events = run(ToolPart("c", 0, "f", '{"a": 1'), ToolPart(None, 0, None, "}"), EndPart(), previews=False)
    deltas = [event for event in events if isinstance(event, ToolArgumentsDelta)]
    assert [delta.fragment for delta in deltas] == ['{"a": 1', "}"]
    assert all(delta.partial is None for delta in deltas)
    assert readies(events)[0].arguments == {"a": 1}


def test_a_new_id_at_a_used_index_is_a_new_call() -> None:
    """Ollama's /v1 endpoint sends parallel calls all at index 0, each with its own id."""
    events = run(
        ToolPart("call_1", 0, "first", '{"n": 1}'),
        ToolPart("call_2", 0, "second", '{"n": 2}'),
        ToolPart(None, 0, None, ""),  # belongs to the latest call at index 0
        FinishPart("stop", "stop"),
        EndPart(),
    )
    assert [(ready.id, ready.name, ready.position, ready.arguments) for ready in readies(events)] == [
        ("call_1", "first", 0, {"n": 1}),
        ("call_2", "second", 1, {"n": 2}),
    ]
    assert events[-1] == MessageFinished(stop_reason="tool_calls", raw_stop_reason="stop")


def test_fragments_follow_their_index_and_id_less_index_less_ones_the_latest_call() -> None:
    events = run(
        ToolPart("a", 0, "f", '{"x": '),
        ToolPart("b", 1, "g", '{"y": '),
        ToolPart(None, 0, None, "1}"),
        ToolPart(None, None, None, "2}"),  # neither id nor index: the latest call
        EndPart(),
    )
    assert [(ready.id, ready.raw_arguments) for ready in readies(events)] == [
        ("a", '{"x": 1}'),
        ("b", '{"y": 2}'),
    ]


def test_the_name_is_set_once_and_never_concatenated() -> None:
    events = run(
        ToolPart("c", 0, "search", ""),
        ToolPart("c", 0, "search", '{"q": '),
        ToolPart(None, 0, "search", '"x"}'),
        EndPart(),
    )
    assert kinds(events).count("tool_call_started") == 1
    assert readies(events)[0].name == "search"
    assert readies(events)[0].arguments == {"q": "x"}


def test_a_call_waits_for_its_name_and_gets_the_buffered_arguments_at_start() -> None:
    events = run(
        ToolPart(None, 0, None, '{"a": '),
        ToolPart(None, 0, None, "1"),
        ToolPart("late_id", 0, "f", "}"),  # id and name arrive late: adopted, nobody saw the call yet
        EndPart(),
    )
    assert events[:2] == [
        ToolCallStarted(id="late_id", name="f", position=0),
        ToolArgumentsDelta(id="late_id", fragment='{"a": 1}', partial={"a": 1}),
    ]
    assert readies(events)[0].arguments == {"a": 1}


def test_a_call_that_never_gets_a_name_is_readied_with_an_error() -> None:
    events = run(ToolPart(None, 0, None, '{"a": 1}'), ToolEndPart(None, 0), EndPart())
    assert events[0] == ToolCallStarted(id="call_0", name="", position=0)
    ready = readies(events)[0]
    assert ready.arguments is None
    assert ready.error is not None and "name" in ready.error
    assert ready.raw_arguments == '{"a": 1}'


def test_calls_without_ids_get_deterministic_distinct_ids() -> None:
    events = run(
        ToolPart("call_1", 0, "f", "{}"),
        ToolEndPart("call_1", 0),
        ToolPart(None, 1, "g", "{}"),
        ToolPart(None, 2, "h", "{}"),  # would be call_1: taken by the provider's own id
        EndPart(),
    )
    assert [ready.id for ready in readies(events)] == ["call_1", "call_0", "call_1_2"]


@pytest.mark.parametrize("arguments", [None, "", "  "])
def test_absent_or_empty_arguments_mean_an_empty_object(arguments: str | None) -> None:
    events = run(ToolPart("c", 0, "ping", arguments), ToolEndPart("c", 0), EndPart())
    ready = readies(events)[0]
    assert ready.arguments == {}
    assert ready.error is None


def test_a_buffer_that_happens_to_parse_is_not_final() -> None:
    assembler = Assembler()
    events = assembler.feed(ToolPart("c", 0, "search", '{"query": "test"}'))
    events += assembler.feed(ToolPart(None, 0, None, ""))
    assert not readies(events)
    events += assembler.feed(ToolPart(None, 0, None, ', "limit": 10}'))
    events += assembler.feed(ToolEndPart("c", 0))
    ready = readies(events)[0]
    assert ready.raw_arguments == '{"query": "test"}, "limit": 10}'
    assert ready.arguments is None
    assert ready.error is not None and ready.error.startswith("invalid JSON arguments: ")


def test_arguments_that_are_json_but_not_an_object_are_an_error() -> None:
    events = run(ToolPart("c", 0, "f", "[1, 2]"), EndPart())
    ready = readies(events)[0]
    assert ready.arguments is None
    assert ready.error == "invalid JSON arguments: expected an object, got list"


def test_arguments_nested_too_deep_for_json_loads_are_an_error_not_a_crash() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    events = run(ToolPart("c", 0, "f", '{"a": ' + deep + "}"), EndPart())
    assert readies(events)[0].error is not None


def test_duplicate_end_and_replayed_fragments_never_reopen_a_call() -> None:
    assembler = Assembler()
    events = assembler.feed(ToolPart("c", 0, "f", '{"a": 1}'))
    events += assembler.feed(ToolEndPart("c", 0))
    replayed = assembler.feed(ToolEndPart("c", 0))
    replayed += assembler.feed(ToolPart("c", 0, "f", '{"a": 1}'))
    replayed += assembler.feed(ToolPart(None, 0, None, "junk"))  # id-less and nameless: nothing to continue
    assert replayed == []
    events += assembler.feed(EndPart())
    assert [ready.raw_arguments for ready in readies(events)] == ['{"a": 1}']


def test_a_named_id_less_fragment_after_a_final_call_starts_a_new_call() -> None:
    events = run(
        ToolPart(None, None, "first", "{}"),
        ToolEndPart(None, None),
        ToolPart(None, None, "second", '{"b": 2}'),
        ToolEndPart(None, None),
        EndPart(),
    )
    assert [(ready.id, ready.name, ready.arguments) for ready in readies(events)] == [
        ("call_0", "first", {}),
        ("call_1", "second", {"b": 2}),
    ]


def test_an_end_with_an_unknown_id_falls_back_to_its_index() -> None:
    """OpenAI Responses test data changes call_id between output_item.added and .done."""
    assembler = Assembler()
    assembler.feed(ToolPart("call_added", 0, "f", "{}"))
    events = assembler.feed(ToolEndPart("call_done", 0))
    assert readies(events)[0].id == "call_added"
    assert assembler.feed(ToolEndPart("call_unknown", None)) == []


def test_an_error_part_readies_open_calls_as_incomplete_and_keeps_final_ones() -> None:
    assembler = Assembler(provider="anthropic")
    events = assembler.feed(TextPart("Hello"))
    events += assembler.feed(ToolPart("done", 0, "f", '{"a": 1}'))
    events += assembler.feed(ToolEndPart("done", 0))
    events += assembler.feed(ToolPart("open", 1, "g", '{"b": '))
    events += assembler.feed(UsagePart(12, None))
    events += assembler.feed(ErrorPart("overloaded", "Overloaded", retryable=True))
    assert events[0] == TextDelta(text="Hello")
    assert readies(events) == [
        ToolCallReady(id="done", name="f", position=0, arguments={"a": 1}, raw_arguments='{"a": 1}'),
        ToolCallReady(
            id="open",
            name="g",
            position=1,
            arguments=None,
            raw_arguments='{"b": ',
            error=INCOMPLETE_CALL,
            error_kind="incomplete",
        ),
    ]
    assert events[-2:] == [
        Usage(input_tokens=12, output_tokens=None),
        StreamError(kind="overloaded", message="Overloaded", retryable=True, provider="anthropic"),
    ]
    assert assembler.done
    assert assembler.feed(TextPart("more")) == []
    assert assembler.feed(EndPart()) == []
    assert assembler.close() == []
    assert assembler.fail("connection", "again") == []


def test_fail_from_the_byte_source() -> None:
    assembler = Assembler(provider="openai")
    events = assembler.feed(ToolPart("c", 0, "f", '{"a"'))
    events += assembler.fail("stalled", "no bytes for 60 s", retryable=True)
    assert readies(events)[0].error == INCOMPLETE_CALL
    assert events[-1] == StreamError(
        kind="stalled", message="no bytes for 60 s", retryable=True, provider="openai"
    )


def test_eof_without_the_end_marker_is_an_interruption() -> None:
    events = run(TextPart("Hi"), ToolPart("c", 0, "f", "{}"), provider="anthropic")
    assert readies(events)[0].error == INCOMPLETE_CALL  # even though "{}" parses: it was never finished
    assert events[-1] == StreamError(
        kind="interrupted",
        message="the anthropic stream ended before its end marker",
        retryable=True,
        provider="anthropic",
    )
    assert run()[-1] == StreamError(
        kind="interrupted", message="the stream ended before its end marker", retryable=True
    )


def test_eof_after_a_finish_reason_is_a_normal_end() -> None:
    events = run(ToolPart("c", 0, "f", '{"a": 1}'), FinishPart("tool_calls", "tool_calls"))
    assert readies(events)[0].arguments == {"a": 1}
    assert events[-1] == MessageFinished(stop_reason="tool_calls", raw_stop_reason="tool_calls")


def test_max_tokens_cut_call_is_readied_at_the_end_with_an_error() -> None:
    """Anthropic: message_stop arrives but the tool block never closed and its JSON never ends."""
    events = run(
        ToolPart("toolu", 1, "make_file", None),
        ToolPart(None, 1, None, '{"filename": "taxes.txt", "lines": ["a'),
        FinishPart("length", "max_tokens"),
        UsagePart(450, 124),
        EndPart(),
    )
    ready = readies(events)[0]
    assert ready.arguments is None
    assert ready.error == TRUNCATED_CALL, "cut by the token limit, not a model that wrote broken JSON"
    assert ready.error_kind == "truncated"
    assert events[-1] == MessageFinished(stop_reason="length", raw_stop_reason="max_tokens")


def test_the_finish_reason_makes_every_open_call_final_at_once() -> None:
    """OpenAI Chat ends its calls only with finish_reason: the parser says so, the assembler ends them."""
    assembler = Assembler()
    events = assembler.feed(ToolPart("a", 0, "f", '{"x": 1}'))
    events += assembler.feed(ToolPart("b", 1, "g", '{"y": 2}'))
    events += assembler.feed(ToolPart(None, None, None, '{"z"'))  # id-less, nameless: joins the latest call
    assert not readies(events)
    ended = assembler.feed(FinishPart("tool_calls", "tool_calls"))
    assert [(ready.id, ready.arguments, ready.error_kind) for ready in readies(ended)] == [
        ("a", {"x": 1}, None),
        ("b", None, "invalid_json"),
    ]
    assert assembler.feed(ToolPart("a", 0, None, ', "more": 2}')) == []  # final: never reopened
    assert kinds(assembler.feed(EndPart())) == ["message_finished"]


def test_a_call_the_finish_reason_cuts_is_truncated_only_at_the_token_limit() -> None:
    stop = readies(run(ToolPart("c", 0, "f", '{"a": '), FinishPart("stop", "stop"), EndPart()))[0]
    assert stop.error_kind == "invalid_json" and (stop.error or "").startswith("invalid JSON arguments: ")
    length = run(ToolPart("c", 0, "f", '{"a": '), FinishPart("length", "length"), EndPart())
    assert (readies(length)[0].error_kind, readies(length)[0].error) == ("truncated", TRUNCATED_CALL)
    whole = run(ToolPart("c", 0, "f", '{"a": 1}'), FinishPart("length", "length"), EndPart())
    assert (readies(whole)[0].arguments, readies(whole)[0].error_kind) == ({"a": 1}, None)


@pytest.mark.parametrize(
    ("parts", "kind", "error"),
    [
        ([ToolPart("c", 0, "f", "[1, 2]"), EndPart()], "invalid_json", "invalid JSON arguments: expected"),
        ([ToolPart("c", 0, "f", "{oops}"), EndPart()], "invalid_json", "invalid JSON arguments: Expecting"),
        ([ToolPart("c", 0, None, "{}"), EndPart()], "no_name", NO_NAME),
        ([ToolPart("c", 0, "f", "{}")], "incomplete", INCOMPLETE_CALL),  # no end marker
        ([ToolPart("c", 0, "f", '{"a'), FinishPart("length", "length")], "truncated", TRUNCATED_CALL),
        ([ToolPart("c", 0, "f", "{}"), EndPart()], None, None),
    ],
)
def test_every_error_has_its_kind(parts: list[Part], kind: str | None, error: str | None) -> None:
    [ready] = readies(run(*parts))
    assert ready.error_kind == kind
    assert (ready.error is None) if error is None else (ready.error or "").startswith(error)
    assert (ready.arguments is None) == (kind is not None)


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ([EndPart()], MessageFinished(stop_reason="stop")),
        ([ToolPart("c", 0, "f", "{}"), EndPart()], MessageFinished(stop_reason="tool_calls")),
        (
            [ToolPart("c", 0, "f", "{}"), FinishPart("stop", "stop"), EndPart()],
            MessageFinished(stop_reason="tool_calls", raw_stop_reason="stop"),
        ),
        (
            [ToolPart("c", 0, "f", "{}"), FinishPart("length", "length"), EndPart()],
            MessageFinished(stop_reason="length", raw_stop_reason="length"),
        ),
        (
            [FinishPart("content_filter", "refusal"), EndPart()],
            MessageFinished(stop_reason="content_filter", raw_stop_reason="refusal"),
        ),
    ],
)
def test_stop_reason(parts: list[Part], expected: MessageFinished) -> None:
    assert run(*parts)[-1] == expected


def test_usage_is_merged_and_sent_once_at_the_end() -> None:
    events = run(
        UsagePart(17, 1),
        TextPart("x"),
        UsagePart(None, 40),  # Anthropic's message_delta may carry only the output count
        ToolPart("c", 0, "f", "{}"),
        EndPart(),
    )
    assert kinds(events) == [
        "text_delta",
        "tool_call_started",
        "tool_arguments_delta",
        "tool_call_ready",
        "usage",
        "message_finished",
    ]
    assert events[-2] == Usage(input_tokens=17, output_tokens=40)
    assert "usage" not in kinds(run(TextPart("x"), EndPart()))


_PARTS = st.one_of(
    st.builds(TextPart, st.text(max_size=3)),
    st.builds(
        ToolPart,
        st.none() | st.sampled_from(["a", "b", "call_1"]),
        st.none() | st.integers(0, 2),
        st.none() | st.sampled_from(["f", "g", ""]),
        st.none() | st.sampled_from(["", "{", "}", '"k"', ":", "1", ",", "[", "]"]),
    ),
    st.builds(ToolEndPart, st.none() | st.sampled_from(["a", "b", "zzz"]), st.none() | st.integers(0, 2)),
    st.builds(UsagePart, st.none() | st.integers(0, 9), st.none() | st.integers(0, 9)),
    st.builds(FinishPart, st.sampled_from(["stop", "tool_calls", "length", "other"])),
    st.just(EndPart()),
    st.builds(ErrorPart, st.sampled_from(["provider", "malformed"]), st.text(max_size=5)),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_PARTS, max_size=25), st.booleans())
def test_any_part_sequence_keeps_the_event_grammar(parts: list[Part], previews: bool) -> None:
    """Whatever a server sends: one terminal event, last; every call started once, then readied once."""
    events = run(*parts, previews=previews)
    assert isinstance(events[-1], (MessageFinished, StreamError))
    assert sum(isinstance(event, (MessageFinished, StreamError)) for event in events) == 1
    assert kinds(events).count("usage") <= 1
    started: dict[str, int] = {}
    ready: set[str] = set()
    for event in events:
        if isinstance(event, ToolCallStarted):
            assert event.id not in started
            assert event.position == len(started)
            started[event.id] = event.position
        elif isinstance(event, ToolArgumentsDelta):
            assert event.id in started and event.id not in ready
            assert event.fragment
            assert (event.partial is None) or previews
        elif isinstance(event, ToolCallReady):
            assert started.get(event.id) == event.position and event.id not in ready
            ready.add(event.id)
            assert (event.arguments is None) == (event.error is not None) == (event.error_kind is not None)
    assert ready == set(started)


def test_positions_follow_the_order_in_which_calls_start() -> None:
    events = run(
        ToolPart(None, None, None, None),  # says nothing: no call
        ToolPart(None, 0, None, '{"a": 1}'),  # waits for its name
        ToolPart("b", 1, "g", "{}"),
        ToolPart(None, 0, "f", None),
        EndPart(),
    )
    started = [
        (event.id, event.name, event.position) for event in events if isinstance(event, ToolCallStarted)
    ]
    assert started == [("b", "g", 0), ("call_0", "f", 1)]
    assert [(ready.id, ready.position) for ready in readies(events)] == [("b", 0), ("call_0", 1)]


def test_an_adopted_id_frees_the_generated_one() -> None:
    events = run(
        ToolPart(None, 0, None, "{}"),  # would be call_0
        ToolPart("real", 0, "f", None),  # adopted: the call is "real" now
        ToolEndPart("real", 0),
        ToolPart("call_0", 1, "g", "{}"),  # a provider id that happens to read call_0: a new call
        EndPart(),
    )
    assert [(ready.id, ready.name) for ready in readies(events)] == [("real", "f"), ("call_0", "g")]


def test_nan_and_infinity_are_not_json_arguments() -> None:
    from nbstream._assembly import _parse_arguments

    for raw in ('{"x": NaN}', '{"x": Infinity}', '{"x": -Infinity}'):
        arguments, error = _parse_arguments(raw)
        assert arguments is None and error is not None and "not valid JSON" in error


# --- one id, several calls (OpenRouter engines, GLM / Kimi-style ids) ----------------------------------------


def test_one_id_at_two_indexes_is_two_calls() -> None:
    events = run(
        ToolPart("dup", 0, "weather", '{"city":'),
        ToolPart("dup", 1, "weather", '{"city":"Lima"}'),
        ToolPart(None, 0, None, '"Oslo"}'),
        FinishPart("tool_calls", "tool_calls"),
        ToolEndPart("dup", 0),
        ToolEndPart("dup", 1),
        EndPart(),
    )
    calls = [(ready.id, ready.arguments) for ready in readies(events)]
    assert calls == [("dup", {"city": "Oslo"}), ("dup_2", {"city": "Lima"})]


def test_two_whole_calls_under_one_id_at_one_index_are_never_glued() -> None:
    events = run(
        ToolPart("dup", 0, "weather", '{"city":"Oslo"}'),
        ToolPart("dup", 0, "weather", '{"city":"Lima"}'),
        ToolPart("dup", 0, "clock", "{}"),
        EndPart(),
    )
    calls = [(ready.id, ready.name, ready.arguments) for ready in readies(events)]
    assert calls == [
        ("dup", "weather", {"city": "Oslo"}),
        ("dup_2", "weather", {"city": "Lima"}),
        ("dup_3", "clock", {}),
    ]


def test_a_name_resent_with_every_fragment_is_still_one_call() -> None:
    events = run(
        ToolPart("c", 0, "weather", ""),
        ToolPart("c", 0, "weather", '{"ci'),
        ToolPart("c", 0, "weather", 'ty": "Oslo"}'),
        EndPart(),
    )
    assert [(ready.id, ready.arguments) for ready in readies(events)] == [("c", {"city": "Oslo"})]


def test_a_replayed_whole_call_is_not_a_second_call() -> None:
    """An Ollama line sent twice: same id, name and arguments, at the next position."""
    events = run(
        ToolPart("c", 0, "weather", '{"city":"Oslo"}'),
        ToolEndPart("c", 0),
        ToolPart("c", 1, "weather", '{"city":"Oslo"}'),
        ToolEndPart("c", 1),
        EndPart(),
    )
    assert [ready.id for ready in readies(events)] == ["c"]


def test_made_up_ids_continue_across_responses_that_share_a_source() -> None:
    source = made_up_ids()
    first = run(ToolPart(None, 0, "f", "{}"), EndPart(), made_up_ids=source)
    second = run(ToolPart(None, 0, "f", "{}"), EndPart(), made_up_ids=source)
    assert [ready.id for ready in readies(first + second)] == ["call_0", "call_1"]
