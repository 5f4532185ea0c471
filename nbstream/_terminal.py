"""``python -m nbstream``: one turn in the terminal, the widget's three areas as a scrolling log.

The answer is rendered as markdown (finished blocks are printed for good, only the block still streaming is
redrawn), each running tool has a live line with a spinner, a timer and the progress it reports, and each
result is printed on its own line when it arrives, followed by a line per image it returned. The model's
reasoning shows as a "thinking" line while it streams, then one line that says how long it took. Ctrl-C
stops the turn the way Stop does in the widget (the turn ends as ``cancelled``, exit status 130). Without a
terminal (a pipe, a test) nothing is redrawn: blocks, results and image lines are printed once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markdown import Markdown
from rich.spinner import Spinner
from rich.text import Text

from ._errors import NbstreamError
from ._events import (
    Event,
    MessageFinished,
    ReasoningDelta,
    StepStarted,
    StreamError,
    TextDelta,
    ToolAwaitingApproval,
    ToolCallReady,
    ToolCallStarted,
    ToolError,
    ToolOutput,
    ToolProgress,
    ToolResult,
    ToolRunning,
    TurnFinished,
)
from ._export_html import image_label
from ._model import REASONING_LEVELS, ReasoningLevel
from ._providers import PROVIDERS
from ._session import Session

DEFAULT_PROMPT = "What is 2 + 3?"
EXIT_INTERRUPTED = 130  # the shell's convention for a program stopped by SIGINT

__all__ = ["main", "run"]


async def slow_sum(a: int, b: int) -> int:
    """Add two integers, slowly.

    Args:
        a: first addend
        b: second addend
    """
    await asyncio.sleep(2)
    return a + b


def parser() -> argparse.ArgumentParser:
    keys = ", ".join(dict.fromkeys(p.key_variable for p in PROVIDERS.values() if p.key_variable))
    cli = argparse.ArgumentParser(
        prog="python -m nbstream",
        description="Run one turn of a tool-using model in the terminal: the answer streams as markdown while "
        "tools run beside it. With no options: the offline demo model and an example tool, slow_sum.",
        epilog=f"Keys come from the environment ({keys}), as in the library. "
        "Ctrl-C stops the turn (exit status 130).",
    )
    cli.add_argument("prompt", nargs="*", help=f'what to ask (default: "{DEFAULT_PROMPT}")')
    cli.add_argument(
        "--model",
        default="demo",
        help='"demo" (default, offline), ' + ", ".join(f'"{name}:<name>"' for name in PROVIDERS),
    )
    cli.add_argument("--system", help="a system prompt")
    cli.add_argument(
        "--tools",
        metavar="MODULE:FUNCTION,...",
        help="the tools, as importable functions (default: the example slow_sum; --tools '' for none)",
    )
    cli.add_argument(
        "--base-url", help="an OpenAI-compatible server for openai:<name> (e.g. vLLM, Ollama /v1)"
    )
    cli.add_argument(
        "--yes", action="store_true", help="run tools registered with confirm=True without asking"
    )
    cli.add_argument(
        "--reasoning",
        choices=REASONING_LEVELS,
        help="ask the model to reason first (shown as one line: how long it thought)",
    )
    return cli


def load_tools(spec: str) -> list[Callable[..., Any]]:
    """Import ``module:function`` names; a bad one is a usage error that says which and why."""
    tools = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        module_name, _, attribute = item.partition(":")
        if not module_name or not attribute:
            raise ValueError(f"{item!r} is not module:function")
        try:
            function = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as error:
            raise ValueError(f"cannot load {item!r}: {error}") from error
        if not callable(function):
            raise ValueError(f"{item!r} is not callable")
        tools.append(function)
    return tools


def _call(name: str, arguments: dict[str, Any] | None, raw: str) -> str:
    if arguments is None:
        return f"{name}({raw})"
    shown = ", ".join(f"{key}={json.dumps(value, ensure_ascii=False)}" for key, value in arguments.items())
    return f"{name}({shown if len(shown) <= 60 else shown[:57] + '...'})"


def _split_blocks(text: str) -> tuple[str, str]:
    """(finished markdown blocks, the block still streaming): cut at the last blank line outside a code fence."""
    cut = text.rfind("\n\n")
    while cut != -1:
        head = text[:cut]
        if sum(line.lstrip().startswith("```") for line in head.splitlines()) % 2 == 0:
            return head, text[cut + 2 :]
        cut = text.rfind("\n\n", 0, cut)
    return "", text


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


_BAR = 12
"""Cells of a progress bar in a running tool's line."""


