import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { BlockSplitter } from '../src/blocks.js';
import { attachCodeActions, cellIndexOf, codeOf, copyText, isFinished } from '../src/code_blocks.js';
import { highlighter } from '../src/code_highlight.js';
import { renderMarkdown, renderPieces } from '../src/markdown.js';
import { makeWindow } from './helpers.js';

/** Code with everything a copy could get wrong: markup, entities, quotes, backslashes, tabs, unicode. */
const TRICKY = [
  'def f(x: "<b>&amp;</b>") -> str:',
  "\treturn f'{x!r} \\n \\\\ $HOME ${x} `cmd`'  # <script>alert(1)</script>",
  '    print("ünïcødé ✓ 🚀 \u00a0nbsp", end="")   ',
  '',
  'x = a < b && c > d',
].join('\n');

/**
 * Render markdown into a host element in a fresh window.
 * @param {string} md
 */
function render(md) {
  const win = makeWindow();
  const doc = win.document;
  const host = doc.createElement('div');
  host.append(renderMarkdown(md, doc));
  doc.body.append(host);
  return { win, doc, host };
}

/**
 * Stream `text` through BlockSplitter like text_view.js does: frozen chunks rendered once, tail every step.
 * @param {string} text
 * @param {number} step
 * @param {number} [maxTail]
 */
function stream(text, step, maxTail) {
  const win = makeWindow();
  const doc = win.document;
  const message = doc.createElement('div');
  message.className = 'nbs-assistant nbs-md';
  const frozen = doc.createElement('div');
  frozen.className = 'nbs-frozen';
  const tail = doc.createElement('div');
  tail.className = 'nbs-tail';
  message.append(frozen, tail);
  doc.body.append(message);
  const splitter = new BlockSplitter({ maxTail });
  /** @type {number[]} */
  const runsWhileOpen = [];
  for (let end = step; ; end = Math.min(end + step, text.length)) {
    const shown = text.slice(0, end);
    for (const chunk of splitter.update(shown)) {
      const box = doc.createElement('div'); // as the view boxes each finished block
      box.append(renderMarkdown(chunk, doc));
      frozen.append(box);
    }
    tail.replaceChildren(renderMarkdown(splitter.tail(shown), doc));
    runsWhileOpen.push(highlighter.runs);
    if (end === text.length) break;
  }
  return { doc, message, runsWhileOpen };
}

const PYTHON = 'import math\n\n\ndef area(r: float) -> float:\n    """Circle."""\n    return math.pi * r ** 2  # m²';

