import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';

import widget from '../src/widget.js';
import { FakeModel, makeWindow, mount, q, settle, unmountAll } from './helpers.js';
import { PageModel } from './page_model.js';

afterEach(unmountAll);

/** @param {ParentNode} el @param {string} hook */
const qa = (el, hook) => /** @type {HTMLElement[]} */ ([...el.querySelectorAll(`[data-nbstream="${hook}"]`)]);

const started = { type: 'tool_call_started', id: 'c1', name: 'weather', position: 0 };
const ready = {
  type: 'tool_call_ready', id: 'c1', name: 'weather', position: 0, arguments: { city: 'Oslo' },
  raw_arguments: '{"city": "Oslo"}', error: null,
};

describe('layout and controls', () => {
  test('renders the DOM hooks and says ready', () => {
    const model = new FakeModel({ model_label: 'openai:gpt-4.1-mini' });
    const { el } = mount(model);
    const root = /** @type {HTMLElement} */ (el.querySelector('.nbstream'));
    assert.equal(root.dataset.status, 'idle');
    for (const hook of ['text', 'status', 'prompt', 'send', 'stop']) assert.ok(q(el, hook), hook);
    assert.equal(el.querySelectorAll('[data-nbstream=tools], [data-nbstream=results]').length, 0, 'one column');
    assert.equal(q(el, 'prompt').tagName, 'TEXTAREA');
    assert.match(q(el, 'status').textContent ?? '', /openai:gpt-4\.1-mini/);
    assert.deepEqual(model.sent, [{ type: 'attach' }, { type: 'ready' }]);
  });

  test('Stop is enabled only while a turn runs; Send always (a prompt sent mid-turn is queued)', () => {
    const model = new FakeModel();
    const { el } = mount(model);
    const send = /** @type {HTMLButtonElement} */ (q(el, 'send'));
    const stop = /** @type {HTMLButtonElement} */ (q(el, 'stop'));
    const running = { idle: false, generating: true, waiting_tools: true, awaiting_approval: true, done: false,
      error: false, cancelled: false };
    for (const [status, busy] of Object.entries(running)) {
      model.set('status', status);
      assert.equal(send.disabled, false, `send while ${status}`);
      assert.equal(stop.disabled, !busy, `stop while ${status}`);
      assert.equal(/** @type {HTMLElement} */ (el.querySelector('.nbstream')).dataset.status, status);
    }
  });

  test('status line shows the state and the error message', () => {
    const model = new FakeModel();
    const { el } = mount(model);
    model.set('status_message', 'anthropic: HTTP 401 invalid x-api-key');
    model.set('status', 'error');
    assert.match(q(el, 'status').textContent ?? '', /Error: anthropic: HTTP 401/);
    model.set('status', 'waiting_tools');
    assert.match(q(el, 'status').textContent ?? '', /Waiting for tools/);
  });

  test('Enter sends, Shift+Enter does not, an empty prompt is not sent, Stop sends stop', () => {
    const model = new FakeModel();
    const { el, win } = mount(model);
    const prompt = /** @type {HTMLTextAreaElement} */ (q(el, 'prompt'));
    const key = (/** @type {object} */ init) => {
      const event = new win.KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true, ...init });
      prompt.dispatchEvent(event);
      return event;
    };
    let bubbled = 0;
    win.document.body.addEventListener('keydown', () => (bubbled += 1));
    prompt.value = 'line one';
    assert.equal(key({ shiftKey: true }).defaultPrevented, false, 'Shift+Enter types a newline');
    assert.equal(model.sent.length, 2);
    prompt.value = '   ';
    key({});
    assert.equal(model.sent.length, 2, 'blank prompt not sent');
    prompt.value = 'What is the weather?';
    assert.equal(key({}).defaultPrevented, true);
    assert.deepEqual(model.sent.at(-1), { type: 'send', prompt: 'What is the weather?' });
    assert.equal(prompt.value, '');
    assert.equal(bubbled, 0, 'keys typed in the prompt never reach notebook shortcuts');
    key({});
    assert.equal(model.sent.length, 3, 'Enter on the emptied prompt sends nothing');
    model.set('status', 'generating');
    q(el, 'stop').click();
    assert.deepEqual(model.sent.at(-1), { type: 'stop' });
  });
});

