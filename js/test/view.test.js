// The view's lifecycle: what it shows once the kernel behind it is gone (a restart, a dead kernel).
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';

import widget from '../src/widget.js';
import { FakeModel, makeWindow, settle } from './helpers.js';

/** @type {(() => void)[]} */
let cleanups = [];
afterEach(() => {
  for (const cleanup of cleanups.reverse()) cleanup();
  cleanups = [];
});

/**
 * `initialize` once, then `render` per view, each with a new proxy (as anywidget does).
 * @param {FakeModel} model
 * @param {number} [views]
 */
function mount(model, views = 1) {
  const win = makeWindow();
  const stopInit = /** @type {() => void} */ (widget.initialize({ model: model.proxy() }));
  /** @type {HTMLElement[]} */
  const els = [];
  /** @type {(() => void)[]} */
  const stops = [];
  for (let i = 0; i < views; i += 1) {
    const el = win.document.createElement('div');
    win.document.body.append(el);
    stops.push(/** @type {() => void} */ (widget.render({ model: model.proxy(), el })));
    els.push(el);
  }
  const unmount = () => {
    for (const stop of stops.splice(0)) stop();
    stopInit();
  };
  cleanups.push(unmount);
  return { els, unmount };
}

/**
 * What ipywidgets does when the widget manager drops the kernel's comms (kernel restarting or dead):
 * `model.comm_live = false`, which triggers `comm_live_update` with no arguments.
 * @param {FakeModel} model
 */
function loseKernel(model) {
  for (const cb of [...(model.handlers.get('comm_live_update') ?? [])]) cb();
}

/** @param {ParentNode} el @param {string} hook */
const q = (el, hook) => /** @type {HTMLElement} */ (el.querySelector(`[data-nbstream="${hook}"]`));
/** @param {HTMLElement} el */
const root = (el) => /** @type {HTMLElement} */ (el.querySelector('.nbstream'));

/** A turn in progress: text streamed, one tool running for 1.5 s already. */
function midTurn() {
  const model = new FakeModel({ status: 'waiting_tools' });
  const mounted = mount(model);
  model.receive({
    type: 'events',
    events: [
      { type: 'user_prompt', text: 'add 2 and 3' },
      { type: 'text_delta', text: 'Let me add those.' },
      { type: 'tool_call_started', id: 'c1', name: 'slow_sum', position: 0 },
      {
        type: 'tool_call_ready', id: 'c1', name: 'slow_sum', position: 0, arguments: { a: 2, b: 3 },
        raw_arguments: '{"a": 2, "b": 3}', error: null,
      },
      { type: 'tool_running', id: 'c1', name: 'slow_sum', started_at: Date.now() / 1000 - 1.5 },
    ],
  });
  return { model, ...mounted };
}

describe('kernel gone (comm_live_update)', () => {
  test('a running turn freezes: timers stop, controls are disabled, the status says to re-run the cell', async () => {
    const { model, els } = midTurn();
    const el = els[0];
    const timer = q(q(el, 'tool'), 'tool-timer');
    await settle(150);
    assert.equal(root(el).dataset.status, 'waiting_tools');
    assert.equal(/** @type {HTMLButtonElement} */ (q(el, 'stop')).disabled, false);

    loseKernel(model);
    assert.equal(root(el).dataset.status, 'disconnected');
    assert.match(q(el, 'status').textContent ?? '', /Disconnected.*Re-run the cell/);
    for (const hook of ['send', 'stop', 'prompt']) {
      assert.equal(/** @type {HTMLButtonElement} */ (q(el, hook)).disabled, true, `${hook} disabled`);
    }
    const frozen = timer.textContent;
    await settle(350);
    assert.equal(timer.textContent, frozen, 'the tool timer stopped');
    assert.ok(q(el, 'text').textContent?.includes('Let me add those.'), 'what was shown stays');

    q(el, 'stop').click();
    assert.deepEqual(model.sent.filter((m) => m.type === 'stop'), [], 'nothing is sent to a dead kernel');
  });

  test('the send lock and later status changes cannot revive the view', async () => {
    const model = new FakeModel();
    const { els } = mount(model);
    const el = els[0];
    /** @type {HTMLTextAreaElement} */ (q(el, 'prompt')).value = 'hello';
    q(el, 'send').click(); // locks Send until the kernel answers, with a timer
    loseKernel(model);
    model.set('status', 'done');
    await settle(50);
    assert.equal(root(el).dataset.status, 'disconnected');
    assert.equal(/** @type {HTMLButtonElement} */ (q(el, 'send')).disabled, true);
  });

  test('every view of the chat disconnects, and unmounting removes the listener', () => {
    const model = new FakeModel({ status: 'generating' });
    const { els, unmount } = mount(model, 2);
    loseKernel(model);
    for (const el of els) assert.equal(root(el).dataset.status, 'disconnected');
    unmount();
    assert.equal(model.handlers.get('comm_live_update')?.size ?? 0, 0);
  });

  test('a live kernel leaves the view alone', () => {
    const { els } = midTurn();
    assert.notEqual(root(els[0]).dataset.status, 'disconnected');
    assert.equal(/** @type {HTMLButtonElement} */ (q(els[0], 'stop')).disabled, false);
  });
});
