// Syntax highlighting for code blocks (code_blocks.js decides which blocks, and when): code to coloured DOM.
//
// highlight.js core with a short list of languages (no auto-detection: a label we do not know stays plain).
// Its HTML escapes the code; we still put it through DOMPurify allowing only <span class> with highlight.js's
// own class names, so nothing but coloured text can come out of it: the blocks of one render in one sanitize
// (sanitize_batch.js), and each block's text is checked to be its code, character for character. The result
// is cached per document by (language, code), so a block rendered again (each frame of the live tail, then its
// frozen chunk) clones the cached DOM instead of highlighting again.

import DOMPurify from 'dompurify';
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import css from 'highlight.js/lib/languages/css';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import markdown from 'highlight.js/lib/languages/markdown';
import python from 'highlight.js/lib/languages/python';
import shell from 'highlight.js/lib/languages/shell';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';

import { SPAN_SEPARATOR, sanitizeEach } from './sanitize_batch.js';

const LANGUAGES = { bash, css, javascript, json, markdown, python, shell, sql, typescript, xml, yaml };
for (const [name, language] of Object.entries(LANGUAGES)) hljs.registerLanguage(name, language);
// highlight.js's own aliases cover py, js, jsx, ts, tsx, sh, zsh, console, html, svg, yml, md, ...
hljs.registerAliases(['python3', 'py3', 'pycon'], { languageName: 'python' });
hljs.registerAliases(['postgresql', 'postgres', 'mysql', 'sqlite'], { languageName: 'sql' });

/** Longer code is shown plain: highlighting is linear but not free, and it runs on the page's main thread. */
const MAX_HIGHLIGHT = 50_000;
/** Highlighted blocks kept per document (a reply's finished blocks; the live tail's block hits it every frame). */
const CACHE_SIZE = 64;
/** A class highlight.js makes: `hljs-keyword`, and the sub-scope suffixes `class_`, `inherited__`. */
const HLJS_CLASS = /^(?:hljs-[a-z0-9_-]+|[a-z]+_+)$/;

/**
 * The language a fence's info string names, if highlight.js knows it.
 * @param {string} label  the first word of the info string
 * @returns {string | null} highlight.js's language name
 */
export function languageOf(label) {
  const name = label.replace(/^[{.]+|[}]+$/g, '').toLowerCase();
  if (!name || !hljs.getLanguage(name)) return null;
  return name;
}

/** Highlights code into DOM, once per (document, language, code): later calls clone the cached result. */
export class Highlighter {
  constructor(size = CACHE_SIZE) {
    this.size = size;
    /** How many times highlight.js actually ran (the tests count it). */
    this.runs = 0;
    /** @type {WeakMap<Document, Map<string, DocumentFragment>>} */
    this.caches = new WeakMap();
    /** @type {WeakMap<Window, ReturnType<typeof DOMPurify>>} */
    this.purifiers = new WeakMap();
  }

  /**
   * @param {string} code
   * @param {string} language  a name `languageOf` returned
   * @param {Document} doc
   * @returns {DocumentFragment | null} null when the code stays plain
   */
  highlight(code, language, doc) {
    return this.highlightAll([{ code, language }], doc)[0];
  }

  /**
   * Highlight several blocks, with one sanitize for those not cached.
   * @param {{code: string, language: string}[]} blocks  languages `languageOf` returned
   * @param {Document} doc
   * @returns {(DocumentFragment | null)[]} per block, null when the code stays plain
   */
  highlightAll(blocks, doc) {
    let cache = this.caches.get(doc);
    if (cache === undefined) {
      cache = new Map();
      this.caches.set(doc, cache);
    }
    /** @type {Map<string, DocumentFragment>} the highlighted DOM of this call's blocks, by key */
    const found = new Map();
    /** @type {Map<string, {code: string, html: string}>} what highlight.js made, to sanitize */
    const made = new Map();
    for (const { code, language } of blocks) {
      const key = `${language}\n${code}`;
      if (code.length > MAX_HIGHLIGHT || found.has(key) || made.has(key)) continue;
      const cached = cache.get(key);
      if (cached !== undefined) {
        cache.delete(key); // least recently used goes first
        cache.set(key, cached);
        found.set(key, cached);
        continue;
      }
      const html = this.#run(code, language);
      if (html !== null) made.set(key, { code, html });
    }
    const entries = [...made];
    const fragments = sanitizeEach(
      (html) => this.#sanitize(html, doc),
      entries.map(([, { html }]) => html),
      SPAN_SEPARATOR,
      doc,
    );
    entries.forEach(([key, { code }], i) => {
      const fragment = keepHljsClasses(fragments[i]);
      // Whatever happened above, the text must be the code, character for character.
      if (fragment.textContent !== code) return;
      if (cache.size >= this.size) cache.delete(/** @type {string} */ (cache.keys().next().value));
      cache.set(key, fragment);
      found.set(key, fragment);
    });
    return blocks.map(({ code, language }) => {
      const fragment = found.get(`${language}\n${code}`);
      return fragment === undefined ? null : /** @type {DocumentFragment} */ (fragment.cloneNode(true));
    });
  }

  /**
   * highlight.js's HTML for the code (escaped code in <span class>), or null.
   * @param {string} code
   * @param {string} language
   */
  #run(code, language) {
    this.runs += 1;
    try {
      return hljs.highlight(code, { language, ignoreIllegals: true }).value;
    } catch {
      return null;
    }
  }

  /**
   * @param {string} html
   * @param {Document} doc
   * @returns {DocumentFragment}
   */
  #sanitize(html, doc) {
    const win = /** @type {Window} */ (doc.defaultView);
    let purifier = this.purifiers.get(win);
    if (purifier === undefined) {
      purifier = DOMPurify(win);
      purifier.setConfig({
        ALLOWED_TAGS: ['span'],
        ALLOWED_ATTR: ['class'],
        ALLOW_DATA_ATTR: false,
        ALLOW_ARIA_ATTR: false,
        RETURN_DOM_FRAGMENT: true,
      });
      this.purifiers.set(win, purifier);
    }
    return /** @type {DocumentFragment} */ (/** @type {unknown} */ (purifier.sanitize(html)));
  }
}

/**
 * Only highlight.js's own class names stay on the spans.
 * @param {DocumentFragment} fragment
 */
function keepHljsClasses(fragment) {
  for (const span of fragment.querySelectorAll('span')) {
    const kept = [...span.classList].filter((name) => HLJS_CLASS.test(name));
    if (kept.length === 0) span.removeAttribute('class');
    else span.className = kept.join(' ');
  }
  return fragment;
}

/** The highlighter code_blocks.js uses (exported for tests). */
export const highlighter = new Highlighter();
