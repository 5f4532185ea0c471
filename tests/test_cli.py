"""``python -m nbstream`` as a user runs it: a child process, its output read as text, Ctrl-C as a real SIGINT."""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from nbstream import (
    ImageData,
    ReasoningDelta,
    ToolCallReady,
    ToolCallStarted,
    ToolProgress,
    ToolResult,
    ToolRunning,
)
from nbstream._terminal import _split_blocks, _Turn, load_tools

REPO = Path(__file__).resolve().parents[1]
PNG_3X2_B64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAMAAAACCAIAAAASFvFNAAAAFUlEQVR4nGM8ISfHwMDAwMDAxAADABMuAQhqwGVhAAAAAElFTkSuQmCC"
)


def env(**extra: str) -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "COLUMNS": "100", **extra}


def nbstream(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nbstream", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env(**extra),
    )


def test_help_prints_usage_and_sends_nothing_to_a_model() -> None:
    run = nbstream("--help")
    assert run.returncode == 0
    for option in ("usage: python -m nbstream", "--model", "--system", "--tools", "MODULE:FUNCTION"):
        assert option in run.stdout
    assert "> --help" not in run.stdout and "slow_sum returned" not in run.stdout


def test_demo_turn_renders_markdown_and_puts_the_tool_result_on_its_own_line() -> None:
    run = nbstream("What is 2 + 3?")
    assert run.returncode == 0, run.stderr
    lines = [line.rstrip() for line in run.stdout.splitlines()]
    assert lines[0] == "> What is 2 + 3?"
    (result,) = [line for line in lines if line.startswith("✓ ")]
    assert result.startswith("✓ slow_sum(a=2, b=3) → 5")
    assert "slow_sum returned 5." in lines  # the answer, its **bold** and `code` rendered
    assert lines.index(result) < lines.index("slow_sum returned 5.")
    assert "**" not in run.stdout and "`" not in run.stdout
    assert lines[-1].startswith("done · 2 model responses · 1 tool call · ")
    assert "to first token" in lines[-1] and lines[-1].endswith("cost unknown")  # the turn's metrics
    assert run.stderr == ""


def test_tools_option_loads_functions_and_reports_bad_ones(tmp_path: Path) -> None:
    (tmp_path / "mytools.py").write_text(
        'def shout(text: str) -> str:\n    """Upper-case a text."""\n    return text.upper()\n'
    )
    run = nbstream(
        "--tools", "mytools:shout", 'shout "hello there"', PYTHONPATH=f"{tmp_path}{os.pathsep}{REPO}"
    )
    assert run.returncode == 0, run.stderr
    assert '✓ shout(text="hello there") → HELLO THERE' in run.stdout
    bad = nbstream("--tools", "mytools:nope", PYTHONPATH=f"{tmp_path}{os.pathsep}{REPO}")
    assert bad.returncode == 2 and "--tools: cannot load 'mytools:nope'" in bad.stderr
    assert "Traceback" not in bad.stderr
    with pytest.raises(ValueError, match="not module:function"):
        load_tools("json")


def test_a_missing_key_is_one_line_not_a_traceback() -> None:
    run = nbstream("--model", "anthropic:claude-x", "hi", ANTHROPIC_API_KEY="")
    assert run.returncode == 2
    assert "ANTHROPIC_API_KEY" in run.stdout and "Traceback" not in run.stdout + run.stderr


def test_ctrl_c_stops_the_turn_cleanly_with_status_130() -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "nbstream", "What is 2 + 3?"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    assert child.stdout is not None
    first = child.stdout.readline()  # the prompt line: the turn has started
    assert first.startswith("> What is 2 + 3?")
    time.sleep(1.0)  # mid-turn: slow_sum is running (2 s) and the text still streams
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=20)
    assert child.returncode == 130, out + err
    assert "stopped" in out and "slow_sum returned" not in out
    assert "Traceback" not in out + err and "KeyboardInterrupt" not in out + err


def test_split_blocks_never_cuts_inside_a_code_fence() -> None:
    assert _split_blocks("one\n\ntwo") == ("one", "two")
    assert _split_blocks("one\n\n```\na\n\nb") == ("one", "```\na\n\nb")
    assert _split_blocks("no blank line yet") == ("", "no blank line yet")


