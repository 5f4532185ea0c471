import assert from 'node:assert/strict';
import { test } from 'node:test';

import { countLines, formatSeconds, prettyOutput, preview } from '../src/format.js';

test('durations', () => {
  assert.deepEqual([0.004, 0.25, 12.34, 125.5, -1].map(formatSeconds), ['4ms', '0.3s', '12.3s', '2m 05s', '0ms']);
});

test('tool outputs: JSON objects and arrays pretty-printed, anything else verbatim', () => {
  assert.equal(prettyOutput('{"a":[1,2]}'), '{\n  "a": [\n    1,\n    2\n  ]\n}');
  assert.equal(prettyOutput(' [1]'), '[\n  1\n]');
  for (const raw of ['42', '"quoted"', 'plain text', '{not json', '<b>x</b>', '']) assert.equal(prettyOutput(raw), raw);
});

test('line counting stops early and previews cut at lines or characters', () => {
  assert.equal(countLines('a\nb\nc'), 3);
  assert.equal(countLines('x\n'.repeat(1000), 20), 21);
  assert.equal(preview('1\n2\n3\n4', 2, 100), '1\n2');
  assert.equal(preview('abcdef', 5, 3), 'abc');
  assert.equal(preview('short', 10, 100), 'short');
});
