"""A Python function's signature and docstring → a JSON schema for the model and a validator for its calls.

The schema is what providers accept: an object schema with ``properties`` / ``required``, no ``title`` noise,
definitions inlined (only self-recursive models keep a ``$defs`` entry, since they cannot be inlined).
Validation goes through a pydantic model built with ``create_model``; every field is aliased to its parameter
name so that names such as ``schema``, ``copy`` or ``_private`` cannot clash with pydantic's own attributes.
Keywords fixed by ``functools.partial`` (an API key, a connection) are left out: the model neither sees them,
not even as defaults, nor can set them. So is a parameter annotated ``nbstream.Progress`` (or ``Progress |
None``): the binding names it (``ArgumentBinding.progress``) and the call's reporter is passed there.
"""

from __future__ import annotations

import functools
import inspect
import sys
import typing
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import typing_extensions
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PydanticUserError,
    TypeAdapter,
    ValidationError,
    create_model,
)
from pydantic.fields import FieldInfo
from pydantic.json_schema import PydanticJsonSchemaWarning

from ._docstrings import parse_docstring
from ._progress import Progress

__all__ = ["ArgumentBinding", "bind_function", "describe_validation_error"]


# --- the signature ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Parameter:
    name: str  # the parameter's own name: the key the model uses
    field: str  # the pydantic field it is stored under
    positional_only: bool
    always_passed: bool  # positional-only, or its Python default is a pydantic Field(): pass the value


@dataclass(frozen=True)
class ArgumentBinding:
    """How a function's parameters map to the validation model and back to a call."""

    model: type[BaseModel]
    parameters: tuple[_Parameter, ...]
    progress: str | None = None
    """The parameter that takes the call's ``Progress`` reporter, if the function declares one."""

    def validate(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Validated keyword arguments; raises ``pydantic.ValidationError``.

        Only arguments the model gave are returned, so the function's own defaults apply to the rest.
        """
        instance = self.model.model_validate(arguments)
        given = instance.model_fields_set
        return {
            p.name: getattr(instance, p.field) for p in self.parameters if p.always_passed or p.field in given
        }

    def split(self, kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Positional-only parameters become positional arguments; the rest stay keywords."""
        positional = tuple(kwargs[p.name] for p in self.parameters if p.positional_only and p.name in kwargs)
        only = {p.name for p in self.parameters if p.positional_only}
        return positional, {name: value for name, value in kwargs.items() if name not in only}

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.parameters]


_REQUIRED_MARKS = (typing_extensions.Required, typing_extensions.NotRequired)


def _portable(annotation: Any) -> Any:
    """Rebuild ``typing.TypedDict`` classes with ``typing_extensions`` (pydantic needs it before 3.12)."""
    if sys.version_info >= (3, 12):
        return annotation
    if typing_extensions.is_typeddict(annotation) and type(annotation).__module__ == "typing":
        fields: dict[str, Any] = {}
        for key, hint in typing.get_type_hints(annotation, include_extras=True).items():
            # __required_keys__ misses NotRequired[...] written as a string (postponed annotations)
            required = key in annotation.__required_keys__
            while typing_extensions.get_origin(hint) in _REQUIRED_MARKS:
                required = typing_extensions.get_origin(hint) is typing_extensions.Required
                hint = typing_extensions.get_args(hint)[0]
            wrapper = typing_extensions.Required if required else typing_extensions.NotRequired
            fields[key] = wrapper[_portable(hint)]
        rebuilt: Any = typing_extensions.TypedDict(annotation.__name__, fields)  # type: ignore[misc]
        rebuilt.__doc__ = annotation.__doc__
        return rebuilt
    origin, args = typing_extensions.get_origin(annotation), typing_extensions.get_args(annotation)
    if origin is None or not args or origin is typing.Literal:
        return annotation
    if origin is Annotated:
        return Annotated[(_portable(args[0]), *args[1:])]
    rewritten = tuple(_portable(arg) for arg in args)
    if rewritten == args:
        return annotation
    if origin is typing.Union or type(annotation).__name__ == "UnionType":
        return typing.Union[rewritten]  # noqa: UP007
    return origin[rewritten]


def _has_description(annotation: Any) -> bool:
    if typing_extensions.get_origin(annotation) is not Annotated:
        return False
    return any(isinstance(meta, FieldInfo) and meta.description for meta in annotation.__metadata__)


