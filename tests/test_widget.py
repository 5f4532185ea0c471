"""StreamChat on the Python side: what it sends, when, from which thread, and what it never sends.

No kernel here: the widget's comm is a recording comm (``comm.create_comm`` patched), which serializes every
message with the kernel's own packer (``jupyter_client.session.json_packer``), so what it refuses fails here
too. The real comm, kernel and page are covered by tests/browser/.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.session import json_packer
from widget_comm import recorder

from nbstream import (
    Call,
    Event,
    ImageData,
    Progress,
    Say,
    ScriptedModel,
    StreamChat,
    StreamError,
    Think,
    TokenLimit,
    ToolArgumentsDelta,
    ToolCallReady,
    TurnFinished,
    UserMessage,
)
from nbstream._background import SHARED_LOOP_NAME
from nbstream._display import ReasoningTimer, cap_images, compact, merge_batch, user_prompt
from nbstream._metrics import ChatMetrics
from nbstream._page_link import FLUSH_INTERVAL
from nbstream._widget import TurnHandle

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.usefixtures("recording_comms")  # every widget here records what it sends


def from_browser(chat: StreamChat, content: dict[str, Any]) -> None:
    """Deliver a custom message the way a kernel would, on a thread that is not the widget's (a subshell)."""
    message = {
        "content": {"comm_id": chat.comm.comm_id, "data": {"method": "custom", "content": content}},
        "buffers": [],
    }
    thread = threading.Thread(target=chat.comm.handle_msg, args=(message,), name="fake-subshell")
    thread.start()
    thread.join()


def attach(chat: StreamChat) -> None:
    """What a page's store says once it listens (from ``initialize``): commits may now go as messages."""
    from_browser(chat, {"type": "attach"})


def sent_events(contents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [event for content in contents if content["type"] == "events" for event in content["events"]]


def text_of(events: list[dict[str, Any]]) -> str:
    return "".join(event["text"] for event in events if event["type"] == "text_delta")


async def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.01)


PNG_3X2 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAMAAAACCAIAAAASFvFNAAAAFUlEQVR4nGM8ISfHwMDAwMDAxAADABMuAQhqwGVhAAAAAElFTkSuQmCC"
)
"""A 3×2 red PNG."""

LOREM = (
    "Streaming **markdown** arrives in small pieces, and every piece must reach the page exactly once, "
    "in order, whatever the batching does to it. "
)


async def test_batches_reassemble_the_text_exactly_at_a_modest_rate(
    make_chat: Callable[..., StreamChat],
) -> None:
    text = LOREM * 6
    chat = make_chat(ScriptedModel([[Say(text, chunk=1, over=0.8)]]))
    handle = chat.send("go")
    started = time.monotonic()
    message = await handle
    elapsed = time.monotonic() - started

    contents = recorder(chat).custom()
    batches = [c for c in contents if c["type"] == "events"]
    events = sent_events(contents)
    deltas = len(Say(text, chunk=1).deltas())
    assert text_of(events) == text
    assert message is not None and message.text == text
    assert events[0] == {"type": "user_prompt", "text": "go"}
    assert events[-1]["type"] == "turn_finished" and events[-1]["reason"] == "done"
    # Batched: several messages while it streams, far fewer than deltas, at most ~1 per flush interval.
    assert 3 <= len(batches) < deltas / 3
    assert len(batches) / elapsed < 50
    assert len(batches) <= elapsed / FLUSH_INTERVAL + 3
    # Within a batch, a run of text is one event.
    for batch in batches:
        kinds = [event["type"] for event in batch["events"]]
        assert all(not (a == b == "text_delta") for a, b in zip(kinds, kinds[1:], strict=False))


async def test_bytes_grow_linearly_with_the_response(make_chat: Callable[..., StreamChat]) -> None:
    async def bytes_for(text: str, seconds: float) -> int:
        chat = make_chat(ScriptedModel([[Say(text, chunk=1, over=seconds)]]))
        before = sum(s.size for s in recorder(chat).records())
        await chat.send("go")
        return sum(s.size for s in recorder(chat).records()) - before

    # A turn's fixed bytes (its prompt, status, footer, commit) are measured on a one-line reply and left out:
    # what grows with the reply must grow as the reply does (40 vs 10 lines: 39/9 of the one-line turn's extra).
    base = await bytes_for(LOREM, 0.03)
    short = await bytes_for(LOREM * 10, 0.3) - base
    long = await bytes_for(LOREM * 40, 1.2) - base
    assert 3 * short < long < 6 * short, (base, short, long)  # the text is sent: the measure is not vacuous


async def test_tools_and_text_in_the_transcript_compacted_once_at_turn_end(
    make_chat: Callable[..., StreamChat],
) -> None:
    chat = make_chat(
        ScriptedModel(
            [
                [
                    Say("Let me add.", chunk=1, delay=0.01),
                    Call("add", {"a": 2, "b": 3}, fragment=2, delay=0.01),
                ],
                [Say("The sum is 5, as the tool said.", chunk=1, delay=0.01)],
            ]
        )
    )

    @chat.tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    handle = chat.send("add 2 and 3")
    await wait_for(lambda: len(sent_events(recorder(chat).custom())) > 3)
    assert chat.transcript == []  # nothing committed mid-turn
    await handle

    transcript = chat.transcript
    kinds = [event["type"] for event in transcript]
    assert kinds[0] == "user_prompt" and kinds[-1] == "turn_finished"
    assert "tool_arguments_delta" not in kinds  # tool_call_ready carries raw_arguments
    assert all(not (a == b == "text_delta") for a, b in zip(kinds, kinds[1:], strict=False))
    assert text_of(transcript) == "Let me add.The sum is 5, as the tool said."
    ready = next(event for event in transcript if event["type"] == "tool_call_ready")
    assert ready["arguments"] == {"a": 2, "b": 3} and json.loads(ready["raw_arguments"]) == {"a": 2, "b": 3}
    result = next(event for event in transcript if event["type"] == "tool_result")
    assert result["output"] == "5"
    # The live stream carried the argument fragments, without the O(n) `partial` preview.
    live_args = [e for e in sent_events(recorder(chat).custom()) if e["type"] == "tool_arguments_delta"]
    assert live_args and all("partial" not in e for e in live_args)
    # No page listens (headless, as under nbclient): one whole-transcript update for the turn, from the loop.
    commits = [s for s in recorder(chat).updates() if "transcript" in s.data["state"]]
    assert len(commits) == 1
    assert commits[0].thread == SHARED_LOOP_NAME
    assert commits[0].data["state"]["transcript"] == transcript
    assert chat.status == "done" and handle.reason == "done"


