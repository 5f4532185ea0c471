// Markdown -> sanitized DOM for model output (untrusted).
//
// Choice: `marked` (GFM, synchronous, ~50 KB min) + `DOMPurify` (~30 KB min), ~80 KB minified together.
// `markdown-it` with html:false was the alternative: safe-by-default for raw HTML but ~100 KB minified with
// its entity tables and linkify, and it would still need our own link validation. `marked` is the smaller
// parser; DOMPurify makes the last call on what reaches the DOM, so a parser bug cannot become an XSS.
// Three layers, each enough on its own for raw HTML:
//   1. the marked renderer escapes every raw HTML token, so `<script>` typed by the model shows as text;
//      images become plain links (no request to a URL chosen by the model, which could leak data);
//      task-list checkboxes become ☐/☑ characters (no form elements);
//   2. DOMPurify with a short allow-list of tags and attributes (no class/style/id, no data- attributes);
//   3. a DOMPurify hook checks every href on its *decoded* value: only http(s), mailto and
//      relative/fragment URLs survive; links get target=_blank rel="noopener noreferrer".
// Code blocks are then wrapped, highlighted once finished, and given Copy/Insert buttons by code_blocks.js,
// on the sanitized DOM (the elements it adds are made with DOM calls, never from model text).
//
// Cost: DOMPurify parses what it sanitizes into a new document, a fixed cost per call larger than a typical
// block's own. `renderPieces` renders the pieces one frame shows (finished blocks and the live tail) with one
// sanitize for all of them (sanitize_batch.js), and the purifier is configured once (`setConfig`), not per call.

import DOMPurify from 'dompurify';
import { Marked } from 'marked';

import { enhancePieces } from './code_blocks.js';
import { HR_SEPARATOR, sanitizeEach } from './sanitize_batch.js';

const ALLOWED_TAGS = [
  'a', 'blockquote', 'br', 'code', 'del', 'em', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'li', 'ol', 'p',
  'pre', 'strong', 'table', 'tbody', 'td', 'th', 'thead', 'tr', 'ul',
];
const ALLOWED_ATTR = ['href', 'title', 'start', 'align'];
const SAFE_PROTOCOLS = new Set(['http:', 'https:', 'mailto:']);
/** A URL with an explicit scheme (`name:`) — anything else is relative to the page. */
const HAS_SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/** @param {string} text */
export function escapeHtml(text) {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/**
 * Is this (already entity-decoded) URL safe to put in an href?
 * Control characters and whitespace are dropped first, as browsers do when they parse a scheme.
 * @param {string} url
 */
export function isSafeUrl(url) {
  // eslint-disable-next-line no-control-regex
  const compact = url.replace(/[\u0000-\u0020\u007f-\u009f\u00ad\u200b-\u200f\u2028\u2029\ufeff]/g, '');
  if (!HAS_SCHEME.test(compact)) return true;
  const scheme = compact.slice(0, compact.indexOf(':') + 1).toLowerCase();
  return SAFE_PROTOCOLS.has(scheme);
}

/**
 * The code tokens the renderer meets during the current `parse`, in document order (parse is synchronous).
 * @type {import('./code_blocks.js').CodeToken[] | null}
 */
let codeTokens = null;

const marked = new Marked({
  async: false,
  gfm: true,
  breaks: true,
  renderer: {
    html({ text }) {
      return escapeHtml(text);
    },
    image({ href, text }) {
      const label = text ? `image: ${text}` : 'image';
      return `<a href="${escapeHtml(href)}">${escapeHtml(label)}</a>`;
    },
    checkbox({ checked }) {
      return checked ? '☑ ' : '☐ ';
    },
    code(token) {
      codeTokens?.push(token);
      return false; // marked's own <pre><code>, escaped
    },
  },
});

const PURIFY_CONFIG = {
  ALLOWED_TAGS,
  ALLOWED_ATTR,
  ALLOW_DATA_ATTR: false,
  ALLOW_ARIA_ATTR: false,
  ALLOW_UNKNOWN_PROTOCOLS: false,
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|[^a-z]|[a-z0-9+.-]+(?:[^a-z0-9+.:-]|$))/i,
  RETURN_DOM_FRAGMENT: /** @type {const} */ (true),
};

