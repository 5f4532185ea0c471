// Thumbnails of a prompt's or a tool result's images, and the viewer that shows one enlarged.
//
// A thumbnail is a button holding an <img> bounded by CSS (`.nbs-thumb`); clicking it opens the view's one
// viewer: a modal <dialog> (the browser's top layer, so no container of the notebook clips it) with the image at
// up to the window's size. Escape or a click anywhere closes it, and the focus goes back to the thumbnail. An
// image the page does not show (images.js said why) is a note, as text. Every `src` is checked again here
// (`isImageUrl`): only a `data:` URL of the four image types ever reaches an <img>.

import { element } from './dom.js';
import { isImageUrl } from './images.js';

/** @typedef {import('./images.js').ImageInfo} ImageInfo */
/** @typedef {(image: ImageInfo, from: HTMLElement) => void} OpenImage */

/**
 * @param {Document} doc
 * @param {ImageInfo} image
 * @param {string} className
 */
function img(doc, image, className) {
  const el = /** @type {HTMLImageElement} */ (element(doc, 'img', className));
  el.alt = image.label;
  el.decoding = 'async';
  if (image.src !== null && isImageUrl(image.src)) el.src = image.src;
  return el;
}

/**
 * The thumbnails of `images` (empty: null).
 * @param {Document} doc
 * @param {ImageInfo[]} images
 * @param {OpenImage} open
 * @returns {HTMLElement | null}
 */
export function renderImages(doc, images, open) {
  if (images.length === 0) return null;
  const box = element(doc, 'div', 'nbs-images', 'images');
  for (const image of images) {
    if (image.src === null || !isImageUrl(image.src)) {
      const note = element(doc, 'div', 'nbs-image-note', 'image-note');
      note.textContent = `🖼 ${image.label}: ${image.note ?? 'not shown'}`;
      box.append(note);
      continue;
    }
    const button = /** @type {HTMLButtonElement} */ (element(doc, 'button', 'nbs-thumb', 'image'));
    button.type = 'button';
    button.title = `${image.label} (click to enlarge)`;
    button.setAttribute('aria-label', `Enlarge ${image.label}`);
    button.append(img(doc, image, 'nbs-thumb-img'));
    button.addEventListener('click', () => open(image, button));
    box.append(button);
  }
  return box;
}

/** The enlarged image of a view: one modal dialog, made on first use. */
export class ImageViewer {
  /** @param {HTMLElement} root  the view's root: the dialog lives in it (its styles and key handling apply) */
  constructor(root) {
    this.root = root;
    this.doc = /** @type {Document} */ (root.ownerDocument);
    /** @type {HTMLDialogElement | null} */
    this.dialog = null;
    /** @type {HTMLElement | null} the thumbnail to give the focus back to */
    this.from = null;
    this.close = this.close.bind(this);
    this.onKeydown = this.onKeydown.bind(this);
    this.onCancel = this.onCancel.bind(this);
  }

  /**
   * @param {ImageInfo} image
   * @param {HTMLElement} from
   */
  open(image, from) {
    if (image.src === null || !isImageUrl(image.src)) return;
    const dialog = this.dialog ?? this.make();
    const caption = element(this.doc, 'div', 'nbs-viewer-caption');
    caption.textContent = image.label;
    dialog.replaceChildren(img(this.doc, image, 'nbs-viewer-img'), caption);
    this.from = from;
    if (dialog.open) return;
    if (typeof dialog.showModal === 'function') dialog.showModal();
    else dialog.setAttribute('open', ''); // no top layer (an old browser, jsdom): shown in place
    dialog.focus({ preventScroll: true });
  }

  /** @returns {HTMLDialogElement} */
  make() {
    const dialog = /** @type {HTMLDialogElement} */ (element(this.doc, 'dialog', 'nbs-viewer', 'image-viewer'));
    dialog.setAttribute('aria-label', 'Image (Escape or a click closes it)');
    dialog.tabIndex = -1;
    dialog.addEventListener('click', this.close);
    dialog.addEventListener('keydown', this.onKeydown);
    dialog.addEventListener('cancel', this.onCancel);
    this.root.append(dialog);
    this.dialog = dialog;
    return dialog;
  }

  isOpen() {
    return this.dialog !== null && (this.dialog.open || this.dialog.hasAttribute('open'));
  }

  close() {
    const dialog = this.dialog;
    if (dialog === null || !this.isOpen()) return;
    if (typeof dialog.close === 'function') dialog.close();
    dialog.removeAttribute('open');
    dialog.replaceChildren(); // the image's data is not kept in the DOM while nothing shows it
    const from = this.from;
    this.from = null;
    if (from !== null && from.isConnected) from.focus({ preventScroll: true });
  }

  /** @param {KeyboardEvent} event */
  onKeydown(event) {
    event.stopPropagation(); // keys here are not the notebook's
    if (event.key !== 'Escape') return;
    event.preventDefault();
    this.close();
  }

  /** @param {Event} event  the browser's own Escape on a modal dialog */
  onCancel(event) {
    event.preventDefault();
    this.close();
  }

  dispose() {
    this.close();
    this.dialog?.removeEventListener('click', this.close);
    this.dialog?.removeEventListener('keydown', this.onKeydown);
    this.dialog?.removeEventListener('cancel', this.onCancel);
    this.dialog?.remove();
    this.dialog = null;
  }
}
