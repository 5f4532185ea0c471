"""The tools a session offers, by name: one function per name, re-run cells replace their own tools."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, overload

from ._errors import ConfigurationError
from ._model import ToolSpec
from ._tool_schema import function_origin
from ._tools import Tool

__all__ = ["ToolRegistry"]


class ToolRegistry:
    """The tools a session offers, by name.

    Adding a name again replaces the tool when both run the same code, judged by ``module.qualname``:
    re-running a notebook cell makes a new function object and must just work. So a method counts as its
    class's function whatever the instance: ``Database(...).query`` added again from a re-run cell (a new
    instance) replaces the old one. Different code under one name (``sales.query`` and ``users.query``) is a
    ``ConfigurationError``, since one would silently hide the other. Nothing in one list given to the
    constructor can be a re-run, so there any two different callables under one name are an error, methods of
    two instances included.

    Copy-on-write: writers build a new dict under a lock, readers (the session loop) use whichever dict is
    current, so the notebook thread may register tools while a turn runs.
    """

    def __init__(self, tools: Iterable[Tool | Callable[..., Any]] = ()) -> None:
        self._lock = threading.Lock()
        self._tools: dict[str, Tool] = {}
        self._retired: dict[str, Tool] = {}  # names no longer offered → what answers a late call (see retire)
        given: dict[str, Tool] = {}
        for item in tools:
            made = self.add(item)
            first = given.setdefault(made.name, made)
            if first.function != made.function:
                raise _name_clash(first, made)

    def add(self, tool: Tool | Callable[..., Any], **options: Any) -> Tool:
        """Register ``tool``; raises ``ConfigurationError`` if its name belongs to a different function."""
        made = tool if isinstance(tool, Tool) and not options else Tool.from_function(tool, **options)
        with self._lock:
            earlier = self._tools.get(made.name)
            if earlier is not None and function_origin(earlier.function) != function_origin(made.function):
                raise _name_clash(earlier, made)
            self._tools = {**self._tools, made.name: made}
            if made.name in self._retired:
                self._retired = {key: value for key, value in self._retired.items() if key != made.name}
        return made

    @overload
    def tool(self, fn: Callable[..., Any], /) -> Tool: ...

    @overload
    def tool(self, /, **options: Any) -> Callable[[Callable[..., Any]], Tool]: ...

    def tool(
        self, fn: Callable[..., Any] | None = None, /, **options: Any
    ) -> Tool | Callable[[Callable[..., Any]], Tool]:
        """Decorator that registers: ``@registry.tool`` or ``@registry.tool(timeout=5)``."""

        def register(function: Callable[..., Any]) -> Tool:
            return self.add(function, **options)

        return register(fn) if fn is not None else register

    def remove(self, name: str) -> None:
        with self._lock:
            if name not in self._tools:
                raise KeyError(f"no tool named {name!r}; the tools are: {', '.join(self._tools) or 'none'}")
            self._tools = {key: value for key, value in self._tools.items() if key != name}

    def retire(self, name: str, stand_in: Tool) -> None:
        """Stop offering ``name``, leaving ``stand_in`` to answer a call to it that comes anyway (a tool its MCP
        server no longer offers: the model is told that, not just that the name is unknown)."""
        with self._lock:
            self._retired = {**self._retired, name: stand_in}
            self._tools = {key: value for key, value in self._tools.items() if key != name}

    def get(self, name: str) -> Tool | None:
        """The tool offered as ``name``, else the stand-in of a retired one, else ``None``."""
        tool = self._tools.get(name)
        return tool if tool is not None else self._retired.get(name)

    def specs(self) -> list[ToolSpec]:
        return [item.spec for item in self._tools.values()]

    @property
    def names(self) -> list[str]:
        return list(self._tools)

    def __iter__(self) -> Iterator[Tool]:
        return iter(list(self._tools.values()))

    def __len__(self) -> int:
        return len(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __repr__(self) -> str:
        return f"ToolRegistry({self.names!r})"


def _name_clash(earlier: Tool, made: Tool) -> ConfigurationError:
    first, second = function_origin(earlier.function), function_origin(made.function)
    both = f"{first} and {second}" if first != second else f"{first} twice, as two different objects"
    return ConfigurationError(
        f"two different functions are named {made.name!r}: {both}; give one of them another name "
        "with tool(name=...) or Tool.from_function(fn, name=...)"
    )
