"""StreamChat's lifecycle in a real JupyterLab: the kernel restarted or lost mid-turn, and the notebook's
interrupt button (■) while a turn runs, with and without a cell awaiting it (see nbstream/_interrupt.py).

The first tests are in-process checks of the SIGINT chaining; the rest drive JupyterLab and Chromium.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType

import pytest
from jupyter_lab import IPYKERNEL6, IPYKERNEL7, KERNELS, Lab
from widget_page import TEXT, WIDGET, cell

from nbstream import Say, ScriptedModel, StreamChat, _interrupt

DISCONNECTED = f"{WIDGET}[data-status=disconnected]"


# -- in-process: SIGINT while Python awaits or blocks on a turn ------------------------------------------------


@pytest.fixture
def quiet_sigint() -> Iterator[list[int]]:
    """A SIGINT handler that only records, as the handler the chat's own one must chain to."""
    seen: list[int] = []

    def record(signum: int, _frame: FrameType | None) -> None:
        seen.append(signum)

    previous = signal.signal(signal.SIGINT, record)
    try:
        yield seen
    finally:
        signal.signal(signal.SIGINT, previous)


LONG = [[Say("word " * 200, chunk=1, over=20.0)], [Say("Short.", chunk=1)]]


async def test_sigint_while_awaiting_stops_the_turn_and_ends_the_wait(quiet_sigint: list[int]) -> None:
    chat = StreamChat(ScriptedModel(LONG))
    try:
        handle = chat.send("talk")
        loop = asyncio.get_running_loop()
        loop.call_later(0.5, os.kill, os.getpid(), signal.SIGINT)
        started = time.monotonic()
        with pytest.raises(asyncio.CancelledError):
            await handle
        assert time.monotonic() - started < 1.5, "the wait ended when the signal came"
        assert quiet_sigint == [signal.SIGINT], "the previous handler still ran"
        await asyncio.wait_for(asyncio.wrap_future(handle._future), 5)  # the turn itself ends soon after
        assert handle.reason == "cancelled"
        # The chat takes the next turn.
        await asyncio.wait_for(chat.send("again"), 10)
    finally:
        chat.close()


def test_keyboard_interrupt_in_result_stops_the_turn(quiet_sigint: list[int]) -> None:
    chat = StreamChat(ScriptedModel(LONG))
    try:
        handle = chat.send("talk")
        signal.signal(signal.SIGINT, signal.default_int_handler)  # what ipykernel installs while a cell runs
        timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            handle.result(timeout=10)
        handle._future.result(timeout=5)
        assert handle.reason == "cancelled"
    finally:
        chat.close()


def test_chained_handler_never_restores_over_a_newer_one(quiet_sigint: list[int]) -> None:
    calls: list[str] = []
    with _interrupt._chained_sigint(lambda: calls.append("outer")):
        outer = signal.getsignal(signal.SIGINT)
        with _interrupt._chained_sigint(lambda: calls.append("inner")):
            inner = signal.getsignal(signal.SIGINT)
            assert callable(inner)
        assert signal.getsignal(signal.SIGINT) is outer
        signal.signal(signal.SIGINT, inner)  # someone re-installed a handler chained on ours
    assert signal.getsignal(signal.SIGINT) is inner, "left in place"
    assert callable(inner)
    inner(signal.SIGINT, None)
    assert calls == [], "both disarmed"
    assert quiet_sigint == [signal.SIGINT], "still forwards to the first handler"
    with _interrupt._chained_sigint(lambda: None):
        pass
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    with _interrupt._chained_sigint(lambda: None):
        assert signal.getsignal(signal.SIGINT) == signal.SIG_DFL, "never chained in front of SIG_DFL"


# -- browser: the kernel goes away mid-turn ---------------------------------------------------------------------

