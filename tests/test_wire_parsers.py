"""Wire parsers: every recorded fixture gives exactly the expected parts, however its bytes are split."""

from __future__ import annotations

import json
import random
import re
from typing import Any

import pytest
from helpers import FIXTURES, fixture, split

from nbstream import ToolCallReady, parse_stream
from nbstream._providers import WIRE_FORMATS, WireFormat, for_wire
from nbstream._wire._parts import (
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


def parse(wire: WireFormat, data: bytes, cuts: list[int] | None = None) -> list[Part]:
    parser = for_wire(wire).parser()
    parts: list[Part] = []
    for piece in split(data, cuts or []):
        parts += parser.feed(piece)
    return parts + parser.close()


def splittings(data: bytes) -> dict[str, list[int]]:
    """Whole, one byte at a time, and random cuttings (seeded)."""
    ways = {"whole": [], "bytewise": list(range(1, len(data)))}
    for seed in range(4):
        rng = random.Random(seed)
        ways[f"random-{seed}"] = sorted(
            rng.sample(range(1, len(data)), rng.randint(1, min(40, len(data) - 1)))
        )
    return ways


def assert_parts(wire: WireFormat, data: bytes, expected: list[Part]) -> None:
    for name, cuts in splittings(data).items():
        assert parse(wire, data, cuts) == expected, name


def sse(*objects: Any, done: bool = False) -> bytes:
    frames = [f"data: {json.dumps(o) if not isinstance(o, str) else o}\n\n" for o in objects]
    return ("".join(frames) + ("data: [DONE]\n\n" if done else "")).encode()


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    """One Chat Completions chunk for choice 0."""
    choice: dict[str, Any] = {"index": 0, "finish_reason": finish}
    if delta is not None:
        choice["delta"] = delta
    return {"object": "chat.completion.chunk", "choices": [choice], **extra}


def ready_calls(wire: WireFormat, data: bytes) -> list[tuple[str, str, Any, str | None]]:
    """The calls the whole stream readies, in order: (id, name, arguments, error kind)."""
    events = parse_stream(wire, [data])
    return [(e.id, e.name, e.arguments, e.error_kind) for e in events if isinstance(e, ToolCallReady)]


def malformed(parts: list[Part], wire: str) -> None:
    assert len(parts) == 1, parts
    part = parts[0]
    assert isinstance(part, ErrorPart) and part.kind == "malformed", part
    assert part.message.startswith(f"{wire}: malformed frame")


def texts(*pieces: str) -> list[Part]:
    return [TextPart(p) for p in pieces]


def thoughts(key: str | int | None, *pieces: str, id: str | None = None) -> list[Part]:
    return [ReasoningPart(p, key, id=id) for p in pieces]


def opaque(name: str, field: str) -> list[str]:
    """Every value of ``field`` in a fixture, in order: its long opaque strings (signatures, encrypted data)."""
    return re.findall(rf'"{field}":"([^"]*)"', fixture(name).decode())


def fragments(call_id: str | None, index: int, *pieces: str) -> list[Part]:
    return [ToolPart(call_id, index, arguments=p) for p in pieces]


# ----------------------------------------------------------------------------------------------------
# Fixtures: expected parts written from reading each file.

RS_CODEX = "rs_01830d662ab3856501693c321405c88190be3ab04d5782d5f9"
RS_AZURE = "rs_anonymized_reasoning_synth_001"
RS_LMSTUDIO = "rs_3yo6zy4vu4hq6iegqwhn1"
AZURE_ENCRYPTED = opaque("openai_responses_reasoning_multi_summary.sse", "encrypted_content")
CODEX_ENCRYPTED = opaque("openai_responses_reasoning_function_call.sse", "encrypted_content")

# fmt: off
EXPECTED: dict[str, tuple[WireFormat, list[Part]]] = {
    "openai_chat_text_only.sse": (
        "openai-chat",
        [
            *texts(
                "I'm", " unable", " to", " provide", " real", "-time", " weather", " updates", ".", " To",
                " get", " the", " current", " weather", " in", " San", " Francisco", ",", " I", " recommend",
                " checking", " a", " reliable", " weather", " website", " or", " a", " weather", " app", ".",
            ),
            FinishPart("stop", "stop"),
            UsagePart(14, 30),
            EndPart(),
        ],
    ),
    "openai_chat_single_tool_call.sse": (
        "openai-chat",
        [
            ToolPart("call_c91SqDXlYFuETYv8mUHzz6pp", 0, "GetWeatherArgs", ""),
            *fragments(
                None, 0, '{"', "city", '":"', "Ed", "inburgh", '","', "country", '":"', "UK", '","', "units",
                '":"', "c", '"}',
            ),
            FinishPart("tool_calls", "tool_calls"),
            UsagePart(76, 24),
            EndPart(),
        ],
    ),
    "openai_chat_parallel_tool_calls.sse": (
        "openai-chat",
        [
            ToolPart("call_JMW1whyEaYG438VE1OIflxA2", 0, "GetWeatherArgs", ""),
            *fragments(
                None, 0, '{"ci', 'ty": ', '"Edinb', "urgh", '", "c', "ountry", '": "', 'GB", ', '"units',
                '": "', 'c"}',
            ),
            ToolPart("call_DNYTawLBoN8fj3KN6qU9N1Ou", 1, "get_stock_price", ""),
            *fragments(
                None, 1, '{"ti', 'cker"', ': "AAP', 'L", ', '"exch', 'ange":', ' "NA', 'SDAQ"', "}",
            ),
            FinishPart("tool_calls", "tool_calls"),
            UsagePart(149, 60),
            EndPart(),
        ],
    ),
    "openai_chat_tool_call_one_chunk.sse": (
        "openai-chat",
        [
            ToolPart("call_O17Uplv4lJvD6DVdIvFFeRMw", 0, "test-tool", '{"value":"Sparkle Day"}'),
            FinishPart("tool_calls", "tool_calls"),
            UsagePart(53, 17),
            EndPart(),
        ],
    ),
    "openai_chat_missing_type_azure_mistral.sse": (
        "openai-chat",
        [
            ToolPart("call_abc123", 0, "test-tool", ""),
            *fragments(None, 0, '{"value"', ':"hello"}'),
            FinishPart("tool_calls", "tool_calls"),
            UsagePart(10, 5),
            EndPart(),
        ],
    ),
    "openai_chat_extra_empty_chunk_nim.sse": (
        "openai-chat",
        [
            UsagePart(226, 0),
            ToolPart("chatcmpl-tool-b3b307239370432d9910d4b79b4dbbaa", 0, "searchGoogle", None),
            UsagePart(226, 7),
            *[
                part
                for n, piece in enumerate(['{"query": "', "latest", " news", " on", ' ai"}'])
                for part in (ToolPart(None, 0, arguments=piece), UsagePart(226, 15 + n))
            ],
            ToolPart(None, 0, arguments=""),
            FinishPart("tool_calls", "tool_calls"),
            UsagePart(226, 20),
            UsagePart(226, 20),
            EndPart(),
        ],
    ),
    "openai_chat_parsable_prefix.sse": (
        "openai-chat",
        [
            ToolPart("call_early123", 0, "search", ""),
            *fragments(None, 0, '{"query": "test"}', "", ', "limit": 10}'),
            FinishPart("tool_calls", "tool_calls"),
            EndPart(),
        ],
    ),
    "openai_responses_function_call.sse": (
        "openai-responses",
        [
            ToolPart("call_Q7pq6EfVGRnauPLWSSYBGJ1l", 0, "get_weather", None),
            *fragments(
                "call_Q7pq6EfVGRnauPLWSSYBGJ1l", 0, '{"', "location", '":"', "San", " Francisco", ",", " CA",
                '","', "unit", '":"', "fahren", "heit", '"}',
            ),
            ToolEndPart("call_Q7pq6EfVGRnauPLWSSYBGJ1l", 0),
            UsagePart(467, 26, 0),
            FinishPart("tool_calls", "completed"),
            EndPart(),
        ],
    ),
    "openai_responses_parallel_tool_calls.sse": (
        "openai-responses",
        [
            ToolPart("call_6KxSghkb4MVnunFH2TxPErLP", 0, "currentLocation", None),
            ToolPart("call_6KxSghkb4MVnunFH2TxPErLP", 0, arguments="{}"),
            ToolEndPart("call_6KxSghkb4MVnunFH2TxPErLP", 0),  # not the call_id of output_item.done
            ToolPart("call_Dg6WUmFHNeR5JxX1s53s1G4b", 1, "weather", None),
            *fragments("call_Dg6WUmFHNeR5JxX1s53s1G4b", 1, "{", '"location', '":', '"Rome', '"}'),
            ToolEndPart("call_Dg6WUmFHNeR5JxX1s53s1G4b", 1),
            UsagePart(0, 0, 0),
            FinishPart("tool_calls", "completed"),
            EndPart(),
        ],
    ),
    "openai_responses_error.sse": (
        "openai-responses",
        [
            ErrorPart(
                "provider",
                "insufficient_quota: You exceeded your current quota, please check your plan and billing "
                "details. For more information on this error, read the docs: "
                "https://platform.openai.com/docs/guides/error-codes/api-errors.",
            ),
        ],
    ),
    "anthropic_text_then_tool_use.sse": (
        "anthropic",
        [
            UsagePart(377, 1, 0, 0),
            *texts("I", "'ll check the current weather in Paris for you."),
            ToolPart("toolu_01NRLabsLyVHZPKxbKvkfSMn", 1, "get_weather", None),
            *fragments(None, 1, "", '{"locati', 'on": "P', "ar", 'is"}'),
            ToolEndPart("toolu_01NRLabsLyVHZPKxbKvkfSMn", 1),
            FinishPart("tool_calls", "tool_use"),
            UsagePart(377, 65, 0, 0),
            EndPart(),  # the file has no blank line after message_stop: dispatched at EOF
        ],
    ),
    "anthropic_incomplete_partial_json_max_tokens.sse": (
        "anthropic",
        [
            UsagePart(450, 1, 0, 0),
            *texts(
                "I", "'ll create a comprehensive tax guide for", " someone with multiple W2s an",
                "d save it in a file called taxes.txt. Let", " me do that for you now.",
            ),
            ToolPart("toolu_01EKqbqmZrGRXy18eN7m9kvY", 1, "make_file", None),
            *fragments(
                None, 1, "", '{"filename": "taxes.txt',
                '", "lines_of_text": [\n"# COMPREHENSIVE TAX GUIDE FOR INDIVIDUALS WITH MULTIPLE W-2s",\n"",'
                '\n"## INTRODUCTION",\n"",',
                '\n"Filing taxes',
            ),
            # no content_block_stop for the tool block: no ToolEndPart
            FinishPart("length", "max_tokens"),
            UsagePart(450, 124, 0, 0),
            EndPart(),
        ],
    ),
    "anthropic_tool_no_args.sse": (
        "anthropic",
        [
            UsagePart(565, 7, 0, 0),
            *texts("I'll update the issue list for", " you."),
            ToolPart("toolu_01QE1WLsSVp5hy5Q3GmGTmjP", 1, "updateIssueList", None),
            ToolPart(None, 1, arguments=""),
            ToolEndPart("toolu_01QE1WLsSVp5hy5Q3GmGTmjP", 1),
            FinishPart("tool_calls", "tool_use"),
            UsagePart(565, 48, 0, 0),
            EndPart(),
        ],
    ),
    "anthropic_error_overloaded_midstream.sse": (
        "anthropic",
        [UsagePart(17, 1), TextPart("Hello"), ErrorPart("overloaded", "Overloaded", retryable=True)],
    ),
    "ollama_chat_tool_call.ndjson": (
        "ollama",
        [
            ToolPart(None, 0, "get_weather", '{"city":"Tokyo"}'),
            ToolEndPart(None, 0),
            UsagePart(169, 15),
            FinishPart("tool_calls", "stop"),
            EndPart(),
        ],
    ),
    "ollama_chat_tool_call_in_done_chunk.ndjson": (
        "ollama",
        [
            ToolPart("call_s8sschyx", 0, "get_time", "{}"),
            ToolEndPart("call_s8sschyx", 0),
            UsagePart(None, None),
            FinishPart("tool_calls", "stop"),
            EndPart(),
        ],
    ),
    "ollama_midstream_error.ndjson": (
        "ollama",
        # the first line is /api/generate's shape (no "message"): nothing to read from it
        [ErrorPart("provider", "an error was encountered while running the model")],
    ),
    "anthropic_thinking_text.sse": (
        "anthropic",
        [
            UsagePart(69, 2, 0, 0),
            ReasoningPart("", 0),  # content_block_start: thinking "" and signature ""
            *thoughts(
                0, "The previous", " result", " was", " 925.", " Now", " I need to divide that", " by 5.\n\n925",
                " ÷ 5 ", "= 185",
            ),  # the last thinking_delta is "": nothing
            ReasoningPart("", 0, signature=opaque("anthropic_thinking_text.sse", "signature")[1]),
            *texts("925", " ÷ 5 ", "= 185"),
            FinishPart("stop", "end_turn"),
            UsagePart(69, 53, 0, 0),
            EndPart(),
        ],
    ),
    "anthropic_redacted_thinking.sse": (
        "anthropic",
        [
            UsagePart(92, 88, 0, 0),
            *[
                ReasoningPart("", index, redacted=data)
                for index, data in enumerate(opaque("anthropic_redacted_thinking.sse", "data"))
            ],
            *texts(
                "I notice that you've sent what", " appears to be some", " kind of test string",
                " or command. I don't have", ' any special "magic string"', " triggers or backdoor commands",
                " that would expose internal systems or", " change my behavior.", "\n\nI'm Claude",
                ", an AI assistant create", "d by Anthropic to", " be helpful, harmless", ", and honest. How",
                " can I assist you today with", " a legitimate task or question?",
            ),
            FinishPart("stop", "end_turn"),
            UsagePart(92, 189, 0, 0),
            EndPart(),
        ],
    ),
    "anthropic_thinking_tool_use.sse": (
        "anthropic",
        [
            UsagePart(17, 1),
            ReasoningPart("", 0),
            ReasoningPart("Let me call the tool.", 0),
            ReasoningPart("", 0, signature="sig-second"),
            ToolPart("toolu_second", 1, "test-tool", None),
            ToolPart(None, 1, arguments='{"value":"Sparkle Day"}'),
            ToolEndPart("toolu_second", 1),
            FinishPart("tool_calls", "tool_use"),
            UsagePart(17, 65),
            EndPart(),
        ],
    ),
    "openai_responses_reasoning_function_call.sse": (
        "openai-responses",
        [
            ReasoningPart("", "0", id=RS_CODEX, encrypted=CODEX_ENCRYPTED[0]),  # done's replaces it
            *thoughts(
                "0", "**Calcul", "ating", " step", "-by", "-step", " using", " calculator", "**\n\nI'll",
                " compute", " 12", " plus", " 7", ",", " then", " multiply", " the", " result", " by", " 3",
                ",", " and", " finally", " multiply", " that", " by", " 10", ",", " reporting", " the", " final",
                " product", ".", id=RS_CODEX,
            ),  # summary_text.done and summary_part.done repeat the text: not read
            ReasoningPart("", "0", id=RS_CODEX, encrypted=CODEX_ENCRYPTED[1]),
            ToolPart("call_AB6AaRZ1FYZB2RwS6A5vbdqn", 1, "calculator", None),
            *fragments(
                "call_AB6AaRZ1FYZB2RwS6A5vbdqn", 1, '{"', "a", '":', "12", ',"', "b", '":', "7", ',"', "op",
                '":"', "add", '"}',
            ),
            ToolEndPart("call_AB6AaRZ1FYZB2RwS6A5vbdqn", 1),
            UsagePart(134, 28, 0),
            FinishPart("tool_calls", "completed"),
            EndPart(),
        ],
    ),
    "openai_responses_reasoning_multi_summary.sse": (
        "openai-responses",
        [
            ReasoningPart("", "0", id=RS_AZURE, encrypted=AZURE_ENCRYPTED[0]),
            *[
                part
                for n in range(6)
                for part in thoughts(
                    "0" if n == 0 else f"0/s{n}",  # a summary part after the first is a block of its own
                    f"**Anonymized summary {n}**\n\nThis is placeholder reasoning text for anon",
                    f"ymized fixture summary index {n}. The actual reasoning content has been",
                    " redacted; only the streaming structure is preserved for test purposes.",
                    id=RS_AZURE,
                )
            ],
            ReasoningPart("", "0", id=RS_AZURE, encrypted=AZURE_ENCRYPTED[1]),
            TextPart("X"),  # anonymized: the delta no longer matches the text of output_text.done
            UsagePart(100, 500, 0),
            FinishPart("stop", "completed"),
            EndPart(),
        ],
    ),
    "openai_responses_reasoning_text.sse": (
        "openai-responses",
        [
            ReasoningPart("", "0", id=RS_LMSTUDIO),
            *thoughts(
                "0", "The", " user", " is", " asking", " for", " the", " weather", " in", " San", " Francisco",
                ".", " I", " have", " a", " weather", " function", " available", " that", " takes", " a",
                " location", " parameter", ".", " The", " user", " has", " provided", ' "', "San",
                " Francisco", '"', " as", " the", " location", ",", " so", " I", " have", " all", " the",
                " required", " information", " to", " make", " the", " function", " call", ".", id=RS_LMSTUDIO,
            ),
            ReasoningPart("", "0", id=RS_LMSTUDIO),  # done: its content was streamed, not read again
            *texts(
                "I", "'ll", " get", " the", " current", " weather", " information", " for", " San",
                " Francisco", " for", " you", ".",
            ),
            ToolPart("call_2025306790300011", 2, "weather", None),
            ToolPart("call_2025306790300011", 2, arguments='{"location":"San Francisco"}'),
            ToolEndPart("call_2025306790300011", 2),
            UsagePart(182, 61, 2),
            FinishPart("tool_calls", "completed"),
            EndPart(),
        ],
    ),
    "openai_chat_reasoning_content_tool_call.sse": (
        "openai-chat",
        [
            *thoughts(
                None, "The", " user", " is", " asking", " for", " the", " weather", " in", " San", " Francisco",
                ".", " I", " need", " to", " use", " the", " weather", " tool", " to", " get", " this",
                " information", ".", " Let", " me", " invoke", " the", " weather", " tool", " with", " the",
                " location", " parameter", " set", " to", ' "', "San", " Francisco", '".',
            ),
            ToolPart("call_00_ioIn7yN9p1ZOMNpDLwd4MgAF", 0, "weather", ""),
            *fragments(None, 0, "{", '"', "location", '"', ": ", '"', "San", " Francisco", '"', "}"),
            FinishPart("tool_calls", "tool_calls"),
            UsagePart(339, 83, 320),
            EndPart(),
        ],
    ),
    "openai_chat_reasoning_field.sse": (
        "openai-chat",
        [
            *thoughts(None, "Let me consider", " this carefully"),
            *texts("My answer is", " correct"),
            FinishPart("stop", "stop"),
            UsagePart(18, 439),
            EndPart(),
        ],
    ),
    "ollama_chat_thinking_tool_call.ndjson": (
        "ollama",
        [
            ReasoningPart("Hue is a city."),
            TextPart("Checking."),
            ToolPart("call_cy3xwkra", 0, "get_weather", '{"city":"Hue"}'),
            ToolEndPart("call_cy3xwkra", 0),
            UsagePart(272, 32),
            FinishPart("tool_calls", "stop"),
            EndPart(),
        ],
    ),
}
# fmt: on


def test_every_fixture_has_an_expectation() -> None:
    on_disk = {p.name for p in FIXTURES.iterdir() if p.suffix in (".sse", ".ndjson")}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parts_in_every_splitting(name: str) -> None:
    wire, expected = EXPECTED[name]
    assert_parts(wire, fixture(name), expected)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_with_crlf_and_cr_line_endings(name: str) -> None:
    wire, expected = EXPECTED[name]
    data = fixture(name)
    # JSON strings never hold a raw newline, so every b"\n" in a fixture is a line ending.
    for ending in (b"\r\n", b"\r"):
        assert_parts(wire, data.replace(b"\n", ending), expected)


# ----------------------------------------------------------------------------------------------------
# Factory


def test_every_wire_has_a_parser_and_an_unknown_one_is_named_on_error() -> None:
    for wire in WIRE_FORMATS:
        assert parse(wire, b"") == []
    with pytest.raises(ValueError, match="openai-chat, openai-responses, anthropic, ollama"):
        for_wire("bedrock")


# ----------------------------------------------------------------------------------------------------
# SSE framing through a parser


def test_comments_multiline_data_and_no_space_after_colon() -> None:
    data = (
        b": OPENROUTER PROCESSING\n\n"
        b'data:{"choices":[{"index":0,\n'
        b'data: "delta":{"content":"Hi"}}]}\n\n'
        b": keep-alive\n"
        b"data:[DONE]\n\n"
    )
    assert_parts("openai-chat", data, [TextPart("Hi"), EndPart()])


def test_utf8_split_inside_a_character() -> None:
    text = "naïve café — 東京 🌍"
    data = sse(chunk({"content": text}), done=True)
    assert parse("openai-chat", data, list(range(1, len(data)))) == [TextPart(text), EndPart()]
    line = json.dumps({"message": {"content": text}, "done": False}, ensure_ascii=False).encode()
    assert parse("ollama", line, list(range(1, len(line)))) == [TextPart(text)]


def test_parts_come_out_as_soon_as_their_frame_is_complete() -> None:
    parser = for_wire("openai-chat").parser()
    frame = sse(chunk({"content": "a"}))
    assert parser.feed(frame[:-1]) == []
    assert parser.feed(frame[-1:]) == [TextPart("a")]
    assert parser.feed(b"data: [DONE]") == []
    assert parser.close() == [EndPart()]


# ----------------------------------------------------------------------------------------------------
# openai-chat quirks


def test_chat_tolerates_empty_choices_missing_delta_null_content_and_role_only() -> None:
    data = sse(
        {"choices": [], "prompt_filter_results": []},  # Azure's first chunk
        chunk({"role": "assistant"}),
        chunk({"role": "assistant", "content": None}),
        chunk(None),
        {"choices": [{"index": 0, "delta": None, "finish_reason": None}], "usage": None},
        chunk({"content": "ok"}),
        chunk({}, "stop"),
        done=True,
    )
    assert_parts("openai-chat", data, [TextPart("ok"), FinishPart("stop", "stop"), EndPart()])


def test_chat_usage_on_every_chunk_is_reported_each_time() -> None:
    data = sse(
        chunk({"content": "a"}, usage={"prompt_tokens": 5, "completion_tokens": 1}),
        chunk({"content": "b"}, "length", usage={"prompt_tokens": 5, "completion_tokens": 2}),
    )
    expected: list[Part] = [
        TextPart("a"),
        UsagePart(5, 1),
        TextPart("b"),
        FinishPart("length", "length"),
        UsagePart(5, 2),
    ]
    assert_parts("openai-chat", data, expected)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("stop", "stop"),
        ("tool_calls", "tool_calls"),
        ("function_call", "tool_calls"),
        ("length", "length"),
        ("content_filter", "content_filter"),
        ("eos", "other"),
    ],
)
def test_chat_finish_reasons(raw: str, reason: str) -> None:
    assert parse("openai-chat", sse(chunk({}, raw))) == [FinishPart(reason, raw)]  # type: ignore[arg-type]


