"""Exporting a conversation (``session.export`` / ``chat.export``) to .md, .html and .json, and loading it back."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from helpers import events_of

from nbstream import Call, ImageData, Say, ScriptedModel, Session
from nbstream._export import Conversation, to_markdown
from nbstream._export_html import render_markdown, static_html, to_html
from nbstream._messages import (
    AssistantMessage,
    Reasoning,
    StreamFailure,
    ToolCall,
    ToolResultMessage,
    UserMessage,
)

KEY = "sk-FAKE-export-0123456789abcdef"
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


async def slow_sum(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def boom(text: str) -> str:
    """Always fails."""
    raise RuntimeError(f"bad {text}")


async def conversation(tmp_path: Path) -> Session:
    model = ScriptedModel(
        [
            [
                Say("Let me **add** them. [docs](https://example.org) [bad](javascript:alert(1))"),
                Call("slow_sum", {"a": 2, "b": 3}),
                Call("boom", {"text": XSS}),
            ],
            [Say(f"The sum is 5. {XSS}")],
        ]
    )
    session = Session(model=model, tools=[slow_sum, boom], system="Be brief.", api_key=KEY)
    await events_of(session, "What is 2 + 3?")
    return session


async def test_tool_results_keep_their_duration() -> None:
    session = await conversation(Path())
    results = [m for m in session.messages if isinstance(m, ToolResultMessage)]
    assert [r.error for r in results] == [None, "exception"]
    assert all(r.duration is not None and r.duration >= 0 for r in results)


async def test_json_round_trips_and_the_loaded_session_continues(tmp_path: Path) -> None:
    session = await conversation(tmp_path)
    path = session.export(tmp_path / "chat.json")
    document = json.loads(path.read_text())
    assert document["format"] == "nbstream.conversation" and document["system"] == "Be brief."

    model = ScriptedModel([[Say("Still 5.")]])
    loaded = Session.load(path, model=model, tools=[slow_sum])
    assert loaded.messages == session.messages and loaded.system == "Be brief."
    [event async for event in loaded.send("And again?")]
    (request,) = model.requests
    assert request.messages[: len(session.messages)] == session.messages  # the earlier history is sent
    assert request.messages[-1] == UserMessage(content="And again?") and request.system == "Be brief."
    assert isinstance(loaded.messages[-1], AssistantMessage) and loaded.messages[-1].text == "Still 5."
    assert Session.load(path, system="Other.").system == "Other."


@pytest.mark.parametrize("suffix", [".md", ".html", ".json"])
async def test_exports_hold_the_whole_conversation_and_no_secret(tmp_path: Path, suffix: str) -> None:
    session = await conversation(tmp_path)
    text = session.export(tmp_path / f"chat{suffix}").read_text()
    assert KEY not in text and "sk-FAKE" not in text
    for needle in ("What is 2 + 3?", "slow_sum", "boom", "The sum is 5.", "exception", "RuntimeError"):
        assert needle in text
    if suffix != ".json":
        assert "Be brief." in text
        assert re.search(r"\d+ ms|\d+\.\d\d s", text), "tool durations are shown"


async def test_html_is_self_contained_and_escapes_model_output(tmp_path: Path) -> None:
    session = await conversation(tmp_path)
    page = session.export(tmp_path / "chat.html").read_text()
    assert "<script" not in page and "<img" not in page  # no tag from model output survives
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert 'href="javascript' not in page and "[bad](javascript:alert(1))" in page  # refused: kept as text
    assert not re.search(r"""(src|href)=["']?(https?:)?//(?!example\.org)""", page), "nothing is loaded"
    assert 'href="https://example.org" rel="noopener noreferrer nofollow"' in page  # a link, never a load
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert "prefers-color-scheme:dark" in page and "<strong>add</strong>" in page


def test_markdown_rendering_refuses_html_images_and_unsafe_links() -> None:
    rendered = render_markdown("<b>x</b> ![t](https://tracker.example/p.png) [j](javascript:alert(1)) `<i>`")
    assert "<b>" not in rendered and "&lt;b&gt;" in rendered
    assert "<img" not in rendered and 'href="javascript' not in rendered
    assert "<code>&lt;i&gt;</code>" in rendered


def test_every_part_of_a_message_is_shown() -> None:
    call = ToolCall(id="c1", name="t", arguments=None, raw_arguments='{"a": ', error="incomplete arguments")
    messages = [
        UserMessage(content="go"),
        AssistantMessage(
            text="partial",
            tool_calls=[call],
            error=StreamFailure(kind="interrupted", message="dropped <b>", provider="anthropic"),
        ),
        ToolResultMessage(call_id="c1", name="t", content="t was not run", error="incomplete"),
    ]
    page = to_html(Conversation(messages, model="anthropic:x"))
    assert "Stream error (interrupted): anthropic: dropped &lt;b&gt;" in page
    assert "incomplete arguments" in page and "{&quot;a&quot;: " in page and "error: incomplete" in page
    fragment = static_html(Conversation(messages * 1, model="m"), limit=5)
    assert "1 prompt." in fragment and "more characters" in fragment


