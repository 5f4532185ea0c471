// One segment of a chat's DOM (committed turns, or the live turn), turn by turn, patched from the reducer's changes.
//
// A turn (`data-nbstream=turn`) holds the prompt, an activity line ("3 tools · 2.1s", or "working…" while tools
// run), then the reply in order — each step's reasoning section (reasoning_view.js), text segments, and each tool
// call's card where the call was made. In quiet mode (`view="quiet"`) the cards sit in the turn's activity panel,
// folded, and only the text, the folded reasoning and the activity line show. Images (a prompt's, a tool
// result's) are thumbnails; the chat view's one viewer enlarges them (images_view.js).
//
// Cheap changes (cards, timers) are patched at once; markdown only goes into the chat view's `dirty` set, which
// it flushes once per animation frame (view.js).

import { element } from './dom.js';
import { activitySummary, formatSeconds } from './format.js';
import { ReasoningSection } from './reasoning_view.js';
import { isFinished } from './reducer.js';
import { renderItem } from './text_view.js';
import { ToolCard } from './tools_view.js';

/** @typedef {import('./reducer.js').ChatState} ChatState */
/** @typedef {import('./reducer.js').Change} Change */
/** @typedef {import('./reducer.js').Item} Item */
/** @typedef {import('./store.js').ChatStore} ChatStore */
/** @typedef {import('./text_view.js').MarkdownMessage} MarkdownMessage */
/** @typedef {import('./reasoning_view.js').ReasoningHost} ReasoningHost */

/**
 * @typedef {object} SegmentParts  what segments and turns use of their chat view, besides its ReasoningHost part
 * @property {ChatStore} store  sends Approve / Deny, gives the time for tool timers
 * @property {Set<MarkdownMessage>} dirty  messages with text not rendered yet (the view flushes them each frame)
 * @property {import('./images_view.js').OpenImage} openImage  the view's one image viewer
 */
/** @typedef {ReasoningHost & SegmentParts} SegmentHost  the chat view (view.js `ChatView`) */

/** One turn: the prompt, the activity line and panel, and the reply's flow of text segments and cards. */
class TurnView {
  /** @param {SegmentHost} view */
  constructor(view) {
    this.view = view;
    const doc = view.doc;
    this.el = element(doc, 'section', 'nbs-turn', 'turn');
    this.activity = element(doc, 'div', 'nbs-activity', 'activity');
    this.activity.hidden = true;
    this.summary = /** @type {HTMLButtonElement} */ (element(doc, 'button', 'nbs-activity-summary', 'activity-summary'));
    this.summary.type = 'button';
    this.summary.addEventListener('click', () => {
      this.choice = !this.expanded();
      this.layout();
    });
    this.panel = element(doc, 'div', 'nbs-activity-panel', 'activity-panel');
    this.activity.append(this.summary, this.panel);
    this.flow = element(doc, 'div', 'nbs-flow');
    this.el.append(this.activity, this.flow);
    /** @type {ToolCard[]} */
    this.cards = [];
    /** @type {Map<ToolCard, HTMLElement>} where each card goes in the flow (detailed mode) */
    this.slots = new Map();
    /** @type {boolean | null} the reader's choice (the summary clicked), else the mode decides */
    this.choice = null;
    this.shown = '';
  }

  /** @param {HTMLElement} el */
  addPrompt(el) {
    this.el.prepend(el);
  }

  /** @param {ToolCard} card */
  addCard(card) {
    const slot = element(this.view.doc, 'span', 'nbs-slot');
    this.flow.append(slot);
    this.slots.set(card, slot);
    this.cards.push(card);
    this.activity.hidden = false;
    this.place(card);
    this.refresh(this.view.store.now());
  }

  /** @param {ToolCard} card */
  place(card) {
    if (this.view.quiet) this.panel.append(card.el);
    else this.slots.get(card)?.after(card.el);
  }

  expanded() {
    if (this.choice !== null) return this.choice;
    if (!this.view.quiet) return true;
    // A call waiting for Approve / Deny is never folded away.
    return this.cards.some((card) => card.call.state === 'awaiting_approval');
  }

  /** Put every card where the mode says (the mode changed). */
  placeAll() {
    for (const card of this.cards) this.place(card);
  }

  /** Show or fold the cards. */
  layout() {
    const expanded = this.expanded();
    this.summary.setAttribute('aria-expanded', String(expanded));
    this.el.dataset.folded = String(!expanded);
    this.panel.hidden = !this.view.quiet || !expanded;
  }

