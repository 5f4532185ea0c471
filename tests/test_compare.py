"""Compare on the Python side: one prompt to several models at once, each in its own chat; results, Stop,
metrics, labels, the page's messages. The page itself (columns drawn by the chats' own views) is in
tests/browser/test_compare_in_lab.py and js/test/compare.test.js.

The chats' comms are recording comms (widget_comm.py, ``comm.create_comm`` patched), as in test_widget.py.
"""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from helpers import run_headless, slow
from widget_comm import recorder

from nbstream import (
    Call,
    Compare,
    CompareHandle,
    ConfigurationError,
    DemoModel,
    MissingAPIKeyError,
    ModelResult,
    Pause,
    Say,
    ScriptedModel,
    StreamChat,
    TextDelta,
    TurnMetrics,
)

MakeCompare = Callable[..., Compare]


pytestmark = pytest.mark.usefixtures("recording_comms")


@pytest.fixture
def make_compare() -> Iterator[MakeCompare]:
    made: list[Compare] = []

    def make(*args: Any, **kwargs: Any) -> Compare:
        compare = Compare(*args, **kwargs)
        made.append(compare)
        return compare

    yield make
    for compare in made:
        compare.close()


def talker(seconds: float, text: str = "one two three four five six seven eight nine ten") -> ScriptedModel:
    """A model that streams ``text`` word by word over ``seconds``."""
    return ScriptedModel([[Say(text, chunk=1, over=seconds)]])


def first_text_at(handle: CompareHandle, label: str) -> float:
    """When the column's first text delta arrived (``perf_counter``)."""
    column = handle.handles[label]
    return next(at for at, e in zip(column.arrivals, column.events, strict=True) if isinstance(e, TextDelta))


def test_one_prompt_streams_into_every_column_at_once(make_compare: MakeCompare) -> None:
    compare = make_compare({"fast": talker(0.6), "slow": talker(1.2)})
    handle = compare.send("talk")
    results = handle.result(timeout=20)

    assert list(results) == ["fast", "slow"]  # column order
    assert all(isinstance(r, ModelResult) and r.reason == "done" for r in results.values())
    assert results["slow"].text == "one two three four five six seven eight nine ten"
    fast, slow_column = handle.handles["fast"], handle.handles["slow"]
    # Concurrent, not one after the other: the slow column's text began before the fast one's ended...
    assert first_text_at(handle, "slow") < fast.arrivals[-1]
    # ...and the fast one's text kept arriving while the slow one streamed (counted deltas).
    slow_text = [
        at for at, e in zip(slow_column.arrivals, slow_column.events, strict=True) if isinstance(e, TextDelta)
    ]
    fast_text = [at for at, e in zip(fast.arrivals, fast.events, strict=True) if isinstance(e, TextDelta)]
    assert sum(slow_text[0] < at < slow_text[-1] for at in fast_text) >= 5
    for label, result in results.items():
        assert isinstance(result.metrics, TurnMetrics), label
        assert result.error is None and result.message is not None


def test_a_failing_model_shows_its_error_and_never_holds_the_others(make_compare: MakeCompare) -> None:
    failing = ScriptedModel([])  # no step: its first request fails
    compare = make_compare({"broken": failing, "slow": talker(1.5)}, tools=[slow])
    handle = compare.send("talk")
    broken = handle.handles["broken"]
    assert broken.result(10) is None
    assert not handle.handles["slow"].done(), "the failure came while the other model still streamed"
    results = handle.result(timeout=20)
    assert results["broken"].reason == "error"
    assert "no step 1" in (results["broken"].error or "")
    assert results["broken"].text == ""
    assert results["slow"].reason == "done" and results["slow"].text.startswith("one two")
    assert compare.chats["broken"].status == "error"
    assert "no step 1" in compare.chats["broken"].status_message
    assert compare.chats["slow"].status == "done"


def test_stop_stops_every_model_and_keeps_what_arrived(make_compare: MakeCompare) -> None:
    long = [Say("started"), Pause(30), Say("never")]
    compare = make_compare({"a": ScriptedModel([long]), "b": ScriptedModel([long, long])})
    handle = compare.send("go")
    queued = compare.send("again")  # queued behind the running turn: dropped by the stop
    deadline = time.monotonic() + 10
    while not all(any(isinstance(e, TextDelta) for e in h.events) for h in handle.handles.values()):
        assert time.monotonic() < deadline, "the models never started"
        time.sleep(0.02)
    stopped = time.monotonic()
    compare.stop()
    results = handle.result(timeout=5)
    assert time.monotonic() - stopped < 3
    assert {r.reason for r in results.values()} == {"cancelled"}
    assert {r.text for r in results.values()} == {"started"}
    assert {r.reason for r in queued.result(timeout=5).values()} == {"cancelled"}


