"""``Compare``: one prompt, several models side by side, each streaming into its own column.

Each column is a ``StreamChat`` with its own session on nbstream's shared loop, shown inside the compare widget
through anywidget's widget composition (the page renders each chat's own view in its column: ``host.getWidget``
in ``js/src/compare.js``). The columns stream, run their tools, fail and stop independently, so a slow or
failing model never holds the others; Stop and ■ stop them all. The compare widget adds the one prompt box,
the grid (columns wrap to rows below ``column_width`` pixels) and a line of metrics under each column.

``compare.send(prompt)`` returns a ``CompareHandle``: ``await`` it (or ``.result()``) for a dict, label →
``ModelResult`` (how the turn ended, its last message, its metrics), in column order, once every model is done.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import logging
import os
import pathlib
import threading
import time
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from typing import Any, Literal

import anywidget
import traitlets
from pydantic import BaseModel, ConfigDict

from ._errors import ConfigurationError
from ._events import TurnFinished, TurnReason
from ._export import Conversation
from ._export_html import static_html
from ._images import images_from
from ._messages import AssistantMessage
from ._metrics import TurnMetrics
from ._model import Model
from ._sendable import clean_text
from ._static_html import with_static_html
from ._tools import Tool
from ._turn_handle import TurnHandle
from ._widget import FrontendMissingError, StreamChat

__all__ = ["Compare", "CompareHandle", "ModelResult"]

log = logging.getLogger("nbstream")

_STATIC = pathlib.Path(__file__).parent / "static"
_ESM_PATH = _STATIC / "compare.js"
_CSS_PATH = _STATIC / "compare.css"
_REF = "anywidget:"
"""How a synced value names another widget for ``host.getWidget`` (anywidget ≥ 0.11)."""


class ModelResult(BaseModel):
    """What one model of a ``Compare`` made of a prompt."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    label: str
    """The model's column."""
    reason: TurnReason
    """How its turn ended: ``"done"``, or ``"error"``, ``"cancelled"``, ``"max_steps"``, ``"max_tokens"``."""
    message: AssistantMessage | None = None
    """The turn's last assistant message; ``None`` when the model answered nothing."""
    error: str | None = None
    """Why the turn did not end ``"done"``, for people."""
    metrics: TurnMetrics | None = None
    """The turn's timings, tokens and cost (``TurnFinished.metrics``)."""

    @property
    def text(self) -> str:
        """The last message's text (``""`` without one)."""
        return self.message.text if self.message is not None else ""


def _result(label: str, handle: TurnHandle) -> ModelResult:
    """A finished handle's result; a turn that failed inside nbstream is an ``error`` result, never a raise."""
    try:
        message = handle.result(0)
    except Exception as exc:
        return ModelResult(label=label, reason="error", error=f"{type(exc).__name__}: {exc}")
    finished = next((e for e in reversed(handle.events) if isinstance(e, TurnFinished)), None)
    reason = handle.reason or (finished.reason if finished is not None else "error")
    error = None
    if reason != "done":
        error = (finished.message if finished is not None else None) or reason
    return ModelResult(label=label, reason=reason, message=message, error=error, metrics=handle.metrics)