STUCK_TOOL_CHAT = cell(
    """
    import os, time
    from nbstream import Call, Say, ScriptedModel, StreamChat

    chat = StreamChat(ScriptedModel([
        [Say("Let me run the slow tool.", chunk=1, delay=0.02),
         Call("slow", {"seconds": 60}),
         Say(" Words keep coming while it runs. " * 20, chunk=1, over=60.0)],
    ]))

    @chat.tool
    def slow(seconds: float) -> str:
        \"\"\"Take a long time.\"\"\"
        time.sleep(seconds)
        return "done"

    print("pid", os.getpid())
    chat
    """
)

FROZEN_STATE = """() => {
  const root = document.querySelector('.nbstream');
  return {
    animations: root.getAnimations({ subtree: true }).filter((a) => a.playState === 'running').length,
    timer: root.querySelector('[data-nbstream=tool-timer]').textContent,
    status: root.querySelector('[data-nbstream=status]').textContent,
    text: root.querySelector('[data-nbstream=text]').textContent.length,
    disabled: ['send', 'stop', 'prompt'].map((h) => root.querySelector(`[data-nbstream=${h}]`).disabled),
  };
}"""


def start_stuck_turn(lab: Lab, name: str, kernel: str) -> None:
    """A turn whose tool runs (timer counting) while text streams and the status dot pulses."""
    lab.open(lab.write_notebook(name, [STUCK_TOOL_CHAT, 'handle = chat.send("go")'], kernel))
    lab.run_all()
    lab.page.wait_for_selector(f"{WIDGET} [data-nbstream=tool][data-state=running]", timeout=30_000)
    lab.page.locator(f"{WIDGET} {TEXT}").filter(has_text="Words keep coming").wait_for(timeout=20_000)
    lab.wait_idle()
    before = lab.page.evaluate(FROZEN_STATE)
    assert before["animations"] >= 1, "the status dot pulses while the turn runs"
    assert before["disabled"] == [False, False, False]  # Send queues while a turn runs (PromptBox)


def assert_frozen(lab: Lab) -> None:
    first = lab.page.evaluate(FROZEN_STATE)
    lab.page.wait_for_timeout(1200)
    second = lab.page.evaluate(FROZEN_STATE)
    assert first["animations"] == 0 and second["animations"] == 0, "nothing pulses"
    assert first["timer"] == second["timer"], f"the tool timer moved: {first['timer']} -> {second['timer']}"
    assert first["text"] == second["text"] > 0, "the text shown stays, and grows no more"
    assert "Re-run the cell" in second["status"], second["status"]
    assert second["disabled"] == [True, True, True]


def test_kernel_restart_mid_turn_shows_disconnected(lab: Lab) -> None:
    start_stuck_turn(lab, "restart.ipynb", IPYKERNEL7)
    lab.restart_kernel()
    restarted = time.monotonic()
    lab.page.wait_for_selector(DISCONNECTED, timeout=3_000)
    assert time.monotonic() - restarted < 3.0
    assert_frozen(lab)


def test_a_kernel_that_dies_mid_turn_shows_disconnected(lab: Lab) -> None:
    """The kernel process is killed (out of memory, a crash): the server notices within its poll interval
    (3 s) and restarts it, and the page learns of it as of a restart."""
    start_stuck_turn(lab, "killed.ipynb", IPYKERNEL6)
    pid = int(lab.cell_output(0).split("pid", 1)[1].split()[0])
    os.kill(pid, signal.SIGKILL)
    lab.page.wait_for_selector(DISCONNECTED, timeout=10_000)
    assert_frozen(lab)


# -- browser: the interrupt button while a turn runs ------------------------------------------------------------

INTERRUPTIBLE_CHAT = cell(
    """
    import time
    from nbstream import Call, Say, ScriptedModel, StreamChat

    chat = StreamChat(ScriptedModel([
        [Say("Starting a long job.", chunk=1, delay=0.02),
         Call("slow", {"seconds": 60}),
         Say(" This answer takes a long while to write. " * 30, chunk=1, over=40.0)],
        [Say("Short answer.", chunk=1, delay=0.02)],
    ]))

    @chat.tool
    def slow(seconds: float) -> str:
        \"\"\"Take a long time.\"\"\"
        time.sleep(seconds)
        return "done"

    chat
    """
)
FULL_LENGTH = len(" This answer takes a long while to write. " * 30)


