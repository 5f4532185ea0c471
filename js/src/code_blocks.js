// Code blocks in model output: syntax highlighting, a Copy button, and "insert as a new cell below".
//
// markdown.js calls `enhancePieces` on the sanitized fragments it renders in one go (frozen chunks, the live
// tail), each with the code tokens marked met, in document order. Each `<pre><code>` gets a wrapper with a small
// header:
//   - a fenced block still open (its closing fence has not arrived: the live tail of a streaming reply) stays
//     plain code with just the language label, so nothing is highlighted while it grows;
//   - a finished block (closing fence seen, or an indented block) is highlighted once (code_highlight.js, which
//     caches the result by (language, code), so the live tail that re-renders it each frame until it is frozen,
//     and the frozen chunk that renders it again, clone the cached DOM instead of highlighting again); and it
//     gets Copy and Insert buttons.
// The buttons act on the code as the model wrote it (the token's text), kept in a WeakMap: never on the DOM's
// text or HTML.
//
// Insert: the page exposes no application object (JupyterLab 4 has no `window.jupyterapp` by default), but
// anywidget's model proxy carries ipywidgets' widget manager, and in JupyterLab and Notebook 7 that manager
// is the notebook's own (`@jupyter-widgets/jupyterlab-manager`), whose `context.model.sharedModel` is the
// notebook document. `attachCodeActions(el, model)` (called from the widget's render) finds it, and Insert
// does what JupyterLab itself does for a `set_next_input` payload: `sharedModel.insertCell(index + 1, ...)`
// after the cell whose output holds this view. Where there is no such manager (VS Code, Colab, classic
// Notebook, a console), the Insert button stays hidden (CSS: shown only under `.nbs-can-insert`).

import { CONTINUED } from './blocks.js';
import { highlighter, languageOf } from './code_highlight.js';

/** How long the Copy/Insert buttons show what happened. */
const FEEDBACK_MS = 1600;

/**
 * What markdown.js saw of one code block (a marked `code` token).
 * @typedef {{text: string, lang?: string, raw: string, codeBlockStyle?: string}} CodeToken
 */

/**
 * Has this code block ended? A fence needs its closing fence (until then the block is still streaming);
 * an indented block has no end marker and counts as finished.
 * @param {CodeToken} token
 */
