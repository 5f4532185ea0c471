"""The conversation's layout in a real JupyterLab page: one column, turn by turn, each tool call's card where the
call was made; the page scrolls (no nested scroll boxes); quiet mode; the end of a turn changes nothing on
screen; narrow widths (colours in light and dark themes: test_notebook7_and_themes.py).

Hooks (WIDGET_PROTOCOL.md): ``turn``, ``tool``, ``tool-args``, ``tool-output``, ``result``, ``tool-error``,
``error-toggle``, ``activity``, ``activity-summary``, ``activity-panel``.
"""

from __future__ import annotations

import pytest
from jupyter_lab import ARTIFACTS, Lab
from widget_page import WIDGET, cell, run_cell, wait_status

LONG_RESULT = "\\n".join(f"row {i}" for i in range(60))

TURN_CHAT = cell(
    f"""
    import time
    from nbstream import Call, Say, ScriptedModel, StreamChat

    chat = StreamChat(ScriptedModel([
        [Say("First I look it up.", chunk=1, delay=0.01),
         Call("lookup", {{"city": "Oslo", "note": "line one\\nline two"}}),
         Say(" While it runs, I keep writing. " * 6, chunk=1, over=3.0),
         Call("explode", {{}})],
        [Say("It is **sunny**. " * 3, chunk=1, over=2.0)],
    ]), view=VIEW)

    @chat.tool
    def lookup(city: str, note: str) -> str:
        \"\"\"Look a city up.\"\"\"
        print("looking up", city)
        time.sleep(1.5)
        return "{LONG_RESULT}"

    @chat.tool
    def explode() -> str:
        \"\"\"Fail.\"\"\"
        raise ValueError("nope\\nsecond line of the message")

    chat
    """
)

# Every scroll box in the widget that could trap the wheel: a vertical overflow that scrolls and has more
# content than room, or any overscroll-behavior other than auto.
SCROLL_TRAPS = """(root) => [root, ...root.querySelectorAll('*')].flatMap((el) => {
  const style = getComputedStyle(el);
  const found = [];
  if (style.overscrollBehaviorY !== 'auto') found.push(['overscroll', el.className, style.overscrollBehaviorY]);
  if (['auto', 'scroll'].includes(style.overflowY) && el.scrollHeight > el.clientHeight + 1
      && !el.classList.contains('nbs-console-scroll') && el.tagName !== 'TEXTAREA') {
    found.push(['scrolls', el.className, el.scrollHeight, el.clientHeight]);
  }
  return found;
})"""

ORDER = """(turn) => [...turn.querySelectorAll('[data-nbstream=assistant], [data-nbstream=tool]')].map(
  (el) => el.dataset.nbstream === 'tool' ? 'tool:' + el.dataset.toolName : 'text')"""


def open_turn_chat(lab: Lab, name: str, view: str = "detailed") -> None:
    setup = TURN_CHAT.replace("view=VIEW", f"view={view!r}")
    lab.open(lab.write_notebook(name, [setup, 'handle = chat.send("weather in Oslo?")']))


