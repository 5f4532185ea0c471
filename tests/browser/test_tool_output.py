"""What tools print and log, in their cards in a real JupyterLab page: live while they run, not mixed between
two calls running at once, not taken from other cells, and still there after a page reload."""

from __future__ import annotations

from typing import Any

import pytest
from jupyter_lab import ARTIFACTS, KERNELS, Lab
from widget_page import WIDGET, cell, wait_status

SETUP = cell(
    """
    import asyncio, logging, time
    from nbstream import Call, Say, ScriptedModel, StreamChat

    chat = StreamChat(ScriptedModel([
        [Say("Fetching and crawling.", chunk=1),
         Call("fetch", {"n": 3}), Call("crawl", {"n": 3})],
        [Say("All done.", chunk=1)],
    ]))

    @chat.tool
    def fetch(n: int) -> str:
        \"\"\"Fetch, in a thread, printing progress.\"\"\"
        for i in range(n):
            print(f"fetch step {i}", flush=True)
            time.sleep(0.8)
        logging.getLogger("fetcher").warning("fetch almost done")
        return "fetched"

    @chat.tool
    async def crawl(n: int) -> str:
        \"\"\"Crawl, on the event loop, printing progress.\"\"\"
        for i in range(n):
            print(f"crawl step {i}")
            await asyncio.sleep(0.8)
        return "crawled"

    chat
    """
)
CELL_PRINTS = 'print("printed by a cell")'

START_SAMPLER = """() => {
  window.__samples = [];
  window.__sampler = setInterval(() => {
    for (const row of document.querySelectorAll('.nbstream [data-nbstream=tool]')) {
      const out = row.querySelector('[data-nbstream=tool-output]');
      window.__samples.push({ name: row.dataset.toolName, state: row.dataset.state, out: out ? out.textContent : '' });
    }
  }, 50);
}"""


def outputs(lab: Lab) -> dict[str, str]:
    rows = lab.page.locator(f"{WIDGET} [data-nbstream=tool]")
    return {
        str(row.get_attribute("data-tool-name")): str(
            row.locator("[data-nbstream=tool-output]").evaluate("el => el.textContent")
        )
        for row in rows.all()
    }


@pytest.mark.parametrize("kernel", KERNELS)
def test_tool_output_shows_live_in_its_card_and_survives_a_reload(lab: Lab, kernel: str) -> None:
    lab.open(
        lab.write_notebook(f"output-{kernel}.ipynb", [SETUP, 'handle = chat.send("go")', CELL_PRINTS], kernel)
    )
    lab.page.evaluate(START_SAMPLER)
    lab.run_all()
    lab.wait_cell_output(2, "printed by a cell")
    wait_status(lab, "done")
    seen: list[dict[str, Any]] = lab.page.evaluate(
        "() => { clearInterval(window.__sampler); return window.__samples; }"
    )

    for name in ("fetch", "crawl"):
        live = [
            s for s in seen if s["name"] == name and s["state"] == "running" and f"{name} step 0" in s["out"]
        ]
        assert live, f"{name}'s output never appeared while it was running"
        # Line by line: the first step was on screen before the last one was printed.
        assert any(f"{name} step 2" not in s["out"] for s in live)

    shown = outputs(lab)
    ARTIFACTS.mkdir(exist_ok=True)
    lab.page.locator(f"{WIDGET} [data-nbstream=turn]").screenshot(
        path=ARTIFACTS / f"tool-output-{kernel}.png"
    )
    assert shown["fetch"] == "fetch step 0\nfetch step 1\nfetch step 2\nWARNING:fetcher:fetch almost done\n"
    assert shown["crawl"] == "crawl step 0\ncrawl step 1\ncrawl step 2\n"
    # The cell's print stayed in its cell; the tools' prints and logs are in no cell's output.
    printed = lab.page.locator(".jp-Notebook .jp-RenderedText[data-mime-type^='application/vnd.jupyter.std']")
    assert [text.strip() for text in printed.all_inner_texts()] == ["printed by a cell"]

    lab.wait_idle()
    page = lab.page
    page.locator(".jp-Notebook .jp-Cell").first.locator(".jp-InputPrompt").click()
    page.keyboard.press("Control+s")
    page.wait_for_selector(".jp-mod-current.jp-mod-dirty", state="detached", timeout=10_000)
    page.reload()
    page.wait_for_selector(f"{WIDGET} [data-nbstream=tool][data-tool-name=crawl]", timeout=60_000)
    wait_status(lab, "done")
    assert outputs(lab) == shown
