import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ChatStore, TICK_MS } from '../src/store.js';
import { FakeModel } from './helpers.js';
import { PageModel } from './page_model.js';

const turn1 = [
  { type: 'user_prompt', text: 'one' },
  { type: 'text_delta', text: 'first answer' },
  { type: 'turn_finished', reason: 'done', steps: 1, message: null },
];
const turn2Live = [
  { type: 'user_prompt', text: 'two' },
  { type: 'text_delta', text: 'second ' },
  { type: 'text_delta', text: 'answer' },
];
const turn2Committed = [
  { type: 'user_prompt', text: 'two' },
  { type: 'text_delta', text: 'second answer' },
  { type: 'turn_finished', reason: 'done', steps: 1, message: null },
];

/** A listener that records what the store told it. */
function recorder() {
  /** @type {any[]} */
  const calls = [];
  return {
    calls,
    changes: (/** @type {any} */ state, /** @type {any[]} */ changes) => calls.push(['changes', state, changes]),
    replaceLive: (/** @type {any} */ old, /** @type {any[]} */ added) => calls.push(['replaceLive', old, added]),
    reset: () => calls.push(['reset']),
    tick: (/** @type {number} */ now) => calls.push(['tick', now]),
  };
}

/** @param {import('../src/reducer.js').ChatState} state */
const texts = (state) => state.items.map((i) => i.text);