def test_chat_only_choice_zero_counts() -> None:
    data = sse(
        {
            "choices": [
                {"index": 1, "delta": {"content": "other"}, "finish_reason": "length"},
                {"index": 0, "delta": {"content": "mine"}, "finish_reason": None},
            ]
        }
    )
    assert parse("openai-chat", data) == [TextPart("mine")]


def test_chat_ollama_v1_parallel_calls_share_index_zero() -> None:
    def whole(call_id: str, name: str, arguments: str) -> dict[str, Any]:
        function = {"name": name, "arguments": arguments}
        return chunk({"tool_calls": [{"id": call_id, "index": 0, "type": "function", "function": function}]})

    data = sse(
        whole("call_a", "get_weather", '{"city":"Paris"}'),
        whole("call_b", "get_weather", '{"city":"Rome"}'),
        chunk({}, "tool_calls"),
        done=True,
    )
    assert_parts(
        "openai-chat",
        data,
        [
            ToolPart("call_a", 0, "get_weather", '{"city":"Paris"}'),
            ToolPart("call_b", 0, "get_weather", '{"city":"Rome"}'),
            FinishPart("tool_calls", "tool_calls"),
            EndPart(),
        ],
    )
    assert ready_calls("openai-chat", data) == [  # two calls, both ended by the finish reason
        ("call_a", "get_weather", {"city": "Paris"}, None),
        ("call_b", "get_weather", {"city": "Rome"}, None),
    ]


