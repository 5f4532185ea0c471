"""The prompt box (js/src/prompt_view.js) in a real JupyterLab: it grows with its text and then scrolls, stays put
while text streams, queues prompts sent during a turn, lets Ctrl+S save the notebook and Escape hand the
keyboard back to the notebook, and long pasted prompts are folded in their bubble.

Hooks (WIDGET_PROTOCOL.md): ``prompt`` (textarea), ``send``, ``stop``, ``queued``, ``user``, ``fold-toggle``.
"""

from __future__ import annotations

import time

from jupyter_lab import Lab
from widget_page import WIDGET, cell, wait_status

PROMPT = f"{WIDGET} [data-nbstream=prompt]"
QUEUED = f"{WIDGET} [data-nbstream=queued]"
USER = f"{WIDGET} [data-nbstream=user]"


def chat_cell(*turns: str, over: float = 0.0) -> str:
    """A chat whose scripted model answers each turn with one of ``turns``, streamed over ``over`` seconds."""
    timing = f"over={over}" if over else "delay=0.01"
    scripted = ", ".join(f"[Say({text!r}, chunk=1, {timing})]" for text in turns)
    return cell(
        f"""
        from nbstream import Say, ScriptedModel, StreamChat

        chat = StreamChat(ScriptedModel([{scripted}]))
        chat
        """
    )


def open_chat(lab: Lab, name: str, cells: list[str]) -> None:
    lab.open(lab.write_notebook(name, cells))
    lab.run_all()
    lab.page.locator(PROMPT).wait_for()
    lab.wait_idle()


def test_prompt_grows_with_its_lines_then_scrolls(lab: Lab) -> None:
    open_chat(lab, "grow.ipynb", [chat_cell("Fine.")])
    page = lab.page
    prompt = page.locator(PROMPT)
    prompt.click()
    heights = [prompt.bounding_box()["height"]]  # type: ignore[index]
    for line in range(1, 15):
        page.keyboard.type(f"line {line}")
        page.keyboard.press("Shift+Enter")
        heights.append(prompt.bounding_box()["height"])  # type: ignore[index]
    first = heights[0]
    assert first <= 45, f"an empty prompt is one line high, not {first:.0f} px"
    growth = [b - a for a, b in zip(heights, heights[1:], strict=False)]
    assert all(step >= 0 for step in growth), heights
    assert sum(step > 5 for step in growth[:7]) == 7, (
        f"each of the first 7 new lines grows the box: {heights}"
    )
    assert heights[-1] == heights[8], f"it stops growing at 8 lines: {heights}"
    assert heights[-1] <= 0.4 * 900 + 1, "at most 40% of the window"
    overflow = page.evaluate(
        """(sel) => { const t = document.querySelector(sel);
                      return [t.scrollHeight > t.clientHeight + 1, getComputedStyle(t).overflowY]; }""",
        PROMPT,
    )
    assert overflow == [True, "auto"], "past the limit the text scrolls"
    page.keyboard.press("Enter")
    wait_status(lab, "done")
    assert prompt.input_value() == ""
    assert abs(prompt.bounding_box()["height"] - first) <= 1, "sent: back to one line"  # type: ignore[index]


# Every animation frame: the widget's status, whether reply text is on screen yet, and the prompt box's top.
RECORD_PROMPT_TOP = """(sel) => {
  window.nbsTops = [];
  const loop = () => {
    const root = document.querySelector('.nbstream');
    const text = root.querySelectorAll('[data-nbstream=assistant]').length;
    window.nbsTops.push([root.dataset.status, text, document.querySelector(sel).getBoundingClientRect().top]);
    window.nbsFrame = requestAnimationFrame(loop);
  };
  loop();
}"""


def test_the_prompt_stays_put_while_replies_stream(lab: Lab) -> None:
    """A short reply fits in the room the send made; a long one reaches the bottom, where following keeps the box
    in place. Either way the box moves at most once per send (the user's own action), never while text streams."""
    short = "A short answer that streams word by word. " * 4
    long = "A line of a long answer.\n\n" * 45
    open_chat(lab, "stay.ipynb", [chat_cell(short, long, over=3.0)])
    page = lab.page
    prompt = page.locator(PROMPT)
    for turn, words in ((1, "short"), (2, "long")):
        prompt.click()
        page.keyboard.type(f"a {words} one please")
        page.evaluate(RECORD_PROMPT_TOP, PROMPT)
        page.keyboard.press("Enter")
        page.locator(f"{WIDGET} [data-nbstream=user]").nth(turn - 1).wait_for()
        wait_status(lab, "done", timeout=40)
        samples = page.evaluate("() => { cancelAnimationFrame(window.nbsFrame); return window.nbsTops; }")
        streaming = [top for status, texts, top in samples if status == "generating" and texts >= turn]
        assert len(streaming) > 20, f"turn {turn}: too few frames sampled while streaming: {len(streaming)}"
        moves = [round(b - a) for a, b in zip(streaming, streaming[1:], strict=False) if abs(b - a) > 1]
        assert moves == [], f"turn {turn}: the prompt moved while text streamed: {moves}"
        box = prompt.bounding_box()
        assert box is not None and box["y"] + box["height"] <= page.viewport_size["height"], "still on screen"  # type: ignore[index]
    shown = page.locator(f"{WIDGET} [data-nbstream=turn]").nth(1).text_content() or ""
    assert shown.count("A line") == 45, shown[-300:]