def bind_function(fn: Callable[..., Any], tool_name: str) -> tuple[ArgumentBinding, str]:
    """Build the argument model of ``fn``; returns it with the description its docstring gives the tool.

    The docstring is read once, for both. Raises ``TypeError`` naming the tool and the parameter when the
    signature cannot be a tool's.
    """
    try:
        signature = inspect.signature(fn, eval_str=True)
    except (NameError, SyntaxError) as exc:
        raise TypeError(
            f"tool {tool_name}: cannot resolve its type hints: {exc} "
            "(types named in hints must be importable from the function's module or notebook)"
        ) from exc
    except ValueError as exc:
        raise TypeError(f"tool {tool_name}: cannot read its signature: {exc}") from exc
    description, documented = parse_docstring(_docstring(fn))
    bound = _partial_keywords(fn)
    fields: dict[str, Any] = {}
    parameters: list[_Parameter] = []
    progress: str | None = None
    for index, param in enumerate(signature.parameters.values()):
        if param.name in bound:  # the signature shows it as a keyword-only default: the value itself
            continue
        if _is_progress(param.annotation):
            if param.kind is param.POSITIONAL_ONLY or progress is not None:
                raise TypeError(
                    f"tool {tool_name}: {param.name!r} cannot take the progress reporter: "
                    "a tool has at most one Progress parameter, and it must be passable by keyword"
                )
            progress = param.name
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            star = "*" if param.kind is param.VAR_POSITIONAL else "**"
            raise TypeError(
                f"tool {tool_name}: {star}{param.name} is not supported; a tool takes named parameters only"
            )
        annotation = Any if param.annotation is param.empty else _portable(param.annotation)
        default = param.default
        options: dict[str, Any] = {"alias": param.name}
        if isinstance(default, FieldInfo):
            annotation = Annotated[annotation, default]
        elif default is not param.empty:
            options["default"] = default
        if param.name in documented and not _has_description(annotation):
            options["description"] = documented[param.name]
        field_name = f"p{index}"
        fields[field_name] = (annotation, Field(**options))
        positional_only = param.kind is param.POSITIONAL_ONLY
        parameters.append(
            _Parameter(
                param.name, field_name, positional_only, positional_only or isinstance(default, FieldInfo)
            )
        )
    try:
        model = create_model(f"{tool_name}_arguments", __config__=ConfigDict(extra="forbid"), **fields)
    except PydanticUserError as exc:
        raise TypeError(f"tool {tool_name}: {_culprit(fields, parameters)}{exc}") from exc
    return ArgumentBinding(model, tuple(parameters), progress), description


def _is_progress(annotation: Any) -> bool:
    """``Progress``, ``Progress | None``, ``Optional[Progress]`` or ``Annotated[Progress, ...]``."""
    if annotation is Progress:
        return True
    origin, args = typing_extensions.get_origin(annotation), typing_extensions.get_args(annotation)
    if origin is Annotated:
        return _is_progress(args[0])
    if origin is typing.Union or type(annotation).__name__ == "UnionType":
        others = [arg for arg in args if arg is not type(None)]
        return len(others) == 1 and _is_progress(others[0])
    return False


def _culprit(fields: dict[str, Any], parameters: list[_Parameter]) -> str:
    for parameter in parameters:
        try:
            TypeAdapter(fields[parameter.field][0])
        except PydanticUserError:
            return f"parameter {parameter.name!r} has a type pydantic cannot validate: "
    return ""


