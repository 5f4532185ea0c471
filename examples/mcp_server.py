"""A small offline MCP server for trying MCP tools in a notebook: units, a slow survey, a bar chart.

It needs only the MCP SDK (``pip install "nbstream[mcp]"``) and runs over stdio, started by nbstream::

    import sys
    from nbstream import MCPServer, StreamChat

    chat = StreamChat("anthropic:claude-sonnet-4-5", mcp=[MCPServer([sys.executable, "examples/mcp_server.py"])])
    chat

Tools: ``convert`` (a length, mass or temperature, with structured output), ``survey`` (slow: it reports its
progress after every sample, shown live in the tool's card; Stop cancels it on the server) and ``chart`` (a
bar chart as a PNG image, which the model sees where its provider takes images in tool results). A failure
the tool expects is a ``ToolError``: the model reads its message. Run it by hand with ``--http`` to serve
Streamable HTTP on http://127.0.0.1:8765/mcp instead.
"""

from __future__ import annotations

import random
import struct
import sys
import zlib

import anyio
from mcp.server.mcpserver import Context, Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel

server = MCPServer("units", instructions="Unit conversions, a slow survey and bar charts, all offline.")

_TO_BASE = {  # unit → (kind, factor to the kind's base unit)
    "mm": ("length", 0.001),
    "cm": ("length", 0.01),
    "m": ("length", 1.0),
    "km": ("length", 1000.0),
    "in": ("length", 0.0254),
    "ft": ("length", 0.3048),
    "mi": ("length", 1609.344),
    "g": ("mass", 0.001),
    "kg": ("mass", 1.0),
    "lb": ("mass", 0.45359237),
    "oz": ("mass", 0.028349523125),
}
_TEMPERATURES = {"C", "F", "K"}


class Converted(BaseModel):
    value: float
    unit: str


@server.tool()
def convert(value: float, from_unit: str, to_unit: str) -> Converted:
    """Convert a length (mm, cm, m, km, in, ft, mi), a mass (g, kg, lb, oz) or a temperature (C, F, K)."""
    if from_unit in _TEMPERATURES and to_unit in _TEMPERATURES:
        kelvin = {"C": value + 273.15, "F": (value - 32) * 5 / 9 + 273.15, "K": value}[from_unit]
        result = {"C": kelvin - 273.15, "F": (kelvin - 273.15) * 9 / 5 + 32, "K": kelvin}[to_unit]
        return Converted(value=round(result, 6), unit=to_unit)
    if from_unit not in _TO_BASE or to_unit not in _TO_BASE:
        known = ", ".join([*_TO_BASE, *sorted(_TEMPERATURES)])
        raise ToolError(f"unknown unit: the units are {known}")
    (kind, factor), (other, to_factor) = _TO_BASE[from_unit], _TO_BASE[to_unit]
    if kind != other:
        raise ToolError(f"cannot convert a {kind} ({from_unit}) to a {other} ({to_unit})")
    return Converted(value=round(value * factor / to_factor, 6), unit=to_unit)


@server.tool()
async def survey(samples: int, ctx: Context, seconds_each: float = 0.5) -> dict[str, float]:
    """Take `samples` temperature readings, one every `seconds_each` seconds, reporting progress after each."""
    if not 1 <= samples <= 100:
        raise ToolError("samples must be from 1 to 100")
    readings: list[float] = []
    for number in range(1, samples + 1):
        await anyio.sleep(seconds_each)
        readings.append(round(random.gauss(21.0, 1.5), 2))
        await ctx.report_progress(number, samples, f"sample {number} of {samples}: {readings[-1]} °C")
    return {
        "samples": samples,
        "mean": round(sum(readings) / samples, 2),
        "min": min(readings),
        "max": max(readings),
    }


@server.tool()
def chart(values: list[float], title: str = "") -> list[str | Image]:
    """Draw the values as a bar chart (a PNG image); the text says what it shows."""
    if not values or len(values) > 50:
        raise ToolError("give 1 to 50 values")
    caption = f"{title or 'Bar chart'}: {len(values)} bars, from {min(values):g} to {max(values):g}"
    return [caption, Image(data=_bars_png(values), format="png")]


def _bars_png(values: list[float], width: int = 320, height: int = 160) -> bytes:
    """A bar chart as PNG bytes, drawn pixel by pixel (no plotting library needed)."""
    low, high = min(0.0, *values), max(0.0, *values)
    span = (high - low) or 1.0
    zero = int((high / span) * (height - 1))
    slot = width // len(values)
    pixels = [[(255, 255, 255)] * width for _ in range(height)]
    for index, value in enumerate(values):
        top = int(((high - value) / span) * (height - 1))
        for y in range(min(top, zero), max(top, zero) + 1):
            for x in range(index * slot + 1, (index + 1) * slot - 1):
                pixels[y][x] = (46, 117, 182) if value >= 0 else (200, 80, 60)
    for x in range(width):
        pixels[zero][x] = (60, 60, 60)
    raw = b"".join(b"\x00" + bytes(channel for pixel in row for channel in pixel) for row in pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


if __name__ == "__main__":
    if "--http" in sys.argv[1:]:
        server.run("streamable-http", host="127.0.0.1", port=8765)
    else:
        server.run()
