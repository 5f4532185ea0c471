// One view of a StreamChat: the status line, one conversation column, the prompt box.
//
// The column holds the store's segments (committed turns, then the live turn), each a `SegmentView`
// (turn_view.js) that builds its turns — prompt, activity line, reasoning, text, tool cards — and patches them.
//
// The store notifies every view of changes; a view patches its DOM at once for cheap changes (cards) and
// defers markdown to one flush per animation frame. Nothing finished is ever rebuilt: when a turn is committed
// the live turn's DOM simply stays (the store hands over the same state), so expanded results stay expanded
// and the selection and scroll position survive. The page scrolls, not the widget; `Follower` (follow.js) keeps
// the end in view while the reader is there, and the prompt box in place while a reply streams.

import { element } from './dom.js';
import { ImageViewer } from './images_view.js';
import { PromptBox } from './prompt_view.js';
import { Follower } from './follow.js';
import { FrameScheduler } from './text_view.js';
import { SegmentView } from './turn_view.js';

/** @typedef {import('./reducer.js').ChatState} ChatState */
/** @typedef {import('./reducer.js').Change} Change */
/** @typedef {import('./store.js').ChatStore} ChatStore */
/** @typedef {import('./text_view.js').MarkdownMessage} MarkdownMessage */

const RUNNING = new Set(['generating', 'waiting_tools', 'awaiting_approval']);
const STATUS_TEXT = {
  idle: 'Ready',
  generating: 'Generating…',
  waiting_tools: 'Waiting for tools…',
  awaiting_approval: 'Awaiting approval',
  done: 'Done',
  error: 'Error',
  cancelled: 'Stopped',
};
/**
 * Shown once the kernel behind this chat is gone (restarted, died, shut down): its Python object and thread
 * went with it, so nothing will ever answer this view again.
 */
const DISCONNECTED_TEXT = 'Disconnected: the kernel restarted or stopped. Re-run the cell to start a new chat.';
/** The controls that talk to the kernel: disabled once it is gone. */
const KERNEL_CONTROLS = ['send', 'stop', 'prompt', 'approve', 'deny'].map((h) => `[data-nbstream=${h}]`).join(',');

export class ChatView {
  /**
   * @param {ChatStore} store
   * @param {HTMLElement} host  the element anywidget gave this view
   */
  constructor(store, host) {
    this.store = store;
    this.model = store.model;
    this.host = host;
    this.doc = host.ownerDocument;
    this.win = /** @type {Window} */ (this.doc.defaultView);
    /** @type {Set<MarkdownMessage>} messages with text not rendered yet */
    this.dirty = new Set();
    /** @type {SegmentView[]} */
    this.segments = [];
    /** @type {SegmentView | null} */
    this.live = null;
    this.quiet = false;
    /** Whether reasoning sections show (the `show_reasoning` trait). */
    this.showReasoning = true;
    /** Whether content was added since the last flush. */
    this.grew = false;
    this.scheduler = new FrameScheduler(this.win, (budget) => this.flush(budget));
    this.onStatus = this.onStatus.bind(this);
    this.onViewMode = this.onViewMode.bind(this);
    /** @type {import('./images_view.js').OpenImage} */
    this.openImage = (image, from) => this.viewer.open(image, from);
    /** Whether the kernel is gone: then this view is frozen as it was (see `disconnect`). */
    this.disconnected = false;
    this.disconnect = this.disconnect.bind(this);
    this.buildLayout();
    this.viewer = new ImageViewer(this.root);
    this.onViewMode();
    this.rebuild();
    this.onStatus();
    // ipywidgets sets `comm_live` false, firing this event, when the widget manager drops the kernel's comms:
    // a restart from the page, or a kernel that died (the server restarts it). anywidget's model proxy does not
    // expose `comm_live` itself, but its `on` reaches the real model's events; the value only ever goes from
    // true (set before any view exists) to false, so the event alone means "disconnected".
    this.model.on('comm_live_update', this.disconnect);
  }

  buildLayout() {
    const doc = this.doc;
    this.root = element(doc, 'div', 'nbstream');
    // JupyterLab/Notebook 7 (Lumino) must not read keys pressed in the widget as notebook shortcuts
    // (Enter on a focused Approve button, letters typed in the prompt).
    this.root.setAttribute('data-lm-suppress-shortcuts', 'true');
    this.statusEl = element(doc, 'div', 'nbs-status', 'status');
    this.dot = element(doc, 'span', 'nbs-dot');
    this.statusText = element(doc, 'span', 'nbs-status-text');
    this.modelEl = element(doc, 'span', 'nbs-model');
    this.statusEl.append(this.dot, this.statusText, this.modelEl);
    this.statusEl.setAttribute('role', 'status');

    // The conversation: one column. It scrolls only if the page gives it a maximum height (--nbs-max-height).
    this.log = element(doc, 'div', 'nbs-log', 'text');
    this.log.setAttribute('role', 'log');
    this.sentinel = element(doc, 'div', 'nbs-end');
    this.log.append(this.sentinel);

    this.prompt = new PromptBox(doc, {
      onSend: (text) => {
        this.follow.reserveRoom();
        this.store.send({ type: 'send', prompt: text });
      },
      onStop: () => this.store.send({ type: 'stop' }),
    });
    this.root.append(this.statusEl, this.log, this.prompt.el);
    this.host.append(this.root);

    this.follow = new Follower(this.log, this.sentinel, this.prompt.el);
  }