describe('highlighting', () => {
  test('a finished block is highlighted, its text unchanged', () => {
    const { host } = render(`Some code:\n\n\`\`\`python\n${PYTHON}\n\`\`\`\n`);
    const code = host.querySelector('.nbs-code pre > code');
    assert.equal(code?.textContent, `${PYTHON}\n`);
    assert.equal(code?.className, 'hljs');
    const kinds = new Set([...(code?.querySelectorAll('span') ?? [])].map((s) => s.className));
    for (const kind of ['hljs-keyword', 'hljs-string', 'hljs-comment', 'hljs-number', 'hljs-title function_']) {
      assert.ok(kinds.has(kind), `${kind} in ${[...kinds]}`);
    }
    assert.equal(host.querySelector('.nbs-code')?.getAttribute('data-state'), 'done');
    assert.equal(host.querySelector('.nbs-code-lang')?.getAttribute('title'), 'python');
  });

  test('every registered language highlights, by name and alias', () => {
    const samples = {
      python: 'def f(): return None', py: 'import os', javascript: 'const a = () => 1;', js: 'let x = "s";',
      typescript: 'let n: number = 1;', ts: 'interface A { b: string }', json: '{"a": [1, true, null]}',
      bash: 'if [ -f x ]; then echo "$HOME"; fi', sh: 'export A=1', shell: '$ ls -la', console: '$ echo hi',
      sql: 'SELECT a FROM t WHERE b = 1;', html: '<div class="x">hi</div>', xml: '<a href="x"/>',
      css: '.a { color: red; }', markdown: '# Title\n\n*em*', md: '**strong**', yaml: 'a: 1\nb: [x, y]', yml: 'k: v',
    };
    for (const [label, code] of Object.entries(samples)) {
      const { host } = render(`\`\`\`${label}\n${code}\n\`\`\``);
      const el = host.querySelector('pre > code');
      assert.ok(el?.querySelector('span[class^="hljs-"]'), `${label} highlighted`);
      assert.equal(el?.textContent, `${code}\n`, label);
    }
  });

  test('no label, an unknown label or a streaming fence: plain code', () => {
    for (const md of ['```\nx = 1\n```', '```rust\nfn main() {}\n```', '    indented = 1\n', '```python\nx = 1']) {
      const { host } = render(md);
      const code = host.querySelector('.nbs-code pre > code');
      assert.ok(code, md);
      assert.equal(code.querySelector('span'), null, md);
    }
    const { host } = render('```python\ndef f():\n    return 1');
    assert.equal(host.querySelector('.nbs-code')?.getAttribute('data-state'), 'streaming');
    assert.equal(host.querySelector('button'), null, 'no buttons while the block streams');
    assert.equal(host.querySelector('.nbs-code-lang')?.getAttribute('title'), 'python', 'the label shows already');
  });

  test('isFinished: a fence needs its own closing fence', () => {
    const token = (/** @type {string} */ raw) => ({ raw, text: '' });
    assert.ok(isFinished(token('```py\nx\n```')));
    assert.ok(isFinished(token('~~~~\nx\n~~~~~  \n\n')));
    assert.ok(!isFinished(token('```py\nx\n')));
    assert.ok(!isFinished(token('````\nx\n```')), 'shorter fence does not close');
    assert.ok(!isFinished(token('~~~\nx\n```')), 'other fence character does not close');
    assert.ok(!isFinished(token('```')));
    assert.ok(isFinished({ raw: '    x\n', text: 'x', codeBlockStyle: 'indented' }));
  });

  test('streaming: never highlighted while open, highlighted once when finished, however many frames', () => {
    const code = `${PYTHON}\n\nprint(area(2))`;
    const text = `Intro paragraph.\n\n\`\`\`python\n${code}\n\`\`\`\n\nAfter the code.\n\nMore text.`;
    const before = highlighter.runs;
    const closeAt = text.indexOf('```\n\nAfter') + 3;
    const step = 3;
    const { message, runsWhileOpen } = stream(text, step);
    const framesOpen = Math.floor(closeAt / step) - 1;
    assert.ok(
      runsWhileOpen.slice(0, framesOpen).every((runs) => runs === before),
      'nothing highlighted before the closing fence',
    );
    assert.equal(highlighter.runs - before, 1, 'one block, highlighted once (tail frames and freezing reuse it)');
    assert.ok(runsWhileOpen.length > 50);
    const blocks = message.querySelectorAll('.nbs-code');
    assert.equal(blocks.length, 1);
    assert.ok(message.querySelector('.nbs-frozen .nbs-code code span.hljs-keyword'), 'frozen block highlighted');
    assert.equal(message.querySelector('.nbs-code code')?.textContent, `${code}\n`);
  });

  test('a block that ends the reply (still in the live tail) is highlighted and gets its buttons', () => {
    const before = highlighter.runs;
    const { message } = stream('Here:\n\n```python\nx = [1, 2]\nprint(x)\n```', 4);
    assert.ok(message.querySelector('.nbs-tail .nbs-code code span'), 'highlighted in the tail');
    assert.ok(message.querySelector('.nbs-tail [data-nbstream=copy-code]'));
    assert.equal(highlighter.runs - before, 1);
  });
});

describe('highlighting in batches', () => {
  test('the blocks of one render are highlighted with one sanitize, as each would be alone', () => {
    const win = makeWindow();
    const doc = win.document;
    const proto = win.DOMParser.prototype;
    const real = proto.parseFromString;
    let parses = 0;
    proto.parseFromString = function parseFromString(...args) {
      parses += 1;
      return real.apply(this, args);
    };
    // More blocks than the highlighter keeps (64): a batch never evicts its own results.
    const sources = Array.from({ length: 70 }, (_, i) => `\`\`\`python\ndef f_${i}(x):\n    return x * ${i}\n\`\`\`\n`);
    const before = highlighter.runs;
    const pieces = renderPieces(sources, doc);
    proto.parseFromString = real;
    assert.equal(parses, 2, 'one parse for the markdown, one for the highlighted code');
    assert.equal(highlighter.runs - before, 70);
    pieces.forEach((piece, i) => {
      const host = doc.createElement('div');
      host.append(piece);
      assert.ok(host.querySelector('code.hljs span.hljs-keyword'), `block ${i} highlighted`);
      const alone = render(sources[i]).host;
      assert.equal(host.innerHTML, alone.innerHTML, `block ${i}`);
    });
  });
});

