// The one reducer: display events (WIDGET_PROTOCOL.md) -> chat state + a list of changes.
//
// Used both to replay the `transcript` trait and for live events, so a reloaded view and a live one show the
// same thing. Pure data: no DOM here. Each `apply` mutates the state in O(1) (plus the size of the event) and
// returns the changes a view needs to patch its DOM incrementally.

import { readImages } from './images.js';

/** @typedef {import('./images.js').ImageInfo} ImageInfo */

/**
 * @typedef {'pending'|'streaming'|'running'|'awaiting_approval'|'done'|'error'|'denied'|'cancelled'} ToolState
 * `denied` and `cancelled` are the user's decisions (Deny, Stop); `error` is a real failure.
 */

/**
 * @typedef {object} ToolCall
 * @property {string} id
 * @property {string} name
 * @property {ToolState} state
 * @property {string} args         raw JSON argument text received so far
 * @property {number|null} startedMs  local clock (ms) the tool started running at, for the live timer
 * @property {number|null} duration   seconds, once finished
 * @property {string|null} error      the error message (tool_error, or why the call cannot run)
 * @property {string|null} errorKind  why the call cannot run (tool_call_ready's `error_kind`: `invalid_json`,
 *   `truncated`, ...), else the tool_error kind (`exception`, `timeout`, ...)
 * @property {string|null} output     the tool_result output
 * @property {ConsoleRun[]} console    what the tool printed or logged, in order (runs of one stream)
 * @property {number} consoleChars     characters in `console`, to bound it
 * @property {ToolProgress | null} progress  the newest progress the tool reported (a new object per update)
 * @property {ImageInfo[]} images      the images of its result
 */

/**
 * @typedef {object} ToolProgress
 * @property {string | null} message  what the tool does now (an update without one keeps the one before)
 * @property {number | null} fraction  0 to 1; null when the tool cannot tell (an indeterminate bar)
 */

/**
 * @typedef {object} ConsoleRun
 * @property {'stdout'|'stderr'|'log'} stream
 * @property {string} text
 */

/** @typedef {{kind:'user', text:string, images:ImageInfo[]}} UserItem */
/** @typedef {{kind:'assistant', text:string}} AssistantItem */
/**
 * @typedef {{kind:'reasoning', text:string, done:boolean, duration:number|null, startedMs:number}} ReasoningItem
 * The model's reasoning in one step, above the step's text; `done` once the text or a call started (or the step
 * ended), `duration` in seconds (the kernel's `reasoning_done`, else measured here).
 */
/** @typedef {{kind:'notice', level:'error'|'info', text:string}} NoticeItem */
/** @typedef {{kind:'call', call:ToolCall}} CallItem  a tool call, at the point of the turn where it was made */
/**
 * @typedef {{kind:'metrics', text:string, title:string}} MetricsItem
 * The turn's quiet footer: its metrics line as the kernel wrote it, and a tooltip (cost source, chat totals).
 */
/** @typedef {UserItem|AssistantItem|ReasoningItem|NoticeItem|CallItem|MetricsItem} Item */

/**
 * @typedef {{type:'item', item:Item}
 *   | {type:'text', item:AssistantItem|ReasoningItem}
 *   | {type:'reasoning-done', item:ReasoningItem}
 *   | {type:'progress', call:ToolCall}
 *   | {type:'call', call:ToolCall}  (always preceded by the 'item' change of its CallItem)
 *   | {type:'args', call:ToolCall, fragment:string}
 *   | {type:'args-reset', call:ToolCall}
 *   | {type:'call-state', call:ToolCall}
 *   | {type:'result', call:ToolCall}} Change
 * A 'call-state' change means anything in the call's row changed: its state, name, or console output.
 */

/**
 * @typedef {object} ChatState
 * @property {Item[]} items                 the conversation, in order: prompts, text segments, calls, notices
 * @property {AssistantItem|null} open      the text segment deltas currently append to (a call closes it, so
 *   text after a call is a new segment)
 * @property {ReasoningItem|null} reasoning the reasoning section deltas currently append to
 * @property {Map<string, ToolCall>} calls  by id, in insertion order (= tool rows order)
 * @property {ToolCall[]} results           calls with a result, in result order
 */

