"""Hostile model output in a real JupyterLab page: nothing runs, everything shows as inert text.

One notebook, one kernel, one turn. A scripted model puts 42 XSS vectors (script tags, event handlers,
``javascript:`` and ``data:`` URLs, SVG/MathML, malformed and mutation markup, markdown links and images) into
its text, a registered tool's ``str`` argument, tool results (a ``str`` and a ``dict``), a tool's error
message and tool *names*; it also calls ``os_system``, a function that exists in the notebook but is not
registered. Every vector tries to set ``window.__pwned``; a tool prints the payload (its card's console) and
the user's prompt is long enough to be folded. After the turn the test clicks, hovers and fires events on every
element of the widget, in the detailed view, then in the quiet view (cards folded into each turn's activity
panel) folded and unfolded, then checks that the flag is unset, that the widget's DOM holds only the elements
and attributes the frontend itself makes, and that the vectors read back literally as text.
"""

from __future__ import annotations

import json
from typing import Any

from jupyter_lab import Lab
from playwright.sync_api import Dialog, Locator, Page
from widget_page import WIDGET, cell, run_cell, wait_status

ASSISTANT = "[data-nbstream=assistant]"

# Raw markup: the markdown renderer must show each of these as the very characters the model sent.
HTML_VECTORS = [
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=2">',
    "<svg onload=window.__pwned=3>",
    "<svg><script>window.__pwned=4</script></svg>",
    '<iframe src="javascript:parent.__pwned=5"></iframe>',
    '<iframe srcdoc="<script>parent.__pwned=6</script>"></iframe>',
    '<a href="javascript:window.__pwned=7">html link 7</a>',
    '<object data="javascript:parent.__pwned=8"></object>',
    '<embed src="javascript:parent.__pwned=9">',
    '<details open ontoggle="window.__pwned=10">details 10</details>',
    '<body onload="window.__pwned=11">',
    '<input autofocus onfocus="window.__pwned=12">',
    '<form action="javascript:window.__pwned=13"><button>form 13</button></form>',
    '<svg><a xlink:href="javascript:window.__pwned=14"><text y="20">svg link 14</text></a></svg>',
    '<math><mtext><table><mglyph><style><img src=x onerror="window.__pwned=15">',
    '<a href="&#106;avascript:window.__pwned=16">entity link 16</a>',
    "<<script>script>window.__pwned=17<</script>/script>",
    "<img src=x onerror=window.__pwned=18",  # never closed
    '<div style="background:url(javascript:window.__pwned=19)" onmouseover="window.__pwned=19">div 19</div>',
    '<noscript><p title="</noscript><img src=x onerror=window.__pwned=20>">',
    '<meta http-equiv="refresh" content="0;url=javascript:window.__pwned=21">',
    '<video><source onerror="window.__pwned=22"></video>',
    '<x onmouseover="window.__pwned=23" onclick="window.__pwned=23">custom tag 23</x>',
    '<a href="data:text/html;base64,PHNjcmlwdD5wYXJlbnQuX19wd25lZD0yNDwvc2NyaXB0Pg==">data link 24</a>',
    '<base href="javascript:window.__pwned=25//">',
    '<link rel="stylesheet" href="data:text/css,*{background:url(javascript:window.__pwned=26)}">',
    '<style>*{background:url("javascript:window.__pwned=27")}</style>',
    '"><img src=x onerror=window.__pwned=28>',  # breaking out of an attribute
    "';window.__pwned=29;//",  # breaking out of a script string
    '<marquee onstart="window.__pwned=30">marquee 30</marquee>',
    '<button formaction="javascript:window.__pwned=31">button 31</button>',
    '<a href="jav&#x09;ascript:window.__pwned=32">tab link 32</a>',
]
# Markdown that makes links: the renderer may turn these into <a>, but never with a dangerous href.
MARKDOWN_VECTORS = [
    "[md link 33](javascript:window.__pwned=33)",
    "[md link 34](JaVaScRiPt:window.__pwned=34)",
    "[md link 35](&#x6A;avascript:window.__pwned=35)",
    "[md link 36](data:text/html;base64,PHNjcmlwdD5wYXJlbnQuX19wd25lZD0zNjwvc2NyaXB0Pg==)",
    "![md image 37](javascript:window.__pwned=37)",
    "<javascript:window.__pwned=38>",
    "[md link 39](vbscript:window.__pwned=39)",
    "[md ref 40][r40]\n\n[r40]: javascript:window.__pwned=40",
    "`<img src=x onerror=window.__pwned=41>`",
    "```html\n<script>window.__pwned=42</script>\n```",
]
VECTORS = HTML_VECTORS + MARKDOWN_VECTORS
PAYLOAD = "\n".join(VECTORS)
HOSTILE_TOOL_NAME = '<img src=x onerror="window.__pwned=43">'
RESULT_DICT: dict[str, Any] = {"payload": PAYLOAD, "vectors": VECTORS, HTML_VECTORS[1]: "a hostile key"}

