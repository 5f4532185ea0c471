"""Base URLs as users write them: caught when a session is made if httpx could not send to them, and shown in
messages without what may carry a key."""

from __future__ import annotations

import re

import httpx

from ._errors import ConfigurationError

__all__ = ["check_base_url", "shown_url"]

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):(/*)(.*)", re.DOTALL)


def check_base_url(base_url: str, name: str = "base_url") -> str:
    """``base_url`` without surrounding blanks, or a ``ConfigurationError`` that says how to write it.

    httpx reads ``"localhost:11434"`` as a URL whose scheme is ``localhost`` and fails only when the request
    is sent, so the mistake is caught when the session is made. ``name`` is the setting the user wrote.
    """
    text = base_url.strip()
    match = _SCHEME.fullmatch(text)
    if match and (match[2] or match[1].lower() in ("http", "https")):  # "localhost:11434" has no scheme
        written, slashes, rest = match.groups()
        scheme = written.lower()
        if scheme not in ("http", "https"):
            problem = f"uses {written}:, which is not HTTP"
            scheme = "https" if scheme == "wss" else "http"
        else:
            problem = "" if slashes == "//" else f"does not start with {scheme}://"
    else:
        rest = text.lstrip("/")
        host = rest.partition("/")[0]
        scheme = "http" if ":" in host or host.startswith(("localhost", "127.", "[")) else "https"
        problem = "has no scheme"
    try:
        url = httpx.URL(f"{scheme}://{rest}")
    except httpx.InvalidURL as error:  # the URL is not repeated: it may hold a key
        raise ConfigurationError(f"{name} is not a valid URL: {error}") from None
    if not url.host:
        raise ConfigurationError(f"{name} has no host: write it like 'http://localhost:8000/v1'")
    if problem:
        fixed = shown_url(url)
        written_url = text[: len(text) - len(rest)] + fixed.partition("://")[2]
        raise ConfigurationError(f"{name} {written_url!r} {problem}: use {fixed!r}")
    return text


def shown_url(url: httpx.URL | str) -> str:
    """A URL for messages: no user info, and ``?…`` for a query string (either may carry a key)."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(username=None, password=None, query=None)) + ("?…" if parsed.query else "")