/** @type {WeakMap<Window, ReturnType<typeof DOMPurify>>} */
const purifiers = new WeakMap();

/**
 * One configured DOMPurify per window (hooks and configuration are per instance, so ours never touch another
 * library's).
 * @param {Window} win
 */
function purifierFor(win) {
  let purifier = purifiers.get(win);
  if (purifier) return purifier;
  purifier = DOMPurify(win);
  purifier.setConfig(PURIFY_CONFIG);
  purifier.addHook('afterSanitizeAttributes', (node) => {
    if (node.nodeName !== 'A') return;
    const element = /** @type {Element} */ (node);
    const href = element.getAttribute('href');
    if (href !== null && !isSafeUrl(href)) element.removeAttribute('href');
    if (element.hasAttribute('href')) {
      element.setAttribute('target', '_blank');
      element.setAttribute('rel', 'noopener noreferrer');
    }
  });
  purifiers.set(win, purifier);
  return purifier;
}

/**
 * Sanitize an HTML string into a fragment (exported for tests of the sanitizer alone).
 * @param {string} html
 * @param {Document} doc
 * @returns {DocumentFragment}
 */
export function sanitize(html, doc) {
  const win = /** @type {Window} */ (doc.defaultView);
  return /** @type {DocumentFragment} */ (/** @type {unknown} */ (purifierFor(win).sanitize(html)));
}

/**
 * Render markdown pieces (frozen chunks, the live tail) to sanitized fragments, with one sanitize for all.
 * @param {string[]} sources
 * @param {Document} doc
 * @returns {DocumentFragment[]} one per source, in order
 */
export function renderPieces(sources, doc) {
  /** @type {(string | null)[]} */
  const htmls = [];
  /** @type {import('./code_blocks.js').CodeToken[][]} */
  const tokens = [];
  for (const source of sources) {
    /** @type {import('./code_blocks.js').CodeToken[]} */
    const met = [];
    codeTokens = met;
    try {
      htmls.push(/** @type {string} */ (marked.parse(source)));
    } catch {
      htmls.push(null);
    } finally {
      codeTokens = null;
    }
    tokens.push(met);
  }
  const parsed = /** @type {string[]} */ (htmls.filter((html) => html !== null));
  const sanitized = sanitizeEach((html) => sanitize(html, doc), parsed, HR_SEPARATOR, doc);
  /** @type {DocumentFragment[]} */
  const fragments = [];
  /** @type {{root: DocumentFragment, tokens: import('./code_blocks.js').CodeToken[]}[]} */
  const withCode = [];
  let next = 0;
  htmls.forEach((html, i) => {
    if (html === null) {
      fragments.push(plain(sources[i], doc));
      return;
    }
    const fragment = sanitized[next++];
    fragments.push(fragment);
    if (tokens[i].length > 0) withCode.push({ root: fragment, tokens: tokens[i] });
  });
  if (withCode.length > 0) enhancePieces(withCode, doc);
  return fragments;
}

/**
 * Render one markdown piece to a sanitized fragment.
 * @param {string} source
 * @param {Document} doc
 * @returns {DocumentFragment}
 */
export function renderMarkdown(source, doc) {
  return renderPieces([source], doc)[0];
}

/**
 * What a piece marked could not parse shows: its source, as text.
 * @param {string} source
 * @param {Document} doc
 */
function plain(source, doc) {
  const fragment = doc.createDocumentFragment();
  const pre = doc.createElement('pre');
  pre.textContent = source;
  fragment.append(pre);
  return fragment;
}
