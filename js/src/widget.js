// anywidget entry point for nbstream.StreamChat (protocol and lifecycle: WIDGET_PROTOCOL.md).
//
// `initialize` runs once per model: it creates the store and listens for custom messages before any view
// exists, so nothing the kernel sends is lost, and the store says "attach" (the kernel then commits finished
// turns as messages that the store appends to the model's `transcript`, instead of re-sending the whole
// trait). `render` runs once per view (the same chat displayed twice, a reloaded page): it builds the DOM from
// the store, then says "ready" so the kernel sends the turn in progress. Both return cleanups that remove every
// listener, timer and animation frame they created.
//
// A view whose output was re-rendered. At each turn's end the kernel refreshes the output's static copy (an
// `update_display_data`, nbstream/_static_html.py). JupyterLab and Notebook 7 then render the output again:
// ipywidgets' renderer empties its node, leaving the old view's element without a parent, and asks for a new
// view, but never removes the old one (its cleanup would only run when the output goes). So `render` first
// looks for such an orphan of the same model (a view whose element had been in the page and has no parent now)
// and takes it over: its DOM moves into the new element as it is. Nothing is rebuilt, one view stays alive per
// output, and the reader keeps the prompt's draft, unfolded cards, the room kept for the reply, the selection
// and the focus. The move happens within the task that delivered the update, before the page is painted:
// nothing flashes. An orphan still untaken when the kernel's next message comes is disposed. A view whose
// element merely left the page with its surroundings (a notebook tab moved to another dock area, a windowed
// notebook's cell out of view) keeps its parent: it is no orphan, and lives on.

import { attachCodeActions } from './code_blocks.js';
import { ChatStore } from './store.js';
import { ChatView } from './view.js';

/** @typedef {import('./store.js').WidgetModel} WidgetModel */

const STATUS_EVENTS = ['change:status', 'change:status_message', 'change:model_label'];
/** The custom element that tells a view its element entered the page (`presenceMarker`). */
const MARKER = 'nbstream-presence';

/** The stores of the models alive in this page (one per model, made by `initialize`). */
/** @type {Set<ChatStore>} */
const stores = new Set();

/** The views alive per store, each with the element it is shown in. */
/** @type {WeakMap<ChatStore, Set<Mount>>} */
const mounts = new WeakMap();

/**
 * The root elements of every view alive in this page, from every copy of this module (anywidget may load one
 * per model): tests and debugging count them under `Symbol.for('nbstream.liveViews')`.
 * @type {Set<HTMLElement>}
 */
const liveViews = (() => {
  const key = Symbol.for('nbstream.liveViews');
  const scope = /** @type {Record<symbol, Set<HTMLElement> | undefined>} */ (/** @type {unknown} */ (globalThis));
  scope[key] ??= new Set();
  return scope[key];
})();

/**
 * The store `initialize` made for this model. anywidget hands each lifecycle call a fresh proxy of the model,
 * so proxies cannot be compared; but `get` returns the model's own attribute objects, so two proxies of one
 * model return the very same `transcript` array (also after a commit set a new one), and proxies of two models
 * never do.
 * @param {WidgetModel} model
 */
function storeFor(model) {
  const transcript = model.get('transcript');
  for (const store of stores) if (store.model.get('transcript') === transcript) return store;
  return undefined;
}

/**
 * Calls `onConnect` whenever it enters the page: a custom element's `connectedCallback` runs as soon as the
 * element, or any ancestor, is inserted into the document, with no observer or timer. Defined once per window
 * (by whichever copy of this module comes first); each instance carries its own callback.
 * @param {Document} doc
 * @param {() => void} onConnect
 * @returns {HTMLElement | null}  null where the page has no custom elements
 */
