import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { apply, createState, MAX_CONSOLE_CHARS } from '../src/reducer.js';
import { ToolCard } from '../src/tools_view.js';
import { makeWindow } from './helpers.js';

const NOW = 1_700_000_000_000;

/** @param {any[]} events */
function run(events, now = NOW) {
  const state = createState();
  /** @type {any[]} */
  const changes = [];
  for (const event of events) changes.push(...apply(state, event, now));
  return { state, changes };
}

const started = { type: 'tool_call_started', id: 'c1', name: 'weather', position: 0 };
const ready = {
  type: 'tool_call_ready', id: 'c1', name: 'weather', position: 0, arguments: { city: 'Oslo' },
  raw_arguments: '{"city": "Oslo"}', error: null,
};

describe('text', () => {
  test('deltas append to one assistant message', () => {
    const { state, changes } = run([
      { type: 'user_prompt', text: 'hi' },
      { type: 'text_delta', text: 'Hel' },
      { type: 'text_delta', text: 'lo' },
    ]);
    assert.deepEqual(state.items.map((i) => i.kind), ['user', 'assistant']);
    assert.equal(state.items[1].text, 'Hello');
    assert.deepEqual(changes.map((c) => c.type), ['item', 'item', 'text', 'text']);
  });

  test('a new step or prompt starts a new message; empty deltas are ignored', () => {
    const { state } = run([
      { type: 'text_delta', text: 'a' },
      { type: 'step_started', step: 2 },
      { type: 'text_delta', text: '' },
      { type: 'text_delta', text: 'b' },
      { type: 'user_prompt', text: 'again' },
      { type: 'text_delta', text: 'c' },
    ]);
    assert.deepEqual(state.items.map((i) => [i.kind, i.text]), [
      ['assistant', 'a'], ['assistant', 'b'], ['user', 'again'], ['assistant', 'c'],
    ]);
  });

  test('a tool call sits where it was made: text after it is a new segment of the same reply', () => {
    const { state } = run([
      { type: 'user_prompt', text: 'weather?' },
      { type: 'text_delta', text: 'Let me check.' },
      started,
      { type: 'text_delta', text: ' Meanwhile, ' },
      { type: 'tool_arguments_delta', id: 'c1', fragment: '{}' },
      { type: 'text_delta', text: 'more.' },
      { type: 'tool_error', id: 'c1', name: 'weather', kind: 'exception', message: 'ValueError: x' },
    ]);
    assert.deepEqual(state.items.map((i) => (i.kind === 'call' ? ['call', i.call.id] : [i.kind, i.text])), [
      ['user', 'weather?'], ['assistant', 'Let me check.'], ['call', 'c1'], ['assistant', ' Meanwhile, more.'],
    ]);
    assert.equal(state.calls.get('c1')?.state, 'error');
    assert.equal(state.calls.get('c1')?.errorKind, 'exception');
  });

  test('unknown and malformed events change nothing', () => {
    const { state, changes } = run([null, 42, 'x', {}, { type: 'future_event', x: 1 }, { type: 'usage' }]);
    assert.equal(changes.length, 0);
    assert.equal(state.items.length, 0);
  });
});

