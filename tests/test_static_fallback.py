"""A saved notebook reads without a kernel: a chat's output keeps a static, sanitized copy of the conversation.

A real kernel (nbclient) runs a notebook that displays a chat first and sends two turns afterwards; the output's
``text/html`` must hold both turns (refreshed at each turn's end through its display id), next to the widget
view, which frontends with widget support prefer. ``nbconvert``'s HTML export of the notebook then shows the
transcript, with an XSS string from a tool result escaped.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import nbformat
import pytest
from helpers import run_headless
from nbconvert import HTMLExporter

from nbstream import Say, ScriptedModel, StreamChat
from nbstream._static_html import WIDGET_VIEW, split

XSS = '<script>alert("pwned")</script><img src=x onerror=alert(2)>'


def code(source: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(textwrap.dedent(source).strip())


def notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        code(
            f"""
            from nbstream import StreamChat, ScriptedModel, Say, Call

            def fetch_page(url: str) -> str:
                \"\"\"Fetch a page.\"\"\"
                return {XSS!r}

            model = ScriptedModel([
                [Say("Fetching it."), Call("fetch_page", {{"url": "https://example.org"}})],
                [Say("The page says hello.")],
                [Say("Second answer, **bold**.")],
            ])
            chat = StreamChat(model=model, tools=[fetch_page])
            chat
            """
        ),
        code('await chat.send("fetch example.org")'),
        code('await chat.send("and now?")'),
    ]
    return nb


def execute(tmp_path: Path, *, store_widget_state: bool) -> nbformat.NotebookNode:
    return nbformat.read(
        run_headless(notebook(), tmp_path, store_widget_state=store_widget_state), as_version=4
    )


def chat_output(nb: nbformat.NotebookNode) -> dict[str, Any]:
    (output,) = nb.cells[0].outputs
    return dict(output)


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> nbformat.NotebookNode:
    return execute(tmp_path_factory.mktemp("headless"), store_widget_state=False)


def test_the_output_keeps_both_turns_as_static_html_beside_the_widget(
    executed: nbformat.NotebookNode,
) -> None:
    output = chat_output(executed)
    assert output["output_type"] == "display_data"
    data = output["data"]
    assert WIDGET_VIEW in data and "text/html" in data and "text/plain" in data
    static = data["text/html"]
    # Displayed before any turn, refreshed at each turn's end:
    for text in ("fetch example.org", "Fetching it.", "fetch_page", "The page says hello.", "and now?"):
        assert text in static
    assert "<strong>bold</strong>" in static and "2 prompts" in static
    assert "<script" not in static and "<img" not in static
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in static


def test_nbconvert_html_shows_the_transcript_sanitized(executed: nbformat.NotebookNode) -> None:
    body, _ = HTMLExporter().from_notebook_node(executed)
    for text in ("fetch example.org", "The page says hello.", "Second answer", "fetch_page"):
        assert text in body
    # the tool result, escaped (nbconvert re-serializes the fragment: &quot; comes back as ")
    assert '<pre>&lt;script&gt;alert("pwned")&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;</pre>' in body
    assert 'alert("pwned")</script>' not in body and "<img src=x" not in body


def test_with_widget_state_saved_widget_renderers_still_get_the_widget(tmp_path: Path) -> None:
    """nbclient saved the widget state: widget-aware renderers (nbconvert's html-manager here) pick the view;
    the static copy is still in the output for the others."""
    nb = execute(tmp_path, store_widget_state=True)
    data = chat_output(nb)["data"]
    assert "The page says hello." in data["text/html"]
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert data[WIDGET_VIEW]["model_id"] in state
    body, _ = HTMLExporter().from_notebook_node(nb)
    assert 'type="application/vnd.jupyter.widget-view+json"' in body


def jupyterlab_widget_rank() -> int | None:
    """The rank JupyterLab's widget manager registers its renderer with (lower wins over text/html's)."""
    root = Path(sys.prefix) / "share/jupyter/labextensions/@jupyter-widgets/jupyterlab-manager/static"
    for path in root.glob("*.js"):
        found = re.search(r"mimeTypes:\[\w+\],createRenderer:[^}]*\}\s*,\s*(-?\d+)\)", path.read_text())
        if found:
            return int(found.group(1))
    return None


def test_jupyterlab_prefers_the_widget_view_over_the_static_copy() -> None:
    """JupyterLab renders the output's highest-ranked mime type (lowest rank number) it trusts: the widget
    manager registers the view at a rank below text/html's (100 in JupyterLab 4), so a trusted notebook keeps
    the live widget; an untrusted one, which would not render the widget anyway, shows the static copy."""
    rank = jupyterlab_widget_rank()
    if rank is None:
        pytest.skip("jupyterlab-manager's bundle not found")
    assert rank < 0


def test_the_bundle_offers_the_widget_and_its_static_copy() -> None:
    chat = StreamChat(model=ScriptedModel([]))
    try:
        data, metadata = split(chat._repr_mimebundle_())
        assert set(data) == {"text/plain", WIDGET_VIEW, "text/html"}
        assert "No messages yet." in data["text/html"]
        json.dumps([data, metadata])  # sendable
    finally:
        chat.close()
    assert chat._repr_mimebundle_ is None  # closed: ipywidgets drops the view, and the copy with it


async def test_turn_ends_and_clear_refresh_the_copy_with_or_without_a_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Also with a page attached: a notebook saved from JupyterLab keeps an up-to-date copy (the frontend hands
    the re-rendered output's view over, js/src/widget.js). The copy is sent before the turn's handle resolves."""
    import nbstream._static_html as static

    published: list[tuple[str, dict[str, Any]]] = []
    threads: set[str] = set()

    def publish(display_id: str, data: dict[str, Any], _: object) -> None:
        threads.add(threading.current_thread().name)
        published.append((display_id, data))

    monkeypatch.setattr(static, "publish_update", publish)
    chat = StreamChat(
        model=ScriptedModel([[Say("First <b>answer</b>.")], [Say("Second answer.")], [Say("Third.")]])
    )
    try:
        await chat.send("one")
        assert published == []  # never displayed: no display id to update
        chat._display_id = "nbstream-test"
        await chat.send("two")
        ((display_id, data),) = published
        assert display_id == "nbstream-test" and WIDGET_VIEW in data
        assert (
            "First &lt;b&gt;answer&lt;/b&gt;." in data["text/html"] and "Second answer." in data["text/html"]
        )
        chat._link.attached = True  # a page listens: turns go as commit messages, the copy is still refreshed
        await chat.send("three")
        assert len(published) == 2 and "Third." in published[-1][1]["text/html"]
        chat.clear()  # runs on the chat's loop
        for _ in range(500):
            if len(published) == 3:
                break
            await asyncio.sleep(0.01)
        assert len(published) == 3 and "No messages yet." in published[-1][1]["text/html"]
        # Rendered and sent off the chats' loop: a long conversation's markdown never holds up other chats.
        assert {name.rsplit("_", 1)[0] for name in threads} == {"nbstream-static-copy"}
    finally:
        chat.close()


