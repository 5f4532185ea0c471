"""The conversation view in Notebook 7 as well as JupyterLab, in the light and the dark theme.

One chat plays every kind of card: a prompt typed in the widget's prompt box starts a turn whose reply has
text, a tool that returns, one that raises, a ``confirm=True`` call the user denies in the page, a code block,
and a slow tool the user stops with the widget's Stop. Then:

- Notebook 7: one column, turn by turn, each card where its call was made; Insert (code blocks) adds a cell
  below the chat's cell, as in JupyterLab (code_blocks.js finds the notebook through the widget manager);
- both apps, light then dark (switched live, Settings → Theme): the widget takes its colours from the theme,
  body and card text keep a WCAG contrast of at least 4.5, code blocks are dark in the dark theme, and red
  marks the tool that raised, never the user's decisions (denied, stopped).

Hooks (WIDGET_PROTOCOL.md): ``turn``, ``user``, ``assistant``, ``tool``, ``tool-args``, ``result``,
``tool-error``, ``notice``, ``deny``, ``stop``, ``prompt``, ``code``, ``insert-code``.
"""

from __future__ import annotations

import colorsys
import json
import os
import shutil
from collections.abc import Sequence
from typing import Any

import pytest
from jupyter_lab import APPS, ARTIFACTS, DARK, LIGHT, REPO, Lab, contrast, luminance
from widget_page import WIDGET, cell, wait_status

CODE = 'import matplotlib.pyplot as plt\n\nplt.plot([1, 2], [8.5, 11.0], label="Oslo")  # °C\nplt.show()'
PROMPT = "Weather in Oslo, then clean up"
SECOND_STEP = f"Plot it with:\n\n```python\n{CODE}\n```\n\nOne slow check left."
NAMES = ("forecast", "sensor", "delete", "slow_check")

CHAT = cell(
    f"""
    import asyncio
    from nbstream import Call, Say, ScriptedModel, StreamChat

    chat = StreamChat(ScriptedModel([
        [Say("I look the forecast up first.", chunk=3, delay=0.01),
         Call("forecast", {{"city": "Oslo", "days": 2}}),
         Say(" Then the sensor, and I ask before deleting.", chunk=3, delay=0.01),
         Call("sensor", {{}}),
         Call("delete", {{"path": "old.csv"}})],
        [Say({SECOND_STEP!r}, chunk=6, delay=0.005),
         Call("slow_check", {{}})],
        [Say("Never reached.", chunk=1)],
    ]))

    @chat.tool
    def forecast(city: str, days: int) -> str:
        \"\"\"The forecast for a city.\"\"\"
        return f"{{city}}: 8.5 °C, then 11.0 °C"

    @chat.tool
    def sensor() -> str:
        \"\"\"Read the sensor.\"\"\"
        raise ValueError("the sensor is offline")

    @chat.tool(confirm=True)
    def delete(path: str) -> str:
        \"\"\"Delete a file.\"\"\"
        return f"deleted {{path}}"

    @chat.tool
    async def slow_check() -> str:
        \"\"\"A check that takes minutes.\"\"\"
        await asyncio.sleep(300)
        return "late"

    chat
    """
)
AFTER = "# the cell after the chat"
TOOL = f"{WIDGET} [data-nbstream=tool]"

# The reply in document order: text segments, cards (by tool name) and notices.
ORDER = """(turn) => [...turn.querySelectorAll(
    '[data-nbstream=assistant], [data-nbstream=tool], [data-nbstream=notice]')].map((el) =>
  el.dataset.nbstream === 'tool' ? el.dataset.toolName
    : el.dataset.nbstream === 'notice' ? 'notice: ' + el.textContent.trim()
    : el.textContent.trim().split(/\\s+/).slice(0, 2).join(' '))"""