SETUP = cell(
    """
    import json, pathlib
    from nbstream import Call, Say, ScriptedModel, StreamChat

    vectors = json.loads(pathlib.Path("vectors.json").read_text())
    payload = "\\n".join(vectors)
    chat = StreamChat(ScriptedModel([
        [Say("\\n\\n".join(vectors), chunk=6, delay=0.002),
         Call("echo_text", {"payload": payload}, fragment=64),
         Call("echo_dict", {"payload": payload}, fragment=64),
         Call("explode", {"payload": payload}, fragment=64),
         Call("os_system", {"command": "touch pwned-by-os-system"}),
         Call(vectors[1].replace("2", "43"), {"payload": vectors[0]})],
        [Say("Finished. " + vectors[0], chunk=2)],
    ]))

    def os_system(command: str) -> str:  # defined in the notebook, but never registered
        pathlib.Path("pwned-by-os-system").write_text(command)
        return "ran"

    @chat.tool
    def echo_text(payload: str) -> str:
        \"\"\"Print the payload (stdout and stderr), then return it.\"\"\"
        import sys
        print(payload)
        print(vectors[1], file=sys.stderr)
        return payload

    @chat.tool
    def echo_dict(payload: str) -> dict:
        \"\"\"Return the payload in a dict.\"\"\"
        return {"payload": payload, "vectors": vectors, vectors[1]: "a hostile key"}

    @chat.tool
    def explode(payload: str) -> str:
        \"\"\"Fail with the payload as the message.\"\"\"
        raise ValueError(payload)

    chat
    """
)

# Every element and attribute the frontend itself creates (js/src); markdown adds its allow-list.
FRONTEND_TAGS = {"div", "span", "section", "pre", "textarea", "button"}
MARKDOWN_TAGS = {
    *("a", "blockquote", "br", "code", "del", "em", "hr", "li", "ol", "p", "pre", "strong", "ul"),
    *("h1", "h2", "h3", "h4", "h5", "h6", "table", "tbody", "td", "th", "thead", "tr"),
}
SAFE_ATTRIBUTES = {
    *("class", "href", "title", "start", "align", "target", "rel", "type", "disabled", "hidden"),
    *("role", "placeholder", "rows", "aria-label", "aria-expanded", "aria-keyshortcuts"),
    *("aria-valuemin", "aria-valuemax", "aria-valuenow"),  # a tool card's progress bar (progress_view.js)
}
# Inline styles the frontend sets itself: the prompt box's height (prompt_view.js).
SAFE_STYLED = {"textarea", "div"}

DOM_REPORT = """(root) => {
  const all = [...root.querySelectorAll('*')];
  const attrs = all.flatMap((el) =>
    [...el.attributes].map((a) => [el.tagName.toLowerCase(), a.name, a.value]));
  return {
    tags: [...new Set(all.map((el) => el.tagName.toLowerCase()))],
    attributes: attrs.filter(([, name]) => !name.startsWith('data-')),
    dataAttributes: [...new Set(attrs.map(([, name]) => name).filter((name) => name.startsWith('data-')))],
    foreignButtons: all.filter((el) => el.tagName === 'BUTTON' && !el.dataset.nbstream).length,
    links: all.filter((el) => el.tagName === 'A').length,
  };
}"""

# Fire every event an inline handler or a default action could hang on, on every element of the widget.
POKE_EVERYTHING = """(root) => {
  const kinds = ['pointerover', 'pointerenter', 'mouseover', 'mouseenter', 'mousemove', 'pointerdown',
    'mousedown', 'pointerup', 'mouseup', 'click', 'dblclick', 'contextmenu', 'mouseout', 'mouseleave'];
  const others = ['focus', 'focusin', 'blur', 'load', 'error', 'toggle', 'animationstart', 'transitionend',
    'submit', 'input', 'change'];
  let fired = 0;
  for (const el of root.querySelectorAll('*')) {
    if (el.dataset.nbstream === 'send' || el.dataset.nbstream === 'stop') continue;
    for (const kind of kinds) {
      el.dispatchEvent(new MouseEvent(kind, { bubbles: true, cancelable: true, view: window }));
      fired += 1;
    }
    for (const kind of others) {
      el.dispatchEvent(new Event(kind, { bubbles: true, cancelable: true }));
      fired += 1;
    }
    if (typeof el.focus === 'function') el.focus();
  }
  return fired;
}"""


