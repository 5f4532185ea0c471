import assert from 'node:assert/strict';
import { test } from 'node:test';

import { renderMarkdown, renderPieces } from '../src/markdown.js';
import { FrameBudget, MarkdownMessage, Pace } from '../src/text_view.js';
import { makeWindow } from './helpers.js';
import { longReply } from './replies.js';

/**
 * A renderer that counts what it is handed (calls, pieces, characters) and renders each piece as plain text.
 * @param {Document} doc
 */
function countingRenderer(doc) {
  const counts = { calls: 0, pieces: 0, chars: 0 };
  const render = (/** @type {string[]} */ sources) => {
    counts.calls += 1;
    counts.pieces += sources.length;
    for (const source of sources) counts.chars += source.length;
    return sources.map((source) => {
      const fragment = doc.createDocumentFragment();
      fragment.append(source);
      return fragment;
    });
  };
  return { counts, render };
}

/**
 * The message's HTML without the seal on full groups (which depends on how many flushes there were).
 * @param {MarkdownMessage} message
 */
function content(message) {
  const copy = /** @type {HTMLElement} */ (message.el.cloneNode(true));
  for (const group of copy.querySelectorAll('[data-sealed]')) group.removeAttribute('data-sealed');
  return copy.innerHTML;
}

/**
 * A budget of one slice of at most `chars` characters per frame.
 * @param {number} chars
 * @returns {import('../src/text_view.js').Budget}
 */
const oneSlice = (chars) => ({
  spent: () => true,
  chars: () => chars,
  now: () => 0,
  cost: () => 0,
  done: () => {},
});

