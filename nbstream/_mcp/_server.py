"""``nbstream.MCPServer``: how to reach one MCP server, and what nbstream may show of it.

A plain description: nothing starts here, and the ``mcp`` package is not imported. Secrets live in ``env`` (a
stdio server's environment) and ``headers`` (an HTTP server's): the repr, every error message and every log
line name them without their values, and the URL is shown without its user, password, query or fragment.
"""

from __future__ import annotations

import math
import os
import re
import shlex
import sys
import urllib.parse
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from .._errors import ConfigurationError, NbstreamError

__all__ = ["MCPServer", "MCPServerError", "tool_name_part"]

_NAME_PART = re.compile(r"[^A-Za-z0-9_-]+")
_MAX_NAME = 40  # a server's name, so that "<server>_<tool>" still fits the 64 characters providers take


class MCPServerError(NbstreamError):
    """An MCP server could not be started or reached; the message says why (and ends with its stderr)."""


def tool_name_part(text: str) -> str:
    """``text`` as providers accept it in a tool name: runs of other characters become ``_``."""
    return _NAME_PART.sub("_", text).strip("_")


class MCPServer:
    """An MCP server whose tools the model may call, next to your Python functions.

    A local server is a command line, started as a subprocess with its own environment::

        MCPServer(["python", "notes_server.py"], env={"NOTES_DIR": "/tmp/notes"})

    A remote one is a Streamable HTTP URL, with headers such as a bearer token::

        MCPServer(url="https://example.com/mcp", headers={"Authorization": f"Bearer {token}"})

    ``name`` names the server in errors and prefixes its tools' names where they collide (default: from the
    command or URL). ``env`` is added to the few variables every server gets (``HOME``, ``PATH``, ``USER``...):
    the notebook's other variables (your API keys) are not passed on. ``confirm`` asks the user before each
    call: ``True`` for every tool, or a collection of the server's tool names. ``timeout`` bounds each call (the
    session's ``tool_timeout`` otherwise); ``startup_timeout`` bounds starting and listing the tools. ``tools``
    keeps only the named tools; ``prefix=True`` names every tool ``<name>_<tool>``.

    Values of ``env`` and ``headers`` never appear in reprs, errors or logs; the command line does, so pass
    secrets through ``env``.
    """

    def __init__(
        self,
        command: str | Sequence[str] | None = None,
        *,
        url: str | None = None,
        name: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        headers: Mapping[str, str] | None = None,
        confirm: bool | Collection[str] = False,
        timeout: float | None = None,
        startup_timeout: float = 30.0,
        tools: Collection[str] | None = None,
        prefix: bool = False,
    ) -> None:
        if (command is None) == (url is None):
            raise ConfigurationError("MCPServer takes a command (a local server) or url= (a remote one)")
        self.command: tuple[str, ...] | None = None if command is None else _command(command)
        self.url: str | None = None if url is None else _url(url)
        if self.url is not None and (env or cwd is not None):
            raise ConfigurationError("env= and cwd= are for a local server (a command), not for url=")
        if self.command is not None and headers:
            raise ConfigurationError("headers= are for a remote server (url=), not for a command")
        self.env: dict[str, str] = _strings("env", env)
        self.headers: dict[str, str] = _strings("headers", headers)
        self.cwd: str | None = None if cwd is None else os.fspath(cwd)
        if isinstance(confirm, str) or not isinstance(confirm, (bool, Collection)):
            raise ConfigurationError("confirm must be True, False or a collection of tool names")
        self.confirm: bool | frozenset[str] = confirm if isinstance(confirm, bool) else frozenset(confirm)
        self.timeout = _seconds("timeout", timeout, optional=True)
        self.startup_timeout: float = _seconds("startup_timeout", startup_timeout, optional=False) or 30.0
        if isinstance(tools, str):
            raise ConfigurationError("tools must be a collection of tool names, not one string")
        self.tools: frozenset[str] | None = None if tools is None else frozenset(tools)
        self.prefix = bool(prefix)
        given = name if name is not None else self._default_name()
        self.name: str = tool_name_part(given)[:_MAX_NAME] or "mcp"

    @property
    def where(self) -> str:
        """The command line or the URL without secrets: for errors and reprs."""
        if self.command is not None:
            return shlex.join(self.command)
        return _shown_url(self.url or "")

    def confirms(self, tool: str) -> bool:
        """Whether a call of the server's ``tool`` waits for the user's approval."""
        return self.confirm if isinstance(self.confirm, bool) else tool in self.confirm

    def same_as(self, other: MCPServer) -> bool:
        """The same server, as a notebook cell run again describes it (every option equal)."""
        return self._key() == other._key()

    def _key(self) -> tuple[Any, ...]:
        return (
            self.command,
            self.url,
            self.name,
            sorted(self.env.items()),
            sorted(self.headers.items()),
            self.cwd,
            self.confirm,
            self.timeout,
            self.startup_timeout,
            self.tools,
            self.prefix,
        )

    def _default_name(self) -> str:
        if self.command is not None:
            arguments = [part for part in self.command[1:] if not part.startswith("-")]
            chosen = arguments[0] if arguments else self.command[0]
            base = chosen.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
            stem = re.sub(r"\.(py|js|mjs|ts)$", "", base)
            return stem or "mcp"
        parts = urllib.parse.urlsplit(self.url or "")
        segments = [s for s in parts.path.split("/") if s and s.lower() not in ("mcp", "sse", "v1")]
        return segments[-1] if segments else (parts.hostname or "mcp").split(".")[0]

    def __repr__(self) -> str:
        shown = [f"{self.name!r}"]
        if self.command is not None:
            shown.append(f"command={list(self.command)!r}")
        else:
            shown.append(f"url={self.where!r}")
        if self.env:
            shown.append(f"env={sorted(self.env)!r}")  # names only
        if self.headers:
            shown.append(f"headers={sorted(self.headers)!r}")
        if self.confirm:
            shown.append(
                f"confirm={self.confirm if isinstance(self.confirm, bool) else sorted(self.confirm)!r}"
            )
        return f"MCPServer({', '.join(shown)})"


def _command(command: str | Sequence[str]) -> tuple[str, ...]:
    parts = shlex.split(command, posix=sys.platform != "win32") if isinstance(command, str) else list(command)
    if not parts or not all(isinstance(part, str) and part for part in parts):
        raise ConfigurationError("an MCP server's command must be a non-empty list of non-empty strings")
    return tuple(parts)


def _url(url: str) -> str:
    if not isinstance(url, str) or urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ConfigurationError(
            f"an MCP server's url must start with http:// or https://, not {_shown_url(url)!r}"
        )
    return url


def _shown_url(url: object) -> str:
    """A URL without its user, password, query and fragment: what may be printed."""
    if not isinstance(url, str):
        return type(url).__name__
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def _strings(what: str, values: Mapping[str, str] | None) -> dict[str, str]:
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise ConfigurationError(f"{what} must be a mapping of names to strings")
    bad = sorted(
        str(key) for key, value in values.items() if not isinstance(key, str) or not isinstance(value, str)
    )
    if bad:
        raise ConfigurationError(f"{what}: the names and values must be strings (not for {', '.join(bad)})")
    return dict(values)


def _seconds(what: str, value: object, *, optional: bool) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 < value < math.inf):
        allowed = "a positive number of seconds or None" if optional else "a positive number of seconds"
        raise ConfigurationError(f"{what} must be {allowed}, not {value!r}")
    return float(value)
