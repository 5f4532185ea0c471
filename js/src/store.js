// The model-level store: one per widget model, shared by all its views.
//
// Created in `initialize` so that no custom message is missed before the first view renders. It holds the
// chat as *segments*: committed turns (from the `transcript` trait) and one live segment (the turn in
// progress, from "events"/"live" messages). When a turn is committed and the live segment is known complete,
// the live segment itself becomes the committed one (the committed events would rebuild the very same state):
// views keep their DOM as it is. Otherwise only the live segment is replaced by the committed events, so views
// rebuild one turn, not the whole transcript.
//
// Once started, the store says "attach": the kernel then commits each turn as a "commit" message holding that
// turn only, and the store appends it to the model's `transcript` value itself, with `model.set` and never
// `save_changes()` (the kernel has it already). That value is what JupyterLab saves as widget state, and what
// a new view starts from; a reloaded page asks the kernel for state and gets the whole transcript. A store
// that finds a commit missing asks for the whole transcript once ("sync").

import { apply, createState } from './reducer.js';

/** @typedef {import('./reducer.js').ChatState} ChatState */
/** @typedef {import('./reducer.js').Change} Change */

/**
 * @typedef {object} StoreListener
 * @property {(segment: ChatState, changes: Change[]) => void} changes  incremental updates of the live segment
 * @property {(oldLive: ChatState, added: ChatState[]) => void} replaceLive  append `added` then `store.live`;
 *   when `added[0]` is `oldLive` itself (the live turn was committed as it is) keep its DOM, else drop it
 * @property {() => void} reset  rebuild from `store.segments` and `store.live`
 * @property {(nowMs: number) => void} tick  ~10x/s while a tool runs
 */

/**
 * @typedef {object} WidgetModel  the subset of the anywidget model API the frontend uses
 * @property {(name: string) => any} get
 * @property {(name: string, callback: (...args: any[]) => void) => void} on
 * @property {(name: string, callback: (...args: any[]) => void) => void} off
 * @property {(name: string, value: any) => void} set  sets the value in this page only (no save_changes)
 * @property {(content: object) => void} send
 */

export const TICK_MS = 100;

export class ChatStore {
  /**
   * @param {WidgetModel} model
   * @param {{now?: () => number}} [options]
   */
  constructor(model, { now = Date.now } = {}) {
    this.model = model;
    this.now = now;
    /** @type {ChatState[]} committed turns, oldest first */
    this.segments = [];
    /** @type {ChatState} the turn in progress (empty between turns) */
    this.live = createState();
    /** The transcript the committed segments were built from. */
    /** @type {any[]} */
    this.committed = [];
    /** Whether the live segment is known complete (a "live" snapshot arrived, or it started empty). */
    this.synced = false;
    /** @type {Set<StoreListener>} */
    this.listeners = new Set();
    /** @type {ReturnType<typeof setInterval> | null} */
    this.ticker = null;
    this.onMessage = this.onMessage.bind(this);
    this.onTranscript = this.onTranscript.bind(this);
    this.loadTranscript(asList(model.get('transcript')));
  }

  /** Start listening to the model and tell the kernel so; returns the cleanup for `initialize`. */
  start() {
    this.model.on('msg:custom', this.onMessage);
    this.model.on('change:transcript', this.onTranscript);
    this.send({ type: 'attach' });
    return () => {
      this.model.off('msg:custom', this.onMessage);
      this.model.off('change:transcript', this.onTranscript);
      this.stopTicker();
      this.listeners.clear();
    };
  }

