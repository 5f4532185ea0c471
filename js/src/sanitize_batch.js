// Many HTML pieces through one DOMPurify call.
//
// DOMPurify parses its input into a new document (`DOMParser.parseFromString`): a fixed cost of about half a
// millisecond in Chromium, more than sanitizing a typical markdown block. So the pieces rendered in one frame
// are joined with a separator element, sanitized together, and split again at the separators. The separator
// carries a random marker that model output cannot produce (markdown.js escapes raw HTML; highlight.js escapes
// the code), and the split is checked: unless exactly one separator stands between each two pieces at the top
// level, every piece is sanitized on its own instead. Either way each piece gets the sanitizer's own verdict.

/** Unique to this page load: the separator's marker. */
const MARK = `nbs-${Math.random().toString(36).slice(2, 10)}`;

/**
 * @typedef {object} Separator
 * @property {string} html  the separator element, allowed by the purifier's configuration
 * @property {(node: Node) => boolean} is  whether a sanitized top-level node is that separator
 */

/** An `<hr>` with the marker in its title (marked's own `<hr>` has no attributes). */
/** @type {Separator} */
export const HR_SEPARATOR = {
  html: `<hr title="${MARK}">`,
  is: (node) => node.nodeName === 'HR' && /** @type {Element} */ (node).getAttribute('title') === MARK,
};

/** An empty `<span>` with the marker as its class (highlight.js's classes all start with `hljs-`). */
/** @type {Separator} */
export const SPAN_SEPARATOR = {
  html: `<span class="${MARK}"></span>`,
  is: (node) => node.nodeName === 'SPAN' && /** @type {Element} */ (node).className === MARK,
};

/**
 * Sanitize each HTML piece, with one parse for all of them when they split back cleanly.
 * @param {(html: string) => DocumentFragment} sanitize  one DOMPurify call (configured, RETURN_DOM_FRAGMENT)
 * @param {string[]} htmls
 * @param {Separator} separator
 * @param {Document} doc  owns the fragments returned
 * @returns {DocumentFragment[]} one per piece, in order
 */
export function sanitizeEach(sanitize, htmls, separator, doc) {
  if (htmls.length <= 1) return htmls.map((html) => sanitize(html));
  const joined = sanitize(htmls.join(separator.html));
  /** @type {DocumentFragment[]} */
  const pieces = [doc.createDocumentFragment()];
  for (let node = joined.firstChild; node !== null; node = joined.firstChild) {
    if (separator.is(node)) {
      node.remove();
      pieces.push(doc.createDocumentFragment());
    } else {
      pieces[pieces.length - 1].append(node);
    }
  }
  if (pieces.length === htmls.length) return pieces;
  return htmls.map((html) => sanitize(html));
}
