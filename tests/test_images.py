"""Images: returned by tools (each kind a notebook holds), sent with prompts (``send(images=...)``), and on the
wire of every provider, checked in the request bodies the loopback server received."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import IPython.display
import matplotlib
import pytest
from matplotlib.figure import Figure
from PIL import Image

from nbstream import (
    Call,
    Event,
    ImageData,
    ModelRequest,
    Say,
    ScriptedModel,
    Session,
    ToolError,
    ToolResult,
    ToolResultMessage,
    ToolRunning,
    TurnFinished,
    UserMessage,
    tool,
)
from nbstream._images import MAX_IMAGE_BYTES, unseen_note
from nbstream._providers import PROVIDERS
from nbstream.testing import ProviderServer

# --- helpers ------------------------------------------------------------------------------------------------


def picture(size: tuple[int, int] = (4, 3), colour: str = "red", format: str = "PNG") -> bytes:
    """A small image made with PIL, encoded."""
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=format)
    return buffer.getvalue()


def figure() -> Figure:
    fig = Figure(figsize=(2, 1), dpi=50)
    fig.add_subplot().plot([1, 3, 2])
    return fig


def oversized() -> bytes:
    """PNG's signature and one byte past the cap: an image by its bytes, too large to keep."""
    return b"\x89PNG\r\n\x1a\n" + bytes(MAX_IMAGE_BYTES - 7)


async def results_of(returns: Callable[[], Any]) -> tuple[list[Event], Session]:
    """A turn in which the model calls a tool ``show`` that returns ``returns()``; every event, and the session."""

    def show() -> Any:
        return returns()

    session = Session(model=ScriptedModel([[Call("show", {})], [Say("I see it.")]]), tools=[tool(show)])
    return [event async for event in session.send("show me")], session


def one_result(events: list[Event]) -> ToolResult:
    [result] = [event for event in events if isinstance(event, ToolResult)]
    return result


def one_error(events: list[Event]) -> ToolError:
    [error] = [event for event in events if isinstance(event, ToolError)]
    return error


# --- images returned by tools -------------------------------------------------------------------------------

KINDS: dict[str, tuple[Callable[[], Any], str, tuple[int, int] | None]] = {
    "ImageData": (lambda: ImageData.from_bytes(picture()), "image/png", (4, 3)),
    "PNG bytes": (picture, "image/png", (4, 3)),
    "JPEG bytes": (lambda: picture(format="JPEG"), "image/jpeg", (4, 3)),
    "bytearray": (lambda: bytearray(picture(format="GIF")), "image/gif", (4, 3)),
    "PIL image": (lambda: Image.new("RGB", (5, 2), "blue"), "image/png", (5, 2)),
    "matplotlib figure": (figure, "image/png", None),
    "IPython.display.Image": (lambda: IPython.display.Image(data=picture()), "image/png", (4, 3)),
}


@pytest.mark.parametrize("kind", list(KINDS))
async def test_each_kind_of_image_a_tool_returns_reaches_the_result_and_the_history(kind: str) -> None:
    returns, media_type, size = KINDS[kind]
    events, session = await results_of(returns)
    result = one_result(events)
    assert result.output == ""  # an image alone: no text besides it
    [image] = result.images
    assert image.media_type == media_type and image.raw.startswith(picture(format=_format(media_type))[:3])
    if size is not None:
        assert (image.width, image.height) == size
    else:
        assert image.width and image.height  # a figure's size depends on its tight bounding box
    [message] = [m for m in session.messages if isinstance(m, ToolResultMessage)]
    assert message.images == [image] and message.content == ""
    assert isinstance(events[-1], TurnFinished) and events[-1].reason == "done"


def _format(media_type: str) -> str:
    return media_type.split("/")[1].upper()


async def test_a_list_keeps_its_other_items_as_text_and_its_images_in_order() -> None:
    fig = figure()
    events, _ = await results_of(lambda: ["sales by month", fig, {"peak": "May"}, picture(colour="green")])
    result = one_result(events)
    assert result.output == 'sales by month\n{"peak": "May"}'
    assert [image.media_type for image in result.images] == ["image/png", "image/png"]
    assert result.images[1] == ImageData.from_bytes(picture(colour="green"))


async def test_a_figure_is_rendered_once_and_a_pyplot_figure_is_closed_after() -> None:
    matplotlib.use("Agg")  # no display here
    from matplotlib import pyplot

    fig, axes = pyplot.subplots(figsize=(2, 1), dpi=40)
    axes.plot([1, 2])
    renders: list[int] = []
    savefig = fig.savefig

    def counted(*args: Any, **kwargs: Any) -> Any:
        renders.append(1)
        return savefig(*args, **kwargs)

    fig.savefig = counted  # type: ignore[method-assign]
    events, _ = await results_of(lambda: ("the plot", fig))
    assert len(one_result(events).images) == 1
    assert renders == [1]
    assert not pyplot.fignum_exists(fig.number)  # handed over: the notebook will not show it a second time