describe('streaming text', () => {
  test('markdown renders incrementally: complete blocks are never re-rendered', async () => {
    const model = new FakeModel();
    const { el } = mount(model);
    model.receive({ type: 'events', events: [{ type: 'user_prompt', text: 'hi <b>there</b>' }] });
    model.receive({ type: 'events', events: [{ type: 'text_delta', text: '# Title\n\nFirst **para' }] });
    await settle();
    const assistant = q(el, 'assistant');
    assert.equal(q(el, 'user').textContent, 'hi <b>there</b>', 'user text is text');
    const heading = assistant.querySelector('h1');
    assert.equal(heading?.textContent, 'Title');
    model.receive({ type: 'events', events: [{ type: 'text_delta', text: 'graph**.\n\n```py\nx = 1\n\n' }] });
    await settle();
    assert.equal(assistant.querySelector('strong')?.textContent, 'paragraph');
    assert.equal(assistant.querySelector('pre code')?.textContent, 'x = 1\n\n', 'open fence renders as code');
    const strong = assistant.querySelector('strong');
    model.receive({ type: 'events', events: [{ type: 'text_delta', text: 'y = 2\n```\n\nDone.' }] });
    await settle();
    assert.equal(assistant.querySelector('h1'), heading, 'frozen heading is the same node');
    assert.equal(assistant.querySelector('strong'), strong, 'frozen paragraph is the same node');
    assert.equal(assistant.querySelector('pre code')?.textContent, 'x = 1\n\ny = 2\n');
    assert.match(assistant.textContent ?? '', /Done\.\s*$/);
  });

  test('model output cannot run code', async () => {
    const model = new FakeModel();
    const { el } = mount(model);
    model.receive({ type: 'events', events: [
      { type: 'text_delta', text: '<script>alert(1)</script><img src=x onerror=alert(1)>\n\n[x](javascript:alert(1))' },
    ] });
    await settle();
    const text = q(el, 'text');
    assert.equal(text.querySelector('script, img, [onerror]'), null);
    assert.equal(text.querySelector('a')?.hasAttribute('href'), false);
    assert.match(text.textContent ?? '', /<script>alert\(1\)<\/script>/);
  });

  test('stream errors and stopped turns show a notice', () => {
    const model = new FakeModel();
    const { el } = mount(model);
    model.receive({ type: 'events', events: [
      { type: 'stream_error', kind: 'interrupted', message: 'connection dropped', provider: 'openai' },
      { type: 'turn_finished', reason: 'cancelled', steps: 1, message: null },
    ] });
    assert.deepEqual(qa(el, 'notice').map((n) => n.textContent), ['openai: connection dropped', 'Stopped.']);
  });
});

