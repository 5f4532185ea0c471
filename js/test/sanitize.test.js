import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { JSDOM } from 'jsdom';

import { codeOf } from '../src/code_blocks.js';
import { isSafeUrl, renderMarkdown, renderPieces, sanitize } from '../src/markdown.js';
import { HR_SEPARATOR, sanitizeEach } from '../src/sanitize_batch.js';

// A window that *would* run scripts and inline handlers, to catch anything executable that slips through.
const makeWindow = () =>
  new JSDOM('<!doctype html><body></body>', { runScripts: 'dangerously', pretendToBeVisual: true }).window;
let win = makeWindow();
let doc = win.document;
/**
 * A fresh window: jsdom adds listeners to the window for every document it makes (DOMPurify makes one per
 * call), so events in a window that rendered thousands of blocks get slow.
 */
function freshWindow() {
  win.close();
  win = makeWindow();
  doc = win.document;
}

const ALLOWED_TAGS = new Set([
  'A', 'BLOCKQUOTE', 'BR', 'CODE', 'DEL', 'EM', 'H1', 'H2', 'H3', 'H4', 'H5', 'H6', 'HR', 'LI', 'OL', 'P', 'PRE',
  'STRONG', 'TABLE', 'TBODY', 'TD', 'TH', 'THEAD', 'TR', 'UL',
]);
const ALLOWED_ATTRS = new Set(['href', 'title', 'start', 'align', 'target', 'rel']);
const SAFE_SCHEMES = new Set(['http:', 'https:', 'mailto:']);
// What code_blocks.js adds around a code block (made with DOM calls): only inside its wrapper, only these.
const CODE_TAGS = new Set(['DIV', 'SPAN', 'BUTTON']);
const CODE_ATTRS = new Set(['class', 'type', 'aria-label', 'data-nbstream', 'data-state']);
const CODE_CLASSES = /^(?:nbs-code|nbs-code-cont|nbs-code-head|nbs-code-lang|nbs-code-button|hljs|hljs-[a-z0-9_-]+|[a-z]+_+)$/;
const CODE_HOOKS = new Set(['code', 'copy-code', 'insert-code']);

/**
 * Nothing executable: only allowed tags and attributes, every href resolves to http(s)/mailto, and firing
 * the usual events on every element runs nothing.
 * @param {DocumentFragment} fragment
 * @param {string} vector
 * @param {{fire?: boolean}} [options]  fire: also fire the events (slow in jsdom; the tag/attribute checks are
 *   what make the guarantee)
 */
function assertInert(fragment, vector, { fire = true } = {}) {
  const host = doc.createElement('div');
  host.append(fragment);
  doc.body.append(host);
  try {
    for (const el of host.querySelectorAll('*')) {
      const chrome = el.closest('.nbs-code') !== null;
      assert.ok(
        ALLOWED_TAGS.has(el.tagName) || (chrome && CODE_TAGS.has(el.tagName)),
        `${vector}: tag <${el.tagName}> survived`,
      );
      for (const attr of el.attributes) {
        assert.ok(
          ALLOWED_ATTRS.has(attr.name) || (chrome && CODE_ATTRS.has(attr.name)),
          `${vector}: attribute ${attr.name} survived`,
        );
      }
      for (const name of el.classList) assert.match(name, CODE_CLASSES, `${vector}: class ${name}`);
      if (el.hasAttribute('data-nbstream')) {
        assert.ok(CODE_HOOKS.has(/** @type {string} */ (el.getAttribute('data-nbstream'))), vector);
      }
      if (el.tagName === 'BUTTON') assert.equal(el.getAttribute('type'), 'button');
      const href = el.getAttribute('href');
      if (href !== null) {
        const scheme = new URL(href, 'https://base.invalid/').protocol;
        assert.ok(SAFE_SCHEMES.has(scheme), `${vector}: href ${JSON.stringify(href)} (${scheme})`);
        assert.equal(el.getAttribute('rel'), 'noopener noreferrer');
        assert.equal(el.getAttribute('target'), '_blank');
      }
      if (!fire) continue;
      for (const type of ['load', 'error', 'click', 'mouseover', 'focus', 'toggle', 'animationstart']) {
        el.dispatchEvent(new win.Event(type));
      }
    }
    assert.equal(/** @type {any} */ (win).pwned, undefined, `${vector}: code ran`);
  } finally {
    host.remove();
  }
  return host;
}

