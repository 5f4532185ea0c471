"""An MCP server's tool as an nbstream ``Tool``: its schema, validation, the call, and what the model is told.

``MCPTool`` is a ``Tool`` whose parameters are the server's input schema, sent to the model as they are, and
whose arguments are validated against that schema with ``jsonschema`` before the call leaves nbstream (a bad
call never reaches the server). Everything else is the ``Tool`` machinery: timeouts, cancellation, approval,
progress (``current_progress()``, relayed by the connection) and results with images.

A result becomes what a Python tool would return: its text blocks joined by line breaks, images as
``ImageData`` (a list mixing the text and the images), structured content as JSON when no text block already
says it. Content nbstream cannot pass on (audio, images of other types, binary resources) is named in the text
instead. ``isError`` results are tool errors the model sees, with the server's text.

A tool its server no longer offers (its tools changed) is retired from the registry with a stand-in
(``MCPTool.retired``) whose every call is an ``unknown_tool`` error saying so.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict, create_model

from .._images import ImageData
from .._tool_schema import ArgumentBinding
from .._tools import Tool, ToolFailure

if TYPE_CHECKING:
    from ._connection import Connection

__all__ = ["MCPTool", "RemoteCall", "check_schema", "result_value"]

_SHOWN_PROBLEMS = 3  # schema violations quoted back to the model
_SHOWN_VALUE = 60  # characters of a rejected value quoted in a violation

_ANY_ARGUMENTS = ArgumentBinding(create_model("mcp_arguments", __config__=ConfigDict(extra="allow")), ())
"""Every validated argument goes to the call as a keyword (the schema, not a signature, says what is valid)."""


class RemoteCall:
    """Calls one tool of one server: the function of an ``MCPTool``. Named ``mcp:<server>.<tool>`` where
    nbstream tells tools apart (a server added again replaces its tools, another one never does)."""

    def __init__(self, connection: Connection, remote: str) -> None:
        self.connection = connection
        self.remote = remote
        self.__module__ = f"mcp:{connection.name}"
        self.__qualname__ = self.__name__ = remote

    async def __call__(self, /, **arguments: Any) -> Any:  # any argument name, even 'self'
        return result_value(await self.connection.call(self.remote, arguments), self.connection.name)

    def __repr__(self) -> str:
        return f"<tool {self.remote!r} of MCP server {self.connection.name!r}>"


@dataclass(frozen=True, eq=False)
class MCPTool(Tool):
    """A tool of an MCP server (``server``), called ``remote`` there; build with ``MCPTool.of``."""

    server: str = ""
    remote: str = ""
    gone: str | None = None
    """Set on the stand-in of a tool its server no longer offers: what a call to it is told."""
    _validator: Any = field(default=None, repr=False, kw_only=True)

    @classmethod
    def of(cls, connection: Connection, listed: Any, name: str) -> MCPTool:
        """The tool ``listed`` (an ``mcp.types.Tool``) of ``connection``, named ``name`` in the session. Raises
        ``ValueError`` when its input schema is not one nbstream can send and check."""
        parameters, validator = check_schema(listed.input_schema)
        server = connection.server
        return cls(
            name=name,
            description=listed.description or listed.title or "",
            parameters=parameters,
            function=RemoteCall(connection, listed.name),
            timeout=server.timeout,
            confirm=server.confirms(listed.name),
            server=server.name,
            remote=listed.name,
            _binding=_ANY_ARGUMENTS,
            _validator=validator,
        )

    def retired(self) -> MCPTool:
        """The stand-in that answers calls to this tool once its server no longer offers it."""
        said = f"{self.name} is no longer available: MCP server {self.server!r} no longer offers it"
        return dataclasses.replace(self, gone=f"{said} (its tools changed)")

    def validate(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The arguments, checked against the server's schema; raises ``ToolFailure`` (``invalid_arguments``,
        or ``unknown_tool`` for a tool the server no longer offers)."""
        if self.gone is not None:
            raise ToolFailure("unknown_tool", self.gone)
        if not isinstance(arguments, dict):
            raise ToolFailure(
                "invalid_arguments",
                f"invalid arguments for {self.name}: expected a JSON object, got {type(arguments).__name__}",
            )
        try:
            errors = sorted(self._validator.iter_errors(arguments), key=lambda e: list(map(str, e.path)))
        except (
            Exception
        ) as exc:  # an unresolvable $ref, a broken pattern: the schema, not the model, is wrong
            message = f"invalid arguments for {self.name}: the server's schema could not be applied ({exc})"
            raise ToolFailure("invalid_arguments", message) from None
        if errors:
            problems = [_problem(error) for error in errors[:_SHOWN_PROBLEMS]]
            more = f" (and {len(errors) - _SHOWN_PROBLEMS} more)" if len(errors) > _SHOWN_PROBLEMS else ""
            raise ToolFailure(
                "invalid_arguments", f"invalid arguments for {self.name}: {'; '.join(problems)}{more}"
            )
        return dict(arguments)

    def __repr__(self) -> str:
        options = "".join(
            [
                f", timeout={self.timeout!r}" if self.timeout is not None else "",
                ", confirm=True" if self.confirm else "",
            ]
        )
        return f"MCPTool({self.name!r}, server={self.server!r}{options})"


