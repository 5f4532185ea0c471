// The text area's pieces: user prompts, notices, and assistant messages rendered as streaming markdown.

import { BlockSplitter } from './blocks.js';
import { element } from './dom.js';
import { renderMarkdown } from './markdown.js';

/** @typedef {import('./reducer.js').Item} Item */
/** @typedef {import('./reducer.js').AssistantItem} AssistantItem */

/**
 * One assistant message: complete blocks are rendered once and appended; only the tail is re-rendered.
 * `flush` is called at most once per animation frame by the view's scheduler.
 */
export class MarkdownMessage {
  /**
   * @param {Document} doc
   * @param {AssistantItem} item
   * @param {(source: string, doc: Document) => DocumentFragment} [render]  markdown -> sanitized DOM
   */
  constructor(doc, item, render = renderMarkdown) {
    this.doc = doc;
    this.item = item;
    this.render = render;
    this.el = element(doc, 'div', 'nbs-assistant nbs-md', 'assistant');
    this.frozenEl = element(doc, 'div', 'nbs-frozen');
    this.tailEl = element(doc, 'div', 'nbs-tail');
    this.el.append(this.frozenEl, this.tailEl);
    this.splitter = new BlockSplitter();
    this.rendered = 0;
  }

  /** Render what arrived since the last flush. */
  flush() {
    const { text } = this.item;
    if (text.length === this.rendered) return;
    this.rendered = text.length;
    for (const chunk of this.splitter.update(text)) this.frozenEl.append(this.render(chunk, this.doc));
    this.tailEl.replaceChildren(this.render(this.splitter.tail(text), this.doc));
  }
}

/**
 * The element for a text-area item (assistant messages also get their MarkdownMessage).
 * @param {Document} doc
 * @param {Item} item
 * @returns {{el: HTMLElement, message: MarkdownMessage | null}}
 */
export function renderItem(doc, item) {
  if (item.kind === 'assistant') {
    const message = new MarkdownMessage(doc, item);
    return { el: message.el, message };
  }
  if (item.kind === 'user') {
    const el = element(doc, 'div', 'nbs-user', 'user');
    el.textContent = item.text;
    return { el, message: null };
  }
  const el = element(doc, 'div', `nbs-notice nbs-${item.level}`, 'notice');
  el.textContent = item.text;
  return { el, message: null };
}

/**
 * Runs queued work once per animation frame; a timer stands in when frames do not come (hidden tab,
 * a host that throttles requestAnimationFrame).
 */
export class FrameScheduler {
  /**
   * @param {Window} win
   * @param {() => void} run
   * @param {number} [fallbackMs]
   */
  constructor(win, run, fallbackMs = 250) {
    this.win = win;
    this.run = run;
    this.fallbackMs = fallbackMs;
    /** @type {number | null} */
    this.frame = null;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.timer = null;
    this.fire = this.fire.bind(this);
  }

  request() {
    if (this.frame !== null || this.timer !== null) return;
    if (typeof this.win.requestAnimationFrame === 'function' && !this.win.document.hidden) {
      this.frame = this.win.requestAnimationFrame(this.fire);
    }
    this.timer = setTimeout(this.fire, this.frame === null ? 0 : this.fallbackMs);
  }

  fire() {
    this.cancel();
    this.run();
  }

  cancel() {
    if (this.frame !== null) this.win.cancelAnimationFrame(this.frame);
    if (this.timer !== null) clearTimeout(this.timer);
    this.frame = null;
    this.timer = null;
  }
}
