// One view of a StreamChat: layout, controls, and the DOM for each segment of the store.
//
// The store notifies every view of changes; a view patches its DOM at once for cheap changes (tool rows,
// results) and defers markdown to one flush per animation frame. Each segment (a committed turn, or the live
// turn) owns a wrapper element in each of the three areas, so a commit swaps just the live turn's DOM.

import { element } from './dom.js';
import { renderResult } from './results_view.js';
import { FrameScheduler, renderItem } from './text_view.js';
import { ToolRow } from './tools_view.js';

/** @typedef {import('./reducer.js').ChatState} ChatState */
/** @typedef {import('./reducer.js').Change} Change */
/** @typedef {import('./reducer.js').Item} Item */
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
  cancelled: 'Cancelled',
};
/**
 * Shown once the kernel behind this chat is gone (restarted, died, shut down): its Python object and thread
 * went with it, so nothing will ever answer this view again.
 */
const DISCONNECTED_TEXT = 'Disconnected: the kernel restarted or stopped. Re-run the cell to start a new chat.';
/** How long Send stays locked after a click if the kernel does not answer with a status change. */
const SEND_LOCK_MS = 3000;
/** Distance (px) from the bottom within which an area keeps following new content. */
const PIN_SLACK = 24;

/** The DOM of one segment, spread over the three areas. */
class SegmentView {
  /**
   * @param {ChatView} view
   * @param {ChatState} state
   */
  constructor(view, state) {
    this.view = view;
    this.state = state;
    const doc = view.doc;
    this.textEl = element(doc, 'div', 'nbs-segment');
    this.toolsEl = element(doc, 'div', 'nbs-segment');
    this.resultsEl = element(doc, 'div', 'nbs-segment');
    /** @type {Map<Item, MarkdownMessage>} */
    this.messages = new Map();
    /** @type {Map<string, ToolRow>} */
    this.rows = new Map();
    for (const item of state.items) this.addItem(item);
    for (const call of state.calls.values()) this.addRow(call);
    for (const call of state.results) this.resultsEl.append(renderResult(doc, call));
    for (const message of this.messages.values()) message.flush();
  }

  /** @param {Item} item */
  addItem(item) {
    const { el, message } = renderItem(this.view.doc, item);
    if (message !== null) this.messages.set(item, message);
    this.textEl.append(el);
    return message;
  }

  /** @param {import('./reducer.js').ToolCall} call */
  addRow(call) {
    const row = new ToolRow(this.view.doc, call, (content) => this.view.store.send(content));
    row.tick(this.view.store.now());
    this.rows.set(call.id, row);
    this.toolsEl.append(row.el);
  }

  /** @param {Change[]} changes */
  apply(changes) {
    for (const change of changes) {
      switch (change.type) {
        case 'item': {
          const message = this.addItem(change.item);
          if (message !== null) this.view.dirty.add(message);
          break;
        }
        case 'text': {
          const message = this.messages.get(change.item);
          if (message) this.view.dirty.add(message);
          break;
        }
        case 'call':
          this.addRow(change.call);
          break;
        case 'args':
          this.rows.get(change.call.id)?.appendArgs(change.fragment);
          break;
        case 'args-reset':
          this.rows.get(change.call.id)?.resetArgs();
          break;
        case 'call-state': {
          const row = this.rows.get(change.call.id);
          row?.update();
          row?.tick(this.view.store.now());
          break;
        }
        case 'result':
          this.resultsEl.append(renderResult(this.view.doc, change.call));
          break;
        default:
          break;
      }
    }
  }

  /** @param {number} nowMs */
  tick(nowMs) {
    for (const row of this.rows.values()) row.tick(nowMs);
  }

