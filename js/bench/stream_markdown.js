// Runs inside Chromium (bundled by ../bench.mjs): streams a long reply into a MarkdownMessage the way the
// view does (one flush per ~40 ms batch) and reports the cost of early and late frames.
import { MarkdownMessage } from '../src/text_view.js';
import { longReply } from '../test/replies.js';

const rows = [];
for (const size of [20_000, 100_000]) {
  const text = longReply(size);
  const item = { kind: 'assistant', text: '' };
  const message = new MarkdownMessage(document, item);
  document.body.append(message.el);
  const costs = [];
  for (let at = 0; at < text.length; at += 60) {
    item.text = text.slice(0, at + 60);
    const start = performance.now();
    message.flush();
    costs.push(performance.now() - start);
  }
  const tenth = Math.max(1, Math.floor(costs.length / 10));
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const sorted = [...costs].sort((a, b) => a - b);
  rows.push({
    size: text.length,
    frames: costs.length,
    first10pct: mean(costs.slice(0, tenth)),
    last10pct: mean(costs.slice(-tenth)),
    p99: sorted[Math.floor(sorted.length * 0.99)],
    max: sorted[sorted.length - 1],
  });
  message.el.remove();
}
const out = document.createElement('pre');
out.id = 'result';
out.textContent = JSON.stringify(rows);
document.body.append(out);