async def test_ready_mid_turn_is_answered_with_the_turn_so_far(make_chat: Callable[..., StreamChat]) -> None:
    text = LOREM * 4
    chat = make_chat(ScriptedModel([[Say(text, chunk=1, over=1.0)]]))
    handle = chat.send("first")
    await wait_for(lambda: len(text_of(sent_events(recorder(chat).custom()))) > 40)
    from_browser(chat, {"type": "ready"})
    await wait_for(lambda: any(c["type"] == "live" for c in recorder(chat).custom()))
    await handle

    contents = recorder(chat).custom()
    at = next(i for i, c in enumerate(contents) if c["type"] == "live")
    live = contents[at]
    assert live["transcript_length"] == 0
    assert live["events"][0] == {"type": "user_prompt", "text": "first"}
    # The snapshot holds exactly what was sent before it; what follows it continues it, without overlap.
    assert text_of(live["events"]) == text_of(sent_events(contents[:at]))
    assert 0 < len(text_of(live["events"])) < len(text)
    assert text_of(live["events"]) + text_of(sent_events(contents[at + 1 :])) == text

    # Between turns, a new view is told that nothing is in progress.
    from_browser(chat, {"type": "ready"})
    await wait_for(lambda: sum(c["type"] == "live" for c in recorder(chat).custom()) == 2)
    last = [c for c in recorder(chat).custom() if c["type"] == "live"][-1]
    assert last == {"type": "live", "transcript_length": len(chat.transcript), "events": []}


async def test_stop_mid_turn_cancels_and_the_chat_stays_usable(make_chat: Callable[..., StreamChat]) -> None:
    chat = make_chat(
        ScriptedModel(
            [
                [Say(LOREM * 10, chunk=1, over=20.0)],
                [Say("Fine, ", chunk=1), Call("nap", {}), Say("napping...")],
                [Say("Again.", chunk=1)],
            ]
        )
    )

    @chat.tool
    async def nap() -> str:
        """Sleep a long time."""
        await asyncio.sleep(30)
        return "rested"

    handle = chat.send("talk for long")
    await wait_for(lambda: bool(text_of(sent_events(recorder(chat).custom()))))
    started = time.monotonic()
    from_browser(chat, {"type": "stop"})
    await handle
    assert time.monotonic() - started < 2
    assert handle.reason == "cancelled" and chat.status == "cancelled"

    # Stop while an async tool runs: the tool is cancelled and the turn ends promptly.
    handle = chat.send("nap")
    await wait_for(lambda: any(e["type"] == "tool_running" for e in sent_events(recorder(chat).custom())))
    await wait_for(lambda: chat.status in ("generating", "waiting_tools"))
    chat.stop()
    chat.stop()  # idempotent
    await asyncio.wait_for(asyncio.ensure_future(_await(handle)), 5)
    assert handle.reason == "cancelled"
    errors = [e for e in handle.events if e.type == "tool_error"]
    assert [e.kind for e in errors] == ["cancelled"]

    handle = chat.send("again")
    message = await handle
    assert handle.reason == "done" and chat.status == "done"
    assert message is not None and message.text == "Again."


async def _await(handle: TurnHandle) -> Any:
    return await handle


async def test_sends_while_busy_are_queued_in_order_and_stop_drops_them(
    make_chat: Callable[..., StreamChat],
) -> None:
    chat = make_chat(
        ScriptedModel(
            [
                [Say("one", delay=0.2)],
                [Say("two")],
                [Say("three", delay=10)],
            ]
        )
    )
    first, second = chat.send("1"), chat.send("2")
    assert not second.done()
    assert (await first).text == "one"  # type: ignore[union-attr]
    assert (await second).text == "two"  # type: ignore[union-attr]
    prompts = [e["text"] for e in chat.transcript if e["type"] == "user_prompt"]
    assert prompts == ["1", "2"]

    third, fourth = chat.send("3"), chat.send("4")
    await wait_for(lambda: chat.status == "generating")
    chat.stop()
    await third
    await fourth
    assert third.reason == fourth.reason == "cancelled"
    assert fourth.events == [] and fourth.result() is None  # it never started
    assert len(chat.messages) == 5  # 1, one, 2, two, 3 (the cancelled turn keeps its prompt)


