"""Tools: schema from signatures and docstrings, argument validation, invocation, registry, serialization."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import datetime
import enum
import functools
import gc
import json
import logging
import threading
import time
import typing
from typing import Annotated, Any, Literal

import pytest
import typing_extensions
from pydantic import AfterValidator, BaseModel, Field, field_validator

from nbstream._background import LoopThread
from nbstream._docstrings import parse_docstring
from nbstream._errors import ConfigurationError
from nbstream._model import ToolSpec
from nbstream._registry import ToolRegistry
from nbstream._tools import Tool, ToolFailure, serialize_result, tool

# --- helpers ------------------------------------------------------------------------------------------------


def _keys_anywhere(node: Any, key: str) -> bool:
    """Whether ``key`` appears as a schema keyword anywhere (property names are not keywords)."""
    if isinstance(node, dict):
        return any(
            k == key or _keys_anywhere(v, key) for k, v in node.items() if k not in ("properties", "$defs")
        ) or any(_keys_anywhere(v, key) for v in node.get("properties", {}).values())
    if isinstance(node, list):
        return any(_keys_anywhere(item, key) for item in node)
    return False


async def _threads_back_to(baseline: int, within: float = 3.0) -> int:
    deadline = time.monotonic() + within
    while threading.active_count() > baseline and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    return threading.active_count()


async def slow_sum(a: int, b: int) -> int:
    """Add two integers, slowly.

    Waits a moment first, like a remote service would.

    Args:
        a: The first addend.
        b: The second addend.

    Returns:
        The sum of both.
    """
    await asyncio.sleep(0.01)
    return a + b


# --- schema -------------------------------------------------------------------------------------------------


def test_schema_of_the_issue_example() -> None:
    made = tool(slow_sum)
    assert made.name == "slow_sum"
    assert (
        made.description == "Add two integers, slowly.\n\nWaits a moment first, like a remote service would."
    )
    assert made.parameters == {
        "type": "object",
        "properties": {
            "a": {"type": "integer", "description": "The first addend."},
            "b": {"type": "integer", "description": "The second addend."},
        },
        "required": ["a", "b"],
        "additionalProperties": False,
    }
    assert made.is_async
    assert made.spec == ToolSpec("slow_sum", made.description, made.parameters)
    made.spec.parameters["properties"].clear()  # a spec is a copy: adapters may change it
    assert made.parameters["properties"]


def test_google_style_with_types_and_continuation_lines() -> None:
    def search(query: str, limit: int = 10, exact: bool = False) -> list[str]:
        """Search the notes.

        Args:
            query (str): What to look for,
                in plain words.
            limit (int, optional): At most this many hits.
            exact: Match the words exactly.

        Raises:
            ValueError: never, really.
        """
        return []

    made = tool(search)
    props = made.parameters["properties"]
    assert made.description == "Search the notes."
    assert props["query"]["description"] == "What to look for, in plain words."
    assert props["limit"] == {"type": "integer", "default": 10, "description": "At most this many hits."}
    assert props["exact"]["description"] == "Match the words exactly."
    assert made.parameters["required"] == ["query"]


def test_numpy_style() -> None:
    def scale(values: list[float], factor: float = 2.0) -> list[float]:
        """Scale every value.

        Parameters
        ----------
        values : list of float
            The numbers to scale,
            in order.
        factor : float, optional
            Multiplier.

        Returns
        -------
        list of float
        """
        return [v * factor for v in values]

    made = tool(scale)
    props = made.parameters["properties"]
    assert made.description == "Scale every value."
    assert props["values"] == {
        "type": "array",
        "items": {"type": "number"},
        "description": "The numbers to scale, in order.",
    }
    assert props["factor"]["description"] == "Multiplier."


def test_sphinx_style() -> None:
    def fetch(url: str, retries: int = 3) -> str:
        """Fetch a page.

        :param url: Address of the page,
            absolute.
        :param int retries: How often to try again.
        :returns: the body.
        """
        return url

    made = tool(fetch)
    props = made.parameters["properties"]
    assert made.description == "Fetch a page."
    assert props["url"]["description"] == "Address of the page, absolute."
    assert props["retries"]["description"] == "How often to try again."


def test_a_tool_reads_its_docstring_and_builds_its_argument_model_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import nbstream._tool_schema as tool_schema

    counts = {"docstring": 0, "model": 0}

    def counted(name: str, function: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            counts[name] += 1
            return function(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(tool_schema, "parse_docstring", counted("docstring", tool_schema.parse_docstring))
    monkeypatch.setattr(tool_schema, "create_model", counted("model", tool_schema.create_model))

    def add(a: int, b: int = 2) -> int:
        """Add two numbers.

        Args:
            a: the first
        """
        return a + b

    made = tool(add)
    assert counts == {"docstring": 1, "model": 1}
    assert made.description == "Add two numbers."
    assert made.parameters["properties"]["a"]["description"] == "the first"
    renamed = Tool.from_function(made, name="plus", confirm=True)  # a copy with options: nothing rebuilt
    assert counts == {"docstring": 1, "model": 1}
    assert renamed.validate({"a": 1}) == {"a": 1}
    by_hand = Tool("add", "Adds.", made.parameters, add)  # built directly: its binding is made here, once
    assert counts == {"docstring": 2, "model": 2}
    assert by_hand.validate({"a": 3, "b": 4}) == {"a": 3, "b": 4}


def test_docstring_parser_keeps_body_and_ignores_unknown_names() -> None:
    description, params = parse_docstring(
        """
        First line.

        More about it. Note: inline colons are text.

        Example:
            >>> f(1)
        """
    )
    assert description == "First line.\n\nMore about it. Note: inline colons are text."
    assert params == {}


def test_no_docstring_gives_an_empty_description_and_no_titles() -> None:
    def bare(x: int, title: str = "t") -> None:
        return None

    made = tool(bare)
    assert made.description == ""
    assert not _keys_anywhere(made.parameters, "title")
    assert made.parameters["properties"]["title"] == {"type": "string", "default": "t"}  # a *property* title


def test_optional_and_defaults_are_not_required() -> None:
    def f(a: str, b: int | None = None, c: float = 1.5, d: list[int] | None = None) -> None:
        return None

    made = tool(f)
    props = made.parameters["properties"]
    assert made.parameters["required"] == ["a"]
    assert props["b"] == {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None}
    assert props["c"]["default"] == 1.5


class Colour(enum.Enum):
    """A paint colour."""

    RED = "red"
    BLUE = "blue"


def test_literal_and_enum_are_inlined() -> None:
    def paint(colour: Colour, finish: Literal["matte", "gloss"] = "matte") -> str:
        """Paint it.

        Args:
            colour: Which colour.
            finish: Surface.
        """
        return f"{colour.value} {finish}"

    made = tool(paint)
    props = made.parameters["properties"]
    assert props["colour"] == {"type": "string", "enum": ["red", "blue"], "description": "Which colour."}
    assert props["finish"] == {
        "type": "string",
        "enum": ["matte", "gloss"],
        "default": "matte",
        "description": "Surface.",
    }
    kwargs = made.validate({"colour": "blue"})
    assert kwargs == {"colour": Colour.BLUE}
    with pytest.raises(ToolFailure, match=r"finish: Input should be 'matte' or 'gloss' \(got 'shiny'\)"):
        made.validate({"colour": "red", "finish": "shiny"})


class Point(BaseModel):
    """A point on the plane."""

    x: int
    y: int = 0


@dataclasses.dataclass
class Label:
    text: str
    size: int = 12


class Options(typing.TypedDict):  # typing's own TypedDict, as notebooks write it
    bold: bool
    opacity: typing_extensions.NotRequired[float]  # typing's own from 3.11


def test_nested_model_dataclass_and_typeddict_inline_and_validate() -> None:
    def draw(at: Point, label: Label, options: Options, path: list[Point] | None = None) -> str:
        """Draw a label.

        Args:
            at: Where.
        """
        return "ok"

    made = tool(draw)
    schema = made.parameters
    assert "$defs" not in schema and not _keys_anywhere(schema, "$ref")
    assert schema["properties"]["at"] == {
        "type": "object",
        "description": "Where.",
        "properties": {"x": {"type": "integer"}, "y": {"type": "integer", "default": 0}},
        "required": ["x"],
    }
    assert schema["properties"]["label"]["required"] == ["text"]
    assert schema["properties"]["options"]["required"] == ["bold"]
    assert schema["properties"]["path"]["anyOf"][0]["items"]["properties"]["x"] == {"type": "integer"}
    kwargs = made.validate(
        {"at": {"x": "3"}, "label": {"text": "hi"}, "options": {"bold": True, "opacity": 1}}
    )
    assert kwargs == {"at": Point(x=3), "label": Label("hi"), "options": {"bold": True, "opacity": 1.0}}
    with pytest.raises(ToolFailure) as caught:
        made.validate({"at": {"x": "no"}, "label": {}, "options": {"bold": True}})
    assert caught.value.kind == "invalid_arguments"
    assert "at.x: Input should be a valid integer" in caught.value.message
    assert "label.text: Field required" in caught.value.message


class Node(BaseModel):
    value: int
    children: list[Node] = []


def test_recursive_model_keeps_one_definition_under_an_object_schema() -> None:
    def walk(tree: Node) -> int:
        return tree.value

    schema = tool(walk).parameters
    assert schema["type"] == "object" and schema["required"] == ["tree"]
    assert schema["properties"]["tree"]["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}
    assert set(schema["$defs"]) == {"Node"}
    assert (
        tool(walk).validate({"tree": {"value": 1, "children": [{"value": 2}]}})["tree"].children[0].value == 2
    )


def test_parameter_names_that_clash_with_pydantic_still_work() -> None:
    def odd(schema: str, copy: int, model_config: bool = False, _private: str = "p") -> str:
        return f"{schema}{copy}{model_config}{_private}"

    made = tool(odd)
    assert list(made.parameters["properties"]) == ["schema", "copy", "model_config", "_private"]
    kwargs = made.validate({"schema": "s", "copy": "2", "_private": "q"})
    assert kwargs == {"schema": "s", "copy": 2, "_private": "q"}
    assert made(**kwargs) == "s2Falseq"


def test_annotated_field_and_field_defaults() -> None:
    def f(
        n: Annotated[int, Field(ge=1, description="From the annotation.")],
        m: int = Field(5, le=10, description="From the default."),
    ) -> int:
        """F.

        Args:
            n: From the docstring.
            m: Also from the docstring.
        """
        return n

    made = tool(f)
    props = made.parameters["properties"]
    assert props["n"] == {"type": "integer", "minimum": 1, "description": "From the annotation."}
    assert props["m"] == {"type": "integer", "maximum": 10, "default": 5, "description": "From the default."}
    # a Field() default is resolved: the function never receives the FieldInfo itself
    assert made.validate({"n": 2}) == {"n": 2, "m": 5}
    with pytest.raises(ToolFailure, match="n: Input should be greater than or equal to 1"):
        made.validate({"n": 0})


def test_unannotated_parameter_is_any_with_its_description() -> None:
    def f(thing, count=2):  # type: ignore[no-untyped-def]
        """F.

        Args:
            thing: Anything at all.
        """
        return thing

    made = tool(f)
    assert made.parameters["properties"] == {
        "thing": {"description": "Anything at all."},
        "count": {"default": 2},
    }
    assert made.validate({"thing": [1, {"a": None}]}) == {"thing": [1, {"a": None}]}


def test_positional_only_parameters_are_passed_positionally() -> None:
    def power(base: float, exponent: int = 2, /, *, label: str = "") -> str:
        return f"{label}{base**exponent}"

    made = tool(power)
    kwargs = made.validate({"base": 3})
    assert asyncio.run(made.invoke(kwargs, timeout=None)) == "9.0"


SECRET = "sk-live-0123456789"


def search_notes(query: str, limit: int = 3, *, api_key: str) -> str:
    """Search the notes service.

    Args:
        query: What to look for.
        limit: At most this many hits.
        api_key: The service's key.
    """
    return f"{query}|{limit}|{api_key[:7]}"


def test_keywords_bound_by_a_partial_are_hidden_and_cannot_be_set() -> None:
    made = tool(functools.partial(search_notes, api_key=SECRET))
    assert made.name == "search_notes" and made.description == "Search the notes service."
    assert made.parameters["properties"].keys() == {"query", "limit"}
    assert SECRET not in json.dumps(made.parameters) and SECRET not in repr(made.spec)
    assert "api_key" not in json.dumps(made.parameters)
    with pytest.raises(ToolFailure) as caught:
        made.validate({"query": "q", "api_key": "sk-stolen"})
    assert caught.value.kind == "invalid_arguments"
    assert "api_key: unexpected argument (the parameters are: query, limit)" in caught.value.message
    assert asyncio.run(made.invoke(made.validate({"query": "q"}), timeout=5)) == "q|3|sk-live"

    # a partial of a partial, fixing a positional-or-keyword parameter too
    nested = tool(functools.partial(functools.partial(search_notes, api_key=SECRET), limit=9))
    assert list(nested.parameters["properties"]) == ["query"] and SECRET not in repr(nested.spec)
    with pytest.raises(ToolFailure, match="limit: unexpected argument"):
        nested.validate({"query": "q", "limit": 1})
    assert asyncio.run(nested.invoke(nested.validate({"query": "q"}), timeout=5)) == "q|9|sk-live"


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (lambda *items: None, r"\*items is not supported"),
        (lambda **extra: None, r"\*\*extra is not supported"),
    ],
)
def test_star_parameters_are_rejected_clearly(fn: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        tool(name="star", description="")(fn)


class Opaque:
    """No schema can describe this."""


def test_bad_names_types_and_hints_are_clear_errors() -> None:
    with pytest.raises(ValueError, match=r"tool name '<lambda>' is not valid.*pass name="):
        tool(lambda x: x)

    def uses_opaque(thing: Opaque) -> None:
        return None

    with pytest.raises(
        TypeError, match="tool uses_opaque: parameter 'thing' has a type pydantic cannot validate"
    ):
        tool(uses_opaque)

    def unresolvable(x: NoSuchType) -> None:  # type: ignore[name-defined]  # noqa: F821
        return None

    with pytest.raises(TypeError, match="tool unresolvable: cannot resolve its type hints"):
        tool(unresolvable)
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        tool(timeout=0)(slow_sum)


# --- validation ---------------------------------------------------------------------------------------------


def test_validation_messages_are_readable() -> None:
    made = tool(slow_sum)
    assert made.validate({"a": "2", "b": 3}) == {"a": 2, "b": 3}  # pydantic's lax mode
    with pytest.raises(ToolFailure) as wrong:
        made.validate({"a": 1, "b": "x"})
    assert wrong.value.kind == "invalid_arguments"
    assert wrong.value.message == (
        "invalid arguments for slow_sum: "
        "b: Input should be a valid integer, unable to parse string as an integer (got 'x')"
    )
    assert str(wrong.value) == wrong.value.message
    with pytest.raises(ToolFailure, match=r"^invalid arguments for slow_sum: b: Field required$"):
        made.validate({"a": 1})
    with pytest.raises(ToolFailure, match=r"c: unexpected argument \(the parameters are: a, b\)"):
        made.validate({"a": 1, "b": 2, "c": 3})
    with pytest.raises(ToolFailure, match="expected a JSON object, got list"):
        made.validate([1, 2])  # type: ignore[arg-type]


ACCOUNTS = {"acme": "Acme Corp."}


class Account(BaseModel):
    id: str

    @field_validator("id")
    @classmethod
    def known(cls, value: str) -> str:
        # a KeyError is not a ValueError: pydantic does not turn it into a ValidationError
        return ACCOUNTS[value]


def test_a_validator_raising_anything_is_invalid_arguments_for_that_call() -> None:
    def close_account(account: Account) -> str:
        return account.id

    def lookup(key: Annotated[str, AfterValidator(lambda key: ACCOUNTS[key])]) -> str:
        return key

    def ratio(n: Annotated[int, AfterValidator(lambda n: 1 // n)]) -> int:
        return n

    cases = [
        (tool(close_account), {"account": {"id": "nope"}}, "KeyError: 'nope'", {"account": {"id": "acme"}}),
        (tool(lookup), {"key": "nope"}, "KeyError: 'nope'", {"key": "acme"}),
        (tool(ratio), {"n": 0}, "ZeroDivisionError: integer division or modulo by zero", {"n": 2}),
    ]
    for made, bad, raised, good in cases:
        with pytest.raises(ToolFailure) as caught:
            made.validate(bad)
        assert caught.value.kind == "invalid_arguments"
        assert caught.value.message == f"invalid arguments for {made.name}: a validator raised {raised}"
        assert made.validate(good)  # only that call failed


def test_defaults_left_out_let_the_function_default_apply() -> None:
    def greet(name: str, greeting: str = "Hello") -> str:
        return f"{greeting}, {name}"

    made = tool(greet)
    assert made.validate({"name": "Ada"}) == {"name": "Ada"}
    assert made.validate({"name": "Ada", "greeting": "Hi"}) == {"name": "Ada", "greeting": "Hi"}


# --- decorator and registry ---------------------------------------------------------------------------------


def test_decorator_bare_and_with_options_keeps_the_function_callable() -> None:
    @tool
    def double(x: int) -> int:
        """Double it."""
        return 2 * x

    @tool(name="triple_it", description="Multiply by three.", timeout=2.5, confirm=True)
    def triple(x: int) -> int:
        return 3 * x

    assert isinstance(double, Tool) and double(4) == 8 and not double.is_async
    assert (triple.name, triple.description, triple.timeout, triple.confirm) == (
        "triple_it",
        "Multiply by three.",
        2.5,
        True,
    )
    assert triple(x=2) == 6
    assert repr(triple) == "Tool('triple_it', timeout=2.5, confirm=True)"


def test_a_tool_built_directly_validates_from_its_function() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    made = Tool(name="halve", description="Halve a number.", parameters=schema, function=lambda a: a / 2)
    assert made.spec == ToolSpec("halve", "Halve a number.", schema)
    assert made.validate({"a": 4}) == {"a": 4}
    with pytest.raises(ToolFailure, match="invalid arguments for halve: b: unexpected argument"):
        made.validate({"a": 4, "b": 1})
    assert asyncio.run(made.invoke({"a": 3}, timeout=None)) == "1.5"


def test_registry_replaces_by_name_and_keeps_order() -> None:
    registry = ToolRegistry([slow_sum])
    assert registry.names == ["slow_sum"] and "slow_sum" in registry and len(registry) == 1

    @registry.tool
    def lookup(key: str) -> str:
        return "first"

    first = registry.get("lookup")

    @registry.tool(timeout=1.0)
    def lookup(key: str) -> str:  # noqa: F811 - the notebook cell, run again
        return "second"

    assert registry.names == ["slow_sum", "lookup"]
    replaced = registry.get("lookup")
    assert (
        replaced is not first
        and replaced is not None
        and replaced.timeout == 1.0
        and replaced("k") == "second"
    )
    assert isinstance(lookup, Tool)

    renamed = registry.add(slow_sum, name="slow_sum")
    assert registry.get("slow_sum") is renamed and len(registry) == 2
    confirmed = registry.add(renamed, confirm=True)
    assert registry.get("slow_sum") is confirmed and confirmed.confirm and not renamed.confirm
    assert [spec.name for spec in registry.specs()] == ["slow_sum", "lookup"]
    assert [item.name for item in registry] == ["slow_sum", "lookup"]

    registry.remove("lookup")
    assert registry.names == ["slow_sum"] and registry.get("lookup") is None
    with pytest.raises(KeyError, match="no tool named 'lookup'"):
        registry.remove("lookup")


def query_in(module: str) -> Any:
    """A ``query`` function as ``module`` defines it; each call is that module's code run again."""

    def query(sql: str) -> str:
        return f"{module}: {sql}"

    query.__module__, query.__qualname__ = module, "query"
    return query