function presenceMarker(doc, onConnect) {
  const win = /** @type {(Window & typeof globalThis) | null} */ (doc.defaultView);
  if (win === null || win.customElements === undefined) return null;
  if (win.customElements.get(MARKER) === undefined) {
    win.customElements.define(
      MARKER,
      class extends win.HTMLElement {
        connectedCallback() {
          /** @type {{onConnect?: () => void}} */ (this).onConnect?.();
        }
      },
    );
  }
  const marker = /** @type {HTMLElement & {onConnect?: () => void}} */ (doc.createElement(MARKER));
  marker.hidden = true;
  marker.onConnect = onConnect;
  return marker;
}

/**
 * One ChatView and where it is shown: the element and the model proxy of the `render` call that holds it now
 * (the listeners that call into the view go through that proxy; anywidget drops them when it removes the view).
 */
class Mount {
  /**
   * @param {ChatStore} store
   * @param {WidgetModel} model
   * @param {HTMLElement} el
   */
  constructor(store, model, el) {
    this.store = store;
    this.doc = el.ownerDocument;
    /** @type {HTMLElement} */
    this.el = el;
    /** @type {WidgetModel} */
    this.model = model;
    this.detachCodeActions = () => {};
    this.disposed = false;
    /** Whether the element entered the page since the view moved there (only then can it become an orphan). */
    this.placed = false;
    /** @type {Element | null} the element that had the focus when the view's element was taken out */
    this.focusLost = null;
    /** @type {[Node, number, Node, number] | null} the text selected in the view, kept while it is taken out */
    this.selection = null;
    this.onStatus = () => this.view.onStatus();
    this.onFocusOut = this.onFocusOut.bind(this);
    this.onSelectionChange = this.onSelectionChange.bind(this);

    this.view = new ChatView(store, el);
    this.unsubscribe = store.subscribe(this.view);
    this.view.root.addEventListener('focusout', this.onFocusOut);
    this.doc.addEventListener('selectionchange', this.onSelectionChange);
    this.bind(model, el);
    liveViews.add(this.view.root);
    // Beside the view's root, not in it: the marker is this module's, the root's content is the view's.
    this.marker = presenceMarker(this.doc, () => this.onConnect());
    if (this.marker === null) this.placed = true; // no way to tell: an element without a parent is an orphan
    else el.append(this.marker);
  }

  /**
   * @param {WidgetModel} model
   * @param {HTMLElement} el
   */
  bind(model, el) {
    this.el = el;
    this.model = model;
    for (const name of STATUS_EVENTS) model.on(name, this.onStatus);
    model.on('change:view', this.view.onViewMode);
    model.on('change:show_reasoning', this.view.onViewMode);
    this.detachCodeActions = attachCodeActions(el, model); // Copy / Insert on code blocks (code_blocks.js)
  }

  unbind() {
    for (const name of STATUS_EVENTS) this.model.off(name, this.onStatus);
    this.model.off('change:view', this.view.onViewMode);
    this.model.off('change:show_reasoning', this.view.onViewMode);
    this.detachCodeActions();
  }

  /** The element was in the page and its host took it out (JupyterLab rendering the output again). */
  orphaned() {
    if (this.el.isConnected) this.placed = true;
    return this.placed && this.el.parentNode === null;
  }

  /**
   * Take the view over from its orphaned element: move its DOM into `el`, as it is, and give back the selection
   * and the focus.
   * @param {WidgetModel} model
   * @param {HTMLElement} el
   */
  moveTo(model, el) {
    this.unbind();
    // Until `el` is in the page, no other render may take the view (the same chat in two outputs, both
    // rendered again: each takes its own orphan).
    this.placed = false;
    if (this.marker === null) el.append(this.view.root);
    else el.append(this.view.root, this.marker);
    this.view.host = el;
    this.bind(model, el);
    this.restore();
  }

  /** The view is in the page (again): it may be taken out from now on; give back what its removal took. */
  onConnect() {
    this.placed = true;
    this.restore();
  }