describe('tool calls', () => {
  test('pending -> streaming -> running -> done, with args and result', () => {
    const state = createState();
    assert.deepEqual(apply(state, started, NOW).map((c) => c.type), ['item', 'call']);
    const call = state.calls.get('c1');
    assert.equal(call?.state, 'pending');
    const delta = apply(state, { type: 'tool_arguments_delta', id: 'c1', fragment: '{"city": ' }, NOW);
    assert.deepEqual(delta.map((c) => c.type), ['args', 'call-state']);
    assert.equal(call?.state, 'streaming');
    apply(state, { type: 'tool_arguments_delta', id: 'c1', fragment: '"Oslo"}' }, NOW);
    assert.equal(call?.args, '{"city": "Oslo"}');
    assert.deepEqual(apply(state, ready, NOW), [], 'same raw arguments: nothing to redo');
    apply(state, { type: 'tool_running', id: 'c1', name: 'weather', started_at: NOW / 1000 - 2 }, NOW);
    assert.equal(call?.state, 'running');
    assert.equal(call?.startedMs, NOW - 2000);
    const done = apply(state, { type: 'tool_result', id: 'c1', name: 'weather', output: '{"t": 3}', duration: 2.5 }, NOW);
    assert.deepEqual(done.map((c) => c.type), ['call-state', 'result']);
    assert.equal(call?.state, 'done');
    assert.equal(call?.duration, 2.5);
    assert.deepEqual(state.results, [call]);
  });

  test('a call with no argument bytes stays pending until it is final', () => {
    const { state } = run([started]);
    assert.equal(state.calls.get('c1')?.state, 'pending');
  });

  test('tool_call_ready replaces arguments that differ (compacted transcript)', () => {
    const { state, changes } = run([started, ready]);
    const call = state.calls.get('c1');
    assert.equal(call?.args, '{"city": "Oslo"}');
    assert.equal(call?.state, 'streaming');
    assert.ok(changes.some((c) => c.type === 'args-reset'));
  });

  test('invalid arguments are an error with the reason', () => {
    const { state } = run([started, { ...ready, arguments: null, raw_arguments: '{"city"', error: 'not JSON' }]);
    const call = state.calls.get('c1');
    assert.equal(call?.state, 'error');
    assert.match(call?.error ?? '', /not JSON/);
    assert.equal(call?.errorKind, 'invalid_json', 'a kernel that sends no error_kind: arguments that are not JSON');
  });

  test('a call that cannot run is labelled by its kind, which the tool_error that follows keeps', () => {
    /** @type {[string, string, string, string][]} error_kind, its label, the tool_error kind, the badge */
    const cases = [
      ['invalid_json', 'invalid arguments', 'invalid_arguments', 'invalid arguments'],
      ['no_name', 'no tool name', 'unknown_tool', 'no tool name'],
      ['incomplete', 'incomplete', 'incomplete', 'incomplete'],
      ['truncated', 'cut off', 'incomplete', 'cut off'],
    ];
    const { document } = makeWindow();
    for (const [kind, label, toolKind, badge] of cases) {
      const error = `why (${kind})`;
      const { state } = run([started, { ...ready, arguments: null, error, error_kind: kind }]);
      const call = state.calls.get('c1');
      assert.equal(call?.error, `${label}: ${error}`);
      assert.equal(call?.errorKind, kind);
      const failed = { type: 'tool_error', id: 'c1', name: 'weather', kind: toolKind, message: 'weather was not run' };
      apply(state, failed, NOW);
      assert.equal(call?.error, 'weather was not run', 'the message the model was sent');
      assert.equal(call?.errorKind, kind, `${kind} says more than ${toolKind}`);
      if (call === undefined) throw new Error('no call');
      const card = new ToolCard(document, call, () => {});
      assert.equal(card.badge.textContent, badge);
      assert.equal(card.el.querySelector('[data-nbstream=tool-error]')?.getAttribute('data-kind'), kind);
    }
  });

  test('a failed tool is labelled by its tool_error kind', () => {
    const { document } = makeWindow();
    const cases = [
      ['timeout', 'timed out'], ['exception', 'error'], ['invalid_arguments', 'invalid arguments'],
      ['something_new', 'error'],
    ];
    for (const [kind, badge] of cases) {
      const { state } = run([started, ready, { type: 'tool_error', id: 'c1', name: 'weather', kind, message: 'no' }]);
      const call = state.calls.get('c1');
      if (call === undefined) throw new Error('no call');
      assert.equal(call.errorKind, kind);
      assert.equal(new ToolCard(document, call, () => {}).badge.textContent, badge);
    }
  });

  test('approval, denial, cancellation', () => {
    const { state } = run([
      started, ready,
      { type: 'tool_awaiting_approval', id: 'c1', name: 'weather', arguments: {} },
    ]);
    assert.equal(state.calls.get('c1')?.state, 'awaiting_approval');
    apply(state, { type: 'tool_error', id: 'c1', name: 'weather', kind: 'denied', message: 'denied by user' }, NOW);
    assert.equal(state.calls.get('c1')?.state, 'denied', 'a decision of the user, not an error');
    assert.equal(state.calls.get('c1')?.error, 'denied by user');
    assert.equal(state.calls.get('c1')?.errorKind, 'denied');
    const other = run([started, { type: 'tool_error', id: 'c1', name: 'weather', kind: 'cancelled', message: 'stop' }]);
    assert.equal(other.state.calls.get('c1')?.state, 'cancelled');
  });

  test('a finished turn leaves no live call; a stopped turn says so', () => {
    const { state } = run([
      started,
      { type: 'tool_call_started', id: 'c2', name: 'slow', position: 1 },
      { type: 'tool_running', id: 'c2', name: 'slow', started_at: NOW / 1000 },
      { type: 'tool_result', id: 'c1', name: 'weather', output: 'ok', duration: 0.1 },
      { type: 'turn_finished', reason: 'cancelled', steps: 1, message: null },
    ]);
    assert.equal(state.calls.get('c1')?.state, 'done');
    assert.equal(state.calls.get('c2')?.state, 'cancelled');
    assert.deepEqual(state.items.at(-1), { kind: 'notice', level: 'info', text: 'Stopped.' });
  });

  test('events for a call never started create it (a view joining mid-call)', () => {
    const { state } = run([{ type: 'tool_running', id: 'x', name: 'late', started_at: NOW / 1000 }]);
    assert.equal(state.calls.get('x')?.name, 'late');
    assert.equal(state.calls.get('x')?.state, 'running');
  });

  test('duplicate starts and late fragments do not disturb a finished call', () => {
    const { state } = run([
      started, ready, { type: 'tool_result', id: 'c1', name: 'weather', output: 'ok', duration: 1 },
      started, { type: 'tool_arguments_delta', id: 'c1', fragment: 'zzz' },
    ]);
    assert.equal(state.calls.size, 1);
    assert.equal(state.calls.get('c1')?.args, '{"city": "Oslo"}');
    assert.equal(state.calls.get('c1')?.state, 'done');
  });

  test('an untrusted kernel clock falls back to the arrival time', () => {
    for (const startedAt of [NOW / 1000 + 3600, NOW / 1000 - 3 * 86400, 'soon', null]) {
      const { state } = run([{ type: 'tool_running', id: 'c', name: 't', started_at: startedAt }]);
      assert.equal(state.calls.get('c')?.startedMs, NOW, String(startedAt));
    }
  });
});

