// The model's reasoning: a section per step above its text, open while it streams, folded to "Thought for 4.2 s"
// once the text or a call starts; a folded or hidden section renders nothing; the reader's click wins.
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';

import { apply, createState } from '../src/reducer.js';
import { thoughtFor } from '../src/reasoning_view.js';
import { FakeModel, mount, q, settle, unmountAll } from './helpers.js';

afterEach(unmountAll);

const NOW = 1_700_000_000_000;

/** @param {ParentNode} el @param {string} hook */
const qa = (el, hook) => /** @type {HTMLElement[]} */ ([...el.querySelectorAll(`[data-nbstream="${hook}"]`)]);

/** @param {any[]} events @param {(i: number) => number} [clock] */
function run(events, clock = () => NOW) {
  const state = createState();
  /** @type {any[]} */
  const changes = [];
  events.forEach((event, i) => changes.push(...apply(state, event, clock(i))));
  return { state, changes };
}

const THINK = [
  { type: 'user_prompt', text: 'why?' },
  { type: 'step_started', step: 1 },
  { type: 'reasoning_delta', text: 'Let me **think**' },
  { type: 'reasoning_delta', text: ' about it.' },
];
const ANSWER = [
  { type: 'reasoning_done', duration: 4.2 },
  { type: 'text_delta', text: 'Because.' },
  { type: 'message_finished', stop_reason: 'stop' },
];

describe('reasoning in the reducer', () => {
  test("a step's reasoning is one item above its text; the kernel's duration ends it", () => {
    const { state, changes } = run([...THINK, ...ANSWER]);
    assert.deepEqual(state.items.map((i) => i.kind), ['user', 'reasoning', 'assistant']);
    const [, reasoning, answer] = /** @type {any[]} */ (state.items);
    assert.equal(reasoning.text, 'Let me **think** about it.');
    assert.equal(reasoning.done, true);
    assert.equal(reasoning.duration, 4.2);
    assert.equal(answer.text, 'Because.');
    assert.deepEqual(changes.map((c) => c.type), ['item', 'item', 'text', 'text', 'reasoning-done', 'item', 'text']);
  });

  test('text, a call or the end of the step ends it; without the kernel\'s duration it is measured', () => {
    for (const end of [
      { type: 'text_delta', text: 'x' },
      { type: 'tool_call_started', id: 'c', name: 't', position: 0 },
      { type: 'message_finished', stop_reason: 'stop' },
      { type: 'step_started', step: 2 },
      { type: 'stream_error', kind: 'interrupted', message: 'dropped' },
      { type: 'turn_finished', reason: 'cancelled', steps: 1 },
    ]) {
      const { state } = run([...THINK, end], (i) => NOW + i * 1000); // the end comes 2 s after the first delta
      const reasoning = /** @type {any} */ (state.items[1]);
      assert.equal(reasoning.done, true, end.type);
      assert.equal(reasoning.duration, 2, end.type);
      assert.equal(state.reasoning, null);
    }
  });

  test('each step has its own section; text before reasoning stays its own segment', () => {
    const { state } = run([
      ...THINK, ...ANSWER,
      { type: 'step_started', step: 2 },
      { type: 'reasoning_delta', text: 'Again.' },
      { type: 'reasoning_done', duration: 1 },
      { type: 'tool_call_started', id: 'c1', name: 'look', position: 0 },
    ]);
    assert.deepEqual(state.items.map((i) => i.kind), ['user', 'reasoning', 'assistant', 'reasoning', 'call']);
  });

  test('a compacted transcript replays to the same sections as the live events', () => {
    const live = run([...THINK, ...ANSWER]).state;
    const stored = run([
      THINK[0], THINK[1], { type: 'reasoning_delta', text: 'Let me **think** about it.' }, ...ANSWER,
    ]).state;
    const view = (/** @type {any} */ s) => s.items.map(({ kind, text, done, duration }) => ({ kind, text, done, duration }));
    assert.deepEqual(view(stored), view(live));
  });

  test('labels', () => {
    assert.equal(thoughtFor(4.2), 'Thought for 4.2 s');
    assert.equal(thoughtFor(0.04), 'Thought for 0.0 s');
    assert.equal(thoughtFor(125), 'Thought for 2m 05s');
    assert.equal(thoughtFor(null), 'Thought');
  });
});

/** @param {HTMLElement} el */
const section = (el) => q(el, 'reasoning');

