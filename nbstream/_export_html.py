"""A conversation as HTML: the self-contained ``.html`` page, and the static copy a saved notebook keeps.

Model output is untrusted. The HTML escapes every string it did not write itself; markdown goes through
markdown-it-py (a dependency of rich) with raw HTML off, images off (no external resource is ever loaded) and
its link check (no ``javascript:`` / ``data:`` links). Pages carry inline CSS only: no script, no URL to load,
light and dark by ``prefers-color-scheme``, and a Content-Security-Policy that forbids anything else. Images
are embedded as ``data:`` URLs of checked ``ImageData``; the static copy keeps at most ``STATIC_IMAGE_CHARS``.

The pieces every rendering reads off a message (its reasoning, each call's arguments and result, the usage
line, an image's label) live here too: ``_export`` builds its markdown from them, and imports this module for
``export()``, never the other way round.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from markdown_it import MarkdownIt

from ._images import ImageData
from ._messages import AssistantMessage, Message, ToolCall, ToolResultMessage, UserMessage

if TYPE_CHECKING:  # _export imports this module (export() writes pages with to_html)
    from ._export import Conversation

__all__ = [
    "STATIC_IMAGE_CHARS",
    "arguments_text",
    "assistant_meta",
    "duration_text",
    "error_text",
    "image_label",
    "reasoning_text",
    "render_markdown",
    "results_by_call",
    "static_html",
    "to_html",
]

STATIC_IMAGE_CHARS = 1_000_000
"""Base64 characters of images the static copy in a notebook embeds, in conversation order; the copy is sent
again at each turn's end, so it stays small."""

