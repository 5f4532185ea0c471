"""StreamChat in a real JupyterLab and headless Chromium: streaming, tools, Stop, blocked cells, XSS, input.

Each test writes a notebook, opens it in a fresh browser context, runs it, and reads the widget's DOM hooks
(WIDGET_PROTOCOL.md). Timing assertions sample the DOM from inside the page (every 50 ms, page clock = kernel
clock: same machine), so they see what a user would see, not what the kernel believes it sent.
"""

from __future__ import annotations

import pytest
from jupyter_lab import ARTIFACTS, IPYKERNEL6, KERNELS, REPO, Lab
from widget_page import START_SAMPLER, TEXT, WIDGET, cell, growth_while, samples, wait_status, widget_text

SLOW_TOOL_CHAT = cell(
    """
    import time
    from nbstream import Call, Say, ScriptedModel, StreamChat

    chatter = "the tool is still working in its own thread, and this text keeps streaming meanwhile. " * 4
    chat = StreamChat(ScriptedModel([
        [Say("Let me add those numbers with the slow tool.", chunk=1, delay=0.03),
         Call("slow_sum", {"a": 2, "b": 3}),
         Say(" " + chatter, chunk=1, over=3.0)],
        [Say("The sum is **5**.", chunk=1, delay=0.03)],
    ]))

    @chat.tool
    def slow_sum(a: int, b: int) -> int:
        \"\"\"Add two numbers, slowly.\"\"\"
        time.sleep(2)
        return a + b

    chat
    """
)


@pytest.mark.parametrize("kernel", KERNELS)
def test_text_streams_while_a_tool_runs(lab: Lab, kernel: str) -> None:
    lab.open(
        lab.write_notebook(
            f"tool-{kernel}.ipynb", [SLOW_TOOL_CHAT, 'handle = chat.send("add 2 and 3")'], kernel
        )
    )
    lab.page.evaluate(START_SAMPLER)
    lab.run_all()
    wait_status(lab, "done")
    seen = samples(lab)

    row = lab.page.locator(f"{WIDGET} [data-nbstream=tool][data-tool-name=slow_sum]")
    assert row.get_attribute("data-state") == "done"
    call_id = row.get_attribute("data-tool-id")
    result = lab.page.locator(f"{WIDGET} [data-nbstream=result][data-tool-id='{call_id}']")
    assert "5" in result.inner_text()
    assert row.locator("[data-nbstream=tool-args]").inner_text().split("\n") == ["a: 2", "b: 3"]
    assert row.locator(f"[data-nbstream=result][data-tool-id='{call_id}']").count() == 1  # in its card
    assert "The sum is 5" in widget_text(lab)
    # One column, in order: the text before the call, the call's card, the text the model wrote while it ran.
    order = lab.page.locator(f"{WIDGET} [data-nbstream=turn]").first.evaluate(
        """turn => [...turn.querySelectorAll('[data-nbstream=assistant], [data-nbstream=tool]')].map(
             el => el.dataset.nbstream === 'tool' ? 'tool' : el.textContent.trim().slice(0, 12))"""
    )
    assert order[:3] == ["Let me add t", "tool", "the tool is "], order
    # The turn's quiet footer: what it took, the tool time generation overlapped, and an honest cost.
    footer = lab.page.locator(f"{WIDGET} [data-nbstream=turn] [data-nbstream=turn-metrics]")
    assert footer.count() == 1 and footer.is_visible()
    said = footer.inner_text()
    assert "to first token" in said and "overlapped" in said and said.endswith("cost unknown"), said
    assert "This chat so far: 1 turn" in (footer.get_attribute("title") or "")

    running = [s for s in seen if s["tool"] == "running"]
    gained, distinct, covered = growth_while(running)
    assert covered > 1.5, f"the tool row was seen running for {covered:.1f} s only"
    assert gained > 100 and distinct >= 5, (
        f"text gained {gained} chars in {distinct} steps while the tool ran"
    )
    states = [s["tool"] for s in seen if s["tool"]]
    assert states.index("running") < states.index("done")


LONG_CHAT = cell(
    """
    from nbstream import Say, ScriptedModel, StreamChat

    chat = StreamChat(ScriptedModel([
        [Say("A long answer that takes a while. " * 40, chunk=1, over=20.0)],
        [Say("Short answer.", chunk=1, delay=0.02)],
    ]))
    chat
    """
)


