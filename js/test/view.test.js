// The view's lifecycle: what it shows once the kernel behind it is gone (a restart, a dead kernel).
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';

import { FakeModel, mount, q, settle, unmountAll } from './helpers.js';
import { PageModel } from './page_model.js';

afterEach(unmountAll);

/**
 * What ipywidgets does when the widget manager drops the kernel's comms (kernel restarting or dead):
 * `model.comm_live = false`, which triggers `comm_live_update` with no arguments.
 * @param {FakeModel} model
 */
function loseKernel(model) {
  for (const cb of [...(model.handlers.get('comm_live_update') ?? [])]) cb();
}

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

/** @param {ParentNode} el @param {string} hook */
const qa = (el, hook) => /** @type {HTMLElement[]} */ ([...el.querySelectorAll(`[data-nbstream="${hook}"]`)]);

/** @param {string} id @param {string} name @param {object} args */
function call(id, name, args) {
  const raw = JSON.stringify(args);
  return [
    { type: 'tool_call_started', id, name, position: 0 },
    { type: 'tool_arguments_delta', id, fragment: raw.slice(0, 5) },
    { type: 'tool_arguments_delta', id, fragment: raw.slice(5) },
    { type: 'tool_call_ready', id, name, position: 0, arguments: args, raw_arguments: raw, error: null },
  ];
}

const LONG = Array.from({ length: 60 }, (_, i) => `row ${i}`).join('\n');

/** One turn: text, a call that prints and returns a long result, more text, a call that raises. */
const TURN = [
  { type: 'user_prompt', text: 'check the weather' },
  { type: 'step_started', step: 1 },
  { type: 'text_delta', text: 'Let me check.' },
  ...call('c1', 'weather', { city: 'Oslo', note: 'line one\nline two' }),
  { type: 'tool_running', id: 'c1', name: 'weather', started_at: Date.now() / 1000 - 2 },
  { type: 'text_delta', text: 'Meanwhile, some more text.' },
  { type: 'tool_output', id: 'c1', name: 'weather', stream: 'stdout', text: 'fetching\n' },
  { type: 'tool_result', id: 'c1', name: 'weather', output: LONG, duration: 2.1 },
  ...call('c2', 'boom', {}),
  { type: 'tool_error', id: 'c2', name: 'boom', kind: 'exception', message: 'ValueError: nope\n  File "x.py", line 1' },
  { type: 'message_finished', stop_reason: 'tool_calls' },
  { type: 'step_started', step: 2 },
  { type: 'text_delta', text: 'It is **sunny**.' },
];
const END = { type: 'turn_finished', reason: 'done', steps: 2, message: null };

