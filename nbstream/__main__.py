"""``python -m nbstream [prompt]``: one turn on the demo model in the terminal, no key and no network.

Text streams as it arrives while the example tool (a 2 s ``asyncio.sleep``) runs beside it.
"""

from __future__ import annotations

import asyncio
import sys

from . import Session, TextDelta, ToolCallReady, ToolError, ToolResult, ToolRunning, TurnFinished


async def slow_sum(a: int, b: int) -> int:
    """Add two integers, slowly.

    Args:
        a: first addend
        b: second addend
    """
    await asyncio.sleep(2)
    return a + b


async def main(prompt: str) -> int:
    async with Session(model="demo", tools=[slow_sum]) as session:
        print(f"> {prompt}")
        async for event in session.send(prompt):
            if isinstance(event, TextDelta):
                print(event.text, end="", flush=True)
            elif isinstance(event, ToolCallReady):
                print(f"\n  [tool] {event.name}({event.raw_arguments}) ready", flush=True)
            elif isinstance(event, ToolRunning):
                print(f"  [tool] {event.name} running…", flush=True)
            elif isinstance(event, ToolResult):
                print(f"  [tool] {event.name} → {event.output} in {event.duration:.2f} s", flush=True)
            elif isinstance(event, ToolError):
                print(f"  [tool] {event.name} failed ({event.kind}): {event.message}", flush=True)
            elif isinstance(event, TurnFinished):
                print(f"\n[turn {event.reason} after {event.steps} model responses]")
                return 0 if event.reason == "done" else 1
    return 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(" ".join(sys.argv[1:]) or "What is 2 + 3? Use slow_sum.")))
