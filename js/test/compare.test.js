// nbstream.Compare's view: columns drawn by the chats' own view (widget.js) through a host like anywidget's
// composition, one prompt box for all, metrics under each column, and a failure that stays in its column.
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';

import compare, { NO_HOST, anyRunning, columnsOf } from '../src/compare.js';
import widget from '../src/widget.js';
import { FakeModel, makeWindow, q, settle } from './helpers.js';

/** @type {(() => void)[]} */
const cleanups = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/**
 * A host like anywidget's: each ref names a chat model, initialized once (widget.js `initialize`), rendered
 * by widget.js `render` into the element the compare view gives it.
 * @param {Record<string, FakeModel>} chats
 * @param {Set<string>} [broken]  refs whose widget cannot be had
 */
function fakeHost(chats, broken = new Set()) {
  for (const chat of Object.values(chats)) {
    const stop = /** @type {() => void} */ (widget.initialize({ model: chat.proxy() }));
    cleanups.push(stop);
  }
  return {
    getModel: async (/** @type {string} */ ref) => chats[ref].proxy(),
    getWidget: async (/** @type {string} */ ref) => {
      if (broken.has(ref)) throw new Error(`no widget ${ref}`);
      return {
        render: async (/** @type {{el: HTMLElement}} */ { el }) => {
          cleanups.push(/** @type {() => void} */ (widget.render({ model: chats[ref].proxy(), el })));
        },
      };
    },
  };
}

/**
 * @param {string[]} labels
 * @param {{host?: any, broken?: Set<string>}} [options]
 */
async function mountCompare(labels, options = {}) {
  const win = makeWindow();
  const el = win.document.createElement('div');
  win.document.body.append(el);
  /** @type {Record<string, FakeModel>} */
  const chats = {};
  const columns = labels.map((label, i) => {
    chats[`anywidget:chat${i}`] = new FakeModel({ model_label: label });
    return { chat: `anywidget:chat${i}`, label, metrics: '' };
  });
  const model = new FakeModel({ columns, column_width: 300 });
  const host = 'host' in options ? options.host : fakeHost(chats, options.broken);
  const stop = await compare.render({ model: model.proxy(), el, host });
  cleanups.push(stop);
  return { el, model, chats };
}

describe('the comparison view', () => {
  test('one column per chat, each drawn by the chat view; events reach their own column only', async () => {
    const { el, chats } = await mountCompare(['fast', 'slow']);
    const columns = [...el.querySelectorAll('[data-nbstream=compare-column]')];
    assert.deepEqual(columns.map((c) => /** @type {HTMLElement} */ (c).dataset.label), ['fast', 'slow']);
    assert.equal(el.querySelectorAll('.nbs-compare-chat .nbstream').length, 2, 'a chat view per column');
    chats['anywidget:chat1'].receive({
      type: 'events',
      events: [{ type: 'user_prompt', text: 'hi' }, { type: 'text_delta', text: 'from slow' }],
    });
    await settle(50);
    assert.match(q(columns[1], 'text').textContent ?? '', /from slow/);
    assert.doesNotMatch(q(columns[0], 'text').textContent ?? '', /from slow/);
    const root = q(el, 'compare');
    assert.equal(root.style.getPropertyValue('--nbs-compare-column'), '300px');
  });

  test('the one prompt box sends to the comparison, and is busy while any column runs', async () => {
    const { el, model, chats } = await mountCompare(['a', 'b']);
    const bar = q(el, 'compare-bar');
    const textarea = /** @type {HTMLTextAreaElement} */ (q(bar, 'prompt'));
    textarea.value = 'compare this';
    /** @type {HTMLButtonElement} */ (q(bar, 'send')).click();
    assert.deepEqual(model.sent, [{ type: 'send', prompt: 'compare this' }]);
    const stop = /** @type {HTMLButtonElement} */ (q(bar, 'stop'));
    assert.equal(stop.disabled, true);
    chats['anywidget:chat1'].set('status', 'generating');
    assert.equal(stop.disabled, false);
    assert.equal(q(el, 'compare').dataset.status, 'running');
    stop.click();
    assert.deepEqual(model.sent.at(-1), { type: 'stop' });
    chats['anywidget:chat1'].set('status', 'error');
    assert.equal(stop.disabled, true, 'no column runs: nothing to stop');
    assert.equal(q(el, 'compare').dataset.status, 'idle');
  });

  test('metrics show under their column when the kernel sets them', async () => {
    const { el, model } = await mountCompare(['a', 'b']);
    const lines = () => [...el.querySelectorAll('[data-nbstream=compare-metrics]')].map((m) => /** @type {HTMLElement} */ (m));
    assert.deepEqual(lines().map((m) => m.hidden), [true, true]);
    const columns = columnsOf(model.proxy()).map((c) => ({ ...c }));
    columns[1].metrics = '12 ms to first token · 3 in / 8 out';
    model.set('columns', columns);
    assert.deepEqual(lines().map((m) => m.hidden), [true, false]);
    assert.equal(lines()[1].textContent, '12 ms to first token · 3 in / 8 out');
  });

  test('a column that cannot be shown says so; the others work', async () => {
    const { el } = await mountCompare(['ok', 'broken'], { broken: new Set(['anywidget:chat1']) });
    const columns = [...el.querySelectorAll('[data-nbstream=compare-column]')];
    assert.ok(columns[0].querySelector('.nbstream'));
    assert.match(q(columns[1], 'compare-error').textContent ?? '', /could not be shown: no widget anywidget:chat1/);
  });

  test('without widget composition (anywidget < 0.11) every column says how to get it', async () => {
    const { el } = await mountCompare(['a'], { host: undefined });
    assert.equal(q(el, 'compare-error').textContent, NO_HOST);
    assert.equal(/** @type {HTMLTextAreaElement} */ (q(el, 'prompt')).disabled, true);
  });

  test('malformed columns are ignored; anyRunning reads statuses', () => {
    const model = new FakeModel({ columns: [null, 3, { label: 'x' }, { chat: 'anywidget:1', label: 'y' }] });
    assert.deepEqual(columnsOf(model.proxy()).map((c) => c.label), ['y']);
    assert.equal(anyRunning(['done', 'awaiting_approval']), true);
    assert.equal(anyRunning(['done', 'error', 'idle']), false);
  });

  test('the cleanup removes the view and its listeners', async () => {
    const { el, model } = await mountCompare(['a']);
    const before = model.listenerCount();
    assert.ok(before >= 2);
    cleanups.pop()?.();
    assert.equal(model.listenerCount(), 0);
    assert.equal(el.querySelector('[data-nbstream=compare]'), null);
  });
});
