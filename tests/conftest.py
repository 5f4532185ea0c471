"""Fixtures shared by the non-browser tests (tests/browser/conftest.py has the browser's own).

Plain helpers shared between test modules are in helpers.py: a conftest cannot be imported by name, since
``from conftest import ...`` finds whichever conftest pytest loaded last (tests/browser has one too).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import comm
import pytest
from widget_comm import RecordingComm

from nbstream import StreamChat
from nbstream._providers import PROVIDERS, WIRE_FORMATS, WireFormat


@pytest.fixture(params=WIRE_FORMATS)
def wire(request: pytest.FixtureRequest) -> WireFormat:
    """Every wire format: a test that takes ``wire`` runs once per format (unless it parametrizes it itself)."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """No provider's key in the environment, and no ``OLLAMA_HOST``: what a fresh machine has."""
    for provider in PROVIDERS.values():
        if provider.key_variable:
            monkeypatch.delenv(provider.key_variable, raising=False)
    monkeypatch.delenv("OLLAMA_HOST", raising=False)


@pytest.fixture
def recording_comms(monkeypatch: pytest.MonkeyPatch) -> None:
    """Widgets made in the test get a ``RecordingComm`` (widget_comm.py): no kernel needed."""
    monkeypatch.setattr(comm, "create_comm", lambda *args, **kwargs: RecordingComm(*args, **kwargs))


@pytest.fixture
def make_chat(recording_comms: None) -> Iterator[Callable[..., StreamChat]]:
    """Make chats with recording comms; each is closed after the test."""
    chats: list[StreamChat] = []

    def make(*args: Any, **kwargs: Any) -> StreamChat:
        chat = StreamChat(*args, **kwargs)
        chats.append(chat)
        return chat

    yield make
    for chat in chats:
        chat.close()
