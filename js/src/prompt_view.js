// The prompt area of a StreamChat view (textarea, Send, Stop, "queued" indicator), and `foldLongText` for
// long user prompts in the conversation.
//
// Keys in the textarea:
// - Enter sends; Shift+Enter types a new line; Enter while an IME composes text only ends the composition.
// - Enter or Send while a turn runs sends too: the kernel queues the turn, and the box says "N queued" until the
//   turns it sent have started (see `setBusy`).
// - Escape leaves the prompt for the notebook: focus goes to the cell that holds the widget, so JupyterLab /
//   Notebook 7 is in command mode and its keys (arrows, A, B, ...) work again.
// - Ctrl/Cmd+S reaches the notebook's shortcut handler, which saves the notebook.
// - Every other key stops at the textarea: JupyterLab 4 and Notebook 7 read shortcuts from keydown events that
//   bubble to `document`, so letters typed here never run notebook commands.
//
// Lumino ignores a key whose target has an ancestor with `data-lm-suppress-shortcuts` (the view's root sets it
// today). For Ctrl/Cmd+S this module lifts that attribute from the ancestors while that one keydown event
// bubbles, and puts it back once the event reached `window` (or on the next task, if someone stopped it): the
// rest of the widget stays suppressed.
//
// Height: the textarea starts at one line and grows with its text up to `maxLines` lines or `maxViewport` of
// the window's height, whichever is smaller; past that it scrolls. It is measured on input and when the value
// is set from script, never on a timer, so streaming text costs nothing here.
//
// Layout: the view places `.el` below the conversation, and keeps it in place while a reply streams (see
// follow.js: the room reserved at each send, and following the end).

import { element } from './dom.js';

/** Lines the textarea shows before it scrolls. */
const MAX_LINES = 8;
/** Fraction of the window's height the textarea may take before it scrolls. */
const MAX_VIEWPORT = 0.4;
/**
 * After a turn ends, how long prompts sent from this box still count as waiting: a queued turn starts at once,
 * so if none starts within this time the kernel dropped them (a stop from Python, a closed chat).
 */
const QUEUE_GRACE_MS = 3000;
const SUPPRESS = 'data-lm-suppress-shortcuts';

/**
 * @typedef {object} PromptCallbacks
 * @property {(text: string) => void} onSend  a non-blank prompt to send (queued by the kernel if a turn runs)
 * @property {() => void} onStop
 * @property {number} [maxLines]  lines before the textarea scrolls (8)
 * @property {number} [maxViewport]  fraction of the window's height before it scrolls (0.4)
 */

