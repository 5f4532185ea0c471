// The conversation's text pieces: user prompts, notices, turn footers, and assistant text segments as streaming
// markdown.
//
// A segment's finished blocks are each rendered once into a contained box (CSS `contain: content`), in groups
// of GROUP_SIZE, so the browser's per-frame layout touches a few group boxes plus the live tail, never every
// block of a long reply. A full group is sealed (`data-sealed`) at the flush after it filled, once a frame laid
// it out: CSS then skips it while it is off screen (`content-visibility: auto`, at its remembered size).
//
// Each frame renders within a time budget (`FrameBudget`, FRAME_BUDGET_MS of script): finished blocks go in
// slices, one sanitize per slice (markdown.js `renderPieces`), each slice sized to what is left of the budget at
// the pace measured so far (`Pace`: ms per character, starting cautious, so the first slices of a page, when
// nothing is compiled yet, stay small); what does not fit waits for the next frame. A reply that arrives all at
// once thus fills in over a few frames instead of one long task. The live tail goes with the last slice, and is
// rendered again only when it changed; a tail longer than TAIL_FREE_CHARS (a big table, a long list with no
// blank line) no sooner than TAIL_WAIT times its cost at the measured pace after its last render, so it is
// re-rendered less often the longer it gets and the time spent on it stays a share of the time that passes.

import { BlockSplitter } from './blocks.js';
import { element } from './dom.js';
import { renderImages } from './images_view.js';
import { renderPieces } from './markdown.js';
import { foldLongText } from './prompt_view.js';

/** Finished blocks per group box. */
const GROUP_SIZE = 24;
/**
 * Script time per frame for markdown. The browser then styles, lays out and paints what was added (about as
 * long again), and the whole frame must stay well under the 50 ms that make a long task.
 */
export const FRAME_BUDGET_MS = 5;
/** The most markdown characters in one slice (one sanitize), however fast the pace. */
export const MAX_SLICE_CHARS = 16_384;
/** The pace assumed before any slice was timed: 4 ms per KB, about what a page's first, cold render costs. */
const FIRST_MS_PER_CHAR = 4 / 1024;
/** A tail up to this long is rendered again whenever it changed (at most once per frame). */
const TAIL_FREE_CHARS = 2048;
/** A longer one no sooner than this many times its cost after its last render (~25% of the time at most). */
const TAIL_WAIT = 3;

/** @typedef {import('./reducer.js').Item} Item */
/** @typedef {import('./reducer.js').AssistantItem} AssistantItem */
/** @typedef {import('./reducer.js').ReasoningItem} ReasoningItem */
/** @typedef {import('./images_view.js').OpenImage} OpenImage */

/** How fast markdown renders here: ms per character, a moving average over the slices timed. */
export class Pace {
  constructor(msPerChar = FIRST_MS_PER_CHAR) {
    this.msPerChar = msPerChar;
  }

  /**
   * @param {number} chars
   * @param {number} ms
   */
  record(chars, ms) {
    if (chars > 0) this.msPerChar = 0.7 * this.msPerChar + 0.3 * (Math.max(ms, 0) / chars);
  }
}

/** The page's pace, shared by every message and view (it measures the machine). */
const pace = new Pace();

/**
 * @typedef {object} Budget
 * @property {() => boolean} spent  whether the frame's time is used up
 * @property {() => number} chars  markdown characters the next slice may take (a slice has one block at least)
 * @property {() => number} now  the clock, in ms
 * @property {(chars: number) => number} cost  ms that rendering so many characters takes, at the measured pace
 * @property {(started: number, chars: number) => void} done  a slice of `chars` started at `started` is done
 */

/**
 * The time one frame may spend rendering markdown.
 * @implements {Budget}
 */
export class FrameBudget {
  /**
   * @param {() => number} now  a clock in ms (`performance.now`)
   * @param {number} [ms]
   * @param {Pace} [measured]
   */
  constructor(now, ms = FRAME_BUDGET_MS, measured = pace) {
    this.now = now;
    this.deadline = now() + ms;
    this.pace = measured;
  }