class Database:
    def __init__(self, name: str) -> None:
        self.name = name

    def query(self, sql: str) -> str:
        return f"{self.name}: {sql}"


def test_two_different_functions_with_one_name_are_a_clear_error() -> None:
    expected = (
        r"two different functions are named 'query': sales\.query and users\.query; give one of them "
        r"another name with tool\(name=\.\.\.\) or Tool\.from_function\(fn, name=\.\.\.\)"
    )
    with pytest.raises(ConfigurationError, match=expected):
        ToolRegistry([query_in("sales"), query_in("users")])

    registry = ToolRegistry([query_in("sales")])
    with pytest.raises(ValueError, match=expected):
        registry.add(query_in("users"))
    with pytest.raises(ConfigurationError, match=expected):
        registry.add(Tool.from_function(query_in("users")))
    only = registry.get("query")
    assert only is not None and only("x") == "sales: x"  # the registry is unchanged

    registry.add(query_in("users"), name="user_query")  # the way out
    assert registry.names == ["query", "user_query"]


def test_the_same_function_from_a_rerun_cell_still_replaces_silently() -> None:
    registry = ToolRegistry([query_in("__main__")])
    again = registry.add(query_in("__main__"))  # a new function object, same module and qualname
    assert registry.get("query") is again and len(registry) == 1