export class PromptBox {
  /**
   * @param {Document} doc
   * @param {PromptCallbacks} options
   */
  constructor(doc, options) {
    this.doc = doc;
    this.win = /** @type {Window} */ (doc.defaultView);
    this.onSend = options.onSend;
    this.onStop = options.onStop;
    this.maxLines = options.maxLines ?? MAX_LINES;
    this.maxViewport = options.maxViewport ?? MAX_VIEWPORT;
    /** Whether a turn runs (`setBusy`). */
    this.busy = false;
    /** Whether the kernel is gone (`setDisabled`). */
    this.disabled = false;
    /** Prompts sent from this box whose turn has not started yet. */
    this.waiting = 0;
    /** Whether an IME composition is in progress (some browsers end it before the Enter keydown). */
    this.composing = false;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.graceTimer = null;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.restoreTimer = null;
    /** @type {(() => void) | null} puts lifted `data-lm-suppress-shortcuts` attributes back */
    this.restoreSuppress = null;
    /** Width the textarea was last measured at (a ResizeObserver re-measures when it changes). */
    this.measuredWidth = -1;

    this.el = element(doc, 'div', 'nbs-promptbox', 'prompt-box');
    this.textarea = /** @type {HTMLTextAreaElement} */ (element(doc, 'textarea', 'nbs-prompt', 'prompt'));
    this.textarea.rows = 1;
    this.textarea.placeholder = 'Message the model (Enter sends, Shift+Enter adds a line)';
    this.textarea.setAttribute('aria-label', 'Prompt');
    this.textarea.setAttribute('aria-keyshortcuts', 'Enter Escape');
    this.queuedEl = element(doc, 'span', 'nbs-queued', 'queued');
    this.queuedEl.setAttribute('role', 'status');
    this.queuedEl.title = 'Sent while a turn runs: each starts when the turns before it have ended.';
    this.queuedEl.hidden = true;
    this.sendButton = button(doc, 'Send', 'send', 'nbs-button nbs-primary');
    this.stopButton = button(doc, 'Stop', 'stop', 'nbs-button nbs-danger');
    const actions = element(doc, 'div', 'nbs-prompt-actions');
    actions.append(this.queuedEl, this.sendButton, this.stopButton);
    this.el.append(this.textarea, actions);

    this.onKeydown = this.onKeydown.bind(this);
    this.onInput = () => this.resize();
    this.onCompositionStart = () => {
      this.composing = true;
    };
    this.onCompositionEnd = () => {
      this.composing = false;
    };
    this.onSendClick = () => {
      this.submit();
      if (!this.disabled) this.textarea.focus();
    };
    this.onStopClick = () => {
      if (this.disabled) return;
      // The kernel drops the queued turns along with the running one.
      this.setWaiting(0);
      this.onStop();
    };
    this.textarea.addEventListener('keydown', this.onKeydown);
    this.textarea.addEventListener('input', this.onInput);
    this.textarea.addEventListener('compositionstart', this.onCompositionStart);
    this.textarea.addEventListener('compositionend', this.onCompositionEnd);
    this.sendButton.addEventListener('click', this.onSendClick);
    this.stopButton.addEventListener('click', this.onStopClick);
    // A wider or narrower box re-wraps the text: measure again (only when the width changed, so setting the
    // height does not loop).
    const Observer = /** @type {any} */ (this.win).ResizeObserver;
    /** @type {ResizeObserver | null} */
    this.observer = Observer
      ? new Observer((/** @type {ResizeObserverEntry[]} */ entries) => {
          const width = entries[0]?.contentRect.width ?? -1;
          if (width !== this.measuredWidth) this.resize();
        })
      : null;
    this.observer?.observe(this.textarea);
    this.update();
  }

  /** The text typed so far. */
  get value() {
    return this.textarea.value;
  }

  /** Replace the text (a draft restored by the view, say) and fit the height to it. */
  set value(text) {
    this.textarea.value = text;
    this.resize();
  }

  /**
   * A turn runs (`true`) or not. Stop is enabled while one runs; Enter and Send keep working and queue.
   * Each start of a turn (false → true) is taken to be the oldest prompt this box sent; when turns end and
   * none starts within a few seconds, nothing is waiting any more.
   * @param {boolean} busy
   */
  setBusy(busy) {
    if (busy === this.busy) return;
    this.busy = busy;
    this.clearGrace();
    if (busy) this.setWaiting(Math.max(0, this.waiting - 1));
    else this.startGrace();
    this.update();
  }

  /**
   * The kernel is gone (`true`): nothing can be sent or stopped. The text typed stays.
   * @param {boolean} disabled
   */
  setDisabled(disabled) {
    this.disabled = disabled;
    if (disabled) {
      this.clearGrace();
      this.setWaiting(0);
    }
    this.update();
  }

  focus() {
    this.textarea.focus();
  }

  /** Send what was typed, if anything: the kernel runs it now or queues it behind the running turn. */
  submit() {
    const text = this.textarea.value;
    if (this.disabled || !text.trim()) return;
    this.textarea.value = '';
    this.resize();
    this.setWaiting(this.waiting + 1);
    if (!this.busy) this.startGrace();
    this.onSend(text);
  }

  /** @param {KeyboardEvent} event */
  onKeydown(event) {
    const accel = event.ctrlKey || event.metaKey;
    if (accel && !event.altKey && !event.shiftKey && event.key.toLowerCase() === 's') {
      // Save the notebook: JupyterLab's handler must see this key.
      this.liftSuppression();
      return;
    }
    event.stopPropagation();
    // 229: a key an IME is processing (Safari sends Enter with isComposing false just after compositionend).
    const composing = event.isComposing || this.composing || event.keyCode === 229;
    if (event.key === 'Escape') {
      if (composing) return; // Escape cancels the composition first
      event.preventDefault();
      this.leave();
      return;
    }
    if (event.key !== 'Enter' || event.shiftKey || composing) return;
    event.preventDefault();
    this.submit();
  }