def test_what_a_tool_prints_shows_under_it_before_its_result(tmp_path: Path) -> None:
    (tmp_path / "noisy.py").write_text(
        "def add(a: int, b: int) -> int:\n"
        '    """Add two integers."""\n'
        '    print("adding", a, "and", b)\n'
        "    return a + b\n"
    )
    run = nbstream("--tools", "noisy:add", "What is 2 + 3?", PYTHONPATH=f"{tmp_path}{os.pathsep}{REPO}")
    assert run.returncode == 0, run.stderr
    lines = [line.rstrip() for line in run.stdout.splitlines()]
    printed = lines.index("  │ add: adding 2 and 3")
    assert printed < next(i for i, line in enumerate(lines) if line.startswith("✓ add(a=2, b=3) → 5"))


def test_a_tool_image_is_one_line_under_its_result(tmp_path: Path) -> None:
    (tmp_path / "pictures.py").write_text(
        "import base64\n"
        f"PNG = base64.b64decode({PNG_3X2_B64!r})\n"
        "def draw(n: int) -> list:\n"
        '    """Draw n pictures."""\n'
        '    return ["drawn", *[PNG] * n]\n'
    )
    run = nbstream("--tools", "pictures:draw", "draw 2", PYTHONPATH=f"{tmp_path}{os.pathsep}{REPO}")
    assert run.returncode == 0, run.stderr
    lines = [line.rstrip() for line in run.stdout.splitlines()]
    at = next(i for i, line in enumerate(lines) if line.startswith("✓ draw(n=2) → drawn"))
    assert lines[at + 1 : at + 3] == ["  🖼 image/png 3×2"] * 2


def test_the_running_line_shows_progress_and_reasoning_becomes_one_line() -> None:
    console = Console(record=True, width=120, force_terminal=False, color_system=None)
    turn = _Turn(console)

    def live() -> str:
        with console.capture() as captured:
            console.print(turn)
        return captured.get()

    turn.handle(ReasoningDelta(text="Hmm, "))
    assert "thinking… " in live()
    turn.handle(ReasoningDelta(text="two numbers."))
    turn.handle(ToolCallStarted(id="c1", name="fetch", position=0))
    assert "💭 thought for " in console.export_text() and "thinking" not in live()
    turn.handle(
        ToolCallReady(id="c1", name="fetch", position=0, arguments={"n": 4}, raw_arguments='{"n": 4}')
    )
    turn.handle(ToolRunning(id="c1", name="fetch", started_at=time.time()))
    assert "fetch(n=4)  running" in live() and "·" not in live()
    turn.handle(ToolProgress(id="c1", name="fetch", message="file 2 of 4", fraction=0.5))
    assert "· file 2 of 4 · ━━━━━━────── 50%" in live()
    turn.handle(ToolProgress(id="c1", name="fetch", fraction=0.75))  # no message: the last one stays
    assert "· file 2 of 4 · ━━━━━━━━━─── 75%" in live()
    turn.handle(ToolProgress(id="c1", name="fetch", message="checking"))  # no fraction: no bar
    assert live().rstrip().endswith("· checking")
    image = ImageData.from_bytes(base64.b64decode(PNG_3X2_B64))
    turn.handle(ToolResult(id="c1", name="fetch", output="ok", duration=1.0, images=[image]))
    assert "running" not in live()
    assert console.export_text().rstrip().endswith("✓ fetch(n=4) → ok  1.00 s\n  🖼 image/png 3×2")


def test_reasoning_is_one_line_per_step_before_its_answer() -> None:
    run = nbstream("--reasoning", "low", "What is 2 + 3?")
    assert run.returncode == 0, run.stderr
    lines = [line.rstrip() for line in run.stdout.splitlines()]
    thoughts = [i for i, line in enumerate(lines) if line.startswith("💭 thought for ")]
    assert len(thoughts) == 2, "one per model response"
    assert all(re.fullmatch(r"💭 thought for \d+\.\d s", lines[i]) for i in thoughts)
    assert (
        thoughts[0] < lines.index("Let me call slow_sum.") < thoughts[1] < lines.index("slow_sum returned 5.")
    )
    assert nbstream("--reasoning", "lots").returncode == 2