describe('errors', () => {
  test('a stream error is shown once, even when the turn repeats it', () => {
    const { state } = run([
      { type: 'text_delta', text: 'partial' },
      { type: 'stream_error', kind: 'auth', message: 'HTTP 401 invalid key', provider: 'openai' },
      { type: 'turn_finished', reason: 'error', steps: 1, message: 'HTTP 401 invalid key' },
    ]);
    const notices = state.items.filter((i) => i.kind === 'notice');
    assert.deepEqual(notices, [{ kind: 'notice', level: 'error', text: 'openai: HTTP 401 invalid key' }]);
    assert.equal(state.items[0].text, 'partial', 'text before the error is kept');
  });

  test('max_steps is explained', () => {
    const { state } = run([{ type: 'turn_finished', reason: 'max_steps', steps: 8, message: null }]);
    assert.match(state.items[0].text, /8 steps/);
  });

  test('a call cut by the token limit is an error notice with the hint', () => {
    const hint = 'the model ran out of output tokens inside a tool call: raise the output-token limit';
    const { state } = run([{ type: 'turn_finished', reason: 'max_tokens', steps: 1, message: hint }]);
    assert.deepEqual([state.items[0].level, state.items[0].text], ['error', hint]);
  });
});

describe('the turn footer', () => {
  test("a finished turn's metrics line ends the turn, after its notice; without one there is none", () => {
    const footer = '2.1 s · 0.4 s to first token · 80 in / 12 out · cost unknown';
    const { state } = run([
      { type: 'text_delta', text: 'partial' },
      { type: 'turn_finished', reason: 'cancelled', steps: 1, footer, footer_title: 'no price' },
      { type: 'user_prompt', text: 'again' },
      { type: 'turn_finished', reason: 'done', steps: 1, message: null },
    ]);
    assert.deepEqual(state.items.map((i) => i.kind), ['assistant', 'notice', 'metrics', 'user']);
    assert.deepEqual(state.items[2], { kind: 'metrics', text: footer, title: 'no price' });
  });
});

describe('replay', () => {
  test('a compacted transcript gives the same state as the live events', () => {
    const live = [
      { type: 'user_prompt', text: 'weather?' },
      { type: 'step_started', step: 1 },
      { type: 'text_delta', text: 'Let me ' },
      { type: 'text_delta', text: 'check.' },
      started,
      { type: 'tool_arguments_delta', id: 'c1', fragment: '{"city": ' },
      { type: 'tool_arguments_delta', id: 'c1', fragment: '"Oslo"}' },
      ready,
      { type: 'tool_running', id: 'c1', name: 'weather', started_at: NOW / 1000 },
      { type: 'tool_result', id: 'c1', name: 'weather', output: '{"t": 3}', duration: 0.2 },
      { type: 'message_finished', stop_reason: 'tool_calls' },
      { type: 'step_started', step: 2 },
      { type: 'text_delta', text: 'It is 3°C.' },
      { type: 'turn_finished', reason: 'done', steps: 2, message: null },
    ];
    const compacted = [
      live[0], live[1], { type: 'text_delta', text: 'Let me check.' }, started, ready, ...live.slice(8),
    ];
    const a = run(live).state;
    const b = run(compacted).state;
    assert.deepEqual(a.items, b.items);
    assert.deepEqual([...a.calls.values()], [...b.calls.values()]);
    assert.deepEqual(a.results, b.results);
  });
});

