"""The static copy of a chat (nbstream/_static_html.py) in a real JupyterLab: refreshed at each turn's end while
the page shows the widget, without a second view or a visible re-render, and what a reopened notebook shows.

At each turn's end the kernel sends ``update_display_data`` for the chat's output. JupyterLab renders the output
again: ipywidgets' renderer empties it and asks for a new view without removing the old one, and the new view
takes the old one's DOM over (js/src/widget.js). The page must keep exactly one live view (the frontend counts
them under ``Symbol.for('nbstream.liveViews')``: without the hand-over each turn would leave one more), the same
DOM, the prompt's draft and focus, and never paint the renderer's "Loading widget..." in between.

Reopened, a trusted notebook is rendered with the widget view in JupyterLab: the chat itself when the notebook
saved widget state, ipywidgets' "model not found" note when it did not (JupyterLab's default); never the static
copy. An untrusted notebook (one JupyterLab did not save itself, e.g. downloaded) shows the copy, sanitized.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from typing import Any

import nbformat
import pytest
from jupyter_lab import IPYKERNEL7, KERNELS, JupyterServer, Lab
from nbconvert import HTMLExporter
from widget_page import WIDGET

TEXT = f"{WIDGET} [data-nbstream=text]"
PROMPT = f"{WIDGET} [data-nbstream=prompt]"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGETS_PLUGIN = "@jupyter-widgets/jupyterlab-manager:plugin"
XSS = '<script>alert("pwned")</script><img src=x onerror=alert(2)>'
FIRST_ANSWER = "The page says hello."
SECOND_ANSWER = "Second answer, streaming for a while."

CHAT = textwrap.dedent(
    f"""
    from nbstream import Call, Say, ScriptedModel, StreamChat

    def fetch_page(url: str) -> str:
        \"\"\"Fetch a page.\"\"\"
        return {XSS!r}

    chat = StreamChat(ScriptedModel([
        [Say("Fetching it.", chunk=1, delay=0.01), Call("fetch_page", {{"url": "https://example.org"}})],
        [Say({FIRST_ANSWER!r}, chunk=1, delay=0.01)],
        [Say({(SECOND_ANSWER + " ") * 6!r}, chunk=1, over=3.0)],
    ]), tools=[fetch_page])
    chat
    """
).strip()

LIVE_VIEWS = """() => {
  const live = [...(window[Symbol.for('nbstream.liveViews')] ?? [])];
  return {
    live: live.length,
    connected: live.filter((root) => root.isConnected).length,
    roots: document.querySelectorAll('.nbstream').length,
  };
}"""

# Marks the view's root and element, then samples every frame until the view has moved to a new element: what
# the frame showed in the chat's output, and where the notebook was scrolled.
WATCH_RERENDER = """() => {
  const root = document.querySelector('.nbstream');
  const output = root.closest('.jp-OutputArea');
  const scroller = root.closest('.jp-WindowedPanel-outer') ?? document.scrollingElement;
  window.__watch = { root, host: root.parentElement, frames: [], done: false };
  const frame = () => {
    const watch = window.__watch;
    watch.frames.push({
      shown: output.contains(root),
      loading: output.textContent.includes('Loading widget'),
      moved: root.parentElement !== watch.host,
      top: scroller.scrollTop,
      height: Math.round(root.getBoundingClientRect().height),
      text: root.querySelector('[data-nbstream=text]').textContent.length,
      status: root.dataset.status,
    });
    if (root.parentElement !== watch.host && root.isConnected) watch.done = true;
    else requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}"""


@pytest.fixture
def widget_state_saved(jupyter_server: JupyterServer) -> Iterator[None]:
    """Settings → Save Widget State Automatically, on (a user setting of the whole server: put back after)."""
    jupyter_server.api("PUT", f"/lab/api/settings/{WIDGETS_PLUGIN}", {"raw": json.dumps({"saveState": True})})
    try:
        yield
    finally:
        jupyter_server.api("PUT", f"/lab/api/settings/{WIDGETS_PLUGIN}", {"raw": "{}"})


def send_from_the_prompt(lab: Lab, prompt: str) -> None:
    box = lab.page.locator(PROMPT)
    box.fill(prompt)
    box.press("Enter")


def wait_moved(lab: Lab) -> list[dict[str, Any]]:
    """Wait until the static copy's refresh re-rendered the output (the view moved); the frames sampled."""
    lab.page.wait_for_function("() => window.__watch.done", timeout=20_000)
    frames: list[dict[str, Any]] = lab.page.evaluate("() => window.__watch.frames")
    return frames


def assert_seamless(frames: list[dict[str, Any]]) -> None:
    """No frame painted the output without the chat, or the renderer's placeholder, and the notebook never
    scrolled up (an output emptied for a moment, were it laid out, would pull the end of the notebook up). It may
    scroll down: the chat keeps the end of a growing reply in view."""
    assert frames and frames[-1]["moved"]
    assert all(f["shown"] and not f["loading"] for f in frames), json.dumps(frames[-6:])
    tops = [f["top"] for f in frames]
    assert tops == sorted(tops), json.dumps(frames[-6:])


def chat_in_lab(lab: Lab, name: str, kernel: str = IPYKERNEL7, app: str = "lab") -> None:
    """Run the chat's cell, then two turns from the widget's prompt, each followed by its copy's refresh."""
    page = lab.page
    lab.open(lab.write_notebook(name, [CHAT], kernel), app)
    lab.run_all()
    page.locator(PROMPT).wait_for(timeout=30_000)
    lab.wait_idle()
    first_root = page.evaluate_handle("() => document.querySelector('.nbstream')")

    page.evaluate(WATCH_RERENDER)
    send_from_the_prompt(lab, "fetch example.org")
    page.locator(TEXT).filter(has_text=FIRST_ANSWER).wait_for(timeout=30_000)
    assert_seamless(wait_moved(lab))

    page.evaluate(WATCH_RERENDER)
    send_from_the_prompt(lab, "and now?")
    page.locator(TEXT).filter(has_text=SECOND_ANSWER).wait_for(timeout=30_000)
    page.locator(PROMPT).fill("a draft")  # typed while the reply streams; the box keeps the focus
    page.wait_for_selector(f"{WIDGET}[data-status=done]", timeout=30_000)
    assert_seamless(wait_moved(lab))

    assert page.evaluate("(first) => document.querySelector('.nbstream') === first", first_root), (
        "never rebuilt"
    )
    assert page.locator(PROMPT).input_value() == "a draft"
    assert page.evaluate("() => document.activeElement?.dataset.nbstream") == "prompt", "the focus stayed"
    assert page.evaluate(LIVE_VIEWS) == {"live": 1, "connected": 1, "roots": 1}, (
        "one live view after two turns"
    )


def save(lab: Lab) -> nbformat.NotebookNode:
    """Save as a user does (Ctrl+S); the file as saved (multi-line strings joined)."""
    page = lab.page
    page.locator(".jp-Notebook .jp-Cell").first.locator(".jp-InputPrompt").click()
    page.keyboard.press("Control+s")
    page.wait_for_selector(".jp-mod-current.jp-mod-dirty", state="detached", timeout=10_000)
    return nbformat.read(lab.server.root / lab_notebook(lab), as_version=4)


def lab_notebook(lab: Lab) -> str:
    (session,) = lab.server.api("GET", "/api/sessions")
    return str(session["path"])


def chat_output(notebook: dict[str, Any]) -> dict[str, Any]:
    (output,) = [o for o in notebook["cells"][0]["outputs"] if WIDGET_VIEW in o.get("data", {})]
    return output


def assert_copy_holds_both_turns(static: str) -> None:
    for text in ("fetch example.org", "Fetching it.", "fetch_page", FIRST_ANSWER, "and now?", SECOND_ANSWER):
        assert text in static, text
    assert "2 prompts" in static
    assert "<script" not in static and "<img" not in static
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in static


def reopen(lab: Lab, name: str) -> None:
    """Shut the kernel down, then open ``name`` on a fresh page (a new workspace, and a new kernel)."""
    lab.server.delete_kernels()
    lab.open(name)


def rendered_as(lab: Lab) -> str:
    """The mime type the chat's output is rendered from: JupyterLab's renderers mark their node with it,
    ipywidgets' renderer (a plain panel) does not."""
    output = lab.page.locator(".jp-Notebook .jp-Cell").first.locator(".jp-OutputArea-output")
    output.wait_for(timeout=30_000)
    return output.get_attribute("data-mime-type") or WIDGET_VIEW


@pytest.mark.parametrize("kernel", KERNELS)
def test_the_copy_saved_from_lab_is_up_to_date_and_the_page_keeps_one_seamless_view(
    lab: Lab, kernel: str
) -> None:
    chat_in_lab(lab, f"copy-{kernel}.ipynb", kernel)
    saved = save(lab)
    output = chat_output(saved)
    assert_copy_holds_both_turns(output["data"]["text/html"])
    assert "widgets" not in saved["metadata"], "JupyterLab's default saves no widget state"
    # nbconvert's HTML (no widget state: the copy is what it shows), sanitized.
    body, _ = HTMLExporter().from_filename(str(lab.server.root / f"copy-{kernel}.ipynb"))
    assert FIRST_ANSWER in body and SECOND_ANSWER in body
    assert 'alert("pwned")</script>' not in body and "<img src=x" not in body


def test_notebook7_keeps_one_seamless_view_too(lab: Lab) -> None:
    """Notebook 7 renders outputs with JupyterLab's output area and ipywidgets' renderer: the same hand-over."""
    chat_in_lab(lab, "notebook7.ipynb", app="notebook")


def test_reopened_with_widget_state_lab_shows_the_chat_not_the_copy(
    lab: Lab, widget_state_saved: None
) -> None:
    chat_in_lab(lab, "state.ipynb")
    saved = save(lab)
    assert_copy_holds_both_turns(chat_output(saved)["data"]["text/html"])
    state = saved["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert chat_output(saved)["data"][WIDGET_VIEW]["model_id"] in state

    reopen(lab, "state.ipynb")
    page = lab.page
    page.locator(TEXT).filter(has_text=SECOND_ANSWER).wait_for(timeout=30_000)
    assert rendered_as(lab) == WIDGET_VIEW
    text = page.locator(TEXT).inner_text()
    assert FIRST_ANSWER in text and "fetch example.org" in text
    assert page.locator(".jp-RenderedHTMLCommon .nbs").count() == 0, "the static copy is not shown"
    assert page.evaluate(LIVE_VIEWS) == {"live": 1, "connected": 1, "roots": 1}


def test_reopened_without_widget_state_trusted_shows_the_widget_renderer_untrusted_the_copy(lab: Lab) -> None:
    chat_in_lab(lab, "default.ipynb")
    saved = save(lab)
    # The same notebook as it would come from elsewhere (GitHub): not signed by this server, so untrusted.
    saved.metadata["origin"] = "downloaded"
    nbformat.write(saved, lab.server.root / "foreign.ipynb")

    reopen(lab, "default.ipynb")
    page = lab.page
    assert rendered_as(lab) == WIDGET_VIEW, "trusted: the widget renderer, not the copy"
    page.get_by_text("model not found").wait_for(timeout=30_000)  # ipywidgets' note: no state to render from
    assert page.locator(".jp-RenderedHTMLCommon .nbs").count() == 0

    reopen(lab, "foreign.ipynb")
    assert rendered_as(lab) == "text/html", "untrusted: JupyterLab shows the static copy"
    copy = page.locator(".jp-Notebook .jp-Cell").first.locator(".jp-RenderedHTMLCommon .nbs")
    text = copy.inner_text()
    for expected in ("fetch example.org", FIRST_ANSWER, "and now?", SECOND_ANSWER, 'alert("pwned")'):
        assert expected in text, expected
    assert copy.locator("script, img").count() == 0
    assert page.locator(WIDGET).count() == 0
