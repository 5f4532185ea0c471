"""Approval of ``confirm=True`` tools, and one chat shown in several views, in a real JupyterLab page.

Approval: three calls of a confirm tool wait side by side; the browser approves one and denies one, a cell
approves the third from Python; the kernel's transcript and the model's next request hold the denial.
Views: the same chat displayed in two cells while a turn streams, and in a third cell after it ended: every
view shows the same text, live, and the same final state. (Reloading the page mid-turn is in test_chat.py.)
"""

from __future__ import annotations

import json
from typing import Any

from jupyter_lab import Lab
from widget_page import TEXT, WIDGET, cell, run_cell, wait_status

APPROVAL_SETUP = cell(
    """
    import json
    from nbstream import Call, Say, ScriptedModel, StreamChat

    model = ScriptedModel([
        [Say("Deleting three files.", chunk=1),
         Call("delete", {"path": "a.txt"}), Call("delete", {"path": "b.txt"}), Call("delete", {"path": "c.txt"})],
        [Say("Done deleting.", chunk=1)],
    ])
    chat = StreamChat(model)
    deleted = []

    @chat.tool(confirm=True)
    def delete(path: str) -> str:
        \"\"\"Delete a file (pretend).\"\"\"
        deleted.append(path)
        return f"deleted {path}"

    chat
    """
)
APPROVE_FROM_PYTHON = cell(
    """
    awaiting = {e.arguments["path"]: e.id for e in handle.events if type(e).__name__ == "ToolAwaitingApproval"}
    chat.approve(awaiting["c.txt"])
    """
)
REPORT = cell(
    """
    await handle
    def results(messages):
        return [[m.content, m.error] for m in messages if type(m).__name__ == "ToolResultMessage"]
    print("REPORT", json.dumps({
        "deleted": deleted,
        "transcript": results(chat.messages),
        "sent_to_model": results(model.requests[1].messages),
        "reason": handle.reason,
    }))
    """
)


def test_confirm_tools_wait_for_approve_and_deny(lab: Lab) -> None:
    lab.open(
        lab.write_notebook(
            "approval.ipynb",
            [APPROVAL_SETUP, 'handle = chat.send("delete a, b and c")', APPROVE_FROM_PYTHON, REPORT],
        )
    )
    run_cell(lab, 0)
    run_cell(lab, 1)
    page = lab.page
    root = page.locator(WIDGET)
    waiting = root.locator("[data-nbstream=tool][data-state=awaiting_approval]")
    waiting.nth(2).wait_for(timeout=30_000)
    wait_status(lab, "awaiting_approval")
    assert root.locator("[data-nbstream=status]").inner_text().strip().startswith("Awaiting approval")

    def row(path: str) -> Any:
        return root.locator("[data-nbstream=tool][data-tool-name=delete]").filter(
            has=page.locator("[data-nbstream=tool-args]", has_text=path)
        )

    for path in ("a.txt", "b.txt", "c.txt"):
        assert row(path).get_attribute("data-state") == "awaiting_approval"
        assert row(path).locator("[data-nbstream=approve]").is_enabled()
        assert row(path).locator("[data-nbstream=deny]").is_enabled()
    assert root.locator("[data-nbstream=result]").count() == 0  # nothing ran before an answer

    row("a.txt").locator("[data-nbstream=approve]").click()
    page.wait_for_selector(f"{WIDGET} [data-nbstream=tool][data-state=done]", timeout=10_000)
    assert row("a.txt").get_attribute("data-state") == "done"
    assert row("a.txt").locator("[data-nbstream=approve]").count() == 0
    call_a = row("a.txt").get_attribute("data-tool-id")
    assert (
        root.locator(f"[data-nbstream=result][data-tool-id='{call_a}']").inner_text().count("deleted a.txt")
    )
    assert (
        row("b.txt").get_attribute("data-state") == "awaiting_approval"
    )  # each call waits for its own answer

    row("b.txt").locator("[data-nbstream=deny]").click()
    page.wait_for_selector(f"{WIDGET} [data-nbstream=tool][data-state=denied]", timeout=10_000)
    assert "denied" in row("b.txt").inner_text()
    # A decision of the user, drawn in neutral tones: no error colour on the card, its badge or its note.
    colors = row("b.txt").evaluate(
        """card => [card, card.querySelector('.nbs-badge'), card.querySelector('[data-nbstream=tool-error]')]
             .map(el => getComputedStyle(el).color + ' ' + getComputedStyle(card).borderLeftColor)"""
    )
    error_color = page.evaluate(
        "() => { const d = document.createElement('div'); d.style.color = 'var(--jp-error-color1)';"
        " document.body.append(d); const c = getComputedStyle(d).color; d.remove(); return c; }"
    )
    assert all(error_color not in color for color in colors), (colors, error_color)
    assert row("b.txt").locator("[data-nbstream=deny]").count() == 0
    call_b = row("b.txt").get_attribute("data-tool-id")
    assert root.locator(f"[data-nbstream=result][data-tool-id='{call_b}']").count() == 0
    assert row("c.txt").get_attribute("data-state") == "awaiting_approval"
    assert root.get_attribute("data-status") == "awaiting_approval"  # the turn still waits for c.txt

    run_cell(lab, 2)  # chat.approve(...) from Python
    wait_status(lab, "done")
    assert row("c.txt").get_attribute("data-state") == "done"
    assert "Done deleting." in root.locator(TEXT).inner_text()

    run_cell(lab, 3)
    lab.wait_cell_output(3, "REPORT")
    report = json.loads(lab.cell_output(3).split("REPORT", 1)[1])
    assert report["deleted"] == ["a.txt", "c.txt"]
    assert report["reason"] == "done"
    for where in ("transcript", "sent_to_model"):
        (a, a_error), (b, b_error), (c, c_error) = report[where]
        assert (a, a_error, c, c_error) == ("deleted a.txt", None, "deleted c.txt", None)
        assert b_error == "denied" and "denied by the user" in b