def text_length(lab: Lab) -> int:
    return len(lab.page.locator(f"{WIDGET} {TEXT}").first.inner_text())


def assert_stopped_like_stop(lab: Lab) -> None:
    """Cancelled as by the Stop button: tool cancelled, partial text kept and no longer growing."""
    lab.page.wait_for_selector(f"{WIDGET}[data-status=cancelled]", timeout=3_000)
    tool = lab.page.locator(f"{WIDGET} [data-nbstream=tool][data-tool-name=slow]")
    assert tool.get_attribute("data-state") == "cancelled"
    kept = text_length(lab)
    assert "long while to write" in lab.page.locator(f"{WIDGET} {TEXT}").first.inner_text()
    lab.page.wait_for_timeout(800)
    assert text_length(lab) == kept < FULL_LENGTH


def wait_streaming(lab: Lab) -> None:
    lab.page.wait_for_selector(f"{WIDGET} [data-nbstream=tool][data-state=running]", timeout=30_000)
    lab.page.locator(f"{WIDGET} {TEXT}").filter(has_text="long while to write").wait_for(timeout=20_000)


@pytest.mark.parametrize("kernel", KERNELS)
def test_interrupt_ends_the_awaiting_cell_and_stops_the_turn(lab: Lab, kernel: str) -> None:
    lab.open(
        lab.write_notebook(f"await-{kernel}.ipynb", [INTERRUPTIBLE_CHAT, 'await chat.send("go")'], kernel)
    )
    lab.run_all()
    wait_streaming(lab)
    lab.interrupt_kernel()
    interrupted = time.monotonic()
    lab.wait_idle(timeout=3)  # the awaiting cell ended: no more [*]
    assert time.monotonic() - interrupted < 3.0
    # Either the wait was cancelled, or the stopped turn resolved the handle first (a race the ■ handler
    # cannot order): both end the cell at once with the turn stopped as Stop does.
    outputs = lab.page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".jp-OutputArea")
    outputs.filter(has_text=re.compile("CancelledError|AssistantMessage")).wait_for(timeout=3_000)
    assert_stopped_like_stop(lab)
    # The chat takes a new turn from the widget.
    lab.page.fill(f"{WIDGET} [data-nbstream=prompt]", "again")
    lab.page.click(f"{WIDGET} [data-nbstream=send]")
    lab.page.locator(f"{WIDGET} {TEXT}").filter(has_text="Short answer.").wait_for(timeout=20_000)


def test_interrupt_ends_a_cell_blocked_on_result(lab: Lab) -> None:
    lab.open(lab.write_notebook("result.ipynb", [INTERRUPTIBLE_CHAT, 'chat.send("go").result()'], IPYKERNEL6))
    lab.run_all()
    wait_streaming(lab)
    lab.interrupt_kernel()
    lab.wait_idle(timeout=3)
    lab.wait_cell_output(1, "KeyboardInterrupt", timeout=3)
    assert_stopped_like_stop(lab)


@pytest.mark.parametrize("kernel", KERNELS)
def test_interrupt_with_no_cell_running_stops_a_turn_sent_from_the_widget(lab: Lab, kernel: str) -> None:
    lab.open(lab.write_notebook(f"idle-{kernel}.ipynb", [INTERRUPTIBLE_CHAT], kernel))
    lab.run_all()
    prompt = lab.page.locator(f"{WIDGET} [data-nbstream=prompt]")
    prompt.wait_for()
    lab.wait_idle()
    prompt.fill("go")
    prompt.press("Enter")
    wait_streaming(lab)
    lab.wait_idle()
    lab.interrupt_kernel()
    assert_stopped_like_stop(lab)
