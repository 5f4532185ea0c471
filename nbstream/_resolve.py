"""Model strings (``"demo"``, ``"anthropic:claude-sonnet-4-5"``) → model objects."""

from __future__ import annotations

from typing import Any

from ._errors import ConfigurationError
from ._model import Model
from ._providers import parse_model_string
from ._transport import HttpModel
from ._urls import check_base_url

__all__ = ["resolve_model"]


def resolve_model(
    model: str | Model,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    read_timeout: float | None = 60.0,
    max_retries: int = 3,
    options: dict[str, Any] | None = None,
) -> Model:
    """Build the model a session talks to. A missing key (``MissingAPIKeyError``) or a ``base_url`` httpx
    cannot send to (``ConfigurationError``) fails here, before any request."""
    if not isinstance(model, str):
        if not isinstance(model, Model):
            raise ConfigurationError(
                f"model must be a string like 'openai:gpt-4.1-mini' or a Model, not {model!r}"
            )
        return model
    if model == "demo":
        from ._demo import DemoModel

        return DemoModel()
    provider, name = parse_model_string(model)
    base_url = check_base_url(base_url) if base_url else None  # before the key, which depends on the host
    return HttpModel(
        provider,
        name,
        api_key=provider.resolve_key(api_key, base_url),
        api_key_given=bool(api_key),
        base_url=base_url,
        read_timeout=read_timeout,
        max_retries=max_retries,
        options=options,
    )
