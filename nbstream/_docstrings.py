"""Docstrings → a tool's description and its parameters' descriptions (Google, NumPy and Sphinx styles)."""

from __future__ import annotations

import inspect
import re

__all__ = ["parse_docstring"]


_PARAMETER_SECTIONS = {
    "args",
    "arguments",
    "parameters",
    "params",
    "keyword args",
    "keyword arguments",
    "other parameters",
}
_OTHER_SECTIONS = {
    "returns",
    "return",
    "yields",
    "yield",
    "raises",
    "raise",
    "examples",
    "example",
    "note",
    "notes",
    "attributes",
    "see also",
    "warning",
    "warnings",
    "todo",
    "references",
}
_GOOGLE_HEADER = re.compile(r"^\s*([A-Za-z][A-Za-z ]*):\s*$")
_GOOGLE_ENTRY = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_UNDERLINE = re.compile(r"^\s*-{3,}\s*$")
_NUMPY_ENTRY = re.compile(r"^(\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)*)\s*(?::.*)?$")
_SPHINX_FIELD = re.compile(
    r"^\s*:(?:param|parameter|arg|argument|key|keyword|type|returns?|rtype|raises?|yields?)\b"
)
_SPHINX_PARAM = re.compile(
    r"^\s*:(?:param|parameter|arg|argument|key|keyword)\s+(?:[^:]*?\s+)?\*{0,2}(\w+)\s*:\s*(.*)$"
)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _google_header(lines: list[str], i: int) -> str | None:
    match = _GOOGLE_HEADER.match(lines[i])
    name = match.group(1).strip().lower() if match else None
    return name if name in _PARAMETER_SECTIONS or name in _OTHER_SECTIONS else None


def _numpy_header(lines: list[str], i: int) -> str | None:
    name = lines[i].strip().lower()
    is_header = i + 1 < len(lines) and _NUMPY_UNDERLINE.match(lines[i + 1]) is not None
    return name if is_header and (name in _PARAMETER_SECTIONS or name in _OTHER_SECTIONS) else None


def _join(parts: list[str]) -> str:
    return " ".join(part for part in parts if part)


def _google_parameters(lines: list[str], start: int, found: dict[str, str]) -> None:
    header_indent = _indent(lines[start])
    entry_indent: int | None = None
    name: str | None = None
    current: list[str] = []
    for line in lines[start + 1 :]:
        if not line.strip():
            continue
        indent = _indent(line)
        if indent <= header_indent:
            break
        if entry_indent is None:
            entry_indent = indent
        entry = _GOOGLE_ENTRY.match(line.strip()) if indent <= entry_indent else None
        if entry:
            name, current = entry.group(1), [entry.group(2).strip()]
        elif name is None:
            continue
        else:
            current.append(line.strip())
        found[name] = _join(current)


def _numpy_parameters(lines: list[str], start: int, found: dict[str, str]) -> None:
    header_indent = _indent(lines[start])
    names: list[str] = []
    current: list[str] = []
    for i in range(start + 2, len(lines)):
        line = lines[i]
        if not line.strip():
            continue
        if _numpy_header(lines, i) or _NUMPY_UNDERLINE.match(line):
            break
        indent = _indent(line)
        if indent < header_indent:
            break
        entry = _NUMPY_ENTRY.match(line.strip()) if indent == header_indent else None
        if indent == header_indent and entry is None:
            break
        if entry:
            names = [name.strip().lstrip("*") for name in entry.group(1).split(",")]
            current = []
        else:
            current.append(line.strip())
        for name in names:
            found[name] = _join(current)


def _sphinx_parameters(lines: list[str], found: dict[str, str]) -> None:
    for i, line in enumerate(lines):
        match = _SPHINX_PARAM.match(line)
        if not match:
            continue
        parts = [match.group(2).strip()]
        for follower in lines[i + 1 :]:
            if (
                not follower.strip()
                or _indent(follower) <= _indent(line)
                or follower.lstrip().startswith(":")
            ):
                break
            parts.append(follower.strip())
        found[match.group(1)] = _join(parts)


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """Split a docstring into (description, {parameter: description}).

    The description is the text before the first section (Google ``Args:``, numpy ``Parameters`` + dashes,
    Sphinx ``:param x:``); parameter texts come from whichever of the three styles the docstring uses.
    """
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    body_end = len(lines)
    found: dict[str, str] = {}
    for i in range(len(lines)):
        google, numpy = _google_header(lines, i), _numpy_header(lines, i)
        if (google or numpy or _SPHINX_FIELD.match(lines[i])) and body_end == len(lines):
            body_end = i
        if google in _PARAMETER_SECTIONS:
            _google_parameters(lines, i, found)
        elif numpy in _PARAMETER_SECTIONS:
            _numpy_parameters(lines, i, found)
    _sphinx_parameters(lines, found)
    description = "\n".join(lines[:body_end]).strip()
    return description, {name: text for name, text in found.items() if text}
