"""README.md's examples run as written: every Python block, in order, as cells of one notebook in a real kernel.

A reader pastes the blocks into JupyterLab one after another, so the test does the same (nbclient, a real
ipykernel) and then checks what the reader should see: the widget displayed, the demo model calling slow_sum
and answering 5 through both the widget and ``Session``. A block that cannot run offline is skipped on purpose,
by name and with a reason, below; a skip that no longer matches exactly one block fails the test.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()

# A text each skipped block contains (and no other block does) → why the block cannot run here.
SKIPPED = {
    "parse_stream(": "needs `captured_bytes`, bytes the reader captured from a real provider",
    "ProviderServer([[": "a sketch around the reader's own `get_weather` tool; tests/test_testing_server.py runs it",
    'MCPServer(url="https://example.com': (
        "starts examples/mcp_server.py from the repository's root; tests/test_mcp.py and notebooks/mcp_tools.ipynb"
        " run it"
    ),
}

CHECK = """
import json
from nbstream import ToolResultMessage
found = {
    "chat": [(m.name, m.content) for m in chat.messages if isinstance(m, ToolResultMessage)],
    "session": [(m.name, m.content) for m in session.messages if isinstance(m, ToolResultMessage)],
    "chat_answer": chat.messages[-1].text,
    "tools": sorted(chat.session.tools.names),
}
print("README-CHECK " + json.dumps(found))
"""


def blocks(language: str) -> list[str]:
    return [textwrap.dedent(b) for b in re.findall(rf"^```{language}\n(.*?)^```", README, re.M | re.S)]


def runnable() -> list[str]:
    return [b for b in blocks("python") if not any(key in b for key in SKIPPED)]


def test_each_skip_names_exactly_one_block() -> None:
    for key, reason in SKIPPED.items():
        assert sum(key in b for b in blocks("python")) == 1, (
            f"skip {key!r} ({reason}) matches no single block"
        )
    assert len(runnable()) >= 3


def test_readme_python_blocks_run_in_a_kernel_and_the_tool_answers_5(tmp_path: Path) -> None:
    cells = [nbformat.v4.new_code_cell(source) for source in [*runnable(), CHECK]]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "IPYTHONDIR": str(tmp_path / "ipython"),
    }
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute(env=env)

    first = nb.cells[0].outputs
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in first), (
        "the first example must display the widget"
    )
    (line,) = [
        text
        for cell in nb.cells
        for output in cell.outputs
        for text in output.get("text", "").splitlines()
        if text.startswith("README-CHECK ")
    ]
    found = json.loads(line.removeprefix("README-CHECK "))
    assert found["chat"] == [["slow_sum", "5"]], "the widget's turn must run slow_sum(2, 3)"
    assert found["session"] == [["slow_sum", "5"]], "the Session example must run slow_sum(2, 3)"
    assert "5" in found["chat_answer"]
    assert found["tools"] == ["slow_sum", "word_count"]  # the "Writing tools" block registered its tool
    session_output = "".join(o.get("text", "") for o in nb.cells[1].outputs)
    assert "type='tool_result'" in session_output and "output='5'" in session_output
    assert "type='turn_finished' reason='done'" in session_output


def test_readme_gives_the_test_command_that_ci_runs() -> None:
    ci = (REPO / ".ci" / "run").read_text()
    commands = [line.split("#")[0].strip() for b in blocks("bash") for line in b.splitlines()]
    assert "./dev test" in commands and "./dev demo" in commands
    assert re.search(r"^\./dev test\b", ci, re.M), ".ci/run must run README's test command"
    assert re.search(r"^\./dev lint\b", ci, re.M)


@pytest.mark.parametrize("name", ["dev", ".ci/run"])
def test_scripts_are_executable(name: str) -> None:
    assert os.access(REPO / name, os.X_OK)


def test_readme_node_minimum_is_the_lockfiles() -> None:
    """README says which node the build takes from the PATH (≥ 20.19); the hook reads it off the lockfile."""
    import hatch_build

    ranges = hatch_build.node_ranges()
    assert "(≥ 20.19)" in README
    assert all(hatch_build.satisfies((20, 19, 0), r) for r in ranges)
    assert not all(hatch_build.satisfies((20, 18, 9), r) for r in ranges)
    assert not all(hatch_build.satisfies((18, 19, 0), r) for r in ranges)  # Debian 12's nodejs
    wheel_major = int(hatch_build.NODE_WHEEL.split("~=")[1].split(".")[0])
    assert all(hatch_build.satisfies((wheel_major, 0, 0), r) for r in ranges)
