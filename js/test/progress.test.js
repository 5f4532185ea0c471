// Live tool progress: the newest message and a bar in the tool's card (indeterminate without a fraction), kept
// as the card's final state after the result.
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';

import { apply, createState } from '../src/reducer.js';
import { FakeModel, mount, q, settle, unmountAll } from './helpers.js';

afterEach(unmountAll);

const RUNNING = [
  { type: 'tool_call_started', id: 'd1', name: 'download', position: 0 },
  { type: 'tool_call_ready', id: 'd1', name: 'download', position: 0, arguments: {}, raw_arguments: '{}', error: null },
  { type: 'tool_running', id: 'd1', name: 'download', started_at: Date.now() / 1000 },
];
/** @param {string | null} message @param {number | null} fraction */
const progress = (message, fraction) => ({ type: 'tool_progress', id: 'd1', name: 'download', message, fraction });

describe('progress in the reducer', () => {
  test('the newest update wins; a missing message keeps the one before; fractions are clamped', () => {
    const state = createState();
    for (const event of RUNNING) apply(state, event, 0);
    const changes = apply(state, progress('Downloading', 0.25), 0);
    assert.deepEqual(changes.map((c) => c.type), ['progress']);
    const call = state.calls.get('d1');
    const first = call?.progress;
    assert.deepEqual(first, { message: 'Downloading', fraction: 0.25 });
    apply(state, progress(null, 0.5), 0);
    assert.deepEqual(call?.progress, { message: 'Downloading', fraction: 0.5 });
    assert.notEqual(call?.progress, first, 'a new object per update');
    apply(state, progress('Unpacking', null), 0);
    assert.deepEqual(call?.progress, { message: 'Unpacking', fraction: null }, 'no fraction: indeterminate');
    apply(state, progress(null, 7), 0);
    assert.equal(call?.progress?.fraction, 1);
    apply(state, progress(null, -1), 0);
    assert.equal(call?.progress?.fraction, 0);
    apply(state, { ...progress(null, 'x'), message: 42 }, 0);
    assert.deepEqual(call?.progress, { message: 'Unpacking', fraction: null }, 'malformed fields are ignored');
  });

  test('the compacted transcript (the newest update, with the newest message) replays to the same call', () => {
    const result = { type: 'tool_result', id: 'd1', name: 'download', output: 'ok', duration: 1 };
    const live = [...RUNNING, progress('Downloading', 0.2), progress(null, 0.6), result];
    const compacted = [...RUNNING, progress('Downloading', 0.6), result]; // nbstream/_display.py `compact`
    const call = (/** @type {any[]} */ events) => {
      const state = createState();
      for (const event of events) apply(state, event, 0);
      return state.calls.get('d1');
    };
    assert.deepEqual(call(compacted), call(live));
  });
});

describe('the progress line in the card', () => {
  test('a bar that advances, an indeterminate stripe without a fraction, the final state kept after the result', async () => {
    const model = new FakeModel({ status: 'waiting_tools' });
    const { el } = mount(model);
    model.receive({ type: 'events', events: RUNNING });
    const card = q(el, 'tool');
    const line = q(card, 'tool-progress');
    assert.equal(line.hidden, true, 'nothing before the first update');

    model.receive({ type: 'events', events: [progress('Downloading file 1 of 4', 0.25)] });
    const bar = q(line, 'progress-bar');
    assert.equal(line.hidden, false);
    assert.equal(q(line, 'progress-message').textContent, 'Downloading file 1 of 4');
    assert.equal(bar.getAttribute('role'), 'progressbar');
    assert.equal(bar.getAttribute('aria-valuenow'), '25');
    assert.equal(/** @type {HTMLElement} */ (bar.firstElementChild).style.width, '25%');
    assert.equal(bar.dataset.indeterminate, undefined);

    model.receive({ type: 'events', events: [progress(null, 0.75)] });
    assert.equal(bar.getAttribute('aria-valuenow'), '75');
    assert.equal(q(line, 'progress-message').textContent, 'Downloading file 1 of 4', 'kept');
    assert.equal(q(card, 'tool-progress'), line, 'the same element, updated');

    model.receive({ type: 'events', events: [progress('Checking', null)] });
    assert.equal(bar.dataset.indeterminate, 'true');
    assert.equal(bar.hasAttribute('aria-valuenow'), false);
    assert.equal(q(line, 'progress-message').textContent, 'Checking');

    model.receive({ type: 'events', events: [
      progress('Done', 1),
      { type: 'tool_result', id: 'd1', name: 'download', output: 'ok', duration: 1.5 },
    ] });
    await settle();
    assert.equal(card.dataset.state, 'done');
    assert.equal(q(card, 'tool-progress'), line, 'the final state stays in the card');
    assert.equal(bar.getAttribute('aria-valuenow'), '100');
    assert.equal(q(line, 'progress-message').textContent, 'Done');
    assert.ok(q(card, 'result'));
  });

  test('progress is text: a hostile message is shown, never parsed', () => {
    const model = new FakeModel();
    const { el } = mount(model);
    const html = '<img src=x onerror="window.pwned=1">';
    model.receive({ type: 'events', events: [...RUNNING, progress(html, 0.1)] });
    assert.equal(q(el, 'progress-message').textContent, html);
    assert.equal(el.querySelector('img'), null);
  });
});