describe('ChatStore', () => {
  test('replays the transcript, then applies live events to the live segment', () => {
    const model = new FakeModel({ transcript: turn1 });
    const store = new ChatStore(model.proxy());
    const stop = store.start();
    assert.equal(store.segments.length, 1);
    assert.deepEqual(texts(store.segments[0]), ['one', 'first answer']);
    const listener = recorder();
    store.subscribe(listener);
    model.receive({ type: 'events', events: turn2Live });
    assert.deepEqual(texts(store.live), ['two', 'second answer']);
    assert.equal(listener.calls.filter(([kind]) => kind === 'changes').length, 3);
    stop();
    assert.equal(model.listenerCount(), 0, 'cleanup removes every model listener');
  });

  test('a committed turn replaces only the live segment', () => {
    const model = new FakeModel({ transcript: turn1 });
    const store = new ChatStore(model.proxy());
    store.start();
    const listener = recorder();
    store.subscribe(listener);
    model.receive({ type: 'events', events: turn2Live });
    const live = store.live;
    const first = store.segments[0];
    model.set('transcript', [...turn1, ...turn2Committed]);
    assert.equal(store.segments.length, 2);
    assert.equal(store.segments[0], first, 'earlier turns are kept as they are');
    assert.deepEqual(texts(store.segments[1]), ['two', 'second answer']);
    assert.equal(store.live.items.length, 0);
    const [kind, old, added] = listener.calls.at(-1);
    assert.equal(kind, 'replaceLive');
    assert.equal(old, live);
    assert.deepEqual(added, [store.segments[1]]);
  });

  test('a transcript that is not an extension of the old one rebuilds everything', () => {
    const model = new FakeModel({ transcript: turn1 });
    const store = new ChatStore(model.proxy());
    store.start();
    const listener = recorder();
    store.subscribe(listener);
    model.set('transcript', turn2Committed);
    assert.deepEqual(listener.calls, [['reset']]);
    assert.deepEqual(texts(store.segments[0]), ['two', 'second answer']);
  });

  test('cleared empties everything', () => {
    const model = new FakeModel({ transcript: turn1 });
    const store = new ChatStore(model.proxy());
    store.start();
    model.receive({ type: 'events', events: turn2Live });
    model.receive({ type: 'cleared' });
    model.set('transcript', []);
    assert.equal(store.segments.length, 0);
    assert.equal(store.live.items.length, 0);
  });

  test('the "live" answer to ready catches a new store up once; stale or repeated answers are ignored', () => {
    const model = new FakeModel({ transcript: turn1 });
    const store = new ChatStore(model.proxy());
    store.start();
    // Events sent before the answer (between initialize and ready) are part of the snapshot.
    model.receive({ type: 'events', events: turn2Live.slice(0, 2) });
    model.receive({ type: 'live', transcript_length: 0, events: [{ type: 'text_delta', text: 'stale' }] });
    assert.deepEqual(texts(store.live), ['two', 'second ']);
    model.receive({ type: 'live', transcript_length: turn1.length, events: turn2Live.slice(0, 2) });
    assert.deepEqual(texts(store.live), ['two', 'second ']);
    model.receive({ type: 'events', events: turn2Live.slice(2) });
    // A second view's ready brings the same snapshot again: the store is complete already.
    model.receive({ type: 'live', transcript_length: turn1.length, events: turn2Live });
    assert.deepEqual(texts(store.live), ['two', 'second answer']);
  });

  test('says attach once it listens, so the kernel commits turns as messages', () => {
    const model = new FakeModel();
    const store = new ChatStore(model.proxy());
    assert.deepEqual(model.sent, []);
    store.start();
    assert.deepEqual(model.sent, [{ type: 'attach' }]);
  });

  test('a commit appends the turn to the model value in this page and replaces only the live segment', () => {
    const model = new PageModel({ transcript: turn1 });
    const store = new ChatStore(model.proxy());
    store.start();
    const listener = recorder();
    store.subscribe(listener);
    model.receive({ type: 'events', events: turn2Live });
    const live = store.live;
    const first = store.segments[0];
    const before = model.traits.transcript;
    model.receive({ type: 'commit', transcript_length: turn1.length, events: turn2Committed });
    // The value JupyterLab saves and a new view starts from: the whole transcript, set here, never sent.
    assert.deepEqual(model.traits.transcript, [...turn1, ...turn2Committed]);
    assert.equal(model.pageSets.length, 1);
    assert.deepEqual(model.sent, [{ type: 'attach' }]);
    assert.equal(store.committed, model.traits.transcript);
    assert.deepEqual(before, turn1, 'the old value is not mutated');
    assert.equal(store.segments.length, 2);
    assert.equal(store.segments[0], first, 'earlier turns are kept as they are');
    assert.deepEqual(texts(store.segments[1]), ['two', 'second answer']);
    assert.equal(store.live.items.length, 0);
    assert.deepEqual(listener.calls.filter(([kind]) => kind !== 'changes').map(([kind]) => kind), ['replaceLive']);
    const [, old, added] = listener.calls.at(-1);
    assert.equal(old, live);
    assert.deepEqual(added, [store.segments[1]]);
  });

  test('a commit already applied is ignored; one that skips a commit asks for the whole transcript', () => {
    const model = new PageModel({ transcript: turn1 });
    const store = new ChatStore(model.proxy());
    store.start();
    model.receive({ type: 'commit', transcript_length: turn1.length, events: turn2Committed });
    model.receive({ type: 'commit', transcript_length: turn1.length, events: turn2Committed });
    model.receive({ type: 'commit', transcript_length: 0, events: turn1 });
    assert.equal(store.segments.length, 2);
    assert.equal(model.pageSets.length, 1);
    model.receive({ type: 'commit', transcript_length: 99, events: turn1 });
    assert.deepEqual(model.sent.at(-1), { type: 'sync' });
    assert.equal(store.segments.length, 2);
    // The kernel answers with the whole transcript, sent as the trait: it extends what the store has.
    const whole = [...turn1, ...turn2Committed, ...turn1];
    model.set('transcript', whole);
    assert.equal(store.committed, whole);
    assert.equal(store.segments.length, 3);
    model.receive({ type: 'commit', transcript_length: 'x', events: turn1 });
    model.receive({ type: 'commit' });
    assert.equal(store.segments.length, 3);
  });

  test('a "live" answer ahead of the store fetches the missed commits, then asks again', () => {
    const model = new PageModel({ transcript: turn1 });
    const store = new ChatStore(model.proxy());
    store.start();
    model.receive({ type: 'live', transcript_length: turn1.length + turn2Committed.length, events: [] });
    assert.deepEqual(model.sent.slice(1), [{ type: 'sync' }, { type: 'ready' }]);
    assert.equal(store.synced, false);
    model.set('transcript', [...turn1, ...turn2Committed]);
    model.receive({ type: 'live', transcript_length: turn1.length + turn2Committed.length, events: turn2Live });
    assert.equal(store.synced, true);
    assert.deepEqual(texts(store.live), ['two', 'second answer']);
    assert.equal(store.segments.length, 2);
  });

  test('malformed messages and traits are ignored', () => {
    const model = new FakeModel({ transcript: 'nope' });
    const store = new ChatStore(model.proxy());
    store.start();
    for (const message of [null, 3, 'x', {}, { type: 'events' }, { type: 'events', events: 'x' }, { type: 'live' }]) {
      model.receive(message);
    }
    assert.equal(store.segments.length, 0);
    assert.equal(store.live.items.length, 0);
  });

  test('one ticker for the whole widget, only while a tool runs and someone watches', (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    let now = 1_000_000;
    const model = new FakeModel();
    const store = new ChatStore(model.proxy(), { now: () => now });
    store.start();
    const a = recorder();
    const b = recorder();
    const unsubscribeA = store.subscribe(a);
    store.subscribe(b);
    model.receive({ type: 'events', events: [
      { type: 'tool_call_started', id: 'c', name: 'slow', position: 0 },
      { type: 'tool_running', id: 'c', name: 'slow', started_at: now / 1000 },
    ] });
    now += 250;
    t.mock.timers.tick(TICK_MS * 2.5);
    const ticks = (/** @type {any} */ r) => r.calls.filter((/** @type {any[]} */ c) => c[0] === 'tick').length;
    assert.equal(ticks(a), 2);
    assert.equal(ticks(b), 2);
    unsubscribeA();
    model.receive({ type: 'events', events: [{ type: 'tool_result', id: 'c', name: 'slow', output: '1', duration: 0.3 }] });
    assert.equal(store.ticker, null, 'stopped when nothing runs');
    t.mock.timers.tick(TICK_MS * 5);
    assert.equal(ticks(b), 2);
  });
});