def test_methods_of_two_instances_replace_when_added_but_clash_in_one_list() -> None:
    registry = ToolRegistry([Database("old").query])
    registry.add(Database("new").query)  # `db = Database(...)` re-run, then registered again
    replaced = registry.get("query")
    assert replaced is not None and replaced("x") == "new: x" and len(registry) == 1

    same = Database("one")
    assert ToolRegistry([same.query, same.query]).names == ["query"]  # one callable, listed twice
    with pytest.raises(ConfigurationError, match=r"\.Database\.query twice, as two different objects"):
        ToolRegistry([Database("sales").query, Database("users").query])


def test_registry_survives_registration_from_another_thread_while_reading() -> None:
    registry = ToolRegistry()
    made = [Tool.from_function(slow_sum, name=f"t{i}") for i in range(200)]
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for item in made:
                registry.add(item)
        except BaseException as exc:  # pragma: no cover - the failure being tested for
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    while thread.is_alive():
        for item in registry:
            assert item.name in registry
        registry.specs()
    thread.join()
    assert not errors and len(registry) == 200


# --- invocation ---------------------------------------------------------------------------------------------


async def test_sync_tool_runs_in_another_thread_and_leaves_none_behind() -> None:
    baseline = threading.active_count()
    seen: list[int] = []

    def where(x: int) -> dict[str, int]:
        seen.append(threading.get_ident())
        return {"x": x}

    made = tool(where)
    assert await made.invoke(made.validate({"x": 1}), timeout=5) == '{"x": 1}'
    assert seen and seen[0] != threading.get_ident()
    assert await _threads_back_to(baseline) == baseline