describe('one column, turn by turn', () => {
  test('each tool card sits where its call was made, with arguments, output and result or error', async () => {
    const model = new FakeModel();
    const { els } = mount(model);
    const el = els[0];
    model.receive({ type: 'events', events: [...TURN, END] });
    await settle();
    const [turn] = qa(el, 'turn');
    assert.ok(q(el, 'text').contains(turn));
    const flow = [...turn.querySelectorAll('[data-nbstream=assistant], [data-nbstream=tool]')].map(
      (node) => /** @type {HTMLElement} */ (node).dataset.toolName ?? node.textContent?.trim(),
    );
    assert.deepEqual(flow, ['Let me check.', 'weather', 'Meanwhile, some more text.', 'boom', 'It is sunny.']);
    assert.equal(q(turn, 'user').textContent, 'check the weather');

    const [weather, boom] = qa(el, 'tool');
    assert.equal(q(weather, 'tool-args').textContent, 'city: "Oslo"\nnote:\n  line one\n  line two');
    assert.equal(q(weather, 'tool-output').textContent, 'fetching\n');
    const result = q(weather, 'result');
    assert.equal(result.dataset.collapsed, 'true', 'a long result is collapsed');
    q(result, 'expand').click();
    assert.equal(result.querySelector('pre')?.textContent, LONG);

    assert.equal(boom.dataset.state, 'error');
    assert.equal(q(boom, 'tool-args').hidden, true, 'no arguments, no box');
    const error = q(boom, 'tool-error');
    assert.equal(error.dataset.kind, 'exception');
    assert.equal(error.firstElementChild?.textContent, 'ValueError: nope', 'the first line is shown');
    const details = q(error, 'error-details');
    assert.equal(details.hidden, true, 'the rest is behind a toggle');
    q(error, 'error-toggle').click();
    assert.equal(details.hidden, false);
    assert.match(details.textContent ?? '', /File "x.py"/);

    assert.equal(q(turn, 'activity-summary').textContent, '2 tools · 2.1s · 1 failed');
  });

  test('a running tool shows "working…" with its timer in the activity line', () => {
    const model = new FakeModel({ status: 'generating' });
    const { els } = mount(model);
    model.receive({ type: 'events', events: TURN.slice(0, 9) });
    const activity = q(els[0], 'activity');
    assert.equal(activity.dataset.state, 'working');
    assert.match(q(activity, 'activity-summary').textContent ?? '', /^working… · weather \d+\.\ds$/);
  });

  test('denied and stopped calls are user decisions: their own states, not errors', () => {
    const model = new FakeModel();
    const { els } = mount(model);
    model.receive({ type: 'events', events: [
      ...call('a', 'delete', { path: 'a' }),
      { type: 'tool_awaiting_approval', id: 'a', name: 'delete', arguments: { path: 'a' } },
      { type: 'tool_error', id: 'a', name: 'delete', kind: 'denied', message: 'denied by the user' },
      ...call('b', 'slow', {}),
      { type: 'tool_running', id: 'b', name: 'slow', started_at: Date.now() / 1000 },
      { type: 'turn_finished', reason: 'cancelled', steps: 1, message: null },
    ] });
    const [denied, stopped] = qa(els[0], 'tool');
    assert.deepEqual([denied.dataset.state, stopped.dataset.state], ['denied', 'cancelled']);
    assert.deepEqual([denied, stopped].map((card) => card.querySelector('.nbs-badge')?.textContent), ['denied', 'stopped']);
    assert.equal(q(denied, 'tool-error').dataset.kind, 'denied');
    assert.equal(q(els[0], 'activity-summary').textContent, '2 tools', 'no failure counted');
  });
});

describe('quiet mode', () => {
  test('cards fold into the turn\'s activity panel; the text shows as it streams; the mode switches live', async () => {
    const model = new FakeModel({ view: 'quiet', status: 'generating' });
    const { els } = mount(model);
    const el = els[0];
    assert.equal(root(el).dataset.view, 'quiet');
    model.receive({ type: 'events', events: TURN.slice(0, 9) });
    await settle();
    const card = q(el, 'tool');
    const panel = q(el, 'activity-panel');
    const summary = q(el, 'activity-summary');
    assert.ok(panel.contains(card), 'the card is in the panel');
    assert.equal(panel.hidden, true, 'folded');
    assert.match(summary.textContent ?? '', /^working… · weather/);
    assert.match(q(el, 'text').textContent ?? '', /Meanwhile, some more text\./);
    summary.click();
    assert.equal(panel.hidden, false);
    assert.equal(summary.getAttribute('aria-expanded'), 'true');
    model.set('view', 'detailed');
    assert.equal(root(el).dataset.view, 'detailed');
    assert.equal(q(el, 'tool'), card, 'the same card, moved');
    assert.equal(panel.contains(card), false);
    assert.equal(card.previousElementSibling?.dataset.nbstream, undefined, 'after its slot in the flow');
  });

  test('a call that needs approval opens the panel', () => {
    const model = new FakeModel({ view: 'quiet' });
    const { els } = mount(model);
    model.receive({ type: 'events', events: [
      ...call('a', 'delete', { path: 'a' }),
      { type: 'tool_awaiting_approval', id: 'a', name: 'delete', arguments: { path: 'a' } },
    ] });
    assert.equal(q(els[0], 'activity-panel').hidden, false);
    assert.ok(q(els[0], 'approve'));
    model.receive({ type: 'events', events: [{ type: 'tool_running', id: 'a', name: 'delete', started_at: 0 }] });
    assert.equal(q(els[0], 'activity-panel').hidden, true, 'folded again once answered');
  });
});