def play_chat(lab: Lab, app: str) -> None:
    """Open the chat in ``app``, send the prompt from its prompt box, deny ``delete``, stop ``slow_check``."""
    lab.open(lab.write_notebook(f"cards-{app}.ipynb", [CHAT, AFTER]), app)
    lab.run_all()
    page = lab.page
    prompt = page.locator(f"{WIDGET} [data-nbstream=prompt]")
    prompt.wait_for(timeout=30_000)
    lab.wait_idle()
    prompt.fill(PROMPT)
    prompt.press("Enter")
    page.locator(f"{WIDGET} [data-nbstream=user]").wait_for(timeout=30_000)
    assert prompt.input_value() == "", "sent: the prompt box is empty again"
    page.locator(f"{TOOL}[data-tool-name=delete][data-state=awaiting_approval]").wait_for(timeout=60_000)
    page.click(f"{TOOL}[data-tool-name=delete] [data-nbstream=deny]")
    page.locator(f"{TOOL}[data-tool-name=slow_check][data-state=running]").wait_for(timeout=60_000)
    page.click(f"{WIDGET} [data-nbstream=stop]")
    wait_status(lab, "cancelled", timeout=60)
    page.locator(f"{TOOL}[data-tool-name=slow_check][data-state=cancelled]").wait_for(timeout=30_000)


def test_notebook7_one_column_prompt_and_insert(lab: Lab) -> None:
    play_chat(lab, "notebook")
    page = lab.page
    root = page.locator(WIDGET)
    turn = root.locator("[data-nbstream=turn]")
    assert turn.count() == 1
    assert turn.locator("[data-nbstream=user]").inner_text().strip() == PROMPT
    assert turn.evaluate(ORDER) == [
        "I look",
        "forecast",
        "Then the",
        "sensor",
        "delete",
        "Plot it",
        "slow_check",
        "notice: Stopped.",
    ]
    states = {name: page.get_attribute(f"{TOOL}[data-tool-name={name}]", "data-state") for name in NAMES}
    assert states == {"forecast": "done", "sensor": "error", "delete": "denied", "slow_check": "cancelled"}
    forecast = root.locator("[data-nbstream=tool][data-tool-name=forecast]")
    assert forecast.locator("[data-nbstream=tool-args]").inner_text().split("\n") == [
        'city: "Oslo"',
        "days: 2",
    ]
    assert "Oslo: 8.5 °C" in forecast.locator("[data-nbstream=result]").inner_text()

    # One column: every piece of the reply spans the turn's width, each one below the one before.
    boxes = turn.evaluate(
        """(turn) => [...turn.querySelectorAll('[data-nbstream=assistant], [data-nbstream=tool]')].map((el) => {
             const box = el.getBoundingClientRect();
             return [box.left, box.right, box.top, box.bottom];
           })"""
    )
    column = turn.bounding_box()
    assert column is not None
    for (left, right, top, _), previous in zip(boxes, [None, *boxes], strict=False):
        assert abs(left - column["x"]) <= 2 and abs(right - column["x"] - column["width"]) <= 2, boxes
        assert previous is None or top >= previous[3] - 1, boxes
    cell_area = page.locator(".jp-Notebook .jp-Cell").first.bounding_box()
    widget = root.bounding_box()
    assert cell_area is not None and widget is not None
    assert widget["x"] + widget["width"] <= cell_area["x"] + cell_area["width"] + 1, "inside its cell"

    # Insert: Notebook 7 lets the widget add the code as a new cell right below the chat's cell.
    insert = root.locator("[data-nbstream=code] [data-nbstream=insert-code]")
    assert insert.is_visible(), "Notebook 7 gives widgets the notebook: Insert is offered"
    assert page.locator(".jp-Notebook .jp-Cell").count() == 2
    insert.click()
    page.wait_for_function("() => document.querySelectorAll('.jp-Notebook .jp-Cell').length === 3")
    assert insert.get_attribute("data-state") == "inserted"
    sources = page.evaluate(
        """() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')].map((c) =>
             [...c.querySelectorAll('.cm-content .cm-line')].map((line) => line.textContent).join('\\n'))"""
    )
    assert sources[0].startswith("import asyncio")
    assert sources[1:] == [CODE, AFTER]