// Model output that tries to run code. Each goes through the full markdown pipeline.
const MARKDOWN_VECTORS = [
  '<script>window.pwned = 1</script>',
  'text <script>window.pwned = 1</script> inline',
  '<img src=x onerror="window.pwned = 1">',
  '<svg onload="window.pwned = 1"><circle r="5"/></svg>',
  '<svg><a xlink:href="javascript:window.pwned=1"><text>x</text></a></svg>',
  '<math><mi xlink:href="javascript:window.pwned=1">x</mi></math>',
  '<iframe src="javascript:window.pwned=1"></iframe>',
  '<iframe srcdoc="<script>parent.pwned=1</script>"></iframe>',
  '<object data="javascript:window.pwned=1"></object>',
  '<embed src="data:text/html,<script>parent.pwned=1</script>">',
  '<a href="jAvAsCrIpT:window.pwned=1">x</a>',
  '<style>body { background: url(javascript:window.pwned=1) }</style>',
  '<div style="background:url(javascript:window.pwned=1)">styled</div>',
  '<form action="javascript:window.pwned=1"><button formaction="javascript:window.pwned=1">go</button></form>',
  '<details open ontoggle="window.pwned=1">x</details>',
  '<base href="javascript:window.pwned=1//">',
  '<meta http-equiv="refresh" content="0;url=javascript:window.pwned=1">',
  '<noscript><p title="</noscript><img src=x onerror=window.pwned=1>"></noscript>',
  '<<script>script>window.pwned=1<</script>/script>',
  '<img src="x" onerror="window.pwned=1"',
  '<a href="javascript:window.pwned=1"',
  '[click](javascript:window.pwned=1)',
  '[click](JaVaScRiPt:window.pwned=1)',
  '[click](  javascript:window.pwned=1)',
  '[click](<java\tscript:window.pwned=1>)',
  '[click](&#106;avascript:window.pwned=1)',
  '[click](&#x6A;&#x61;vascript&colon;window.pwned=1)',
  '[click](javascript&#58;window.pwned=1)',
  '[click](&#14;javascript:window.pwned=1)',
  '[click](data:text/html;base64,PHNjcmlwdD5wYXJlbnQucHduZWQ9MTwvc2NyaXB0Pg==)',
  '[click](vbscript:msgbox(1))',
  '[click](VBScript:msgbox(1))',
  '<javascript:window.pwned=1>',
  '[ref][1]\n\n[1]: javascript:window.pwned=1',
  '![img](javascript:window.pwned=1)',
  '![img](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9InBhcmVudC5wd25lZD0xIi8+)',
  '![x](x" onerror="window.pwned=1)',
  '[x](https://ok.example "t\\" onmouseover=\\"window.pwned=1")',
  '`<script>window.pwned=1</script>`',
  '```html\n<script>window.pwned=1</script>\n```',
  '| a | b |\n|---|---|\n| <img src=x onerror=window.pwned=1> | <script>window.pwned=1</script> |',
  '- [ ] <input onfocus=window.pwned=1 autofocus>',
  '<a id="x" name="body">clobber</a><form name="getElementById"></form>',
];

describe('the harness', () => {
  test('catches markup that is not sanitized, and would run its handlers', () => {
    const raw = (/** @type {string} */ html) => doc.createRange().createContextualFragment(html);
    assert.throws(() => assertInert(raw('<p>ok</p><img src=x>'), 'img'), /tag <IMG>/);
    assert.throws(() => assertInert(raw('<a href="javascript:void 0">x</a>'), 'js link'), /href/);
    assert.throws(() => assertInert(raw('<p onclick="window.pwned = 1">x</p>'), 'handler'), /onclick/);
    const p = raw('<p onclick="window.pwned = 1">x</p>').firstChild;
    doc.body.append(/** @type {Node} */ (p));
    p?.dispatchEvent(new win.Event('click'));
    assert.equal(/** @type {any} */ (win).pwned, 1, 'inline handlers do run in this window');
    delete (/** @type {any} */ (win).pwned);
    p?.remove();
  });
});

describe('markdown from the model is inert', () => {
  test(`${MARKDOWN_VECTORS.length} XSS vectors`, () => {
    assert.ok(MARKDOWN_VECTORS.length >= 20);
    for (const vector of MARKDOWN_VECTORS) assertInert(renderMarkdown(vector, doc), vector);
  });

  test('raw HTML is shown as text, not dropped silently', () => {
    const host = assertInert(renderMarkdown('before <b onclick="x()">bold</b> after', doc), 'raw html');
    assert.equal(host.querySelector('b'), null);
    assert.match(host.textContent ?? '', /<b onclick="x\(\)">bold<\/b>/);
  });

  test('streaming pieces (unclosed tags, half a link) stay inert', () => {
    const vector = '<img src=x onerror="window.pwned=1"> and [a link](javascript:window.pwned=1)';
    for (let end = 1; end <= vector.length; end += 1) {
      assertInert(renderMarkdown(vector.slice(0, end), doc), vector.slice(0, end));
    }
  });
});

