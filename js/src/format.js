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