# The colours a reader sees for each part: its text colour over the background actually behind it (the
# element's and its ancestors' backgrounds, translucent ones blended, down to the first opaque one).
COLOURS = """(root) => {
  const parse = (text) => {
    let m = /^rgba?\\(([^)]*)\\)$/.exec(text);
    if (m) {
      const p = m[1].split(/[\\s,/]+/).filter(Boolean).map(Number);
      return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
    }
    m = /^color\\(srgb ([^)]*)\\)$/.exec(text);
    if (m) {
      const p = m[1].split(/[\\s/]+/).filter(Boolean).map(Number);
      return [p[0] * 255, p[1] * 255, p[2] * 255, p.length > 3 ? p[3] : 1];
    }
    throw new Error('unknown colour ' + text);
  };
  const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3])).concat(1);
  const background = (el) => {
    const layers = [];
    for (let node = el; node; node = node.parentElement) {
      const bg = parse(getComputedStyle(node).backgroundColor);
      if (bg[3] > 0) layers.push(bg);
      if (bg[3] >= 1) break;
    }
    return layers.reverse().reduce((under, layer) => over(layer, under), [255, 255, 255, 1]);
  };
  const tool = (name) => `[data-nbstream=tool][data-tool-name=${name}]`;
  const parts = {
    body: '[data-nbstream=assistant] p',
    prompt: '[data-nbstream=user]',
    input: '[data-nbstream=prompt]',
    status: '.nbs-status-text',
    activity: '[data-nbstream=activity-summary]',
    toolName: `${tool('forecast')} .nbs-tool-name`,
    badge: `${tool('forecast')} .nbs-badge`,
    args: `${tool('forecast')} [data-nbstream=tool-args] .nbs-block-body`,
    result: `${tool('forecast')} [data-nbstream=result] .nbs-block-body`,
    error: `${tool('sensor')} [data-nbstream=tool-error] .nbs-tool-error-line`,
    errorBadge: `${tool('sensor')} .nbs-badge`,
    denied: `${tool('delete')} [data-nbstream=tool-error]`,
    deniedBadge: `${tool('delete')} .nbs-badge`,
    cancelled: `${tool('slow_check')} [data-nbstream=tool-error]`,
    cancelledBadge: `${tool('slow_check')} .nbs-badge`,
    stopped: '[data-nbstream=notice]',
    code: '[data-nbstream=code] pre > code',
    keyword: '[data-nbstream=code] .hljs-keyword',
    string: '[data-nbstream=code] .hljs-string',
    comment: '[data-nbstream=code] .hljs-comment',
  };
  const out = { root: { bg: background(root), fg: parse(getComputedStyle(root).color) } };
  for (const [part, selector] of Object.entries(parts)) {
    const el = root.querySelector(selector);
    if (el === null) throw new Error('no ' + selector);
    const bg = background(el);
    out[part] = { fg: over(parse(getComputedStyle(el).color), bg), bg };
  }
  const border = (name) => parse(getComputedStyle(root.querySelector(tool(name))).borderLeftColor);
  out.borders = Object.fromEntries(['forecast', 'sensor', 'delete', 'slow_check'].map((n) => [n, border(n)]));
  out.borders.stopped = parse(getComputedStyle(root.querySelector('[data-nbstream=notice]')).borderLeftColor);
  out.codeBox = background(root.querySelector('[data-nbstream=code] pre'));
  out.card = background(root.querySelector(tool('forecast')));
  out.argsBox = background(root.querySelector(`${tool('forecast')} [data-nbstream=tool-args] .nbs-block-body`));
  out.keywordVar = getComputedStyle(document.body).getPropertyValue('--jp-mirror-editor-keyword-color').trim();
  return out;
}"""
# Text that must read at WCAG AA (4.5): the reply, the prompt, the notice, the code, and every card's text.
TEXT_PARTS = (
    *("body", "prompt", "input", "stopped", "code", "status", "activity"),
    *("toolName", "badge", "args", "result", "error", "errorBadge", "denied", "deniedBadge", "cancelled"),
)


def reddish(rgb: Sequence[float]) -> bool:
    """A red a reader takes for 'something broke': red hue, saturated, not a grey."""
    hue, lightness, saturation = colorsys.rgb_to_hls(*(c / 255 for c in rgb[:3]))
    return (hue <= 20 / 360 or hue >= 340 / 360) and saturation >= 0.4 and 0.2 <= lightness <= 0.8