describe('Copy', () => {
  /**
   * @param {Window & typeof globalThis} win
   * @param {(text: string) => Promise<void>} writeText
   */
  function stubClipboard(win, writeText) {
    Object.defineProperty(win.navigator, 'clipboard', { value: { writeText }, configurable: true });
  }

  test('copies the exact source, special characters included, and says "Copied"', async () => {
    const { win, host } = render(`\`\`\`python\n${TRICKY}\n\`\`\``);
    /** @type {string[]} */
    const copied = [];
    stubClipboard(/** @type {any} */ (win), async (text) => {
      copied.push(text);
    });
    const button = /** @type {HTMLButtonElement} */ (host.querySelector('[data-nbstream=copy-code]'));
    button.click();
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.deepEqual(copied, [TRICKY]);
    assert.equal(button.dataset.state, 'copied');
    assert.equal(button.getAttribute('aria-label'), 'Copied');
  });

  test('falls back to execCommand when the Clipboard API refuses, still the exact text', async () => {
    const { win, doc, host } = render(`~~~\n${TRICKY}\n~~~`);
    stubClipboard(/** @type {any} */ (win), async () => {
      throw new win.DOMException('denied', 'NotAllowedError');
    });
    /** @type {string[]} */
    const copied = [];
    doc.execCommand = (/** @type {string} */ command) => {
      const area = /** @type {HTMLTextAreaElement} */ (doc.querySelector('textarea'));
      assert.equal(doc.activeElement, area, 'the text to copy is selected');
      copied.push(`${command}:${area.value}`);
      return true;
    };
    const button = /** @type {HTMLButtonElement} */ (host.querySelector('[data-nbstream=copy-code]'));
    button.focus();
    button.click();
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.deepEqual(copied, [`copy:${TRICKY}`]);
    assert.equal(button.dataset.state, 'copied');
    assert.equal(doc.querySelector('textarea'), null, 'the helper textarea is gone');
    assert.equal(doc.activeElement, button, 'focus goes back to the button');
  });

  test('when nothing can copy, the button says so', async () => {
    const { doc } = render('');
    doc.execCommand = () => false;
    assert.equal(await copyText('x', doc), false);
    const { host, doc: doc2 } = render('```\nx\n```');
    doc2.execCommand = () => false;
    const button = /** @type {HTMLButtonElement} */ (host.querySelector('[data-nbstream=copy-code]'));
    button.click();
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(button.dataset.state, 'failed');
  });

  test('a long block streamed in pieces is copied whole, from the first piece', () => {
    const lines = Array.from({ length: 300 }, (_, i) => `value_${i} = "${'<&>'.repeat(i % 7)}" * ${i}`);
    const code = lines.join('\n');
    const text = `Intro.\n\n\`\`\`python\n${code}\n\`\`\`\n\nDone.`;
    const { message } = stream(text, 97, 1024);
    const pieces = message.querySelectorAll('.nbs-code');
    assert.ok(pieces.length > 5, `${pieces.length} pieces`);
    assert.equal(message.querySelectorAll('.nbs-code-head').length, 1, 'one header, on the first piece');
    assert.equal(message.querySelectorAll('.nbs-code-cont').length, pieces.length - 1);
    const copy = /** @type {Element} */ (message.querySelector('[data-nbstream=copy-code]'));
    assert.equal(codeOf(copy), code);
    const shown = [...message.querySelectorAll('.nbs-code code')].map((el) => el.textContent).join('');
    assert.equal(shown, `${code}\n`, 'the pieces show every line once');
  });

  test('buttons: real buttons, keyboard-focusable, labelled, no text in the message', () => {
    const { host } = render('Text.\n\n```js\nlet a = 1;\n```');
    const buttons = [...host.querySelectorAll('.nbs-code-head button')];
    assert.deepEqual(buttons.map((b) => b.getAttribute('data-nbstream')), ['copy-code', 'insert-code']);
    for (const button of buttons) {
      assert.equal(button.getAttribute('type'), 'button');
      assert.equal(/** @type {HTMLButtonElement} */ (button).tabIndex, 0);
      assert.ok((button.getAttribute('aria-label') ?? '').length > 3);
      assert.equal(button.getAttribute('title'), button.getAttribute('aria-label'));
      assert.equal(button.textContent, '', 'labels are drawn by CSS');
    }
    assert.equal(host.textContent, 'Text.\nlet a = 1;\n\n');
  });
});