describe('the end of a turn', () => {
  test('changes nothing on screen: same nodes, the reply rendered once, an expanded result stays expanded', async () => {
    const model = new PageModel();
    const { els } = mount(model);
    const el = els[0];
    model.receive({ type: 'live', transcript_length: 0, events: [] }); // the answer to "ready"
    model.receive({ type: 'events', events: TURN });
    await settle();
    const nodes = [...el.querySelectorAll('[data-nbstream]')];
    const strong = el.querySelector('strong');
    const result = q(el, 'result');
    q(result, 'expand').click();
    model.receive({ type: 'events', events: [END] });
    model.receive({ type: 'commit', transcript_length: 0, events: [...TURN, END] });
    await settle();
    assert.equal(el.querySelector('strong'), strong, 'the reply was not rendered again');
    assert.equal(q(el, 'result'), result);
    assert.equal(result.dataset.collapsed, 'false', 'still expanded');
    for (const node of nodes) assert.ok(el.contains(node), `${/** @type {HTMLElement} */ (node).dataset.nbstream} kept`);
    assert.equal(qa(el, 'turn').length, 1);
    assert.equal(/** @type {any[]} */ (model.traits.transcript).length, TURN.length + 1);
  });
});

describe('the turn footer', () => {
  test("shows the turn's metrics under it as quiet text, the tooltip saying where the cost came from", async () => {
    const model = new FakeModel();
    const { els } = mount(model);
    const el = els[0];
    const html = '<img src=x onerror="window.pwned=1">';
    const footer = `3.2 s · 1.1 s to first token · 812 in / 230 out · tools 2.1 s, 2.0 s overlapped · ${html}`;
    const title = `OpenAI price of gpt-4.1-mini\nThis chat so far: 1 turn, 3.2 s · ${html}`;
    model.receive({ type: 'events', events: [...TURN, { ...END, footer, footer_title: title }] });
    model.receive({ type: 'events', events: [{ type: 'user_prompt', text: 'again' }, END] });
    await settle();
    const footers = qa(el, 'turn-metrics');
    assert.equal(footers.length, 1, 'a turn without metrics has no footer');
    assert.deepEqual([footers[0].textContent, footers[0].title], [footer, title]);
    assert.equal(footers[0].closest('[data-nbstream="turn"]'), qa(el, 'turn')[0], 'under its own turn');
    assert.equal(el.querySelector('img, [onerror]'), null, 'text, never markup');
  });
});

describe('hostile text in the new places', () => {
  test('card names, arguments, printed output, errors and folded prompts are text', async () => {
    const model = new FakeModel();
    const { els } = mount(model);
    const html = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>';
    model.receive({ type: 'events', events: [
      { type: 'user_prompt', text: `${html}\n`.repeat(40) },
      ...call('a', html, { payload: `${html}\n${html}`, [html]: html }),
      { type: 'tool_output', id: 'a', name: html, stream: 'stderr', text: html },
      { type: 'tool_error', id: 'a', name: html, kind: 'exception', message: `${html}\n${html}` },
    ] });
    await settle();
    const el = els[0];
    for (const toggle of el.querySelectorAll('button')) if (!toggle.dataset.nbstream?.match(/send|stop/)) toggle.click();
    assert.equal(el.querySelector('img, script, [onerror]'), null);
    for (const hook of ['user', 'tool-args', 'tool-output', 'tool-error']) {
      assert.ok((q(el, hook).textContent ?? '').includes(html), hook);
    }
    assert.equal(q(el, 'tool').dataset.toolName, html);
  });
});

describe('work per frame', () => {
  test('finished blocks go into contained groups: the reply element has few children however long it is', async () => {
    const { longReply } = await import('./replies.js');
    const model = new FakeModel();
    const { els } = mount(model);
    const text = longReply(60_000);
    for (let at = 0; at < text.length; at += 4000) {
      model.receive({ type: 'events', events: [{ type: 'text_delta', text: text.slice(at, at + 4000) }] });
      await settle(5);
    }
    const frozen = /** @type {HTMLElement} */ (q(els[0], 'assistant').firstElementChild);
    // Rendering is spread over frames within a budget: let it drain.
    for (let i = 0; i < 500 && frozen.querySelectorAll('.nbs-done').length <= 200; i += 1) await settle();
    const blocks = frozen.querySelectorAll('.nbs-done').length;
    assert.ok(blocks > 200, `${blocks} finished blocks`);
    assert.ok(frozen.childElementCount <= Math.ceil(blocks / 24), `${frozen.childElementCount} direct children`);
  });
});
