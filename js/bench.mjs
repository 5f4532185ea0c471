// `npm run bench`: per-frame cost of streaming markdown in real headless Chromium (no extra npm deps: the
// page is bundled with esbuild and run with `chromium --dump-dom`). Prints a table; work per frame should
// not grow with the message (late frames cost about what early frames cost).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';

const chromium = process.env.CHROMIUM ?? '/usr/bin/chromium';
const dir = mkdtempSync(join(tmpdir(), 'nbstream-bench-'));
try {
  await esbuild.build({
    entryPoints: ['bench/stream_markdown.js'],
    bundle: true,
    format: 'esm',
    minify: true,
    outfile: join(dir, 'bench.js'),
    logLevel: 'warning',
  });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><body><script type="module" src="bench.js"></script>');
  const html = execFileSync(chromium, [
    '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--disable-crash-reporter', '--disable-breakpad', '--allow-file-access-from-files',
    `--user-data-dir=${join(dir, 'profile')}`, '--virtual-time-budget=60000', '--dump-dom',
    `file://${join(dir, 'index.html')}`,
  ], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 180_000 });
  const match = /<pre id="result">(.*?)<\/pre>/s.exec(html);
  if (!match) throw new Error('the bench page produced no result');
  const rows = JSON.parse(match[1].replace(/&quot;/g, '"').replace(/&amp;/g, '&'));
  const ms = (/** @type {number} */ x) => x.toFixed(2).padStart(8);
  console.log('streamed markdown, one flush per 60-char batch (Chromium, ms per frame)');
  console.log('    chars  frames  first10%  last10%      p99      max');
  for (const r of rows) {
    console.log(`${String(r.size).padStart(9)} ${String(r.frames).padStart(7)} ${ms(r.first10pct)} ${ms(r.last10pct)} ${ms(r.p99)} ${ms(r.max)}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
