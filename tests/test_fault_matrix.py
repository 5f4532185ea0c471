"""The fault matrix: every fault × every wire format through real loopback HTTP, each outcome as declared."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest

from nbstream._providers import WIRE_FORMATS, WireFormat
from nbstream.testing import matrix
from nbstream.testing.matrix import FAULTS, Expected, Row, run_case, table


@pytest.mark.parametrize(
    ("wire", "row"),
    [pytest.param(wire, row, id=f"{wire}:{row.name}") for row in FAULTS for wire in WIRE_FORMATS],
)
async def test_each_fault_on_each_wire_ends_as_the_table_says(wire: WireFormat, row: Row) -> None:
    outcome = await run_case(wire, row)
    assert outcome.ok, "\n".join([f"{row.name} × {wire} ({row.note or 'no note'}):", *outcome.problems])


def test_the_matrix_covers_every_fault_the_issue_names() -> None:
    names = " | ".join(row.name for row in FAULTS)
    for fault in (
        "none", "latency", "re-chunked", "duplicated", "replayed", "dropped", "stalled", "malformed",
        "truncated", "provider error", "401", "404", "429", "500", "503", "529", "slow headers",
        "id-less calls in two responses", "one id, new arguments", "one id, two calls", "whole arguments",
        "not a stream", "redirect", "oversized line", "failed turn, then a good one", "token limit",
        "reasoning, then a call", "dropped mid-reasoning",
    ):  # fmt: skip
        assert fault in names
    assert len({row.name for row in FAULTS}) == len(FAULTS)


async def test_the_checks_catch_every_way_an_outcome_can_be_wrong() -> None:
    """A clean run judged against a wrong expectation fails on each dimension, so a pass means something."""
    clean = next(row for row in FAULTS if row.name == "none")
    wrong = Expected("error", "stalled", "nothing like this", text="partial", tool="incomplete", requests=1)
    outcome = await run_case("anthropic", replace(clean, expect=wrong))
    assert not outcome.ok
    found = "\n".join(outcome.problems)
    for symptom in (
        "expected error/stalled, got done",
        "does not name anthropic",
        "does not say /nothing like this/",
        "streamed text",
        "the history keeps text",
        "expected an incomplete call that never ran",
        "the server got 2 requests, expected 1",
    ):
        assert symptom in found
    slow = replace(clean, expect=Expected("done", max_seconds=0.0))
    assert any("took" in problem for problem in (await run_case("ollama", slow)).problems)


async def test_the_reasoning_checks_catch_reasoning_lost_or_invented() -> None:
    """The reasoning row judged as if nothing was thought, and the drop row as if all of it arrived."""
    reasoned = next(row for row in FAULTS if row.name == "reasoning, then a call")
    outcome = await run_case("openai-responses", replace(reasoned, expect=Expected("done", reasoning="none")))
    assert "streamed reasoning" in "\n".join(outcome.problems)
    assert "the history keeps reasoning" in "\n".join(outcome.problems)
    dropped = next(row for row in FAULTS if row.name == "dropped mid-reasoning")
    everything = replace(dropped.expected("ollama"), reasoning="all")
    problems = (await run_case("ollama", replace(dropped, expect=everything))).problems
    assert any(problem.startswith("streamed reasoning") for problem in problems)


def test_a_wrong_outcome_makes_the_command_fail(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean = next(row for row in FAULTS if row.name == "none")
    monkeypatch.setattr(
        matrix, "FAULTS", [clean, replace(clean, name="wrongly expected", expect=Expected("max_steps"))]
    )
    assert matrix.main(["--wire", "ollama"]) == 1
    printed = capsys.readouterr().out
    assert "FAIL wrongly expected × ollama" in printed
    assert "1/2 outcomes as expected" in printed
    assert matrix.main(["--wire", "ollama", "--fault", "none"]) == 0


def test_the_command_prints_every_wire_and_fault_and_exits_zero() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nbstream.testing.matrix"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = done.stdout.splitlines()
    for row in FAULTS:
        for wire in WIRE_FORMATS:
            matching = [line for line in lines if line.startswith(row.name + "  ") and f"  {wire}  " in line]
            assert len(matching) == 1, (row.name, wire)
            assert matching[0].split()[-1] in ("ok", "FAIL")
    cases = len(FAULTS) * len(WIRE_FORMATS)
    assert f"{cases}/{cases} outcomes as expected" in done.stdout, done.stdout[-3000:]
    assert done.returncode == 0
    assert table([]).startswith("fault")