@pytest.mark.parametrize("kernel", KERNELS)
def test_stop_cancels_and_the_kernel_stays_usable(lab: Lab, kernel: str) -> None:
    status_cell = 'print("status:", chat.status, "messages:", len(chat.messages), "sum:", 1 + 1)'
    lab.open(
        lab.write_notebook(f"stop-{kernel}.ipynb", [LONG_CHAT, 'chat.send("talk")', status_cell], kernel)
    )
    lab.run_all()
    lab.page.locator(f"{WIDGET} {TEXT}").filter(has_text="takes a while").wait_for(timeout=20_000)
    lab.wait_idle()
    lab.page.click(f"{WIDGET} [data-nbstream=stop]")
    wait_status(lab, "cancelled", timeout=10)
    stopped_at = len(widget_text(lab))
    assert stopped_at < len("A long answer that takes a while. " * 40)

    # The kernel runs cells again, and knows the turn ended cancelled.
    lab.page.locator(".jp-Notebook .jp-Cell").nth(2).locator(".jp-InputPrompt").click()
    lab.page.keyboard.press("Control+Enter")
    lab.wait_cell_output(2, "status: cancelled messages: 2 sum: 2")
    # The chat takes a new turn.
    lab.page.fill(f"{WIDGET} [data-nbstream=prompt]", "again")
    lab.page.click(f"{WIDGET} [data-nbstream=send]")
    wait_status(lab, "done")
    assert "Short answer." in widget_text(lab)


HOSTILE = (
    'before <img src=x onerror="window.__pwned=1"> middle <script>window.__pwned=1</script> '
    "and a [link](javascript:window.__pwned=1) after"
)


def test_model_output_is_inert(lab: Lab) -> None:
    setup = cell(
        f"""
        from nbstream import Call, Say, ScriptedModel, StreamChat

        chat = StreamChat(ScriptedModel([
            [Say({HOSTILE!r}, chunk=2, delay=0.01),
             Call("echo", {{"html": "<img src=y onerror=window.__pwned=2>"}})],
            [Say({HOSTILE!r} + " again", chunk=2, delay=0.01)],
        ]))

        @chat.tool
        def echo(html: str) -> str:
            \"\"\"Echo some html.\"\"\"
            return html + "<script>window.__pwned=3</script>"

        chat
        """
    )
    lab.open(lab.write_notebook("xss.ipynb", [setup, 'chat.send("be evil")']))
    lab.run_all()
    wait_status(lab, "done")
    page = lab.page
    root = page.locator(WIDGET)
    assert "before" in widget_text(lab) and "after again" in widget_text(lab)
    assert "window.__pwned=3" in root.locator("[data-nbstream=result]").inner_text()  # shown as text
    assert root.locator("script").count() == 0
    assert root.locator("img[onerror]").count() == 0
    for link in root.locator(f"{TEXT} a").all():
        assert not (link.get_attribute("href") or "").strip().lower().startswith("javascript:")
        link.click()
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.__pwned") is None
    handlers = page.evaluate(
        """() => [...document.querySelectorAll('.nbstream *')].flatMap(el =>
             [...el.attributes].filter(a => a.name.startsWith('on')).map(a => el.tagName + ' ' + a.name))"""
    )
    assert handlers == []


def test_screenshot_while_a_tool_runs(lab: Lab) -> None:
    """README's picture: the quickstart caught mid-turn, slow_sum running (its timer counting) in its card, at
    the point of the reply where the model called it, while the text after the call streams."""
    setup = cell(
        """
        import asyncio
        from nbstream import DemoModel, StreamChat

        async def slow_sum(a: int, b: int) -> int:
            \"\"\"Add two integers, slowly.\"\"\"
            await asyncio.sleep(4)
            return a + b

        chat = StreamChat(model=DemoModel(chars_per_second=70), tools=[slow_sum])
        display(chat)
        await chat.send("What is 2 + 3?")
        """
    )
    lab.open(lab.write_notebook("screenshot.ipynb", [setup]))
    lab.run_all()
    running = f"{WIDGET} [data-nbstream=tool][data-tool-name=slow_sum][data-state=running]"
    lab.page.wait_for_selector(running, timeout=30_000)
    lab.page.wait_for_function(
        "() => document.querySelector('.nbstream [data-nbstream=text]').textContent.includes('so this text')",
        timeout=30_000,
    )
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "widget.png"
    lab.page.locator(WIDGET).screenshot(path=shot)
    assert shot.stat().st_size > 10_000
    assert lab.page.locator(running).count() == 1  # still running when the picture was taken
    assert not widget_text(lab).rstrip().endswith("answer.")  # and the text was still streaming
    wait_status(lab, "done")
    assert "slow_sum returned 5" in widget_text(lab)