// Work per frame must follow the tail, not the message. The work is measured as the characters handed to
// the markdown renderer per flush (deterministic; jsdom's timings say little about a browser: `npm run
// bench` measures real Chromium). A renderer that re-parsed the whole message would hand over ~100 KB per
// frame at the end.
test('streaming a 100 KB reply: each frame renders about a block, and every character once', () => {
  const doc = makeWindow().document;
  const text = longReply(100_000);
  const item = { kind: /** @type {const} */ ('assistant'), text: '' };
  let frozen = 0;
  /** @type {number[]} */
  const perFrame = [];
  const { counts, render } = countingRenderer(doc);
  const message = new MarkdownMessage(doc, item, render);
  for (let at = 0; at < text.length; at += 60) {
    item.text = text.slice(0, at + 60);
    const before = counts.chars;
    const calls = counts.calls;
    message.flush();
    assert.ok(counts.calls - calls <= 1, 'one render (one sanitize) per frame');
    perFrame.push(counts.chars - before);
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
  assert.equal(content(streamed), content(once));
  assert.ok(streamed.el.querySelectorAll('pre code').length > 3);
  assert.ok(renderMarkdown(text, doc).querySelectorAll('h2').length === streamed.el.querySelectorAll('h2').length);
});

test('a backlog is rendered in slices, one per spent budget, and ends as a one-shot render would', () => {
  const doc = makeWindow().document;
  const text = longReply(100_000);
  const { counts, render } = countingRenderer(doc);
  const item = { kind: /** @type {const} */ ('assistant'), text };
  const sliced = new MarkdownMessage(doc, item, render);
  const limit = 3000;
  /** @type {number[]} */
  const perFrame = [];
  let frames = 0;
  for (let more = true; more; frames += 1) {
    const before = counts.chars;
    const calls = counts.calls;
    more = sliced.flush(oneSlice(limit));
    assert.equal(counts.calls - calls, 1, 'one render call (one sanitize) per slice');
    perFrame.push(counts.chars - before);
    if (more) assert.equal(sliced.tailEl.textContent, '', 'no tail while finished blocks are still missing');
    assert.ok(frames < 1000);
  }
  const tail = sliced.splitter.tail(text).length;
  const largestBlock = Math.max(...text.split('\n\n').map((block) => block.length + 2));
  assert.ok(frames >= 100_000 / (limit + largestBlock), `${frames} frames`);
  assert.ok(
    Math.max(...perFrame) <= limit + largestBlock + tail,
    `largest frame rendered ${Math.max(...perFrame)} characters`,
  );
  assert.equal(counts.chars, text.length, 'every character rendered once');
  assert.equal(sliced.flush(oneSlice(limit)), false, 'nothing left');
  assert.equal(counts.chars, text.length, 'an unchanged message renders nothing');

  const once = countingRenderer(doc);
  const whole = new MarkdownMessage(doc, { kind: 'assistant', text }, once.render);
  assert.equal(whole.flush(), false, 'no budget: all in one flush');
  assert.equal(once.counts.calls, 1, 'and one render');
  assert.equal(content(sliced), content(whole));
});

test('a frame budget sizes slices by the pace measured: cautious first, then what fits', () => {
  const doc = makeWindow().document;
  const text = longReply(200_000);
  const { counts, render } = countingRenderer(doc);
  // The clock: rendering costs 1 ms per 100 characters, and nothing else takes time.
  const clock = () => counts.chars / 100;
  const pace = new Pace();
  const message = new MarkdownMessage(doc, { kind: 'assistant', text }, render);
  const largestBlock = Math.max(...text.split('\n\n').map((block) => block.length + 2));
  /** @type {number[]} */
  const perFrame = [];
  for (let more = true; more; ) {
    const before = counts.chars;
    more = message.flush(new FrameBudget(clock, 8, pace));
    perFrame.push(counts.chars - before);
  }
  // The first frame assumes a cold page (4 ms per KB): about 2 KB, not the 800 characters 8 ms allow here.
  assert.ok(perFrame[0] <= 2048 + largestBlock, `first frame: ${perFrame[0]} characters`);
  assert.ok(Math.abs(pace.msPerChar - 0.01) < 0.002, `measured ${pace.msPerChar} ms per character`);
  // Once measured, a frame renders what fits in 8 ms (800 characters) and one block past it at most.
  const settled = perFrame.slice(10, -1);
  assert.ok(Math.max(...settled) <= 800 + largestBlock, `largest frame ${Math.max(...settled)} characters`);
  const average = settled.reduce((a, b) => a + b, 0) / settled.length;
  assert.ok(average > 400, `average frame ${average} characters`);
  assert.equal(counts.chars, text.length);
});

test('the real renderer: a backlog rendered slice by slice gives the same DOM as one flush', () => {
  const doc = makeWindow().document;
  const text = longReply(30_000);
  const sliced = new MarkdownMessage(doc, { kind: 'assistant', text });
  let frames = 1;
  while (sliced.flush(oneSlice(2000))) frames += 1;
  const once = new MarkdownMessage(doc, { kind: 'assistant', text });
  once.flush();
  assert.ok(frames > 3);
  assert.equal(content(sliced), content(once));
  // And rendering pieces together is rendering each alone.
  const chunks = text.split(/(?<=\n\n)(?=\S)/).slice(0, 40);
  const together = renderPieces(chunks, doc);
  chunks.forEach((chunk, i) => {
    const host = doc.createElement('div');
    host.append(together[i]);
    const alone = doc.createElement('div');
    alone.append(renderMarkdown(chunk, doc));
    assert.equal(host.innerHTML, alone.innerHTML, `piece ${i}`);
  });
});

test('a growing tail is re-rendered less often as it gets longer: its cost stays a share of the time', () => {
  const doc = makeWindow().document;
  // One 60 KB list with no blank line: the whole thing is the tail until it ends.
  const text = Array.from({ length: 1200 }, (_, i) => `- item ${i} of a list that never stops\n`).join('');
  let time = 0;
  let rendered = 0;
  const render = (/** @type {string[]} */ sources) =>
    sources.map((source) => {
      time += source.length / 100; // 1 ms per 100 characters
      rendered += source.length;
      const fragment = doc.createDocumentFragment();
      fragment.append(source);
      return fragment;
    });
  const item = { kind: /** @type {const} */ ('assistant'), text: '' };
  const message = new MarkdownMessage(doc, item, render);
  const pace = new Pace(0.01);
  let renders = 0;
  for (let at = 0; at < text.length; at += 160) {
    item.text = text.slice(0, at + 160);
    const before = rendered;
    message.flush(new FrameBudget(() => time, 8, pace));
    if (rendered > before) renders += 1;
    time += 40; // the next batch of text, 40 ms later
  }
  const frames = Math.ceil(text.length / 160);
  // Every frame would render the whole tail: ~frames²/2 × 160 characters in all (~1.8M here).
  assert.ok(rendered < 10 * text.length, `${rendered} characters rendered for ${text.length}`);
  assert.ok(rendered / 100 < 0.3 * time, `${rendered / 100} ms of rendering in ${time} ms`);
  assert.ok(renders < frames, `${renders} renders in ${frames} frames`);
  assert.ok(renders > 20, 'still shown as it grows');
  // Once the text stops, the tail that waited is shown.
  while (message.flush(new FrameBudget(() => time, 8, pace))) time += 16;
  assert.equal(message.tailEl.textContent, text);
});

test('a full group is sealed (skipped off screen by CSS) only at a later flush, once a frame laid it out', () => {
  const doc = makeWindow().document;
  const text = longReply(60_000);
  const message = new MarkdownMessage(doc, { kind: 'assistant', text }, countingRenderer(doc).render);
  /** @type {Set<Element>} */
  let before = new Set();
  for (let more = true; more; ) {
    more = message.flush(oneSlice(4000));
    const groups = [...message.frozenEl.children];
    for (const group of groups) {
      if (group.hasAttribute('data-sealed')) assert.ok(before.has(group), 'sealed in the flush that made it');
    }
    before = new Set(groups);
    const last = groups[groups.length - 1];
    assert.ok(!last?.hasAttribute('data-sealed'), 'the group blocks go into is never sealed');
  }
  message.item.text += '\n\nMore.';
  message.flush(oneSlice(4000));
  const groups = [...message.frozenEl.children];
  assert.ok(groups.length > 3);
  assert.ok(groups.slice(0, -1).every((group) => group.hasAttribute('data-sealed')), 'every full group, in the end');
  assert.ok(groups.slice(0, -1).every((group) => group.childElementCount === 24));
});