describe('tools and results', () => {
  test('a tool row goes through its states with growing arguments and a live timer', async () => {
    const model = new FakeModel();
    const { el } = mount(model);
    model.receive({ type: 'events', events: [started] });
    const row = q(el, 'tool');
    assert.equal(row.dataset.toolName, 'weather');
    assert.equal(row.dataset.toolId, 'c1');
    assert.equal(row.dataset.state, 'pending');
    model.receive({ type: 'events', events: [{ type: 'tool_arguments_delta', id: 'c1', fragment: '{"city": ' }] });
    assert.equal(row.dataset.state, 'streaming');
    model.receive({ type: 'events', events: [{ type: 'tool_arguments_delta', id: 'c1', fragment: '"Oslo"}' }] });
    const args = q(row, 'tool-args');
    assert.equal(args.textContent, '{"city": "Oslo"}');
    const streaming = /** @type {HTMLElement} */ (args.firstElementChild);
    assert.equal(streaming.childNodes.length, 2, 'one text node appended per fragment');
    model.receive({ type: 'events', events: [ready] });
    assert.equal(streaming.childNodes.length, 2, 'same arguments: nothing rewritten');
    model.receive({ type: 'events', events: [
      { type: 'tool_running', id: 'c1', name: 'weather', started_at: Date.now() / 1000 - 1.5 },
    ] });
    assert.equal(row.dataset.state, 'running');
    const timer = q(row, 'tool-timer');
    assert.match(timer.textContent ?? '', /^1\.[5-9]s$/);
    await settle(260);
    assert.match(timer.textContent ?? '', /^1\.[7-9]s$|^2\.\ds$/, `timer ticks (${timer.textContent})`);
    model.receive({ type: 'events', events: [
      { type: 'tool_result', id: 'c1', name: 'weather', output: '{"temp": 3, "sky": "<b>clear</b>"}', duration: 2.25 },
    ] });
    assert.equal(row.dataset.state, 'done');
    assert.equal(timer.textContent, '2.3s');
    const result = q(el, 'result');
    assert.equal(result.dataset.toolId, 'c1');
    assert.equal(result.querySelector('pre')?.textContent, '{\n  "temp": 3,\n  "sky": "<b>clear</b>"\n}');
    assert.equal(result.querySelector('b'), null, 'results are text, never HTML');
  });

  test('errors show their message; invalid arguments too', () => {
    const model = new FakeModel();
    const { el } = mount(model);
    model.receive({ type: 'events', events: [
      started, { ...ready, arguments: null, raw_arguments: '{"city"', error: 'Expecting value' },
      { type: 'tool_call_started', id: 'c2', name: 'boom', position: 1 },
      { type: 'tool_error', id: 'c2', name: 'boom', kind: 'exception', message: 'ValueError: nope', duration: 0.1 },
    ] });
    const [bad, boom] = qa(el, 'tool');
    assert.equal(bad.dataset.state, 'error');
    assert.match(bad.textContent ?? '', /Expecting value/);
    assert.equal(q(bad, 'tool-args').textContent, '{"city"');
    assert.equal(boom.dataset.state, 'error');
    assert.match(boom.textContent ?? '', /ValueError: nope/);
  });

  test('approval buttons send approve / deny with the call id', () => {
    const model = new FakeModel();
    const { el } = mount(model);
    model.receive({ type: 'events', events: [
      started, ready, { type: 'tool_awaiting_approval', id: 'c1', name: 'weather', arguments: { city: 'Oslo' } },
      { type: 'tool_call_started', id: 'c2', name: 'weather', position: 1 },
      { type: 'tool_awaiting_approval', id: 'c2', name: 'weather', arguments: {} },
    ] });
    const [first, second] = qa(el, 'tool');
    assert.equal(first.dataset.state, 'awaiting_approval');
    q(first, 'approve').click();
    assert.deepEqual(model.sent.at(-1), { type: 'approve', id: 'c1' });
    assert.ok(q(first, 'deny').hasAttribute('disabled'), 'answered once');
    q(second, 'deny').click();
    assert.deepEqual(model.sent.at(-1), { type: 'deny', id: 'c2' });
    model.receive({ type: 'events', events: [{ type: 'tool_running', id: 'c1', name: 'weather', started_at: 0 }] });
    assert.equal(q(first, 'approve'), null, 'buttons leave with the state');
  });

  test('long results are collapsed with a button to expand', () => {
    const model = new FakeModel();
    const { el } = mount(model);
    const long = Array.from({ length: 60 }, (_, i) => `row ${i}`).join('\n');
    model.receive({ type: 'events', events: [
      { type: 'tool_result', id: 'a', name: 'rows', output: long, duration: 0.1 },
      { type: 'tool_result', id: 'b', name: 'blob', output: 'x'.repeat(5000), duration: 0.1 },
      { type: 'tool_result', id: 'c', name: 'short', output: 'fine', duration: 0.1 },
    ] });
    const [rows, blob, short] = qa(el, 'result');
    const body = /** @type {HTMLElement} */ (rows.querySelector('pre'));
    assert.equal(rows.dataset.collapsed, 'true');
    assert.ok((body.textContent ?? '').split('\n').length <= 21, 'a preview, not the whole output');
    q(rows, 'expand').click();
    assert.equal(rows.dataset.collapsed, 'false');
    assert.equal(body.textContent, long);
    q(rows, 'expand').click();
    assert.equal(rows.dataset.collapsed, 'true');
    assert.equal(blob.dataset.collapsed, 'true');
    assert.ok((blob.querySelector('pre')?.textContent ?? '').length < 2100);
    assert.equal(short.dataset.collapsed, undefined);
    assert.equal(q(short, 'expand'), null);
  });

  test('a stopped turn marks unfinished calls cancelled', () => {
    const model = new FakeModel();
    const { el } = mount(model);
    model.receive({ type: 'events', events: [
      started, { type: 'tool_arguments_delta', id: 'c1', fragment: '{"ci' },
      { type: 'turn_finished', reason: 'cancelled', steps: 1, message: null },
    ] });
    assert.equal(q(el, 'tool').dataset.state, 'cancelled');
  });
});