def test_enter_during_a_turn_queues_a_prompt_that_then_runs(lab: Lab) -> None:
    open_chat(lab, "queue.ipynb", [chat_cell("First answer, slowly. " * 10, "Second answer.", over=4.0)])
    page = lab.page
    prompt = page.locator(PROMPT)
    prompt.click()
    page.keyboard.type("first")
    page.keyboard.press("Enter")
    wait_status(lab, "generating")
    assert page.locator(f"{WIDGET} [data-nbstream=stop]").is_enabled()
    page.keyboard.type("second")
    page.keyboard.press("Enter")
    assert prompt.input_value() == "", "Enter during a turn is accepted, not ignored"
    queued = page.locator(QUEUED)
    queued.wait_for(state="visible", timeout=2_000)
    assert queued.inner_text().strip() == "1 queued"
    assert page.locator(f"{WIDGET}[data-status=generating]").count() == 1, "the first turn still runs"
    page.locator(f"{WIDGET} [data-nbstream=text]").filter(has_text="Second answer.").wait_for(timeout=30_000)
    wait_status(lab, "done")
    users = page.locator(USER)
    assert users.count() == 2 and "second" in users.nth(1).inner_text()
    assert queued.is_hidden(), "nothing is queued any more"


def test_ctrl_s_in_the_prompt_saves_the_notebook(lab: Lab) -> None:
    open_chat(lab, "save.ipynb", [chat_cell("Fine.")])
    page = lab.page
    path = lab.server.root / "save.ipynb"
    page.wait_for_selector(".jp-mod-current.jp-mod-dirty", timeout=10_000)  # running the cell changed it
    before = path.stat().st_mtime_ns
    page.locator(PROMPT).click()
    page.keyboard.type("draft")
    page.keyboard.press("Control+s")
    page.wait_for_selector(".jp-mod-current.jp-mod-dirty", state="detached", timeout=10_000)
    deadline = time.monotonic() + 10
    while path.stat().st_mtime_ns == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert path.stat().st_mtime_ns != before, "the file on disk changed"
    assert page.locator(PROMPT).input_value() == "draft", "Ctrl+S typed nothing"
    assert page.evaluate("() => document.activeElement.dataset.nbstream") == "prompt", "the prompt kept focus"
    # Letters typed in the prompt still never reach notebook shortcuts.
    cells = page.locator(".jp-Notebook .jp-Cell").count()
    page.keyboard.type(" abmdd")
    assert page.locator(PROMPT).input_value() == "draft abmdd"
    assert page.locator(".jp-Notebook .jp-Cell").count() == cells


def test_escape_gives_the_keyboard_back_to_the_notebook(lab: Lab) -> None:
    open_chat(lab, "escape.ipynb", [chat_cell("Fine."), "x = 1"])
    page = lab.page
    prompt = page.locator(PROMPT)
    prompt.click()
    page.keyboard.type("draft")
    assert page.locator(".jp-Notebook.jp-mod-readWrite").count() == 1
    page.keyboard.press("Escape")
    focus = page.evaluate(
        """() => ({ prompt: document.activeElement.dataset.nbstream === 'prompt',
                    cell: document.activeElement.classList.contains('jp-Cell') })"""
    )
    assert focus == {"prompt": False, "cell": True}, focus
    page.wait_for_selector(".jp-Notebook.jp-mod-commandMode:not(.jp-mod-readWrite)", timeout=5_000)
    assert prompt.input_value() == "draft", "the draft stays"
    # Command mode works at once: B inserts a cell below the chat's cell.
    cells = page.locator(".jp-Notebook .jp-Cell").count()
    page.keyboard.press("b")
    page.wait_for_function(
        "(n) => document.querySelectorAll('.jp-Notebook .jp-Cell').length === n", arg=cells + 1, timeout=5_000
    )


def test_a_long_pasted_prompt_is_folded_in_its_bubble(lab: Lab) -> None:
    """Measured before: a 20,000-character prompt became a 4,464 px bubble."""
    open_chat(lab, "fold.ipynb", [chat_cell("Got it.")])
    page = lab.page
    long = "lorem ipsum dolor sit amet " * 740  # about 20,000 characters
    page.locator(PROMPT).fill(long)
    page.locator(PROMPT).press("Enter")
    wait_status(lab, "done")
    bubble = page.locator(USER).first
    folded = bubble.bounding_box()["height"]  # type: ignore[index]
    assert folded < 400, f"the folded bubble is {folded:.0f} px high"
    toggle = bubble.locator("[data-nbstream=fold-toggle]")
    assert toggle.inner_text() == "Show more"
    toggle.click()
    assert toggle.inner_text() == "Show less"
    assert bubble.inner_text().count("lorem ipsum") == 740
    toggle.click()
    assert bubble.bounding_box()["height"] == folded  # type: ignore[index]