describe('pieces rendered together (one sanitize per frame)', () => {
  /**
   * Count the documents DOMPurify parses (it parses every input with DOMParser).
   * @param {() => void} run
   */
  function parses(run) {
    const proto = win.DOMParser.prototype;
    const real = proto.parseFromString;
    let calls = 0;
    proto.parseFromString = function parseFromString(...args) {
      calls += 1;
      return real.apply(this, args);
    };
    try {
      run();
    } finally {
      proto.parseFromString = real;
    }
    return calls;
  }

  /** @param {Node} node */
  const html = (node) => {
    const host = doc.createElement('div');
    host.append(node);
    return host.innerHTML;
  };

  test('every vector, in one batch: one parse, each piece inert and as rendered alone', () => {
    freshWindow();
    const sources = [...MARKDOWN_VECTORS, ...MARKDOWN_VECTORS.map((vector) => `\`\`\`python\n${vector}\n\`\`\``)];
    /** @type {DocumentFragment[]} */
    let pieces = [];
    // One parse for the markdown, one for the highlighted code blocks.
    assert.equal(parses(() => (pieces = renderPieces(sources, doc))), 2);
    assert.equal(pieces.length, sources.length);
    sources.forEach((source, i) => {
      const alone = html(renderMarkdown(source, doc));
      assert.equal(html(pieces[i].cloneNode(true)), alone, source);
      assertInert(pieces[i], source, { fire: false });
    });
  });

  test('a piece whose markup could swallow the separator is still sanitized on its own', () => {
    const pieces = ['<p>a', '<hr></p><hr><p>b</p>', '<table><tr><td>c'];
    const forged = { html: '<hr>', is: (/** @type {Node} */ node) => node.nodeName === 'HR' };
    let calls = 0;
    const clean = (/** @type {string} */ markup) => {
      calls += 1;
      return sanitize(markup, doc);
    };
    const out = sanitizeEach(clean, pieces, forged, doc);
    assert.equal(calls, 1 + pieces.length, 'the split did not match: one sanitize per piece');
    pieces.forEach((piece, i) => assert.equal(html(out[i]), html(sanitize(piece, doc)), piece));
    // The real separator is not something markdown can make: an <hr> from markdown has no title.
    assert.equal(html(renderMarkdown('---', doc)).trim(), '<hr>');
    assert.ok(!HR_SEPARATOR.is(/** @type {Node} */ (renderMarkdown('---', doc).firstChild)));
    const escaped = renderPieces(['a', `${HR_SEPARATOR.html}`, 'b'], doc);
    assert.equal(escaped.length, 3);
    assert.match(html(escaped[1]), /&lt;hr title=/, 'raw HTML with the marker is text');
  });
});

describe('code blocks from the model are inert, whatever their language label', () => {
  // Every language code_blocks.js highlights, none, an unknown one, and hostile labels: with every vector.
  // Aliases (same grammars) and info-string forms: with a few vectors (jsdom makes each render cost ~10 ms).
  const LABELS = [
    '', 'python', 'javascript', 'typescript', 'json', 'bash', 'shell', 'sql', 'xml', 'css', 'markdown', 'yaml',
    'rust', '"><img src=x onerror=window.pwned=1>', '<script>window.pwned=1</script>',
    'javascript:window.pwned=1', `html onload=window.pwned=1 ${'y'.repeat(300)}`,
  ];
  const ALIASES = [
    'py', 'python3', 'js', 'jsx', 'ts', 'tsx', 'sh', 'zsh', 'console', 'postgresql', 'html', 'svg', 'md', 'yml',
    'HTML', '{.python}', 'python title="x"',
  ];
  const FENCE = '~~~~~~';
  /** Labels whose blocks also get every event fired on every element (the others: tags and attributes). */
  const FIRE = new Set(LABELS);

  /**
   * @param {string} label
   * @param {string} vector
   */
  function check(label, vector) {
    const name = `${JSON.stringify(label)}: ${vector}`;
    const fire = FIRE.has(label);
    const host = assertInert(renderMarkdown(`${FENCE}${label}\n${vector}\n${FENCE}`, doc), name, { fire });
    const code = host.querySelector('.nbs-code pre > code');
    assert.equal(code?.textContent, `${vector}\n`, name);
    const copy = host.querySelector('[data-nbstream=copy-code]');
    assert.ok(copy, name);
    assert.equal(codeOf(/** @type {Element} */ (copy)), vector, `${name}: Copy takes the source`);
    assert.equal(host.querySelector('.nbs-code-lang')?.children.length, 0, 'the label is never markup');
    return code?.querySelector('span') ? 1 : 0;
  }

  test(`${MARKDOWN_VECTORS.length} vectors x ${LABELS.length} labels, the code kept exactly`, () => {
    let highlighted = 0;
    for (const label of LABELS) {
      freshWindow();
      for (const vector of MARKDOWN_VECTORS) highlighted += check(label, vector);
    }
    assert.ok(highlighted > MARKDOWN_VECTORS.length * 8, `highlighting ran (${highlighted} blocks)`);
  });

  test(`${ALIASES.length} aliases and info-string forms`, () => {
    let highlighted = 0;
    freshWindow();
    for (const label of ALIASES) for (const vector of MARKDOWN_VECTORS.slice(0, 8)) highlighted += check(label, vector);
    assert.ok(highlighted >= ALIASES.length * 6, `highlighting ran (${highlighted} blocks)`);
  });

  test('a fence still streaming, and a fence inside a list, stay inert', () => {
    freshWindow();
    for (const vector of MARKDOWN_VECTORS) {
      assertInert(renderMarkdown(`\`\`\`html\n${vector}`, doc), `open fence: ${vector}`);
      assertInert(renderMarkdown(`- item\n\n  \`\`\`js\n  ${vector}\n  \`\`\``, doc), `list: ${vector}`);
    }
  });
});

