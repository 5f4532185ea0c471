"""Tools: plain Python functions from notebook cells, described to the model and run for its calls.

A ``Tool`` knows its JSON schema (from type hints and docstring, see ``_tool_schema``), validates the model's
arguments, and runs: ``async def`` tools on the session's loop, plain ``def`` tools in a fresh daemon thread
per call so the loop keeps streaming. Every failure becomes a ``ToolFailure`` whose message goes back to the
model. What the session can rely on, whatever the tool does:

- ``validate`` raises only ``ToolFailure`` (``invalid_arguments``), even when a pydantic validator raises
  ``KeyError`` or anything else. Keywords bound with ``functools.partial`` are neither shown nor settable.
- ``run`` returns the result as text and images (``invoke``: the text alone), or raises ``ToolFailure`` or
  ``CancelledError``. Any exception of the tool is an ``exception`` failure of that call alone, including
  ``StopIteration``, ``KeyboardInterrupt`` and ``SystemExit``: the event loop lives on.
- Deadlines hold: on timeout or cancellation a tool gets ``_GRACE`` seconds to unwind, then ``invoke`` returns
  without it. A thread cannot be killed and a task may swallow its cancellation: such a tool is left behind,
  its late result or exception dropped quietly.
- A returned coroutine or other awaitable is awaited, so a plain ``def`` may return ``fetch_async(...)``. A
  returned generator or other iterator is an error that says to return a list: it holds no data yet.
- Results are cut at 20,000 characters, and making the text costs time bounded by that limit, not by the size
  of the value, so a huge return value cannot stall the loop (``_results``). Images among the returned value
  (a figure, a PIL image, image bytes...) are converted off the loop, in a thread; one that cannot be sent
  (past ``MAX_IMAGE_BYTES``) fails the call with a message saying so.
- Progress: a parameter annotated ``Progress`` gets the call's reporter (``run(progress=...)``, a silent one
  when none is given), never a value from the model; the reporter is also ``current_progress()`` for the whole
  call, in its task or thread.
- A generator function (``def`` with ``yield``) is a *generator tool*: it runs in its thread like any ``def``;
  each value it yields is a progress update (``_progress.report_yielded``) and its ``return`` value is the
  result. On a timeout or a stop it is closed at its next ``yield`` (``GeneratorExit`` there, so its ``finally``
  blocks run); a thread cannot be interrupted between two yields. An async generator function cannot return a
  value, so it is refused when the tool is made (``ConfigurationError``): declare a ``progress: Progress``
  parameter in an ``async def`` instead.
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
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, overload

from pydantic import ValidationError

from ._errors import ConfigurationError, NbstreamError
from ._events import ToolErrorKind
from ._loop import explain_foreign_loop
from ._model import ToolSpec
from ._progress import Progress, report_yielded, reporting
from ._results import ToolReturn, has_images, serialize_result, tool_return
from ._tool_schema import (
    ArgumentBinding,
    bind_function,
    describe_validation_error,
    function_name,
    json_schema,
)

__all__ = ["Tool", "ToolFailure", "serialize_result", "tool"]

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
        if _has_flag(self.function, inspect.isasyncgenfunction):
            raise ConfigurationError(
                f"tool {self.name} is an async generator function, which cannot return a result: "
                "make it an async def that returns the result, and report progress through a parameter "
                "annotated nbstream.Progress (def f(..., progress: Progress))"
            )
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
        return _has_flag(self.function, inspect.iscoroutinefunction)

    @property
    def is_generator(self) -> bool:
        """A generator tool: its yields are progress, its ``return`` value the result."""
        return _has_flag(self.function, inspect.isgeneratorfunction)

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

    async def invoke(
        self, kwargs: dict[str, Any], *, timeout: float | None, progress: Progress | None = None
    ) -> str:
        """The text of ``run``'s result (its images left out)."""
        return (await self.run(kwargs, timeout=timeout, progress=progress)).text

    async def run(
        self, kwargs: dict[str, Any], *, timeout: float | None, progress: Progress | None = None
    ) -> ToolReturn:
        """Run the tool with validated ``kwargs``; its result as text and images, or ``ToolFailure``.

        The tool's own ``timeout`` wins over the argument. Cancelling the caller cancels an async tool (giving
        it ``_GRACE`` seconds to unwind), closes a generator tool at its next ``yield``, or drops a sync tool's
        result; the ``CancelledError`` propagates. ``progress`` is the call's reporter (see the module
        docstring).
        """
        limit = self.timeout if self.timeout is not None else timeout
        binding = self._bound()
        args, named = binding.split(kwargs)
        reporter = progress if progress is not None else Progress()
        if binding.progress is not None:
            named[binding.progress] = reporter
        with reporting(reporter) if progress is not None else contextlib.nullcontext(reporter):
            task = asyncio.ensure_future(self._run(args, named, reporter))  # the task copies the context now
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
        return task.result()

    async def _run(self, args: tuple[Any, ...], kwargs: dict[str, Any], progress: Progress) -> ToolReturn:
        # set when the call ends: a generator tool still running is closed at its next yield
        stopped = threading.Event()
        thread_name = f"nbstream-tool:{self.name}"
        try:
            if self.is_async:
                value = self.function(*args, **kwargs)
            elif self.is_generator:
                driven = (self.function, args, kwargs, progress, stopped)
                value = await _run_in_thread(_drive_generator, driven, {}, thread_name)
            else:
                value = await _run_in_thread(self.function, args, kwargs, thread_name)
            if inspect.isawaitable(value):  # also a sync def (or lambda) that returns a coroutine
                value = await value
        except (KeyboardInterrupt, SystemExit) as exc:  # a task re-raises these out of the loop, ending it
            raise ToolFailure("exception", _exception_text(exc)) from None
        finally:
            stopped.set()
        if isinstance(value, (Iterator, AsyncIterator)):
            raise ToolFailure("exception", _not_data(self.name, value))
        if not has_images(value):
            return tool_return(value)
        try:  # rendering a figure or encoding a large image must not hold up the loop
            return await _run_in_thread(tool_return, (value,), {}, f"nbstream-image:{self.name}")
        except ToolFailure:
            raise
        except Exception as exc:
            message = f"{self.name} returned an image that cannot be sent: {_exception_text(exc)}"
            raise ToolFailure("exception", message) from exc

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


def _has_flag(fn: Callable[..., Any], test: Callable[[Any], bool]) -> bool:
    """``test`` (``inspect.iscoroutinefunction``...) of a function, or of a callable object's ``__call__``."""
    return test(fn) or test(getattr(fn, "__call__", None))  # noqa: B004 - an object with such a __call__


def _drive_generator(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    progress: Progress,
    stopped: threading.Event,
) -> Any:
    """Run a generator tool to its ``return`` value, reporting what it yields (in the tool's thread); closed at
    its next yield once ``stopped`` is set, and on any error."""
    generator = fn(*args, **kwargs)
    try:
        while True:
            try:
                yielded = next(generator)
            except StopIteration as end:
                return end.value
            if stopped.is_set():
                return None
            report_yielded(progress, yielded)
    finally:
        generator.close()


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