def _progress(message: str | None, fraction: float | None) -> str:
    """`` · Downloading ━━━━━─────── 40%`` (a message alone, or a bar alone, as reported)."""
    bits = [message] if message else []
    if fraction is not None:
        done = round(fraction * _BAR)
        bits.append(f"{'━' * done}{'─' * (_BAR - done)} {fraction:.0%}")
    return "".join(f" · {bit}" for bit in bits)


_ENDS_REASONING = (TextDelta, ToolCallStarted, StepStarted, MessageFinished, StreamError, TurnFinished)


class _Turn:
    """Turns events into printed lines; its ``__rich__`` is the live area (the streaming block, running tools)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.text = ""
        self.calls: dict[str, str] = {}
        self.running: dict[str, tuple[str, float, Spinner]] = {}
        self.progress: dict[str, tuple[str | None, float | None]] = {}  # the newest of each running call
        self.thinking: tuple[float, Spinner] | None = None  # since when the model reasons, while it does
        self.tool_calls = 0
        self.last_error: str | None = None

    def __rich__(self) -> RenderableType:
        now = time.monotonic()
        lines: list[RenderableType] = []
        if self.thinking is not None:
            started, spinner = self.thinking
            spinner.update(text=Text(f"thinking… {now - started:.1f} s", style="dim italic"))
            lines.append(spinner)
        if self.text.strip():
            lines.append(Markdown(self.text))
        for call_id, (call, started, spinner) in self.running.items():
            progress = _progress(*self.progress.get(call_id, (None, None)))
            spinner.update(
                text=Text.assemble((call, "bold"), f"  running {now - started:.1f} s{progress}", style="cyan")
            )
            lines.append(spinner)
        return Group(*lines)

    def end_reasoning(self) -> None:
        """The step's answer or a call started (or the step ended): the reasoning becomes one line."""
        if self.thinking is not None:
            self.print(
                Text(f"💭 thought for {time.monotonic() - self.thinking[0]:.1f} s", style="dim italic")
            )
            self.thinking = None

    def print(self, renderable: RenderableType) -> None:
        self.console.print(renderable)

    def commit(self, everything: bool) -> None:
        """Print the finished blocks (all of the text at the end of a message) for good."""
        done, tail = (self.text, "") if everything else _split_blocks(self.text)
        if done.strip():
            self.print(Markdown(done))
        self.text = tail

    def handle(self, event: Event) -> None:
        if isinstance(event, _ENDS_REASONING):
            self.end_reasoning()
        if isinstance(event, ReasoningDelta):
            if self.thinking is None:
                self.thinking = (time.monotonic(), Spinner("dots", style="dim"))
        elif isinstance(event, TextDelta):
            self.text += event.text
            self.commit(everything=False)
        elif isinstance(event, MessageFinished):
            self.commit(everything=True)
        elif isinstance(event, ToolCallReady):
            self.calls[event.id] = _call(event.name, event.arguments, event.raw_arguments)
            self.tool_calls += 1
        elif isinstance(event, ToolRunning):
            call = self.calls.get(event.id, event.name)
            self.running[event.id] = (call, time.monotonic(), Spinner("dots", style="cyan"))
        elif isinstance(event, ToolProgress):
            message = event.message if event.message is not None else self.progress.get(event.id, (None,))[0]
            self.progress[event.id] = (message, event.fraction)
        elif isinstance(event, ToolResult):
            self.running.pop(event.id, None)
            self.progress.pop(event.id, None)
            output = event.output if len(event.output) <= 200 else event.output[:197] + "..."
            call = self.calls.get(event.id, event.name)
            self.print(
                Text.assemble(
                    ("✓ ", "green"), (call, "bold"), " → ", output, (f"  {event.duration:.2f} s", "dim")
                )
            )
            for image in event.images:
                self.print(Text(f"  🖼 {image_label(image)}"))
        elif isinstance(event, ToolError):
            self.running.pop(event.id, None)
            self.progress.pop(event.id, None)
            call = self.calls.get(event.id, event.name)
            self.print(
                Text.assemble(
                    ("✗ ", "red"), (call, "bold"), f" failed ({event.kind}): {event.message}", style="red"
                )
            )
        elif isinstance(event, ToolOutput):  # what the tool printed or logged, under its spinner
            name = self.calls.get(event.id, event.name).split("(", 1)[0]
            for line in event.text.rstrip("\n").split("\n"):
                self.print(Text.assemble(("  │ ", "dim"), (f"{name}: ", "dim"), (line, "dim")))
        elif isinstance(event, StreamError):
            self.last_error = event.message


