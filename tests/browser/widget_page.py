"""What the browser tests read of a chat in a page: its root and hooks (docs/WIDGET_PROTOCOL.md), a sampler
that records what a user would see every 50 ms (page clock = kernel clock: same machine), and small notebook
helpers. Plain functions, imported by name like jupyter_lab.py."""

from __future__ import annotations

import textwrap
from typing import Any

from jupyter_lab import Lab

WIDGET = ".nbstream"
TEXT = "[data-nbstream=text]"

START_SAMPLER = """() => {
  window.__samples = [];
  window.__sampler = setInterval(() => {
    const root = document.querySelector('.nbstream');
    const text = root ? root.querySelector('[data-nbstream=text]').textContent : '';
    const tool = root ? root.querySelector('[data-nbstream=tool]') : null;
    window.__samples.push({
      t: Date.now() / 1000,
      len: text.length,
      tool: tool ? tool.dataset.state : null,
      status: root ? root.dataset.status : null,
    });
  }, 50);
}"""


def cell(source: str) -> str:
    return textwrap.dedent(source).strip()


def samples(lab: Lab) -> list[dict[str, Any]]:
    return lab.page.evaluate("() => { clearInterval(window.__sampler); return window.__samples; }")


def wait_status(lab: Lab, status: str, timeout: float = 30.0) -> None:
    lab.page.wait_for_selector(f"{WIDGET}[data-status={status}]", timeout=timeout * 1000)


def widget_text(lab: Lab) -> str:
    return lab.page.locator(f"{WIDGET} {TEXT}").first.inner_text()


def growth_while(points: list[dict[str, Any]]) -> tuple[int, int, float]:
    """(characters gained, distinct lengths seen, seconds covered) over consecutive samples."""
    if not points:
        return 0, 0, 0.0
    return (
        points[-1]["len"] - points[0]["len"],
        len({p["len"] for p in points}),
        points[-1]["t"] - points[0]["t"],
    )


def run_cell(lab: Lab, index: int) -> None:
    """Run one cell of the open notebook (as a user does: click it, Ctrl+Enter)."""
    lab.page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-InputPrompt").click()
    lab.page.keyboard.press("Control+Enter")
