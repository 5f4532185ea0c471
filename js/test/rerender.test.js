// A view whose output JupyterLab renders again (the kernel refreshed the static copy): the new render takes the
// orphaned view over, so one view stays alive per output and nothing is rebuilt (widget.js).
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';

import widget from '../src/widget.js';
import { FakeModel, makeWindow, q, settle } from './helpers.js';

/** @type {Set<HTMLElement>} */
const liveViews = /** @type {any} */ (globalThis)[Symbol.for('nbstream.liveViews')];

/** @type {(() => void)[]} */
let cleanups = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/**
 * A page with one output of `model`, rendered as ipywidgets' WidgetRenderer does: the view's element goes into
 * the renderer's node; `rerender()` is its `renderModel` on an update (empty the node, then a new view).
 * @param {FakeModel} model
 */
function output(model, win = makeWindow()) {
  const doc = win.document;
  const renderer = doc.createElement('div');
  doc.body.append(renderer);
  cleanups.push(/** @type {() => void} */ (widget.initialize({ model: model.proxy() })));
  const show = () => {
    const el = doc.createElement('div');
    const cleanup = /** @type {() => void} */ (widget.render({ model: model.proxy(), el }));
    cleanups.push(cleanup);
    renderer.textContent = '';
    renderer.append(el);
    return { el, cleanup };
  };
  const first = show();
  return {
    win,
    renderer,
    first,
    rerender() {
      renderer.textContent = 'Loading widget...';
      return show();
    },
  };
}

describe('an output rendered again', () => {
  test('the new render takes the old view over: the same DOM, one live view', async () => {
    const before = liveViews.size;
    const model = new FakeModel();
    const page = output(model);
    const turn = [{ type: 'user_prompt', text: 'one' }, { type: 'text_delta', text: 'Hi.' }];
    model.receive({ type: 'events', events: turn });
    await settle();
    const root = page.first.el.querySelector('.nbstream');
    const sent = model.sent.length;
    const second = page.rerender();
    const third = page.rerender();
    assert.equal(third.el.querySelector('.nbstream'), root, 'moved, not rebuilt');
    assert.equal(page.renderer.querySelectorAll('.nbstream').length, 1);
    assert.equal(liveViews.size, before + 1, 'one live view');
    assert.equal(model.sent.length, sent, 'no second "ready": the view is up to date');
    // The old renders' cleanups (their outputs go away later) leave the view alone; the current one disposes it.
    page.first.cleanup();
    second.cleanup();
    assert.equal(third.el.querySelector('.nbstream'), root);
    model.receive({ type: 'events', events: [{ type: 'text_delta', text: ' More.' }] });
    await settle();
    assert.match(q(third.el, 'text').textContent ?? '', /Hi\. More\./, 'still live');
    model.set('status', 'generating');
    assert.equal(/** @type {HTMLElement} */ (root).dataset.status, 'generating', 'status listeners moved along');
    third.cleanup();
    assert.equal(liveViews.size, before);
    assert.equal(third.el.querySelector('.nbstream'), null);
  });

  test('the draft stays', async () => {
    const model = new FakeModel();
    const page = output(model);
    const prompt = /** @type {HTMLTextAreaElement} */ (q(page.first.el, 'prompt'));
    await settle(); // the element was seen in the page
    prompt.value = 'a draft';
    prompt.focus();
    assert.equal(page.win.document.activeElement, prompt);
    const next = page.rerender();
    await settle(0);
    assert.equal(q(next.el, 'prompt'), prompt);
    assert.equal(prompt.value, 'a draft');
  });

  test('the focus comes back when the removal blurred it (as Chromium does)', async () => {
    const model = new FakeModel();
    const page = output(model);
    const prompt = /** @type {HTMLTextAreaElement} */ (q(page.first.el, 'prompt'));
    await settle();
    prompt.focus();
    page.renderer.textContent = 'Loading widget...';
    // jsdom does not blur on removal: do what Chromium does.
    prompt.dispatchEvent(new page.win.FocusEvent('focusout', { bubbles: true, relatedTarget: null }));
    page.win.document.body.focus();
    await Promise.resolve();
    const el = page.win.document.createElement('div');
    cleanups.push(/** @type {() => void} */ (widget.render({ model: model.proxy(), el })));
    page.renderer.append(el);
    assert.equal(page.win.document.activeElement, prompt);
  });

  test('a view whose element is still in the page, or was never shown, is not taken', async () => {
    const model = new FakeModel();
    const page = output(model);
    const root = page.first.el.querySelector('.nbstream');
    // The same chat displayed again in another output: a view of its own.
    const other = page.win.document.createElement('div');
    cleanups.push(/** @type {() => void} */ (widget.render({ model: model.proxy(), el: other })));
    assert.notEqual(other.querySelector('.nbstream'), null);
    assert.equal(page.first.el.querySelector('.nbstream'), root);
    // `other` was never put in the page: a third render does not take it either.
    const third = page.win.document.createElement('div');
    cleanups.push(/** @type {() => void} */ (widget.render({ model: model.proxy(), el: third })));
    assert.notEqual(third.querySelector('.nbstream'), other.querySelector('.nbstream'));
    assert.notEqual(other.querySelector('.nbstream'), null);
  });

  test('a view detached with its surroundings (a tab moved, a windowed notebook) stays alive and is not taken', () => {
    const model = new FakeModel();
    const page = output(model);
    const root = page.first.el.querySelector('.nbstream');
    page.renderer.remove(); // the element keeps its parent
    const el = page.win.document.createElement('div');
    cleanups.push(/** @type {() => void} */ (widget.render({ model: model.proxy(), el })));
    assert.equal(page.first.el.querySelector('.nbstream'), root);
    assert.notEqual(el.querySelector('.nbstream'), root);
    page.win.document.body.append(page.renderer);
    model.set('status', 'done');
    assert.equal(/** @type {HTMLElement} */ (root).dataset.status, 'done');
  });

  test('another model never takes the view', async () => {
    const a = new FakeModel();
    const b = new FakeModel();
    const page = output(a);
    await settle();
    const root = page.first.el.querySelector('.nbstream');
    page.renderer.textContent = '';
    const other = output(b, page.win);
    assert.notEqual(other.first.el.querySelector('.nbstream'), root);
  });
});