async def test_a_copy_that_cannot_be_sent_never_stops_the_chat(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import nbstream._static_html as static

    def refuse(*_: object) -> bool:
        raise OSError("the socket is closed")

    monkeypatch.setattr(static, "publish_update", refuse)
    chat = StreamChat(model=ScriptedModel([[Say("One.")], [Say("Two.")]]))
    chat._display_id = "nbstream-test"
    try:
        for prompt, answer in (("one", "One."), ("two", "Two.")):
            reply = await chat.send(prompt)
            assert reply is not None and reply.text == answer
        assert "static copy of the chat could not be updated" in caplog.text
    finally:
        chat.close()


def test_a_saved_notebook_keeps_images_within_their_budgets(tmp_path: Path) -> None:
    """A tool returns a small image and one of about 2 MB (noise does not compress): the saved widget state keeps
    the small one and a note for the big one (the turn's budget), and so does the static copy; the notebook file
    stays small."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        code(
            """
            import os
            from PIL import Image
            from nbstream import Call, Say, ScriptedModel, StreamChat

            def pictures() -> list:
                \"\"\"Two pictures.\"\"\"
                small = Image.new("RGB", (30, 20), (200, 30, 30))
                noise = Image.frombytes("RGB", (900, 800), os.urandom(900 * 800 * 3))
                return ["two pictures", small, noise]

            chat = StreamChat(model=ScriptedModel([[Call("pictures", {})], [Say("Done.")]]), tools=[pictures])
            chat
            """
        ),
        code('await chat.send("draw")'),
    ]
    path = run_headless(nb, tmp_path, store_widget_state=True)
    saved = nbformat.read(path, as_version=4)
    state = saved.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    (chat_state,) = [s["state"] for s in state.values() if "transcript" in s["state"]]
    (result,) = [e for e in chat_state["transcript"] if e["type"] == "tool_result"]
    small, big = result["images"]
    assert (
        small["media_type"] == "image/png" and (small["width"], small["height"]) == (30, 20) and small["data"]
    )
    assert "data" not in big and big["omitted"] > 2_000_000 and (big["width"], big["height"]) == (900, 800)
    static = chat_output(saved)["data"]["text/html"]
    assert static.count('<img src="data:image/png;base64,') == 1
    assert "🖼 image/png 900×800 (not kept in this copy)" in static
    (widget,) = [s["state"] for s in state.values() if "_esm" in s["state"]]
    bundle = len(widget["_esm"]) + len(widget["_css"])  # anywidget saves the frontend with the state
    assert path.stat().st_size - bundle < 60_000, "the 2 MB image is in no part of the saved notebook"
