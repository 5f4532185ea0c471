"""Frame decoders: SSE events and NDJSON lines from bytes split anywhere, in linear time."""

from __future__ import annotations

import random
import time

import pytest

from nbstream._wire._frames import NDJSONDecoder, SSEDecoder


def sse(data: bytes, chunks: list[int] | None = None) -> list[tuple[str, str]]:
    """Decode ``data`` cut at the given offsets; events as (event, data) tuples."""
    decoder = SSEDecoder()
    events = []
    start = 0
    for cut in [*(chunks or []), len(data)]:
        events += decoder.feed(data[start:cut])
        start = cut
    events += decoder.close()
    return [(e.event, e.data) for e in events]


def every_split(data: bytes) -> list[list[int]]:
    """Whole, one byte at a time, and a few random cuttings."""
    splits: list[list[int]] = [[], list(range(1, len(data)))]
    for seed in range(5):
        rng = random.Random(seed)
        splits.append(sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 12)))))
    return splits


def assert_sse(data: bytes, expected: list[tuple[str, str]]) -> None:
    for chunks in every_split(data):
        assert sse(data, chunks) == expected, chunks


def test_event_name_and_data_with_or_without_space() -> None:
    assert_sse(
        b"event: delta\ndata: one\n\ndata:two\n\n",
        [("delta", "one"), ("message", "two")],
    )


def test_only_one_leading_space_is_dropped() -> None:
    assert_sse(b"data:  two spaces\n\n", [("message", " two spaces")])


def test_multiple_data_lines_are_joined_with_newlines() -> None:
    assert_sse(b'data: {"a":\ndata: 1}\ndata:\n\n', [("message", '{"a":\n1}\n')])


def test_comments_are_ignored() -> None:
    assert_sse(
        b": keep-alive\n\n: OPENROUTER PROCESSING\ndata: x\n: inside\n\n",
        [("message", "x")],
    )


@pytest.mark.parametrize("newline", [b"\r\n", b"\r", b"\n"])
def test_every_line_ending(newline: bytes) -> None:
    data = newline.join([b"event: a", b"data: 1", b"", b"data: 2", b"data: 3", b"", b""])
    assert_sse(data, [("a", "1"), ("message", "2\n3")])


def test_mixed_line_endings() -> None:
    assert_sse(b"data: 1\r\rdata: 2\n\r\ndata: 3\r\n\n", [("message", s) for s in "123"])


def test_crlf_split_between_cr_and_lf_is_one_line_ending() -> None:
    # A chunk-final "\r" ends the line at once; a "\n" opening the next chunk is not a blank line.
    assert sse(b"data: a\r\ndata: b\r\n\r\n", [8]) == [("message", "a\nb")]
    assert sse(b"data: a\r\n\r\n", [8, 9, 10]) == [("message", "a")]


def test_utf8_character_split_across_chunks() -> None:
    text = "héllo wörld 🌍 終"
    data = f"data: {text}\n\n".encode()
    assert_sse(data, [("message", text)])


def test_invalid_utf8_is_replaced_not_raised() -> None:
    assert sse(b"data: \xff\xfeok\n\n") == [("message", "\ufffd\ufffdok")]
    assert sse(b"data: cut \xe2\x82") == [("message", "cut \ufffd")]


def test_a_block_without_data_is_not_dispatched() -> None:
    assert_sse(b"event: ping\n\nretry: 10\n\ndata: x\n\n", [("message", "x")])


def test_id_and_retry_are_ignored() -> None:
    """They serve a browser's reconnection; a model's response cannot be resumed."""
    assert_sse(
        b"id: 7\nretry: 1500\ndata: a\n\nretry: soon\ndata: b\n\nid: bad\x00id\ndata: c\n\nid: 8\n\n",
        [("message", "a"), ("message", "b"), ("message", "c")],
    )


def test_field_without_colon() -> None:
    assert_sse(b"data\n\nevent\ndata: x\n\n", [("message", ""), ("message", "x")])


def test_unknown_fields_are_ignored() -> None:
    assert_sse(b"foo: bar\ndata: x\nDATA: y\n\n", [("message", "x")])


def test_leading_bom_is_stripped_once() -> None:
    assert_sse(b"\xef\xbb\xbfdata: x\n\n", [("message", "x")])
    assert sse(b"data: a\n\n\xef\xbb\xbfdata: b\n\n") == [("message", "a")]