async def test_an_image_over_the_cap_is_an_error_result_that_says_so() -> None:
    for returns in (oversized, lambda: ["too big:", oversized()]):
        events, session = await results_of(returns)
        error = one_error(events)
        assert error.kind == "exception"
        assert error.message == (
            f"show returned an image that cannot be sent: ValueError: the image is {MAX_IMAGE_BYTES + 1:,} "
            f"bytes; at most {MAX_IMAGE_BYTES:,} are kept"
        )
        assert isinstance(events[-1], TurnFinished) and events[-1].reason == "done"  # the model was told


async def test_bytes_that_are_no_image_stay_data() -> None:
    events, _ = await results_of(lambda: b"hello")
    result = one_result(events)
    assert (result.output, result.images) == ("b'hello'", [])
    events, _ = await results_of(lambda: [b"\x89PNG", "a cut-off signature is no image"])
    assert one_result(events).images == []


async def test_only_the_first_items_of_a_long_list_are_looked_at_and_its_text_stays_bounded() -> None:
    events, _ = await results_of(lambda: [picture(), *range(2_000_000)])
    result = one_result(events)
    assert len(result.images) == 1
    assert result.output.endswith("… [truncated: more than 20000 characters]")
    events, _ = await results_of(lambda: [*range(100), picture()])  # past the 100 items looked at: data
    assert one_result(events).images == []


async def test_a_replayed_call_reuses_the_images_of_its_result() -> None:
    runs: list[int] = []

    def show() -> Any:
        runs.append(1)
        return ["once", picture()]

    replayed = Call("show", {}, id="call_same")
    model = ScriptedModel([[replayed], [replayed], [Say("ok")]])
    session = Session(model=model, tools=[tool(show)])
    events = [event async for event in session.send("go")]
    results = [event for event in events if isinstance(event, ToolResult)]
    assert runs == [1] and len([e for e in events if isinstance(e, ToolRunning)]) == 1
    assert [r.images for r in results] == [[ImageData.from_bytes(picture())]] * 2
    assert [m.images for m in model.requests[2].messages if isinstance(m, ToolResultMessage)] == [
        [ImageData.from_bytes(picture())]
    ] * 2


# --- images with the prompt ---------------------------------------------------------------------------------