async def test_browser_send_and_approval_from_other_threads(make_chat: Callable[..., StreamChat]) -> None:
    chat = make_chat(
        ScriptedModel(
            [
                [Say("Deleting."), Call("delete", {"path": "a.txt"}), Call("delete", {"path": "b.txt"})],
                [Say("Done.")],
            ]
        )
    )
    deleted: list[str] = []

    @chat.tool(confirm=True)
    def delete(path: str) -> str:
        """Delete a file."""
        deleted.append(path)
        return f"deleted {path}"

    from_browser(chat, {"type": "send", "prompt": "delete both"})
    await wait_for(lambda: chat.status == "awaiting_approval")
    await wait_for(
        lambda: (
            len([e for e in sent_events(recorder(chat).custom()) if e["type"] == "tool_awaiting_approval"])
            == 2
        )
    )
    awaiting = [e for e in sent_events(recorder(chat).custom()) if e["type"] == "tool_awaiting_approval"]
    from_browser(chat, {"type": "approve", "id": awaiting[0]["id"]})
    from_browser(chat, {"type": "deny", "id": awaiting[1]["id"]})
    from_browser(chat, {"type": "approve", "id": "no-such-call"})  # a stale click: reported, not fatal
    await wait_for(lambda: chat.status == "done")
    assert deleted == ["a.txt"]
    kinds = {e["id"]: e["type"] for e in chat.transcript if e["type"] in ("tool_result", "tool_error")}
    assert kinds == {awaiting[0]["id"]: "tool_result", awaiting[1]["id"]: "tool_error"}
    # Malformed browser messages are ignored.
    for junk in (None, "send", {"type": "send"}, {"type": "send", "prompt": 3}, {"type": "approve"}):
        from_browser(chat, junk)  # type: ignore[arg-type]
    assert chat.status == "done" and len(chat.messages) == 5


async def test_async_tools_run_on_the_widget_thread_sync_tools_elsewhere(
    make_chat: Callable[..., StreamChat],
) -> None:
    chat = make_chat(ScriptedModel([[Call("where_async", {}), Call("where_sync", {})], [Say("ok")]]))
    threads: dict[str, str] = {}

    @chat.tool
    async def where_async() -> str:
        """Report the thread."""
        threads["async"] = threading.current_thread().name
        return "a"

    @chat.tool
    def where_sync() -> str:
        """Report the thread."""
        threads["sync"] = threading.current_thread().name
        return "s"

    await chat.send("where")
    assert threads["async"] == SHARED_LOOP_NAME
    assert threads["sync"] not in (SHARED_LOOP_NAME, threading.current_thread().name)


async def test_a_failing_turn_is_a_named_error_state(make_chat: Callable[..., StreamChat]) -> None:
    chat = make_chat(ScriptedModel([[Say("only one turn")]]))
    await chat.send("one")
    handle = chat.send("two")  # the script has no second turn: the stream fails
    message = await handle
    assert handle.reason == "error" and chat.status == "error"
    assert "no step 2" in chat.status_message
    assert message is None, "a response that said nothing is not kept as an (empty) assistant message"
    assert any(isinstance(event, StreamError) and "no step 2" in event.message for event in handle.events)
    assert [m.role for m in chat.messages] == ["user", "assistant", "user"]
    assert chat.transcript[-1]["type"] == "turn_finished" and chat.transcript[-1]["reason"] == "error"


async def test_clear_forgets_history_and_transcript(make_chat: Callable[..., StreamChat]) -> None:
    chat = make_chat(ScriptedModel([[Say("hello")], [Say("again")]]))
    await chat.send("hi")
    assert chat.transcript and chat.messages
    chat.clear()
    await wait_for(lambda: {"type": "cleared"} in recorder(chat).custom())
    assert chat.transcript == [] and chat.messages == [] and chat.status == "idle"
    assert (await chat.send("hi again")).text == "again"  # type: ignore[union-attr]


async def test_result_blocks_without_the_kernel_loop(make_chat: Callable[..., StreamChat]) -> None:
    chat = make_chat(ScriptedModel([[Say("blocking is fine", chunk=1, delay=0.02)]]))
    handle = chat.send("go")
    # Blocking this loop (as a cell doing result() would) does not stop the turn: it has its own thread.
    message = handle.result(timeout=10)
    assert message is not None and message.text == "blocking is fine"
    assert handle.done() and "done" in repr(handle)


SECRET = "sk-test-NBSTREAM-DO-NOT-LEAK-1234"


@pytest.mark.parametrize("via", ["argument", "environment"])
async def test_no_secret_in_traits_reprs_or_messages(
    via: str, make_chat: Callable[..., StreamChat], monkeypatch: pytest.MonkeyPatch
) -> None:
    options: dict[str, Any] = {"base_url": "http://user:hunter2-pw@127.0.0.1:9/v1", "max_retries": 0}
    if via == "argument":
        options["api_key"] = SECRET
    else:
        monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    chat = make_chat("openai:gpt-4.1-mini", **options)
    handle = chat.send("hello")  # nothing listens on port 9: the turn fails, with an error message
    await handle
    assert chat.status == "error" and chat.status_message
    assert chat.model_label == "openai:gpt-4.1-mini"
    everything = [repr(chat), repr(handle), json.dumps(chat.get_state(), default=str)]
    everything += [json.dumps(s.data) for s in recorder(chat).records()]
    for blob in everything:
        assert SECRET not in blob
        assert "hunter2-pw" not in blob
    assert len(repr(chat)) < 120
    assert set(chat.keys) - {
        "_esm",
        "_css",
        "_anywidget_id",
        "_dom_classes",
        "layout",
        "tabbable",
        "tooltip",
    } == {
        "_model_module",
        "_model_module_version",
        "_model_name",
        "_view_count",
        "_view_module",
        "_view_module_version",
        "_view_name",
        "transcript",
        "status",
        "status_message",
        "model_label",
        "view",
        "show_reasoning",
    }


