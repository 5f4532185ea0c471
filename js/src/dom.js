// DOM construction helper shared by the views.

/**
 * @param {Document} doc
 * @param {string} tag
 * @param {string} className
 * @param {string} [hook]  the data-nbstream value (a stable hook for tests and users' CSS)
 * @returns {HTMLElement}
 */
export function element(doc, tag, className, hook) {
  const el = doc.createElement(tag);
  el.className = className;
  if (hook) el.dataset.nbstream = hook;
  return el;
}
