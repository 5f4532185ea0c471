// anywidget entry point for nbstream.StreamChat (protocol: WIDGET_PROTOCOL.md).
//
// `initialize` runs once per model: it creates the store and listens for custom messages before any view
// exists, so nothing the kernel sends is lost, and the store says "attach" (the kernel then commits finished
// turns as messages that the store appends to the model's `transcript`, instead of re-sending the whole
// trait). `render` runs once per view (the same chat displayed twice, a reloaded page): it builds the DOM from
// the store, then says "ready" so the kernel sends the turn in progress. Both return cleanups that remove every listener, timer and animation frame they created.

import { attachCodeActions } from './code_blocks.js';
import { ChatStore } from './store.js';
import { ChatView } from './view.js';

/** The stores of the models alive in this page (one per model, made by `initialize`). */
/** @type {Set<ChatStore>} */
const stores = new Set();

/**
 * The store `initialize` made for this model. anywidget hands each lifecycle call a fresh proxy of the model,
 * so proxies cannot be compared; but `get` returns the model's own attribute objects, so two proxies of one
 * model return the very same `transcript` array (also after a commit set a new one), and proxies of two models
 * never do.
 * @param {import('./store.js').WidgetModel} model
 */
function storeFor(model) {
  const transcript = model.get('transcript');
  for (const store of stores) if (store.model.get('transcript') === transcript) return store;
  return undefined;
}

/** @param {{model: import('./store.js').WidgetModel}} context */
function initialize({ model }) {
  const store = new ChatStore(model);
  stores.add(store);
  const stop = store.start();
  return () => {
    stop();
    stores.delete(store);
  };
}

/** @param {{model: import('./store.js').WidgetModel, el: HTMLElement}} context */
function render({ model, el }) {
  let store = storeFor(model);
  /** @type {(() => void) | null} */
  let stopOwnStore = null;
  if (store === undefined) {
    // A host that skipped `initialize`: this view keeps a store of its own.
    store = new ChatStore(model);
    stopOwnStore = store.start();
  }
  const view = new ChatView(store, el);
  const detachCodeActions = attachCodeActions(el, model); // Copy / Insert on code blocks (code_blocks.js)
  const unsubscribe = store.subscribe(view);
  const onStatus = () => view.onStatus();
  for (const name of ['change:status', 'change:status_message', 'change:model_label']) model.on(name, onStatus);
  model.on('change:view', view.onViewMode);
  store.send({ type: 'ready' });
  return () => {
    for (const name of ['change:status', 'change:status_message', 'change:model_label']) {
      model.off(name, onStatus);
    }
    model.off('change:view', view.onViewMode);
    unsubscribe();
    detachCodeActions();
    view.dispose();
    stopOwnStore?.();
  };
}

export default { initialize, render };