def check_schema(schema: Any) -> tuple[dict[str, Any], Any]:
    """The parameters to send for an input schema, and its compiled validator; ``ValueError`` saying what is
    wrong when it is no JSON schema of an object."""
    from jsonschema import SchemaError  # type: ignore[import-untyped]
    from jsonschema.validators import Draft202012Validator, validator_for  # type: ignore[import-untyped]

    if not isinstance(schema, Mapping):
        raise ValueError(f"its input schema is a {type(schema).__name__}, not a JSON object")
    if schema.get("type", "object") != "object":
        raise ValueError(f"its input schema describes {schema.get('type')!r}, not an object of arguments")
    schema = dict(schema)
    try:
        kind = validator_for(schema, default=Draft202012Validator)
        kind.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(map(str, exc.path))
        detail = f"{where}: {exc.message}" if where else exc.message
        raise ValueError(f"its input schema is not valid JSON Schema ({detail})") from None
    parameters = {key: value for key, value in schema.items() if key != "$schema"}
    parameters["type"] = "object"
    parameters.setdefault("properties", {})  # OpenAI refuses an object schema without it
    return parameters, kind(schema)


def _problem(error: Any) -> str:
    where = ".".join(str(part) for part in error.absolute_path)
    message = error.message
    if len(message) > 2 * _SHOWN_VALUE:
        message = message[: 2 * _SHOWN_VALUE - 1] + "…"
    return f"{where}: {message}" if where else message


def result_value(result: Any, server: str) -> Any:
    """What a tool returning this ``CallToolResult`` returned: text, or a list of the text and ``ImageData``.
    An ``isError`` result raises ``ToolFailure`` with its text, which the model is told."""
    texts: list[str] = []
    images: list[ImageData] = []
    for block in result.content:
        _convert(block, texts, images)
    structured = result.structured_content
    if structured is not None and not any(_says(text, structured) for text in texts):
        texts.append(json.dumps(structured, ensure_ascii=False, default=str))
    text = "\n".join(texts)
    if result.is_error:
        raise ToolFailure("exception", text or f"the tool of MCP server {server!r} failed without saying why")
    if not images:
        return text
    return [text, *images] if text else images


def _convert(block: Any, texts: list[str], images: list[ImageData]) -> None:
    kind = getattr(block, "type", None)
    if kind == "text":
        texts.append(block.text)
    elif kind == "image":
        _add_image(block.data, block.mime_type, "an image", texts, images)
    elif kind == "audio":
        texts.append(
            f"[{block.mime_type} audio from the tool, not shown: nbstream passes on text and images]"
        )
    elif kind == "resource_link":
        about = f": {block.description}" if block.description else ""
        texts.append(f"[resource {block.name} at {block.uri}{about}]")
    elif kind == "resource":
        resource = block.resource
        if isinstance(getattr(resource, "text", None), str):
            texts.append(resource.text)
        else:
            _add_image(resource.blob, resource.mime_type or "", f"resource {resource.uri}", texts, images)
    else:
        texts.append(f"[content of type {kind!r} from the tool, not shown]")


def _add_image(data: str, media_type: str, what: str, texts: list[str], images: list[ImageData]) -> None:
    try:
        images.append(ImageData.from_bytes(base64.b64decode(data, validate=True)))
    except (binascii.Error, ValueError) as exc:
        texts.append(f"[{what} ({media_type or 'no type'}) from the tool, not shown: {exc}]")


def _says(text: str, structured: Any) -> bool:
    """Whether a text block already holds the structured content (as the spec asks servers to send it)."""
    try:
        return bool(json.loads(text) == structured)
    except ValueError:
        return False