async def test_async_tool_runs_on_the_callers_loop() -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    async def here() -> str:
        loops.append(asyncio.get_running_loop())
        return "here"

    assert await tool(here).invoke({}, timeout=None) == "here"
    assert loops == [asyncio.get_running_loop()]


async def test_sync_tool_keeps_context_variables() -> None:
    current_user: contextvars.ContextVar[str] = contextvars.ContextVar("current_user")
    current_user.set("ada")

    def who() -> str:
        return current_user.get()

    assert await tool(who).invoke({}, timeout=None) == "ada"


async def test_a_sync_def_returning_a_coroutine_is_awaited() -> None:
    async def later() -> int:
        await asyncio.sleep(0)
        return 42

    made = Tool.from_function(lambda: later(), name="deferred")
    assert not made.is_async
    assert await made.invoke({}, timeout=1) == "42"


async def test_async_timeout_cancels_the_tool() -> None:
    saw_cancel = asyncio.Event()

    async def hang() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            saw_cancel.set()
            raise

    made = tool(timeout=0.05)(hang)
    started = time.monotonic()
    with pytest.raises(ToolFailure) as caught:
        await made.invoke({}, timeout=None)  # the tool's own timeout wins over "no limit"
    assert caught.value.kind == "timeout" and caught.value.message == "hang timed out after 0.05 s"
    assert saw_cancel.is_set() and time.monotonic() - started < 2