  /**
   * @param {StoreListener} listener
   * @returns {() => void} unsubscribe
   */
  subscribe(listener) {
    this.listeners.add(listener);
    this.updateTicker();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stopTicker();
    };
  }

  /** @param {object} content */
  send(content) {
    this.model.send(content);
  }

  /** @param {any} message */
  onMessage(message) {
    if (message === null || typeof message !== 'object') return;
    if (message.type === 'events') this.applyLive(asList(message.events));
    else if (message.type === 'commit') this.commit(message);
    else if (message.type === 'live') this.takeSnapshot(message);
    else if (message.type === 'cleared') this.clear();
  }

  /**
   * A finished turn, compacted: append it to the model's transcript value (in this page only) and to the
   * segments. A commit the store already has (a state sync brought it) is ignored; one that skips a commit
   * asks the kernel for the whole transcript.
   * @param {any} message
   */
  commit(message) {
    const events = asList(message.events);
    const start = message.transcript_length;
    if (typeof start !== 'number') return;
    if (start < this.committed.length) return;
    if (start > this.committed.length) {
      this.send({ type: 'sync' });
      return;
    }
    const transcript = this.committed.concat(events);
    this.committed = transcript; // first: the change event below finds it known
    this.model.set('transcript', transcript);
    // The live segment saw every event of this turn: it is the committed turn already.
    const complete = this.synced && this.live.items.length > 0;
    const committed = complete ? this.live : this.build(events);
    this.segments.push(committed);
    this.replaceLive(createState(), [committed]);
  }

  onTranscript() {
    const transcript = asList(this.model.get('transcript'));
    if (transcript === this.committed) return; // set by `commit`
    const n = this.committed.length;
    if (!isExtensionOf(transcript, this.committed)) {
      this.loadTranscript(transcript);
      this.emit((listener) => listener.reset());
      return;
    }
    if (transcript.length === n) return;
    const committed = this.build(transcript.slice(n));
    this.committed = transcript;
    this.segments.push(committed);
    // Everything from the live turn is in the committed segment now; what follows arrives as "events".
    this.replaceLive(createState(), [committed]);
  }

  /** @param {any[]} events */
  applyLive(events) {
    for (const event of events) {
      const changes = apply(this.live, event, this.now());
      if (changes.length > 0) {
        const live = this.live;
        this.emit((listener) => listener.changes(live, changes));
      }
    }
    this.updateTicker();
  }

  /** @param {any} message */
  takeSnapshot(message) {
    const length = message.transcript_length;
    if (typeof length === 'number' && length > this.committed.length) {
      // The kernel committed turns this store never got (its state raced a commit): fetch them, then ask again.
      this.send({ type: 'sync' });
      this.send({ type: 'ready' });
      return;
    }
    // A stale answer (the turn was committed meanwhile) or one for a store already complete: ignore it.
    if (length !== this.committed.length || this.synced) return;
    this.synced = true;
    this.replaceLive(this.build(asList(message.events)), []);
  }

  clear() {
    this.loadTranscript([]);
    this.synced = true;
    this.emit((listener) => listener.reset());
  }

  /** Whether a tool of the live turn is running (the only thing the ticker is for). */
  hasRunningCalls() {
    for (const call of this.live.calls.values()) if (call.state === 'running') return true;
    return false;
  }

  /** @param {any[]} transcript */
  loadTranscript(transcript) {
    this.segments = transcript.length > 0 ? [this.build(transcript)] : [];
    this.live = createState();
    this.committed = transcript;
    this.stopTicker();
  }

  /**
   * @param {ChatState} live
   * @param {ChatState[]} added
   */
  replaceLive(live, added) {
    const old = this.live;
    this.live = live;
    this.emit((listener) => listener.replaceLive(old, added));
    this.updateTicker();
  }

  /** @param {any[]} events */
  build(events) {
    const state = createState();
    const now = this.now();
    for (const event of events) apply(state, event, now);
    return state;
  }

  /** @param {(listener: StoreListener) => void} call */
  emit(call) {
    for (const listener of this.listeners) call(listener);
  }

  updateTicker() {
    if (this.listeners.size > 0 && this.hasRunningCalls()) {
      if (this.ticker === null) this.ticker = setInterval(() => this.tick(), TICK_MS);
    } else {
      this.stopTicker();
    }
  }

  tick() {
    const now = this.now();
    this.emit((listener) => listener.tick(now));
    if (!this.hasRunningCalls()) this.stopTicker();
  }

  stopTicker() {
    if (this.ticker !== null) clearInterval(this.ticker);
    this.ticker = null;
  }
}

/**
 * Whether `transcript` is `old` with events appended, as opposed to a cleared or rewritten one. O(transcript),
 * but only for a transcript the kernel sent whole (no page was attached, or a "sync"): commits skip it.
 * @param {any[]} transcript
 * @param {any[]} old
 */
function isExtensionOf(transcript, old) {
  if (transcript.length < old.length) return false;
  for (let i = 0; i < old.length; i += 1) {
    if (transcript[i] !== old[i] && JSON.stringify(transcript[i]) !== JSON.stringify(old[i])) return false;
  }
  return true;
}

/** @param {unknown} value */
function asList(value) {
  return Array.isArray(value) ? value : [];
}
