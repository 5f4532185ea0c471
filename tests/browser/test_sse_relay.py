"""examples/sse_relay in Chromium: the page's EventSource shows text while the 2 s tool runs, and a page that goes
away (Stop → ``EventSource.close()``, closing the tab, navigating elsewhere) cancels the turn on the server.

The app runs as the README says (``python examples/sse_relay/app.py``, with ``--debug`` for ``/debug/tools``,
the counts of ``slow_sum`` calls started / finished / cancelled) on 127.0.0.1, in its own process group.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_lab import REPO
from playwright.sync_api import Browser, Page

APP = REPO / "examples" / "sse_relay" / "app.py"
TOOL_SECONDS = 2.0  # the app's slow_sum

# Every change to the page, with what the answer and the (first) tool card showed at that moment.
RECORDER = """() => {
  window.__log = [];
  const answer = document.getElementById("answer");
  new MutationObserver(() => {
    const tool = document.querySelector("#tools li");
    window.__log.push({
      t: performance.now(),
      text: answer.textContent.length,
      tool: tool ? tool.dataset.state : null,
    });
  }).observe(document.querySelector("main"),
             {subtree: true, childList: true, characterData: true, attributes: true});
}"""


class Relay:
    def __init__(self, url: str) -> None:
        self.url = url

    def stats(self) -> dict[str, int]:
        with urllib.request.urlopen(f"{self.url}/debug/tools", timeout=5) as response:
            return dict(json.load(response))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relay]:
    port = _free_port()
    log = tmp_path_factory.mktemp("sse_relay") / "app.log"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, str(APP), "--port", str(port), "--debug"],
            env=env,
            cwd=REPO,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    relay = Relay(f"http://127.0.0.1:{port}")
    try:
        _wait_until_up(relay, process, log)
        yield relay
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def _wait_until_up(relay: Relay, process: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the relay exited:\n{log.read_text()}")
        try:
            relay.stats()
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise RuntimeError(f"the relay did not answer within {timeout} s:\n{log.read_text()}")


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"page errors: {errors}"


def _ask(page: Page, relay: Relay, prompt: str = "What is 2 + 3?") -> None:
    page.goto(f"{relay.url}/")
    page.evaluate(RECORDER)
    page.fill("#prompt", prompt)
    page.click("#send")


def test_text_streams_into_the_page_while_the_tool_runs(page: Page, relay: Relay) -> None:
    responses: list[dict[str, str]] = []
    page.on("response", lambda r: responses.append(r.headers) if "/chat?" in r.url else None)
    before = relay.stats()

    _ask(page, relay)
    page.wait_for_selector("#status[data-state=finished]", timeout=20_000)

    log: list[dict[str, Any]] = page.evaluate("window.__log")
    running = [entry for entry in log if entry["tool"] == "running"]
    assert running, "the tool card never showed the tool running"
    texts_while_running = sorted({entry["text"] for entry in running})
    assert len(texts_while_running) >= 5, texts_while_running  # the answer grew, update by update
    done_at = next(entry["t"] for entry in log if entry["tool"] == "done")
    assert done_at - running[0]["t"] > TOOL_SECONDS * 0.75  # it was a 2 s tool, shown running meanwhile
    assert next(entry for entry in log if entry["text"] > 0)["tool"] is None  # text came first, then the call

    assert page.inner_text("#status") == "Done."
    assert "returned `5`" in page.inner_text("#answer")
    assert page.inner_text("#tools li .tool-args") == '({"a":2,"b":3})'
    assert page.inner_text("#tools li .tool-state").startswith("→ 5")
    assert responses and responses[0]["content-type"] == "text/event-stream; charset=utf-8"
    assert responses[0]["cache-control"] == "no-cache" and responses[0]["x-accel-buffering"] == "no"
    after = relay.stats()
    assert (after["started"] - before["started"], after["finished"] - before["finished"]) == (1, 1)
    assert after["cancelled"] == before["cancelled"]


@pytest.mark.parametrize("leave", ["stop", "close_page", "navigate_away"])
def test_a_page_that_goes_away_cancels_the_turn_on_the_server(page: Page, relay: Relay, leave: str) -> None:
    before = relay.stats()
    _ask(page, relay)
    page.wait_for_selector("#tools li[data-state=running]", timeout=10_000)
    left_at = time.monotonic()
    if leave == "stop":
        page.click("#stop")  # EventSource.close()
        assert page.inner_text("#status") == "Stopped."
    elif leave == "close_page":
        page.close()
    else:
        page.goto("about:blank")

    deadline = left_at + TOOL_SECONDS * 0.75  # well before the tool would have returned by itself
    while (stats := relay.stats())["cancelled"] == before["cancelled"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stats["cancelled"] - before["cancelled"] == 1, stats
    assert stats["started"] - before["started"] == 1
    time.sleep(TOOL_SECONDS * 0.5)  # past the moment the tool would have finished
    assert relay.stats()["finished"] == before["finished"]