describe('ChatStore: the end of a turn', () => {
  test('a complete live turn becomes the committed segment itself: views keep their DOM', () => {
    const model = new PageModel({ transcript: turn1 });
    const store = new ChatStore(model.proxy());
    store.start();
    const listener = recorder();
    store.subscribe(listener);
    model.receive({ type: 'live', transcript_length: turn1.length, events: [] }); // the answer to "ready"
    model.receive({ type: 'events', events: turn2Live });
    const live = store.live;
    model.receive({ type: 'commit', transcript_length: turn1.length, events: turn2Committed });
    assert.equal(store.segments[1], live, 'the same state, not rebuilt from the committed events');
    const [kind, old, added] = listener.calls.at(-1);
    assert.deepEqual([kind, old, added], ['replaceLive', live, [live]]);
    assert.deepEqual(model.traits.transcript, [...turn1, ...turn2Committed], 'still saved whole');
  });

  test('a live turn not known complete (no "live" answer yet) is rebuilt from the commit', () => {
    const model = new PageModel({ transcript: turn1 });
    const store = new ChatStore(model.proxy());
    store.start();
    model.receive({ type: 'events', events: turn2Live.slice(1) }); // joined mid-turn: the prompt was missed
    const live = store.live;
    model.receive({ type: 'commit', transcript_length: turn1.length, events: turn2Committed });
    assert.notEqual(store.segments[1], live);
    assert.deepEqual(texts(store.segments[1]), ['two', 'second answer']);
  });
});
