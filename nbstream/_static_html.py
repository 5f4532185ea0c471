"""The static copy of a chat that a saved notebook keeps for readers without widgets.

A ``StreamChat`` output's mime bundle holds the widget view (``application/vnd.jupyter.widget-view+json``)
*and* ``text/html``: a sanitized rendering of the conversation (``_export.static_html``). Frontends with widget
support prefer the widget (JupyterLab ranks its widget renderer first); GitHub, nbviewer, VS Code without
widget support and ``jupyter nbconvert --to html`` (when the notebook saved no widget state) show the HTML.

The copy is refreshed at each turn's end with an ``update_display_data`` for the chat's display id, sent
through the kernel like the widget's own comm messages (so it carries the running cell's parent header, as
nbclient requires). It is refreshed only while no page shows the widget: in JupyterLab an update of a widget
output re-renders it, and ipywidgets' renderer then makes a second view without disposing the first (one
leaked view per turn). With a page attached the copy stays as it was when ``display(chat)`` ran, and
``chat.export(path)`` writes the full conversation.
"""

from __future__ import annotations

import logging
from typing import Any

from ._sendable import clean_text

__all__ = ["WIDGET_VIEW", "publish_update", "split", "with_static_html"]

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
