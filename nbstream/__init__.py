"""nbstream: watch and steer a tool-using LLM from a Jupyter notebook.

    from nbstream import StreamChat
    chat = StreamChat(model="demo", tools=[my_function])   # displays a live chat in the notebook

Without a widget, ``Session`` runs the same loop from any async code; ``parse_stream`` / ``collect`` read
captured provider streams offline.

Data flows one way: bytes → frames → provider parts → normalized events → assembly → the session's loop → the
widget. The words, as the code uses them:

* **turn**: one ``send``: a prompt, then model responses and tool runs until the model stops calling tools; it
  ends with one ``TurnFinished``.
* **step**: one model response within a turn (``StepStarted``, ``max_steps``). A script (``ScriptedModel``,
  ``nbstream.testing.ProviderServer``) is a list of steps, each a list of **actions**: ``Say``, ``Call``,
  ``Pause``, ``TokenLimit``.
* **frame**: one SSE event or NDJSON line of a provider's stream, what a parser reads at a time.
* **part** (a provider event): what a parser reads out of a frame (text, a call fragment, usage, the
  finish...); the assembler turns parts into **events**, the public ``Event`` types.
* **provider**: an API behind a model string (``"anthropic:claude-sonnet-4-5"``), one module in
  ``nbstream/_providers``; its **wire format** is the stream it speaks (``parse_stream("anthropic", ...)``).
  Providers that speak another's API (Gemini's OpenAI endpoint) share its wire format.
* Every incremental stage (frame decoders, wire parsers, the text-call filter, the assembler) takes its input
  with ``feed`` and is ended with ``close``.
"""

import importlib
import inspect
import typing
from typing import TYPE_CHECKING, Any

from ._demo import DemoModel
from ._errors import ConfigurationError, MissingAPIKeyError, NbstreamError, StreamFault
from ._events import (
    EVENTS,
    Event,
    MessageFinished,
    ReasoningDelta,
    StepStarted,
    StreamError,
    TextDelta,
    ToolArgumentsDelta,
    ToolAwaitingApproval,
    ToolCallReady,
    ToolCallStarted,
    ToolError,
    ToolOutput,
    ToolProgress,
    ToolResult,
    ToolRunning,
    TurnFinished,
    Usage,
)
from ._images import ImageData
from ._mcp import MCPServer, MCPServerError
from ._messages import (
    MESSAGES,
    AssistantMessage,
    Message,
    Reasoning,
    StreamFailure,
    TokenUsage,
    ToolCall,
    ToolResultMessage,
    UserMessage,
)
from ._metrics import ChatMetrics, TurnMetrics
from ._model import Model, ModelRequest, ToolSpec
from ._parse import EventStream, SyncEventStream, collect, parse_stream
from ._progress import Progress
from ._registry import ToolRegistry
from ._replay import Recording
from ._script import Call, Pause, Say, ScriptedModel, Think, TokenLimit
from ._session import Session
from ._sse import SSE_HEADERS, to_sse
from ._timeline import Timeline, ToolSpan
from ._tools import Tool, tool
from ._turn_stream import TurnStream

if TYPE_CHECKING:
    from ._compare import Compare, CompareHandle, ModelResult
    from ._replay_chat import ReplayChat, replay
    from ._widget import FrontendMissingError, StreamChat, TurnHandle

__version__ = "0.1.0"

_WIDGET_NAMES = {
    "Compare": "_compare",
    "CompareHandle": "_compare",
    "FrontendMissingError": "_widget",
    "ModelResult": "_compare",
    "ReplayChat": "_replay_chat",
    "StreamChat": "_widget",
    "TurnHandle": "_widget",
    "replay": "_replay_chat",
}
"""The names whose modules import the widget stack, and those modules."""


def __getattr__(name: str) -> Any:
    """The widget (and with it IPython and ipywidgets) is imported on first use: scripts that only stream
    with ``Session`` never pay for it."""
    if name in _WIDGET_NAMES:
        value = getattr(importlib.import_module(f".{_WIDGET_NAMES[name]}", __name__), name)
        if value.__module__ != __name__:
            _show_as_public(value)
        return value
    raise AttributeError(f"module 'nbstream' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "EVENTS",
    "MESSAGES",
    "SSE_HEADERS",
    "AssistantMessage",
    "Call",
    "ChatMetrics",
    "Compare",
    "CompareHandle",
    "ConfigurationError",
    "DemoModel",
    "Event",
    "EventStream",
    "FrontendMissingError",
    "ImageData",
    "MCPServer",
    "MCPServerError",
    "Message",
    "MessageFinished",
    "MissingAPIKeyError",
    "Model",
    "ModelRequest",
    "ModelResult",
    "NbstreamError",
    "Pause",
    "Progress",
    "Reasoning",
    "ReasoningDelta",
    "Recording",
    "ReplayChat",
    "Say",
    "ScriptedModel",
    "Session",
    "StepStarted",
    "StreamChat",
    "StreamError",
    "StreamFailure",
    "StreamFault",
    "SyncEventStream",
    "TextDelta",
    "Think",
    "Timeline",
    "TokenLimit",
    "TokenUsage",
    "Tool",
    "ToolArgumentsDelta",
    "ToolAwaitingApproval",
    "ToolCall",
    "ToolCallReady",
    "ToolCallStarted",
    "ToolError",
    "ToolOutput",
    "ToolProgress",
    "ToolRegistry",
    "ToolResult",
    "ToolResultMessage",
    "ToolRunning",
    "ToolSpan",
    "ToolSpec",
    "TurnFinished",
    "TurnHandle",
    "TurnMetrics",
    "TurnStream",
    "Usage",
    "UserMessage",
    "__version__",
    "collect",
    "parse_stream",
    "replay",
    "to_sse",
    "tool",
]


def _show_as_public(obj: Any) -> None:
    """Name ``obj`` as ``nbstream.X``, where it is imported from (as httpx does): in reprs, tracebacks and help,
    and for pickle, which finds it there.

    Type hints are looked up in the module a class names, so a class's own annotations written as strings are
    resolved first, in the module that wrote them: ``typing.get_type_hints`` and pydantic keep working.
    """
    if isinstance(obj, type):
        own = obj.__dict__.get("__annotations__", {})
        if any(isinstance(hint, str) for hint in own.values()):
            hints = typing.get_type_hints(obj, include_extras=True)
            obj.__annotations__ = {name: hints[name] for name in own}
    obj.__module__ = __name__


for _name in __all__:
    _public = globals().get(_name)
    if isinstance(_public, type) or inspect.isfunction(_public):
        _show_as_public(_public)
del _name, _public