async def test_await_gives_every_result_and_metrics_show_under_each_column(make_compare: MakeCompare) -> None:
    model = ScriptedModel([[Say("Let me wait."), Call("slow", {"seconds": 0.1})], [Say("Done.")]])
    compare = make_compare([model, DemoModel(chars_per_second=2000), "demo"], tools=[slow])
    scripted = repr(model)  # labelled before it played
    assert compare.labels == [scripted, "DemoModel(chars_per_second=2000, wire='anthropic')", "demo"]
    results = await compare.send("wait for slow")
    assert [r.reason for r in results.values()] == ["done"] * 3
    assert results[scripted].text == "Done."
    line = results[scripted].metrics.line()  # type: ignore[union-attr]
    assert "tools" in line
    deadline = time.monotonic() + 5
    while not all(column["metrics"] for column in compare.columns):  # set as each column finishes
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert compare.columns[0]["metrics"] == line
    compare.clear()
    assert [column["metrics"] for column in compare.columns] == ["", "", ""]


def test_labels_are_unique_and_columns_name_their_chats(make_compare: MakeCompare) -> None:
    compare = make_compare(["demo", "demo", DemoModel()], column_width=300)
    assert compare.labels == ["demo", "demo #2", "DemoModel(chars_per_second=200.0, wire='anthropic')"]
    chats = compare.chats
    assert all(isinstance(chat, StreamChat) for chat in chats.values())
    assert [chat.model_label for chat in chats.values()] == compare.labels
    opened = recorder(compare).records()[0].data["state"]  # the page learns each column's chat by reference
    assert [c["chat"] for c in opened["columns"]] == [f"anywidget:{chat.model_id}" for chat in chats.values()]
    assert opened["column_width"] == 300
    assert repr(compare) == f"Compare(models={compare.labels!r})"


def test_the_page_sends_and_stops_for_every_model(make_compare: MakeCompare) -> None:
    compare = make_compare({"a": talker(0.2), "b": talker(0.2)})
    compare._on_browser_message(None, {"type": "send", "prompt": "  "}, None)  # blank: nothing
    compare._on_browser_message(None, {"type": "send", "prompt": "talk"}, None)
    deadline = time.monotonic() + 10
    while not all(chat.status == "done" for chat in compare.chats.values()):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert [len(chat.messages) for chat in compare.chats.values()] == [2, 2]
    compare._on_browser_message(None, {"type": "stop"}, None)  # nothing runs: harmless


def test_what_cannot_be_compared_fails_in_the_cell(
    make_compare: MakeCompare, no_keys: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[StreamChat] = []
    close = StreamChat.close
    monkeypatch.setattr(StreamChat, "close", lambda chat: (closed.append(chat), close(chat)))
    with pytest.raises(ConfigurationError, match="empty"):
        make_compare([])
    with pytest.raises(ConfigurationError, match="list of models"):
        make_compare("demo")
    with pytest.raises(ConfigurationError, match="record each model"):
        make_compare(["demo"], record="x.jsonl")
    with pytest.raises(MissingAPIKeyError):  # the chats made before it are closed again
        make_compare(["demo", "openai:gpt-4.1-mini"])
    assert [chat.model_label for chat in closed if chat.model_label] == ["demo"]  # (and the half-made one)
    compare = make_compare(["demo"])
    with pytest.raises(TypeError):
        compare.send(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"images\[0\]"):
        compare.send("look", images=[b"not an image"])
    compare.close()
    with pytest.raises(RuntimeError, match="closed"):
        compare.send("hi")


def test_readers_without_widgets_get_each_columns_conversation(make_compare: MakeCompare) -> None:
    compare = make_compare({"first": ScriptedModel([[Say("Alpha answer")]]), "second": "demo"})
    compare.send("hello").result(timeout=20)
    data, _ = compare._repr_mimebundle_()
    html = data["text/html"]
    assert "Alpha answer" in html and "demo model" in html
    assert html.index("Alpha answer") < html.index("demo model")


def test_a_notebook_run_headless_saves_the_comparison_with_its_columns(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    source = """
        from nbstream import Compare, Say, ScriptedModel
        compare = Compare({"a": ScriptedModel([[Say("answer A")]]), "b": ScriptedModel([[Say("answer B")]])})
        display(compare)
        results = await compare.send("go")
        print(sorted(r.text for r in results.values()))
    """
    nb.cells = [nbformat.v4.new_code_cell(textwrap.dedent(source).strip())]
    saved = json.loads(run_headless(nb, tmp_path, store_widget_state=True).read_text())
    assert "['answer A', 'answer B']" in json.dumps(saved["cells"][0]["outputs"])
    state = saved["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    (comparison,) = [entry["state"] for entry in state.values() if "columns" in entry["state"]]
    for column, answer in zip(comparison["columns"], ["answer A", "answer B"], strict=True):
        chat = state[column["chat"].removeprefix("anywidget:")]["state"]  # a reopened page finds each column
        assert chat["model_label"] == column["label"]
        assert answer in json.dumps(chat["transcript"])
