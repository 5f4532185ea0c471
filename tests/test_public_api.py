"""The public surface: ``__all__`` is sorted and complete, and the widget is only imported when used."""

from __future__ import annotations

import subprocess
import sys

import nbstream
import nbstream.testing


def _isort_style(name: str) -> tuple[int, str]:
    """Constants, then classes, then functions (the order ruff's RUF022 keeps)."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_all_is_sorted_and_every_name_resolves() -> None:
    for module in (nbstream, nbstream.testing):
        names = [name for name in module.__all__ if not name.startswith("__")]
        assert names == sorted(names, key=_isort_style)
        for name in module.__all__:
            assert getattr(module, name) is not None, name


def test_importing_nbstream_does_not_import_the_widget_stack() -> None:
    code = (
        "import sys, nbstream\n"
        "assert 'ipywidgets' not in sys.modules and 'nbstream._widget' not in sys.modules\n"
        "nbstream.StreamChat\n"
        "assert 'nbstream._widget' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
