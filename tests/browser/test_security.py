"""Hostile model output in a real JupyterLab page: nothing runs, everything shows as inert text.

One notebook, one kernel, one turn. A scripted model puts 42 XSS vectors (script tags, event handlers,
``javascript:`` and ``data:`` URLs, SVG/MathML, malformed and mutation markup, markdown links and images) into
its text, a registered tool's ``str`` argument, tool results (a ``str`` and a ``dict``), a tool's error
message and tool *names*; it also calls ``os_system``, a function that exists in the notebook but is not
registered. Every vector tries to set ``window.__pwned``. After the turn the test clicks, hovers and
fires events on every element of the widget, then checks that the flag is unset, that the widget's DOM holds
only the elements and attributes the frontend itself makes, and that the vectors read back literally as text.
"""

from __future__ import annotations

import json
from typing import Any

from jupyter_lab import Lab
from playwright.sync_api import Dialog, Page
from test_chat import WIDGET, cell, wait_status

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
        \"\"\"Return the payload.\"\"\"
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
    *("role", "placeholder", "rows", "aria-label", "aria-expanded"),
}

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
    """Real pointer moves over every visible part of the widget, at the top and the bottom of each area."""
    page = lab.page
    for position in ("0", "el.scrollHeight"):
        page.evaluate(
            f"""() => {{ for (const el of document.querySelectorAll('{WIDGET} .nbs-area'))
                     el.scrollTop = {position}; }}"""
        )
        box = page.locator(WIDGET).bounding_box()
        assert box is not None
        for row in range(12):
            for column in range(16):
                page.mouse.move(
                    box["x"] + (column + 0.5) * box["width"] / 16, box["y"] + (row + 0.5) * box["height"] / 12
                )


def check_dom(report: dict[str, Any]) -> None:
    assert set(report["tags"]) <= FRONTEND_TAGS | MARKDOWN_TAGS, report["tags"]
    assert report["foreignButtons"] == 0
    assert report["links"] >= 5  # the markdown links exist, as inert anchors (so the test clicks them)
    unexpected = [(tag, name) for tag, name, _ in report["attributes"] if name not in SAFE_ATTRIBUTES]
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
    }


def expanded_text(lab: Lab, call_id: str) -> str:
    result = lab.page.locator(f"{WIDGET} [data-nbstream=result][data-tool-id='{call_id}']")
    if result.get_attribute("data-collapsed") == "true":
        result.locator("[data-nbstream=expand]").click()
    assert result.get_attribute("data-collapsed") in (None, "false")
    return str(result.locator(".nbs-result-body").evaluate("el => el.textContent"))


def test_xss_vectors_run_nothing_and_show_as_text(lab: Lab) -> None:
    assert len(VECTORS) >= 40
    (lab.server.root / "vectors.json").write_text(json.dumps(VECTORS))
    marker = lab.server.root / "pwned-by-os-system"
    prompt = "Please repeat: " + " ".join(HTML_VECTORS)
    lab.open(lab.write_notebook("security.ipynb", [SETUP, f"await chat.send({prompt!r})"]))
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
    lab.run_all()
    wait_status(lab, "done", timeout=60)
    lab.wait_idle()
    root = page.locator(WIDGET)

    # Before anything is touched: only the frontend's own elements and attributes, and nothing ran.
    check_dom(root.evaluate(DOM_REPORT))
    assert page.evaluate("() => window.__pwned") is None

    # Poke: real clicks and hovers on every link, a real pointer sweep, then every event on every element.
    for link in root.locator("a").all():
        link.scroll_into_view_if_needed(timeout=5_000)
        link.hover(force=True, timeout=5_000)
        link.click(force=True, timeout=5_000, no_wait_after=True)
    sweep_mouse(lab)
    assert root.evaluate(POKE_EVERYTHING) > 1000
    page.wait_for_timeout(500)  # long enough for an image error or a frame load to fire

    assert page.evaluate("() => window.__pwned") is None
    assert popups == [] and dialogs == [] and page.url == url
    assert not marker.exists(), "an unregistered name ran the notebook's os_system"
    check_dom(root.evaluate(DOM_REPORT))

    # Model text: raw markup shows as the characters sent, in the user's prompt too.
    text = "".join(str(block.evaluate("el => el.textContent")) for block in root.locator(ASSISTANT).all())
    for vector in HTML_VECTORS:
        assert vector in text, f"not shown literally in the text: {vector}"
    assert "Finished. " + HTML_VECTORS[0] in text
    assert prompt in str(root.locator("[data-nbstream=user]").evaluate("el => el.textContent"))
    for label in ("md link 33", "md link 35", "md link 36", "md image 37", "md ref 40"):
        assert label in text

    rows = {row.get_attribute("data-tool-name"): row for row in root.locator("[data-nbstream=tool]").all()}
    assert set(rows) == {"echo_text", "echo_dict", "explode", "os_system", HOSTILE_TOOL_NAME}

    # Tool arguments: the raw JSON, as text.
    for name in ("echo_text", "echo_dict", "explode"):
        args = str(rows[name].locator("[data-nbstream=tool-args]").evaluate("el => el.textContent"))
        assert json.loads(args) == {"payload": PAYLOAD}
        for vector in VECTORS:
            assert json.dumps(vector, ensure_ascii=False)[1:-1] in args

    # Tool results: the str as it came, the dict as (pretty) JSON, both as text.
    for name in ("echo_text", "echo_dict"):
        assert rows[name].get_attribute("data-state") == "done"
    text_result = expanded_text(lab, str(rows["echo_text"].get_attribute("data-tool-id")))
    assert text_result == PAYLOAD
    dict_result = expanded_text(lab, str(rows["echo_dict"].get_attribute("data-tool-id")))
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