async def test_sync_timeout_returns_promptly_and_the_thread_ends_later() -> None:
    baseline = threading.active_count()
    made = tool(lambda seconds: time.sleep(seconds) or "late", name="nap")
    started = time.monotonic()
    with pytest.raises(ToolFailure, match=r"^nap timed out after 0.1 s$"):
        await made.invoke(made.validate({"seconds": 1.0}), timeout=0.1)
    assert time.monotonic() - started < 0.8
    assert threading.active_count() == baseline + 1  # cannot be killed: still sleeping
    assert await _threads_back_to(baseline) == baseline


async def test_the_tools_timeout_overrides_the_callers() -> None:
    async def pause(seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "done"

    patient = tool(timeout=5.0)(pause)
    assert await patient.invoke({"seconds": 0.1}, timeout=0.01) == "done"
    with pytest.raises(ToolFailure, match="timed out after 0.05 s"):
        await tool(pause).invoke({"seconds": 5}, timeout=0.05)


async def test_exceptions_become_failures_with_their_text() -> None:
    def broken(x: int) -> int:
        raise ValueError(f"cannot handle {x}")

    async def times_out_itself() -> None:
        raise TimeoutError

    def exits() -> None:
        raise SystemExit(3)

    async def exits_async() -> None:
        raise SystemExit("bye")

    cases = [
        (tool(broken), {"x": 7}, "ValueError: cannot handle 7"),
        (tool(times_out_itself), {}, "TimeoutError"),  # the tool's own TimeoutError is not our timeout
        (tool(exits), {}, "SystemExit: 3"),
        (tool(exits_async), {}, "SystemExit: bye"),
    ]
    for made, kwargs, message in cases:
        with pytest.raises(ToolFailure) as caught:
            await made.invoke(kwargs, timeout=1)
        assert (caught.value.kind, caught.value.message) == ("exception", message)


async def test_stop_iteration_is_an_exception_at_once_not_a_hang() -> None:
    loop = asyncio.get_running_loop()
    loop_errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: loop_errors.append(context))

    def exhausted() -> int:
        return next(iter([]))

    def stops_async() -> None:
        raise StopAsyncIteration("no more")

    async def async_exhausted() -> int:
        return next(iter([]))

    async def async_stops() -> None:
        raise StopAsyncIteration

    cases = [
        (exhausted, "StopIteration"),
        (stops_async, "StopAsyncIteration: no more"),
        (async_exhausted, "RuntimeError: coroutine raised StopIteration"),  # PEP 479 converts it
        (async_stops, "StopAsyncIteration"),
    ]
    for fn, message in cases:
        started = time.monotonic()
        with pytest.raises(ToolFailure) as caught:
            await asyncio.wait_for(tool(fn).invoke({}, timeout=None), 5)  # no limit: a lost result would hang
        assert (caught.value.kind, caught.value.message) == ("exception", message)
        assert time.monotonic() - started < 1
    assert loop_errors == []


