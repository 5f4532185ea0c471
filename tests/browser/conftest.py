"""Fixtures for the browser tests: one Jupyter server per session (it takes seconds to start; it serves
JupyterLab and Notebook 7), Chromium per module, and per test a fresh browser context, workspace and kernel
(see jupyter_lab.py). A test that switched the theme gets the default one back for the next test."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_lab import (
    ARTIFACTS,
    HARMLESS_PAGE_ERRORS,
    JupyterServer,
    Lab,
    start_server,
    stop_server,
)
from playwright.sync_api import Browser, sync_playwright

# One Debian Chromium and one set of flags for the browser tests and the render benchmark.
from bench.render import CHROMIUM, CHROMIUM_ARGS


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


@pytest.fixture(scope="session")
def jupyter_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    server = start_server(tmp_path_factory.mktemp("jupyter"))
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope: Playwright's sync API keeps an event loop running on this thread while it is open, which
    # would stop pytest-asyncio from running the async tests of the modules collected after this one.
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def lab(request: pytest.FixtureRequest, jupyter_server: JupyterServer, browser: Browser) -> Iterator[Lab]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    lab = Lab(jupyter_server, page)
    page.on("pageerror", lambda error: lab.errors.append(str(error)))
    try:
        yield lab
    finally:
        if request.node.stash.get(_FAILED, False):  # what the page looked like when the test failed
            ARTIFACTS.mkdir(exist_ok=True)
            name = "".join(c if c.isalnum() or c in "-_" else "_" for c in request.node.name)
            with contextlib.suppress(Exception):
                page.screenshot(path=ARTIFACTS / f"failed-{name}.png", full_page=True)
        context.close()
        jupyter_server.delete_kernels()
        if lab.theme_changed:
            jupyter_server.reset_theme()
    unexpected = [e for e in lab.errors if not any(harmless in e for harmless in HARMLESS_PAGE_ERRORS)]
    assert not unexpected, f"page errors: {unexpected}"