describe('tool output', () => {
  /** @param {string} stream @param {string} text @param {string} [id] */
  const out = (stream, text, id = 'c1') => ({ type: 'tool_output', id, name: 'weather', stream, text });
  const running = { type: 'tool_running', id: 'c1', name: 'weather', started_at: NOW / 1000 };

  test('each call keeps its own output, in runs of one stream, each piece a row change', () => {
    const state = createState();
    for (const event of [started, ready, running]) apply(state, event, NOW);
    const changes = [
      out('stdout', 'fetching\n'), out('stdout', 'parsing\n'), out('stderr', 'slow!\n'),
      out('stdout', 'other\n', 'c2'), out('log', 'WARNING:x:y\n'), out('stdout', '', 'c1'),
    ].flatMap((event) => apply(state, event, NOW));
    assert.deepEqual(changes.map((c) => c.type), [
      'call-state', 'call-state', 'call-state', 'item', 'call', 'call-state', 'call-state',
    ]);
    assert.deepEqual(state.calls.get('c1')?.console, [
      { stream: 'stdout', text: 'fetching\nparsing\n' },
      { stream: 'stderr', text: 'slow!\n' },
      { stream: 'log', text: 'WARNING:x:y\n' },
    ]);
    assert.deepEqual(state.calls.get('c2')?.console, [{ stream: 'stdout', text: 'other\n' }]);
    assert.equal(state.calls.get('c1')?.state, 'running', 'output does not change the state');
  });

  test('output is bounded per call, and an unknown stream counts as stdout', () => {
    const { state } = run([
      out('stdout', 'x'.repeat(MAX_CONSOLE_CHARS - 1)), out('stdout', 'yz'), out('stdout', 'more'),
      out('stderr', 'late'),
    ]);
    const call = state.calls.get('c1');
    assert.equal(call?.consoleChars, MAX_CONSOLE_CHARS);
    assert.deepEqual(call?.console.map((r) => [r.stream, r.text.length, r.text.slice(-1)]), [['stdout', MAX_CONSOLE_CHARS, 'y']]);
    assert.deepEqual(run([out('<b>', 'odd')]).state.calls.get('c1')?.console, [{ stream: 'stdout', text: 'odd' }]);
  });

  test('a replayed transcript shows the same output as the live events', () => {
    const live = [started, ready, running, out('stdout', 'a'), out('stdout', 'b'), out('stderr', 'c'),
      { type: 'tool_result', id: 'c1', name: 'weather', output: 'ok', duration: 1 }];
    const compacted = [started, ready, running, out('stdout', 'ab'), out('stderr', 'c'), live[6]];
    assert.deepEqual([...run(live).state.calls.values()], [...run(compacted).state.calls.values()]);
  });

  test('the row shows output as plain text, adding only what is new', () => {
    const doc = makeWindow().document;
    const state = createState();
    apply(state, running, NOW);
    const call = /** @type {any} */ (state.calls.get('c1'));
    const row = new ToolCard(doc, call, () => {});
    const box = /** @type {HTMLElement} */ (row.el.querySelector('[data-nbstream=tool-output]'));
    assert.equal(box.closest('.nbs-console')?.hasAttribute('hidden'), true, 'no output, no box');
    apply(state, out('stdout', '<img src=x onerror=alert(1)>\n'), NOW);
    row.update();
    const first = box.firstChild;
    apply(state, out('stdout', 'line 2\n'), NOW);
    apply(state, out('stderr', 'oops\n'), NOW);
    row.update();
    assert.equal(box.closest('.nbs-console')?.hasAttribute('hidden'), false);
    assert.equal(box.textContent, '<img src=x onerror=alert(1)>\nline 2\noops\n');
    assert.equal(box.querySelector('img'), null, 'never parsed as HTML');
    assert.equal(box.firstChild, first, 'earlier text is kept, not re-rendered');
    assert.deepEqual([...box.children].map((el) => /** @type {HTMLElement} */ (el).dataset.stream), ['stdout', 'stderr']);
    // A view made later (a reload) renders the whole console at once.
    const again = new ToolCard(doc, call, () => {});
    assert.equal(again.el.querySelector('[data-nbstream=tool-output]')?.textContent, box.textContent);
  });
});