def test_flush_dispatches_an_event_missing_its_blank_line() -> None:
    decoder = SSEDecoder()
    assert [e.data for e in decoder.feed(b"data: first\n\ndata: last")] == ["first"]
    assert [e.data for e in decoder.close()] == ["last"]
    assert sse(b"data: last\n") == [("message", "last")]
    assert sse(b"data: last\r") == [("message", "last")]


def test_events_are_returned_as_soon_as_their_blank_line_arrives() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n") == []
    assert [e.data for e in decoder.feed(b"\nda")] == ["a"]
    assert [e.data for e in decoder.feed(b"ta: b\n\n")] == ["b"]
    assert decoder.close() == []


def test_empty_feeds_are_harmless() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"") == []
    assert decoder.close() == []


def ndjson(data: bytes, chunks: list[int]) -> list[str]:
    decoder = NDJSONDecoder()
    lines: list[str] = []
    start = 0
    for cut in [*chunks, len(data)]:
        lines += decoder.feed(data[start:cut])
        start = cut
    return lines + decoder.close()


def test_ndjson_lines_in_any_split() -> None:
    data = '{"a": 1}\r\n\n{"b": "é🌍"}\n   \n{"c": 3}'.encode()
    for chunks in every_split(data):
        assert ndjson(data, chunks) == ['{"a": 1}', '{"b": "é🌍"}', '{"c": 3}'], chunks


def _decode_seconds(data: bytes, chunk: int, decoder_type: type[SSEDecoder] | type[NDJSONDecoder]) -> float:
    best = float("inf")
    for _ in range(3):
        decoder = decoder_type()
        started = time.perf_counter()
        for offset in range(0, len(data), chunk):
            decoder.feed(data[offset : offset + chunk])
        decoder.close()
        best = min(best, time.perf_counter() - started)
    return best


def _assert_linear(small: bytes, large: bytes, decoder_type: type[SSEDecoder] | type[NDJSONDecoder]) -> None:
    assert len(large) > 3.9 * len(small)
    ratio = _decode_seconds(large, 4, decoder_type) / _decode_seconds(small, 4, decoder_type)
    assert ratio < 8, f"4x the bytes took {ratio:.1f}x the time"


def test_sse_decoding_is_linear_in_4_byte_chunks() -> None:
    event = b'data: {"choices":[{"index":0,"delta":{"content":" token"}}]}\n\n'
    _assert_linear(event * 1500, event * 6000, SSEDecoder)


def test_a_long_unterminated_line_is_not_quadratic() -> None:
    def one_line(size: int) -> bytes:
        return b"data: " + b"x" * size + b"\n\n"

    _assert_linear(one_line(100_000), one_line(400_000), SSEDecoder)
    assert sse(one_line(100_000), list(range(4, 100_008, 4)))[0][1] == "x" * 100_000


def test_ndjson_decoding_is_linear_in_4_byte_chunks() -> None:
    line = b'{"message":{"role":"assistant","content":" token"},"done":false}\n'
    _assert_linear(line * 1500, line * 6000, NDJSONDecoder)


@pytest.mark.parametrize("decoder_type", [SSEDecoder, NDJSONDecoder])
def test_a_line_longer_than_the_limit_is_dropped_not_buffered(
    decoder_type: type[SSEDecoder] | type[NDJSONDecoder],
) -> None:
    decoder = decoder_type(max_frame_size=1_000)
    head = b'data: {"ok": 1}\n\n' if decoder_type is SSEDecoder else b'{"ok": 1}\n'
    assert len(decoder.feed(head)) == 1
    for _ in range(100):  # 100 KB with no line end: never held whole
        decoder.feed(b"x" * 1_000)
    assert decoder.too_long
    assert decoder.feed(b"\n" + head) == [] and decoder.close() == [], "nothing is read after it"


def test_sse_data_lines_that_add_up_past_the_limit_are_dropped() -> None:
    decoder = SSEDecoder(max_frame_size=1_000)
    assert decoder.feed(b"data: " + b"x" * 600 + b"\n" + b"data: " + b"y" * 600 + b"\n\n") == []
    assert decoder.too_long


def test_frames_at_the_limit_pass() -> None:
    decoder = NDJSONDecoder(max_frame_size=1_000)
    assert decoder.feed(b"x" * 1_000 + b"\n") == ["x" * 1_000] and not decoder.too_long