def _unwrap_partial(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A partial's own name and docstring are those of ``functools.partial``: look at what it wraps."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    return fn


def _partial_keywords(fn: Callable[..., Any]) -> set[str]:
    """The keywords a partial (or a partial of a partial) fixes."""
    names: set[str] = set()
    while isinstance(fn, functools.partial):
        names.update(fn.keywords)
        fn = fn.func
    return names


def _docstring(fn: Callable[..., Any]) -> str | None:
    return inspect.getdoc(_unwrap_partial(fn))


def function_name(fn: Callable[..., Any]) -> str:
    fn = _unwrap_partial(fn)
    return getattr(fn, "__name__", None) or type(fn).__name__


def function_origin(fn: Callable[..., Any]) -> str:
    """``module.qualname`` of the code a tool runs, which a notebook cell run again keeps.

    A bound method counts as its class's function, whatever the instance; a callable object as its class.
    """
    fn = _unwrap_partial(fn)
    fn = getattr(fn, "__func__", fn)
    named = fn if hasattr(fn, "__qualname__") else type(fn)
    return f"{getattr(named, '__module__', None) or '?'}.{named.__qualname__}"


# --- the JSON schema --------------------------------------------------------------------------------------

_SCHEMA_MAPS = ("properties", "patternProperties", "dependentSchemas")
_SCHEMA_VALUES = (
    "items",
    "additionalProperties",
    "not",
    "contains",
    "propertyNames",
    "if",
    "then",
    "else",
    "additionalItems",
    "unevaluatedItems",
    "unevaluatedProperties",
)
_SCHEMA_LISTS = ("anyOf", "allOf", "oneOf", "prefixItems")
_DEFS_PREFIX = "#/$defs/"


def json_schema(binding: ArgumentBinding, tool_name: str) -> dict[str, Any]:
    """The provider-facing schema of the arguments: inlined, without titles, always an object schema."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PydanticJsonSchemaWarning)  # defaults that are not JSON: dropped
            raw = binding.model.model_json_schema()
    except PydanticUserError as exc:
        raise TypeError(f"tool {tool_name}: cannot describe its parameters as JSON schema: {exc}") from exc
    definitions: dict[str, Any] = raw.get("$defs", {})
    needed: list[str] = []

    def tidy(node: Any, expanding: tuple[str, ...]) -> Any:
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_DEFS_PREFIX) and ref[len(_DEFS_PREFIX) :] in definitions:
            name = ref[len(_DEFS_PREFIX) :]
            siblings = tidy({key: value for key, value in node.items() if key != "$ref"}, expanding)
            if name in expanding:  # recursive: the only case that keeps a reference
                if name not in needed:
                    needed.append(name)
                return {"$ref": ref, **siblings}
            return {**tidy(definitions[name], (*expanding, name)), **siblings}
        out: dict[str, Any] = {}
        for key, value in node.items():
            if (key == "title" and isinstance(value, str)) or key == "$defs":
                continue
            if key in _SCHEMA_MAPS and isinstance(value, dict):
                out[key] = {name: tidy(sub, expanding) for name, sub in value.items()}
            elif key in _SCHEMA_VALUES and isinstance(value, dict):
                out[key] = tidy(value, expanding)
            elif key in _SCHEMA_LISTS and isinstance(value, list):
                out[key] = [tidy(sub, expanding) for sub in value]
            else:
                out[key] = value
        all_of = out.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict):
            out = {**all_of[0], **{key: value for key, value in out.items() if key != "allOf"}}
        return out

    schema = tidy(raw, ())
    kept: dict[str, Any] = {}
    while len(kept) < len(needed):
        name = needed[len(kept)]
        kept[name] = tidy(definitions[name], (name,))
    rest = {key: value for key, value in schema.items() if key not in ("type", "properties", "required")}
    tidied = {
        "type": "object",
        "properties": schema.get("properties", {}),
        "required": schema.get("required", []),
        **rest,
    }
    if kept:
        tidied["$defs"] = kept
    return tidied


# --- errors -----------------------------------------------------------------------------------------------

_SHOWN_INPUT = 80


def describe_validation_error(error: ValidationError, tool_name: str, names: list[str]) -> str:
    """One readable line for the model: ``invalid arguments for add: b: Input should be ... (got 'x')``."""
    problems: list[str] = []
    for item in error.errors(include_url=False):
        location = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in item["loc"])
        location = location.lstrip(".")
        if item["type"] == "extra_forbidden" and len(item["loc"]) == 1:
            expected = ", ".join(names) if names else "none"
            problems.append(f"{location}: unexpected argument (the parameters are: {expected})")
            continue
        text = item["msg"]
        if item["type"] != "missing":
            shown = repr(item.get("input"))
            if len(shown) > _SHOWN_INPUT:
                shown = shown[: _SHOWN_INPUT - 1] + "…"
            text = f"{text} (got {shown})"
        problems.append(f"{location}: {text}" if location else text)
    return f"invalid arguments for {tool_name}: " + "; ".join(problems)
