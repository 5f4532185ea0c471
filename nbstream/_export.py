"""A conversation as a file: ``.json`` (loadable), ``.md``, or ``.html`` (written by ``_export_html``).

Everything is built from the history (``Session.messages``): prompts and their images, assistant text, its
reasoning (folded), tool calls with their arguments, results, images and errors, tool durations
(``ToolResultMessage.duration``), token usage, stream errors. Nothing else of the session is written: no key,
header or base URL, only the model's label (``"anthropic:claude-x"``). The markdown names each image on a line
(a reader shows no ``data:`` image); the HTML embeds them.

``.json`` round-trips: ``Session.load(path, ...)`` continues the conversation.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
from collections.abc import Sequence

from ._export_html import (
    arguments_text,
    assistant_meta,
    duration_text,
    error_text,
    image_label,
    reasoning_text,
    results_by_call,
    to_html,
)
from ._images import ImageData
from ._messages import MESSAGES, AssistantMessage, Message, ToolCall, ToolResultMessage, UserMessage

__all__ = [
    "FORMAT",
    "SUFFIXES",
    "Conversation",
    "export",
    "load",
    "to_markdown",
]

FORMAT = "nbstream.conversation"
VERSION = 1
SUFFIXES = (".md", ".html", ".json")


class Conversation:
    """What an export holds: the history, and the two things that say how it was made."""

    __slots__ = ("messages", "model", "system")

    def __init__(self, messages: Sequence[Message], *, model: str = "", system: str | None = None) -> None:
        self.messages = list(messages)
        self.model = model
        self.system = system


# -- files ---------------------------------------------------------------------------------------------------


def export(conversation: Conversation, path: str | os.PathLike[str]) -> pathlib.Path:
    """Write ``conversation`` to ``path`` in the format its suffix names; returns the path."""
    target = pathlib.Path(path)
    suffix = target.suffix.lower()
    if suffix == ".json":
        text = to_json(conversation)
    elif suffix == ".md":
        text = to_markdown(conversation)
    elif suffix == ".html":
        text = to_html(conversation)
    else:
        raise ValueError(
            f"cannot export to {target.name!r}: the suffix must be .md (markdown), .html (a self-contained page) "
            "or .json (loadable with Session.load)"
        )
    target.write_text(text, encoding="utf-8")
    return target


def to_json(conversation: Conversation) -> str:
    document = {
        "format": FORMAT,
        "version": VERSION,
        "model": conversation.model,
        "system": conversation.system,
        "messages": MESSAGES.dump_python(conversation.messages, mode="json"),
    }
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"


def load(path: str | os.PathLike[str]) -> Conversation:
    """Read a ``.json`` export back (the history is validated like any other)."""
    target = pathlib.Path(path)
    try:
        document = json.loads(target.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ValueError(f"{target.name} is not an nbstream conversation (.json export): {error}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(
            f"{target.name} is not an nbstream conversation (.json export of chat/session.export)"
        )
    if document.get("version") != VERSION:
        raise ValueError(f"{target.name}: unsupported conversation version {document.get('version')!r}")
    system = document.get("system")
    return Conversation(
        MESSAGES.validate_python(document.get("messages", [])),
        model=str(document.get("model") or ""),
        system=system if isinstance(system, str) else None,
    )


# -- markdown ------------------------------------------------------------------------------------------------


def _fence(text: str, info: str = "") -> str:
    """A code fence longer than any backtick run inside ``text``."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{text.rstrip(chr(10))}\n{ticks}"


def to_markdown(conversation: Conversation) -> str:
    lines = [f"# Conversation with {conversation.model or 'a model'}", ""]
    if conversation.system:
        lines += ["**System prompt**", "", _fence(conversation.system, "text"), ""]
    results = results_by_call(conversation.messages)
    for index, message in enumerate(conversation.messages):
        if isinstance(message, UserMessage):
            lines += ["## User", "", message.content, "", *_markdown_images(message.images)]
        elif isinstance(message, AssistantMessage):
            lines += ["## Assistant", ""]
            reasoning = reasoning_text(message)
            if reasoning:
                lines += [
                    "<details><summary>Reasoning</summary>",
                    "",
                    _fence(reasoning, "text"),
                    "",
                    "</details>",
                    "",
                ]
            if message.text:
                lines += [message.text, ""]
            for call in message.tool_calls:
                lines += _markdown_call(call, results.get((index, call.id)))
            if message.error is not None:
                lines += [f"> **Stream error** ({message.error.kind}): {_one_line(error_text(message))}", ""]
            meta = assistant_meta(message)
            if meta:
                lines += [f"*{meta}*", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _markdown_call(call: ToolCall, result: ToolResultMessage | None) -> list[str]:
    lines = [
        f"### Tool call `{call.name}` ({call.id})",
        "",
        "Arguments:",
        "",
        _fence(arguments_text(call), "json"),
        "",
    ]
    if call.error:
        lines += [f"Arguments error: {_one_line(call.error)}", ""]
    if result is None:
        return [*lines, "No result.", ""]
    state = f"error: {result.error}" if result.error else "result"
    timing = f", {duration_text(result.duration)}" if result.duration is not None else ""
    return [
        *lines,
        f"{state.capitalize()}{timing}:",
        "",
        _fence(result.content, "text"),
        "",
        *_markdown_images(result.images),
    ]


def _markdown_images(images: Sequence[ImageData]) -> list[str]:
    """One line per image (a markdown reader shows no ``data:`` image): its type and size."""
    return [*(f"🖼 {image_label(image)}  " for image in images), ""] if images else []


def _one_line(text: str) -> str:
    return " ".join(text.split())