const FINISHED = new Set(['done', 'error', 'denied', 'cancelled']);

/**
 * A short label per error kind: why a call cannot run (`tool_call_ready.error_kind`), or how a tool failed
 * (`tool_error.kind`). Denied and cancelled calls are states of their own, not errors.
 * @type {ReadonlyMap<string, string>}
 */
export const ERROR_LABELS = new Map([
  ['invalid_json', 'invalid arguments'],
  ['no_name', 'no tool name'],
  ['incomplete', 'incomplete'],
  ['truncated', 'cut off'],
  ['invalid_arguments', 'invalid arguments'],
  ['unknown_tool', 'unknown tool'],
  ['exception', 'error'],
  ['timeout', 'timed out'],
]);

/** The kinds of `tool_call_ready.error_kind`: they say more than the `tool_error` that follows them. */
const CALL_ERROR_KINDS = new Set(['invalid_json', 'no_name', 'incomplete', 'truncated']);

/**
 * @param {string|null} kind
 * @returns {string}
 */
export function errorLabel(kind) {
  return (kind !== null && ERROR_LABELS.get(kind)) || 'error';
}

/** Console characters kept per call: the kernel sends at most 100,000; a saved notebook may hold anything. */
export const MAX_CONSOLE_CHARS = 200_000;
const STREAMS = new Set(['stdout', 'stderr', 'log']);

/** Clock skew beyond which the kernel's `started_at` is not trusted for the live timer. */
const MAX_TRUSTED_AGE_MS = 24 * 3600 * 1000;

/** @returns {ChatState} */
export function createState() {
  return { items: [], open: null, reasoning: null, calls: new Map(), results: [] };
}

/** @param {ToolCall} call */
export function isFinished(call) {
  return FINISHED.has(call.state);
}

/**
 * Apply one display event. Unknown or malformed events are ignored (the kernel may be newer than the bundle).
 * @param {ChatState} state
 * @param {any} event
 * @param {number} nowMs  local clock, injected so tests are deterministic
 * @returns {Change[]}
 */