  /**
   * The activity line: what runs now (with timers), or what the turn did. O(calls of this turn).
   * @param {number} nowMs
   */
  refresh(nowMs) {
    const calls = this.cards.map((card) => card.call);
    if (calls.length === 0) return;
    const waiting = calls.filter((call) => call.state === 'awaiting_approval');
    const live = calls.filter((call) => !isFinished(call));
    let state = 'done';
    let text;
    if (waiting.length > 0) {
      state = 'approval';
      text = `needs approval · ${waiting.map((call) => call.name).join(', ')}`;
    } else if (live.length > 0) {
      state = 'working';
      const parts = live.map((call) =>
        call.state === 'running' && call.startedMs !== null
          ? `${call.name} ${formatSeconds((nowMs - call.startedMs) / 1000)}`
          : call.name,
      );
      text = `working… · ${parts.join(', ')}`;
    } else {
      const failed = calls.filter((call) => call.state === 'error').length;
      text = activitySummary(calls) + (failed > 0 ? ` · ${failed} failed` : '');
    }
    if (text === this.shown && this.activity.dataset.state === state) return;
    const wasApproval = this.activity.dataset.state === 'approval';
    this.shown = text;
    this.summary.textContent = text;
    this.activity.dataset.state = state;
    if (wasApproval !== (state === 'approval') || this.summary.getAttribute('aria-expanded') === null) {
      this.layout();
    }
  }
}

/** The DOM of one segment of the store (committed turns, or the live turn): its turns, in order. */
export class SegmentView {
  /**
   * @param {SegmentHost} view
   * @param {ChatState} state
   */
  constructor(view, state) {
    this.view = view;
    this.state = state;
    this.el = element(view.doc, 'div', 'nbs-segment');
    /** @type {TurnView[]} */
    this.turns = [];
    /** @type {Map<Item, MarkdownMessage>} */
    this.messages = new Map();
    /** @type {Map<Item, ReasoningSection>} */
    this.reasonings = new Map();
    /** @type {Map<string, {card: ToolCard, turn: TurnView}>} */
    this.cards = new Map();
    for (const item of state.items) this.addItem(item);
    for (const message of this.messages.values()) message.flush();
  }

  /** The turn new items go to (one is made for a reply that came without a prompt). */
  currentTurn() {
    const last = this.turns[this.turns.length - 1];
    return last ?? this.newTurn();
  }

  newTurn() {
    const turn = new TurnView(this.view);
    this.turns.push(turn);
    this.el.append(turn.el);
    return turn;
  }

  /**
   * @param {Item} item
   * @returns {MarkdownMessage | null}
   */
  addItem(item) {
    const openImage = this.view.openImage;
    if (item.kind === 'call') {
      const turn = this.currentTurn();
      const send = (/** @type {object} */ content) => this.view.store.send(content);
      const card = new ToolCard(this.view.doc, item.call, send, openImage);
      card.tick(this.view.store.now());
      this.cards.set(item.call.id, { card, turn });
      turn.addCard(card);
      return null;
    }
    if (item.kind === 'reasoning') {
      const section = new ReasoningSection(this.view, item);
      this.reasonings.set(item, section);
      this.currentTurn().flow.append(section.el);
      return null;
    }
    const { el, message } = renderItem(this.view.doc, item, openImage);
    if (item.kind === 'user') {
      this.newTurn().addPrompt(el);
      return null;
    }
    if (message !== null) this.messages.set(item, message);
    this.currentTurn().flow.append(el);
    return message;
  }

  /** @param {Change[]} changes */
  apply(changes) {
    for (const change of changes) {
      switch (change.type) {
        case 'item': {
          const message = this.addItem(change.item);
          if (message !== null) this.view.dirty.add(message);
          break;
        }
        case 'text': {
          const message = this.messages.get(change.item);
          if (message) this.view.dirty.add(message);
          else this.reasonings.get(change.item)?.grew();
          break;
        }
        case 'reasoning-done':
          this.reasonings.get(change.item)?.layout();
          break;
        case 'progress':
          this.cards.get(change.call.id)?.card.updateProgress();
          break;
        case 'args':
          this.cards.get(change.call.id)?.card.appendArgs(change.fragment);
          break;
        case 'args-reset':
          this.cards.get(change.call.id)?.card.resetArgs();
          break;
        case 'call-state': {
          const entry = this.cards.get(change.call.id);
          if (entry === undefined) break;
          const now = this.view.store.now();
          entry.card.update();
          entry.card.tick(now);
          entry.turn.refresh(now);
          break;
        }
        default:
          break;
      }
    }
  }

  /** @param {number} nowMs */
  tick(nowMs) {
    for (const { card } of this.cards.values()) card.tick(nowMs);
    for (const turn of this.turns) turn.refresh(nowMs);
  }

  /** The view mode changed: move the cards, show or fold them and the reasoning sections. */
  relayout() {
    for (const turn of this.turns) {
      turn.placeAll();
      turn.layout();
    }
    for (const section of this.reasonings.values()) section.layout();
  }

  /** A committed segment: its turns will not change again (CSS may skip their layout while off screen). */
  settle() {
    this.el.dataset.committed = 'true';
  }

  remove() {
    for (const message of this.messages.values()) this.view.dirty.delete(message);
    for (const section of this.reasonings.values()) this.view.dirty.delete(section.message);
    this.el.remove();
  }
}