def test_chat_groq_whole_call_and_finish_in_one_chunk() -> None:
    call = {"id": "call_g", "type": "function", "index": 0, "function": {"name": "f", "arguments": '{"x":1}'}}
    data = sse(chunk({"tool_calls": [call]}, "tool_calls", x_groq={"usage": {}}), done=True)
    expected: list[Part] = [
        ToolPart("call_g", 0, "f", '{"x":1}'),
        FinishPart("tool_calls", "tool_calls"),
        EndPart(),
    ]
    assert_parts("openai-chat", data, expected)
    assert ready_calls("openai-chat", data) == [("call_g", "f", {"x": 1}, None)]


def test_chat_name_and_id_resent_on_every_delta() -> None:
    def piece(arguments: str) -> dict[str, Any]:
        call = {"id": "call_r", "index": 0, "function": {"name": "lookup", "arguments": arguments}}
        return chunk({"tool_calls": [call]})

    data = sse(piece('{"q":'), piece('"x"}'), chunk({}, "tool_calls"))
    assert_parts(
        "openai-chat",
        data,
        [
            ToolPart("call_r", 0, "lookup", '{"q":'),
            ToolPart("call_r", 0, "lookup", '"x"}'),
            FinishPart("tool_calls", "tool_calls"),
        ],
    )
    assert ready_calls("openai-chat", data) == [("call_r", "lookup", {"q": "x"}, None)]


