"""nbstream.Compare in a real JupyterLab and headless Chromium: one prompt streams into two columns at once,
a failing model shows its error in its column while the others finish, Stop stops every model, and the
columns wrap to rows on a narrow page. And ``nbstream.replay``: a recording plays into a chat view at its pace.

Each column is a chat drawn by the chat's own view inside the comparison (anywidget's widget composition), so
the chat's hooks (WIDGET_PROTOCOL.md) work per column: ``[data-nbstream=compare-column][data-label=...]
.nbstream[data-status=...]``. Streaming is sampled from inside the page every 50 ms, as tests/browser/test_chat.py
does.
"""

from __future__ import annotations

from jupyter_lab import ARTIFACTS, Lab
from widget_page import cell, run_cell, samples

COMPARE = "[data-nbstream=compare]"

SETUP = cell(
    """
    from nbstream import Compare, Say, ScriptedModel

    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu " * 3
    compare = Compare({
        "left": ScriptedModel([[Say(words, chunk=1, over=SECONDS)], [Say("left again", chunk=1)]]),
        "right": ScriptedModel([[Say(words.upper(), chunk=1, over=SECONDS)], [Say("right again", chunk=1)]]),
        "broken": ScriptedModel([]),  # no step: its first request fails
    })
    compare
    """
)

START_SAMPLER = """() => {
  window.__samples = [];
  window.__sampler = setInterval(() => {
    const sample = { t: Date.now() / 1000 };
    for (const column of document.querySelectorAll('[data-nbstream=compare-column]')) {
      const chat = column.querySelector('.nbstream');
      const text = chat ? chat.querySelector('[data-nbstream=text]').textContent : '';
      sample[column.dataset.label] = { len: text.length, status: chat ? chat.dataset.status : null };
    }
    window.__samples.push(sample);
  }, 50);
}"""


def column(label: str) -> str:
    return f"{COMPARE} [data-nbstream=compare-column][data-label={label}]"


def wait_column(lab: Lab, label: str, status: str, timeout: float = 30.0) -> None:
    lab.page.wait_for_selector(f"{column(label)} .nbstream[data-status={status}]", timeout=timeout * 1000)


def test_one_prompt_streams_into_two_columns_at_once_and_a_failure_stays_in_its_column(lab: Lab) -> None:
    lab.open(lab.write_notebook("compare.ipynb", [SETUP.replace("SECONDS", "4.0")]))
    page = lab.page
    run_cell(lab, 0)
    page.wait_for_selector(f"{column('right')} .nbstream", timeout=30_000)
    lab.wait_idle()
    # One prompt box for the comparison; the columns' own are hidden.
    assert page.locator(f"{COMPARE} [data-nbstream=prompt]:visible").count() == 1
    page.evaluate(START_SAMPLER)
    page.fill(f"{COMPARE} [data-nbstream=compare-bar] [data-nbstream=prompt]", "recite the alphabet")
    page.click(f"{COMPARE} [data-nbstream=compare-bar] [data-nbstream=send]")

    wait_column(lab, "broken", "error")
    broken_at = page.evaluate("() => Date.now() / 1000")
    wait_column(lab, "left", "done")
    wait_column(lab, "right", "done")
    seen = samples(lab)

    final = {label: seen[-1][label]["len"] for label in ("left", "right")}
    assert min(final.values()) > 200, final
    # Both columns grew during the same samples: streaming side by side, not one after the other.
    both = [s for s in seen if all(0 < s[label]["len"] < final[label] for label in ("left", "right"))]
    assert len(both) >= 10, f"both columns mid-stream in {len(both)} samples only"
    # The failure showed while the others still streamed, and stayed in its own column.
    streaming_after = [s for s in seen if s["t"] > broken_at and s["left"]["len"] < final["left"]]
    assert streaming_after, "the broken model's error waited for the others"
    status = page.locator(f"{column('broken')} [data-nbstream=status]").inner_text()
    assert "no step 1" in status, status
    for label in ("left", "right"):
        assert "no step 1" not in page.locator(f"{column(label)} .nbstream").inner_text()
        metrics = page.locator(f"{column(label)} [data-nbstream=compare-metrics]")
        metrics.filter(has_text="to first token").wait_for(timeout=10_000)
        footers = page.locator(f"{column(label)} [data-nbstream=turn-metrics]")  # the line above says it
        assert footers.count() == 1 and not footers.is_visible()
    assert "ALPHA BETA" in page.locator(f"{column('right')} [data-nbstream=text]").inner_text()
    assert "ALPHA BETA" not in page.locator(f"{column('left')} [data-nbstream=text]").inner_text()

    # Side by side at 1280 px; on a narrow page the columns wrap to rows, each as wide as the comparison.
    def boxes() -> list[dict[str, float]]:
        return [page.locator(column(label)).bounding_box() for label in ("left", "right", "broken")]  # type: ignore[misc]

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "compare-wide.png")
    left, right, _ = boxes()
    assert abs(left["y"] - right["y"]) < 2 and right["x"] > left["x"] + left["width"] - 1, (left, right)
    page.set_viewport_size({"width": 560, "height": 900})
    page.wait_for_function(
        """() => {
          const columns = document.querySelectorAll('[data-nbstream=compare-column]');
          const c = [...columns].map((e) => e.getBoundingClientRect());
          return c.length === 3 && c[1].top > c[0].bottom - 1;
        }""",
        timeout=10_000,
    )
    page.screenshot(path=ARTIFACTS / "compare-narrow.png", full_page=True)
    left, right, broken = boxes()
    grid = page.locator(f"{COMPARE} [data-nbstream=compare-grid]").bounding_box()
    assert grid is not None
    for box in (left, right, broken):
        assert abs(box["x"] - grid["x"]) < 2 and box["width"] > 0.95 * grid["width"], (box, grid)
    assert left["y"] < right["y"] < broken["y"]


