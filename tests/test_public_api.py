"""The public surface: ``__all__`` is sorted and complete, and the widget is only imported when used."""

from __future__ import annotations

import inspect
import pickle
import subprocess
import sys
import typing

from pydantic import BaseModel

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


def test_public_classes_and_functions_are_named_after_the_package() -> None:
    """``nbstream.TextDelta``, not ``nbstream._events.TextDelta``: in reprs, tracebacks and help (as httpx)."""
    public = [getattr(nbstream, name) for name in nbstream.__all__]
    named = [obj for obj in public if isinstance(obj, type) or inspect.isfunction(obj)]
    assert len(named) > 40
    for obj in named:
        assert obj.__module__ == "nbstream", obj
        assert getattr(nbstream, obj.__name__) is obj
    assert repr(nbstream.TextDelta) == "<class 'nbstream.TextDelta'>"


def test_type_hints_pickling_and_pydantic_still_work_after_the_renaming() -> None:
    for name in nbstream.__all__:
        obj = getattr(nbstream, name)
        if isinstance(obj, type):
            typing.get_type_hints(obj)  # resolved in the module that wrote them
    ready = nbstream.ToolCallReady(
        id="c", name="f", position=0, arguments=None, raw_arguments="{", error="x", error_kind="invalid_json"
    )
    assert pickle.loads(pickle.dumps(ready)) == ready
    history = [nbstream.UserMessage(content="hi"), nbstream.AssistantMessage(text="hello")]
    assert pickle.loads(pickle.dumps(history)) == history
    assert nbstream.EVENTS.validate_json(nbstream.EVENTS.dump_json([ready])) == [ready]

    class Tagged(nbstream.TextDelta):  # a subclass of a public event still builds
        tag: str = ""

    assert Tagged(text="a", tag="b").text == "a"

    class Holder(BaseModel):
        event: nbstream.ToolCallReady
        spec: nbstream.ToolSpec

    assert Holder(event=ready, spec=nbstream.ToolSpec("f", "", {})).event == ready


def test_every_public_event_and_message_field_has_a_description() -> None:
    models = [nbstream.AssistantMessage, nbstream.ToolCall, nbstream.ToolResultMessage, nbstream.UserMessage]
    models += [nbstream.StreamFailure, nbstream.TokenUsage]
    models += [
        obj
        for name in nbstream.__all__
        if isinstance(obj := getattr(nbstream, name), type) and issubclass(obj, BaseModel)
    ]
    for model in models:
        for field_name, field in model.model_fields.items():
            if field_name not in ("type", "role"):  # the tags say what they are
                assert field.description, f"{model.__name__}.{field_name}"
