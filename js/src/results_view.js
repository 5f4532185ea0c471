// One block per tool result in the results area: pretty JSON or plain text, always via textContent.
// Long outputs show a preview and a button to expand (the full text is only put in the DOM on demand).

import { countLines, formatSeconds, prettyOutput, preview } from './format.js';
import { element } from './dom.js';

/** @typedef {import('./reducer.js').ToolCall} ToolCall */

/** Outputs longer than this are collapsed... */
export const MAX_LINES = 20;
export const MAX_CHARS = 2000;
/** ...to a preview this long. */
const PREVIEW_LINES = 10;
const PREVIEW_CHARS = 1000;

/**
 * @param {Document} doc
 * @param {ToolCall} call
 * @returns {HTMLElement}
 */
export function renderResult(doc, call) {
  const el = element(doc, 'div', 'nbs-result', 'result');
  el.dataset.toolId = call.id;
  const head = element(doc, 'div', 'nbs-result-head');
  const name = element(doc, 'span', 'nbs-tool-name');
  name.textContent = call.name;
  const meta = element(doc, 'span', 'nbs-timer');
  meta.textContent = call.duration !== null ? formatSeconds(call.duration) : '';
  head.append(name, meta);
  const body = element(doc, 'pre', 'nbs-result-body');
  const text = prettyOutput(call.output ?? '');
  el.append(head, body);

  const lines = countLines(text, MAX_LINES);
  if (lines <= MAX_LINES && text.length <= MAX_CHARS) {
    body.textContent = text;
    return el;
  }
  const short = preview(text, PREVIEW_LINES, PREVIEW_CHARS);
  const total = countLines(text);
  const toggle = element(doc, 'button', 'nbs-button nbs-link', 'expand');
  toggle.setAttribute('type', 'button');
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