  /**
   * Taking the view's DOM out of the page collapsed the selection in it and blurred the focused element: give
   * both back, unless the reader has selected or focused something else meanwhile.
   */
  restore() {
    const root = this.view.root;
    if (!root.isConnected) return;
    const saved = this.selection;
    const selection = this.doc.getSelection();
    const nothingSelected = selection !== null && (selection.rangeCount === 0 || selection.isCollapsed);
    if (saved !== null && nothingSelected && root.contains(saved[0]) && root.contains(saved[2])) {
      selection?.setBaseAndExtent(...saved);
    }
    const focused = /** @type {HTMLElement | null} */ (this.focusLost);
    this.focusLost = null;
    const active = this.doc.activeElement;
    const nothingFocused = active === null || active === this.doc.body;
    if (focused !== null && nothingFocused && root.contains(focused)) focused.focus({ preventScroll: true });
  }

  /** Remember what is selected in the view while it is in the page. */
  onSelectionChange() {
    const root = this.view.root;
    if (!root.isConnected) return; // taken out: keep what was selected, for `restore`
    const selection = this.doc.getSelection();
    const inside =
      selection !== null &&
      selection.rangeCount > 0 &&
      !selection.isCollapsed &&
      root.contains(selection.anchorNode) &&
      root.contains(selection.focusNode);
    const { anchorNode, anchorOffset, focusNode, focusOffset } = selection ?? {};
    this.selection = inside
      ? [/** @type {Node} */ (anchorNode), /** @type {number} */ (anchorOffset), /** @type {Node} */ (focusNode),
          /** @type {number} */ (focusOffset)]
      : null;
  }

  /**
   * Chromium blurs an element it removes from the page (`relatedTarget` null); a click elsewhere does too, but
   * leaves the view in the page. Which one it was is known once the removal is done.
   * @param {FocusEvent} event
   */
  onFocusOut(event) {
    if (event.relatedTarget !== null) return;
    const target = /** @type {Element} */ (event.target);
    this.focusLost = null;
    queueMicrotask(() => {
      if (!this.view.root.isConnected) this.focusLost = target;
    });
  }

  dispose() {
    if (this.disposed) return;
    this.disposed = true;
    this.unbind();
    this.view.root.removeEventListener('focusout', this.onFocusOut);
    this.doc.removeEventListener('selectionchange', this.onSelectionChange);
    this.unsubscribe();
    liveViews.delete(this.view.root);
    this.view.dispose();
    this.marker?.remove();
  }
}

/** @param {{model: WidgetModel}} context */
function initialize({ model }) {
  const store = new ChatStore(model);
  stores.add(store);
  // An orphan that no render took over by the kernel's next message is gone for good (its render came too
  // late, or never comes): dispose it. Listening first, the sweep runs before the store hands the message on.
  const sweep = () => {
    const views = mounts.get(store);
    for (const mount of views ?? []) {
      if (mount.orphaned()) {
        views?.delete(mount);
        mount.dispose();
      }
    }
  };
  model.on('msg:custom', sweep);
  const stop = store.start();
  return () => {
    model.off('msg:custom', sweep);
    stop();
    stores.delete(store);
  };
}

/** @param {{model: WidgetModel, el: HTMLElement}} context */
function render({ model, el }) {
  let store = storeFor(model);
  /** @type {(() => void) | null} */
  let stopOwnStore = null;
  if (store === undefined) {
    // A host that skipped `initialize`: this view keeps a store of its own.
    store = new ChatStore(model);
    stopOwnStore = store.start();
  }
  let views = mounts.get(store);
  if (views === undefined) mounts.set(store, (views = new Set()));
  // The view this output showed before JupyterLab rendered it again, if any (see the top of this file).
  const orphan = [...views].find((view) => view.orphaned());
  const mount = orphan ?? new Mount(store, model, el);
  if (orphan === undefined) {
    views.add(mount);
    store.send({ type: 'ready' });
  } else {
    orphan.moveTo(model, el);
  }
  const all = views;
  return () => {
    // A view that moved on to a newer render of its output is that render's to clean up.
    if (mount.el === el) {
      all.delete(mount);
      mount.dispose();
    }
    stopOwnStore?.();
  };
}

export default { initialize, render };