  spent() {
    return this.now() >= this.deadline;
  }

  chars() {
    const left = (this.deadline - this.now()) / this.pace.msPerChar;
    return Math.max(0, Math.min(MAX_SLICE_CHARS, Math.floor(left)));
  }

  /** @param {number} chars */
  cost(chars) {
    return chars * this.pace.msPerChar;
  }

  /**
   * @param {number} started
   * @param {number} chars
   */
  done(started, chars) {
    this.pace.record(chars, this.now() - started);
  }
}

/**
 * No limit: everything is rendered now, in one slice (a view built from a saved transcript, tests).
 * @type {Budget}
 */
const UNLIMITED = { spent: () => false, chars: () => Infinity, now: () => 0, cost: () => 0, done: () => {} };

/**
 * One assistant message (or reasoning section): complete blocks are rendered once and appended; only the tail
 * is re-rendered. `flush` is called at most once per animation frame by the view's scheduler.
 */
export class MarkdownMessage {
  /**
   * @param {Document} doc
   * @param {AssistantItem | ReasoningItem} item
   * @param {(sources: string[], doc: Document) => DocumentFragment[]} [render]  markdown -> sanitized DOM
   * @param {{hook?: string, className?: string}} [options]  the element's data-nbstream and class
   */
  constructor(doc, item, render = renderPieces, { hook = 'assistant', className = 'nbs-assistant nbs-md' } = {}) {
    this.doc = doc;
    this.item = item;
    this.render = render;
    this.el = element(doc, 'div', className, hook);
    this.frozenEl = element(doc, 'div', 'nbs-frozen');
    this.tailEl = element(doc, 'div', 'nbs-tail');
    this.el.append(this.frozenEl, this.tailEl);
    this.splitter = new BlockSplitter();
    /** How much of the text the splitter has seen. */
    this.scanned = 0;
    /** @type {string[]} finished blocks not rendered yet (from `next` on) */
    this.backlog = [];
    this.next = 0;
    /** The tail's markdown as shown ('' when nothing is). */
    this.tailShown = '';
    /** When the tail was last rendered (ms, on the budget's clock). */
    this.tailAt = -Infinity;
    /** @type {HTMLElement | null} the group finished blocks are appended to */
    this.group = null;
    /** @type {HTMLElement[]} full groups not sealed yet */
    this.filled = [];
  }

  /**
   * Render what arrived since the last flush, within the budget: one slice at least (progress every frame),
   * more while the budget lasts.
   * @param {Budget} [budget]
   * @returns {boolean} whether work is left for a later frame (finished blocks, or a tail that waits)
   */
  flush(budget = UNLIMITED) {
    // A frame has rendered since they filled: their size is known, they may be skipped off screen.
    for (const group of this.filled) group.dataset.sealed = '';
    this.filled = [];
    const { text } = this.item;
    if (text.length !== this.scanned) {
      this.scanned = text.length;
      for (const chunk of this.splitter.update(text)) this.backlog.push(chunk);
    }
    let waits = false;
    do {
      const started = budget.now();
      const end = sliceEnd(this.backlog, this.next, budget.chars());
      const chunks = this.backlog.slice(this.next, end);
      const last = end === this.backlog.length;
      const tail = last ? this.splitter.tail(text) : '';
      let withTail = last && tail !== this.tailShown;
      // A tail that only grew waits its turn (see the top of this file); once blocks froze it must change.
      const wait = tail.length > TAIL_FREE_CHARS ? TAIL_WAIT * budget.cost(tail.length) : 0;
      if (withTail && chunks.length === 0 && started < this.tailAt + wait) {
        withTail = false;
        waits = true;
      }
      if (chunks.length === 0 && !withTail) break;
      const pieces = this.render(withTail ? [...chunks, tail] : chunks, this.doc);
      for (const piece of pieces.slice(0, chunks.length)) this.#append(piece);
      // Until the backlog is done the old tail shows text now in finished blocks: it goes.
      if (withTail || (!last && this.tailShown !== '')) {
        this.tailEl.replaceChildren(...(withTail ? [pieces[chunks.length]] : []));
        this.tailShown = tail;
      }
      this.next = end;
      const chars = chunks.reduce((sum, chunk) => sum + chunk.length, withTail ? tail.length : 0);
      budget.done(started, chars);
      if (withTail) this.tailAt = budget.now();
    } while (this.next < this.backlog.length && !budget.spent());
    if (this.next < this.backlog.length) return true;
    this.backlog = [];
    this.next = 0;
    return waits;
  }

