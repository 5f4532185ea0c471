"""A recording comm for StreamChat tests without a kernel: with ``comm.create_comm`` patched (conftest.py's
``recording_comms`` fixture), every widget's comm keeps what it would publish, serialized with the kernel's own
packer (``jupyter_client.session.json_packer``), so what the kernel refuses fails in the test too."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from comm.base_comm import BaseComm
from jupyter_client.session import json_packer

from nbstream import StreamChat


@dataclass(frozen=True)
class Sent:
    at: float
    thread: str
    msg_type: str
    data: dict[str, Any]
    size: int  # bytes of the JSON payload, as the kernel would serialize it


class RecordingComm(BaseComm):
    """A comm that keeps what it would publish (from whichever thread publishes it), packed as the kernel packs
    it; ``failing`` makes it raise instead, like a socket that went away."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.sent: list[Sent] = []
        self._lock = threading.Lock()
        self.failing = False
        super().__init__(*args, **kwargs)

    def publish_msg(
        self,
        msg_type: str,
        data: Any = None,
        metadata: Any = None,
        buffers: Any = None,
        **keys: Any,
    ) -> None:
        if self.failing:
            raise OSError("the kernel's socket is closed")
        blob = json_packer(data or {})  # UTF-8 bytes; raises on what the kernel cannot send
        record = Sent(
            time.monotonic(), threading.current_thread().name, msg_type, json.loads(blob), len(blob)
        )
        with self._lock:
            self.sent.append(record)

    def custom(self) -> list[dict[str, Any]]:
        """The custom messages' contents, in order."""
        return [s.data["content"] for s in self.records() if s.data.get("method") == "custom"]

    def updates(self) -> list[Sent]:
        return [s for s in self.records() if s.data.get("method") == "update"]

    def records(self) -> list[Sent]:
        with self._lock:
            return list(self.sent)


def recorder(chat: StreamChat) -> RecordingComm:
    assert isinstance(chat.comm, RecordingComm)
    return chat.comm
