// A running tool's progress in its card: what it does now, and a bar (`tool_progress` events, reducer.js).
//
// With a fraction the bar is filled that far (role=progressbar, aria-valuenow); without one it is
// indeterminate (a moving stripe, CSS). Only the newest update is shown, and it stays as the call's final state
// once the call ended, frozen: the bar keeps the last fraction reported, the stripe stops (CSS, by the card's
// state). Text only (textContent): the message comes from the tool.

import { element } from './dom.js';

/** @typedef {import('./reducer.js').ToolProgress} ToolProgress */

export class ProgressLine {
  /** @param {Document} doc */
  constructor(doc) {
    this.el = element(doc, 'div', 'nbs-progress', 'tool-progress');
    this.el.hidden = true;
    this.messageEl = element(doc, 'span', 'nbs-progress-message', 'progress-message');
    this.bar = element(doc, 'div', 'nbs-bar', 'progress-bar');
    this.bar.setAttribute('role', 'progressbar');
    this.bar.setAttribute('aria-valuemin', '0');
    this.bar.setAttribute('aria-valuemax', '100');
    this.fill = element(doc, 'div', 'nbs-bar-fill');
    this.bar.append(this.fill);
    this.percent = element(doc, 'span', 'nbs-progress-percent');
    this.el.append(this.messageEl, this.bar, this.percent);
    /** @type {ToolProgress | null} what is shown */
    this.shown = null;
  }

  /** @param {ToolProgress | null} progress */
  update(progress) {
    if (progress === null || progress === this.shown) return;
    this.shown = progress;
    this.el.hidden = false;
    this.messageEl.textContent = progress.message ?? '';
    this.bar.setAttribute('aria-label', progress.message ?? 'progress');
    const { fraction } = progress;
    if (fraction === null) {
      this.bar.dataset.indeterminate = 'true';
      this.bar.removeAttribute('aria-valuenow');
      this.fill.style.width = '';
      this.percent.textContent = '';
    } else {
      const percent = Math.round(fraction * 100);
      delete this.bar.dataset.indeterminate;
      this.bar.setAttribute('aria-valuenow', String(percent));
      this.fill.style.width = `${(fraction * 100).toFixed(1)}%`;
      this.percent.textContent = `${percent}%`;
    }
  }
}