  /** @param {DocumentFragment} piece  a finished block */
  #append(piece) {
    if (this.group === null || this.group.childElementCount >= GROUP_SIZE) {
      if (this.group !== null) this.filled.push(this.group);
      this.group = element(this.doc, 'div', 'nbs-blocks');
      this.frozenEl.append(this.group);
    }
    const block = element(this.doc, 'div', 'nbs-done');
    block.append(piece);
    this.group.append(block);
  }
}

/**
 * The end of the slice that starts at `start`: blocks up to `limit` characters of markdown, at least one.
 * @param {string[]} chunks
 * @param {number} start
 * @param {number} limit
 */
function sliceEnd(chunks, start, limit) {
  let end = start;
  let size = 0;
  while (end < chunks.length && (end === start || size + chunks[end].length <= limit)) {
    size += chunks[end].length;
    end += 1;
  }
  return end;
}

/**
 * The element for a text-area item (assistant messages also get their MarkdownMessage).
 * @param {Document} doc
 * @param {Item} item
 * @param {OpenImage} [openImage]  enlarges a prompt's image
 * @returns {{el: HTMLElement, message: MarkdownMessage | null}}
 */
export function renderItem(doc, item, openImage = () => {}) {
  if (item.kind === 'assistant') {
    const message = new MarkdownMessage(doc, item);
    return { el: message.el, message };
  }
  if (item.kind === 'call') throw new Error('a call item is a tool card (tools_view.js)');
  if (item.kind === 'reasoning') throw new Error('a reasoning item is a section (reasoning_view.js)');
  if (item.kind === 'user') {
    // A long (pasted) prompt is folded to its first lines, with a button to show it all.
    const el = element(doc, 'div', 'nbs-user', 'user');
    el.append(foldLongText(doc, item.text));
    const images = renderImages(doc, item.images ?? [], openImage);
    if (images !== null) el.append(images);
    return { el, message: null };
  }
  if (item.kind === 'metrics') {
    const el = element(doc, 'div', 'nbs-turn-metrics', 'turn-metrics');
    el.textContent = item.text;
    if (item.title) el.title = item.title;
    return { el, message: null };
  }
  const el = element(doc, 'div', `nbs-notice nbs-${item.level}`, 'notice');
  el.textContent = item.text;
  return { el, message: null };
}

/**
 * Runs queued work once per animation frame, with that frame's budget; a timer stands in when frames do not
 * come (hidden tab, a host that throttles requestAnimationFrame). Work left over asks for another frame.
 */
export class FrameScheduler {
  /**
   * @param {Window} win
   * @param {(budget: FrameBudget) => void} run
   * @param {number} [fallbackMs]
   */
  constructor(win, run, fallbackMs = 250) {
    this.win = win;
    this.run = run;
    this.fallbackMs = fallbackMs;
    /** @type {number | null} */
    this.frame = null;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.timer = null;
    this.fire = this.fire.bind(this);
  }

  request() {
    if (this.frame !== null || this.timer !== null) return;
    if (typeof this.win.requestAnimationFrame === 'function' && !this.win.document.hidden) {
      this.frame = this.win.requestAnimationFrame(this.fire);
    }
    this.timer = setTimeout(this.fire, this.frame === null ? 0 : this.fallbackMs);
  }

  fire() {
    this.cancel();
    const clock = this.win.performance;
    this.run(new FrameBudget(() => clock.now()));
  }

  cancel() {
    if (this.frame !== null) this.win.cancelAnimationFrame(this.frame);
    if (this.timer !== null) clearTimeout(this.timer);
    this.frame = null;
    this.timer = null;
  }
}