class CompareHandle:
    """One prompt sent to every model of a ``Compare``. ``await handle`` (or ``handle.result()``) gives a dict,
    label → ``ModelResult``, in column order, once every model's turn has ended; ``handles`` are the columns'
    own ``TurnHandle`` objects (events, timelines)."""

    def __init__(self, prompt: str, handles: Mapping[str, TurnHandle]) -> None:
        self.prompt = prompt
        self.handles: dict[str, TurnHandle] = dict(handles)

    def done(self) -> bool:
        return all(handle.done() for handle in self.handles.values())

    def result(self, timeout: float | None = None) -> dict[str, ModelResult]:
        """Block until every model is done (``TimeoutError`` after ``timeout`` seconds), then the results."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for handle in self.handles.values():
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                handle.result(left)
            except concurrent.futures.TimeoutError:
                raise TimeoutError(f"not every model finished within {timeout} s") from None
            except Exception:  # that model's result says what went wrong
                pass
        return self._results()

    def __await__(self) -> Generator[Any, None, dict[str, ModelResult]]:
        return self._wait().__await__()

    async def _wait(self) -> dict[str, ModelResult]:
        for handle in self.handles.values():  # ■ while waiting stops every chat (_interrupt.py)
            with contextlib.suppress(Exception):
                await handle
        return self._results()

    def _results(self) -> dict[str, ModelResult]:
        return {label: _result(label, handle) for label, handle in self.handles.items()}

    def __repr__(self) -> str:
        prompt = self.prompt if len(self.prompt) <= 40 else self.prompt[:39] + "…"
        done = sum(handle.done() for handle in self.handles.values())
        return f"<CompareHandle {prompt!r} {done}/{len(self.handles)} done>"


def _labelled(models: Sequence[str | Model] | Mapping[str, str | Model]) -> list[tuple[str, str | Model]]:
    """Each model with its column's label: the given one, else the model string or the model's repr (a second
    column of the same name gets `` #2``)."""
    if isinstance(models, Mapping):
        pairs = [(str(label), model) for label, model in models.items()]
    elif isinstance(models, str | Model) or not isinstance(models, Iterable):
        raise ConfigurationError(
            "models must be a list of models (strings or Model objects), or a dict label → model"
        )
    else:
        pairs = [(model if isinstance(model, str) else _name(model), model) for model in models]
    if not pairs:
        raise ConfigurationError("models is empty: give at least one model to compare")
    seen: dict[str, int] = {}
    labelled = []
    for label, model in pairs:
        seen[label] = seen.get(label, 0) + 1
        labelled.append((label if seen[label] == 1 else f"{label} #{seen[label]}", model))
    return labelled


def _name(model: object) -> str:
    shown = repr(model)
    return shown if len(shown) <= 60 else str(getattr(model, "provider", type(model).__name__))


class Compare(anywidget.AnyWidget):
    """Several models side by side: ``Compare(models=["demo", DemoModel(reasoning=True)], tools=[f])``, then type
    a prompt, or ``await compare.send("...")`` for every model's ``ModelResult``.

    ``models`` is a list (labels from the model strings, or the models' reprs) or a dict label → model. ``tools``,
    ``system``, ``view``, ``show_reasoning``, ``reasoning`` and the other keywords of ``StreamChat`` / ``Session``
    apply to every column. ``column_width`` (px) is the narrowest a column gets before the grid wraps to rows.
    """

    if _ESM_PATH.is_file() and _CSS_PATH.is_file():  # else __init__ says how to build the bundle
        _esm = _ESM_PATH
        _css = _CSS_PATH

    columns = traitlets.List(traitlets.Dict()).tag(sync=True)
    """One entry per model, in order: ``{"chat": "anywidget:<id>", "label": str, "metrics": str}``."""
    column_width = traitlets.Int(360, min=160).tag(sync=True)
    """The narrowest a column gets (px) before the columns wrap to rows."""

    def __init__(
        self,
        models: Sequence[str | Model] | Mapping[str, str | Model],
        *,
        tools: Iterable[Tool | Callable[..., Any]] = (),
        system: str | None = None,
        view: Literal["detailed", "quiet"] = "detailed",
        show_reasoning: bool = True,
        column_width: int = 360,
        **options: Any,
    ) -> None:
        if not hasattr(type(self), "_esm"):
            raise FrontendMissingError()
        if not hasattr(anywidget, "WidgetTrait"):  # the composition API arrived with it
            raise ConfigurationError(
                "nbstream.Compare needs anywidget 0.11 or later: pip install -U anywidget"
            )
        if "record" in options:  # one file per column, or they would overwrite each other
            raise ConfigurationError("record each model on its own: compare.chats[label].record(path)")
        tools = list(tools)
        chats: dict[str, StreamChat] = {}
        try:
            for label, model in _labelled(models):
                chat = StreamChat(
                    model, tools=tools, system=system, view=view, show_reasoning=show_reasoning, **options
                )
                chat.model_label = clean_text(label)
                chats[label] = chat
        except BaseException:
            for chat in chats.values():
                chat.close()
            raise
        self._chats = chats
        self._closed = False
        self._lock = threading.Lock()  # columns is updated from the loop thread as each model finishes
        columns = [
            {"chat": f"{_REF}{chat.model_id}", "label": label, "metrics": ""} for label, chat in chats.items()
        ]
        super().__init__(columns=columns, column_width=column_width)
        self.on_msg(self._on_browser_message)

    # -- public API (any thread) -------------------------------------------------------------------------

    def send(self, prompt: str, *, images: Iterable[Any] | None = None) -> CompareHandle:  # type: ignore[override]
        """Send ``prompt`` (and ``images``, as ``StreamChat.send`` takes them) to every model at once; each runs
        it now, or after its running turn. Returns at once: ``await`` the handle for the results."""
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a str, not {type(prompt).__name__}")
        converted = images_from(images)  # once, for every column: a bad image raises here, sending nothing
        self._check_open()
        handles: dict[str, TurnHandle] = {}
        for label, chat in self._chats.items():
            handle = chat.send(prompt, images=converted)
            handle.add_done_callback(functools.partial(self._finished, label))
            handles[label] = handle
        return CompareHandle(prompt, handles)

    @property
    def chats(self) -> dict[str, StreamChat]:
        """The columns' chats by label (their ``messages``, ``timeline()``, ``export``, ``record``...)."""
        return dict(self._chats)

    @property
    def labels(self) -> list[str]:
        return list(self._chats)

    def stop(self) -> None:
        """Stop every model's running turn and drop the queued ones."""
        for chat in self._chats.values():
            chat.stop()

    def clear(self) -> None:
        """Stop, then forget every model's history and empty the columns."""
        self._check_open()
        for chat in self._chats.values():
            chat.clear()
        with self._lock:
            self.columns = [{**column, "metrics": ""} for column in self.columns]

    def close(self) -> None:
        """Stop and close every column's chat (and its session), then remove the widget."""
        if not getattr(self, "_closed", True):
            self._closed = True
            for chat in self._chats.values():
                chat.close()
        super().close()

    def export(self, directory: str | os.PathLike[str], suffix: str = ".html") -> list[pathlib.Path]:
        """Export each model's conversation into ``directory`` (``<label>.html``, or ``.md`` / ``.json``)."""
        folder = pathlib.Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        return [chat.export(folder / f"{_file_name(label)}{suffix}") for label, chat in self._chats.items()]

    def __repr__(self) -> str:
        return f"Compare(models={self.labels!r})"

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this comparison is closed")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget view, plus ``text/html`` for readers without widgets: each column's conversation."""
        bundle = super()._repr_mimebundle_(**kwargs)
        parts = []
        for label, chat in self._chats.items():
            session = chat.session
            copy = static_html(Conversation(session.messages, model=label, system=session.system))
            parts.append(f'<div style="flex:1 1 {self.column_width}px;min-width:0">{copy}</div>')
        return with_static_html(
            bundle, f'<div style="display:flex;flex-wrap:wrap;gap:12px">{"".join(parts)}</div>'
        )

    # -- events (loop thread or the browser's) -----------------------------------------------------------

    def _on_browser_message(self, _widget: object, content: Any, _buffers: object) -> None:
        if self._closed or not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "send" and isinstance(content.get("prompt"), str) and content["prompt"].strip():
            self.send(content["prompt"])
        elif kind == "stop":
            self.stop()

    def _finished(self, label: str, handle: TurnHandle) -> None:
        """A column's turn ended: show its metrics under it. Never raises (it runs as a future's callback)."""
        try:
            line = handle.metrics.line() if handle.metrics is not None else ""
            with self._lock:
                self.columns = [
                    {**column, "metrics": line} if column["label"] == label else column
                    for column in self.columns
                ]
        except Exception:
            log.exception("nbstream: the metrics of %s could not be shown", label)


def _file_name(label: str) -> str:
    """A label as a file name: letters, digits, ``-``, ``_`` and ``.`` kept, the rest ``_``."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in label).strip("._") or "model"