def test_chat_fragments_are_passed_on_exactly_as_present() -> None:
    data = sse(
        chunk({"tool_calls": [{"index": 2, "function": {"arguments": "{}"}}]}),  # no id, no name
        chunk(
            {"tool_calls": [{"index": 2, "id": "call_late", "function": {"name": ""}}]}
        ),  # "" names nothing
        chunk({"tool_calls": [{"id": "", "index": 3}]}),
        chunk({}, "tool_calls"),
    )
    assert parse("openai-chat", data) == [
        ToolPart(None, 2, None, "{}"),
        ToolPart("call_late", 2, None, None),
        ToolPart(None, 3, None, None),
        FinishPart("tool_calls", "tool_calls"),
    ]
    # the id that came late is adopted; index 3 said nothing, so it is no call; the finish ends the one call
    assert ready_calls("openai-chat", data) == [("call_late", "", None, "no_name")]


def test_chat_provider_error_frames() -> None:
    data = sse(
        chunk({"content": "partial"}),
        {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}},
    )
    assert parse("openai-chat", data) == [TextPart("partial"), ErrorPart("provider", "Rate limit reached")]
    vllm = sse({"object": "error", "message": "context too long", "type": "BadRequestError", "code": 400})
    assert parse("openai-chat", vllm) == [ErrorPart("provider", "context too long")]
    bare = sse({"error": "upstream timed out"})
    assert parse("openai-chat", bare) == [ErrorPart("provider", "upstream timed out")]


