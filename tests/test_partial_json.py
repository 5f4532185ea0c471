"""Incremental partial-JSON previews: tricky cuts, invalid input, sharing and the cost throttle."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nbstream._events import ToolArgumentsDelta
from nbstream._partial_json import PartialJSON


def split(text: str, cuts: list[int]) -> list[str]:
    """``text`` cut at the given positions (sorted, repeats allowed: empty fragments happen too)."""
    bounds = sorted(cuts)
    return [text[start:end] for start, end in zip([0, *bounds], [*bounds, len(text)], strict=True)]


def previews(*fragments: str) -> list[Any]:
    """The preview after each fragment, deep-copied so that later mutation would show."""
    parser = PartialJSON()
    seen = []
    for fragment in fragments:
        parser.feed(fragment)
        seen.append(copy.deepcopy(parser.preview()))
    return seen


def test_open_string_value_is_shown_closed() -> None:
    assert previews('{"city": "Par', 'is"}') == [{"city": "Par"}, {"city": "Paris"}]


def test_escape_cut_after_the_backslash() -> None:
    assert previews('["a\\', "nb\\", '"\\', '\\"]') == [["a"], ["a\nb"], ['a\nb"'], ['a\nb"\\']]


def test_unicode_escape_cut_inside_its_digits() -> None:
    assert previews('"caf\\u00', "e", "9 ok", '"') == ["caf", "caf", "café ok", "café ok"]


def test_surrogate_pair_cut_between_its_halves() -> None:
    assert previews('"x\\ud83d', "\\ude", '00!"') == ["x", "x", "x😀!"]


def test_lone_surrogates_become_replacement_characters() -> None:
    # json.loads would keep them, but a lone surrogate cannot be serialized: the preview must stay displayable
    result = previews('["\\udc00", "\\ud800x"]')[-1]
    assert result == ["\ufffd", "\ufffdx"]
    ToolArgumentsDelta(id="c", fragment="", partial=result).model_dump_json()


def test_raw_unicode_and_every_simple_escape() -> None:
    text = json.dumps({"k": '東京 🚀 " \\ / \b \f \n \r \t'}, ensure_ascii=False)
    assert previews(text[:5], text[5:9], text[9:])[-1] == json.loads(text)


def test_numbers_cut_anywhere_show_their_longest_valid_prefix() -> None:
    assert previews("[12", "3.5e", "-2", ", -", "0.5]") == [
        [12],
        [123.5],
        [1.235],
        [1.235],  # "-" alone is no number yet
        [1.235, -0.5],
    ]


def test_literals_cut_anywhere_show_the_literal_they_must_be() -> None:
    assert previews("[t", "ru", "e, f", "als", "e, n", "ull]") == [
        [True],
        [True],
        [True, False],
        [True, False],
        [True, False, None],
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


@given(
    st.sampled_from(
        [
            '{"a": 1}}',  # text after the value: the parsable-prefix case
            '{"query": "test"}, "limit": 10}',
            '{"a" 1}',
            "[1,]",
            '{"a": 1,}',
            "{,}",
            "tx",
            "nul1",
            "01",
            "1.",
            "-",
            "1e+",
            "[1 2]",
            '"\\x"',
            '"\\u00zz"',
            '"a\nb"',  # a raw control character inside a string
            "}",
            "[}",
            '{"a": ]',
            "'single'",
        ]
    ),
    st.data(),
)
def test_invalid_json_stops_previews_without_raising(text: str, data: st.DataObject) -> None:
    parser = PartialJSON()
    for fragment in split(text, data.draw(st.lists(st.integers(0, len(text)), max_size=6))):
        parser.feed(fragment)
        parser.preview()
    parser.feed("")  # the end of the text: a trailing token is judged when something follows it
    parser.feed(" ")
    assert parser.failed
    assert parser.preview() is None
    parser.feed('{"more": "text"}')
    assert parser.preview() is None


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
    for fragment in split(text, data.draw(st.lists(st.integers(0, len(text)), max_size=12))):
        parser.feed(fragment)
        consumed += len(fragment)
        preview = parser.preview()
        whole = PartialJSON()
        whole.feed(text[:consumed])
        assert preview == whole.preview()
        assert not parser.failed
        ToolArgumentsDelta(id="c", fragment="", partial=preview).model_dump_json()
    assert parser.preview() == json.loads(text)


def test_previews_are_never_mutated_after_they_are_returned() -> None:
    parser = PartialJSON()
    returned = []
    snapshots = []
    for fragment in ['{"a": [1', ", 2", '], "b": {"c": "x', 'y", "d": [', "3]}}"]:
        parser.feed(fragment)
        returned.append(parser.preview())
        snapshots.append(copy.deepcopy(returned[-1]))
    assert returned == snapshots


def test_completed_values_are_shared_not_copied() -> None:
    parser = PartialJSON()
    parser.feed('{"done": [1, {"x": "y"}], "open": "ab')
    first = parser.preview()
    parser.feed("cd")
    second = parser.preview()
    assert first is not second
    assert first["open"] == "ab" and second["open"] == "abcd"
    assert second["done"] is first["done"]  # the finished list is the same object in both previews


def test_big_open_string_previews_are_throttled_but_never_far_behind() -> None:
    """Past the cheap size a preview is rebuilt after ~1/32 growth: O(1) amortized, never staler than that."""
    parser = PartialJSON()
    parser.feed('{"content": "')
    consumed = len('{"content": "')
    distinct = set()
    fragment = "abcd"
    for _ in range(256 * 1024):  # 1 MB of string
        parser.feed(fragment)
        consumed += len(fragment)
        preview = parser.preview()
        distinct.add(id(preview))
        shown = len(preview["content"])
        assert shown >= (consumed - 14) * 31 / 32 - 8
    # 8 KB in 4-character fragments are rebuilt every time (~2k builds); then ~1.03x growth steps (~160)
    assert len(distinct) < 2048 + 300


def test_big_open_array_previews_are_throttled() -> None:
    parser = PartialJSON()
    parser.feed("[")
    builds = 0
    last = None
    for number in range(100_000):
        parser.feed(f"{number}, ")
        preview = parser.preview()
        if preview is not last:
            builds += 1
            last = preview
        assert len(preview) >= number * 0.6 - 200  # items cost more to copy than characters
    assert builds < 1000
    parser.feed("0]")
    assert parser.preview() == [*range(100_000), 0]


def test_deep_nesting_neither_recurses_nor_goes_quadratic() -> None:
    parser = PartialJSON()
    depth = 50_000
    for _ in range(depth):
        parser.feed("[")
        parser.preview()
    parser.feed("]" * depth)
    preview = parser.preview()
    for _ in range(depth - 1):
        preview = preview[0]
    assert preview == []