async def test_send_takes_images_of_every_kind_and_puts_them_on_the_prompt(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(picture(format="JPEG"))
    model = ScriptedModel([[Say("Nice.")]])
    session = Session(model=model)
    given = [picture(), str(path), path, Image.new("RGB", (3, 3)), figure()]
    events = [event async for event in session.send("what are these?", images=given)]
    assert isinstance(events[-1], TurnFinished) and events[-1].reason == "done"
    prompt = session.messages[0]
    assert isinstance(prompt, UserMessage) and prompt.content == "what are these?"
    assert [image.media_type for image in prompt.images] == [
        "image/png",
        *["image/jpeg"] * 2,
        *["image/png"] * 2,
    ]
    assert model.requests[0].messages[0] == prompt  # what the model was sent
    [_ async for _ in session.send("and this?", images=picture(colour="blue"))]  # one image alone
    assert session.messages[2] == UserMessage(
        content="and this?", images=[ImageData.from_bytes(picture(colour="blue"))]
    )


def test_send_refuses_a_bad_image_itself_before_the_turn_starts() -> None:
    model = ScriptedModel([[Say("never")]])
    session = Session(model=model)
    cases: list[tuple[Any, type[Exception], str]] = [
        ([picture(), 42], TypeError, "images[1]: cannot use a int as an image"),
        ([b"plain text"], ValueError, "images[0]: not a PNG, JPEG, GIF or WebP image"),
        ([oversized()], ValueError, f"images[0]: the image is {MAX_IMAGE_BYTES + 1:,} bytes"),
    ]
    for images, error, message in cases:
        with pytest.raises(error, match=message.replace("[", r"\[").replace("]", r"\]")):
            session.send("look", images=images)
    with pytest.raises(TypeError, match="prompt must be a str"):
        session.send(b"look", images=[picture()])  # type: ignore[arg-type]
    assert session.messages == [] and model.requests == [] and not session.busy


# --- on the wire: what each provider's server receives ------------------------------------------------------

PROMPT = "what is this?"
PROMPT_IMAGE = ImageData.from_bytes(picture())
TOOL_IMAGE = ImageData.from_bytes(picture((6, 5), "blue"))
CAPTION = "a blue square"
NOTE = "[1 image (image/png, 6×5) was shown to the user; this model cannot see tool images]"


def anthropic_image(image: ImageData) -> dict[str, Any]:
    return {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": image.data}}


def responses_image(image: ImageData) -> dict[str, Any]:
    return {"type": "input_image", "image_url": image.data_url, "detail": "auto"}


def chat_prompt() -> dict[str, Any]:
    parts = [
        {"type": "text", "text": PROMPT},
        {"type": "image_url", "image_url": {"url": PROMPT_IMAGE.data_url}},
    ]
    return {"role": "user", "content": parts}


def sent_prompt(provider: str, body: dict[str, Any]) -> Any:
    return body["input"][0] if provider == "openai-responses" else body["messages"][0]


def sent_result(provider: str, body: dict[str, Any], call_id: str) -> Any:
    if provider == "anthropic":
        return body["messages"][-1]["content"]
    if provider == "openai-responses":
        return body["input"][-1]
    return body["messages"][-1]


def expected(provider: str, call_id: str) -> tuple[Any, Any]:
    """The prompt and the tool result as ``provider`` takes them, exactly."""
    if provider == "anthropic":
        prompt = {
            "role": "user",
            "content": [anthropic_image(PROMPT_IMAGE), {"type": "text", "text": PROMPT}],
        }
        content = [{"type": "text", "text": CAPTION}, anthropic_image(TOOL_IMAGE)]
        return prompt, [{"type": "tool_result", "tool_use_id": call_id, "content": content}]
    if provider == "openai-responses":
        prompt = {
            "role": "user",
            "content": [{"type": "input_text", "text": PROMPT}, responses_image(PROMPT_IMAGE)],
        }
        output = [{"type": "input_text", "text": CAPTION}, responses_image(TOOL_IMAGE)]
        return prompt, {"type": "function_call_output", "call_id": call_id, "output": output}
    if provider == "ollama":
        prompt = {"role": "user", "content": PROMPT, "images": [PROMPT_IMAGE.data]}
        return prompt, {"role": "tool", "tool_name": "show", "content": f"{CAPTION}\n{NOTE}"}
    return chat_prompt(), {"role": "tool", "tool_call_id": call_id, "content": f"{CAPTION}\n{NOTE}"}


@pytest.mark.parametrize("provider", list(PROVIDERS))
async def test_each_provider_receives_the_prompts_and_the_tools_images_in_its_own_shape(
    provider: str,
) -> None:
    def show() -> list[Any]:
        return [CAPTION, Image.new("RGB", (6, 5), "blue")]

    async with ProviderServer([[Call("show", {})], [Say("A blue square.")]], seed=11) as server:
        session = Session(
            f"{provider}:m", base_url=server.base_url(provider), api_key="k", tools=[tool(show)]
        )
        events = [event async for event in session.send(PROMPT, images=[picture()])]
        await session.aclose()
    assert isinstance(events[-1], TurnFinished) and events[-1].reason == "done"
    call_id = one_result(events).id
    first, second = server.requests[0].json, server.requests[1].json
    prompt, result = expected(provider, call_id)
    assert sent_prompt(provider, first) == prompt
    assert sent_prompt(provider, second) == prompt
    assert sent_result(provider, second, call_id) == result

    read = PROVIDERS[provider].read_request(second)  # read back: what the test server's demo model sees
    assert read.messages[0] == UserMessage(content=PROMPT, images=[PROMPT_IMAGE])
    [answered] = [m for m in read.messages if isinstance(m, ToolResultMessage)]
    if provider in ("anthropic", "openai-responses"):
        assert (answered.content, answered.images) == (CAPTION, [TOOL_IMAGE])
    else:
        assert (answered.content, answered.images) == (f"{CAPTION}\n{NOTE}", [])


def test_the_note_names_each_image_a_model_could_not_see() -> None:
    jpeg = ImageData.from_bytes(picture((7, 2), format="JPEG"))
    assert unseen_note([TOOL_IMAGE]) == NOTE
    assert unseen_note([TOOL_IMAGE, jpeg]) == (
        "[2 images (image/png, 6×5; image/jpeg, 7×2) were shown to the user; this model cannot see tool images]"
    )


def test_a_prompt_without_images_is_sent_as_before() -> None:
    request = ModelRequest([UserMessage(content="hi")])
    bodies = {name: provider.build("m", request, {}) for name, provider in PROVIDERS.items()}
    assert bodies["anthropic"]["messages"][0] == {"role": "user", "content": [{"type": "text", "text": "hi"}]}
    assert bodies["openai-responses"]["input"][0] == {"role": "user", "content": "hi"}
    for name in ("openai", "gemini", "ollama"):
        assert bodies[name]["messages"][0] == {"role": "user", "content": "hi"}