# ----------------------------------------------------------------------------------------------------
# openai-responses


def test_responses_text_and_completion_without_calls() -> None:
    data = sse(
        {"type": "response.created", "response": {"status": "in_progress"}},
        {"type": "response.output_item.added", "output_index": 0, "item": {"type": "message", "id": "m"}},
        {"type": "response.output_text.delta", "item_id": "m", "output_index": 0, "delta": "Hel"},
        {"type": "response.output_text.delta", "item_id": "m", "output_index": 0, "delta": "lo"},
        {"type": "response.output_text.done", "item_id": "m", "output_index": 0, "text": "Hello"},
        {"type": "response.output_item.done", "output_index": 0, "item": {"type": "message", "id": "m"}},
        {"type": "response.something_new", "payload": [1, 2]},
        {"type": "response.completed", "response": {"usage": {"input_tokens": 3, "output_tokens": 2}}},
    )
    expected = [*texts("Hel", "lo"), UsagePart(3, 2), FinishPart("stop", "completed"), EndPart()]
    assert_parts("openai-responses", data, expected)


def test_responses_type_from_the_event_line_when_json_has_none() -> None:
    data = b'event: response.output_text.delta\ndata: {"delta": "x"}\n\n'
    assert parse("openai-responses", data) == [TextPart("x")]


