"""Partial-JSON previews: tricky cuts, invalid input, the growth rule that keeps the cost linear."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nbstream._events import ToolArgumentsDelta
from nbstream._partial_json import GROWTH, MAX_DEPTH, SMALL, PartialJSON


def split(text: str, cuts: list[int]) -> list[str]:
    """``text`` cut at the given positions (sorted, repeats allowed: empty fragments happen too)."""
    bounds = sorted(cuts)
    return [text[start:end] for start, end in zip([0, *bounds], [*bounds, len(text)], strict=True)]


def previews(*fragments: str) -> list[Any]:
    """The preview after each fragment, deep-copied so that later mutation would show."""
    parser = PartialJSON()
    return [copy.deepcopy(parser.feed(fragment)) for fragment in fragments]


def test_open_string_value_is_shown_closed() -> None:
    assert previews('{"city": "Par', 'is"}') == [{"city": "Par"}, {"city": "Paris"}]


def test_escape_cut_after_the_backslash() -> None:
    assert previews('["a\\', "nb\\", '"\\', '\\"]') == [["a"], ["a\nb"], ['a\nb"'], ['a\nb"\\']]


def test_unicode_escape_cut_inside_its_digits() -> None:
    assert previews('"caf\\u00', "e", "9 ok", '"') == ["caf", "caf", "café ok", "café ok"]


def test_surrogate_pair_cut_between_its_halves() -> None:
    assert previews('"x\\ud83d', "\\ude", '00!"') == ["x", "x", "x😀!"]


def test_a_lone_surrogate_stops_the_previews() -> None:
    # json.loads would keep it, but it cannot be serialized: no preview rather than an event that cannot be sent
    parser = PartialJSON()
    assert parser.feed('["\\udc00", "x"]') is None
    assert parser.stopped


def test_raw_unicode_and_every_simple_escape() -> None:
    text = json.dumps({"k": '東京 🚀 " \\ / \b \f \n \r \t'}, ensure_ascii=False)
    assert previews(text[:5], text[5:9], text[9:])[-1] == json.loads(text)


def test_a_number_or_literal_shows_once_it_is_whole() -> None:
    assert previews("[12", "3.5e", "-2", ", -", "0.5]") == [[12], [], [1.235], [1.235], [1.235, -0.5]]
    assert previews("[t", "ru", "e, f", "als", "e, n", "ull]") == [
        [],
        [],
        [True],
        [True],
        [True, False],
        [True, False, None],
    ]


def test_nested_containers_and_incomplete_keys() -> None:
    assert previews('{"a": [1, {"b', '": [[', "]", ', {"c": {}', "}]}], ", '"d"', ": ", "{}}") == [
        {"a": [1, {}]},
        {"a": [1, {"b": [[]]}]},
        {"a": [1, {"b": [[]]}]},
        {"a": [1, {"b": [[], {"c": {}}]}]},
        {"a": [1, {"b": [[], {"c": {}}]}]},
        {"a": [1, {"b": [[], {"c": {}}]}]},  # the key "d" has no value yet: not shown
        {"a": [1, {"b": [[], {"c": {}}]}]},
        {"a": [1, {"b": [[], {"c": {}}]}], "d": {}},
    ]


def test_empty_object_and_nothing_yet() -> None:
    assert previews("  ", "{", "}") == [None, {}, {}]
    assert previews("{}") == [{}]


def test_scalars_at_top_level() -> None:
    assert previews('"ab', 'c"') == ["ab", "abc"]
    assert previews("4", "2") == [4, 42]
    assert previews("[]") == [[]]


def test_a_second_value_after_the_first_stops_the_previews() -> None:
    """The parsable-prefix case: a server glued a call's second half on after a complete object."""
    parser = PartialJSON()
    assert parser.feed('{"query": "test"}') == {"query": "test"}
    assert parser.feed(', "limit": 10}') is None
    assert parser.stopped
    glued = PartialJSON()
    glued.feed('{"a": 1}, ')
    assert glued.feed('{"b": 2}') is None and glued.stopped
    # Where text cannot follow a complete value, the partial parser stops quietly at it: the last preview
    # stays (the call's error says what was wrong once it is ready).
    lenient = PartialJSON()
    lenient.feed('{"a": 1} ')
    assert lenient.feed('{"b": 2}') == {"a": 1} and not lenient.stopped