describe('the DOMPurify layer alone (HTML straight in)', () => {
  const HTML_VECTORS = [
    '<script>window.pwned=1</script>',
    '<img src=x onerror=window.pwned=1>',
    '<svg onload=window.pwned=1>',
    '<a href="javascript:window.pwned=1">x</a>',
    '<a href="&#106;avascript:window.pwned=1">x</a>',
    '<a href="data:text/html,<script>parent.pwned=1</script>">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href=" &#x09;javascript:window.pwned=1">x</a>',
    '<iframe src=javascript:window.pwned=1>',
    '<math><maction actiontype="statusline" xlink:href="javascript:window.pwned=1">x</maction></math>',
    '<form action="javascript:window.pwned=1"><input type=submit></form>',
    '<p style="x:expression(window.pwned=1)" onclick="window.pwned=1">p</p>',
    '<svg><style><img src=x onerror=window.pwned=1></style></svg>',
    '<table><td background="javascript:window.pwned=1">x</td></table>',
    '<p><a href="https://ok.example" onclick="window.pwned=1" class="jp-Dialog" id="main">ok</a></p>',
  ];
  test(`${HTML_VECTORS.length} vectors`, () => {
    for (const vector of HTML_VECTORS) assertInert(sanitize(vector, doc), vector);
  });
});

describe('what survives', () => {
  test('safe links open in a new tab without an opener', () => {
    const host = assertInert(
      renderMarkdown('[site](https://example.com/a?b=1) [mail](mailto:a@b.c) [rel](docs/page.html) [frag](#x)', doc),
      'links',
    );
    const hrefs = [...host.querySelectorAll('a')].map((a) => a.getAttribute('href'));
    assert.deepEqual(hrefs, ['https://example.com/a?b=1', 'mailto:a@b.c', 'docs/page.html', '#x']);
  });

  test('markdown structure: headings, lists, code, tables, quotes', () => {
    const md = '# T\n\n1. one\n2. two\n\n```js\nlet a = "<b>";\n```\n\n| h |\n|---|\n| c |\n\n> q\n\n~~gone~~ *em* **strong**';
    const host = assertInert(renderMarkdown(md, doc), 'structure');
    for (const tag of ['h1', 'ol', 'pre code', 'table', 'blockquote', 'del', 'em', 'strong']) {
      assert.ok(host.querySelector(tag), tag);
    }
    assert.equal(host.querySelector('pre code')?.textContent, 'let a = "<b>";\n');
  });

  test('an ordered list split into blocks keeps its numbering', () => {
    const host = assertInert(renderMarkdown('3. third', doc), 'ol start');
    assert.equal(host.querySelector('ol')?.getAttribute('start'), '3');
  });

  test('isSafeUrl', () => {
    for (const url of ['https://a.b', 'http://a.b', 'mailto:x@y', '/abs', 'rel', '#frag', '?q=1', '//cdn.x/y']) {
      assert.ok(isSafeUrl(url), url);
    }
    for (const url of ['javascript:x', ' JAVASCRIPT:x', 'java\nscript:x', 'java\u0000script:x', 'data:x',
      'vbscript:x', 'file:///etc/passwd', 'blob:https://a/b', '\u200bjavascript:x']) {
      assert.ok(!isSafeUrl(url), JSON.stringify(url));
    }
  });
});
