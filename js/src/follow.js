// Where the conversation sits on screen while a reply streams: the end stays in view unless the reader scrolled
// away, and the prompt box does not move under the reader's eyes.
//
// Following: while the end of the conversation is on screen (an IntersectionObserver on a sentinel says so,
// without reading layout), a frame that added content scrolls the sentinel, then the prompt box below it, into
// view ("nearest": nothing moves while they are visible). The observer reports a frame late, so a reader who
// scrolls up between two frames would be pulled back down by the next one: a scroll that moves up, in anything
// that holds the conversation, unpins at once (scroll events run before animation frames, and following only
// ever scrolls down).
//
// Room for the reply: the page scrolls, not the widget, so a reply that grows the conversation would push the
// prompt box down line by line. Sending from the box reserves the room between the box and the bottom of the
// visible area as the conversation's minimum height: the box moves once, at the user's own action, and the
// reply streams into that room; a longer reply reaches the bottom, where following keeps the box in place. The
// room stays until the next send (giving it back at the turn's end would move the box again). A conversation
// with a maximum height (`--nbs-max-height`) scrolls itself, so it needs no room.

/** The `overflow-y` values that make an element a scroll container. */
const SCROLLING = new Set(['auto', 'scroll', 'overlay']);
/** How much taller than the widget a scroll container that only wraps it may be (its padding). */
const WRAPPER_SLACK = 64;

export class Follower {
  /**
   * @param {HTMLElement} log  the conversation; the sentinel is its last child
   * @param {HTMLElement} sentinel
   * @param {HTMLElement} prompt  the prompt box, below the conversation
   */
  constructor(log, sentinel, prompt) {
    this.log = log;
    this.sentinel = sentinel;
    this.prompt = prompt;
    this.doc = /** @type {Document} */ (log.ownerDocument);
    this.win = /** @type {Window} */ (this.doc.defaultView);
    /** Whether the end of the conversation is on screen, so new content should stay in view. */
    this.pinned = false;
    /** @type {WeakMap<EventTarget, number>} the last scroll offset seen per scroll container */
    this.scrollTops = new WeakMap();
    /** @type {IntersectionObserver | null} */
    this.observer = null;
    if (typeof this.win.IntersectionObserver === 'function') {
      this.observer = new this.win.IntersectionObserver((entries) => {
        for (const entry of entries) this.pinned = entry.isIntersecting;
      });
      this.observer.observe(sentinel);
    }
    this.onScroll = this.onScroll.bind(this);
    this.doc.addEventListener('scroll', this.onScroll, { capture: true, passive: true });
  }

  /** @param {Event} event */
  onScroll(event) {
    const target = event.target;
    const scroller = target === this.doc ? this.doc.scrollingElement : /** @type {Element | null} */ (target);
    if (!scroller || !scroller.contains(this.sentinel)) return;
    const top = scroller.scrollTop;
    const before = this.scrollTops.get(scroller);
    this.scrollTops.set(scroller, top);
    if (before !== undefined && top < before) this.pinned = false;
  }

  /** After a frame that added content: keep the end, and the prompt box, in view if the reader is there. */
  keepInView() {
    if (!this.pinned) return;
    this.sentinel.scrollIntoView({ block: 'nearest' });
    this.prompt.scrollIntoView({ block: 'nearest' });
  }

  /** A prompt is being sent from the box: reserve the visible room below the box for the reply (see above). */
  reserveRoom() {
    this.log.style.minHeight = '';
    if (this.win.getComputedStyle(this.log).maxHeight !== 'none') return;
    const box = this.prompt.getBoundingClientRect();
    const [top, bottom] = this.visibleArea();
    if (box.top < top || box.bottom > bottom) return; // the box is not wholly on screen: nothing to keep in place
    const room = Math.floor(bottom - box.bottom);
    if (room > 0) this.log.style.minHeight = `${this.log.getBoundingClientRect().height + room}px`;
  }

  /** Give the room back (the conversation was cleared or rebuilt). */
  releaseRoom() {
    this.log.style.minHeight = '';
  }

  /**
   * The top and bottom of the area where the widget can be seen: the window, cut by every scroll container
   * around the widget except those that merely wrap it (a host's output area with `overflow: auto` grows with
   * its content, so it bounds nothing: it does not scroll, and it is at most a little taller than the widget).
   * @returns {[number, number]}
   */
  visibleArea() {
    let top = 0;
    let bottom = this.win.innerHeight;
    const root = this.log.parentElement;
    const height = root ? root.getBoundingClientRect().height : 0;
    for (let el = root?.parentElement ?? null; el !== null; el = el.parentElement) {
      if (!SCROLLING.has(this.win.getComputedStyle(el).overflowY)) continue;
      const rect = el.getBoundingClientRect();
      if (el.scrollHeight <= el.clientHeight + 1 && rect.height <= height + WRAPPER_SLACK) continue;
      top = Math.max(top, rect.top);
      bottom = Math.min(bottom, rect.bottom);
    }
    return [top, bottom];
  }

  dispose() {
    this.observer?.disconnect();
    this.doc.removeEventListener('scroll', this.onScroll, { capture: true });
  }
}
