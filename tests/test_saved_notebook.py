"""Secrets never reach a saved notebook: execute one with fake keys, save it with widget state, scan the file.

A real kernel (nbclient) runs chats against a loopback ``ProviderServer``: one relying on ANTHROPIC_API_KEY in
the kernel's environment, one with ``api_key=`` passed explicitly, an OpenAI one (a ``Bearer`` header), and one
whose base URL carries user:password and gets HTTP 401 (an error message is the likeliest place for a URL or
header to slip out). Keys come from environment variables, so the notebook's own source holds none. The saved
``.ipynb`` (outputs, reprs and the widgets' state) must contain none of them, while the transcripts it does
contain prove that the widget state was saved.
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from pathlib import Path
from typing import Any

import nbformat
from helpers import run_headless

from nbstream.testing import HttpStatus, ProviderServer, Say

ENV_KEY = "sk-ant-FAKE-env-0123456789abcdefghij"
EXPLICIT_KEY = "sk-ant-FAKE-explicit-9876543210zyxwvu"
OPENAI_KEY = "sk-proj-FAKE-openai-5555aaaabbbbcccc"
URL_PASSWORD = "FAKE-url-password-4242"
ANSWERS = [
    "Answer for the environment key chat.",
    "Answer for the explicit key chat.",
    "Answer for the OpenAI chat.",
]


def code(source: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(textwrap.dedent(source).strip())


def notebook(server: ProviderServer) -> nbformat.NotebookNode:
    anthropic, openai = server.base_url("anthropic"), server.base_url("openai")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        code(
            """
            import hashlib, os
            from nbstream import StreamChat
            print("env key digest:", hashlib.sha256(os.environ["ANTHROPIC_API_KEY"].encode()).hexdigest())
            """
        ),
        code(
            f"""
            env_chat = StreamChat(model="anthropic:claude-x", base_url={anthropic!r})
            await env_chat.send("prompt one")
            env_chat
            """
        ),
        code(
            f"""
            explicit_chat = StreamChat(
                model="anthropic:claude-x", base_url={anthropic!r}, api_key=os.environ["EXPLICIT_KEY"]
            )
            await explicit_chat.send("prompt two")
            explicit_chat
            """
        ),
        code(
            f"""
            openai_chat = StreamChat(model="openai:gpt-x", base_url={openai!r}, api_key=os.environ["OPENAI_KEY"])
            await openai_chat.send("prompt three")
            openai_chat
            """
        ),
        code(
            """
            failing_chat = StreamChat(
                model="anthropic:claude-x",
                base_url=os.environ["FAILING_BASE_URL"],
                api_key=os.environ["EXPLICIT_KEY"],
            )
            handle = failing_chat.send("prompt four")
            await handle
            print(failing_chat.status, failing_chat.status_message)
            failing_chat
            """
        ),
        code(
            """
            print(repr(explicit_chat), repr(handle), explicit_chat.messages, failing_chat.messages)
            explicit_chat.session
            """
        ),
        code("explicit_chat.timeline()"),
    ]
    return nb


def widget_states(saved: dict[str, Any]) -> list[dict[str, Any]]:
    state = saved["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    return [entry["state"] for entry in state.values() if "transcript" in entry["state"]]


def test_saved_notebook_holds_no_secret_but_the_transcripts(tmp_path: Path) -> None:
    turns = [[Say(answer)] for answer in ANSWERS] + [[Say("never played")]]
    with ProviderServer(turns, faults=[HttpStatus(401, requests={3})], seed=3) as server:
        failing_base_url = server.base_url("anthropic").replace("://", f"://nbstream-user:{URL_PASSWORD}@")
        nb = notebook(server)
        path = run_headless(
            nb,
            tmp_path,
            store_widget_state=True,
            ANTHROPIC_API_KEY=ENV_KEY,
            EXPLICIT_KEY=EXPLICIT_KEY,
            OPENAI_KEY=OPENAI_KEY,
            FAILING_BASE_URL=failing_base_url,
        )
        requests = list(server.requests)
    text = path.read_text()

    # The keys were really in play: the kernel had the env key; the server got the explicit ones.
    assert f"env key digest: {hashlib.sha256(ENV_KEY.encode()).hexdigest()}" in text
    assert [r.headers.get("x-api-key") for r in requests] == [None, EXPLICIT_KEY, None, EXPLICIT_KEY]
    assert requests[2].headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert all(ENV_KEY not in json.dumps(r.headers) for r in requests)  # not sent to a loopback host

    for secret in (ENV_KEY, EXPLICIT_KEY, OPENAI_KEY, URL_PASSWORD):
        assert secret not in text, f"a secret was saved in the notebook: {secret[:12]}…"
    for fragment in ("sk-ant-FAKE", "sk-proj-FAKE", "FAKE-url", "x-api-key", "Bearer "):
        assert fragment not in text

    # ...while the widget state, with the transcripts, was saved.
    states = widget_states(json.loads(text))
    assert len(states) == 4
    transcripts = json.dumps([state["transcript"] for state in states])
    for answer in ANSWERS:
        assert answer in transcripts
    assert all(state["status"] in ("done", "error") for state in states)
    failed = [state for state in states if state["status"] == "error"]
    assert len(failed) == 1 and "401" in failed[0]["status_message"]
    assert {state["model_label"] for state in states} == {"anthropic:claude-x", "openai:gpt-x"}