class Interrupt(BaseException):
    """A user's own exception outside ``Exception``."""


def raising(exc: BaseException) -> Any:
    async def interrupted() -> None:
        await asyncio.sleep(0)
        raise exc

    return interrupted


def test_a_base_exception_in_an_async_tool_fails_that_call_and_the_loop_lives_on() -> None:
    def outcome(future: Any) -> BaseException | str:
        try:
            return str(future.result(timeout=5))
        except BaseException as exc:  # KeyboardInterrupt must not reach pytest's own thread
            return exc

    runner = LoopThread(name="nbstream-test-interrupt")
    runner.start()
    try:
        for raised in (KeyboardInterrupt(), SystemExit(2), GeneratorExit(), Interrupt("mine")):
            made = tool(raising(raised))
            failure = outcome(runner.submit(made.invoke({}, timeout=5)))
            assert isinstance(failure, ToolFailure) and failure.kind == "exception"
            assert failure.message.startswith(type(raised).__name__)
            assert outcome(runner.submit(tool(slow_sum).invoke({"a": 1, "b": 2}, timeout=5))) == "3"
        assert runner.running
    finally:
        runner.stop()


@pytest.mark.parametrize("kind", ["generator", "map", "async generator"])
async def test_a_returned_iterator_is_an_error_that_says_to_return_a_list(kind: str) -> None:
    """A plain function that *returns* an iterator; generator functions are generator tools (test_progress)."""

    def numbers() -> Any:
        return (n for n in range(3))

    async def async_counting() -> Any:
        for n in range(3):
            yield n

    fn, returned, fix = {
        "generator": (numbers, "an iterator (generator)", "list(...)"),
        "map": (lambda: map(str, range(3)), "an iterator (map)", "list(...)"),
        "async generator": (
            lambda: async_counting(),
            "an async iterator (async_generator)",
            "[item async for",
        ),
    }[kind]
    made = Tool.from_function(fn, name="listing")
    with pytest.raises(ToolFailure) as caught:
        await made.invoke({}, timeout=5)
    assert caught.value.kind == "exception"
    assert caught.value.message.startswith(f"listing returned {returned}, not data: return a list instead")
    assert fix in caught.value.message and "object at 0x" not in caught.value.message