def is_dangerous_url(value: str) -> bool:
    compact = "".join(ch for ch in value if ord(ch) > 0x20 and not 0x7F <= ord(ch) <= 0x9F).lower()
    return compact.startswith(("javascript:", "data:", "vbscript:"))


def sweep_mouse(lab: Lab) -> None:
    """Real pointer moves over every visible part of the widget: each part of the conversation is scrolled into
    view (the page scrolls, not the widget) and swept with a grid of moves."""
    page = lab.page
    parts = page.locator(
        f"{WIDGET} [data-nbstream=status], {WIDGET} [data-nbstream=turn] > *, {WIDGET} .nbs-flow > *"
    )
    for part in parts.all():
        if not part.is_visible():
            continue
        part.scroll_into_view_if_needed(timeout=5_000)
        box = part.bounding_box()
        if box is None:
            continue
        height = min(box["height"], 800)
        for row in range(6):
            for column in range(8):
                page.mouse.move(
                    box["x"] + (column + 0.5) * box["width"] / 8, box["y"] + (row + 0.5) * height / 6
                )


def check_dom(report: dict[str, Any]) -> None:
    assert set(report["tags"]) <= FRONTEND_TAGS | MARKDOWN_TAGS, report["tags"]
    assert report["foreignButtons"] == 0
    assert report["links"] >= 5  # the markdown links exist, as inert anchors (so the test clicks them)
    unexpected = [
        (tag, name, value)
        for tag, name, value in report["attributes"]
        if name not in SAFE_ATTRIBUTES and not (name == "style" and tag in SAFE_STYLED and "url" not in value)
    ]
    assert unexpected == []
    dangerous = [(tag, value) for tag, name, value in report["attributes"] if is_dangerous_url(value)]
    assert dangerous == []
    assert set(report["dataAttributes"]) <= {
        "data-nbstream",
        "data-tool-id",
        "data-tool-name",
        "data-state",
        "data-collapsed",
        "data-status",
        "data-lm-suppress-shortcuts",
        "data-view",  # the root: detailed / quiet
        "data-reasoning",  # the root: reasoning sections shown / hidden
        "data-open",  # a reasoning section (reasoning_view.js)
        "data-indeterminate",  # a progress bar without a fraction
        "data-committed",  # a committed segment
        "data-sealed",  # a full group of finished markdown blocks, laid out (text_view.js)
        "data-folded",  # a turn whose cards are folded; a folded prompt
        "data-kind",  # a tool error's kind
        "data-stream",  # a console run: stdout / stderr / log
        "data-busy",  # the prompt box (prompt_view.js)
        "data-queued",
        "data-overflow",
    }


def unfold_all(lab: Lab) -> None:
    """Every turn's cards shown, every folded prompt and error detail open (poking toggled them at random)."""
    lab.page.locator(WIDGET).evaluate(
        """root => {
          for (const b of root.querySelectorAll('[data-nbstream=activity-summary][aria-expanded=false]')) b.click();
          for (const b of root.querySelectorAll('[data-nbstream=fold-toggle][aria-expanded=false]')) b.click();
          for (const b of root.querySelectorAll('[data-nbstream=error-toggle][aria-expanded=false]')) b.click();
        }"""
    )


def expanded_text(block: Locator) -> str:
    """The whole text of a result or arguments block (expanded first, if long)."""
    if block.get_attribute("data-collapsed") == "true":
        block.locator("[data-nbstream=expand]").click()
    assert block.get_attribute("data-collapsed") in (None, "false")
    return str(block.locator(".nbs-block-body").evaluate("el => el.textContent"))


def result_text(lab: Lab, call_id: str) -> str:
    return expanded_text(lab.page.locator(f"{WIDGET} [data-nbstream=result][data-tool-id='{call_id}']"))


def poke_and_check(lab: Lab) -> None:
    """Real clicks and hovers on every link, a real pointer sweep, then every event on every element: nothing
    runs, nothing opens, the DOM still holds only what the frontend makes."""
    page = lab.page
    root = page.locator(WIDGET)
    for link in root.locator("a").all():
        if not link.is_visible():
            continue
        link.scroll_into_view_if_needed(timeout=5_000)
        link.hover(force=True, timeout=5_000)
        link.click(force=True, timeout=5_000, no_wait_after=True)
    sweep_mouse(lab)
    assert root.evaluate(POKE_EVERYTHING) > 1000
    page.wait_for_timeout(500)  # long enough for an image error or a frame load to fire
    assert page.evaluate("() => window.__pwned") is None
    check_dom(root.evaluate(DOM_REPORT))


