// Long text in a tool card (arguments, result, error details), always via textContent: a short text is shown
// whole; a long one as a preview with a button to expand (the full text is only put in the DOM on demand).
// Expanding changes this element only, and the element outlives the end of the turn, so it stays expanded.

import { countLines, prettyOutput, preview } from './format.js';
import { element } from './dom.js';

/** @typedef {import('./reducer.js').ToolCall} ToolCall */

/** Texts longer than this are collapsed... */
export const MAX_LINES = 20;
export const MAX_CHARS = 2000;
/** ...to a preview this long. */
const PREVIEW_LINES = 10;
const PREVIEW_CHARS = 1000;

/**
 * A block of text, collapsed when long (`data-collapsed` says which; absent when short).
 * @param {Document} doc
 * @param {string} text
 * @param {string} hook  the block's data-nbstream
 * @param {string} className
 * @returns {HTMLElement}
 */
export function renderText(doc, text, hook, className) {
  const el = element(doc, 'div', `nbs-block ${className}`, hook);
  const body = element(doc, 'pre', 'nbs-block-body');
  el.append(body);
  const lines = countLines(text, MAX_LINES);
  if (lines <= MAX_LINES && text.length <= MAX_CHARS) {
    body.textContent = text;
    return el;
  }
  const short = preview(text, PREVIEW_LINES, PREVIEW_CHARS);
  const total = countLines(text);
  const toggle = /** @type {HTMLButtonElement} */ (element(doc, 'button', 'nbs-button nbs-link', 'expand'));
  toggle.type = 'button';
  const show = (/** @type {boolean} */ expanded) => {
    el.dataset.collapsed = String(!expanded);
    body.textContent = expanded ? text : `${short}\n…`;
    toggle.textContent = expanded ? 'Show less' : `Show all (${total} lines, ${text.length} chars)`;
    toggle.setAttribute('aria-expanded', String(expanded));
  };
  toggle.addEventListener('click', () => show(el.dataset.collapsed === 'true'));
  show(false);
  el.append(toggle);
  return el;
}

/**
 * A call's result, for its card: pretty JSON or plain text.
 * @param {Document} doc
 * @param {ToolCall} call
 */
export function renderResult(doc, call) {
  const el = renderText(doc, prettyOutput(call.output ?? ''), 'result', 'nbs-result');
  el.dataset.toolId = call.id;
  return el;
}
