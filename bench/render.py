"""Benchmark: what rendering a streamed markdown reply costs the page. ``python -m bench.render``.

In headless Chromium (Playwright, ``/usr/bin/chromium``), the current bundle (``nbstream/static/widget.js`` and
``widget.css``) is mounted in a plain page by a small fake anywidget model, which replays the messages the
kernel sends for one turn: a generated, deterministic markdown reply (headings, paragraphs, lists, code blocks,
tables, quotes) of 25, 100 and 400 KB, delivered

- **at once**: as the kernel sends a reply that streams as fast as it can be read: the messages a real
  ``StreamChat`` + ``ScriptedModel`` published (recorded in this process; the whole reply arrives in one
  ``events`` message, then the ``commit``), 40 ms apart;
- **4 KB/s**: a steady stream, one ``events`` message every 40 ms (the kernel's ``FLUSH_INTERVAL``) holding
  the ~164 characters that arrived meanwhile, then the same closing events and ``commit``.

Per run, on a fresh page (medians of ``--repeats`` runs): long tasks (> 50 ms) and the longest, the longest
gap between animation frames (a rAF loop), how many markdown renders ran (DOMPurify parses each rendered piece
with ``DOMParser``, which the page counts) and the HTML they parsed as a multiple of the final HTML (1.0x: every
block rendered once), the part of that after the ``commit`` arrived, how long after the commit the widget's
DOM still changed (a backlog rendered over several frames), and the text taken out of the DOM as a multiple of
the reply (finished blocks replaced). Targets: at 100 KB at once no task over 50 ms; at 400 KB no task over
100 ms and no more long tasks per KB than at 100 KB (same delivery); at once (100 and 400 KB), HTML parsed at
most 1.2x the final HTML (each block rendered once). ``--check`` exits non-zero when a target fails.
``--profile`` also builds an unminified bundle from ``js/src`` and prints where the time goes (CPU profile by
function, layout and style from a Chrome trace, forced layouts by caller).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["generate_reply", "main", "record_turn", "schedule"]

REPO = Path(__file__).resolve().parents[1]
STATIC = REPO / "nbstream" / "static"
PAGE_JS = Path(__file__).with_name("render_page.js")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-crash-reporter",
    "--disable-breakpad",
]
ORIGIN = "http://nbstream.bench"
SIZES_KB = (25, 100, 400)
MODES = ("once", "steady")
STEADY_RATE = 4096  # bytes per second
FLUSH_MS = 40  # nbstream._page_link.FLUSH_INTERVAL
LONG_TASK_MS = 50
TARGET_ONCE_100_MS = 50.0
TARGET_400_MS = 100.0
# At once: HTML sanitized / final HTML (each block once, plus batch separators and highlighted code).
TARGET_PARSED = 1.2

# ---------------------------------------------------------------------------------------------------------
# The reply


_WORDS = [
    "stream",
    "render",
    "frame",
    "block",
    "token",
    "parser",
    "layout",
    "kernel",
    "widget",
    "message",
    "buffer",
    "table",
    "column",
    "latency",
    "chunk",
    "marker",
    "heading",
    "paragraph",
    "sanitize",
    "incremental",
    "frozen",
    "tail",
    "batch",
    "commit",
    "transcript",
    "notebook",
    "cell",
    "output",
    "browser",
    "thread",
    "budget",
    "scroll",
    "pinned",
    "cost",
    "linear",
    "quadratic",
    "measure",
    "median",
    "sample",
]


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(8, 18))]
    i = rng.randrange(len(words))
    words[i] = rng.choice(
        (
            f"**{words[i]}**",
            f"`{words[i]}()`",
            f"*{words[i]}*",
            f"[{words[i]}](https://example.org/{words[i]})",
        )
    )
    return " ".join(words).capitalize() + "."


def _section(rng: random.Random, n: int) -> str:
    kind = n % 6
    if kind == 0:
        return f"## {n // 6 + 1}. {' '.join(rng.choice(_WORDS) for _ in range(4)).title()}\n\n" + " ".join(
            _sentence(rng) for _ in range(rng.randint(3, 6))
        )
    if kind == 1:
        lines = []
        for i in range(rng.randint(4, 8)):
            lines.append(f"- {_sentence(rng)}")
            if i % 3 == 1:
                lines += [f"  - {_sentence(rng)}", f"  - {_sentence(rng)}"]
        return "\n".join(lines)
    if kind == 2:
        body = [f"def {rng.choice(_WORDS)}_{n}(frames, budget=16):"]
        for i in range(rng.randint(10, 30)):
            body.append(
                f"    {rng.choice(_WORDS)}_{i} = frames[{i}] * budget  # {rng.choice(_WORDS)} <{i}> & more"
            )
        body.append("    return locals()")
        return "```python\n" + "\n".join(body) + "\n```"
    if kind == 3:
        columns = ["size", "frames", "p50 ms", "p99 ms", "note"]
        rows = [
            f"| {rng.randint(1, 999)} KB | {rng.randint(10, 9999)} | {rng.random() * 20:.2f} | "
            f"{rng.random() * 90:.2f} | {rng.choice(_WORDS)} `{rng.choice(_WORDS)}` |"
            for _ in range(rng.randint(5, 14))
        ]
        return "\n".join(["| " + " | ".join(columns) + " |", "|---|--:|--:|--:|:--|", *rows])
    if kind == 4:
        return "\n".join(f"{i}. {_sentence(rng)}" for i in range(1, rng.randint(4, 9)))
    return "> " + " ".join(_sentence(rng) for _ in range(rng.randint(2, 4))) + "\n\n" + _sentence(rng)


def generate_reply(size: int, seed: int = 8) -> str:
    """A deterministic markdown reply of about ``size`` characters (whole sections; a smaller size is a
    prefix of a larger one)."""
    rng = random.Random(seed)
    parts: list[str] = []
    total = 0
    n = 0
    while total < size:
        section = _section(rng, n) + "\n\n"
        parts.append(section)
        total += len(section)
        n += 1
    return "".join(parts)


# ---------------------------------------------------------------------------------------------------------
# The kernel's messages


def record_turn(text: str) -> list[dict[str, Any]]:
    """The messages a real StreamChat with a page attached publishes for one turn replying ``text`` as fast as
    it streams: ``{"custom": content}`` or ``{"state": {...}}``, in order."""
    import comm
    from comm.base_comm import BaseComm

    from nbstream import Say, ScriptedModel, StreamChat

    class _Recorder(BaseComm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.log: list[dict[str, Any]] = []
            super().__init__(*args, **kwargs)

        def publish_msg(
            self, msg_type: str, data: Any = None, metadata: Any = None, buffers: Any = None, **keys: Any
        ) -> None:
            data = data or {}
            if data.get("method") == "custom":
                self.log.append({"custom": data["content"]})
            elif data.get("method") == "update":
                self.log.append({"state": data.get("state", {})})

    previous = comm.create_comm
    comm.create_comm = lambda *args, **kwargs: _Recorder(*args, **kwargs)
    try:
        chat = StreamChat(ScriptedModel([[Say(text)]]))
        channel = chat.comm
        assert isinstance(channel, _Recorder)
        data = {"method": "custom", "content": {"type": "attach"}}
        channel.handle_msg({"content": {"comm_id": channel.comm_id, "data": data}, "buffers": []})
        channel.log.clear()
        chat.send("Write the report.").result(timeout=120)
        chat.close()
    finally:
        comm.create_comm = previous
    return [m for m in channel.log if m.get("custom") or m.get("state")]


def _split_words(text: str, piece: int) -> list[str]:
    """``text`` in pieces of about ``piece`` characters, cut after whitespace, as a model's deltas end."""
    pieces = []
    start = 0
    while start < len(text):
        end = min(len(text), start + piece)
        if end < len(text):
            space = text.rfind(" ", start + piece // 2, end)
            newline = text.rfind("\n", start + piece // 2, end)
            cut = max(space, newline)
            end = cut + 1 if cut != -1 else end
        pieces.append(text[start:end])
        start = end
    return pieces


def schedule(messages: list[dict[str, Any]], mode: str) -> list[dict[str, Any]]:
    """The recorded turn as a timed schedule ``[{"at": ms, "custom": json} | {"at": ms, "state": {...}}]``."""
    timed: list[dict[str, Any]] = []
    if mode == "once":
        at = 0
        for message in messages:
            if "custom" in message:
                timed.append({"at": at, "custom": json.dumps(message["custom"])})
                at += FLUSH_MS
            else:
                timed.append({"at": max(0, at - FLUSH_MS), "state": message["state"]})
        return timed
    # Steady: the turn's events with its text re-batched as the kernel batches a stream at STEADY_RATE.
    events = [
        e
        for m in messages
        if "custom" in m and m["custom"]["type"] == "events"
        for e in m["custom"]["events"]
    ]
    first = next(i for i, e in enumerate(events) if e["type"] == "text_delta")
    last = max(i for i, e in enumerate(events) if e["type"] == "text_delta")
    text = "".join(e["text"] for e in events[first : last + 1] if e["type"] == "text_delta")
    before, after = events[:first], events[last + 1 :]
    pieces = _split_words(text, round(STEADY_RATE * FLUSH_MS / 1000))
    timed.append({"at": 0, "state": {"status": "generating"}})
    for i, piece in enumerate(pieces):
        batch = [*(before if i == 0 else []), {"type": "text_delta", "text": piece}]
        timed.append({"at": i * FLUSH_MS, "custom": json.dumps({"type": "events", "events": batch})})
    at = len(pieces) * FLUSH_MS
    timed.append({"at": at, "custom": json.dumps({"type": "events", "events": after})})
    for message in messages:
        if "state" in message:
            timed.append({"at": at, "state": message["state"]})
        elif message["custom"]["type"] != "events":
            timed.append({"at": at, "custom": json.dumps(message["custom"])})
    return timed


# ---------------------------------------------------------------------------------------------------------
# The page


_INDEX = """<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="/widget.css">
<style>body { margin: 0; font: 14px sans-serif; } #cell { width: 980px; margin: 16px; }</style></head>
<body><div id="cell"><div id="host"></div></div><script type="module" src="/render_page.js"></script></body></html>
"""


@dataclass
class Bundle:
    js: bytes
    css: bytes


def _route(bundle: Bundle, page_js: bytes) -> Any:
    files = {
        "/": (_INDEX.encode(), "text/html"),
        "/widget.js": (bundle.js, "text/javascript"),
        "/widget.css": (bundle.css, "text/css"),
        "/render_page.js": (page_js, "text/javascript"),
    }

    def handle(route: Any) -> None:
        path = route.request.url[len(ORIGIN) :].split("?")[0] or "/"
        if path in files:
            body, kind = files[path]
            route.fulfill(status=200, body=body, content_type=kind)
        else:
            route.fulfill(status=404, body=b"")

    return handle


def _open_page(browser: Any, bundle: Bundle) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.route(f"{ORIGIN}/**", _route(bundle, PAGE_JS.read_bytes()))
    page.goto(f"{ORIGIN}/")
    page.wait_for_function("window.benchReady === true")
    page.evaluate("url => window.bench.mount(url)", f"{ORIGIN}/widget.js")
    if errors:
        raise RuntimeError(f"page errors: {errors}")
    page.wait_for_timeout(300)
    return context, page, errors


def run_once(browser: Any, bundle: Bundle, timed: list[dict[str, Any]], reply_chars: int) -> dict[str, Any]:
    """One run on a fresh page: the page's raw numbers plus the derived columns."""
    context, page, errors = _open_page(browser, bundle)
    try:
        raw = page.evaluate("schedule => window.bench.play(schedule)", timed)
    finally:
        context.close()
    if errors:
        raise RuntimeError(f"page errors: {errors}")
    return summarize(raw, reply_chars)


def summarize(raw: dict[str, Any], reply_chars: int) -> dict[str, Any]:
    tasks = [t["duration"] for t in raw["longtasks"]]
    html = max(1, raw["html"])
    return {
        "long": len(tasks),
        "longest": max(tasks, default=0.0),
        "gap": raw["frameGap"],
        "renders": raw["parsed"]["calls"],
        "parsed": raw["parsed"]["chars"] / html,
        "after_commit": raw["parsed"]["charsAfterCommit"] / html,
        "drain": raw["renderedAfterCommit"],
        "replaced": raw["removed"]["chars"] / reply_chars,
        "raw": raw,
    }


# ---------------------------------------------------------------------------------------------------------
# Table


@dataclass
class Row:
    mode: str
    kb: int
    chars: int
    runs: list[dict[str, Any]] = field(default_factory=list)

    def median(self, key: str) -> float:
        return float(statistics.median(run[key] for run in self.runs))

    @property
    def per_kb(self) -> float:
        return self.median("long") / (self.chars / 1024)


def verdicts(rows: list[Row]) -> dict[tuple[str, int], tuple[str, str]]:
    """(mode, kb) -> (target text, "pass"/"FAIL"/"")."""
    out: dict[tuple[str, int], tuple[str, str]] = {}
    by = {(row.mode, row.kb): row for row in rows}
    for row in rows:
        targets: list[str] = []
        ok = True
        if row.mode == "once" and row.kb == 100:
            ok = row.median("longest") <= TARGET_ONCE_100_MS
            targets.append(f"longest ≤ {TARGET_ONCE_100_MS:.0f} ms")
        elif row.kb == 400:
            base = by.get((row.mode, 100))
            ok = row.median("longest") <= TARGET_400_MS
            targets.append(f"longest ≤ {TARGET_400_MS:.0f} ms")
            if base is not None:
                ok = ok and row.per_kb <= base.per_kb + 1e-9
                targets.append(f"long/KB ≤ {base.per_kb:.3f}")
        if row.mode == "once" and row.kb in (100, 400):
            ok = ok and row.median("parsed") <= TARGET_PARSED
            targets.append(f"parsed ≤ {TARGET_PARSED}x")
        out[(row.mode, row.kb)] = (", ".join(targets), ("pass" if ok else "FAIL") if targets else "")
    return out


def print_table(rows: list[Row], repeats: int) -> bool:
    label = {"once": "at once", "steady": "4 KB/s"}
    print(f"\nStreamed reply rendering in Chromium (median of {repeats}; bundle nbstream/static/widget.js)")
    header = (
        f"{'delivery':<8} {'reply':>7} {'long':>5} {'long/KB':>8} {'longest':>9} {'frame gap':>10} "
        f"{'renders':>8} {'parsed':>7} {'@commit':>8} {'drain':>7} {'replaced':>9}  {'target':<52} result"
    )
    print(header)
    print("-" * len(header))
    results = verdicts(rows)
    ok = True
    for row in rows:
        target, verdict = results[(row.mode, row.kb)]
        ok = ok and verdict != "FAIL"
        print(
            f"{label[row.mode]:<8} {row.kb:>5}KB {row.median('long'):>5.0f} {row.per_kb:>8.3f} "
            f"{row.median('longest'):>7.0f}ms {row.median('gap'):>8.0f}ms {row.median('renders'):>8.0f} "
            f"{row.median('parsed'):>6.2f}x {row.median('after_commit'):>7.2f}x {row.median('drain'):>5.0f}ms "
            f"{row.median('replaced'):>8.2f}x  {target:<52} {verdict or '-'}"
        )
    print(
        "\nlong: tasks > 50 ms; frame gap: longest gap between animation frames; renders: markdown pieces "
        "sanitized;\nparsed: HTML sanitized / final HTML (1.00x = each block rendered once); @commit: the part "
        "after the turn's commit;\ndrain: how long after the commit the widget's DOM still changed (a backlog "
        "rendered over frames);\nreplaced: text removed from the DOM / reply text (finished blocks replaced)."
    )
    return ok


# ---------------------------------------------------------------------------------------------------------
# Profile


def build_unminified(out: Path, src: Path) -> Bundle | None:
    """``src`` (js/src by default) bundled like build.mjs but unminified, so profiles name the functions; None
    when it does not build (the sources are mid-edit)."""
    script = (
        "import * as esbuild from 'esbuild';"
        f"await esbuild.build({{entryPoints: [{json.dumps(str(src / 'widget.js'))}],"
        f"outfile: {json.dumps(str(out / 'widget.js'))}, nodePaths: [{json.dumps(str(REPO / 'js' / 'node_modules'))}],"
        "bundle: true, format: 'esm', minify: false, target: ['es2022'], legalComments: 'none', logLevel: 'error'});"
    )
    done = subprocess.run(
        ["node", "--input-type=module", "-e", script], cwd=REPO / "js", capture_output=True, text=True
    )
    if done.returncode != 0:
        print(f"\n{src} does not build, profiling the shipped (minified) bundle instead:", file=sys.stderr)
        print("\n".join(done.stderr.splitlines()[:6]), file=sys.stderr)
        return None
    return Bundle((out / "widget.js").read_bytes(), (src / "widget.css").read_bytes())


def _profile_costs(profile: dict[str, Any]) -> tuple[Counter[str], Counter[str], float]:
    """Self and inclusive ms per function from a CDP CPU profile."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    parent: dict[int, int] = {}
    for node in profile["nodes"]:
        for child in node.get("children", []):
            parent[child] = node["id"]

    def key(node: dict[str, Any]) -> str:
        frame = node["callFrame"]
        name = frame["functionName"] or "(anonymous)"
        url = frame["url"].rsplit("/", 1)[-1]
        return f"{name} {url}:{frame['lineNumber'] + 1}" if url else name

    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0.0
    for sample, delta in zip(profile["samples"], profile["timeDeltas"], strict=False):
        ms = delta / 1000
        total += ms
        node = nodes[sample]
        own[key(node)] += ms
        seen = set()
        current: int | None = sample
        while current is not None:
            k = key(nodes[current])
            if k not in seen:
                seen.add(k)
                inclusive[k] += ms
            current = parent.get(current)
    return own, inclusive, total


def _trace_costs(path: Path) -> tuple[Counter[str], Counter[str], Counter[str], float]:
    """Total ms per renderer event name, max single ms, forced layouts by calling function."""
    data = json.loads(path.read_text())
    events = data["traceEvents"] if isinstance(data, dict) else data
    totals: Counter[str] = Counter()
    longest: Counter[str] = Counter()
    forced: Counter[str] = Counter()
    names = {
        "Layout",
        "UpdateLayoutTree",
        "RecalculateStyles",
        "Paint",
        "PrePaint",
        "Layerize",
        "ParseHTML",
        "MajorGC",
        "MinorGC",
        "V8.GC_MARK_COMPACTOR",
        "FunctionCall",
        "TimerFire",
        "FireAnimationFrame",
        "RunMicrotasks",
        "EventDispatch",
        "IntersectionObserverController::computeIntersections",
    }
    for event in events:
        if event.get("ph") != "X" or event.get("name") not in names:
            continue
        ms = event.get("dur", 0) / 1000
        totals[event["name"]] += ms
        longest[event["name"]] = max(longest[event["name"]], ms)
        if event["name"] in ("Layout", "UpdateLayoutTree"):
            stack = (event.get("args", {}).get("beginData", {}) or {}).get("stackTrace") or []
            if stack:
                frame = stack[0]
                forced[
                    f"{event['name']} forced by {frame.get('functionName') or '(anonymous)'}:"
                    f"{frame.get('lineNumber', 0) + 1}"
                ] += ms
    return totals, longest, forced, 0.0


def profile(browser: Any, reply: str, mode: str, out: Path, src: Path, shipped: Bundle) -> None:
    bundle = build_unminified(out, src) or shipped
    timed = schedule(record_turn(reply), mode)
    context, page, _errors = _open_page(browser, bundle)
    try:
        cdp = context.new_cdp_session(page)
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 200})
        trace = out / "trace.json"
        browser.start_tracing(
            page=page,
            path=str(trace),
            categories=[
                "devtools.timeline",
                "disabled-by-default-devtools.timeline",
                "disabled-by-default-devtools.timeline.stack",
            ],
        )
        cdp.send("Profiler.start")
        raw = page.evaluate("schedule => window.bench.play(schedule)", timed)
        cpu = cdp.send("Profiler.stop")["profile"]
        browser.stop_tracing()
    finally:
        context.close()
    summary = summarize(raw, len(reply))
    print(
        f"\nProfile: {len(reply) / 1024:.0f} KB {mode}, "
        f"{'shipped bundle' if bundle is shipped else f'unminified bundle of {src}'}: {summary['long']} long tasks, "
        f"longest {summary['longest']:.0f} ms, frame gap {summary['gap']:.0f} ms (profiling slows it down)"
    )
    own, inclusive, total = _profile_costs(cpu)
    print(f"\nJS CPU profile ({total:.0f} ms sampled): inclusive ms (self ms) by function, top 25")
    for name, ms in inclusive.most_common(40)[:25]:
        print(f"  {ms:8.0f} ({own[name]:6.0f})  {name}")
    print("\nSelf time, top 15")
    for name, ms in own.most_common(15):
        print(f"  {ms:8.0f}  {name}")
    totals, longest, forced, _ = _trace_costs(trace)
    print("\nChrome trace: renderer work by event (total ms, longest single ms)")
    for name, ms in totals.most_common():
        print(f"  {ms:8.0f} {longest[name]:8.0f}  {name}")
    if forced:
        print("\nForced (synchronous) style/layout, by the JS function that read layout")
        for name, ms in forced.most_common(10):
            print(f"  {ms:8.0f}  {name}")
    loaf_scripts: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    for loaf in raw["loafs"]:
        for script in loaf["scripts"]:
            k = f"{script['invoker']} -> {script['sourceFunctionName'] or '?'}"
            loaf_scripts[k][0] += script["duration"]
            loaf_scripts[k][1] += script["forcedStyleAndLayoutDuration"]
            loaf_scripts[k][2] += 1
    if loaf_scripts:
        print("\nLong animation frames: scripts (total ms, forced style+layout ms, count)")
        for k, (ms, layout, n) in sorted(loaf_scripts.items(), key=lambda kv: -kv[1][0])[:10]:
            print(f"  {ms:8.0f} {layout:8.0f} {n:5}  {k}")
        frames = raw["loafs"]
        render = sum(f["start"] + f["duration"] - f["renderStart"] for f in frames if f["renderStart"])
        print(
            f"  rendering phase (style, layout, paint) of long frames: {render:.0f} ms over {len(frames)} frames"
        )


# ---------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.render", description=__doc__.split("\n\n")[0].split(". ``")[0]
    )
    parser.add_argument("--quick", action="store_true", help="one run per row instead of three (~2.5 min)")
    parser.add_argument(
        "--repeats", type=int, default=None, help="runs per row, each on a fresh page (default 3)"
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES_KB), help="reply sizes in KB")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES), help="deliveries to run")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target fails")
    parser.add_argument("--json", type=Path, help="also write every run's numbers to this file")
    parser.add_argument(
        "--profile",
        nargs="?",
        const="400:once",
        metavar="KB:MODE",
        help="also profile one case with an unminified bundle (default 400:once) and print the hotspots",
    )
    parser.add_argument(
        "--src", type=Path, default=REPO / "js" / "src", help="sources bundled for --profile (default js/src)"
    )
    arguments = parser.parse_args(argv)
    repeats = arguments.repeats or (1 if arguments.quick else 3)

    from playwright.sync_api import sync_playwright

    bundle = Bundle((STATIC / "widget.js").read_bytes(), (STATIC / "widget.css").read_bytes())
    replies = {kb: generate_reply(kb * 1024) for kb in arguments.sizes}
    recorded = {kb: record_turn(text) for kb, text in replies.items()}
    rows = [Row(mode, kb, len(replies[kb])) for mode in arguments.modes for kb in arguments.sizes]
    started = time.monotonic()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            # Interleaved: a slow patch of the machine hits every row alike.
            for repeat in range(repeats):
                for row in rows:
                    timed = schedule(recorded[row.kb], row.mode)
                    run = run_once(browser, bundle, timed, row.chars)
                    row.runs.append(run)
                    print(
                        f"  run {repeat + 1}/{repeats} {row.mode:<6} {row.kb:>4} KB: {run['long']:>3} long, "
                        f"longest {run['longest']:>5.0f} ms, gap {run['gap']:>5.0f} ms, "
                        f"{run['renders']} renders ({time.monotonic() - started:.0f} s)",
                        file=sys.stderr,
                        flush=True,
                    )
            ok = print_table(rows, repeats)
            if arguments.profile:
                kb_text, mode = arguments.profile.split(":")
                with tempfile.TemporaryDirectory(prefix="nbstream-render-") as tmp:
                    profile(
                        browser,
                        generate_reply(int(kb_text) * 1024),
                        mode,
                        Path(tmp),
                        arguments.src.resolve(),
                        bundle,
                    )
        finally:
            browser.close()
    if arguments.json:
        dump = [
            {
                "mode": r.mode,
                "kb": r.kb,
                "chars": r.chars,
                "runs": [
                    {k: v for k, v in run.items() if k != "raw"} | {"longtasks": run["raw"]["longtasks"]}
                    for run in r.runs
                ],
            }
            for r in rows
        ]
        arguments.json.write_text(json.dumps(dump, indent=1))
    print(f"\ntargets: {'pass' if ok else 'FAIL'}")
    return 1 if arguments.check and not ok else 0


if __name__ == "__main__":
    raise SystemExit(main())