  /**
   * Give the keyboard back to the notebook: blur the textarea and focus the cell that holds the widget (its
   * notebook then switches to command mode), else the notebook; elsewhere just blur.
   */
  leave() {
    const target = /** @type {HTMLElement | null} */ (
      this.el.closest('.jp-Cell') ?? this.el.closest('.jp-Notebook')
    );
    this.textarea.blur();
    if (target) {
      if (!target.hasAttribute('tabindex') && target.tabIndex < 0) target.tabIndex = -1;
      target.focus({ preventScroll: true });
    }
  }

  /** Let this keydown reach Lumino's shortcut handler despite `data-lm-suppress-shortcuts` ancestors. */
  liftSuppression() {
    this.putSuppressionBack();
    /** @type {Element[]} */
    const lifted = [];
    for (let node = this.el.parentElement; node !== null; node = node.parentElement) {
      if (node.hasAttribute(SUPPRESS)) lifted.push(node);
    }
    if (lifted.length === 0) return;
    const values = lifted.map((node) => /** @type {string} */ (node.getAttribute(SUPPRESS)));
    for (const node of lifted) node.removeAttribute(SUPPRESS);
    const restore = () => {
      this.win.removeEventListener('keydown', restore);
      if (this.restoreTimer !== null) clearTimeout(this.restoreTimer);
      this.restoreTimer = null;
      this.restoreSuppress = null;
      lifted.forEach((node, i) => node.setAttribute(SUPPRESS, values[i]));
    };
    this.restoreSuppress = restore;
    // window's bubbling listeners run after document's, where Lumino listens; the timer covers an event that
    // someone stopped on the way.
    this.win.addEventListener('keydown', restore);
    this.restoreTimer = setTimeout(restore, 0);
  }

  putSuppressionBack() {
    this.restoreSuppress?.();
  }

  /** Fit the textarea's height to its text, up to the limit; past it the textarea scrolls. */
  resize() {
    const ta = this.textarea;
    const style = this.win.getComputedStyle(ta);
    const px = (/** @type {string} */ value) => parseFloat(value) || 0;
    const borders = px(style.borderTopWidth) + px(style.borderBottomWidth);
    const padding = px(style.paddingTop) + px(style.paddingBottom);
    const lineHeight = px(style.lineHeight) || 1.5 * (px(style.fontSize) || 14);
    const limit = Math.min(
      this.maxLines * lineHeight + padding + borders,
      Math.max(this.maxViewport * (this.win.innerHeight || 0), lineHeight + padding + borders),
    );
    // Hold the box's height while the textarea is measured at 'auto', so its container (and the page's scroll
    // position) never sees it shrink for a moment.
    const held = this.el.offsetHeight;
    if (held > 0) this.el.style.minHeight = `${held}px`;
    ta.style.height = 'auto';
    const content = ta.scrollHeight + borders;
    const height = Math.min(content, limit);
    ta.style.height = `${Math.ceil(height)}px`;
    ta.style.overflowY = content > limit + 1 ? 'auto' : 'hidden';
    this.el.style.minHeight = '';
    this.el.dataset.overflow = String(content > limit + 1);
    this.measuredWidth = ta.getBoundingClientRect().width;
  }

  /** @param {number} count */
  setWaiting(count) {
    this.waiting = count;
    this.updateQueued();
  }

  startGrace() {
    this.clearGrace();
    if (this.waiting === 0) return;
    this.graceTimer = setTimeout(() => {
      this.graceTimer = null;
      this.setWaiting(0);
    }, QUEUE_GRACE_MS);
  }

  clearGrace() {
    if (this.graceTimer !== null) clearTimeout(this.graceTimer);
    this.graceTimer = null;
  }

  /** Prompts waiting behind the running turn: when no turn runs, the oldest one is about to start. */
  queued() {
    return this.busy ? this.waiting : Math.max(0, this.waiting - 1);
  }

