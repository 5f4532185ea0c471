// The conversation's text pieces: user prompts, notices, and assistant text segments as streaming markdown.
//
// A segment's finished blocks are each rendered once into a contained box (CSS `contain: content`), in groups
// of GROUP_SIZE, so the browser's per-frame layout touches a few group boxes plus the live tail, never every
// block of a long reply.

import { BlockSplitter } from './blocks.js';
import { element } from './dom.js';
import { renderMarkdown } from './markdown.js';
import { foldLongText } from './prompt_view.js';

/** Finished blocks per group box. */
const GROUP_SIZE = 24;

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
    /** @type {HTMLElement | null} the group finished blocks are appended to */
    this.group = null;
  }

  /** Render what arrived since the last flush. */
  flush() {
    const { text } = this.item;
    if (text.length === this.rendered) return;
    this.rendered = text.length;
    for (const chunk of this.splitter.update(text)) {
      if (this.group === null || this.group.childElementCount >= GROUP_SIZE) {
        this.group = element(this.doc, 'div', 'nbs-blocks');
        this.frozenEl.append(this.group);
      }
      const block = element(this.doc, 'div', 'nbs-done');
      block.append(this.render(chunk, this.doc));
      this.group.append(block);
    }
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
  if (item.kind === 'call') throw new Error('a call item is a tool card (tools_view.js)');
  if (item.kind === 'user') {
    // A long (pasted) prompt is folded to its first lines, with a button to show it all.
    const el = element(doc, 'div', 'nbs-user', 'user');
    el.append(foldLongText(doc, item.text));
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
