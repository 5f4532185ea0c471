// The model's reasoning in a step: a section above the step's text, open while it streams, folded once the
// step's answer text or a tool call starts (or the step ends) to "Thought for 4.2 s" (reducer.js ends it).
//
// Reasoning is untrusted model output like the answer: it is markdown rendered by the same MarkdownMessage
// (text_view.js), with the same per-frame budget and sanitizer. A folded section renders nothing: its text
// only grows in the state, and is rendered when the reader opens it. The reader's click wins over the automatic
// open and fold. Quiet mode shows sections folded; `show_reasoning=False` hides them (CSS) and renders none.

import { element } from './dom.js';
import { formatSeconds } from './format.js';
import { MarkdownMessage } from './text_view.js';

/** @typedef {import('./reducer.js').ReasoningItem} ReasoningItem */

/**
 * @typedef {object} ReasoningHost  what a section needs from its view
 * @property {Document} doc
 * @property {boolean} quiet  quiet mode: sections start folded
 * @property {boolean} showReasoning  false: sections are hidden
 * @property {(message: MarkdownMessage) => void} renderLater  render the message's new text at the next frame
 * @property {(message: MarkdownMessage) => void} skipRender  render nothing of it until asked again
 */

/**
 * "Thought for 4.2 s"; "Thought" when the duration is not known.
 * @param {number | null} seconds
 */
export function thoughtFor(seconds) {
  if (seconds === null) return 'Thought';
  return `Thought for ${seconds < 60 ? `${seconds.toFixed(1)} s` : formatSeconds(seconds)}`;
}

export class ReasoningSection {
  /**
   * @param {ReasoningHost} host
   * @param {ReasoningItem} item
   */
  constructor(host, item) {
    this.host = host;
    this.item = item;
    const doc = host.doc;
    this.el = element(doc, 'div', 'nbs-reasoning', 'reasoning');
    this.toggle = /** @type {HTMLButtonElement} */ (element(doc, 'button', 'nbs-reasoning-toggle', 'reasoning-toggle'));
    this.toggle.type = 'button';
    this.body = element(doc, 'div', 'nbs-reasoning-body', 'reasoning-body');
    this.message = new MarkdownMessage(doc, item, undefined, { hook: 'reasoning-text', className: 'nbs-md' });
    this.body.append(this.message.el);
    this.el.append(this.toggle, this.body);
    /** @type {boolean | null} the reader's choice (a click), else the section's state and the mode decide */
    this.choice = null;
    this.toggle.addEventListener('click', () => {
      this.choice = !this.expanded();
      this.layout();
    });
    this.layout();
  }

  expanded() {
    if (!this.host.showReasoning) return false;
    if (this.choice !== null) return this.choice;
    return !this.item.done && !this.host.quiet;
  }

  /** Open or fold, label, and render (open) or not (folded). */
  layout() {
    const open = this.expanded();
    const { item } = this;
    this.el.dataset.state = item.done ? 'done' : 'streaming';
    this.el.dataset.open = String(open);
    this.toggle.setAttribute('aria-expanded', String(open));
    this.toggle.textContent = item.done ? thoughtFor(item.duration) : 'Thinking…';
    this.body.hidden = !open;
    if (open) this.host.renderLater(this.message);
    else this.host.skipRender(this.message);
  }

  /** More reasoning arrived: rendered at the next frame if the section is open, else when it is opened. */
  grew() {
    if (this.expanded()) this.host.renderLater(this.message);
  }
}