  updateQueued() {
    const queued = this.disabled ? 0 : this.queued();
    this.queuedEl.hidden = queued === 0;
    this.queuedEl.textContent = queued === 0 ? '' : `${queued} queued`;
    this.el.dataset.queued = String(queued);
  }

  update() {
    this.textarea.disabled = this.disabled;
    this.sendButton.disabled = this.disabled;
    this.stopButton.disabled = this.disabled || !this.busy;
    this.sendButton.title = this.busy ? 'Queue this prompt: it runs when the current turn ends' : 'Send (Enter)';
    this.el.dataset.busy = String(this.busy);
    this.updateQueued();
  }

  /** Remove listeners and timers (and the element). */
  dispose() {
    this.clearGrace();
    this.putSuppressionBack();
    this.observer?.disconnect();
    this.textarea.removeEventListener('keydown', this.onKeydown);
    this.textarea.removeEventListener('input', this.onInput);
    this.textarea.removeEventListener('compositionstart', this.onCompositionStart);
    this.textarea.removeEventListener('compositionend', this.onCompositionEnd);
    this.sendButton.removeEventListener('click', this.onSendClick);
    this.stopButton.removeEventListener('click', this.onStopClick);
    this.el.remove();
  }
}

/** Characters a folded prompt shows. */
const FOLD_CHARS = 800;
/** Lines a folded prompt shows. */
const FOLD_LINES = 10;

/**
 * A long plain text (a pasted prompt) shown folded: its first `maxLines` lines / `maxChars` characters and a
 * "Show more" button that shows it all ("Show less" folds it again). A text within both limits is shown whole,
 * with no button. Text only (`textContent`): markup in `text` is shown, never parsed.
 * @param {Document} doc
 * @param {string} text
 * @param {{ maxChars?: number, maxLines?: number }} [options]
 * @returns {HTMLElement}
 */
export function foldLongText(doc, text, options = {}) {
  const maxChars = options.maxChars ?? FOLD_CHARS;
  const maxLines = options.maxLines ?? FOLD_LINES;
  const box = element(doc, 'div', 'nbs-fold', 'fold');
  const body = element(doc, 'div', 'nbs-fold-text', 'fold-text');
  box.append(body);
  const preview = foldPreview(text, maxChars, maxLines);
  if (preview === null) {
    body.textContent = text;
    return box;
  }
  const hidden = text.length - preview.length;
  const toggle = /** @type {HTMLButtonElement} */ (element(doc, 'button', 'nbs-link nbs-fold-toggle', 'fold-toggle'));
  toggle.type = 'button';
  const show = (/** @type {boolean} */ folded) => {
    box.dataset.folded = String(folded);
    body.textContent = folded ? `${preview}…` : text;
    toggle.textContent = folded ? 'Show more' : 'Show less';
    toggle.title = folded ? `Show ${hidden.toLocaleString('en-US')} more characters` : 'Fold this text';
    toggle.setAttribute('aria-expanded', String(!folded));
  };
  toggle.addEventListener('click', () => show(box.dataset.folded !== 'true'));
  show(true);
  box.append(toggle);
  return box;
}

/**
 * The start of `text` within the limits, or null when the whole text fits.
 * @param {string} text
 * @param {number} maxChars
 * @param {number} maxLines
 */
function foldPreview(text, maxChars, maxLines) {
  let end = text.length;
  let newlines = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) {
    newlines += 1;
    if (newlines === maxLines) {
      end = i;
      break;
    }
  }
  if (end > maxChars) {
    end = maxChars;
    // End at a space when one is near, and never between the halves of a surrogate pair.
    const space = text.lastIndexOf(' ', end);
    if (space > maxChars * 0.8) end = space;
    else if (/[\uDC00-\uDFFF]/.test(text[end] ?? '')) end -= 1;
  }
  if (end >= text.length) return null;
  return text.slice(0, end).trimEnd();
}

/**
 * @param {Document} doc
 * @param {string} label
 * @param {string} hook
 * @param {string} className
 */
function button(doc, label, hook, className) {
  const el = /** @type {HTMLButtonElement} */ (element(doc, 'button', className, hook));
  el.type = 'button';
  el.textContent = label;
  return el;
}