@pytest.mark.parametrize("kernel", KERNELS)
def test_text_streams_while_a_cell_blocks(lab: Lab, kernel: str) -> None:
    setup = cell(
        """
        import time
        from nbstream import Say, ScriptedModel, StreamChat

        words = "Words keep coming while the kernel sleeps. " * 12
        chat = StreamChat(ScriptedModel([[Say(words, chunk=1, over=8.0)]]))
        chat
        """
    )
    block = cell(
        """
        start = time.time(); time.sleep(4); end = time.time()
        print("block", start, end)
        """
    )
    lab.open(lab.write_notebook(f"block-{kernel}.ipynb", [setup, 'handle = chat.send("go")', block], kernel))
    lab.page.evaluate(START_SAMPLER)
    lab.run_all()
    lab.wait_cell_output(2, "block", timeout=30)
    _, start, end = lab.cell_output(2).split()
    wait_status(lab, "done")
    seen = samples(lab)
    during = [s for s in seen if float(start) + 0.25 <= s["t"] <= float(end) - 0.25]
    gained, distinct, covered = growth_while(during)
    assert covered > 2.5, f"only {covered:.1f} s of samples during the block"
    assert gained > 120 and distinct >= 8, f"text gained {gained} chars in {distinct} steps during the block"


def test_prompt_enter_and_send_button_run_turns(lab: Lab) -> None:
    setup = cell(
        """
        from nbstream import Say, ScriptedModel, StreamChat

        chat = StreamChat(ScriptedModel([
            [Say("Hello from Enter.", chunk=1, delay=0.02)],
            [Say("Hello from the button.", chunk=1, delay=0.02)],
        ]))
        chat
        """
    )
    lab.open(lab.write_notebook("prompt.ipynb", [setup]))
    lab.run_all()
    page = lab.page
    prompt = page.locator(f"{WIDGET} [data-nbstream=prompt]")
    prompt.wait_for()
    lab.wait_idle()

    prompt.click()
    page.keyboard.type("first line")
    page.keyboard.press("Shift+Enter")  # a new line, not a send
    page.keyboard.type("second line")
    assert prompt.input_value() == "first line\nsecond line"
    assert page.locator(f"{WIDGET}[data-status=idle]").count() == 1
    page.keyboard.press("Enter")
    wait_status(lab, "done")
    assert "Hello from Enter." in widget_text(lab)
    assert "second line" in page.locator(f"{WIDGET} [data-nbstream=user]").first.inner_text()
    assert prompt.input_value() == ""

    prompt.fill("by button")
    page.click(f"{WIDGET} [data-nbstream=send]")
    page.locator(f"{WIDGET} {TEXT}").filter(has_text="Hello from the button.").wait_for(timeout=20_000)
    wait_status(lab, "done")
    users = page.locator(f"{WIDGET} [data-nbstream=user]")
    assert users.count() == 2 and "by button" in users.nth(1).inner_text()


def test_a_reloaded_page_catches_up_mid_turn(lab: Lab) -> None:
    """After a reload the view replays the transcript trait, then asks for the turn in progress ("ready" ->
    "live"): every sentence appears exactly once."""
    setup = cell(
        """
        from nbstream import Say, ScriptedModel, StreamChat

        chat = StreamChat(ScriptedModel([
            [Say("First turn.", chunk=1)],
            [Say("Second turn streams for a while. " * 8, chunk=1, over=6.0)],
        ]))
        await chat.send("one")
        handle = chat.send("two")
        chat
        """
    )
    lab.open(lab.write_notebook("reload.ipynb", [setup]))
    lab.run_all()
    page = lab.page
    page.locator(f"{WIDGET} {TEXT}").filter(has_text="Second turn streams").wait_for(timeout=30_000)
    lab.wait_idle()
    page.locator(".jp-Notebook .jp-Cell").first.locator(".jp-InputPrompt").click()
    page.keyboard.press("Control+s")
    page.wait_for_selector(".jp-mod-current.jp-mod-dirty", state="detached", timeout=10_000)
    page.reload()
    page.wait_for_selector(WIDGET, timeout=60_000)
    assert page.locator(f"{WIDGET}[data-status=generating]").count() == 1  # still mid-turn
    wait_status(lab, "done")
    text = widget_text(lab)
    assert text.count("First turn.") == 1
    assert text.count("Second turn streams for a while.") == 8


def test_ipykernel6_kernel_is_really_ipykernel6(lab: Lab) -> None:
    """The parametrized tests would prove nothing if the second kernel quietly were the first one."""
    check = "import ipykernel, nbstream; print('ipykernel', ipykernel.version_info[0], nbstream.__file__)"
    lab.open(lab.write_notebook("which.ipynb", [check], IPYKERNEL6))
    lab.run_all()
    lab.wait_cell_output(0, "ipykernel 6")
    assert str(REPO / "nbstream") in lab.cell_output(0)
