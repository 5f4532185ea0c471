"""Request bodies, both ways, for what every provider shares: which history is sent and how arguments and
results are written; reading a body back (for the test server's demo); and the history of a server that
writes tool calls as text (``Session(text_tool_calls=...)``).
"""

from __future__ import annotations

import json
from typing import Any

from .._messages import AssistantMessage, Message, Reasoning, ToolCall, ToolResultMessage, UserMessage
from .._wire._text_calls import TextCallFormat

__all__ = [
    "History",
    "arguments_object",
    "arguments_text",
    "content_text",
    "read_call",
    "text_call_history",
    "tool_result_text",
    "without_empty",
]


def without_empty(messages: list[Message]) -> list[Message]:
    """The history without assistant messages that say nothing: OpenAI answers 400 to ``content: null``
    with no tool calls, and no provider needs them. A message with reasoning alone (a response cut while it
    thought) says nothing either: Responses refuses a reasoning item without the item that followed it, and
    Anthropic needs thinking only before tool calls. The session keeps it; requests leave it out."""
    return [m for m in messages if not isinstance(m, AssistantMessage) or m.text or m.tool_calls]


def arguments_object(call: ToolCall) -> dict[str, Any]:
    """The call's arguments as an object; ``{}`` when the model sent something that is not one."""
    return call.arguments if call.arguments is not None else {}


def arguments_text(call: ToolCall) -> str:
    """The model's own argument text when it was a JSON object, else ``"{}"``: strict servers (llama.cpp's
    llama-server) parse every tool call in the history and answer HTTP 500 to broken JSON."""
    return call.raw_arguments if call.arguments is not None and call.raw_arguments else "{}"


def tool_result_text(message: ToolResultMessage) -> str:
    return f"Error: {message.content}" if message.error else message.content


# --- reading a body back: lenient, it takes what clients send and skips what the demo does not need --------


def content_text(content: Any) -> str:
    """A message's text, whether a string or a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return ""


def read_call(call_id: str, name: str, arguments: Any) -> ToolCall:
    """A call from a body, its arguments a JSON string or an object."""
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments if arguments is not None else {})
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    return ToolCall(
        id=call_id, name=name, arguments=parsed if isinstance(parsed, dict) else None, raw_arguments=raw
    )


class History:
    """Builds the message list, remembering call names so that results (which carry only an id) get theirs."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.names: dict[str, str] = {}

    def user(self, text: str) -> None:
        if text:
            self.messages.append(UserMessage(content=text))

    def assistant(self, text: str, calls: list[ToolCall], reasoning: list[Reasoning] | None = None) -> None:
        self.names.update((c.id, c.name) for c in calls)
        reasoning = reasoning or []
        last = self.messages[-1] if self.messages else None
        # Responses sends reasoning, text and calls as items of their own: they make one message
        if isinstance(last, AssistantMessage) and (not text or not (last.text or last.tool_calls)):
            self.messages[-1] = AssistantMessage(
                text=last.text + text,
                reasoning=[*last.reasoning, *reasoning],
                tool_calls=[*last.tool_calls, *calls],
            )
        else:
            self.messages.append(AssistantMessage(text=text, reasoning=reasoning, tool_calls=calls))

    def result(self, call_id: str, content: str, *, name: str | None = None, error: bool = False) -> None:
        name = name or self.names.get(call_id, "")
        self.messages.append(
            ToolResultMessage(
                call_id=call_id, name=name, content=content, error="exception" if error else None
            )
        )


# --- tool calls written as text (Session(text_tool_calls=...)) ----------------------------------------------


def text_call_history(messages: list[Message], syntax: TextCallFormat) -> list[Message]:
    """The history as a server that writes tool calls as text reads it back: in that same text.

    Such a server never parsed the calls, and its template may not know structured ``tool_calls`` (or, like
    mistral-common, refuses results for calls it has no record of), so each assistant message goes back as its
    text with its calls written in the model's own syntax after it, and no structured calls. The results go
    back as the template would write a ``tool`` message: Hermes / Qwen as ``<tool_response>`` blocks in one user
    message (what the Qwen 2.5 / 3 templates render tool messages into), Mistral as ``[TOOL_RESULTS]`` blocks in
    one user message; Llama 3 as ``tool`` messages, which Llama templates (Meta's, vLLM's, Ollama's) render as
    the ``ipython`` role that has no user-message form. Consecutive user messages are joined into one: the
    Mistral templates require user and assistant messages to alternate.
    """
    out: list[Message] = []
    joinable = False  # the last message is a user message made here from results
    for message in messages:
        if isinstance(message, AssistantMessage) and message.tool_calls:
            text = _with_text_calls(message.text, message.tool_calls, syntax)
            out.append(message.model_copy(update={"text": text, "tool_calls": []}))
            joinable = False
        elif isinstance(message, ToolResultMessage) and syntax != "llama3":
            block = _text_result(message, syntax)
            last = out[-1] if out else None
            if joinable and isinstance(last, UserMessage):
                out[-1] = UserMessage(content=last.content + "\n" + block)
            else:
                out.append(UserMessage(content=block))
            joinable = True
        elif isinstance(message, UserMessage) and joinable and isinstance(out[-1], UserMessage):
            out[-1] = UserMessage(content=out[-1].content + "\n\n" + message.content)
            joinable = False
        else:
            out.append(message)
            joinable = False
    return out


def _call_json(call: ToolCall, arguments_key: str) -> str:
    return json.dumps({"name": call.name, arguments_key: arguments_object(call)}, ensure_ascii=False)


def _with_text_calls(text: str, calls: list[ToolCall], syntax: TextCallFormat) -> str:
    """The assistant's text followed by its calls, as the model writes them (and the templates render them)."""
    if syntax == "hermes":
        written = "\n".join(f"<tool_call>\n{_call_json(c, 'arguments')}\n</tool_call>" for c in calls)
        return _before(text) + written
    if syntax == "mistral":
        objects = ", ".join(_call_json(c, "arguments") for c in calls)
        return f"{text}[TOOL_CALLS][{objects}]"
    written = "; ".join(
        _call_json(c, "parameters") for c in calls
    )  # Llama: the JSON without the special token
    return _before(text) + written


def _before(text: str) -> str:
    """The text before the calls, ending in a line break (as the model wrote it, or as templates add one)."""
    return text if not text or text.endswith("\n") else text + "\n"


def _text_result(message: ToolResultMessage, syntax: TextCallFormat) -> str:
    if syntax == "hermes":
        return f"<tool_response>\n{tool_result_text(message)}\n</tool_response>"
    content = json.dumps({"content": tool_result_text(message)}, ensure_ascii=False)
    return f"[TOOL_RESULTS]{content}[/TOOL_RESULTS]"
