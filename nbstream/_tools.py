"""Tools: plain Python functions from notebook cells, described to the model and run for its calls.

A ``Tool`` knows its JSON schema (from type hints and docstring, see ``_tool_schema``), validates the model's
arguments, and runs: ``async def`` tools on the session's loop, plain ``def`` tools in a fresh daemon thread
per call so the loop keeps streaming. Every failure becomes a ``ToolFailure`` whose message goes back to the
model. What the session can rely on, whatever the tool does:

- ``validate`` raises only ``ToolFailure`` (``invalid_arguments``), even when a pydantic validator raises
  ``KeyError`` or anything else. Keywords bound with ``functools.partial`` are neither shown nor settable.
- ``invoke`` returns the result as text, or raises ``ToolFailure`` or ``CancelledError``. Any exception of the
  tool is an ``exception`` failure of that call alone, including ``StopIteration``, ``KeyboardInterrupt`` and
  ``SystemExit``: the event loop lives on.
- Deadlines hold: on timeout or cancellation a tool gets ``_GRACE`` seconds to unwind, then ``invoke`` returns
  without it. A thread cannot be killed and a task may swallow its cancellation: such a tool is left behind,
  its late result or exception dropped quietly.
- A returned coroutine or other awaitable is awaited, so a plain ``def`` may return ``fetch_async(...)``. A
  returned generator or other iterator is an error that says to return a list: it holds no data yet.
- Results are cut at 20,000 characters, and making the text costs time bounded by that limit, not by the size
  of the value, so a huge return value cannot stall the loop (``_results``).
- A registry never hides one function behind another of the same name (see ``ToolRegistry``).
- A call runs in its caller's context (a task inherits it; a ``def`` tool's thread gets a copy), which is how
  the dispatcher captures what each call prints or logs (``_capture``).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import copy
import dataclasses
import inspect
import logging
import math
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, overload

from pydantic import ValidationError

from ._errors import ConfigurationError, NbstreamError
from ._events import ToolErrorKind
from ._loop import explain_foreign_loop
from ._model import ToolSpec
from ._results import serialize_result
from ._tool_schema import (
    ArgumentBinding,
    bind_function,
    describe_validation_error,
    function_name,
    function_origin,
    json_schema,
)

__all__ = ["Tool", "ToolFailure", "ToolRegistry", "serialize_result", "tool"]

log = logging.getLogger("nbstream")

_VALID_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # what OpenAI and Anthropic both accept
_GRACE = 0.2  # seconds a cancelled tool may take to unwind before its caller moves on without it


class ToolFailure(NbstreamError):
    """A tool call that produced no result; ``message`` is what the model is told."""

    def __init__(self, kind: ToolErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind: ToolErrorKind = kind
        self.message = message


@dataclass(frozen=True, eq=False)
class Tool:
    """A function the model may call. Build one with ``@tool`` or ``Tool.from_function``."""

    name: str
    description: str
    parameters: dict[str, Any]
    function: Callable[..., Any]
    timeout: float | None = None
    confirm: bool = False
    _binding: ArgumentBinding | None = field(default=None, repr=False, kw_only=True)
    """How arguments bind to ``function``: built from it when not given (``from_function`` gives the one it
    built the schema from, so the model is made and the docstring read once per tool)."""

    def __post_init__(self) -> None:
        if not callable(self.function):
            raise TypeError(
                f"tool {self.name!r}: function must be callable, not {type(self.function).__name__}"
            )
        if not isinstance(self.name, str) or not _VALID_NAME.match(self.name):
            raise ValueError(
                f"tool name {self.name!r} is not valid: "
                "use 1 to 64 letters, digits, '_' or '-' (pass name=...)"
            )
        if self.timeout is not None and (
            isinstance(self.timeout, bool)
            or not isinstance(self.timeout, (int, float))
            or not math.isfinite(self.timeout)
            or self.timeout <= 0
        ):
            raise ValueError(f"tool {self.name}: timeout must be a positive number of seconds or None")
        if self._binding is None:
            object.__setattr__(self, "_binding", bind_function(self.function, self.name)[0])

    @classmethod
    def from_function(
        cls,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        timeout: float | None = None,
        confirm: bool = False,
    ) -> Tool:
        """Describe ``fn`` from its signature and docstring; options override what is read from it.

        Given a ``Tool``, returns a copy with the options applied.
        """
        if isinstance(fn, Tool):
            changes: dict[str, Any] = {"confirm": confirm or fn.confirm}
            if name is not None:
                changes["name"] = name
            if description is not None:
                changes["description"] = description
            if timeout is not None:
                changes["timeout"] = timeout
            return dataclasses.replace(fn, **changes)
        tool_name = name if name is not None else function_name(fn)
        binding, documented = bind_function(fn, tool_name)
        return cls(
            name=tool_name,
            description=description if description is not None else documented,
            parameters=json_schema(binding, tool_name),
            function=fn,
            timeout=timeout,
            confirm=confirm,
            _binding=binding,
        )

    @property
    def is_async(self) -> bool:
        call = getattr(self.function, "__call__", None)  # noqa: B004 - an object with an async __call__
        return inspect.iscoroutinefunction(self.function) or inspect.iscoroutinefunction(call)

    @property
    def spec(self) -> ToolSpec:
        """What the model is told; a fresh copy, so a provider adapter may adjust it freely."""
        return ToolSpec(self.name, self.description, copy.deepcopy(self.parameters))

    def validate(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The keyword arguments for a call, validated (nested models built); raises ``ToolFailure``."""
        if not isinstance(arguments, dict):
            raise ToolFailure(
                "invalid_arguments",
                f"invalid arguments for {self.name}: expected a JSON object, got {type(arguments).__name__}",
            )
        binding = self._bound()
        try:
            return binding.validate(arguments)
        except ValidationError as exc:
            message = describe_validation_error(exc, self.name, binding.names)
            raise ToolFailure("invalid_arguments", message) from None
        except BaseException as exc:  # pydantic passes on all but ValueError / AssertionError from validators
            message = f"invalid arguments for {self.name}: a validator raised {_exception_text(exc)}"
            raise ToolFailure("invalid_arguments", message) from exc

    async def invoke(self, kwargs: dict[str, Any], *, timeout: float | None) -> str:
        """Run the tool with validated ``kwargs``; the serialized result, or ``ToolFailure``.

        The tool's own ``timeout`` wins over the argument. Cancelling the caller cancels an async tool (giving
        it ``_GRACE`` seconds to unwind) or drops a sync tool's result; the ``CancelledError`` propagates.
        """
        limit = self.timeout if self.timeout is not None else timeout
        args, named = self._bound().split(kwargs)
        task = asyncio.ensure_future(self._run(args, named))
        try:
            done, _ = await asyncio.wait({task}, timeout=limit)
        except asyncio.CancelledError:
            await self._stop(task)
            raise
        if not done:
            await self._stop(task)
            raise ToolFailure("timeout", f"{self.name} timed out after {float(limit or 0)!r} s")
        if task.cancelled():  # the tool cancelled itself: the turn was not stopped
            raise ToolFailure("exception", "CancelledError: the tool was cancelled from inside")
        failure = task.exception()
        if isinstance(failure, ToolFailure):
            raise failure
        if failure is not None:
            raise ToolFailure(
                "exception", explain_foreign_loop(failure) or _exception_text(failure)
            ) from failure
        return serialize_result(task.result())

    async def _run(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            if self.is_async:
                value = self.function(*args, **kwargs)
            else:
                value = await _run_in_thread(self.function, args, kwargs, f"nbstream-tool:{self.name}")
            if inspect.isawaitable(value):  # also a sync def (or lambda) that returns a coroutine
                value = await value
        except (KeyboardInterrupt, SystemExit) as exc:  # a task re-raises these out of the loop, ending it
            raise ToolFailure("exception", _exception_text(exc)) from None
        if isinstance(value, (Iterator, AsyncIterator)):
            raise ToolFailure("exception", _not_data(self.name, value))
        return value

    async def _stop(self, task: asyncio.Future[Any]) -> None:
        """Cancel the call and give it ``_GRACE`` seconds to unwind; one that ignores that is left behind."""
        task.cancel()
        try:
            await asyncio.wait({task}, timeout=_GRACE)
        finally:
            if not task.done():
                log.warning(
                    "tool %s ignored its cancellation: it is left running, its result dropped", self.name
                )
            task.add_done_callback(_retrieve)

    def _bound(self) -> ArgumentBinding:
        binding = self._binding
        assert binding is not None  # __post_init__ made it
        return binding

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the plain function, so a decorated tool stays usable in the notebook."""
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        options = "".join(
            [
                f", timeout={self.timeout!r}" if self.timeout is not None else "",
                ", confirm=True" if self.confirm else "",
            ]
        )
        return f"Tool({self.name!r}{options})"


def _exception_text(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Mark a stopped call's exception as seen: the caller reported the timeout or cancellation instead."""
    if not task.cancelled():
        task.exception()


def _not_data(name: str, value: object) -> str:
    """Why a returned iterator is refused (the model would see ``<generator object …>``), and the fix."""
    if isinstance(value, AsyncIterator):
        what, fix = "an async iterator", "[item async for item in ...]"
    else:
        what, fix = "an iterator", "list(...)"
    return f"{name} returned {what} ({type(value).__name__}), not data: return a list instead, e.g. {fix}"


async def _run_in_thread(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], name: str
) -> Any:
    """Run ``fn`` in a new daemon thread; no pool, so no idle thread outlives the call.

    It runs in a copy of the caller's context: context variables, and with them the call's output capture,
    reach the thread."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()
    context = contextvars.copy_context()

    def settle(value: Any, error: BaseException | None) -> None:
        if future.done():  # cancelled or timed out meanwhile: the late result is dropped
            return
        if error is None:
            future.set_result(value)
        else:
            future.set_exception(error)

    def work() -> None:
        value: Any = None
        error: BaseException | None = None
        try:
            value = context.run(fn, *args, **kwargs)
        except StopIteration as exc:  # a future refuses it, and would then never settle
            error = ToolFailure("exception", _exception_text(exc))
        except Exception as exc:
            error = exc
        except BaseException as exc:  # SystemExit, KeyboardInterrupt: never into the loop
            error = ToolFailure("exception", _exception_text(exc))
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting any more
            loop.call_soon_threadsafe(settle, value, error)

    threading.Thread(target=work, name=name, daemon=True).start()
    return await future


@overload
def tool(fn: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    confirm: bool = False,
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    confirm: bool = False,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a ``Tool`` of a function: ``@tool`` or ``@tool(timeout=5, confirm=True)``."""

    def make(function: Callable[..., Any]) -> Tool:
        return Tool.from_function(
            function, name=name, description=description, timeout=timeout, confirm=confirm
        )

    return make(fn) if fn is not None else make


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

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

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