export function apply(state, event, nowMs = Date.now()) {
  if (event === null || typeof event !== 'object') return [];
  /** @type {Change[]} */
  const changes = [];
  switch (event.type) {
    case 'user_prompt':
      state.open = null;
      endReasoning(state, changes, null, nowMs);
      pushItem(state, changes, { kind: 'user', text: str(event.text), images: readImages(event.images) });
      break;
    case 'reasoning_delta': {
      const text = str(event.text);
      if (!text) break;
      if (state.reasoning === null) {
        state.open = null; // the step's text after it is a new segment
        state.reasoning = { kind: 'reasoning', text: '', done: false, duration: null, startedMs: nowMs };
        pushItem(state, changes, state.reasoning);
      }
      state.reasoning.text += text;
      changes.push({ type: 'text', item: state.reasoning });
      break;
    }
    case 'reasoning_done':
      endReasoning(state, changes, num(event.duration), nowMs);
      break;
    case 'text_delta': {
      const text = str(event.text);
      if (!text) break;
      endReasoning(state, changes, null, nowMs);
      if (state.open === null) {
        state.open = { kind: 'assistant', text: '' };
        pushItem(state, changes, state.open);
      }
      state.open.text += text;
      changes.push({ type: 'text', item: state.open });
      break;
    }
    case 'tool_call_started':
      if (!state.calls.has(str(event.id))) callFor(state, changes, event, nowMs);
      break;
    case 'tool_arguments_delta': {
      const call = callFor(state, changes, event, nowMs);
      const fragment = str(event.fragment);
      if (!fragment || isFinished(call)) break;
      call.args += fragment;
      changes.push({ type: 'args', call, fragment });
      if (call.state === 'pending') setState(call, 'streaming', changes);
      break;
    }
    case 'tool_call_ready': {
      const call = callFor(state, changes, event, nowMs);
      const raw = str(event.raw_arguments);
      if (raw !== call.args) {
        call.args = raw;
        changes.push({ type: 'args-reset', call });
      }
      if (event.error) {
        // A kernel older than `error_kind` only sent arguments that are not JSON this way.
        call.errorKind = str(event.error_kind) || 'invalid_json';
        call.error = `${errorLabel(call.errorKind)}: ${str(event.error)}`;
        setState(call, 'error', changes, true);
      } else if (call.state === 'pending' && raw) {
        setState(call, 'streaming', changes);
      }
      break;
    }
    case 'tool_awaiting_approval':
      setState(callFor(state, changes, event, nowMs), 'awaiting_approval', changes);
      break;
    case 'tool_running': {
      const call = callFor(state, changes, event, nowMs);
      call.startedMs = localStart(event.started_at, nowMs);
      setState(call, 'running', changes);
      break;
    }
    case 'tool_output': {
      const call = callFor(state, changes, event, nowMs);
      if (appendConsole(call, event.stream, str(event.text))) changes.push({ type: 'call-state', call });
      break;
    }
    case 'tool_progress': {
      const call = callFor(state, changes, event, nowMs);
      const fraction = num(event.fraction);
      const message = typeof event.message === 'string' ? event.message : (call.progress?.message ?? null);
      call.progress = { message, fraction: fraction === null ? null : Math.min(1, Math.max(0, fraction)) };
      changes.push({ type: 'progress', call });
      break;
    }
    case 'tool_result': {
      const call = callFor(state, changes, event, nowMs);
      call.images = readImages(event.images);
      call.output = str(event.output);
      call.duration = num(event.duration);
      setState(call, 'done', changes, true);
      state.results.push(call);
      changes.push({ type: 'result', call });
      break;
    }
    case 'tool_error': {
      const call = callFor(state, changes, event, nowMs);
      call.error = str(event.message);
      // A call that could not run keeps its arguments' kind: `truncated` says more than the session's `incomplete`.
      if (call.errorKind === null || !CALL_ERROR_KINDS.has(call.errorKind)) {
        call.errorKind = str(event.kind) || null;
      }
      call.duration = num(event.duration);
      const next = event.kind === 'cancelled' || event.kind === 'denied' ? event.kind : 'error';
      setState(call, next, changes, true);
      break;
    }
    case 'step_started':
    case 'message_finished':
      state.open = null;
      endReasoning(state, changes, null, nowMs);
      break;
    case 'stream_error': {
      state.open = null;
      endReasoning(state, changes, null, nowMs);
      const where = event.provider ? `${str(event.provider)}: ` : '';
      notice(state, changes, 'error', `${where}${str(event.message) || str(event.kind)}`);
      break;
    }
    case 'turn_finished':
      endReasoning(state, changes, null, nowMs);
      finishTurn(state, changes, event);
      break;
    default:
      break;
  }
  return changes;
}

/**
 * @param {ChatState} state
 * @param {Change[]} changes
 * @param {any} event
 */
function finishTurn(state, changes, event) {
  state.open = null;
  // A finished turn has no live calls: whatever did not finish was cut short.
  for (const call of state.calls.values()) {
    if (!isFinished(call)) setState(call, 'cancelled', changes, true);
  }
  const message = str(event.message);
  if (event.reason === 'cancelled') notice(state, changes, 'info', 'Stopped.');
  else if (event.reason === 'max_steps') {
    notice(state, changes, 'info', `Stopped after ${num(event.steps) ?? '?'} steps (max_steps).`);
  } else if (event.reason === 'max_tokens') {
    notice(state, changes, 'error', message || 'The model ran out of output tokens inside a tool call.');
  } else if (event.reason === 'error' && message) notice(state, changes, 'error', message);
  const footer = str(event.footer);
  if (footer) pushItem(state, changes, { kind: 'metrics', text: footer, title: str(event.footer_title) });
}

/**
 * The open reasoning section ends: the step's text or a call started, the step ended, or the kernel said so
 * with the duration it measured (`reasoning_done`, which comes first). Without one, the time since the first
 * delta here (none for a replayed transcript, where every event has the same time).
 * @param {ChatState} state
 * @param {Change[]} changes
 * @param {number | null} duration
 * @param {number} nowMs
 */