def test_a_missing_bundle_says_how_to_build_it(tmp_path: Path) -> None:
    package = tmp_path / "nbstream"
    subprocess.run(
        ["cp", "-r", str(REPO / "nbstream"), str(package)],
        check=True,
    )
    subprocess.run(["rm", "-rf", str(package / "static")], check=True)
    run = subprocess.run(
        [sys.executable, "-c", "import nbstream; nbstream.StreamChat()"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode != 0
    assert "FrontendMissingError" in run.stderr
    assert "python hatch_build.py" in run.stderr


class ClosingModel(ScriptedModel):
    """A scripted model that records when its (HTTP-client-like) resources are closed."""

    closed = 0

    async def aclose(self) -> None:
        self.closed += 1


def test_close_closes_the_session_but_not_the_shared_loop(make_chat: Callable[..., StreamChat]) -> None:
    model = ClosingModel([[Say("x")]])
    chat = make_chat(model)
    loop_thread = chat._runner._thread
    chat.close()
    chat.close()
    assert model.closed == 1
    with pytest.raises(RuntimeError, match="closed"):
        chat.send("again")
    assert loop_thread is not None and loop_thread.is_alive()
    other = make_chat(ScriptedModel([[Say("still here")]]))
    assert other._runner._thread is loop_thread
    message = other.send("hi").result(timeout=10)
    assert message is not None and message.text == "still here"


async def test_rerunning_a_chat_cell_ten_times_leaves_no_more_threads_than_once(
    make_chat: Callable[..., StreamChat],
) -> None:
    """``chat = StreamChat(...)`` run again keeps the old chat alive (ipywidgets holds every widget until it is
    closed), so each chat's thread and loop used to stay: ten re-runs, ten threads."""

    def word_count(text: str) -> int:
        """Count words."""
        return len(text.split())

    async def run_cell() -> StreamChat:
        chat = make_chat(
            ScriptedModel([[Call("word_count", {"text": "a b c"})], [Say("three")]]), tools=[word_count]
        )
        assert (await chat.send("count")).text == "three"  # type: ignore[union-attr]
        return chat

    first = await run_cell()
    threads_after_one = threading.active_count()
    chats = [await run_cell() for _ in range(10)]
    await wait_for(lambda: threading.active_count() <= threads_after_one, timeout=5)  # def tools' threads end
    assert threading.active_count() <= threads_after_one
    assert {chat._runner.loop for chat in chats} == {first._runner.loop}
    assert sum(t.name == SHARED_LOOP_NAME for t in threading.enumerate()) == 1


async def test_timeline_of_a_turn_shows_text_flowing_while_the_tool_runs(
    make_chat: Callable[..., StreamChat],
) -> None:
    async def nap() -> str:
        """Sleep a little."""
        await asyncio.sleep(0.6)
        return "rested"

    chat = make_chat(
        ScriptedModel([[Call("nap", {}), Say("still talking " * 20, chunk=1, over=1.0)], [Say("done")]]),
        tools=[nap],
    )
    with pytest.raises(RuntimeError, match="no turn yet"):
        chat.timeline()
    await chat.send("go")
    timeline = chat.timeline()
    (span,) = timeline.tools
    assert (span.name, span.state) == ("nap", "done")
    assert span.duration == pytest.approx(0.6, abs=0.25)
    assert timeline.text_during_tools() >= 5
    assert 'data-nbstream="tool"' in timeline._repr_html_()


def test_the_chat_computes_no_argument_previews_unless_asked(make_chat: Callable[..., StreamChat]) -> None:
    """The page never shows ``partial`` and a turn keeps none: computing one per fragment would be waste."""
    assert make_chat(ScriptedModel([])).session.previews is False
    assert make_chat(ScriptedModel([]), previews=True).session.previews is True


async def test_a_turn_keeps_one_arguments_delta_per_call_readable_from_any_thread(
    make_chat: Callable[..., StreamChat],
) -> None:
    arguments = {"text": "many small fragments " * 30}
    raw = Call("count", arguments).raw_arguments
    chat = make_chat(
        ScriptedModel(
            [[Say("Counting.", chunk=1), Call("count", arguments, fragment=4, delay=0.002)], [Say("Done.")]]
        )
    )

    @chat.tool
    def count(text: str) -> int:
        """Count words.

        Args:
            text: the text
        """
        return len(text.split())

    handle = chat.send("count")
    snapshots: list[list[Event]] = []

    def read_until_done() -> None:
        while not handle.done():
            snapshots.append(handle.events)
            time.sleep(0.001)

    reader = threading.Thread(target=read_until_done)
    reader.start()
    await handle
    reader.join()

    # Mid-turn reads are whole lists of real events: the arguments so far, as one delta.
    seen = []
    for snapshot in snapshots:
        deltas = [event for event in snapshot if isinstance(event, ToolArgumentsDelta)]
        assert len(deltas) <= 1
        seen.append("".join(delta.fragment for delta in deltas))
        assert raw.startswith(seen[-1])
    assert any(0 < len(so_far) < len(raw) for so_far in seen), "a read landed while the arguments streamed"

    events, arrivals = handle.events, handle.arrivals
    assert len(arrivals) == len(events) and arrivals == sorted(arrivals)
    (delta,) = [event for event in events if isinstance(event, ToolArgumentsDelta)]
    (ready,) = [event for event in events if isinstance(event, ToolCallReady)]
    assert delta.fragment == raw and delta.partial is None
    assert delta.fragment is ready.raw_arguments  # the arguments are kept once
    assert arrivals[events.index(delta)] < arrivals[events.index(ready)]
    # The page still got the fragments as they came.
    live = [e for e in sent_events(recorder(chat).custom()) if e["type"] == "tool_arguments_delta"]
    assert len(live) > 1 and "".join(e["fragment"] for e in live) == raw
    assert handle.timeline().tools[0].state == "done"


def _deliver(chat: StreamChat, content: dict[str, Any], after: float = 0.0) -> threading.Thread:
    """Start delivering a browser message on its own thread (a subshell), ``after`` seconds from now."""

    def deliver() -> None:
        if after:
            time.sleep(after)
        message = {
            "content": {"comm_id": chat.comm.comm_id, "data": {"method": "custom", "content": content}},
            "buffers": [],
        }
        chat.comm.handle_msg(message)

    thread = threading.Thread(target=deliver, name="fake-subshell")
    thread.start()
    return thread


async def test_300_stops_racing_a_send_never_wedge_the_chat(make_chat: Callable[..., StreamChat]) -> None:
    """Stop at every moment of a turn's start (mostly between send and the turn's first step): from the notebook
    thread, from a browser-message thread racing a notebook send, and with both Send and Stop clicked in the
    page. Every handle resolves, each race ends done or cancelled, and a later turn runs."""
    chat = make_chat(ScriptedModel([[Say("x", delay=0.01)]] * 301))
    outcomes: dict[str, int] = {}
    for race in range(300):
        pause = race // 3 % 25
        if race % 3 == 0:  # Send and Stop from the notebook, a few loop iterations apart
            handle = chat.send("go")
            for _ in range(pause):
                await asyncio.sleep(0)
            chat.stop()
        elif race % 3 == 1:  # Send from the notebook, Stop clicked in the page meanwhile
            stopper = _deliver(chat, {"type": "stop"}, after=pause * 0.0002)
            handle = chat.send("go")
            await asyncio.to_thread(stopper.join)
        else:  # Send and Stop both clicked in the page, handled on two threads
            sender = _deliver(chat, {"type": "send", "prompt": "go"})
            stopper = _deliver(chat, {"type": "stop"}, after=pause * 0.0002)
            await asyncio.to_thread(sender.join)
            await asyncio.to_thread(stopper.join)
            assert chat._last_handle is not None
            handle = chat._last_handle
        await asyncio.wait_for(_await(handle), 5)
        assert handle.reason in ("cancelled", "done"), race
        assert sum(event.type == "turn_finished" for event in handle.events) <= 1
        await wait_for(lambda: chat.status in ("idle", "done", "cancelled"), timeout=5)
        outcomes[handle.reason] = outcomes.get(handle.reason, 0) + 1
    assert outcomes.get("cancelled", 0) > 100, outcomes  # the races did land before the turns ended
    handle = chat.send("still there?")
    message = await asyncio.wait_for(_await(handle), 5)
    assert handle.reason == "done" and chat.status == "done"
    assert message is not None and message.text == "x"


async def test_close_returns_promptly_when_a_tool_ignores_cancellation(
    make_chat: Callable[..., StreamChat],
) -> None:
    chat = make_chat(ScriptedModel([[Call("stubborn", {})], [Say("never")]]))

    @chat.tool
    async def stubborn() -> str:
        """Ignores cancellation for a long while."""
        for _ in range(200):
            try:
                await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                continue
        return "late"

    handle = chat.send("go")
    await wait_for(lambda: any(e["type"] == "tool_running" for e in sent_events(recorder(chat).custom())))
    started = time.monotonic()
    await asyncio.to_thread(chat.close)
    took = time.monotonic() - started
    assert took < 4, f"close() took {took:.1f} s with a tool that would run 10 s"
    assert handle.done() and handle.reason == "cancelled"
    # The shared loop is not held up by the tool left running: another chat works at once.
    other = make_chat(ScriptedModel([[Say("fine")]]))
    message = await asyncio.wait_for(_await(other.send("hi")), 5)
    assert message is not None and message.text == "fine"


async def test_a_call_cut_by_the_token_limit_shows_as_an_error_with_the_hint(
    make_chat: Callable[..., StreamChat],
) -> None:
    chat = make_chat(ScriptedModel([[Call("lookup", '{"city": "Os'), TokenLimit()]]))
    handle = chat.send("go")
    await handle
    assert handle.reason == "max_tokens" and chat.status == "error"
    assert "output tokens" in chat.status_message


class LoneSurrogates(ScriptedModel):
    """Sends ``LONE`` as the JSON escape of an unpaired surrogate (``"\\ud83d"``), as a provider may: it decodes
    to a Python string the kernel's packer cannot send."""

    def stream(self, request: Any) -> Any:
        inner = super().stream(request)

        async def escaped() -> Any:
            async for chunk in inner:
                yield chunk.replace(b"LONE", b"\\ud83d")

        return escaped()


@pytest.mark.parametrize("page", [True, False], ids=["page", "headless"])
async def test_unpaired_surrogates_reach_the_page_as_replacement_characters(
    page: bool, make_chat: Callable[..., StreamChat], caplog: pytest.LogCaptureFixture
) -> None:
    chat = make_chat(
        LoneSurrogates(
            [
                [Say("Great day LONE", chunk=10), Call("echo", {"text": "sun LONE"}, whole=True)],
                [Say("Fine, "), Call("explode", {})],
                [Say("Done LONE")],
                [Say("Next turn.")],
            ]
        )
    )

    @chat.tool
    def echo(text: str) -> str:
        """Echo."""
        return f"Great day {text} \ud83d"

    @chat.tool
    def explode() -> str:
        """Fail."""
        raise ValueError("broken \udc80 half")

    if page:
        attach(chat)
    with caplog.at_level(logging.ERROR, logger="nbstream"):
        handle = chat.send("prompt \ud83d")
        await asyncio.wait_for(_await(handle), 5)
    assert handle.reason == "done"
    assert "could not be sent" not in caplog.text

    def check(events: list[dict[str, Any]]) -> None:
        assert text_of(events) == "Great day \ufffdFine, Done \ufffd"
        by_type = {event["type"]: event for event in reversed(events)}  # the first of each type
        assert by_type["user_prompt"]["text"] == "prompt \ufffd"
        assert by_type["tool_call_ready"]["arguments"] == {"text": "sun \ufffd"}
        assert by_type["tool_result"]["output"] == "Great day sun \ufffd \ufffd"
        assert "broken \ufffd half" in by_type["tool_error"]["message"]

    check(sent_events(recorder(chat).custom()))  # the live stream
    check(chat.transcript)
    committed = [c for c in recorder(chat).custom() if c["type"] == "commit"]
    updates = [
        u.data["state"]["transcript"] for u in recorder(chat).updates() if "transcript" in u.data["state"]
    ]
    check(committed[0]["events"] if page else updates[-1])  # what the page was told to keep
    check(json.loads(json_packer(chat.get_state()))["transcript"])  # what a new view gets
    assert (await chat.send("again")).text == "Next turn."  # type: ignore[union-attr]


async def test_a_send_that_fails_is_logged_and_the_turn_still_finishes(
    make_chat: Callable[..., StreamChat], caplog: pytest.LogCaptureFixture
) -> None:
    chat = make_chat(ScriptedModel([[Say("lost on the way", chunk=1, delay=0.01)], [Say("seen")]]))
    attach(chat)
    recorder(chat).failing = True
    with caplog.at_level(logging.ERROR, logger="nbstream"):
        handle = chat.send("one")
        message = await asyncio.wait_for(_await(handle), 5)
    assert handle.reason == "done" and message is not None and message.text == "lost on the way"
    assert "a message to the page could not be sent" in caplog.text
    recorder(chat).failing = False
    handle = chat.send("two")
    message = await asyncio.wait_for(_await(handle), 5)
    assert message is not None and message.text == "seen" and chat.status == "done"
    assert [e["text"] for e in chat.transcript if e["type"] == "user_prompt"] == ["one", "two"]
    assert text_of(sent_events(recorder(chat).custom())) == "seen"


async def test_with_a_page_a_turn_costs_the_same_bytes_however_long_the_conversation(
    make_chat: Callable[..., StreamChat],
) -> None:
    """The page appends each committed turn to its own model value: the transcript is never re-sent."""
    turns = 40
    chat = make_chat(
        ScriptedModel(
            [
                step
                for _ in range(turns)
                for step in ([Say(LOREM, chunk=4), Call("add", {"a": 1, "b": 2})], [Say("3")])
            ]
        )
    )

    @chat.tool
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    attach(chat)

    async def turn_bytes() -> int:
        before = sum(s.size for s in recorder(chat).records())
        await chat.send("add 1 and 2")
        return sum(s.size for s in recorder(chat).records()) - before

    costs = [await turn_bytes() for _ in range(turns)]
    assert costs[-1] <= 1.5 * costs[0], costs
    assert not [u for u in recorder(chat).updates() if "transcript" in u.data["state"]]

    # The commits, appended in order, are the kernel's whole transcript, which a new view or reload gets.
    transcript: list[dict[str, Any]] = []
    for commit in [c for c in recorder(chat).custom() if c["type"] == "commit"]:
        assert commit["transcript_length"] == len(transcript)
        transcript += commit["events"]
    assert transcript == chat.transcript
    assert sum(e["type"] == "user_prompt" for e in transcript) == turns and repr(chat).endswith(
        f"turns={turns})"
    )
    assert json.loads(json_packer(chat.get_state()))["transcript"] == transcript
    # A late view replays that state, then its "ready" is answered against the same length.
    from_browser(chat, {"type": "ready"})
    await wait_for(lambda: recorder(chat).custom()[-1]["type"] == "live")
    assert recorder(chat).custom()[-1] == {"type": "live", "transcript_length": len(transcript), "events": []}
    # A page that missed a commit asks for the whole transcript once.
    from_browser(chat, {"type": "sync"})
    await wait_for(lambda: "transcript" in recorder(chat).updates()[-1].data["state"])
    assert recorder(chat).updates()[-1].data["state"]["transcript"] == transcript


async def test_repr_counts_turns_without_walking_the_transcript(make_chat: Callable[..., StreamChat]) -> None:
    chat = make_chat(ScriptedModel([[Say("a")], [Say("b")], [Say("c")]]))
    await chat.send("1")
    await chat.send("2")

    class Unwalkable(list):  # type: ignore[type-arg]
        def __iter__(self) -> Any:
            raise AssertionError("repr walked the transcript")

    kept = chat.transcript
    chat._trait_values["transcript"] = Unwalkable(kept)
    try:
        assert repr(chat) == "StreamChat(model='scripted', status='done', turns=2)"
    finally:
        chat._trait_values["transcript"] = kept
    chat.clear()
    await wait_for(lambda: {"type": "cleared"} in recorder(chat).custom())
    assert repr(chat).endswith("turns=0)")
    await chat.send("3")
    assert repr(chat).endswith("turns=1)")


async def test_an_async_tool_awaiting_an_object_made_in_a_cell_gets_an_error_that_says_what_to_do(
    make_chat: Callable[..., StreamChat],
) -> None:
    made_in_a_cell = asyncio.Event()
    waiting = asyncio.ensure_future(made_in_a_cell.wait())  # awaited in a cell: bound to the notebook's loop
    await asyncio.sleep(0)

    async def wait_for_signal() -> str:
        """Wait for the notebook's signal."""
        await made_in_a_cell.wait()
        return "signalled"

    chat = make_chat(ScriptedModel([[Call("wait_for_signal", {})], [Say("ok")]]), tools=[wait_for_signal])
    handle = chat.send("wait")
    await handle
    waiting.cancel()
    (error,) = [e for e in handle.events if e.type == "tool_error"]
    assert error.kind == "exception"
    assert "bound to a different event loop" in error.message  # what happened
    assert "inside the tool" in error.message and "lazily on first use" in error.message  # what to do
    (result,) = [m for m in chat.messages if m.role == "tool"]
    assert "inside the tool" in result.content  # the model is told too


def test_view_option_is_a_synced_trait(make_chat: Callable[..., StreamChat]) -> None:
    from nbstream import ConfigurationError

    chat = make_chat(ScriptedModel([]))
    assert chat.view == "detailed" and chat.get_state()["view"] == "detailed"
    quiet = make_chat(ScriptedModel([]), view="quiet")
    assert quiet.get_state()["view"] == "quiet"
    quiet.view = "Detailed"  # switched live; the page re-lays out the turns it shows
    assert quiet.view == "detailed"
    with pytest.raises(ConfigurationError, match="quiet"):
        StreamChat(ScriptedModel([]), view="loud")  # type: ignore[arg-type]


# -- reasoning, images and progress on the page (docs/WIDGET_PROTOCOL.md) ---------------------------------


def _progress(call: str, message: str | None, fraction: float | None) -> dict[str, Any]:
    return {"type": "tool_progress", "id": call, "name": "t", "message": message, "fraction": fraction}


def test_progress_is_kept_newest_per_call_in_a_batch_and_in_the_transcript() -> None:
    text = {"type": "text_delta", "text": "x"}
    batch = [
        _progress("a", "Downloading", 0.1),
        _progress("b", "Crawling", None),
        text,
        _progress("a", None, 0.5),  # no message: "Downloading" still holds
        _progress("b", "Parsing", 0.9),
        _progress("a", None, 0.7),
    ]
    merged = merge_batch(batch)
    assert merged == [text, _progress("b", "Parsing", 0.9), _progress("a", "Downloading", 0.7)]
    # A batch whose updates never named a message leaves the page's message as it was.
    assert merge_batch([_progress("a", None, 0.2), _progress("a", None, 0.3)]) == [_progress("a", None, 0.3)]
    single = [_progress("a", "x", 0.1), text]
    assert merge_batch(single) == single

    result = {"type": "tool_result", "id": "a", "name": "t", "output": "ok", "duration": 1.0, "images": []}
    turn = [{"type": "user_prompt", "text": "go"}, *batch, _progress("a", "Unpacking", None), result]
    stored = compact(turn)
    assert [e for e in stored if e["type"] == "tool_progress"] == [
        _progress("b", "Parsing", 0.9),
        _progress("a", "Unpacking", None),
    ]
    assert stored[-1] == result, "the newest update stays before the result"


def test_reasoning_runs_merge_and_each_section_ends_with_the_duration_the_kernel_measured() -> None:
    now = [100.0]
    timer = ReasoningTimer(clock=lambda: now[0])
    events = [
        {"type": "step_started", "step": 1},
        {"type": "reasoning_delta", "text": "Let me "},
        {"type": "reasoning_delta", "text": "think."},
        {"type": "text_delta", "text": "Because."},
        {"type": "text_delta", "text": " Done."},
        {"type": "turn_finished", "reason": "done", "steps": 1, "message": None},
    ]
    shown: list[dict[str, Any]] = []
    for event in events:
        if event["type"] == "reasoning_delta":  # what is not the step's text or a call leaves it open
            assert timer.before({"type": "usage", "input_tokens": 1, "output_tokens": 1}) is None
        if event["type"] == "text_delta":
            now[0] = 104.2  # the answer starts 4.2 s after the first reasoning delta
        done = timer.before(event)
        shown += [done, event] if done is not None else [event]
    assert [e["type"] for e in shown].count("reasoning_done") == 1
    at = [e["type"] for e in shown].index("reasoning_done")
    assert shown[at] == {"type": "reasoning_done", "duration": 4.2}
    assert shown[at + 1]["type"] == "text_delta", "sent just before what ended it"
    stored = compact(shown)
    assert [e for e in stored if e["type"] == "reasoning_delta"] == [
        {"type": "reasoning_delta", "text": "Let me think."}
    ]


def test_images_past_the_turn_budget_are_notes_in_the_transcript() -> None:
    png = ImageData.from_bytes(PNG_3X2)
    image = png.model_dump(mode="json")
    budget = len(png.data) * 2  # room for two
    turn = [
        user_prompt("look", [png]),
        {
            "type": "tool_result",
            "id": "a",
            "name": "t",
            "output": "",
            "duration": 0.1,
            "images": [image, image],
        },
    ]
    stored = compact(turn, image_chars=budget)
    assert stored[0]["images"] == [image]
    kept, dropped = stored[1]["images"]
    assert kept == image
    assert dropped == {"media_type": "image/png", "width": 3, "height": 2, "omitted": len(png.raw)}
    assert turn[1]["images"] == [image, image], "the live events are not changed"
    assert compact(turn)[1]["images"] == [image, image], "the default budget holds small images"
    assert cap_images(turn, 0)[0]["images"][0]["omitted"] == len(png.raw)


async def test_a_tool_with_progress_and_an_image_result_through_the_chat(
    make_chat: Callable[..., StreamChat],
) -> None:
    chat = make_chat(ScriptedModel([[Call("plot", {"n": 3})], [Say("Here it is.")]]))

    @chat.tool
    async def plot(n: int, progress: Progress) -> list[Any]:
        """Draw a plot in n steps."""
        for i in range(n):
            progress(f"step {i + 1} of {n}", (i + 1) / n)
            await asyncio.sleep(Progress.INTERVAL * 1.5)
        progress(fraction=1.0)  # no message: "step 3 of 3" still holds
        return ["the plot", PNG_3X2]

    await chat.send("plot it")
    live = [e for e in sent_events(recorder(chat).custom()) if e["type"] == "tool_progress"]
    assert len(live) >= 3 and live[0]["message"] == "step 1 of 3"
    stored = [e for e in chat.transcript if e["type"] == "tool_progress"]
    assert stored == [{**live[-1], "message": "step 3 of 3", "fraction": 1.0}]
    (result,) = [e for e in chat.transcript if e["type"] == "tool_result"]
    assert result["output"] == "the plot"
    assert result["images"] == [ImageData.from_bytes(PNG_3X2).model_dump(mode="json")]
    kinds = [e["type"] for e in chat.transcript]
    assert kinds.index("tool_progress") < kinds.index("tool_result")


async def test_send_with_images_shows_them_in_the_prompt_and_sends_them_to_the_model(
    make_chat: Callable[..., StreamChat],
) -> None:
    model = ScriptedModel([[Say("A small red image.")]])
    chat = make_chat(model)
    with pytest.raises(TypeError, match=r"images\[1\]: cannot use a object"):
        chat.send("look", images=[PNG_3X2, object()])
    with pytest.raises(ValueError, match=r"images\[0\]"):
        chat.send("look", images=[b"GIF90a, not an image"])
    assert model.requests == [] and recorder(chat).custom() == [], "a bad image sends nothing"

    handle = chat.send("look", images=PNG_3X2)  # one image alone, as Session.send takes it
    assert "+1 image" in repr(handle)
    await handle
    image = ImageData.from_bytes(PNG_3X2)
    (prompt,) = [e for e in chat.transcript if e["type"] == "user_prompt"]
    assert prompt == {"type": "user_prompt", "text": "look", "images": [image.model_dump(mode="json")]}
    assert model.requests[0].messages[-1] == UserMessage(content="look", images=[image])
    await chat.send("no image")
    assert chat.transcript[-1]["type"] == "turn_finished"
    assert [e for e in chat.transcript if e["type"] == "user_prompt"][-1] == user_prompt("no image")


def test_show_reasoning_is_a_synced_trait(make_chat: Callable[..., StreamChat]) -> None:
    chat = make_chat(ScriptedModel([]))
    assert chat.show_reasoning is True and chat.get_state()["show_reasoning"] is True
    hidden = make_chat(ScriptedModel([]), show_reasoning=False)
    assert hidden.get_state()["show_reasoning"] is False
    hidden.show_reasoning = True  # switched live; the page shows the sections it has
    assert hidden.get_state()["show_reasoning"] is True


async def test_reasoning_streams_to_the_page_and_is_stored_merged_with_its_duration(
    make_chat: Callable[..., StreamChat],
) -> None:
    thought = "First the question, then the tool. " * 3
    model = ScriptedModel([[Think(thought, chunk=4, over=0.5), Say("The answer.", chunk=2)]])
    chat = make_chat(model, reasoning="high")
    await chat.send("why?")
    assert model.requests[0].reasoning == "high", "reasoning= goes to the session"
    live = sent_events(recorder(chat).custom())
    deltas = [e for e in live if e["type"] == "reasoning_delta"]
    assert len(deltas) > 1 and "".join(e["text"] for e in deltas) == thought
    kinds = [e["type"] for e in live]
    done = kinds.index("reasoning_done")
    assert kinds.count("reasoning_done") == 1 and kinds[done + 1] == "text_delta", "ended by the answer"
    assert kinds.index("reasoning_delta") < done
    stored = [e for e in chat.transcript if e["type"].startswith("reasoning")]
    assert stored[0] == {"type": "reasoning_delta", "text": thought}
    assert stored[1]["type"] == "reasoning_done" and 0.4 <= stored[1]["duration"] < 5
    assert text_of(chat.transcript) == "The answer."


async def test_each_turn_ends_with_its_metrics_as_a_footer_and_the_chat_sums_them(
    make_chat: Callable[..., StreamChat],
) -> None:
    chat = make_chat(
        ScriptedModel(
            [[Say("Let me wait."), Call("nap", {"seconds": 0.05})], [Say("Done.")], [Say("Again.")]]
        )
    )

    @chat.tool
    async def nap(seconds: float) -> str:
        """Sleep a little."""
        await asyncio.sleep(seconds)
        return "rested"

    attach(chat)
    first, second = chat.send("nap"), chat.send("again")
    await second
    assert first.metrics is not None and second.metrics is not None
    assert [first.metrics, second.metrics] == [
        event.metrics
        for handle in (first, second)
        for event in handle.events
        if isinstance(event, TurnFinished)
    ]
    assert first.metrics.tool_time > 0 and second.metrics.tool_time == 0
    assert chat.metrics == ChatMetrics().plus(first.metrics).plus(second.metrics)
    assert chat.metrics == chat.session.metrics  # what the chat showed is what its session measured
    # Each turn's end reaches the page with its footer: the turn's line, and the chat's totals so far.
    ends = [e for e in sent_events(recorder(chat).custom()) if e["type"] == "turn_finished"]
    assert [e["footer"] for e in ends] == [first.metrics.line(), second.metrics.line()]
    assert "tools" in ends[0]["footer"] and ends[0]["footer"].endswith("cost unknown")
    assert ends[0]["footer_title"] == "scripted models have no price\nThis chat so far: " + (
        ChatMetrics().plus(first.metrics).line()
    )
    assert ends[1]["footer_title"].endswith(chat.metrics.line()) and "2 turns" in ends[1]["footer_title"]
    # ...and the transcript keeps it, so a reloaded page shows it again.
    stored = [e for e in chat.transcript if e["type"] == "turn_finished"]
    assert [e["footer"] for e in stored] == [e["footer"] for e in ends]
