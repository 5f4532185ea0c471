"""Reasoning, images and live tool progress in a real JupyterLab page (docs/WIDGET_PROTOCOL.md).

The reasoning section streams open, then folds to "Thought for N s" when the answer starts; a tool's images
show as thumbnails in its card (the prompt's in its bubble) and one enlarges in a modal viewer that Escape or a
click closes; a tool's progress bar advances while it runs. What the page showed is sampled from inside the
page every 50 ms, as a reader would have seen it.
"""

from __future__ import annotations

from typing import Any

from jupyter_lab import ARTIFACTS, Lab
from widget_page import WIDGET, cell, samples, wait_status

REASONING_CHAT = cell(
    """
    from nbstream import Say, ScriptedModel, StreamChat, Think

    thought = "First I read the question. Then I weigh the two answers, **slowly**, one word at a time. " * 2
    chat = StreamChat(ScriptedModel([[Think(thought, chunk=2, over=2.5), Say("The answer is **yes**.", chunk=1)]]))
    chat
    """
)
REASONING_SAMPLER = """() => {
  window.__samples = [];
  window.__sampler = setInterval(() => {
    const box = document.querySelector('.nbstream [data-nbstream=reasoning]');
    const answer = document.querySelector('.nbstream [data-nbstream=assistant]');
    window.__samples.push(box === null ? null : {
      state: box.dataset.state,
      open: box.dataset.open,
      label: box.querySelector('[data-nbstream=reasoning-toggle]').textContent,
      shown: box.querySelector('[data-nbstream=reasoning-body]').hidden ? 0
        : box.querySelector('[data-nbstream=reasoning-text]').textContent.length,
      answer: answer ? answer.textContent.length : 0,
    });
  }, 50);
}"""


def test_reasoning_streams_open_then_folds_with_its_duration(lab: Lab) -> None:
    lab.open(lab.write_notebook("reasoning.ipynb", [REASONING_CHAT, 'handle = chat.send("yes or no?")']))
    lab.page.evaluate(REASONING_SAMPLER)
    lab.run_all()
    wait_status(lab, "done")
    seen: list[dict[str, Any]] = [s for s in samples(lab) if s is not None]

    streaming = [s for s in seen if s["state"] == "streaming"]
    assert all(s["open"] == "true" and s["label"] == "Thinking…" for s in streaming)
    lengths = [s["shown"] for s in streaming]
    assert len(set(lengths)) >= 5, f"the reasoning did not stream into the open section: {lengths}"
    assert lengths == sorted(lengths)
    assert all(s["answer"] == 0 for s in streaming), "the section streams above an answer not started yet"

    box = lab.page.locator(f"{WIDGET} [data-nbstream=reasoning]")
    toggle = box.locator("[data-nbstream=reasoning-toggle]")
    label = toggle.inner_text()
    assert label.startswith("Thought for ") and label.endswith(" s"), label
    assert 2.0 <= float(label.removeprefix("Thought for ").removesuffix(" s")) < 8
    assert box.get_attribute("data-open") == "false"
    assert box.locator("[data-nbstream=reasoning-body]").is_hidden()
    assert "The answer is yes." in lab.page.locator(f"{WIDGET} [data-nbstream=assistant]").inner_text()
    order = lab.page.locator(f"{WIDGET} [data-nbstream=turn]").evaluate(
        "t => [...t.querySelectorAll('[data-nbstream=reasoning], [data-nbstream=assistant]')]"
        ".map(el => el.dataset.nbstream)"
    )
    assert order == ["reasoning", "assistant"]

    toggle.click()
    body = box.locator("[data-nbstream=reasoning-text]")
    body.locator("strong").first.wait_for()
    assert "First I read the question." in body.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    lab.page.locator(f"{WIDGET} [data-nbstream=turn]").screenshot(path=ARTIFACTS / "reasoning-open.png")
    toggle.click()
    assert box.get_attribute("data-open") == "false"


IMAGE_CHAT = cell(
    """
    from matplotlib.figure import Figure
    from PIL import Image
    from nbstream import Call, Say, ScriptedModel, StreamChat

    chat = StreamChat(ScriptedModel([[Say("Plotting.", chunk=1), Call("plot", {})], [Say("Here it is.")]]))

    @chat.tool
    def plot() -> list:
        \"\"\"Draw a chart and a swatch.\"\"\"
        fig = Figure(figsize=(8, 5), dpi=100)
        fig.add_subplot().plot([1, 3, 2, 4], linewidth=3)
        return ["a chart and a swatch", fig, Image.new("RGB", (60, 40), (30, 120, 200))]

    chat
    """
)
SEND_WITH_IMAGE = cell(
    """
    from PIL import Image
    await chat.send("plot this", images=[Image.new("RGB", (64, 48), (220, 60, 20))])
    """
)
BOX = "el => { const r = el.getBoundingClientRect(); return [r.width, r.height, r.top, r.left]; }"