VIEWS_SETUP = cell(
    """
    import asyncio
    from nbstream import Call, Say, ScriptedModel, StreamChat

    chat = StreamChat(ScriptedModel([
        [Say("Every view shows this sentence as it streams. " * 6, chunk=1, over=4.0),
         Call("measure", {"what": "views"}),
         Say("Still talking while the tool runs. " * 3, chunk=1, over=1.5)],
        [Say("The measure is **3**.", chunk=1, delay=0.02)],
    ]))

    @chat.tool
    def measure(what: str) -> int:
        \"\"\"Measure something.\"\"\"
        return 3

    chat
    """
)
SAMPLE_VIEWS = """() => {
  window.__views = [];
  window.__viewSampler = setInterval(() => {
    const views = [...document.querySelectorAll('.nbstream')].map((root) => ({
      status: root.dataset.status,
      text: root.querySelector('[data-nbstream=text]').textContent,
    }));
    window.__views.push(views);
  }, 50);
}"""
VIEW_STATE = """(root) => ({
  status: root.dataset.status,
  text: root.querySelector('[data-nbstream=text]').textContent,
  tools: [...root.querySelectorAll('[data-nbstream=tool]')].map((row) => [
    row.dataset.toolName, row.dataset.state, row.querySelector('[data-nbstream=tool-args]').textContent]),
  results: [...root.querySelectorAll('[data-nbstream=result]')].map((el) => el.textContent),
  turns: root.querySelectorAll('[data-nbstream=turn]').length,
})"""


def test_every_view_streams_the_same_turn_and_a_late_view_shows_the_transcript(lab: Lab) -> None:
    lab.open(
        lab.write_notebook(
            "views.ipynb",
            [
                VIEWS_SETUP,
                'handle = chat.send("measure the views")',
                "await asyncio.sleep(1.5)\nchat",  # a second view, mid-turn
                "await handle\nchat",  # a third view, after the turn
            ],
        )
    )
    page = lab.page
    page.evaluate(SAMPLE_VIEWS)
    lab.run_all()
    page.locator(WIDGET).nth(2).wait_for(timeout=30_000)
    lab.wait_idle()
    seen: list[list[dict[str, Any]]] = page.evaluate(
        "() => { clearInterval(window.__viewSampler); return window.__views; }"
    )

    # While the turn streamed, both views showed the same text, growing.
    both = [views for views in seen if len(views) == 2 and views[0]["status"] == "generating"]
    assert len(both) >= 20, f"only {len(both)} samples with two views mid-turn"
    first, second = ([views[i]["text"] for views in both] for i in (0, 1))
    assert "Every view shows this sentence" in second[0]  # the late view caught up on what came before it
    assert len(set(second)) >= 10 and len(second[-1]) - len(second[0]) > 100
    for one, other in zip(first, second, strict=True):  # never different text, at most a frame behind
        assert one.startswith(other) or other.startswith(one), (one, other)
    same = sum(one == other for one, other in zip(first, second, strict=True))
    assert same >= 0.8 * len(both), f"the views agreed in {same} of {len(both)} samples"

    # At the end every view, including the one displayed after the turn, shows the same final state.
    states = [page.locator(WIDGET).nth(i).evaluate(VIEW_STATE) for i in range(3)]
    assert states[0] == states[1] == states[2]
    final = states[0]
    assert final["status"] == "done"
    assert final["text"].count("Every view shows this sentence as it streams.") == 6
    assert final["text"].count("Still talking while the tool runs.") == 3
    assert final["text"].count("The measure is 3.") == 1
    assert final["tools"] == [["measure", "done", 'what: "views"']]
    assert final["turns"] == 1
    assert len(final["results"]) == 1 and "3" in final["results"][0]