describe('Insert as a new cell below', () => {
  /** A notebook shared model (YNotebook) as JupyterLab's widget manager exposes it. */
  function fakeNotebook(count = 4) {
    /** @type {{cell_type: string, source: string}[]} */
    const cells = Array.from({ length: count }, (_, i) => ({ cell_type: 'code', source: `cell ${i}` }));
    /** @type {[number, any][]} */
    const inserted = [];
    const sharedModel = {
      cells,
      insertCell(/** @type {number} */ index, /** @type {any} */ cell) {
        inserted.push([index, cell]);
        cells.splice(index, 0, cell);
      },
    };
    const model = { get() {}, widget_manager: { context: { model: { sharedModel } } } };
    return { model, inserted };
  }

  /**
   * A notebook page: cells numbered as JupyterLab 4 numbers them, our widget's view in `cell`.
   * @param {string} md
   * @param {number} cell
   * @param {boolean} [numbered]
   */
  function page(md, cell, numbered = true) {
    const win = makeWindow();
    const doc = win.document;
    const notebook = doc.createElement('div');
    notebook.className = 'jp-Notebook';
    /** @type {HTMLElement | null} */
    let el = null;
    for (let i = 0; i < 4; i++) {
      const node = doc.createElement('div');
      node.className = 'jp-Cell jp-CodeCell';
      if (numbered) node.dataset.windowedListIndex = String(i);
      if (i === cell) {
        el = doc.createElement('div');
        el.append(renderMarkdown(md, doc));
        node.append(el);
      }
      notebook.append(node);
    }
    doc.body.append(notebook);
    return { doc, el: /** @type {HTMLElement} */ (el) };
  }

  test('inserts the exact code below the cell that shows the chat', () => {
    const { model, inserted } = fakeNotebook();
    const { el } = page(`\`\`\`python\n${TRICKY}\n\`\`\``, 1);
    const detach = attachCodeActions(el, model);
    assert.ok(el.classList.contains('nbs-can-insert'), 'the Insert button is shown');
    const button = /** @type {HTMLButtonElement} */ (el.querySelector('[data-nbstream=insert-code]'));
    button.click();
    assert.deepEqual(inserted, [[2, { cell_type: 'code', source: TRICKY, metadata: { trusted: false } }]]);
    assert.equal(button.dataset.state, 'inserted');
    detach();
    assert.ok(!el.classList.contains('nbs-can-insert'));
    button.click();
    assert.equal(inserted.length, 1, 'nothing after cleanup');
  });

  test('the cell index: JupyterLab numbering, else DOM order, else the end of the notebook', () => {
    assert.equal(cellIndexOf(page('x', 2).el), 2);
    assert.equal(cellIndexOf(page('x', 3, false).el), 3);
    const { model, inserted } = fakeNotebook(3);
    const win = makeWindow();
    const el = win.document.createElement('div');
    el.append(renderMarkdown('```\nprint(1)\n```', win.document));
    win.document.body.append(el);
    assert.equal(cellIndexOf(el), -1);
    attachCodeActions(el, model);
    /** @type {HTMLButtonElement} */ (el.querySelector('[data-nbstream=insert-code]')).click();
    assert.deepEqual(inserted.map(([index, cell]) => [index, cell.source]), [[3, 'print(1)']]);
  });

  test('no notebook behind the widget (VS Code, Colab, a console): the button stays hidden and inert', () => {
    for (const model of [{}, { widget_manager: {} }, { widget_manager: { context: null } },
      { widget_manager: { get context() { throw new Error('no'); } } }]) {
      const { el } = page('```\nx\n```', 0);
      const detach = attachCodeActions(el, model);
      assert.ok(!el.classList.contains('nbs-can-insert'));
      /** @type {HTMLButtonElement} */ (el.querySelector('[data-nbstream=insert-code]')).click();
      detach();
    }
  });
});
