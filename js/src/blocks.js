// Incremental split of a growing markdown message into complete blocks (rendered once) and a live tail.
//
// A block ends at a blank line outside any code fence, confirmed only when the next line starts at column 0:
// an indented line after a blank line continues the block (a list item's second paragraph, indented code).
// Each `update` scans only the text added since the last call, so the work per frame is the size of the new
// text plus the size of the tail — never the size of the message.
//
// Two caps keep the tail small whatever the model writes:
//   - an indented continuation longer than `maxTail` is split anyway;
//   - a fenced code block longer than `maxTail` is cut at a line end: the frozen part gets a closing fence and
//     the tail re-opens the fence (same info string, plus `CONTINUED`), so a 100 KB code block renders as
//     consecutive <pre>s, the later ones marked as continuing the first (code_blocks.js joins them for Copy).

const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})(.*)$/;
/**
 * Ends the info string of a fence re-opened after a cut (a private-use character: marked keeps it in the
 * code token's `lang`, the sanitizer drops the class it lands in), so the renderer knows the piece continues
 * the code block before it.
 */
export const CONTINUED = '\uE000';

export class BlockSplitter {
  /** @param {{maxTail?: number}} [options] */
  constructor({ maxTail = 8192 } = {}) {
    this.maxTail = maxTail;
    /** End of the frozen text: text[0:frozen] has been handed out as chunks. */
    this.frozen = 0;
    /** Prepended to the next piece when a fence was cut (the fence's opening line). */
    this.reopen = '';
    /** Start of the first line not scanned yet. */
    this.scanned = 0;
    /** The open fence: its marker and opening line, or null outside a fence. */
    /** @type {{char: string, length: number, line: string} | null} */
    this.fence = null;
    /** Start of the line after a blank line (a possible split), or -1. */
    this.candidate = -1;
  }

  /**
   * Scan what was appended to `text` since the last call (text must only grow).
   * @param {string} text
   * @returns {string[]} new complete chunks, in order, each to be rendered once
   */
  update(text) {
    /** @type {string[]} */
    const chunks = [];
    for (let end = text.indexOf('\n', this.scanned); end !== -1; end = text.indexOf('\n', this.scanned)) {
      const cr = end > this.scanned && text[end - 1] === '\r' ? 1 : 0;
      this.#line(text, text.slice(this.scanned, end - cr), end + 1, chunks);
      this.scanned = end + 1;
    }
    // The partial last line can already confirm a split: its first non-blank character says whether it
    // continues the previous block.
    if (this.candidate !== -1 && this.fence === null) {
      const partial = text.slice(this.scanned, this.scanned + 64);
      const firstInk = partial.search(/\S/);
      if (firstInk !== -1) this.#decide(text, firstInk > 0, chunks);
    }
    return chunks;
  }

  /**
   * The live tail: everything after the frozen chunks.
   * @param {string} text
   */
  tail(text) {
    return this.reopen + text.slice(this.frozen);
  }

  /**
   * @param {string} text
   * @param {string} line  without its line ending
   * @param {number} next  index of the following line
   * @param {string[]} chunks
   */
  #line(text, line, next, chunks) {
    if (this.fence !== null) {
      if (closesFence(line, this.fence)) this.fence = null;
      else if (next - this.frozen > this.maxTail) this.#cutFence(text, next, chunks);
      return;
    }
    if (line.trim() === '') {
      if (this.candidate === -1) this.candidate = next;
      return;
    }
    if (this.candidate !== -1) this.#decide(text, line[0] === ' ' || line[0] === '\t', chunks);
    const open = FENCE_OPEN.exec(line);
    // A backtick fence's info string may not contain backticks (that is inline code).
    if (open && !(open[1][0] === '`' && open[2].includes('`'))) {
      this.fence = { char: open[1][0], length: open[1].length, line };
    }
  }

  /**
   * @param {string} text
   * @param {boolean} indented  the line after the blank line starts with whitespace
   * @param {string[]} chunks
   */
  #decide(text, indented, chunks) {
    const at = this.candidate;
    this.candidate = -1;
    if (indented && at - this.frozen <= this.maxTail) return;
    this.#freeze(text, at, '', chunks);
  }

  /**
   * @param {string} text
   * @param {number} at  a line start inside the open fence
   * @param {string[]} chunks
   */
  #cutFence(text, at, chunks) {
    const fence = /** @type {{char: string, length: number, line: string}} */ (this.fence);
    const closer = fence.char.repeat(fence.length);
    this.#freeze(text, at, `${closer}\n`, chunks);
    this.reopen = `${fence.line}${CONTINUED}\n`;
  }

  /**
   * @param {string} text
   * @param {number} at
   * @param {string} suffix
   * @param {string[]} chunks
   */
  #freeze(text, at, suffix, chunks) {
    if (at <= this.frozen) return;
    chunks.push(this.reopen + text.slice(this.frozen, at) + suffix);
    this.reopen = '';
    this.frozen = at;
  }
}

/**
 * @param {string} line
 * @param {{char: string, length: number}} fence
 */
function closesFence(line, fence) {
  const match = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(line);
  return match !== null && match[1][0] === fence.char && match[1].length >= fence.length;
}
