// A tool call's card, at the point of the turn where the call was made (DOM hooks: WIDGET_PROTOCOL.md).
//
// Head (state badge, name, live timer), arguments, what the tool printed, its progress (progress_view.js), then
// its result (with its images' thumbnails, images_view.js) or error. Arguments grow by appending a text node per
// fragment (O(1) per fragment) and are formatted once, when the call is final; the console grows the same way.
// Nothing is rebuilt once shown, so a result the reader expanded stays expanded. Everything from the model or a
// tool goes through textContent and text nodes, never innerHTML; images only as checked data: URLs.

import { element } from './dom.js';
import { formatArguments, formatSeconds } from './format.js';
import { renderImages } from './images_view.js';
import { ProgressLine } from './progress_view.js';
import { errorLabel } from './reducer.js';
import { renderResult, renderText } from './results_view.js';

/** @typedef {import('./reducer.js').ToolCall} ToolCall */

const STATE_LABELS = {
  pending: 'queued',
  streaming: 'writing args',
  running: 'running',
  awaiting_approval: 'needs approval',
  done: 'done',
  error: 'error',
  denied: 'denied',
  cancelled: 'stopped',
};

export class ToolCard {
  /**
   * @param {Document} doc
   * @param {ToolCall} call
   * @param {(content: object) => void} send  custom message to the kernel
   * @param {import('./images_view.js').OpenImage} [openImage]  enlarges one of the result's images
   */
  constructor(doc, call, send, openImage = () => {}) {
    this.doc = doc;
    this.call = call;
    this.send = send;
    this.openImage = openImage;
    this.el = element(doc, 'div', 'nbs-tool', 'tool');
    this.el.dataset.toolId = call.id;
    const head = element(doc, 'div', 'nbs-tool-head');
    this.badge = element(doc, 'span', 'nbs-badge');
    this.nameEl = element(doc, 'span', 'nbs-tool-name');
    this.timerEl = element(doc, 'span', 'nbs-timer', 'tool-timer');
    head.append(this.badge, this.nameEl, this.timerEl);
    this.argsEl = element(doc, 'div', 'nbs-args', 'tool-args');
    /** @type {HTMLElement | null} the raw arguments as they stream, until the call is final */
    this.argsStream = null;
    this.argsFinal = false;
    this.resetArgs();
    /** @type {HTMLElement | null} */
    this.resultEl = null;
    /** @type {HTMLElement | null} */
    this.errorEl = null;
    this.shownError = '';
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
    this.progress = new ProgressLine(doc);
    this.el.append(head, this.argsEl, this.consoleBox, this.progress.el);
    this.update();
  }

  /** The tool reported progress: show the newest (O(1)). */
  updateProgress() {
    this.progress.update(this.call.progress);
  }

  /** @param {string} fragment */
  appendArgs(fragment) {
    if (this.argsStream === null) return;
    this.argsStream.append(this.doc.createTextNode(fragment));
    this.argsEl.hidden = false;
  }

  resetArgs() {
    this.argsFinal = false;
    this.argsStream = element(this.doc, 'pre', 'nbs-block-body');
    this.argsStream.textContent = this.call.args;
    this.argsEl.replaceChildren(this.argsStream);
    this.argsEl.hidden = !this.call.args;
  }

  /** Once the arguments are final: show them formatted (long ones collapsed). */
  finishArgs() {
    const { state, args } = this.call;
    if (this.argsFinal || state === 'pending' || state === 'streaming') return;
    this.argsFinal = true;
    this.argsStream = null;
    const text = args ? formatArguments(args) : '';
    this.argsEl.hidden = !text; // no arguments (`{}`): nothing to show
    this.argsEl.replaceChildren();
    if (text) this.argsEl.append(renderText(this.doc, text, 'args-text', 'nbs-args-text'));
  }

  /** Reflect the call's state, name, error and timer. */
  update() {
    const { call } = this;
    this.el.dataset.toolName = call.name;
    this.el.dataset.state = call.state;
    this.nameEl.textContent = call.name || '(unnamed tool)';
    // a failed call says how: `invalid arguments`, `cut off`, `timed out`...
    this.badge.textContent = call.state === 'error' ? errorLabel(call.errorKind) : STATE_LABELS[call.state];
    this.finishArgs();
    this.updateConsole();
    this.updateProgress();
    if (call.state === 'done' && this.resultEl === null) {
      this.resultEl = renderResult(this.doc, call);
      this.el.append(this.resultEl);
      const images = renderImages(this.doc, call.images, this.openImage);
      if (images !== null) this.resultEl.append(images);
    }
    this.showError(call.error && call.state !== 'done' ? call.error : '');
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

  /**
   * The error, or the note for a denied / stopped call: its first line, the rest (a traceback, say) behind a
   * toggle.
   * @param {string} message
   */
  showError(message) {
    if (message === this.shownError) return;
    this.shownError = message;
    this.errorEl?.remove();
    this.errorEl = null;
    if (!message) return;
    const el = element(this.doc, 'div', 'nbs-tool-error', 'tool-error');
    el.dataset.kind = this.call.errorKind ?? this.call.state;
    const cut = message.indexOf('\n');
    const line = element(this.doc, 'div', 'nbs-tool-error-line');
    line.textContent = cut === -1 ? message : message.slice(0, cut);
    el.append(line);
    const rest = cut === -1 ? '' : message.slice(cut + 1).replace(/\s+$/, '');
    if (rest) {
      const details = renderText(this.doc, rest, 'error-details', 'nbs-error-details');
      details.hidden = true;
      const toggle = /** @type {HTMLButtonElement} */ (element(this.doc, 'button', 'nbs-button nbs-link', 'error-toggle'));
      toggle.type = 'button';
      const show = (/** @type {boolean} */ open) => {
        details.hidden = !open;
        toggle.textContent = open ? 'Hide details' : 'Show details';
        toggle.setAttribute('aria-expanded', String(open));
      };
      toggle.addEventListener('click', () => show(details.hidden));
      show(false);
      el.append(toggle, details);
    }
    // Before the approval buttons, after everything else.
    if (this.approval !== null) this.approval.before(el);
    else this.el.append(el);
    this.errorEl = el;
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