def check_colours(lab: Lab, theme: str) -> dict[str, Any]:
    root = lab.page.locator(WIDGET)
    colours: dict[str, Any] = root.evaluate(COLOURS)
    report = json.dumps(colours)
    dark = theme == DARK
    # The theme's background and text, not the page's defaults.
    background, text = colours["root"]["bg"], colours["body"]["fg"]
    assert (luminance(background) < 0.05) if dark else (luminance(background) > 0.85), report
    assert (luminance(text) > 0.5) if dark else (luminance(text) < 0.05), report
    ratios = {part: round(contrast(colours[part]["fg"], colours[part]["bg"]), 2) for part in TEXT_PARTS}
    assert {part: ratio for part, ratio in ratios.items() if ratio < 4.5} == {}, (theme, ratios, report)
    # Code tokens take the theme's editor colours (JupyterLab's own comment colour is 3.5 on dark): 3 at least.
    for part in ("keyword", "string", "comment"):
        assert contrast(colours[part]["fg"], colours[part]["bg"]) >= 3.0, (theme, part, report)
    # Code blocks follow the theme: a dark box in dark, keywords in the theme's editor colour.
    assert (luminance(colours["codeBox"]) < 0.05) if dark else (luminance(colours["codeBox"]) > 0.8), report
    assert colours["keywordVar"], "the theme defines editor colours"
    # A card's argument box stands out from the card.
    assert sum(abs(a - b) for a, b in zip(colours["argsBox"], colours["card"], strict=True)) >= 6, report
    # Red means a tool raised; denying a call or stopping a turn is the user's decision, drawn neutral.
    assert reddish(colours["error"]["fg"]) and reddish(colours["borders"]["sensor"]), report
    for part in ("denied", "deniedBadge", "cancelled", "cancelledBadge", "stopped"):
        assert not reddish(colours[part]["fg"]), (theme, part, report)
    for name in ("delete", "slow_check", "stopped"):
        assert not reddish(colours["borders"][name]), (theme, name, report)
    return colours


@pytest.mark.parametrize("app", APPS)
def test_light_and_dark_themes(lab: Lab, app: str) -> None:
    play_chat(lab, app)
    root = lab.page.locator(WIDGET)
    ARTIFACTS.mkdir(exist_ok=True)
    light = check_colours(lab, LIGHT)
    root.screenshot(path=ARTIFACTS / f"cards-{app}-light.png")
    lab.set_theme(DARK)
    dark = check_colours(lab, DARK)
    root.screenshot(path=ARTIFACTS / f"cards-{app}-dark.png")
    assert light["keywordVar"] != dark["keywordVar"], "the editor colours changed with the theme"
    assert light["keyword"]["fg"] != dark["keyword"]["fg"], "and the code's keywords with them"


README_ANSWER = (
    "Mild, with a high of **11 °C** tomorrow. To plot it:\n\n```python\nimport matplotlib.pyplot as plt\n\n"
    'plt.plot(["Mon", "Tue", "Wed"], [8.5, 11.0, 9.5], marker="o")\nplt.title("Oslo, daily high (°C)")\n'
    "plt.show()\n```\n"
)
README_CHAT = cell(
    f"""
    import time
    from nbstream import Call, Say, ScriptedModel, StreamChat

    chat = StreamChat(ScriptedModel([
        [Say("Let me fetch the forecast for Oslo.", chunk=3, delay=0.01),
         Call("forecast", {{"city": "Oslo", "days": 3}})],
        [Say({README_ANSWER!r}, chunk=6, delay=0.005)],
    ]))

    @chat.tool
    def forecast(city: str, days: int) -> str:
        \"\"\"Daily highs for a city.\"\"\"
        time.sleep(0.8)
        return "  ·  ".join(["Mon 8.5 °C", "Tue 11.0 °C", "Wed 9.5 °C"][:days])

    chat
    """
)


def test_readme_screenshot(lab: Lab) -> None:
    """README's picture (docs/screenshot.png, JupyterLab Light): a finished turn with text, a tool card with its
    result, and a highlighted code block. Refreshed with ``NBSTREAM_UPDATE_SCREENSHOT=1``."""
    lab.open(
        lab.write_notebook("readme.ipynb", [README_CHAT, 'await chat.send("Weather in Oslo? Plot it.")'])
    )
    lab.run_all()
    wait_status(lab, "done", timeout=60)
    lab.wait_idle()
    page = lab.page
    root = page.locator(WIDGET)
    assert page.locator("body[data-jp-theme-name]").get_attribute("data-jp-theme-name") == LIGHT
    card = root.locator("[data-nbstream=tool][data-tool-name=forecast][data-state=done]")
    assert "Tue 11.0 °C" in card.locator("[data-nbstream=result]").inner_text()
    root.locator("[data-nbstream=code][data-state=done] .hljs-keyword").first.wait_for()
    assert root.locator("[data-nbstream=assistant]").count() == 2
    page.mouse.move(0, 0)  # no hover styles in the picture
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "readme-screenshot.png"
    root.screenshot(path=shot)
    assert 10_000 < shot.stat().st_size < 250_000
    if os.environ.get("NBSTREAM_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, REPO / "docs" / "screenshot.png")