def test_responses_arguments_done_is_not_appended_again_and_item_id_finds_the_call() -> None:
    item = {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "f", "arguments": ""}
    data = sse(
        {"type": "response.output_item.added", "output_index": 3, "item": item},
        {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "delta": '{"a":1}'},
        {"type": "response.function_call_arguments.done", "item_id": "fc_1", "arguments": '{"a":1}'},
        {"type": "response.output_item.done", "item": {**item, "arguments": '{"a":1}'}},
    )
    assert parse("openai-responses", data) == [
        ToolPart("call_1", 3, "f", None),
        ToolPart("call_1", 3, arguments='{"a":1}'),  # no output_index on these: the item id finds the call
        ToolEndPart("call_1", 3),
    ]


def test_responses_call_seen_only_when_done_arrives_whole() -> None:
    item = {"type": "function_call", "id": "fc_9", "call_id": "call_9", "name": "g", "arguments": '{"b":2}'}
    data = sse({"type": "response.output_item.done", "output_index": 0, "item": item})
    assert parse("openai-responses", data) == [
        ToolPart("call_9", 0, "g", '{"b":2}'),
        ToolEndPart("call_9", 0),
    ]


@pytest.mark.parametrize(
    ("details", "reason", "raw"),
    [
        ({"reason": "max_output_tokens"}, "length", "max_output_tokens"),
        ({"reason": "content_filter"}, "content_filter", "content_filter"),
        (None, "other", "incomplete"),
    ],
)
def test_responses_incomplete(details: dict[str, str] | None, reason: str, raw: str) -> None:
    data = sse({"type": "response.incomplete", "response": {"incomplete_details": details, "usage": None}})
    assert parse("openai-responses", data) == [FinishPart(reason, raw), EndPart()]  # type: ignore[arg-type]


def test_responses_errors_documented_shape_and_failed_alone() -> None:
    top_level = {"type": "error", "code": "rate_limit_exceeded", "message": "Slow down", "param": None}
    assert parse("openai-responses", sse(top_level)) == [
        ErrorPart("provider", "rate_limit_exceeded: Slow down")
    ]
    failed = {"type": "response.failed", "response": {"error": {"code": "server_error", "message": "Boom"}}}
    assert parse("openai-responses", sse(failed)) == [ErrorPart("provider", "server_error: Boom")]
    bare = {"type": "response.failed", "response": {"status": "failed"}}
    assert parse("openai-responses", sse(bare)) == [ErrorPart("provider", "response failed")]


# ----------------------------------------------------------------------------------------------------
# anthropic


