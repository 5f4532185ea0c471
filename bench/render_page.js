// The page side of `python -m bench.render` (loaded as a module by its index.html; no framework).
//
// A fake anywidget model (get/set/on/off/send, `msg:custom` and `change:<name>` events) hosts the bundle's
// `initialize` + `render` as anywidget would, then `window.bench.play(schedule)` replays the kernel's messages
// at their times: each custom message arrives as a JSON string and is parsed on delivery, as JupyterLab's
// websocket handler parses it. Probes are installed before the reply starts:
//   - PerformanceObserver `longtask` and `long-animation-frame` (with script attribution);
//   - a requestAnimationFrame loop (frame gaps);
//   - DOMParser.prototype.parseFromString wrapped (DOMPurify parses every sanitized piece with it: a count of
//     markdown renders and of the HTML characters rendered, before and after the turn's commit);
//   - a MutationObserver on the widget (text characters of nodes taken out of the DOM: finished blocks replaced;
//     and when the widget's DOM last changed, to time how long after the turn's commit rendering went on).

const parsed = { calls: 0, chars: 0, callsAfterCommit: 0, charsAfterCommit: 0 };
let committed = false;
let committedAt = 0;
const realParse = DOMParser.prototype.parseFromString;
DOMParser.prototype.parseFromString = function parseFromString(source, type) {
  parsed.calls += 1;
  parsed.chars += String(source).length;
  if (committed) {
    parsed.callsAfterCommit += 1;
    parsed.charsAfterCommit += String(source).length;
  }
  return realParse.call(this, source, type);
};

class FakeModel {
  constructor(traits) {
    this.traits = traits;
    this.handlers = new Map();
    this.sent = [];
  }
  get(name) {
    return this.traits[name];
  }
  set(name, value) {
    this.traits[name] = value;
    this.emit(`change:${name}`, value);
  }
  on(name, callback) {
    if (!this.handlers.has(name)) this.handlers.set(name, new Set());
    this.handlers.get(name).add(callback);
  }
  off(name, callback) {
    this.handlers.get(name)?.delete(callback);
  }
  send(content) {
    this.sent.push(content);
  }
  save_changes() {}
  emit(name, ...args) {
    for (const callback of [...(this.handlers.get(name) ?? [])]) callback(...args);
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function mount(bundleUrl) {
  const { default: widget } = await import(bundleUrl);
  const model = new FakeModel({ transcript: [], status: 'idle', status_message: '', model_label: 'scripted' });
  await widget.initialize?.({ model });
  const el = document.getElementById('host');
  await widget.render({ model, el });
  // The kernel answers "ready" with the turn in progress (none yet).
  model.emit('msg:custom', { type: 'live', transcript_length: 0, events: [] }, []);
  window.bench.model = model;
  window.bench.el = el;
}

/**
 * @param {{at: number, custom?: string, state?: Record<string, unknown>}[]} schedule  ms from the start
 */
async function play(schedule) {
  const { model, el } = window.bench;
  const longtasks = [];
  const frames = [];
  const removed = { nodes: 0, chars: 0 };
  let lastActivity = performance.now();
  let lastMutation = 0;
  const tasks = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      longtasks.push({ start: entry.startTime, duration: entry.duration });
      lastActivity = performance.now();
    }
  });
  tasks.observe({ type: 'longtask' });
  const loafs = [];
  let loafObserver = null;
  if (PerformanceObserver.supportedEntryTypes.includes('long-animation-frame')) {
    loafObserver = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        loafs.push({
          start: entry.startTime,
          duration: entry.duration,
          blocking: entry.blockingDuration,
          renderStart: entry.renderStart,
          styleAndLayoutStart: entry.styleAndLayoutStart,
          scripts: entry.scripts.map((s) => ({
            invoker: s.invoker,
            invokerType: s.invokerType,
            sourceURL: s.sourceURL,
            sourceFunctionName: s.sourceFunctionName,
            sourceCharPosition: s.sourceCharPosition,
            duration: s.duration,
            forcedStyleAndLayoutDuration: s.forcedStyleAndLayoutDuration,
          })),
        });
      }
    });
    loafObserver.observe({ type: 'long-animation-frame' });
  }
  const mutations = new MutationObserver((records) => {
    lastActivity = performance.now();
    lastMutation = lastActivity;
    for (const record of records) {
      for (const node of record.removedNodes) {
        removed.nodes += 1;
        removed.chars += (node.textContent ?? '').length;
      }
    }
  });
  mutations.observe(el, { childList: true, subtree: true });
  let running = true;
  const loop = (t) => {
    frames.push(t);
    if (running) requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
  await sleep(300); // a quiet baseline: the probes are live before the first message

  const start = performance.now();
  for (const message of schedule) {
    const wait = start + message.at - performance.now();
    if (wait > 0) await sleep(wait);
    if (message.state) {
      for (const [name, value] of Object.entries(message.state)) model.set(name, value);
    }
    if (message.custom) {
      const content = JSON.parse(message.custom);
      if (content.type === 'commit') {
        committed = true;
        committedAt = performance.now();
      }
      model.emit('msg:custom', content, []);
    }
  }
  const delivered = performance.now();
  // Settle: until nothing happened for 1 s (long tasks arrive asynchronously), at most 60 s.
  while (performance.now() - lastActivity < 1000 && performance.now() - delivered < 60000) await sleep(100);
  running = false;
  const end = performance.now();
  tasks.disconnect();
  loafObserver?.disconnect();
  mutations.disconnect();
  let gap = 0;
  for (let i = 1; i < frames.length; i += 1) {
    if (frames[i] >= start) gap = Math.max(gap, frames[i] - frames[i - 1]);
  }
  return {
    elapsed: end - start,
    delivered: delivered - start,
    longtasks: longtasks.filter((t) => t.start >= start - 1),
    loafs: loafs.filter((l) => l.start >= start - 1),
    frameGap: gap,
    frames: frames.filter((t) => t >= start).length,
    parsed: { ...parsed },
    removed,
    renderedAfterCommit: committed ? Math.max(0, lastMutation - committedAt) : 0,
    html: el.innerHTML.length,
    text: el.textContent.length,
  };
}

window.bench = { mount, play };
window.benchReady = true;