describe('views, replay and cleanup', () => {
  const transcript = [
    { type: 'user_prompt', text: 'first' },
    { type: 'text_delta', text: 'Answer **one**.' },
    started, ready,
    { type: 'tool_running', id: 'c1', name: 'weather', started_at: 1 },
    { type: 'tool_result', id: 'c1', name: 'weather', output: '{"t": 1}', duration: 0.5 },
    { type: 'turn_finished', reason: 'done', steps: 1, message: null },
  ];

  test('a new view replays the transcript, then the live turn', async () => {
    const model = new FakeModel({ transcript });
    const { el } = mount(model);
    await settle();
    assert.equal(q(el, 'user').textContent, 'first');
    assert.equal(q(el, 'assistant').querySelector('strong')?.textContent, 'one');
    assert.equal(q(el, 'tool').dataset.state, 'done');
    assert.equal(qa(el, 'result').length, 1);
    model.receive({ type: 'live', transcript_length: transcript.length, events: [
      { type: 'user_prompt', text: 'second' }, { type: 'text_delta', text: 'Strea' },
    ] });
    await settle();
    assert.deepEqual(qa(el, 'user').map((u) => u.textContent), ['first', 'second']);
    assert.equal(qa(el, 'assistant')[1].textContent?.trim(), 'Strea');
  });

  test('two views of one model stay in step; a commit swaps only the live turn', async () => {
    const model = new FakeModel({ transcript });
    const { els } = mount(model, 2);
    const firstAnswer = qa(els[0], 'assistant')[0];
    const live = [
      { type: 'user_prompt', text: 'second' },
      { type: 'text_delta', text: 'Two' },
      { ...started, id: 'c2' }, { ...ready, id: 'c2' },
    ];
    model.receive({ type: 'events', events: live });
    await settle();
    for (const el of els) {
      assert.equal(qa(el, 'assistant').length, 2);
      assert.equal(qa(el, 'tool').length, 2);
    }
    model.set('transcript', [...transcript, ...live, { type: 'turn_finished', reason: 'done', steps: 1, message: null }]);
    await settle();
    for (const el of els) {
      assert.deepEqual(qa(el, 'assistant').map((a) => a.textContent?.trim()), ['Answer one.', 'Two']);
      assert.deepEqual(qa(el, 'tool').map((t) => t.dataset.state), ['done', 'cancelled']);
    }
    assert.equal(qa(els[0], 'assistant')[0], firstAnswer, 'committed turns are not rebuilt');
    model.receive({ type: 'cleared' });
    model.set('transcript', []);
    for (const el of els) {
      assert.equal(qa(el, 'assistant').length, 0);
      assert.equal(qa(el, 'tool').length, 0);
    }
  });

  test('a commit reaches every view and the saved value; a later view and a reloaded page start from it', async () => {
    const model = new PageModel({ transcript });
    const { els } = mount(model, 2);
    const firstAnswer = qa(els[0], 'assistant')[0];
    const turn = [
      { type: 'user_prompt', text: 'second' },
      { type: 'text_delta', text: 'Two' },
      { type: 'turn_finished', reason: 'done', steps: 1, message: null },
    ];
    model.receive({ type: 'events', events: turn.slice(0, 2) });
    model.receive({ type: 'commit', transcript_length: transcript.length, events: turn });
    await settle();
    for (const el of els) assert.deepEqual(qa(el, 'assistant').map((a) => a.textContent?.trim()), ['Answer one.', 'Two']);
    assert.equal(qa(els[0], 'assistant')[0], firstAnswer, 'committed turns are not rebuilt');
    assert.deepEqual(model.traits.transcript, [...transcript, ...turn], 'what JupyterLab saves');
    assert.ok(model.sent.every((m) => m.type === 'attach' || m.type === 'ready'), 'nothing sent back');
    // A third view of the same model (display(chat) again).
    const win = makeWindow();
    const el = win.document.createElement('div');
    const stop = /** @type {() => void} */ (widget.render({ model: model.proxy(), el }));
    assert.deepEqual(qa(el, 'assistant').map((a) => a.textContent?.trim()), ['Answer one.', 'Two']);
    stop();
    // A reloaded page: a new model from the kernel's state (or the saved notebook's), which is that value.
    const reloaded = mount(new PageModel({ transcript: model.traits.transcript }));
    assert.deepEqual(qa(reloaded.el, 'user').map((u) => u.textContent), ['first', 'second']);
  });

  test('two models never share a store', async () => {
    const a = new FakeModel();
    const b = new FakeModel();
    const viewA = mount(a);
    const viewB = mount(b);
    a.receive({ type: 'events', events: [{ type: 'user_prompt', text: 'for a' }] });
    b.receive({ type: 'events', events: [{ type: 'user_prompt', text: 'for b' }] });
    assert.deepEqual(qa(viewA.el, 'user').map((u) => u.textContent), ['for a']);
    assert.deepEqual(qa(viewB.el, 'user').map((u) => u.textContent), ['for b']);
  });

  test('cleanup removes the DOM and every listener, timer and frame', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const model = new FakeModel();
    const { el, stops, unmount } = mount(model, 2);
    model.receive({ type: 'events', events: [
      { type: 'text_delta', text: 'pending frame' },
      started, { type: 'tool_running', id: 'c1', name: 'weather', started_at: Date.now() / 1000 },
    ] });
    const prompt = /** @type {HTMLTextAreaElement} */ (q(el, 'prompt'));
    prompt.value = 'hello';
    q(el, 'send').click();
    assert.ok(timers() > before, 'frames, the tool ticker and the send lock are pending');
    stops[0]();
    assert.equal(el.querySelector('.nbstream'), null);
    unmount();
    assert.equal(model.listenerCount(), 0);
    await settle(5); // jsdom's own 0 ms timer for the focused textarea's selection
    assert.equal(timers(), before, 'nothing left scheduled');
  });
});