def _block_delta(index: int, delta: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": delta}


def test_anthropic_thinking_server_tools_and_initial_text() -> None:
    data = sse(
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}},
        _block_delta(0, {"type": "thinking_delta", "thinking": "hmm"}),
        _block_delta(0, {"type": "signature_delta", "signature": "sig"}),
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "server_tool_use", "id": "srv"},
        },
        _block_delta(1, {"type": "input_json_delta", "partial_json": '{"query":"x"}'}),
        {"type": "content_block_stop", "index": 1},
        {"type": "content_block_start", "index": 2, "content_block": {"type": "text", "text": "Start"}},
        _block_delta(2, {"type": "citations_delta", "citation": {}}),
        _block_delta(2, {"type": "text_delta", "text": " more"}),
        {"type": "content_block_stop", "index": 2},
        {"type": "ping"},
        {"type": "brand_new_event"},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 9}},
        {"type": "message_stop"},
    )
    expected = [
        ReasoningPart("", 0),
        ReasoningPart("hmm", 0),
        ReasoningPart("", 0, signature="sig"),
        *texts("Start", " more"),
        FinishPart("stop", "end_turn"),
        UsagePart(None, 9),
        EndPart(),
    ]
    assert_parts("anthropic", data, expected)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("tool_use", "tool_calls"),
        ("max_tokens", "length"),
        ("refusal", "content_filter"),
        ("pause_turn", "other"),
        ("something_else", "other"),
    ],
)
def test_anthropic_stop_reasons(raw: str, reason: str) -> None:
    data = sse({"type": "message_delta", "delta": {"stop_reason": raw}})
    assert parse("anthropic", data) == [FinishPart(reason, raw)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ({"type": "overloaded_error", "message": "Overloaded"}, ErrorPart("overloaded", "Overloaded", True)),
        ({"type": "rate_limit_error", "message": "Too fast"}, ErrorPart("rate_limited", "Too fast", True)),
        ({"type": "api_error", "message": "Internal"}, ErrorPart("provider", "Internal")),
        ({"type": "api_error"}, ErrorPart("provider", '{"type": "api_error"}')),
        (None, ErrorPart("provider", "unknown error")),
    ],
)
def test_anthropic_errors(error: dict[str, str] | None, expected: ErrorPart) -> None:
    assert parse("anthropic", b"event: error\n" + sse({"type": "error", "error": error})) == [expected]


def test_anthropic_parallel_tool_blocks_end_separately() -> None:
    data = sse(
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "t0", "name": "a"},
        },
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "t1", "name": "b"},
        },
        _block_delta(1, {"type": "input_json_delta", "partial_json": "{}"}),
        {"type": "content_block_stop", "index": 1},
        _block_delta(0, {"type": "input_json_delta", "partial_json": "{}"}),
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_stop", "index": 0},  # a repeated stop ends nothing more
    )
    assert parse("anthropic", data) == [
        ToolPart("t0", 0, "a", None),
        ToolPart("t1", 1, "b", None),
        ToolPart(None, 1, arguments="{}"),
        ToolEndPart("t1", 1),
        ToolPart(None, 0, arguments="{}"),
        ToolEndPart("t0", 0),
    ]


# ----------------------------------------------------------------------------------------------------
# ollama


def ndjson(*objects: Any) -> bytes:
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects).encode()


def test_ollama_text_then_done() -> None:
    data = ndjson(
        {"message": {"role": "assistant", "content": "Hel"}, "done": False},
        {"message": {"role": "assistant", "content": ""}, "done": False},
        {"message": {"role": "assistant", "content": "lo", "thinking": "..."}, "done": False},
        {
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "length",
            "eval_count": 2,
        },
    )
    expected = [
        TextPart("Hel"),
        ReasoningPart("..."),  # thinking comes before the content of its line
        TextPart("lo"),
        UsagePart(None, 2),
        FinishPart("length", "length"),
        EndPart(),
    ]
    assert_parts("ollama", data, expected)


def test_ollama_calls_are_told_apart_by_their_position() -> None:
    def call(name: str, arguments: Any, **function: Any) -> dict[str, Any]:
        return {"function": {"name": name, "arguments": arguments, **function}}

    data = ndjson(
        {
            "message": {"content": "", "tool_calls": [call("f", {"x": "é"}), call("f", {"x": 2})]},
            "done": False,
        },
        {"message": {"tool_calls": [{"id": "real", **call("g", {})}]}, "done": False},
        {"message": {"tool_calls": [call("h", '{"raw":true}', index=4)]}, "done": True},
    )
    assert_parts(
        "ollama",
        data,
        [
            ToolPart(None, 0, "f", '{"x":"é"}'),
            ToolEndPart(None, 0),
            ToolPart(None, 1, "f", '{"x":2}'),
            ToolEndPart(None, 1),
            ToolPart("real", 2, "g", "{}"),
            ToolEndPart("real", 2),
            ToolPart(None, 3, "h", '{"raw":true}'),  # Ollama's own index is not an identity
            ToolEndPart(None, 3),
            UsagePart(None, None),
            FinishPart("tool_calls", None),
            EndPart(),
        ],
    )


def test_ollama_other_done_reasons() -> None:
    data = ndjson({"message": {"content": ""}, "done": True, "done_reason": "unload"})
    assert parse("ollama", data) == [UsagePart(None, None), FinishPart("other", "unload"), EndPart()]


# ----------------------------------------------------------------------------------------------------
# Malformed frames: one ErrorPart each, and parsing goes on