describe('an orphan no render takes', () => {
  test("is disposed at the kernel's next message; its late cleanup does nothing more", () => {
    const before = liveViews.size;
    const model = new FakeModel();
    const page = output(model);
    const root = /** @type {HTMLElement} */ (page.first.el.querySelector('.nbstream'));
    page.renderer.textContent = 'Loading widget...'; // and no new view (ipywidgets: the widget was closed)
    assert.equal(liveViews.size, before + 1);
    model.receive({ type: 'events', events: [{ type: 'user_prompt', text: 'late' }] });
    assert.equal(liveViews.size, before, 'disposed');
    assert.equal(model.listenerCount(), 3, "no view listens: only the store's two listeners and the sweep");
    assert.equal(root.isConnected, false);
    page.first.cleanup();
    assert.equal(liveViews.size, before);
  });
});

describe('what the removal took', () => {
  test('the text selected in the view is selected again', async () => {
    const model = new FakeModel();
    const page = output(model);
    const turn = [{ type: 'user_prompt', text: 'one' }, { type: 'text_delta', text: 'Select me.' }];
    model.receive({ type: 'events', events: turn });
    await settle();
    const doc = page.win.document;
    const answer = q(page.first.el, 'assistant');
    const selection = /** @type {Selection} */ (doc.getSelection());
    selection.selectAllChildren(answer);
    doc.dispatchEvent(new page.win.Event('selectionchange'));
    assert.equal(selection.toString().trim(), 'Select me.');
    page.renderer.textContent = 'Loading widget...';
    selection.collapse(page.renderer, 0); // what the removal does to a selection inside it
    doc.dispatchEvent(new page.win.Event('selectionchange')); // while taken out: ignored
    const next = page.rerender();
    assert.equal(q(next.el, 'assistant'), answer);
    assert.equal(selection.toString().trim(), 'Select me.');
  });

  test('a selection made elsewhere meanwhile wins', async () => {
    const model = new FakeModel();
    const page = output(model);
    model.receive({ type: 'events', events: [{ type: 'text_delta', text: 'Select me.' }] });
    await settle();
    const doc = page.win.document;
    const selection = /** @type {Selection} */ (doc.getSelection());
    selection.selectAllChildren(q(page.first.el, 'assistant'));
    doc.dispatchEvent(new page.win.Event('selectionchange'));
    const elsewhere = doc.createElement('p');
    elsewhere.textContent = 'Elsewhere.';
    doc.body.append(elsewhere);
    page.renderer.textContent = 'Loading widget...';
    selection.selectAllChildren(elsewhere);
    page.rerender();
    assert.equal(selection.toString(), 'Elsewhere.');
  });
});