describe('the reasoning section', () => {
  test('streams open, folds with its duration when the answer starts; the reader can open and close it', async () => {
    const model = new FakeModel({ status: 'generating' });
    const { el } = mount(model);
    model.receive({ type: 'events', events: THINK });
    await settle();
    const box = section(el);
    const toggle = q(box, 'reasoning-toggle');
    assert.equal(box.dataset.state, 'streaming');
    assert.equal(box.dataset.open, 'true');
    assert.equal(toggle.textContent, 'Thinking…');
    assert.equal(q(box, 'reasoning-body').hidden, false);
    assert.equal(q(box, 'reasoning-text').querySelector('strong')?.textContent, 'think', 'markdown, sanitized');
    const turn = q(el, 'turn');
    assert.equal(turn.querySelector('[data-nbstream=reasoning], [data-nbstream=assistant]'), box, 'above the text');

    model.receive({ type: 'events', events: ANSWER });
    await settle();
    assert.equal(box.dataset.state, 'done');
    assert.equal(box.dataset.open, 'false');
    assert.equal(toggle.textContent, 'Thought for 4.2 s');
    assert.equal(toggle.getAttribute('aria-expanded'), 'false');
    assert.equal(q(box, 'reasoning-body').hidden, true);
    assert.equal(q(el, 'assistant').textContent?.trim(), 'Because.', 'the answer is not in the reasoning');

    toggle.click();
    assert.equal(box.dataset.open, 'true');
    assert.equal(q(box, 'reasoning-body').hidden, false);
    toggle.click();
    assert.equal(box.dataset.open, 'false');
  });

  test('a folded section renders nothing per frame; its text is rendered when it is opened', async () => {
    const model = new FakeModel({ status: 'generating' });
    const { el } = mount(model);
    model.receive({ type: 'events', events: THINK.slice(0, 3) });
    await settle();
    const box = section(el);
    q(box, 'reasoning-toggle').click(); // the reader folds it while it streams
    const text = q(box, 'reasoning-text');
    const rendered = text.innerHTML;
    for (let i = 0; i < 50; i += 1) {
      model.receive({ type: 'events', events: [{ type: 'reasoning_delta', text: `\n\nparagraph ${i}` }] });
      await settle(2);
    }
    await settle();
    assert.equal(text.innerHTML, rendered, 'nothing rendered while folded');
    model.receive({ type: 'events', events: ANSWER });
    await settle();
    assert.equal(box.dataset.open, 'false', 'the reader\'s choice stays');
    q(box, 'reasoning-toggle').click();
    // Rendered within the per-frame budget, over a few frames.
    for (let i = 0; i < 200 && !/paragraph 49/.test(text.textContent ?? ''); i += 1) await settle(10);
    assert.match(text.textContent ?? '', /paragraph 0\s+paragraph 1\b[\s\S]*paragraph 49/, 'rendered once opened');
  });

  test('quiet mode shows it folded; show_reasoning=false hides it and renders none; both switch live', async () => {
    const model = new FakeModel({ view: 'quiet', status: 'generating' });
    const { el } = mount(model);
    model.receive({ type: 'events', events: THINK });
    await settle();
    const box = section(el);
    assert.equal(box.dataset.open, 'false', 'folded in quiet mode, even while it streams');
    assert.equal(q(box, 'reasoning-text').textContent, '', 'nothing rendered while folded');
    model.set('view', 'detailed');
    await settle();
    assert.equal(box.dataset.open, 'true');
    assert.match(q(box, 'reasoning-text').textContent ?? '', /about it/);

    model.set('show_reasoning', false);
    const root = /** @type {HTMLElement} */ (el.querySelector('.nbstream'));
    assert.equal(root.dataset.reasoning, 'hidden');
    assert.equal(box.dataset.open, 'false');
    model.receive({ type: 'events', events: [{ type: 'reasoning_delta', text: ' More hidden text.' }] });
    await settle();
    assert.doesNotMatch(q(box, 'reasoning-text').textContent ?? '', /More hidden/, 'not rendered while hidden');
    model.set('show_reasoning', true);
    await settle();
    assert.match(q(box, 'reasoning-text').textContent ?? '', /More hidden text/);
  });

  test('a reloaded view shows finished sections folded with their duration, text rendered on demand', async () => {
    const model = new FakeModel({ transcript: [...THINK, ...ANSWER, { type: 'turn_finished', reason: 'done', steps: 1 }] });
    const { el } = mount(model);
    await settle();
    const box = section(el);
    assert.equal(box.dataset.open, 'false');
    assert.equal(q(box, 'reasoning-toggle').textContent, 'Thought for 4.2 s');
    assert.equal(q(box, 'reasoning-text').textContent, '', 'nothing rendered folded');
    q(box, 'reasoning-toggle').click();
    await settle();
    assert.match(q(box, 'reasoning-text').textContent ?? '', /Let me think about it\./);
    assert.equal(qa(el, 'reasoning').length, 1);
  });

  test('hostile reasoning is sanitized like the answer', async () => {
    const model = new FakeModel();
    const { el } = mount(model);
    model.receive({ type: 'events', events: [
      { type: 'reasoning_delta', text: '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script> [x](javascript:alert(1))' },
    ] });
    await settle();
    const text = q(el, 'reasoning-text');
    assert.equal(text.querySelector('img, script, [onerror]'), null);
    assert.equal(text.querySelector('a')?.hasAttribute('href'), false);
    assert.match(text.textContent ?? '', /<img src=x/);
  });
});
