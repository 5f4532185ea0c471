import widget from '../src/widget.js';
// Test helpers: a jsdom window and a fake anywidget model (kernel side included).
import { JSDOM } from 'jsdom';

/** A fresh browser-like window (requestAnimationFrame included). */
export function makeWindow() {
  return new JSDOM('<!doctype html><html><body></body></html>', { pretendToBeVisual: true }).window;
}

/**
 * The model behind anywidget's proxies: traits, events, and what the view sent to the kernel.
 * `proxy()` hands out a fresh object per call, as anywidget does for `initialize` and each `render`.
 */
export class FakeModel {
  /** @param {Record<string, unknown>} [traits] */
  constructor(traits = {}) {
    this.traits = { transcript: [], status: 'idle', status_message: '', model_label: 'demo', ...traits };
    /** @type {Map<string, Set<Function>>} */
    this.handlers = new Map();
    /** @type {any[]} */
    this.sent = [];
  }

  proxy() {
    return {
      get: (/** @type {string} */ name) => this.traits[name],
      on: (/** @type {string} */ name, /** @type {Function} */ cb) => this.on(name, cb),
      off: (/** @type {string} */ name, /** @type {Function} */ cb) => this.off(name, cb),
      send: (/** @type {any} */ content) => this.sent.push(content),
    };
  }

  /** @param {string} name @param {Function} cb */
  on(name, cb) {
    if (!this.handlers.has(name)) this.handlers.set(name, new Set());
    this.handlers.get(name)?.add(cb);
  }

  /** @param {string} name @param {Function} cb */
  off(name, cb) {
    this.handlers.get(name)?.delete(cb);
  }

  listenerCount() {
    let n = 0;
    for (const set of this.handlers.values()) n += set.size;
    return n;
  }

  /** Kernel side: change a synced trait (the value is a new object, as after deserialization). */
  /** @param {string} name @param {unknown} value */
  set(name, value) {
    this.traits[name] = value;
    for (const cb of [...(this.handlers.get(`change:${name}`) ?? [])]) cb(this, value);
  }

  /** Kernel side: a custom message (widget.send). */
  /** @param {any} content */
  receive(content) {
    for (const cb of [...(this.handlers.get('msg:custom') ?? [])]) cb(content, []);
  }
}

/** Let timers and animation frames run. */
export function settle(ms = 30) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Unmount functions of the widgets `mount` made, for `unmountAll` (each test file calls it in `afterEach`). */
/** @type {(() => void)[]} */
const mounted = [];

export function unmountAll() {
  for (const unmount of mounted.splice(0).reverse()) unmount();
}

/**
 * Mount a model the way anywidget does: `initialize` once, then `render` per view, each with a new proxy.
 * @param {FakeModel} model
 * @param {number} [views]
 */
export function mount(model, views = 1) {
  const win = makeWindow();
  const stopInit = /** @type {() => void} */ (widget.initialize({ model: model.proxy() }));
  /** @type {HTMLElement[]} */
  const els = [];
  /** @type {(() => void)[]} */
  const stops = [];
  for (let i = 0; i < views; i += 1) {
    const el = win.document.createElement('div');
    win.document.body.append(el);
    stops.push(/** @type {() => void} */ (widget.render({ model: model.proxy(), el })));
    els.push(el);
  }
  let done = false;
  const unmount = () => {
    if (done) return;
    done = true;
    for (const stop of stops) stop();
    stopInit();
  };
  mounted.push(unmount);
  return { win, el: els[0], els, unmount, stops };
}

/** @param {ParentNode} el @param {string} hook */
export const q = (el, hook) => /** @type {HTMLElement} */ (el.querySelector(`[data-nbstream="${hook}"]`));