async def test_returned_awaitables_are_awaited_and_containers_are_data() -> None:
    future: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
    future.set_result([1, 2])
    assert await Tool.from_function(lambda: future, name="pending").invoke({}, timeout=1) == "[1, 2]"
    assert await Tool.from_function(lambda: range(3), name="span").invoke({}, timeout=1) == "range(0, 3)"


async def test_a_tool_may_raise_its_own_failure() -> None:
    def picky(x: int) -> int:
        raise ToolFailure("invalid_arguments", "x must be even")

    with pytest.raises(ToolFailure) as caught:
        await tool(picky).invoke({"x": 1}, timeout=None)
    assert (caught.value.kind, caught.value.message) == ("invalid_arguments", "x must be even")


async def test_cancelling_the_caller_cancels_an_async_tool() -> None:
    entered, saw_cancel = asyncio.Event(), asyncio.Event()

    async def hang() -> None:
        entered.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            saw_cancel.set()
            raise

    call = asyncio.ensure_future(tool(hang).invoke({}, timeout=None))
    await entered.wait()
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert saw_cancel.is_set()  # the tool had unwound before the cancellation reached the caller


async def test_cancelling_the_caller_drops_a_sync_result() -> None:
    baseline = threading.active_count()
    loop = asyncio.get_running_loop()
    loop_errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: loop_errors.append(context))
    finished = threading.Event()

    def nap() -> str:
        time.sleep(0.5)
        finished.set()
        return "too late"

    call = asyncio.ensure_future(tool(nap).invoke({}, timeout=None))
    await asyncio.sleep(0.05)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert not finished.is_set()  # the caller was released before the thread finished
    deadline = time.monotonic() + 3.0
    while not finished.is_set() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert finished.is_set()
    assert await _threads_back_to(baseline) <= baseline  # the tool's thread ended after its late result
    await asyncio.sleep(0.05)  # the late result reaches the loop and is dropped quietly
    assert loop_errors == []


def stubborn_tool(entered: asyncio.Event, release: asyncio.Event, ended: asyncio.Event) -> Tool:
    """An async tool that swallows every cancellation until released (at most 10 s), then fails late."""

    async def stubborn() -> str:
        entered.set()
        deadline = time.monotonic() + 10
        try:
            while not release.is_set() and time.monotonic() < deadline:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.sleep(0.02)
            raise RuntimeError("too late")
        finally:
            ended.set()

    return tool(stubborn)