@given(
    st.sampled_from(
        [
            '{"query": "test"}, "limit": 10}',
            "[1,]",
            '{"a": 1,}',
            "{,}",
            "tx",
            "nul1",
            "01",
            "1.",
            "-",
            "1e+",
            '"\\x"',
            '"\\u00zz"',
            '"a\nb"',  # a raw control character inside a string
            "}",
            "[}",
            '{"a": ]',
            "'single'",
            "NaN",
        ]
    ),
    st.data(),
)
def test_invalid_json_stops_previews_without_raising(text: str, data: st.DataObject) -> None:
    parser = PartialJSON()
    for fragment in split(text, data.draw(st.lists(st.integers(0, len(text)), max_size=6))):
        parser.feed(fragment)
    parser.feed(" ")  # the end of the text: a trailing token is judged when something follows it
    assert parser.stopped
    assert parser.feed('{"more": "text"}') is None


def test_an_empty_fragment_gets_the_latest_preview_even_when_that_is_none() -> None:
    """A number cut after its exponent's ``e`` shows nothing yet, and neither does the empty fragment after it
    (hypothesis found the stale ``-1`` it used to get)."""
    parser = PartialJSON()
    assert [parser.feed(fragment) for fragment in ["-1", ".5e", "", "+2"]] == [-1, None, None, -150.0]


_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_JSON_VALUES, st.booleans(), st.integers(0, 2), st.data())
def test_any_split_reads_the_same_as_the_whole_prefix(
    value: Any, ascii_only: bool, indent: int, data: st.DataObject
) -> None:
    """After every fragment the preview is what the text so far means, however the text was cut."""
    text = json.dumps(value, ensure_ascii=ascii_only, indent=indent or None)
    parser = PartialJSON()
    consumed = 0
    preview: Any = None
    for fragment in split(text, data.draw(st.lists(st.integers(0, len(text)), max_size=12))):
        preview = parser.feed(fragment)
        consumed += len(fragment)
        if consumed <= SMALL:  # larger texts are parsed again only after some growth
            assert preview == PartialJSON().feed(text[:consumed])
        assert not parser.stopped
        ToolArgumentsDelta(id="c", fragment="", partial=preview).model_dump_json()
    if len(text) <= SMALL:
        assert preview == json.loads(text)


def test_previews_are_never_mutated_after_they_are_returned() -> None:
    parser = PartialJSON()
    returned = []
    snapshots = []
    for fragment in ['{"a": [1', ", 2", '], "b": {"c": "x', 'y", "d": [', "3]}}"]:
        returned.append(parser.feed(fragment))
        snapshots.append(copy.deepcopy(returned[-1]))
    assert returned == snapshots


def test_a_big_open_string_is_parsed_after_each_growth_and_repeated_in_between() -> None:
    """Past ``SMALL`` a preview is rebuilt once the text grew by 1/GROWTH: O(n) in all, never staler than that."""
    parser = PartialJSON()
    head = '{"content": "'
    parser.feed(head)
    consumed = len(head)
    distinct = set()
    previous = None
    for _ in range(256 * 1024):  # 1 MB of string, 4 characters at a time
        preview = parser.feed("abcd")
        consumed += 4
        if preview is not previous:
            distinct.add(id(preview))
            previous = preview
        shown = len(head) + len(preview["content"])
        assert shown * (1 + 1 / GROWTH) >= consumed or consumed <= SMALL
    # every fragment up to SMALL (~1k parses), then one parse per growth step (~26 to 1 MB)
    assert len(distinct) < SMALL // 4 + 40


def test_a_big_array_costs_linear_time() -> None:
    def seconds(items: int) -> float:
        start = time.perf_counter()
        parser = PartialJSON()
        parser.feed("[")
        for number in range(items):
            parser.feed(f"{number}, ")
        assert parser.feed("0]") is not None
        return time.perf_counter() - start

    seconds(1000)  # warm up
    small, large = min(seconds(50_000) for _ in range(3)), min(seconds(200_000) for _ in range(3))
    assert large < small * 8, (small, large)  # 4x the text: linear, with room for a noisy machine


def test_nesting_deeper_than_an_event_can_hold_stops_the_previews() -> None:
    parser = PartialJSON()
    for _ in range(MAX_DEPTH):
        assert parser.feed("[") is not None
    assert parser.feed("[") is None and parser.stopped
    deep = PartialJSON()  # far deeper: pydantic_core's own limit, never a RecursionError
    assert deep.feed("[" * 50_000) is None and deep.stopped