def test_one_column_turn_by_turn_and_the_page_scrolls(lab: Lab) -> None:
    open_turn_chat(lab, "layout.ipynb")
    page = lab.page
    root = page.locator(WIDGET)
    run_cell(lab, 0)
    root.wait_for(timeout=30_000)
    lab.wait_idle()
    empty = root.bounding_box()
    assert empty is not None and empty["height"] < 200, f"the empty chat is {empty} tall"
    run_cell(lab, 1)

    # Mid-turn: the lookup card runs, where the call was made, while the text after it streams.
    page.wait_for_selector(f"{WIDGET} [data-nbstream=tool][data-tool-name=lookup][data-state=running]")
    activity = root.locator("[data-nbstream=activity-summary]")
    assert activity.inner_text().startswith("working… · lookup")
    wait_status(lab, "done", timeout=60)
    lab.wait_idle()

    turn = root.locator("[data-nbstream=turn]")
    assert turn.count() == 1
    assert turn.evaluate(ORDER) == ["text", "tool:lookup", "text", "tool:explode", "text"]
    lookup = root.locator("[data-nbstream=tool][data-tool-name=lookup]")
    assert lookup.locator("[data-nbstream=tool-args]").inner_text().split("\n") == [
        'city: "Oslo"',
        "note:",
        "  line one",
        "  line two",
    ]
    assert lookup.locator("[data-nbstream=tool-output]").inner_text().strip() == "looking up Oslo"
    result = lookup.locator("[data-nbstream=result]")
    assert result.get_attribute("data-collapsed") == "true"
    # A tool that raised: its card says so, in red, with the rest of the message behind a toggle.
    explode = root.locator("[data-nbstream=tool][data-tool-name=explode]")
    assert explode.get_attribute("data-state") == "error"
    error = explode.locator("[data-nbstream=tool-error]")
    assert error.inner_text().startswith("ValueError: nope")
    assert not error.locator("[data-nbstream=error-details]").is_visible()
    error.locator("[data-nbstream=error-toggle]").click()
    assert "second line" in error.locator("[data-nbstream=error-details]").inner_text()
    assert activity.inner_text().startswith("2 tools · ") and activity.inner_text().endswith("· 1 failed")

    # The page scrolls, not the widget: nothing inside traps the wheel.
    result.locator("[data-nbstream=expand]").click()
    assert root.evaluate(SCROLL_TRAPS) == []

    ARTIFACTS.mkdir(exist_ok=True)
    root.screenshot(path=ARTIFACTS / "layout.png")


def test_quiet_mode_folds_the_tools_and_shows_the_answer(lab: Lab) -> None:
    open_turn_chat(lab, "quiet.ipynb", view="quiet")
    page = lab.page
    root = page.locator(WIDGET)
    lab.run_all()
    page.wait_for_selector(
        f"{WIDGET} [data-nbstream=tool][data-tool-name=lookup][data-state=running]", state="attached"
    )
    summary = root.locator("[data-nbstream=activity-summary]")
    assert summary.is_visible() and summary.inner_text().startswith("working… · lookup")
    assert not root.locator("[data-nbstream=tool]").first.is_visible(), "the cards are folded away"
    root.locator("[data-nbstream=assistant]").filter(has_text="While it runs").first.wait_for(timeout=20_000)
    wait_status(lab, "done", timeout=60)
    assert summary.inner_text().startswith("2 tools · ")
    assert root.locator("[data-nbstream=assistant]").filter(has_text="It is sunny").count() == 1
    summary.click()
    panel = root.locator("[data-nbstream=activity-panel]")
    assert panel.is_visible()
    assert panel.locator("[data-nbstream=tool]").count() == 2
    assert panel.locator("[data-nbstream=tool][data-tool-name=lookup] [data-nbstream=result]").is_visible()


MARK_AND_SELECT = """(root) => {
  const result = root.querySelector('[data-nbstream=result]');
  result.__mark = 'kept';
  root.querySelector('[data-nbstream=assistant]').__mark = 'kept';
  const range = document.createRange();
  range.selectNodeContents(root.querySelector('[data-nbstream=assistant]'));
  const selection = getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  return selection.toString();
}"""
AFTER = """(root) => ({
  result: root.querySelector('[data-nbstream=result]').__mark,
  text: root.querySelector('[data-nbstream=assistant]').__mark,
  expanded: root.querySelector('[data-nbstream=result]').dataset.collapsed,
  selection: getSelection().toString(),
})"""


def test_the_end_of_a_turn_changes_nothing_on_screen(lab: Lab) -> None:
    open_turn_chat(lab, "end.ipynb")
    page = lab.page
    root = page.locator(WIDGET)
    lab.run_all()
    # Mid-turn: the lookup finished while the text after it still streams. Expand its result, select text.
    result = root.locator("[data-nbstream=tool][data-tool-name=lookup] [data-nbstream=result]")
    result.wait_for(timeout=30_000)
    result.locator("[data-nbstream=expand]").click()
    assert page.locator(f"{WIDGET}[data-status=done]").count() == 0, "the turn was still running"
    selected = root.evaluate(MARK_AND_SELECT)
    assert selected.startswith("First I look it up.")
    scroller = ".jp-WindowedPanel-outer"
    page.locator(scroller).first.evaluate("el => el.scrollTop = 40")
    before = page.locator(scroller).first.evaluate("el => el.scrollTop")
    wait_status(lab, "done", timeout=60)
    page.wait_for_timeout(500)
    assert root.evaluate(AFTER) == {
        "result": "kept",
        "text": "kept",
        "expanded": "false",
        "selection": selected,
    }
    assert page.locator(scroller).first.evaluate("el => el.scrollTop") >= before


