// One row per tool call in the tools area (DOM hooks: WIDGET_PROTOCOL.md).
//
// Arguments grow by appending a text node per fragment (O(1) per fragment); the whole text is set once, when
// the call is final. What the tool prints (its console) grows the same way, as it arrives. Everything from the
// model or a tool goes through textContent and text nodes, never innerHTML.

import { element } from './dom.js';
import { formatSeconds } from './format.js';

/** @typedef {import('./reducer.js').ToolCall} ToolCall */

const STATE_LABELS = {
  pending: 'queued',
  streaming: 'writing args',
  running: 'running',
  awaiting_approval: 'needs approval',
  done: 'done',
  error: 'error',
  cancelled: 'cancelled',
};

export class ToolRow {
  /**
   * @param {Document} doc
   * @param {ToolCall} call
   * @param {(content: object) => void} send  custom message to the kernel
   */
  constructor(doc, call, send) {
    this.doc = doc;
    this.call = call;
    this.send = send;
    this.el = element(doc, 'div', 'nbs-tool', 'tool');
    this.el.dataset.toolId = call.id;
    const head = element(doc, 'div', 'nbs-tool-head');
    this.badge = element(doc, 'span', 'nbs-badge');
    this.nameEl = element(doc, 'span', 'nbs-tool-name');
    this.timerEl = element(doc, 'span', 'nbs-timer', 'tool-timer');
    head.append(this.badge, this.nameEl, this.timerEl);
    this.argsEl = element(doc, 'pre', 'nbs-args', 'tool-args');
    this.argsEl.textContent = call.args;
    this.errorEl = element(doc, 'div', 'nbs-tool-error');
    // The console box scrolls in reverse (CSS), so it follows the newest line without reading layout.
    this.consoleBox = element(doc, 'div', 'nbs-console');
    this.consoleBox.hidden = true;
    const consoleLabel = element(doc, 'div', 'nbs-console-label');
    consoleLabel.textContent = 'output';
    const scroller = element(doc, 'div', 'nbs-console-scroll');
    this.consoleEl = element(doc, 'pre', 'nbs-console-text', 'tool-output');
    scroller.append(this.consoleEl);
    this.consoleBox.append(consoleLabel, scroller);
    /** @type {HTMLElement[]} one span per console run shown */
    this.runEls = [];
    /** characters of the last run already shown (earlier runs never change) */
    this.lastRunShown = 0;
    /** @type {HTMLElement | null} */
    this.approval = null;
    this.el.append(head, this.argsEl, this.consoleBox, this.errorEl);
    this.update();
  }

  /** @param {string} fragment */
  appendArgs(fragment) {
    this.argsEl.append(this.doc.createTextNode(fragment));
  }

  resetArgs() {
    this.argsEl.textContent = this.call.args;
  }

  /** Reflect the call's state, name, error and timer. */
  update() {
    const { call } = this;
    this.el.dataset.toolName = call.name;
    this.el.dataset.state = call.state;
    this.nameEl.textContent = call.name || '(unnamed tool)';
    this.badge.textContent = STATE_LABELS[call.state];
    this.errorEl.textContent = call.error && call.state !== 'done' ? call.error : '';
    this.errorEl.hidden = !this.errorEl.textContent;
    this.updateConsole();
    if (call.state === 'awaiting_approval') this.showApproval();
    else this.hideApproval();
    if (call.state !== 'running') {
      this.timerEl.textContent = call.duration !== null ? formatSeconds(call.duration) : '';
    }
  }

  /** Show console output that arrived since the last update: only the new text is added to the DOM. */
  updateConsole() {
    const runs = this.call.console;
    const shown = this.runEls.length;
    if (shown > 0) {
      const text = runs[shown - 1].text;
      if (text.length > this.lastRunShown) {
        this.runEls[shown - 1].append(this.doc.createTextNode(text.slice(this.lastRunShown)));
      }
    }
    for (const run of runs.slice(shown)) {
      const span = element(this.doc, 'span', 'nbs-console-run');
      span.dataset.stream = run.stream;
      span.textContent = run.text;
      this.consoleEl.append(span);
      this.runEls.push(span);
    }
    if (runs.length > 0) {
      this.lastRunShown = runs[runs.length - 1].text.length;
      this.consoleBox.hidden = false;
    }
  }

  /** @param {number} nowMs */
  tick(nowMs) {
    if (this.call.state === 'running' && this.call.startedMs !== null) {
      this.timerEl.textContent = formatSeconds((nowMs - this.call.startedMs) / 1000);
    }
  }

  showApproval() {
    if (this.approval !== null) return;
    const box = element(this.doc, 'div', 'nbs-approval');
    const approve = element(this.doc, 'button', 'nbs-button nbs-primary', 'approve');
    const deny = element(this.doc, 'button', 'nbs-button', 'deny');
    approve.textContent = 'Approve';
    deny.textContent = 'Deny';
    for (const [button, type] of /** @type {const} */ ([[approve, 'approve'], [deny, 'deny']])) {
      button.setAttribute('type', 'button');
      button.addEventListener('click', () => {
        // One answer per call: the kernel's next event replaces the buttons.
        approve.setAttribute('disabled', '');
        deny.setAttribute('disabled', '');
        this.send({ type, id: this.call.id });
      });
    }
    box.append(approve, deny);
    this.el.append(box);
    this.approval = box;
  }

  hideApproval() {
    this.approval?.remove();
    this.approval = null;
  }
}