export function isFinished(token) {
  if (token.codeBlockStyle === 'indented') return true;
  const lines = token.raw.replace(/\n+$/, '').split('\n');
  if (lines.length < 2) return false;
  const open = /^ {0,3}(`{3,}|~{3,})/.exec(lines[0]);
  const close = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(lines[lines.length - 1]);
  return open !== null && close !== null && close[1][0] === open[1][0] && close[1].length >= open[1].length;
}

/** The code each block's buttons act on, as the model wrote it. */
/** @type {WeakMap<Element, string>} */
const sources = new WeakMap();
/** Insert actions of the widget hosts that can insert cells (see `attachCodeActions`). */
/** @type {WeakMap<Element, (code: string) => void>} */
const inserters = new WeakMap();

/**
 * Wrap each `<pre><code>` of the sanitized pieces of one render (markdown.js's output, with the code tokens met
 * while rendering each, in document order) and enhance it (see the top of this file); their finished blocks are
 * highlighted together.
 * @param {{root: ParentNode, tokens: CodeToken[]}[]} pieces
 * @param {Document} doc
 */
export function enhancePieces(pieces, doc) {
  /** @type {{code: HTMLElement, token: CodeToken, language: string}[]} */
  const toHighlight = [];
  for (const { root, tokens } of pieces) {
    const codes = [...root.querySelectorAll('pre > code')];
    // Raw HTML from the model is escaped, so every <pre><code> is one of these tokens; if not, stay plain.
    if (codes.length !== tokens.length) continue;
    codes.forEach((code, i) => {
      const language = wrap(/** @type {HTMLElement} */ (code), tokens[i], doc);
      if (language !== null) toHighlight.push({ code: /** @type {HTMLElement} */ (code), token: tokens[i], language });
    });
  }
  if (toHighlight.length === 0) return;
  const highlighted = highlighter.highlightAll(
    toHighlight.map(({ token, language }) => ({ code: token.text, language })),
    doc,
  );
  toHighlight.forEach(({ code, token }, i) => {
    const fragment = highlighted[i];
    if (fragment === null) return;
    // marked ends the block's text with a newline that the token's text does not have: keep it.
    const tail = code.textContent?.slice(token.text.length) ?? '';
    code.replaceChildren(fragment, tail);
    code.className = 'hljs';
  });
}

/**
 * Wrap one code block with its header; returns the language to highlight it in, or null.
 * @param {HTMLElement} code
 * @param {CodeToken} token
 * @param {Document} doc
 * @returns {string | null}
 */
function wrap(code, token, doc) {
  const pre = /** @type {HTMLElement} */ (code.parentElement);
  let label = (token.lang ?? '').trim();
  const continued = label.endsWith(CONTINUED);
  if (continued) label = label.slice(0, -CONTINUED.length).trim();
  label = label.split(/\s/, 1)[0].slice(0, 24);
  const finished = isFinished(token);

  const wrapper = doc.createElement('div');
  wrapper.className = continued ? 'nbs-code nbs-code-cont' : 'nbs-code';
  wrapper.dataset.nbstream = 'code';
  wrapper.dataset.state = finished ? 'done' : 'streaming';
  pre.replaceWith(wrapper);
  if (!continued) wrapper.append(header(doc, label, finished));
  wrapper.append(pre);
  sources.set(wrapper, token.text);
  return finished ? languageOf(label) : null;
}

/**
 * @param {Document} doc
 * @param {string} label
 * @param {boolean} finished
 */
function header(doc, label, finished) {
  const head = doc.createElement('div');
  head.className = 'nbs-code-head';
  const lang = doc.createElement('span');
  lang.className = 'nbs-code-lang';
  // Shown by CSS (`content: attr(title)`), so the label is not part of the message's text.
  if (label) lang.title = label;
  head.append(lang);
  if (!finished) return head;
  const copy = codeButton(doc, 'copy-code', 'Copy code');
  copy.addEventListener('click', () => void onCopy(copy, doc));
  const insert = codeButton(doc, 'insert-code', 'Insert as a new cell below');
  insert.addEventListener('click', () => onInsert(insert));
  head.append(copy, insert);
  return head;
}

/**
 * A button with no text node of its own: CSS draws its label (`Copy`, `Copied`, `Insert`, ...), so Copy and
 * Insert never end up in the message's text (a selection copied from the chat, `textContent` in tests).
 * @param {Document} doc
 * @param {string} hook
 * @param {string} label
 */
function codeButton(doc, hook, label) {
  const button = doc.createElement('button');
  button.type = 'button';
  button.className = 'nbs-code-button';
  button.dataset.nbstream = hook;
  button.setAttribute('aria-label', label);
  button.title = label;
  return button;
}

/**
 * Show an outcome on a button for a moment (`data-state` drives the label in CSS; aria-label says it too).
 * @param {HTMLButtonElement} button
 * @param {string} state
 * @param {string} label
 */
function feedback(button, state, label) {
  const rest = /** @type {string} */ (button.title);
  button.dataset.state = state;
  button.setAttribute('aria-label', label);
  const win = button.ownerDocument.defaultView;
  const timers = /** @type {any} */ (button);
  if (timers.nbsTimer) clearTimeout(timers.nbsTimer);
  timers.nbsTimer = (win ?? globalThis).setTimeout(() => {
    delete button.dataset.state;
    button.setAttribute('aria-label', rest);
    timers.nbsTimer = null;
  }, FEEDBACK_MS);
}

/**
 * The whole code of the block a button belongs to: a block longer than blocks.js's tail cap arrives as
 * consecutive pieces (the later ones marked `nbs-code-cont`, in later chunks or the live tail), and Copy and
 * Insert take them all. The pieces are found in document order within the message, whatever boxes the view
 * puts its chunks in.
 * @param {Element} button
 * @returns {string | null}
 */
export function codeOf(button) {
  const wrapper = button.closest('.nbs-code');
  if (wrapper === null || !sources.has(wrapper)) return null;
  const parts = [/** @type {string} */ (sources.get(wrapper))];
  const scope = wrapper.closest('.nbs-md') ?? wrapper.getRootNode();
  if (!('querySelectorAll' in scope)) return parts[0];
  const blocks = [...scope.querySelectorAll('.nbs-code')];
  for (const next of blocks.slice(blocks.indexOf(wrapper) + 1)) {
    if (!next.classList.contains('nbs-code-cont')) break;
    parts.push(sources.get(next) ?? '');
  }
  return parts.join('\n');
}

/**
 * @param {HTMLButtonElement} button
 * @param {Document} doc
 */
async function onCopy(button, doc) {
  const code = codeOf(button);
  if (code === null) return;
  const ok = await copyText(code, doc);
  feedback(button, ok ? 'copied' : 'failed', ok ? 'Copied' : 'Copy failed: select the code and copy it');
}

/**
 * Put text on the clipboard: the async Clipboard API where the page allows it (secure context, permission),
 * else the old `execCommand('copy')` on a hidden textarea (works from a click in most browsers).
 * @param {string} text
 * @param {Document} doc
 * @returns {Promise<boolean>}
 */
export async function copyText(text, doc) {
  const clipboard = doc.defaultView?.navigator?.clipboard;
  if (clipboard && typeof clipboard.writeText === 'function') {
    try {
      await clipboard.writeText(text);
      return true;
    } catch {
      // Not allowed here (permission, focus, insecure context): try the old way.
    }
  }
  return legacyCopy(text, doc);
}

/**
 * @param {string} text
 * @param {Document} doc
 */
function legacyCopy(text, doc) {
  if (typeof doc.execCommand !== 'function' || doc.body === null) return false;
  const area = doc.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.top = '0';
  area.style.left = '-9999px';
  area.style.opacity = '0';
  const focused = /** @type {HTMLElement | null} */ (doc.activeElement);
  doc.body.append(area);
  let ok = false;
  try {
    area.focus({ preventScroll: true });
    area.select();
    ok = doc.execCommand('copy');
  } catch {
    ok = false;
  } finally {
    area.remove();
    focused?.focus?.();
  }
  return ok;
}

/** @param {HTMLButtonElement} button */
function onInsert(button) {
  const code = codeOf(button);
  const host = button.closest('.nbs-can-insert');
  const insert = host === null ? undefined : inserters.get(host);
  if (code === null || insert === undefined) return;
  try {
    insert(code);
    feedback(button, 'inserted', 'Inserted');
  } catch {
    feedback(button, 'failed', 'Could not insert a cell');
  }
}

/**
 * The notebook document behind this widget, if the page exposes it to widgets (see the top of this file).
 * @param {any} model  anywidget's model proxy
 * @returns {any} the notebook's shared model (a YNotebook), or null
 */
export function notebookOf(model) {
  try {
    const context = model?.widget_manager?.context;
    const notebook = context?.model?.sharedModel;
    if (notebook && typeof notebook.insertCell === 'function' && Array.isArray(notebook.cells)) return notebook;
  } catch {
    // A manager without a notebook context (a console, another host) may throw on access.
  }
  return null;
}

/**
 * The index of the notebook cell whose output holds `el`, or -1. JupyterLab 4 and Notebook 7 number every
 * cell they put in the DOM (`data-windowed-list-index`, also when the notebook is windowed); else the cell's
 * position among its sibling cells.
 * @param {Element} el
 */
export function cellIndexOf(el) {
  const cell = el.closest('.jp-Cell');
  if (cell === null) return -1;
  const numbered = Number.parseInt(/** @type {HTMLElement} */ (cell).dataset.windowedListIndex ?? '', 10);
  if (Number.isInteger(numbered) && numbered >= 0) return numbered;
  const siblings = [...(cell.parentElement?.children ?? [])].filter((node) => node.classList.contains('jp-Cell'));
  return siblings.indexOf(cell);
}

/**
 * Call from the widget's `render`: lets this view's Insert buttons add cells to its notebook, where the page
 * allows it (the buttons stay hidden otherwise). Returns the cleanup.
 * @param {HTMLElement} el  the element anywidget gave the view
 * @param {any} model  anywidget's model proxy
 * @returns {() => void}
 */
export function attachCodeActions(el, model) {
  if (notebookOf(model) === null) return () => {};
  inserters.set(el, (code) => {
    // Looked up again on each click: the document may have been closed since this view was made.
    const notebook = notebookOf(model);
    if (notebook === null) throw new Error('the notebook is gone');
    const index = cellIndexOf(el);
    const cells = notebook.cells;
    // As JupyterLab does for `set_next_input`: below the cell, or at the end when the view is not in a
    // notebook cell (an output opened in its own tab).
    const below = index >= 0 && index < cells.length && cells[index]?.cell_type === 'code';
    const cell = { cell_type: 'code', source: code, metadata: { trusted: false } };
    notebook.insertCell(below ? index + 1 : cells.length, cell);
  });
  el.classList.add('nbs-can-insert');
  return () => {
    inserters.delete(el);
    el.classList.remove('nbs-can-insert');
  };
}