@pytest.mark.parametrize("width", [320, 700])
def test_narrow_pages_and_beside_the_sidebar(lab: Lab, width: int) -> None:
    """320 px wide, and 700 px with the file browser open beside the notebook: readable, no letter-per-line."""
    page = lab.page
    open_turn_chat(lab, f"narrow-{width}.ipynb")
    sidebar = page.locator(".jp-FileBrowser:visible")
    if (width > 600) != (sidebar.count() > 0):
        page.click("[data-id='filebrowser']")  # the left sidebar: open beside the notebook, or closed
        page.wait_for_selector(".jp-FileBrowser", state="visible" if width > 600 else "hidden")
    page.set_viewport_size({"width": width, "height": 900})
    page.wait_for_selector(".jp-Notebook", state="visible")
    lab.run_all()
    wait_status(lab, "done", timeout=60)
    root = page.locator(WIDGET)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"layout-narrow-{width}.png")
    box = root.bounding_box()
    assert box is not None and box["width"] >= 200, box
    area = root.locator("xpath=ancestor::*[contains(@class, 'jp-OutputArea-output')][1]").bounding_box()
    assert area is not None and box["x"] + box["width"] <= area["x"] + area["width"] + 1, "not clipped"
    text = root.locator("[data-nbstream=assistant]").first.bounding_box()
    assert text is not None and text["width"] >= 0.75 * box["width"] and text["height"] < 60, text
    for hook in ("send", "stop"):
        button = root.locator(f"[data-nbstream={hook}]").bounding_box()
        assert button is not None and button["width"] < 0.3 * box["width"], (hook, button, box)
    head = root.locator("[data-nbstream=tool] .nbs-tool-name").first.bounding_box()
    assert head is not None and head["width"] >= 40, head


FOLLOW_CHAT = cell(
    """
    from nbstream import Say, ScriptedModel, StreamChat

    chat = StreamChat(ScriptedModel([[Say("A line of a long answer.\\n\\n" * 80, chunk=1, over=8.0)]]))
    chat
    """
)
END_VISIBLE = """() => {
  const end = document.querySelector('.nbstream .nbs-end').getBoundingClientRect();
  const box = document.querySelector('.jp-WindowedPanel-outer').getBoundingClientRect();
  return end.top >= box.top - 2 && end.bottom <= box.bottom + 2;
}"""


def test_the_end_stays_in_view_unless_the_reader_scrolled_away(lab: Lab) -> None:
    lab.open(lab.write_notebook("follow.ipynb", [FOLLOW_CHAT, 'handle = chat.send("go")']))
    page = lab.page
    lab.run_all()
    page.locator(f"{WIDGET} [data-nbstream=assistant]").filter(has_text="A line").wait_for(timeout=20_000)
    scroller = page.locator(".jp-WindowedPanel-outer").first
    page.wait_for_timeout(2500)  # the answer is taller than the page by now
    seen: list[bool] = []
    for _ in range(15):
        seen.append(page.evaluate(END_VISIBLE))
        page.wait_for_timeout(100)
    assert scroller.evaluate("el => el.scrollTop") > 100, "the page followed the answer"
    assert sum(seen) >= 13, f"the end of the answer was on screen in {sum(seen)} of 15 samples"
    # The reader scrolls up: the page stays where they put it while the answer goes on.
    scroller.evaluate("el => el.scrollTop = 0")
    page.wait_for_timeout(1200)
    assert page.locator(f"{WIDGET}[data-status=generating]").count() == 1
    assert scroller.evaluate("el => el.scrollTop") == 0
    wait_status(lab, "done", timeout=30)
