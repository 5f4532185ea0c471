// A long, realistic model reply for scaling tests and the bench: headings, paragraphs, lists, code, tables.

/** @param {number} size  characters, at least */
export function longReply(size) {
  const parts = [];
  let length = 0;
  for (let i = 0; length < size; i += 1) {
    const section = [
      `## Section ${i}`,
      `Here is **paragraph ${i}** with \`inline code\`, a [link](https://example.com/${i}) and some *emphasis*. ` +
        'It goes on for a while, the way a model explains things when it has a lot to say about a topic.',
      `- point ${i}.a\n- point ${i}.b with more words\n  - nested ${i}`,
      `\`\`\`python\ndef f_${i}(x):\n\n    return x * ${i}\n\`\`\``,
      `| key | value |\n|-----|-------|\n| ${i} | ${i * i} |`,
    ].join('\n\n');
    parts.push(section);
    length += section.length + 2;
  }
  return parts.join('\n\n');
}