  remove() {
    for (const message of this.messages.values()) this.view.dirty.delete(message);
    this.textEl.remove();
    this.toolsEl.remove();
    this.resultsEl.remove();
  }
}

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
    const win = /** @type {Window} */ (this.doc.defaultView);
    /** @type {Set<MarkdownMessage>} messages with text not rendered yet */
    this.dirty = new Set();
    /** @type {SegmentView[]} */
    this.segments = [];
    /** @type {SegmentView | null} */
    this.live = null;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.sendLock = null;
    this.scheduler = new FrameScheduler(win, () => this.flush());
    this.onStatus = this.onStatus.bind(this);
    /** Whether the kernel is gone: then this view is frozen as it was (see `disconnect`). */
    this.disconnected = false;
    this.disconnect = this.disconnect.bind(this);
    this.buildLayout();
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

    this.textArea = element(doc, 'div', 'nbs-area nbs-text', 'text');
    this.toolsArea = element(doc, 'div', 'nbs-area nbs-tools', 'tools');
    this.resultsArea = element(doc, 'div', 'nbs-area nbs-results', 'results');
    const side = element(doc, 'div', 'nbs-side');
    side.append(pane(doc, 'Tools', this.toolsArea), pane(doc, 'Results', this.resultsArea));
    const body = element(doc, 'div', 'nbs-body');
    body.append(pane(doc, 'Conversation', this.textArea), side);

    this.prompt = /** @type {HTMLTextAreaElement} */ (element(doc, 'textarea', 'nbs-prompt', 'prompt'));
    this.prompt.rows = 2;
    this.prompt.placeholder = 'Message the model — Enter to send, Shift+Enter for a new line';
    this.prompt.setAttribute('aria-label', 'Prompt');
    this.sendButton = button(doc, 'Send', 'send', 'nbs-button nbs-primary');
    this.stopButton = button(doc, 'Stop', 'stop', 'nbs-button nbs-danger');
    const controls = element(doc, 'div', 'nbs-controls');
    controls.append(this.prompt, this.sendButton, this.stopButton);

    this.root.append(this.statusEl, body, controls);
    this.host.append(this.root);

    this.prompt.addEventListener('keydown', (event) => this.onKey(event));
    this.sendButton.addEventListener('click', () => this.submit());
    this.stopButton.addEventListener('click', () => this.store.send({ type: 'stop' }));
    /** @type {Map<HTMLElement, boolean>} whether each area follows new content */
    this.pinned = new Map();
    for (const area of [this.textArea, this.toolsArea, this.resultsArea]) {
      this.pinned.set(area, true);
      area.addEventListener('scroll', () => {
        this.pinned.set(area, area.scrollHeight - area.scrollTop - area.clientHeight <= PIN_SLACK);
      });
    }
  }

  /** @param {KeyboardEvent} event */
  onKey(event) {
    event.stopPropagation();
    if (event.key !== 'Enter' || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    this.submit();
  }

  submit() {
    const prompt = this.prompt.value;
    if (!prompt.trim() || this.sendButton.disabled) return;
    this.store.send({ type: 'send', prompt });
    this.prompt.value = '';
    // Until the kernel's status says the turn started, a second Enter must not send twice.
    this.sendLock = setTimeout(() => {
      this.sendLock = null;
      this.updateButtons();
    }, SEND_LOCK_MS);
    this.updateButtons();
  }

  onStatus() {
    if (this.disconnected) return;
    const status = String(this.model.get('status') ?? 'idle');
    const message = String(this.model.get('status_message') ?? '');
    if (this.sendLock !== null && status !== this.lastStatus) this.releaseSendLock();
    this.lastStatus = status;
    this.root.dataset.status = status;
    const label = STATUS_TEXT[/** @type {keyof STATUS_TEXT} */ (status)] ?? status;
    this.statusText.textContent = message && (status === 'error' || status === 'cancelled') ? `${label}: ${message}` : label;
    this.statusText.title = message;
    this.modelEl.textContent = String(this.model.get('model_label') ?? '');
    this.updateButtons();
  }

  releaseSendLock() {
    if (this.sendLock !== null) clearTimeout(this.sendLock);
    this.sendLock = null;
  }

  updateButtons() {
    if (this.disconnected) return;
    const running = RUNNING.has(this.lastStatus ?? '');
    this.sendButton.disabled = running || this.sendLock !== null;
    this.stopButton.disabled = !running;
  }

  /**
   * The kernel is gone: stop everything that moves (tool timers, the pulsing dot, the send lock), disable
   * every control (nothing would handle a click) and say how to get a working chat back. What was shown stays.
   */
  disconnect() {
    if (this.disconnected) return;
    this.disconnected = true;
    this.releaseSendLock();
    // The ticker only drives tool timers, and no event will ever stop the running ones now.
    this.store.stopTicker();
    this.root.dataset.status = 'disconnected';
    this.statusText.textContent = DISCONNECTED_TEXT;
    this.statusText.title = DISCONNECTED_TEXT;
    for (const control of this.root.querySelectorAll('button, textarea')) {
      /** @type {HTMLButtonElement | HTMLTextAreaElement} */ (control).disabled = true;
    }
  }

  /** Drop every segment's DOM and build it again from the store. */
  rebuild() {
    for (const segment of this.segments) segment.remove();
    this.live?.remove();
    this.segments = this.store.segments.map((state) => this.mount(state));
    this.live = this.mount(this.store.live);
    this.scheduler.request();
  }

  /** @param {ChatState} state */
  mount(state) {
    const segment = new SegmentView(this, state);
    this.textArea.append(segment.textEl);
    this.toolsArea.append(segment.toolsEl);
    this.resultsArea.append(segment.resultsEl);
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
    this.scheduler.request();
  }

  /**
   * @param {ChatState} _old
   * @param {ChatState[]} added
   */
  replaceLive(_old, added) {
    this.live?.remove();
    for (const state of added) this.segments.push(this.mount(state));
    this.live = this.mount(this.store.live);
    this.scheduler.request();
  }

  reset() {
    this.rebuild();
  }

  /** @param {number} nowMs */
  tick(nowMs) {
    if (!this.disconnected) this.live?.tick(nowMs);
  }

  /** Once per frame: render pending markdown, then keep pinned areas scrolled to the bottom. */
  flush() {
    for (const message of this.dirty) message.flush();
    this.dirty.clear();
    for (const [area, pinned] of this.pinned) if (pinned) area.scrollTop = area.scrollHeight;
  }

  dispose() {
    this.model.off('comm_live_update', this.disconnect);
    this.scheduler.cancel();
    this.releaseSendLock();
    this.root.remove();
  }
}

/**
 * @param {Document} doc
 * @param {string} title
 * @param {HTMLElement} area
 */
function pane(doc, title, area) {
  const box = element(doc, 'section', 'nbs-pane');
  const heading = element(doc, 'div', 'nbs-pane-title');
  heading.textContent = title;
  box.append(heading, area);
  return box;
}

/**
 * @param {Document} doc
 * @param {string} label
 * @param {string} hook
 * @param {string} className
 */
function button(doc, label, hook, className) {
  const el = /** @type {HTMLButtonElement} */ (element(doc, 'button', className, hook));
  el.type = 'button';
  el.textContent = label;
  return el;
}