@pytest.mark.parametrize(
    ("wire", "frame"),
    [
        ("openai-chat", "{not json"),
        ("openai-chat", "[1, 2]"),
        ("openai-chat", '"just a string"'),
        ("openai-chat", '{"choices": {"index": 0}}'),
        ("openai-chat", '{"choices": ["x"]}'),
        ("openai-chat", '{"choices": [{"index": 0, "delta": "text"}]}'),
        ("openai-chat", '{"choices": [{"index": 0, "delta": {"content": 5}}]}'),
        ("openai-chat", '{"choices": [{"index": 0, "delta": {"tool_calls": {"index": 0}}}]}'),
        ("openai-chat", '{"choices": [{"index": 0, "delta": {"tool_calls": [{"index": "0"}]}}]}'),
        ("openai-chat", '{"choices": [{"index": 0, "delta": {"tool_calls": [{"function": "f"}]}}]}'),
        (
            "openai-chat",
            '{"choices": [{"index": 0, "delta": {"tool_calls": [{"function": {"arguments": 1}}]}}]}',
        ),
        ("openai-chat", '{"choices": [{"index": 0, "delta": {}, "finish_reason": 1}]}'),
        ("openai-responses", "nope"),
        ("openai-responses", '{"type": "response.output_text.delta", "delta": 3}'),
        ("openai-responses", '{"type": "response.output_item.added", "item": "function_call"}'),
        (
            "openai-responses",
            '{"type": "response.output_item.added", "output_index": "0", "item": {"type": "function_call"}}',
        ),  # noqa: E501
        ("openai-responses", '{"type": "response.completed", "response": []}'),
        ("anthropic", "{"),
        ("anthropic", '{"type": "content_block_delta", "delta": {"type": "text_delta", "text": "x"}}'),
        ("anthropic", '{"type": "content_block_delta", "index": 0, "delta": "x"}'),
        (
            "anthropic",
            '{"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": 7}}',
        ),
        ("anthropic", '{"type": "message_start", "message": null}'),
        ("ollama", '{"message": "hi"}'),
        ("ollama", '{"message": {"content": ["hi"]}}'),
        ("ollama", '{"message": {"tool_calls": {"function": {}}}}'),
        ("ollama", '{"message": {"tool_calls": [{"function": {"name": "f", "arguments": 12}}]}}'),
        ("ollama", '{"message": {"tool_calls": [{"name": "f"}]}}'),
    ],
)
def test_wrong_shapes_give_one_malformed_part_then_parsing_goes_on(wire: WireFormat, frame: str) -> None:
    if wire == "ollama":
        data = f"{frame}\n".encode()
        after = ndjson({"message": {"content": "next"}})
    else:
        data = f"data: {frame}\n\n".encode()
        after = {
            "openai-chat": sse(chunk({"content": "next"})),
            "openai-responses": sse({"type": "response.output_text.delta", "delta": "next"}),
            "anthropic": sse(_block_delta(0, {"type": "text_delta", "text": "next"})),
        }[wire]
    parts = parse(wire, data)
    malformed(parts, wire)
    assert parse(wire, data + after)[1:] == [TextPart("next")]


def test_malformed_message_carries_a_short_excerpt() -> None:
    frame = "{" + "x" * 500
    (part,) = parse("openai-chat", f"data: {frame}\n\n".encode())
    assert isinstance(part, ErrorPart)
    assert "xxxx" in part.message and len(part.message) < 200


def test_a_frame_with_a_bad_part_loses_only_that_frame() -> None:
    bad = {"choices": [{"index": 0, "delta": {"content": "dropped", "tool_calls": [{"index": "zero"}]}}]}
    parts = parse("openai-chat", sse(chunk({"content": "kept"}), bad, chunk({"content": "also kept"})))
    assert parts[0] == TextPart("kept") and parts[2] == TextPart("also kept")
    malformed(parts[1:2], "openai-chat")


def test_parsing_goes_on_after_the_end_marker() -> None:
    data = sse(chunk({"content": "a"}), done=True) + sse(chunk({"content": "late"}))
    assert parse("openai-chat", data) == [TextPart("a"), EndPart(), TextPart("late")]


# ----------------------------------------------------------------------------------------------------
# Never raises on damaged bytes (a quick deterministic sweep; property tests go further)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_damaged_fixture_bytes_never_raise(name: str) -> None:
    wire, _ = EXPECTED[name]
    original = fixture(name)
    rng = random.Random(name)
    for _ in range(60):
        data = bytearray(original)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        cut = rng.randrange(len(data) + 1)
        parts = parse(
            wire, bytes(data[:cut]), sorted(rng.sample(range(1, max(cut, 2)), min(5, max(cut - 1, 0))))
        )
        assert all(
            isinstance(
                p, (TextPart, ReasoningPart, ToolPart, ToolEndPart, UsagePart, FinishPart, ErrorPart, EndPart)
            )
            for p in parts
        )


def test_hostile_json_never_raises() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    huge_int = "1" * 5000
    for wire in WIRE_FORMATS:
        for frame in (
            deep,
            huge_int,
            '{"a": ' + deep + "}",
            "NaN",
            "\x00",
            '{"type": null, "choices": null}',
        ):
            data = f"{frame}\n".encode() if wire == "ollama" else f"data: {frame}\n\n".encode()
            parse(wire, data)