def test_an_image_result_shows_in_its_card_and_enlarges_on_click(lab: Lab) -> None:
    lab.open(lab.write_notebook("images.ipynb", [IMAGE_CHAT, SEND_WITH_IMAGE]))
    lab.run_all()
    wait_status(lab, "done")
    page = lab.page
    card = page.locator(f"{WIDGET} [data-nbstream=tool][data-tool-name=plot]")
    thumbs = card.locator("[data-nbstream=image]")
    assert thumbs.count() == 2
    chart = thumbs.first.locator("img")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=chart.element_handle())
    assert chart.evaluate("img => img.src.startsWith('data:image/png;base64,')")
    natural = chart.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert natural[0] >= 600, natural  # the figure as rendered, 8 in at 100 dpi less the tight bbox
    width, height, _, _ = chart.evaluate(BOX)
    assert width <= 240 and height <= 160, "a thumbnail"
    prompt_thumb = page.locator(f"{WIDGET} [data-nbstream=user] [data-nbstream=image] img")
    assert prompt_thumb.get_attribute("alt") == "image/png 64×48"
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(f"{WIDGET} [data-nbstream=turn]").screenshot(path=ARTIFACTS / "image-card.png")

    thumbs.first.click()
    viewer = page.locator(f"{WIDGET} dialog[data-nbstream=image-viewer][open]")
    viewer.wait_for()
    big = viewer.locator("img")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=big.element_handle())
    big_width, big_height, top, left = big.evaluate(BOX)
    assert big_width > 2 * width and big_height > 2 * height, "enlarged"
    assert top >= 0 and left >= 0 and top + big_height <= 900, "in the window (the dialog's top layer)"
    assert page.evaluate(
        "() => document.querySelector('dialog[data-nbstream=image-viewer]').matches(':modal')"
    )
    page.screenshot(path=ARTIFACTS / "image-viewer.png")
    page.keyboard.press("Escape")
    viewer.wait_for(state="detached")
    assert page.evaluate("() => document.activeElement.dataset.nbstream") == "image", (
        "focus back on the thumbnail"
    )

    thumbs.nth(1).click()
    viewer.wait_for()
    viewer.click()
    viewer.wait_for(state="detached")
    assert page.locator(f"{WIDGET} dialog[data-nbstream=image-viewer]").count() == 1


PROGRESS_CHAT = cell(
    """
    import time
    from nbstream import Call, Progress, Say, ScriptedModel, StreamChat

    chat = StreamChat(ScriptedModel([[Call("download", {"files": 8})], [Say("All downloaded.")]]))

    @chat.tool
    def download(files: int, progress: Progress) -> str:
        \"\"\"Download some files, slowly.\"\"\"
        progress("connecting")
        time.sleep(0.8)
        for i in range(files):
            progress(f"file {i + 1} of {files}", (i + 1) / files)
            time.sleep(0.35)
        return f"{files} files"

    chat
    """
)
PROGRESS_SAMPLER = """() => {
  window.__samples = [];
  window.__sampler = setInterval(() => {
    const card = document.querySelector('.nbstream [data-nbstream=tool]');
    const bar = card && card.querySelector('[data-nbstream=progress-bar]');
    window.__samples.push(card === null ? null : {
      state: card.dataset.state,
      shown: !card.querySelector('[data-nbstream=tool-progress]').hidden,
      message: card.querySelector('[data-nbstream=progress-message]').textContent,
      value: bar.getAttribute('aria-valuenow'),
      indeterminate: bar.dataset.indeterminate === 'true',
    });
  }, 50);
}"""


def test_a_progress_bar_advances_while_the_tool_runs(lab: Lab) -> None:
    lab.open(lab.write_notebook("progress.ipynb", [PROGRESS_CHAT, 'handle = chat.send("download")']))
    lab.page.evaluate(PROGRESS_SAMPLER)
    lab.run_all()
    wait_status(lab, "done")
    seen = [s for s in samples(lab) if s is not None and s["state"] == "running" and s["shown"]]

    waiting = [s for s in seen if s["indeterminate"]]
    assert waiting and all(s["message"] == "connecting" for s in waiting), "indeterminate before a fraction"
    values = [int(s["value"]) for s in seen if s["value"] is not None]
    assert len(set(values)) >= 5, f"the bar did not advance step by step: {values}"
    assert values == sorted(values)
    assert any(s["message"].startswith("file 2 of 8") for s in seen)

    card = lab.page.locator(f"{WIDGET} [data-nbstream=tool]")
    assert card.get_attribute("data-state") == "done"
    bar = card.locator("[data-nbstream=progress-bar]")
    assert bar.get_attribute("aria-valuenow") == "100", "the last update stays as the final state"
    assert card.locator("[data-nbstream=progress-message]").inner_text() == "file 8 of 8"
    assert "8 files" in card.locator("[data-nbstream=result]").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    card.screenshot(path=ARTIFACTS / "progress-done.png")
