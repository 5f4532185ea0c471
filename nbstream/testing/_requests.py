"""Provider request bodies → ``ModelRequest``: what lets the demo model answer behind the test server. Each
provider reads its own bodies (``Provider.read_request``), leniently: what clients send (strings or
content-part lists, Ollama's ``tool_name``...) is taken, what the demo does not need (images, options) skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._demo import DemoModel
from .._encode import Action
from .._model import ModelRequest
from .._providers import WireFormat, for_wire

__all__ = ["demo_steps", "request_from_json"]


def request_from_json(wire: WireFormat, body: dict[str, Any]) -> ModelRequest:
    """Read a provider request body (the JSON a client POSTs) back into a ``ModelRequest``."""
    return for_wire(wire).read_request(body)


def demo_steps(
    wire: WireFormat, *, chars_per_second: float = 200.0
) -> Callable[[dict[str, Any]], list[Action]]:
    """Steps for ``ProviderServer`` that the demo model answers: ``ProviderServer(demo_steps("anthropic"))``.

    ``wire`` is the request format the client will POST (the route it calls). The demo thinks aloud first when
    the request asks for reasoning (``Session(reasoning=...)``).
    """
    model = DemoModel(chars_per_second=chars_per_second, wire=wire)
    return lambda body: model.plan(request_from_json(wire, body))