async def run(
    prompt: str,
    *,
    model: str = "demo",
    tools: Sequence[Callable[..., Any]] = (slow_sum,),
    system: str | None = None,
    base_url: str | None = None,
    approve: bool = False,
    reasoning: ReasoningLevel | None = None,
    console: Console | None = None,
) -> int:
    """One turn, printed to ``console``; the exit status: 0 done, 130 stopped by Ctrl-C, 1 otherwise."""
    console = console or Console(highlight=False)
    started = time.monotonic()
    # previews=False: the terminal shows a call once it is ready, never its arguments while they stream
    session = Session(
        model=model, tools=tools, system=system, base_url=base_url, previews=False, reasoning=reasoning
    )
    turn = _Turn(console)
    interrupted = False

    def interrupt() -> None:
        nonlocal interrupted
        if interrupted:  # a second Ctrl-C: a tool thread that will not stop must not keep the terminal
            os._exit(EXIT_INTERRUPTED)
        interrupted = True
        session.cancel()

    loop = asyncio.get_running_loop()
    # On Windows there are no loop signal handlers: Ctrl-C raises KeyboardInterrupt, caught in main().
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, interrupt)
    console.print(Text.assemble(("> ", "bold magenta"), prompt))
    finished: TurnFinished | None = None
    live = Live(turn, console=console, refresh_per_second=12, transient=True) if console.is_terminal else None
    try:
        with live or contextlib.nullcontext():
            async for event in session.send(prompt):
                if isinstance(event, ToolAwaitingApproval):
                    (session.approve if approve else session.deny)(event.id)
                    if not approve:
                        turn.print(
                            Text(f"✗ {event.name} needs approval: run with --yes to allow it", style="red")
                        )
                turn.handle(event)
                if isinstance(event, TurnFinished):
                    finished = event
            turn.commit(everything=True)
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)
        await session.aclose()
    seconds = time.monotonic() - started
    if finished is None or finished.reason == "cancelled":
        console.print(Text(f"stopped after {seconds:.1f} s", style="yellow"))
        return EXIT_INTERRUPTED
    measured = finished.metrics.line() if finished.metrics is not None else f"{seconds:.1f} s"
    summary = (
        f"{finished.reason} · {_plural(finished.steps, 'model response')} · "
        f"{_plural(turn.tool_calls, 'tool call')} · {measured}"
    )
    if finished.reason == "done":
        console.print(Text(summary, style="dim"), soft_wrap=True)  # one line a script can read, however wide
        return 0
    console.print(Text(f"{summary}: {finished.message or turn.last_error or finished.reason}", style="red"))
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: parse, load the tools, run one turn."""
    cli = parser()
    args = cli.parse_args(argv)
    try:
        tools = load_tools(args.tools) if args.tools is not None else [slow_sum]
    except ValueError as error:
        cli.error(f"--tools: {error}")
    prompt = " ".join(args.prompt) or DEFAULT_PROMPT
    console = Console(highlight=False)
    try:
        return asyncio.run(
            run(
                prompt,
                model=args.model,
                tools=tools,
                system=args.system,
                base_url=args.base_url,
                approve=args.yes,
                reasoning=args.reasoning,
                console=console,
            )
        )
    except NbstreamError as error:  # a missing key, a bad base URL: say it, no traceback
        console.print(Text(f"error: {error}", style="red"))
        return 2
    except KeyboardInterrupt:  # where SIGINT cannot be handled on the loop (Windows)
        console.print(Text("stopped", style="yellow"))
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