_CSS = """
.nbs{--fg:#1f2328;--muted:#59636e;--bg:#fff;--panel:#f6f8fa;--line:#d1d9e0;--accent:#0969da;--err:#cf222e;
color:var(--fg);background:var(--bg);font:14px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;
max-width:52rem;padding:0.5rem 1rem}
@media (prefers-color-scheme:dark){.nbs{--fg:#e6edf3;--muted:#9198a1;--bg:#0d1117;--panel:#151b23;
--line:#3d444d;--accent:#4493f8;--err:#f85149}}
.nbs h1{font-size:1.2rem;margin:0.5rem 0}
.nbs .turn{border-top:1px solid var(--line);padding:0.4rem 0}
.nbs .role{font-weight:600;font-size:0.8rem;text-transform:uppercase;letter-spacing:0.04em;color:var(--muted)}
.nbs .user .body{white-space:pre-wrap;background:var(--panel);border-radius:6px;padding:0.4rem 0.6rem}
.nbs pre{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:0.5rem;
overflow:auto;white-space:pre-wrap;word-break:break-word;font:12px/1.45 ui-monospace,Menlo,Consolas,monospace}
.nbs code{font-family:ui-monospace,Menlo,Consolas,monospace}
.nbs details.tool{border:1px solid var(--line);border-radius:6px;margin:0.4rem 0;padding:0.2rem 0.6rem}
.nbs details.tool.failed{border-color:var(--err)}
.nbs summary{cursor:pointer}
.nbs .meta{color:var(--muted);font-size:0.85em}
.nbs .err{color:var(--err)}
.nbs a{color:var(--accent)}
.nbs table{border-collapse:collapse}.nbs th,.nbs td{border:1px solid var(--line);padding:0.2rem 0.5rem}
.nbs .images{display:flex;flex-wrap:wrap;gap:0.4rem;margin:0.3rem 0}
.nbs .images img{max-width:240px;max-height:180px;border:1px solid var(--line);border-radius:4px}
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


def to_html(conversation: Conversation) -> str:
    """A self-contained page: inline CSS, no script, nothing to load."""
    title = html.escape(f"Conversation with {conversation.model or 'a model'}")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<meta name="color-scheme" content="light dark">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>{_CSS}body{{margin:0}}"
        "@media (prefers-color-scheme:dark){body{background:#0d1117}}</style>\n</head>\n<body>\n"
        f"{_body(conversation, heading=True)}\n</body>\n</html>\n"
    )


def static_html(
    conversation: Conversation, *, limit: int = 20_000, image_chars: int = STATIC_IMAGE_CHARS
) -> str:
    """The fragment a notebook output keeps for readers without widgets (GitHub, nbviewer, nbconvert).

    Readable without its ``<style>`` too (some renderers strip it): headings, ``<pre>`` and ``<details>``.
    A tool result or text longer than ``limit`` characters is cut, and images past ``image_chars`` characters
    of base64 become notes, so the saved notebook stays small.
    """
    label = html.escape(conversation.model or "a model")
    turns = sum(isinstance(m, UserMessage) for m in conversation.messages)
    note = (
        f'<p class="meta">nbstream StreamChat ({label}): a static copy of the conversation, {turns} '
        f"prompt{'s' if turns != 1 else ''}. Run the notebook to see the live widget.</p>"
    )
    body = _body(conversation, heading=False, note=note, limit=limit, images=_Images(image_chars))
    return f"<style>{_CSS}</style>{body}"


class _Images:
    """Embeds images while its budget of base64 characters lasts (``None``: no budget); a note after that."""

    def __init__(self, chars: int | None) -> None:
        self.left = chars

    def html(self, images: Sequence[ImageData]) -> str:
        parts = []
        for image in images:
            label = html.escape(image_label(image))
            if self.left is not None and len(image.data) > self.left:
                parts.append(f'<span class="meta">🖼 {label} (not kept in this copy)</span>')
                continue
            if self.left is not None:
                self.left -= len(image.data)
            # a checked ImageData: the URL is data:image/<type>;base64,<base64>, nothing else
            parts.append(f'<img src="{html.escape(image.data_url)}" alt="{label}" title="{label}">')
        return f'<div class="images">{"".join(parts)}</div>' if parts else ""


def _body(
    conversation: Conversation,
    *,
    heading: bool,
    note: str = "",
    limit: int | None = None,
    images: _Images | None = None,
) -> str:
    images = images or _Images(None)
    parts = ['<div class="nbs">']
    if heading:
        parts.append(f"<h1>Conversation with {html.escape(conversation.model or 'a model')}</h1>")
    parts.append(note)
    if conversation.system:
        parts.append(
            '<details class="turn system"><summary class="role">System prompt</summary>'
            f"<pre>{_esc(conversation.system, limit)}</pre></details>"
        )
    results = results_by_call(conversation.messages)
    for index, message in enumerate(conversation.messages):
        if isinstance(message, UserMessage):
            parts.append(
                '<div class="turn user"><div class="role">User</div>'
                f'<div class="body">{_esc(message.content, limit)}</div>{images.html(message.images)}</div>'
            )
        elif isinstance(message, AssistantMessage):
            parts.append(_html_assistant(message, index, results, limit, images))
    if not conversation.messages:
        parts.append('<p class="meta">No messages yet.</p>')
    parts.append("</div>")
    return "".join(parts)


def _html_assistant(
    message: AssistantMessage,
    index: int,
    results: dict[tuple[int, str], ToolResultMessage],
    limit: int | None,
    images: _Images,
) -> str:
    parts = ['<div class="turn assistant"><div class="role">Assistant</div>']
    reasoning = reasoning_text(message)
    if reasoning:
        parts.append(
            f'<details class="reasoning"><summary>Reasoning</summary><pre>{_esc(reasoning, limit)}</pre></details>'
        )
    if message.text:
        parts.append(f'<div class="body">{render_markdown(_cut(message.text, limit))}</div>')
    for call in message.tool_calls:
        parts.append(_html_call(call, results.get((index, call.id)), limit, images))
    if message.error is not None:
        parts.append(
            f'<p class="err">Stream error ({html.escape(message.error.kind)}): {_esc(error_text(message), limit)}</p>'
        )
    meta = assistant_meta(message)
    if meta:
        parts.append(f'<div class="meta">{html.escape(meta)}</div>')
    parts.append("</div>")
    return "".join(parts)


def _html_call(call: ToolCall, result: ToolResultMessage | None, limit: int | None, images: _Images) -> str:
    failed = result is None or result.error is not None
    if result is None:
        state = "no result"
    elif result.error:
        state = f"error: {result.error}"
    else:
        state = "done"
    timing = (
        f" · {duration_text(result.duration)}" if result is not None and result.duration is not None else ""
    )
    parts = [
        f'<details class="tool{" failed" if failed else ""}" open><summary><code>{html.escape(call.name)}</code> '
        f'<span class="meta">{html.escape(state + timing)} · {html.escape(call.id)}</span></summary>',
        f'<div class="meta">arguments</div><pre>{_esc(arguments_text(call), limit)}</pre>',
    ]
    if call.error:
        parts.append(f'<p class="err">{_esc(call.error, limit)}</p>')
    if result is not None:
        label = "error" if result.error else "result"
        css = ' class="err"' if result.error else ""
        parts.append(f'<div class="meta">{label}</div><pre{css}>{_esc(result.content, limit)}</pre>')
        parts.append(images.html(result.images))
    parts.append("</details>")
    return "".join(parts)


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.disable("image")  # an image would be loaded from wherever the model points: shown as a link instead

    def link_open(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        tokens[idx].attrSet("rel", "noopener noreferrer nofollow")
        return str(renderer.renderToken(tokens, idx, options, env))

    md.add_render_rule("link_open", link_open)
    return md


def render_markdown(text: str) -> str:
    """Untrusted markdown as safe HTML: raw HTML is escaped, images become links, unsafe links are refused."""
    return _markdown().render(text)


def _cut(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    return text[:limit] + f"\n… ({len(text) - limit:,} more characters)"


def _esc(text: str, limit: int | None) -> str:
    return html.escape(_cut(text, limit), quote=True)


# -- what every rendering reads off a message (the markdown too) ---------------------------------------------


def reasoning_text(message: AssistantMessage) -> str | None:
    """The text of the message's reasoning blocks, joined (blocks the provider sent only encrypted have
    none); shown folded."""
    text = "\n\n".join(block.text for block in message.reasoning if block.text)
    return text or None


def image_label(image: ImageData) -> str:
    """``image/png 640×480`` (the type alone when the size is unknown)."""
    size = f" {image.width}×{image.height}" if image.width and image.height else ""
    return f"{image.media_type}{size}"


def results_by_call(messages: Sequence[Message]) -> dict[tuple[int, str], ToolResultMessage]:
    """Each call's result, by (index of its assistant message, call id): ids may repeat across responses,
    and the results that follow a response answer that response's calls."""
    found: dict[tuple[int, str], ToolResultMessage] = {}
    answering = -1
    for index, message in enumerate(messages):
        if isinstance(message, AssistantMessage):
            answering = index
        elif isinstance(message, ToolResultMessage):
            found.setdefault((answering, message.call_id), message)
        else:
            answering = -1
    return found


def arguments_text(call: ToolCall) -> str:
    """The arguments as shown: indented JSON, or the raw text when they did not parse."""
    if call.arguments is None:
        return call.raw_arguments
    return json.dumps(call.arguments, ensure_ascii=False, indent=2)


def assistant_meta(message: AssistantMessage) -> str:
    """The line under a response: its token counts, and how it stopped when that was unusual."""
    bits = []
    if message.usage is not None:
        if message.usage.input_tokens is not None:
            bits.append(f"{message.usage.input_tokens:,} input tokens")
        if message.usage.output_tokens is not None:
            bits.append(f"{message.usage.output_tokens:,} output tokens")
    if message.stop_reason not in (None, "stop", "tool_calls"):
        bits.append(f"stopped: {message.stop_reason}")
    return " · ".join(bits)


def error_text(message: AssistantMessage) -> str:
    """The response's stream error, prefixed by the provider that reported it."""
    error = message.error
    if error is None:
        return ""
    return f"{error.provider}: {error.message}" if error.provider else error.message


def duration_text(value: float) -> str:
    """A tool's duration: milliseconds below a second, seconds above."""
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
