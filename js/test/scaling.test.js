import assert from 'node:assert/strict';
import { test } from 'node:test';

import { renderMarkdown } from '../src/markdown.js';
import { MarkdownMessage } from '../src/text_view.js';
import { makeWindow } from './helpers.js';
import { longReply } from './replies.js';

// Work per frame must follow the tail, not the message. The work is measured as the characters handed to
// the markdown renderer per flush (deterministic; jsdom's timings say little about a browser: `npm run
// bench` measures real Chromium). A renderer that re-parsed the whole message would hand over ~100 KB per
// frame at the end.
test('streaming a 100 KB reply: each frame renders about a block, and every character once', () => {
  const doc = makeWindow().document;
  const text = longReply(100_000);
  const item = { kind: /** @type {const} */ ('assistant'), text: '' };
  let frame = 0;
  let frozen = 0;
  /** @type {number[]} */
  const perFrame = [];
  const render = (/** @type {string} */ source) => {
    frame += source.length;
    const fragment = doc.createDocumentFragment();
    fragment.append(source);
    return fragment;
  };
  const message = new MarkdownMessage(doc, item, render);
  for (let at = 0; at < text.length; at += 60) {
    item.text = text.slice(0, at + 60);
    frame = 0;
    message.flush();
    perFrame.push(frame);
    frozen = message.frozenEl.textContent?.length ?? 0;
  }
  const largest = Math.max(...perFrame);
  assert.ok(largest < 1500, `largest frame rendered ${largest} characters`);
  const early = perFrame.slice(0, 300).reduce((a, b) => a + b, 0);
  const late = perFrame.slice(-300).reduce((a, b) => a + b, 0);
  assert.ok(late < early * 2, `early ${early} vs late ${late} characters`);
  assert.equal(frozen + message.tailEl.textContent.length, text.length, 'frozen + tail is the whole text');
});

test('the real renderer gives the same DOM streamed or at once (block by block)', () => {
  const doc = makeWindow().document;
  const text = longReply(3000);
  const item = { kind: /** @type {const} */ ('assistant'), text: '' };
  const streamed = new MarkdownMessage(doc, item);
  for (let at = 0; at < text.length; at += 97) {
    item.text = text.slice(0, at + 97);
    streamed.flush();
  }
  const once = new MarkdownMessage(doc, { kind: 'assistant', text });
  once.flush();
  assert.equal(streamed.el.innerHTML, once.el.innerHTML);
  assert.ok(streamed.el.querySelectorAll('pre code').length > 3);
  assert.ok(renderMarkdown(text, doc).querySelectorAll('h2').length === streamed.el.querySelectorAll('h2').length);
});
