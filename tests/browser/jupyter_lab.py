"""A real Jupyter server with isolated dirs, and one test's handle on a page of it: JupyterLab or Notebook 7
(the ``notebook`` package serves ``/notebooks/<path>`` from the same server).

Plain helpers (no pytest) so that fixtures and tests import them by a name no other conftest shadows. The
server puts the repository under test on ``PYTHONPATH``, so kernels import this checkout's nbstream; a second
kernelspec, ``nbstream-ipykernel6``, runs a cached virtualenv with ipykernel 6 (``make_ipykernel6_env.sh``),
because kernel behaviour that shapes the widget differs between 6 and 7.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from playwright.sync_api import Page

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
IPYKERNEL7 = "python3"
IPYKERNEL6 = "nbstream-ipykernel6"
KERNELS = [IPYKERNEL7, IPYKERNEL6]
APPS = ("lab", "notebook")  # where a test can open a notebook: JupyterLab, Notebook 7
LIGHT, DARK = "JupyterLab Light", "JupyterLab Dark"
THEMES_PLUGIN = "@jupyterlab/apputils-extension:themes"
HARMLESS_PAGE_ERRORS = (
    # Notebook 7.6.5 logs these on every page (BROWSER_TESTING.md); nothing else is tolerated.
    "reading 'schema'",
    "Command 'filebrowser:open-path' not registered",
)


@dataclass
class JupyterServer:
    url: str
    token: str
    root: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log: Path

    def api(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": f"token {self.token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = response.read()
        return json.loads(answer) if answer else None

    def delete_kernels(self) -> None:
        """Idle kernels left running slow every later test on 2 cores."""
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")
        for kernel in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{kernel['id']}")

    def reset_theme(self) -> None:
        """Back to the default (light) theme: the theme is a user setting, shared by every page of the server."""
        self.api("PUT", f"/lab/api/settings/{THEMES_PLUGIN}", {"raw": "{}"})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _isolated_env(base: Path) -> dict[str, str]:
    dirs = {
        "JUPYTER_CONFIG_DIR": "config",
        "JUPYTER_DATA_DIR": "data",
        "JUPYTER_RUNTIME_DIR": "runtime",
        "IPYTHONDIR": "ipython",
        "JUPYTERLAB_SETTINGS_DIR": "lab-settings",
        "JUPYTERLAB_WORKSPACES_DIR": "lab-workspaces",
        "TMPDIR": "tmp",
        "XDG_CONFIG_HOME": "xdg/config",
        "XDG_CACHE_HOME": "xdg/cache",
        "XDG_DATA_HOME": "xdg/data",
        "XDG_RUNTIME_DIR": "xdg/runtime",
    }
    env = {key: value for key, value in os.environ.items() if not key.startswith(("JUPYTER", "ANYWIDGET"))}
    for variable, sub in dirs.items():
        path = base / sub
        path.mkdir(parents=True, exist_ok=True)
        env[variable] = str(path)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    # No news or update toasts over the notebook.
    notification = (
        base / "lab-settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    )
    notification.parent.mkdir(parents=True, exist_ok=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    return env


def _install_ipykernel6(env: dict[str, str]) -> None:
    script = Path(__file__).with_name("make_ipykernel6_env.sh")
    made = subprocess.run(
        ["bash", str(script)],
        env={**env, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        raise RuntimeError(f"could not create the ipykernel 6 venv:\n{made.stderr}")
    python = made.stdout.strip().splitlines()[-1]
    subprocess.run(
        [
            python,
            "-m",
            "ipykernel",
            "install",
            "--user",
            "--name",
            IPYKERNEL6,
            "--display-name",
            "ipykernel 6",
        ],
        env=env,
        check=True,
        capture_output=True,
    )


def start_server(base: Path) -> JupyterServer:
    """Start ``jupyter lab`` in its own process group under ``base`` and wait until it answers."""
    env = _isolated_env(base)
    _install_ipykernel6(env)
    root = base / "notebooks"
    root.mkdir()
    port = _free_port()
    log = base / "server.log"
    token = uuid.uuid4().hex
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter",
                "lab",
                "--no-browser",
                "--allow-root",
                f"--IdentityProvider.token={token}",
                "--ServerApp.ip=127.0.0.1",
                f"--port={port}",
                "--ServerApp.port_retries=0",
                f"--notebook-dir={root}",
                "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            ],
            env=env,
            cwd=root,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = JupyterServer(f"http://127.0.0.1:{port}", token, root, env, process, log)
    try:
        _wait_until_up(server)
    except BaseException:
        stop_server(server)
        raise
    return server


def stop_server(server: JupyterServer) -> None:
    """Stop the server and its kernels: the process group it was started in."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.process.pid, signal.SIGTERM)
    try:
        server.process.wait(10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(5)


def _wait_until_up(server: JupyterServer, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited:\n{server.log.read_text()}")
        try:
            server.api("GET", "/api/status")
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.25)
    raise RuntimeError(f"jupyter lab did not answer within {timeout} s:\n{server.log.read_text()}")


@dataclass
class Lab:
    """One test's view of JupyterLab or Notebook 7: its page, its notebook, and the page errors it saw."""

    server: JupyterServer
    page: Page
    errors: list[str] = field(default_factory=list)
    app: str = "lab"
    """Where ``open`` opened the notebook: ``"lab"`` or ``"notebook"`` (Notebook 7)."""
    theme_changed: bool = False
    """``set_theme`` ran: the ``lab`` fixture puts the default theme back afterwards."""

    def write_notebook(self, name: str, cells: list[str], kernel: str = IPYKERNEL7) -> str:
        notebook = nbformat.v4.new_notebook()
        notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
        notebook.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
        path = self.server.root / name
        nbformat.write(notebook, path)
        return name

    def open(self, name: str, app: str = "lab") -> None:
        """Open ``name`` in JupyterLab (a fresh workspace, so no old tabs come back) or in Notebook 7."""
        if app == "lab":
            path = f"/lab/workspaces/{uuid.uuid4().hex[:12]}/tree/{name}"
        elif app == "notebook":
            path = f"/notebooks/{name}"
        else:
            raise ValueError(f"app is one of {APPS}, not {app!r}")
        self.app = app
        self.page.goto(f"{self.server.url}{path}?token={self.server.token}")
        self.page.wait_for_selector(".jp-Notebook", timeout=60_000)
        self._wait_kernel_started(name)
        self.wait_idle()

    def _wait_kernel_started(self, name: str, timeout: float = 60.0) -> None:
        """The execution indicator says idle for a moment before the kernel even connects: ask the server."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for session in self.server.api("GET", "/api/sessions"):
                kernel = session.get("kernel") or {}
                if session.get("path") == name and kernel.get("execution_state") == "idle":
                    return
            time.sleep(0.2)
        raise TimeoutError(f"no idle kernel for {name} after {timeout} s")

    def wait_idle(self, timeout: float = 60.0) -> None:
        self.page.wait_for_selector(
            ".jp-Notebook-ExecutionIndicator[data-status=idle]", state="attached", timeout=timeout * 1000
        )

    def run_all(self) -> None:
        """Run → Run All Cells (the same menu in JupyterLab and Notebook 7)."""
        self.page.click(".lm-MenuBar-itemLabel:text-is('Run')")
        self.page.click("[data-command='runmenu:run-all']")

    def kernel_menu(self, command: str) -> None:
        """Click an item of the Kernel menu, by its ``data-command``."""
        self.page.click(".lm-MenuBar-itemLabel:text-is('Kernel')")
        self.page.click(f"[data-command='{command}']")

    def restart_kernel(self) -> None:
        """Kernel → Restart Kernel…, then accept the dialog, as a user does."""
        self.kernel_menu("kernelmenu:restart")
        self.page.click(".jp-Dialog .jp-Dialog-button.jp-mod-accept")

    def interrupt_kernel(self) -> None:
        """Kernel → Interrupt Kernel (the toolbar's ■ runs the same command)."""
        self.kernel_menu("kernelmenu:interrupt")

    def set_theme(self, theme: str) -> None:
        """Settings → Theme → ``theme`` (``LIGHT``, ``DARK``), as a user does, in JupyterLab and Notebook 7 alike.

        Returns once the theme's CSS is in (JupyterLab sets ``data-jp-theme-name`` on the body after loading it)
        and the splash screen shown meanwhile is gone.
        """
        self.theme_changed = True
        page = self.page
        page.click(".lm-MenuBar-itemLabel:text-is('Settings')")
        page.hover(".lm-Menu-itemLabel:text-is('Theme')")
        page.click(f".lm-Menu-itemLabel:text-is('{theme}')")
        page.wait_for_selector(f"body[data-jp-theme-name='{theme}']", state="attached", timeout=30_000)
        page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=30_000)

    def cell_output(self, index: int) -> str:
        return self.page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea").inner_text()

    def wait_cell_output(self, index: int, text: str, timeout: float = 30.0) -> None:
        locator = self.page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea")
        locator.filter(has_text=text).wait_for(timeout=timeout * 1000)


def luminance(rgb: Sequence[float]) -> float:
    """WCAG 2 relative luminance of an sRGB colour given as 0-255 channels."""
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (x / 255 for x in rgb[:3])]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: Sequence[float], b: Sequence[float]) -> float:
    """WCAG 2 contrast ratio of two opaque colours: 1 to 21; body text wants 4.5."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)
