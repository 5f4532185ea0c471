"""Exceptions raised by nbstream.

    NbstreamError
    ├── ConfigurationError        bad model string, unknown provider
    │   └── MissingAPIKeyError    no key: names the environment variable to set
    ├── StreamFault               a model stream could not go on (carries an ErrorKind)
    ├── ToolFailure               a tool call produced no result (carries a ToolErrorKind; nbstream._tools)
    └── MCPServerError            an MCP server could not start or answer (nbstream._mcp)

Stream problems during a turn are *events* (``StreamError``), not exceptions: a ``StreamFault`` raised by a
byte source is caught by ``parse_stream`` and becomes one.
"""

from __future__ import annotations

from ._events import ErrorKind

__all__ = ["ConfigurationError", "MissingAPIKeyError", "NbstreamError", "StreamFault"]


class NbstreamError(Exception):
    """Base class of every nbstream exception."""


class ConfigurationError(NbstreamError, ValueError):
    """The session cannot be set up as asked."""


class MissingAPIKeyError(ConfigurationError):
    def __init__(self, provider: str, variable: str) -> None:
        super().__init__(
            f"No API key for {provider}: set the {variable} environment variable or pass api_key=..."
        )
        self.provider = provider
        self.variable = variable


class StreamFault(NbstreamError):
    """Raised by a byte source (HTTP transport, scripted model) when the stream cannot continue."""

    def __init__(self, kind: ErrorKind, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message = message
        self.retryable = retryable
