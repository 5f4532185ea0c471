"""The static copy of a chat that a saved notebook keeps for readers without widgets.

A ``StreamChat`` output's mime bundle holds the widget view (``application/vnd.jupyter.widget-view+json``)
*and* ``text/html``: a sanitized rendering of the conversation (``_export_html.static_html``). GitHub, nbviewer,
VS Code without widget support, ``jupyter nbconvert --to html`` (when the notebook saved no widget state) and
JupyterLab itself for an untrusted notebook show the HTML. A trusted notebook in JupyterLab or Notebook 7 always
renders the widget view (its renderer ranks first): the chat when the notebook saved widget state (or its kernel
still runs it), else ipywidgets' "model not found" note; never the copy.

The copy is refreshed at each turn's end (before its handle resolves, so a notebook run headless saves the
last turn too) and after ``clear()``, whether or not a page shows the widget: a notebook saved from JupyterLab
after a conversation keeps an up-to-date copy. The refresh is an ``update_display_data`` for the chat's display
id, sent through the kernel like the widget's own comm messages (so it carries the running cell's parent header,
as nbclient requires), from one worker thread that renders the copy (100 ms for a hundred long turns).

JupyterLab renders an updated widget output again, and ipywidgets' renderer then asks for a new view without
removing the old one; the frontend hands the old view's DOM to the new one (``js/src/widget.js``), so the
refresh rebuilds nothing and leaves one live view per output.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ._sendable import clean_text

__all__ = ["WIDGET_VIEW", "display_bundle", "publish_update", "refresh", "split", "with_static_html"]

log = logging.getLogger("nbstream")

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def with_static_html(bundle: Any, fragment: str) -> Any:
    """``bundle`` (a dict, or anywidget's ``(data, metadata)``) with ``text/html`` added to a widget view's data;
    anything else (a closed widget's ``None``) as it is."""
    data, metadata = split(bundle)
    if WIDGET_VIEW not in data:
        return bundle
    data = {**data, "text/html": clean_text(fragment)}
    return (data, metadata) if isinstance(bundle, tuple) else data


def split(bundle: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A ``_repr_mimebundle_`` result as (data, metadata); empty dicts for anything else."""
    if isinstance(bundle, tuple) and len(bundle) == 2 and isinstance(bundle[0], dict):
        return bundle[0], bundle[1] if isinstance(bundle[1], dict) else {}
    return (bundle, {}) if isinstance(bundle, dict) else ({}, {})


def display_bundle(bundle: Any, display_id: str, fallback: str) -> bool:
    """Display ``bundle`` under ``display_id`` (so ``refresh`` can update every output showing it); a bundle with
    no data (a closed widget) shows ``fallback`` as plain text instead. ``True`` when the bundle was displayed."""
    from IPython.display import display

    data, metadata = split(bundle)
    if not data:
        display({"text/plain": fallback}, raw=True)
        return False
    display(data, raw=True, metadata=metadata, display_id=display_id)
    return True


def refresh(display_id: str, make_bundle: Callable[[], Any]) -> Future[None]:
    """Make a bundle with ``make_bundle()`` and send it to the outputs of ``display_id``, on nbstream's one
    static-copy thread: copies go out in the order asked, and rendering a long conversation's markdown never
    holds up the chats' loop. The future never fails: a copy that cannot be made or sent is logged."""
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nbstream-static-copy")
        return _worker.submit(_refresh_now, display_id, make_bundle)


_worker: ThreadPoolExecutor | None = None
_worker_lock = threading.Lock()


def _refresh_now(display_id: str, make_bundle: Callable[[], Any]) -> None:
    try:
        data, metadata = split(make_bundle())
        if data:
            publish_update(display_id, data, metadata)
    except Exception:
        log.exception("nbstream: the notebook's static copy of the chat could not be updated")


def publish_update(display_id: str, data: dict[str, Any], metadata: dict[str, Any]) -> bool:
    """Send ``update_display_data`` for ``display_id`` from any thread; ``False`` when there is no kernel."""
    try:
        from ipykernel.kernelbase import Kernel
    except ImportError:
        return False
    if not Kernel.initialized():
        return False
    kernel = Kernel.instance()
    if kernel.session is None or kernel.iopub_socket is None:
        return False
    content = {"data": data, "metadata": metadata, "transient": {"display_id": display_id}}
    kernel.session.send(
        kernel.iopub_socket,
        "update_display_data",
        content,
        parent=kernel.get_parent(),
        ident=b"display_data",
    )
    return True