  onViewMode() {
    const quiet = this.model.get('view') === 'quiet';
    const shown = this.model.get('show_reasoning') !== false;
    this.root.dataset.view = quiet ? 'quiet' : 'detailed';
    this.root.dataset.reasoning = shown ? 'shown' : 'hidden';
    if (quiet === this.quiet && shown === this.showReasoning) return;
    this.quiet = quiet;
    this.showReasoning = shown;
    for (const segment of this.segments) segment.relayout();
    this.live?.relayout();
  }

  // ReasoningHost (reasoning_view.js)

  /** @param {MarkdownMessage} message */
  renderLater(message) {
    this.dirty.add(message);
    this.grew = true;
    this.scheduler.request();
  }

  /** @param {MarkdownMessage} message */
  skipRender(message) {
    this.dirty.delete(message);
  }

  onStatus() {
    if (this.disconnected) return;
    const status = String(this.model.get('status') ?? 'idle');
    const message = String(this.model.get('status_message') ?? '');
    this.root.dataset.status = status;
    const label = STATUS_TEXT[/** @type {keyof STATUS_TEXT} */ (status)] ?? status;
    this.statusText.textContent = message && (status === 'error' || status === 'cancelled') ? `${label}: ${message}` : label;
    this.statusText.title = message;
    this.modelEl.textContent = String(this.model.get('model_label') ?? '');
    this.prompt.setBusy(RUNNING.has(status));
  }

  /**
   * The kernel is gone: stop everything that moves (tool timers, the pulsing dot), disable every control that
   * talks to the kernel (nothing would handle a click) and say how to get a working chat back. What was shown
   * stays, and can still be read, expanded and folded.
   */
  disconnect() {
    if (this.disconnected) return;
    this.disconnected = true;
    // The ticker only drives tool timers, and no event will ever stop the running ones now.
    this.store.stopTicker();
    this.root.dataset.status = 'disconnected';
    this.statusText.textContent = DISCONNECTED_TEXT;
    this.statusText.title = DISCONNECTED_TEXT;
    this.prompt.setDisabled(true);
    for (const control of this.root.querySelectorAll(KERNEL_CONTROLS)) {
      /** @type {HTMLButtonElement | HTMLTextAreaElement} */ (control).disabled = true;
    }
  }

  /** Drop every segment's DOM and build it again from the store (a new view, a cleared or rewritten chat). */
  rebuild() {
    for (const segment of this.segments) segment.remove();
    this.live?.remove();
    this.segments = this.store.segments.map((state) => this.mount(state));
    for (const segment of this.segments) segment.settle();
    this.live = this.mount(this.store.live);
    this.grew = true;
    this.scheduler.request();
  }

  /** @param {ChatState} state */
  mount(state) {
    const segment = new SegmentView(this, state);
    this.sentinel.before(segment.el);
    return segment;
  }

  // StoreListener

  /**
   * @param {ChatState} state
   * @param {Change[]} changes
   */
  changes(state, changes) {
    if (this.live === null || this.live.state !== state) return;
    this.live.apply(changes);
    this.grew = true;
    this.scheduler.request();
  }

  /**
   * The live segment was replaced. When the store committed the live turn as it is (`added[0]` is the old live
   * state), its DOM stays exactly as it is and becomes a committed segment: nothing is rebuilt.
   * @param {ChatState} old
   * @param {ChatState[]} added
   */
  replaceLive(old, added) {
    let rest = added;
    if (this.live !== null && this.live.state === old && added[0] === old) {
      this.live.settle();
      this.segments.push(this.live);
      rest = added.slice(1);
    } else {
      this.live?.remove();
    }
    for (const state of rest) {
      const segment = this.mount(state);
      segment.settle();
      this.segments.push(segment);
    }
    this.live = this.mount(this.store.live);
    if (rest.length > 0) this.grew = true;
    this.scheduler.request();
  }

  reset() {
    this.follow.releaseRoom();
    this.rebuild();
  }

  /** @param {number} nowMs */
  tick(nowMs) {
    if (!this.disconnected) this.live?.tick(nowMs);
  }

  /**
   * Once per frame: render pending markdown within the frame's budget (a message with blocks left stays dirty
   * and asks for the next frame), then keep the end in view if the reader is there.
   * @param {import('./text_view.js').Budget} [budget]
   */
  flush(budget) {
    for (const message of this.dirty) {
      if (!message.flush(budget)) this.dirty.delete(message);
    }
    if (this.grew) this.follow.keepInView();
    // The next frame renders the blocks left: content that grows the conversation too.
    this.grew = this.dirty.size > 0;
    if (this.grew) this.scheduler.request();
  }

  dispose() {
    this.model.off('comm_live_update', this.disconnect);
    this.viewer.dispose();
    this.follow.dispose();
    this.scheduler.cancel();
    this.prompt.dispose();
    this.root.remove();
  }
}
