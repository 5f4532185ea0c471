import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { BlockSplitter, CONTINUED } from '../src/blocks.js';

/**
 * Feed `text` in pieces of `step` characters; return every chunk and the final tail.
 * @param {string} text
 * @param {number} step
 * @param {number} [maxTail]
 */
function stream(text, step, maxTail) {
  const splitter = new BlockSplitter({ maxTail });
  /** @type {string[]} */
  const chunks = [];
  let maxTailSeen = 0;
  for (let end = step; end < text.length + step; end += step) {
    const sofar = text.slice(0, Math.min(end, text.length));
    chunks.push(...splitter.update(sofar));
    maxTailSeen = Math.max(maxTailSeen, splitter.tail(sofar).length);
  }
  return { chunks, tail: splitter.tail(text), maxTailSeen };
}

describe('block splitting', () => {
  test('paragraphs freeze at blank lines; the last block is the tail', () => {
    const { chunks, tail } = stream('First para.\n\nSecond para.\n\nThird, still strea', 1000);
    assert.deepEqual(chunks, ['First para.\n\n', 'Second para.\n\n']);
    assert.equal(tail, 'Third, still strea');
  });

  test('a split waits for the next line to start, then freezes at once', () => {
    const splitter = new BlockSplitter();
    assert.deepEqual(splitter.update('One.\n\n'), []);
    assert.deepEqual(splitter.update('One.\n\n   '), [], 'blank so far: could be an indented continuation');
    const splitter2 = new BlockSplitter();
    splitter2.update('One.\n\n');
    assert.deepEqual(splitter2.update('One.\n\nT'), ['One.\n\n']);
    assert.equal(splitter2.tail('One.\n\nT'), 'T');
  });

  test('blank lines inside a code fence never split it', () => {
    const text = 'Intro.\n\n```python\ndef f():\n\n    return 1\n\n\nx = 2\n```\n\nAfter.';
    const { chunks, tail } = stream(text, 3);
    assert.deepEqual(chunks, ['Intro.\n\n', '```python\ndef f():\n\n    return 1\n\n\nx = 2\n```\n\n']);
    assert.equal(tail, 'After.');
  });

  test('fences close only with the same character and at least the same length', () => {
    const text = '~~~~\na\n\n```\nb\n\n~~~\nc\n\n~~~~~\n\nout';
    const { chunks, tail } = stream(text, 1);
    assert.deepEqual(chunks, ['~~~~\na\n\n```\nb\n\n~~~\nc\n\n~~~~~\n\n']);
    assert.equal(tail, 'out');
  });

  test('inline triple backticks with a backtick in the info string are not a fence', () => {
    const { chunks } = stream('```a` b```\n\nnext\n\nlast', 1);
    assert.deepEqual(chunks, ['```a` b```\n\n', 'next\n\n']);
  });

  test('indented continuations stay with their block (list items, indented code)', () => {
    const text = '1. first\n\n   more about first\n\n2. second\n\n    indented code\n\nend';
    const { chunks, tail } = stream(text, 2);
    assert.deepEqual(chunks, ['1. first\n\n   more about first\n\n', '2. second\n\n    indented code\n\n']);
    assert.equal(tail, 'end');
  });

  test('CRLF line endings', () => {
    const { chunks, tail } = stream('a\r\n\r\n```\r\nx\r\n\r\n```\r\n\r\nb', 1);
    assert.deepEqual(chunks, ['a\r\n\r\n', '```\r\nx\r\n\r\n```\r\n\r\n']);
    assert.equal(tail, 'b');
  });

  test('the pieces are the text, whatever the delta sizes', () => {
    const text = [
      '# Title', '', 'Some *text* and `code`.', '', '- a', '- b', '', '  still b', '', '```js', 'let x;', '',
      'x = 1;', '```', '', '> quote', '', '| a | b |', '|---|---|', '| 1 | 2 |', '', 'tail',
    ].join('\n');
    const whole = stream(text, text.length);
    for (const step of [1, 2, 3, 7, 50]) {
      const pieces = stream(text, step);
      assert.deepEqual(pieces.chunks, whole.chunks, `step ${step}`);
      assert.equal(pieces.chunks.join('') + pieces.tail, text);
    }
  });

  test('a long code block is cut into closed fences and the tail re-opens it', () => {
    const lines = Array.from({ length: 400 }, (_, i) => `line ${i} ${'x'.repeat(30)}`);
    const text = `Intro\n\n\`\`\`py\n${lines.join('\n')}\n\`\`\`\n\nDone.`;
    const { chunks, tail, maxTailSeen } = stream(text, 17, 2048);
    assert.ok(chunks.length > 5, `cut into ${chunks.length} chunks`);
    for (const chunk of chunks.slice(2, -1)) {
      assert.ok(chunk.startsWith(`\`\`\`py${CONTINUED}\n`), 'each piece opens the fence again, marked as continued');
      assert.ok(chunk.endsWith('```\n'), 'and closes it');
    }
    assert.ok(maxTailSeen < 2048 + 100, `tail stays small (${maxTailSeen})`);
    assert.equal(tail, 'Done.');
    assert.ok(chunks[1].startsWith('```py\n') && chunks[1].endsWith('```\n'), 'the first piece: the fence as written');
    const body = chunks.slice(1).join('').replace(/```py\uE000?\n|```\n\n?/g, '');
    assert.equal(body, `${lines.join('\n')}\n`, 'no line lost or doubled');
  });

  test('a 100 KB reply keeps the tail bounded (work per frame ~ tail, not message)', () => {
    const paragraph = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(8);
    const blocks = [];
    for (let i = 0; blocks.join('\n\n').length < 100_000; i++) {
      blocks.push(i % 5 === 4 ? `\`\`\`\ncode ${i}\n\nmore\n\`\`\`` : `${i}. ${paragraph}`);
    }
    const text = blocks.join('\n\n');
    const { chunks, tail, maxTailSeen } = stream(text, 40);
    assert.ok(text.length >= 100_000);
    assert.ok(maxTailSeen < 2 * paragraph.length, `largest tail ${maxTailSeen}`);
    assert.equal(chunks.join('') + tail, text);
  });
});