function endReasoning(state, changes, duration, nowMs) {
  const item = state.reasoning;
  if (item === null) return;
  state.reasoning = null;
  item.done = true;
  const measured = (nowMs - item.startedMs) / 1000;
  item.duration = duration ?? (measured > 0 ? measured : null);
  changes.push({ type: 'reasoning-done', item });
}

/**
 * @param {ChatState} state
 * @param {Change[]} changes
 * @param {'error'|'info'} level
 * @param {string} text
 */
function notice(state, changes, level, text) {
  const last = state.items[state.items.length - 1];
  // The turn's final error usually repeats the stream error just shown.
  if (last && last.kind === 'notice' && last.text.endsWith(text)) return;
  pushItem(state, changes, { kind: 'notice', level, text });
}

/**
 * @param {ChatState} state
 * @param {Change[]} changes
 * @param {Item} item
 */
function pushItem(state, changes, item) {
  state.items.push(item);
  changes.push({ type: 'item', item });
}

/**
 * The call an event refers to, created on first sight (a view may join mid-call).
 * @param {ChatState} state
 * @param {Change[]} changes
 * @param {any} event
 * @param {number} nowMs
 * @returns {ToolCall}
 */
function callFor(state, changes, event, nowMs) {
  const id = str(event.id);
  let call = state.calls.get(id);
  if (call === undefined) {
    call = {
      id,
      name: str(event.name),
      state: 'pending',
      args: '',
      startedMs: null,
      duration: null,
      error: null,
      errorKind: null,
      output: null,
      console: [],
      consoleChars: 0,
      progress: null,
      images: [],
    };
    state.calls.set(id, call);
    // The call sits where it was made: text that follows it is a new segment, and the reasoning before it ended.
    state.open = null;
    endReasoning(state, changes, null, nowMs);
    pushItem(state, changes, { kind: 'call', call });
    changes.push({ type: 'call', call });
  } else if (!call.name && event.name) {
    call.name = str(event.name);
    changes.push({ type: 'call-state', call });
  }
  return call;
}

/**
 * Add output to a call's console, joining a run of one stream; false when nothing was added.
 * @param {ToolCall} call
 * @param {unknown} stream
 * @param {string} text
 */
function appendConsole(call, stream, text) {
  const room = MAX_CONSOLE_CHARS - call.consoleChars;
  if (!text || room <= 0) return false;
  const kept = text.length > room ? text.slice(0, room) : text;
  const kind = /** @type {ConsoleRun['stream']} */ (STREAMS.has(/** @type {string} */ (stream)) ? stream : 'stdout');
  const last = call.console[call.console.length - 1];
  if (last && last.stream === kind) last.text += kept;
  else call.console.push({ stream: kind, text: kept });
  call.consoleChars += kept.length;
  return true;
}

/**
 * @param {ToolCall} call
 * @param {ToolState} next
 * @param {Change[]} changes
 * @param {boolean} [force]  also leave a finished state (a result after a turn-end cancel, say)
 */
function setState(call, next, changes, force = false) {
  if (call.state === next) return;
  if (isFinished(call) && !force) return;
  call.state = next;
  changes.push({ type: 'call-state', call });
}

/**
 * When a tool started, on the local clock: the kernel's epoch seconds when the clocks plausibly agree,
 * else the moment the event arrived.
 * @param {unknown} startedAt
 * @param {number} nowMs
 */
function localStart(startedAt, nowMs) {
  const kernelMs = typeof startedAt === 'number' ? startedAt * 1000 : NaN;
  const age = nowMs - kernelMs;
  if (!Number.isFinite(age) || age < -1000 || age > MAX_TRUSTED_AGE_MS) return nowMs;
  return Math.min(kernelMs, nowMs);
}

/** @param {unknown} value */
function str(value) {
  return typeof value === 'string' ? value : value == null ? '' : String(value);
}

/** @param {unknown} value */
function num(value) {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}
