// anywidget entry point for nbstream.Compare: a grid of columns, one per model, and one prompt box for all.
//
// Each column is a StreamChat of its own (the `columns` trait names them, "anywidget:<model id>"), drawn by the
// chat's own view: anywidget's widget composition (`host.getWidget(ref).render({el})`, anywidget >= 0.11)
// runs the chat's `render` (widget.js) into the column, so its store, streaming, tool cards and status line are
// the chat's, unchanged; the compare view only hides each chat's own prompt box (compare.css). Each column
// streams from its chat's messages, so one slow or failing model never holds the others.
//
// The prompt box (prompt_view.js, the chat's) sends {"type": "send"} / {"type": "stop"} to the kernel, which
// sends the prompt to every chat / stops them all. It is busy while any column's chat runs (their `status`
// traits). Under each column, the metrics of its last turn (the `metrics` of `columns`, set by the kernel).
// The grid wraps the columns to rows below `column_width` pixels each (CSS grid, compare.css).

import { element } from './dom.js';
import { PromptBox } from './prompt_view.js';

/** @typedef {import('./store.js').WidgetModel} WidgetModel */
/** @typedef {{chat: string, label: string, metrics: string}} Column */
/**
 * @typedef {object} Host  anywidget's `host` (widget composition)
 * @property {(ref: string) => Promise<{render: (options: {el: HTMLElement, signal?: AbortSignal}) => Promise<void>}>} getWidget
 * @property {(ref: string) => Promise<WidgetModel>} getModel
 */

const RUNNING = new Set(['generating', 'waiting_tools', 'awaiting_approval']);
export const NO_HOST =
  'This comparison needs anywidget 0.11 or later to show its columns: pip install -U anywidget, then restart the kernel.';

/**
 * @param {WidgetModel} model
 * @returns {Column[]}
 */
export function columnsOf(model) {
  const value = model.get('columns');
  if (!Array.isArray(value)) return [];
  return value.filter((column) => column !== null && typeof column === 'object' && typeof column.chat === 'string');
}

/** @param {Iterable<string>} statuses */
export function anyRunning(statuses) {
  for (const status of statuses) if (RUNNING.has(status)) return true;
  return false;
}

/** One column: the chat's view, and the metrics line under it. */
class ColumnView {
  /**
   * @param {Document} doc
   * @param {Column} column
   * @param {number} index
   */
  constructor(doc, column, index) {
    this.el = element(doc, 'section', 'nbs-compare-column', 'compare-column');
    this.el.dataset.index = String(index);
    this.el.dataset.label = String(column.label ?? '');
    this.el.setAttribute('aria-label', String(column.label ?? ''));
    this.chat = element(doc, 'div', 'nbs-compare-chat', 'compare-chat');
    this.metrics = element(doc, 'div', 'nbs-compare-metrics', 'compare-metrics');
    this.el.append(this.chat, this.metrics);
    this.setMetrics(column.metrics);
  }

  /** @param {unknown} text */
  setMetrics(text) {
    const line = typeof text === 'string' ? text : '';
    this.metrics.textContent = line;
    this.metrics.hidden = line === '';
  }

  /** @param {string} text */
  fail(text) {
    const note = element(this.chat.ownerDocument, 'div', 'nbs-compare-error', 'compare-error');
    note.textContent = text;
    this.chat.replaceChildren(note);
  }
}

export class CompareView {
  /**
   * @param {WidgetModel} model
   * @param {HTMLElement} el
   * @param {Host | undefined} host
   * @param {AbortSignal | undefined} signal
   */
  constructor(model, el, host, signal) {
    this.model = model;
    this.host = host;
    this.signal = signal;
    const doc = el.ownerDocument;
    this.root = element(doc, 'div', 'nbs-compare', 'compare');
    this.root.setAttribute('data-lm-suppress-shortcuts', 'true');
    this.grid = element(doc, 'div', 'nbs-compare-grid', 'compare-grid');
    // The prompt box wears the chat's look: widget.css styles it inside `.nbstream` (the columns' chats load it).
    this.bar = element(doc, 'div', 'nbstream nbs-compare-bar', 'compare-bar');
    this.prompt = new PromptBox(doc, {
      onSend: (text) => model.send({ type: 'send', prompt: text }),
      onStop: () => model.send({ type: 'stop' }),
    });
    this.prompt.textarea.placeholder = 'Message every model (Enter sends, Shift+Enter adds a line)';
    this.bar.append(this.prompt.el);
    this.root.append(this.grid, this.bar);
    el.append(this.root);
    /** @type {ColumnView[]} */
    this.columns = columnsOf(model).map((column, index) => new ColumnView(doc, column, index));
    this.grid.append(...this.columns.map((column) => column.el));
    /** @type {Map<number, string>} each column's chat status */
    this.statuses = new Map();
    this.onColumns = this.onColumns.bind(this);
    this.onWidth = this.onWidth.bind(this);
    model.on('change:columns', this.onColumns);
    model.on('change:column_width', this.onWidth);
    this.onWidth();
    this.updateBusy();
  }

  /** Render each column's chat into it (in parallel: one that fails says so in its column only). */
  async mount() {
    const host = this.host;
    if (host === undefined || typeof host.getWidget !== 'function') {
      for (const column of this.columns) column.fail(NO_HOST);
      this.prompt.setDisabled(true);
      return;
    }
    const refs = columnsOf(this.model).map((column) => column.chat);
    await Promise.all(refs.map((ref, index) => this.mountColumn(host, ref, index)));
  }

  /**
   * @param {Host} host
   * @param {string} ref
   * @param {number} index
   */
  async mountColumn(host, ref, index) {
    const column = this.columns[index];
    try {
      const chat = await host.getModel(ref);
      const onStatus = () => {
        this.statuses.set(index, String(chat.get('status') ?? 'idle'));
        this.updateBusy();
      };
      chat.on('change:status', onStatus); // removed with the view (host.getModel scopes it to the view's signal)
      onStatus();
      const widget = await host.getWidget(ref);
      await widget.render({ el: column.chat, signal: this.signal });
    } catch (error) {
      column.fail(`This model's column could not be shown: ${error instanceof Error ? error.message : error}`);
    }
  }

  updateBusy() {
    const busy = anyRunning(this.statuses.values());
    this.root.dataset.status = busy ? 'running' : 'idle';
    this.prompt.setBusy(busy);
  }

  onColumns() {
    columnsOf(this.model).forEach((column, index) => this.columns[index]?.setMetrics(column.metrics));
  }

  onWidth() {
    const width = Number(this.model.get('column_width'));
    if (Number.isFinite(width) && width > 0) this.root.style.setProperty('--nbs-compare-column', `${width}px`);
  }

  dispose() {
    this.model.off('change:columns', this.onColumns);
    this.model.off('change:column_width', this.onWidth);
    this.prompt.dispose();
    this.root.remove();
  }
}

/** @param {{model: WidgetModel, el: HTMLElement, host?: Host, signal?: AbortSignal}} context */
async function render({ model, el, host, signal }) {
  const view = new CompareView(model, el, host, signal);
  await view.mount();
  return () => view.dispose();
}

export default { render };