def test_stop_stops_every_model_and_python_gets_every_result(lab: Lab) -> None:
    report = "print({label: r.reason for label, r in handle.result(10).items()})"
    lab.open(
        lab.write_notebook(
            "compare-stop.ipynb", [SETUP.replace("SECONDS", "30.0"), 'handle = compare.send("talk")', report]
        )
    )
    page = lab.page
    run_cell(lab, 0)
    page.wait_for_selector(f"{column('right')} .nbstream", timeout=30_000)
    lab.wait_idle()
    run_cell(lab, 1)
    for label in ("left", "right"):
        page.locator(f"{column(label)} [data-nbstream=text]").filter(has_text="alpha").wait_for(
            timeout=20_000
        )
    wait_column(lab, "broken", "error")
    stop = page.locator(f"{COMPARE} [data-nbstream=compare-bar] [data-nbstream=stop]")
    assert stop.is_enabled()
    stop.click()
    wait_column(lab, "left", "cancelled", timeout=10)
    wait_column(lab, "right", "cancelled", timeout=10)
    assert not stop.is_enabled(), "nothing runs any more"
    lengths = [
        len(page.locator(f"{column(label)} [data-nbstream=text]").inner_text()) for label in ("left", "right")
    ]
    page.wait_for_timeout(500)
    assert lengths == [
        len(page.locator(f"{column(label)} [data-nbstream=text]").inner_text()) for label in ("left", "right")
    ], "a stopped column kept streaming"
    run_cell(lab, 2)
    lab.wait_cell_output(2, "{'left': 'cancelled', 'right': 'cancelled', 'broken': 'error'}")
    # The comparison takes the next prompt in every column.
    page.fill(f"{COMPARE} [data-nbstream=compare-bar] [data-nbstream=prompt]", "again")
    page.click(f"{COMPARE} [data-nbstream=compare-bar] [data-nbstream=send]")
    wait_column(lab, "left", "done")
    wait_column(lab, "right", "done")
    assert "right again" in page.locator(f"{column('right')} [data-nbstream=text]").inner_text()


REPLAY = cell(
    """
    import tempfile, time
    from pathlib import Path
    from nbstream import Call, Say, ScriptedModel, StreamChat, replay

    def slow_sum(a: int, b: int) -> int:
        \"\"\"Add two numbers, slowly.\"\"\"
        time.sleep(1.0)
        return a + b

    path = Path(tempfile.mkdtemp()) / "session.jsonl"
    chat = StreamChat(ScriptedModel([
        [Say("Let me add those.", chunk=1, delay=0.02), Call("slow_sum", {"a": 2, "b": 3}),
         Say(" While it runs I keep talking, word after word, until the tool is done.", chunk=1, over=1.5)],
        [Say("The sum is **5**.", chunk=1, delay=0.02)],
    ]), tools=[slow_sum], record=path)
    chat.send("add 2 and 3").result(30)
    chat.close()
    del slow_sum  # the replay needs no tool: it shows the recorded one
    replayed = replay(path)
    replayed
    """
)


def test_a_replay_plays_into_a_chat_view_at_its_pace(lab: Lab) -> None:
    lab.open(lab.write_notebook("replay.ipynb", [REPLAY]))
    page = lab.page
    page.evaluate(
        """() => {
      window.__states = [];
      window.__sampler = setInterval(() => {
        const tool = document.querySelector('.nbstream [data-nbstream=tool]');
        const text = document.querySelector('.nbstream [data-nbstream=text]');
        window.__states.push({ t: Date.now() / 1000, tool: tool ? tool.dataset.state : null,
                               len: text ? text.textContent.length : 0 });
      }, 50);
    }"""
    )
    run_cell(lab, 0)
    page.wait_for_selector(".nbstream[data-status=done]", timeout=40_000)
    seen = page.evaluate("() => { clearInterval(window.__sampler); return window.__states; }")
    root = page.locator(".nbstream")
    assert "scripted (replay)" in root.locator("[data-nbstream=status]").inner_text()
    assert root.locator("[data-nbstream=tool][data-tool-name=slow_sum]").get_attribute("data-state") == "done"
    assert "The sum is 5." in root.locator("[data-nbstream=text]").inner_text()
    # At its pace: the recorded card ran for about a second while the text kept growing.
    running = [s for s in seen if s["tool"] == "running"]
    assert len(running) >= 10 and running[-1]["len"] > running[0]["len"], running[:3]
    # A prompt typed into a replay is refused, saying why (the status line's tooltip, as for a refused approval).
    page.fill(".nbstream [data-nbstream=prompt]", "more?")
    page.click(".nbstream [data-nbstream=send]")
    page.wait_for_selector(".nbstream .nbs-status-text[title*='takes no prompts']", timeout=10_000)
    assert root.locator("[data-nbstream=turn]").count() == 1