async def test_a_timeout_holds_even_when_the_tool_swallows_its_cancellation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = asyncio.get_running_loop()
    loop_errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: loop_errors.append(context))
    entered, release, ended = asyncio.Event(), asyncio.Event(), asyncio.Event()
    made = stubborn_tool(entered, release, ended)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="nbstream"), pytest.raises(ToolFailure) as caught:
        await made.invoke({}, timeout=1.0)
    elapsed = time.monotonic() - started
    assert caught.value.kind == "timeout" and caught.value.message == "stubborn timed out after 1.0 s"
    assert 1.0 <= elapsed < 1.6  # the deadline, plus the grace a well-behaved tool would have used
    assert "tool stubborn ignored its cancellation" in caplog.text
    assert not ended.is_set()  # abandoned, still running
    release.set()
    await asyncio.wait_for(ended.wait(), 2)
    await asyncio.sleep(0.05)
    gc.collect()  # an unretrieved exception would be reported when the task is collected
    assert loop_errors == []


async def test_cancelling_the_caller_is_prompt_even_when_the_tool_swallows_it() -> None:
    entered, release, ended = asyncio.Event(), asyncio.Event(), asyncio.Event()
    call = asyncio.ensure_future(stubborn_tool(entered, release, ended).invoke({}, timeout=None))
    await entered.wait()
    started = time.monotonic()
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert time.monotonic() - started < 0.6
    assert not ended.is_set()
    release.set()
    await asyncio.wait_for(ended.wait(), 2)


async def test_a_sync_tool_does_not_block_the_loop() -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.02)
            ticks += 1

    def block() -> str:
        time.sleep(0.5)
        return "rested"

    ticking = asyncio.ensure_future(ticker())
    try:
        assert await tool(block).invoke({}, timeout=None) == "rested"
    finally:
        ticking.cancel()
    assert ticks >= 10  # about 25 if the loop was free the whole time; 0 if it was blocked


# --- serialization ------------------------------------------------------------------------------------------


class Reading(BaseModel):
    when: datetime.datetime
    value: float


@dataclasses.dataclass
class Box:
    name: str
    reading: Reading
    tags: set[str]


def test_serialize_each_kind() -> None:
    when = datetime.datetime(2024, 5, 1, 12, 30)
    reading = Reading(when=when, value=1.5)
    assert serialize_result('plain text, "as is"') == 'plain text, "as is"'
    assert serialize_result(reading) == '{"when":"2024-05-01T12:30:00","value":1.5}'
    assert json.loads(serialize_result(Box("b", reading, {"y", "x"}))) == {
        "name": "b",
        "reading": {"when": "2024-05-01T12:30:00", "value": 1.5},
        "tags": ["x", "y"],
    }
    assert json.loads(serialize_result({"at": when, "colour": Colour.RED, "ids": (1, 2)})) == {
        "at": "2024-05-01T12:30:00",
        "colour": "red",
        "ids": [1, 2],
    }
    assert serialize_result([1, "é", None]) == '[1, "é", null]'
    assert serialize_result((1, 2)) == "[1, 2]"
    assert serialize_result(3) == "3" and serialize_result(2.5) == "2.5"
    assert serialize_result(True) == "true" and serialize_result(None) == "null"

    class Thing:
        def __repr__(self) -> str:
            return "<thing>"

    assert serialize_result(Thing()) == "<thing>"
    assert serialize_result(Colour.BLUE) == "<Colour.BLUE: 'blue'>"


def test_serialize_never_raises() -> None:
    loop: list[Any] = []
    loop.append(loop)
    assert serialize_result(loop) == "[[...]]"  # circular: JSON fails, repr does not

    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    assert serialize_result(Hostile()) == "<Hostile object that could not be shown>"


def test_serializing_a_huge_value_costs_what_the_limit_allows() -> None:
    huge = list(range(5_000_000))
    started = time.perf_counter()
    json.dumps(huge)
    full = time.perf_counter() - started
    others = [{"rows": huge}, dict.fromkeys(range(1_000_000)), {str(n) for n in range(1_000_000)}]
    for value in (huge, *others):
        started = time.perf_counter()
        text = serialize_result(value)
        assert time.perf_counter() - started < full / 5
        assert text.endswith("… [truncated: more than 20000 characters]")
        assert len(text) == 20_000 + len("… [truncated: more than 20000 characters]")
    assert serialize_result(huge).startswith("[0, 1, 2, 3")
    assert serialize_result({"rows": huge}).startswith('{"rows": [0, 1, 2')


def test_serialize_truncates_with_a_marker() -> None:
    text = "x" * 123_456
    cut = serialize_result(text)
    assert cut == "x" * 20_000 + "… [truncated: 123456 characters in all]"
    assert serialize_result("abcdef", limit=3) == "abc… [truncated: 6 characters in all]"
    assert serialize_result("abc", limit=3) == "abc"
    assert serialize_result([1, 2, 3, 4], limit=5) == "[1, 2… [truncated: more than 5 characters]"
    assert serialize_result({3, 1, 2}, limit=9) == "[1, 2, 3]"
