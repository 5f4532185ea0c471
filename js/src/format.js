// Small text helpers shared by the views.

/**
 * A duration for humans: "8ms", "0.4s", "12.3s", "2m 05s".
 * @param {number} seconds
 */
export function formatSeconds(seconds) {
  const s = Math.max(0, seconds);
  if (s < 0.1) return `${Math.round(s * 1000)}ms`;
  if (s < 60) return `${s.toFixed(1)}s`;
  const minutes = Math.floor(s / 60);
  const rest = Math.floor(s - minutes * 60);
  return `${minutes}m ${String(rest).padStart(2, '0')}s`;
}

/**
 * A tool output for display: JSON objects and arrays pretty-printed, anything else as it came.
 * @param {string} output
 */
export function prettyOutput(output) {
  const start = output.trimStart()[0];
  if (start !== '{' && start !== '[') return output;
  try {
    return JSON.stringify(JSON.parse(output), null, 2);
  } catch {
    return output;
  }
}

/**
 * Number of lines in `text`, counting at most `limit + 1` (enough to know it is long).
 * @param {string} text
 * @param {number} limit
 */
export function countLines(text, limit = Infinity) {
  let lines = 1;
  for (let at = text.indexOf('\n'); at !== -1 && lines <= limit; at = text.indexOf('\n', at + 1)) lines += 1;
  return lines;
}

/**
 * The first `maxLines` lines of `text`, cut at `maxChars`.
 * @param {string} text
 * @param {number} maxLines
 * @param {number} maxChars
 */
export function preview(text, maxLines, maxChars) {
  let end = -1;
  for (let i = 0; i < maxLines; i += 1) {
    end = text.indexOf('\n', end + 1);
    if (end === -1) break;
  }
  const cut = end === -1 ? text.length : end;
  return text.slice(0, Math.min(cut, maxChars));
}

/**
 * A call's arguments for reading: an object as one `name: value` line per argument, values as pretty JSON,
 * except strings that span lines, which are shown as the text they are (indented under their name) instead of
 * one line full of `\n`. Anything that is not a JSON object (an invalid or partial call) comes back as it is.
 * @param {string} raw  the raw JSON text of the arguments
 */
export function formatArguments(raw) {
  let value;
  try {
    value = JSON.parse(raw);
  } catch {
    return raw;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return prettyOutput(raw);
  const lines = [];
  for (const [name, arg] of Object.entries(value)) {
    if (typeof arg === 'string' && arg.includes('\n')) {
      lines.push(`${name}:`, ...arg.replace(/\n$/, '').split('\n').map((line) => `  ${line}`));
    } else {
      lines.push(`${name}: ${JSON.stringify(arg, null, 2).replace(/\n/g, '\n  ')}`);
    }
  }
  return lines.join('\n');
}

/**
 * "3 tools · 2.1 s": how many calls a turn made and the wall time they spanned.
 * @param {{startedMs: number|null, duration: number|null}[]} calls
 */
export function activitySummary(calls) {
  const n = calls.length;
  let start = Infinity;
  let end = -Infinity;
  for (const call of calls) {
    if (call.startedMs === null || call.duration === null) continue;
    start = Math.min(start, call.startedMs);
    end = Math.max(end, call.startedMs + call.duration * 1000);
  }
  const label = `${n} tool${n === 1 ? '' : 's'}`;
  return end > start ? `${label} · ${formatSeconds((end - start) / 1000)}` : label;
}