def test_xss_vectors_run_nothing_and_show_as_text(lab: Lab) -> None:
    assert len(VECTORS) >= 40
    (lab.server.root / "vectors.json").write_text(json.dumps(VECTORS))
    marker = lab.server.root / "pwned-by-os-system"
    prompt = "Please repeat: " + " ".join(HTML_VECTORS)
    lab.open(
        lab.write_notebook("security.ipynb", [SETUP, f"await chat.send({prompt!r})", 'chat.view = "quiet"'])
    )
    page = lab.page
    dialogs: list[str] = []
    popups: list[str] = []  # a link that opens anything (even about:blank running a javascript: URL) fails

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    def on_popup(popup: Page) -> None:
        popups.append(popup.url)
        popup.close()

    page.on("dialog", on_dialog)
    page.context.on("page", on_popup)
    url = page.url
    run_cell(lab, 0)
    run_cell(lab, 1)
    wait_status(lab, "done", timeout=60)
    lab.wait_idle()
    root = page.locator(WIDGET)

    # Before anything is touched: only the frontend's own elements and attributes, and nothing ran.
    check_dom(root.evaluate(DOM_REPORT))
    assert page.evaluate("() => window.__pwned") is None

    # Poke everything in the detailed view, then again in the quiet view (cards folded into activity panels).
    poke_and_check(lab)
    # Poking clicked each code block's "Insert" button, which added cells below the chat: find the cell by text.
    quiet = page.locator(".jp-Notebook .jp-Cell").filter(has_text='chat.view = "quiet"')
    quiet.locator(".jp-InputPrompt").click()
    page.keyboard.press("Control+Enter")
    page.wait_for_selector(f"{WIDGET}[data-view=quiet]", timeout=30_000)
    assert root.locator("[data-nbstream=activity-panel] [data-nbstream=tool]").count() == 5
    poke_and_check(lab)
    unfold_all(lab)
    poke_and_check(lab)
    unfold_all(lab)

    assert popups == [] and dialogs == [] and page.url == url
    assert not marker.exists(), "an unregistered name ran the notebook's os_system"

    # Model text: raw markup shows as the characters sent, in the user's prompt too.
    text = "".join(str(block.evaluate("el => el.textContent")) for block in root.locator(ASSISTANT).all())
    for vector in HTML_VECTORS:
        assert vector in text, f"not shown literally in the text: {vector}"
    assert "Finished. " + HTML_VECTORS[0] in text
    # The long prompt is folded; unfolded, it reads back literally.
    user = root.locator("[data-nbstream=user]")
    assert user.locator("[data-nbstream=fold-toggle]").get_attribute("aria-expanded") == "true"
    assert prompt == str(user.locator("[data-nbstream=fold-text]").evaluate("el => el.textContent"))
    for label in ("md link 33", "md link 35", "md link 36", "md image 37", "md ref 40"):
        assert label in text

    rows = {row.get_attribute("data-tool-name"): row for row in root.locator("[data-nbstream=tool]").all()}
    assert set(rows) == {"echo_text", "echo_dict", "explode", "os_system", HOSTILE_TOOL_NAME}

    # Tool arguments: the multi-line payload as the text it is, under its name.
    for name in ("echo_text", "echo_dict", "explode"):
        args = expanded_text(rows[name].locator("[data-nbstream=args-text]"))
        name_line, *lines = args.split("\n")
        assert name_line == "payload:" and all(line == "" or line.startswith("  ") for line in lines)
        assert "\n".join(line[2:] for line in lines) == PAYLOAD

    # What a tool printed: its console, as text.
    printed = str(rows["echo_text"].locator("[data-nbstream=tool-output]").evaluate("el => el.textContent"))
    assert printed == PAYLOAD + "\n" + HTML_VECTORS[1] + "\n"

    # Tool results: the str as it came, the dict as (pretty) JSON, both as text.
    for name in ("echo_text", "echo_dict"):
        assert rows[name].get_attribute("data-state") == "done"
    text_result = result_text(lab, str(rows["echo_text"].get_attribute("data-tool-id")))
    assert text_result == PAYLOAD
    dict_result = result_text(lab, str(rows["echo_dict"].get_attribute("data-tool-id")))
    assert json.loads(dict_result) == RESULT_DICT

    # A tool's error message, and calls to names that are not registered: error rows, shown as text.
    explode = rows["explode"]
    assert explode.get_attribute("data-state") == "error"
    assert HTML_VECTORS[0] in str(explode.evaluate("el => el.textContent"))
    for name in ("os_system", HOSTILE_TOOL_NAME):
        row = rows[name]
        assert row.get_attribute("data-state") == "error"
        shown = str(row.evaluate("el => el.textContent"))
        assert "unknown tool" in shown and name in shown
        call_id = row.get_attribute("data-tool-id")
        assert root.locator(f"[data-nbstream=result][data-tool-id='{call_id}']").count() == 0

    # After all that poking the page still works: nothing was navigated, replaced or broken.
    assert page.evaluate("() => window.__pwned") is None