async def test_a_chat_exports_like_its_session(tmp_path: Path) -> None:
    from nbstream import StreamChat

    chat = StreamChat(model=ScriptedModel([[Say("Hi <there>.")]]), api_key=KEY)
    try:
        await chat.send("hello")
        text = chat.export(tmp_path / "chat.md").read_text()
        assert "## User\n\nhello" in text and "Hi <there>." in text and KEY not in text
    finally:
        chat.close()


async def test_a_provider_session_exports_no_key_header_or_url_password(tmp_path: Path) -> None:
    from nbstream.testing import ProviderServer

    with ProviderServer([[Say("Hello from the server.")]]) as server:
        base_url = server.base_url("anthropic").replace("://", "://user:FAKE-pass-4242@")
        session = Session(model="anthropic:claude-x", base_url=base_url, api_key=KEY)
        await events_of(session, "hi")
        await session.aclose()
        assert server.requests[0].headers["x-api-key"] == KEY  # the key was in play
    for suffix in (".md", ".html", ".json"):
        text = session.export(tmp_path / f"chat{suffix}").read_text()
        assert "Hello from the server." in text and "anthropic:claude-x" in text
        for secret in (KEY, "sk-FAKE", "FAKE-pass", "x-api-key", "127.0.0.1"):
            assert secret not in text


def test_an_unknown_suffix_or_file_is_a_clear_error(tmp_path: Path) -> None:
    session = Session(model=ScriptedModel([]))
    with pytest.raises(ValueError, match=r"\.md .*\.html .*\.json"):
        session.export(tmp_path / "chat.txt")
    (tmp_path / "other.json").write_text('{"a": 1}')
    with pytest.raises(ValueError, match="not an nbstream conversation"):
        Session.load(tmp_path / "other.json")


PNG_3X2 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAMAAAACCAIAAAASFvFNAAAAFUlEQVR4nGM8ISfHwMDAwMDAxAADABMuAQhqwGVhAAAAAElFTkSuQmCC"
)


def reasoning_and_images() -> Conversation:
    image = ImageData.from_bytes(PNG_3X2)
    call = ToolCall(id="c1", name="plot", arguments={}, raw_arguments="{}")
    messages = [
        UserMessage(content="what is this?", images=[image]),
        AssistantMessage(
            reasoning=[
                Reasoning(text=f"First, look. {XSS}", signature="sig-1"),
                Reasoning(redacted="opaque"),  # encrypted only: nothing to show
                Reasoning(text="Then plot it."),
            ],
            text="Let me plot it.",
            tool_calls=[call],
        ),
        ToolResultMessage(call_id="c1", name="plot", content="a plot", images=[image, image], duration=0.2),
        AssistantMessage(reasoning=[Reasoning(redacted="only-encrypted")], text="A red image."),
    ]
    return Conversation(messages, model="m")


def test_reasoning_is_shown_folded_with_its_blocks_joined() -> None:
    conversation = reasoning_and_images()
    markdown = to_markdown(conversation)
    assert markdown.count("<details><summary>Reasoning</summary>") == 1, "a message with text only"
    assert f"First, look. {XSS}\n\nThen plot it." in markdown
    for page in (to_html(conversation), static_html(conversation)):
        assert page.count('<details class="reasoning">') == 1, "folded: no open attribute"
        assert "First, look. &lt;script&gt;" in page and "Then plot it." in page
        assert "opaque" not in page and "only-encrypted" not in page and "sig-1" not in page


def test_images_are_embedded_checked_and_the_static_copy_keeps_a_budget() -> None:
    conversation = reasoning_and_images()
    url = ImageData.from_bytes(PNG_3X2).data_url
    page = to_html(conversation)
    assert page.count(f'<img src="{url}" alt="image/png 3×2"') == 3, "the prompt's and the result's"
    assert "img-src data:;" in page and "default-src 'none'" in page  # data: images, nothing to load
    assert not re.search(r"""<img src=["'](?!data:image/png;base64,)""", page)
    markdown = to_markdown(conversation)
    assert markdown.count("🖼 image/png 3×2") == 3 and "data:" not in markdown
    fragment = static_html(conversation, image_chars=len(url) * 2)
    assert fragment.count("<img ") == 2, "in order, while the budget lasts"
    assert fragment.count("🖼 image/png 3×2 (not kept in this copy)") == 1
    assert static_html(conversation).count("<img ") == 3
