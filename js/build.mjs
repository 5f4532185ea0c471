// Bundle the widget: src/widget.js -> ../nbstream/static/widget.js (ESM, minified) + widget.css, and
// nbstream.Compare's src/compare.js -> compare.js + compare.css.
// `node build.mjs --watch` rebuilds on change (pair it with ANYWIDGET_HMR=1 in the kernel).
// Every build prints the bundle sizes and writes a metafile (node_modules/.cache/nbstream-meta.json) for
// `npx esbuild --analyze`-style inspection of what each dependency costs.
import { mkdir, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const outdir = new URL('../nbstream/static/', import.meta.url).pathname;

/** @type {esbuild.Plugin} */
const report = {
  name: 'report-sizes',
  setup(build) {
    build.onEnd(async (result) => {
      if (result.errors.length > 0) return;
      for (const name of ['widget.js', 'widget.css', 'compare.js', 'compare.css']) {
        const bytes = readFileSync(outdir + name);
        console.log(`${name}: ${(bytes.length / 1024).toFixed(1)} KiB (gzip ${(gzipSync(bytes).length / 1024).toFixed(1)} KiB)`);
      }
      if (result.metafile) {
        const cache = new URL('node_modules/.cache/', import.meta.url).pathname;
        await mkdir(cache, { recursive: true });
        await writeFile(`${cache}nbstream-meta.json`, JSON.stringify(result.metafile));
      }
    });
  },
};

const options = {
  // compare.js / compare.css: nbstream.Compare (its columns are chats drawn by widget.js).
  entryPoints: ['src/widget.js', 'src/widget.css', 'src/compare.js', 'src/compare.css'],
  outdir,
  bundle: true,
  format: 'esm',
  minify: !watch,
  sourcemap: watch ? 'inline' : false,
  target: ['es2022'],
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  plugins: [report],
};

if (watch) {
  const context = await esbuild.context(options);
  await context.watch();
  console.log(`watching src/ -> ${outdir}`);
} else {
  await esbuild.build(options);
}
