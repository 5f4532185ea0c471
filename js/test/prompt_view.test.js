// PromptBox (keys, queueing, disabled state, growth) and foldLongText, in jsdom.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { PromptBox, foldLongText } from '../src/prompt_view.js';
import { makeWindow, settle } from './helpers.js';

/**
 * A PromptBox in a fresh window, inside a root that suppresses Lumino shortcuts (as the view's root does).
 * @param {Partial<import('../src/prompt_view.js').PromptCallbacks>} [options]
 */
function make(options = {}) {
  const win = makeWindow();
  const doc = win.document;
  /** @type {string[]} */
  const sent = [];
  let stops = 0;
  const box = new PromptBox(doc, {
    onSend: (text) => sent.push(text),
    onStop: () => {
      stops += 1;
    },
    ...options,
  });
  const root = doc.createElement('div');
  root.className = 'nbstream';
  root.setAttribute('data-lm-suppress-shortcuts', 'true');
  root.append(box.el);
  doc.body.append(root);
  /** @param {Partial<KeyboardEventInit> & { keyCode?: number }} init */
  const key = (init) => {
    const { keyCode, ...rest } = init;
    const event = new win.KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true, ...rest });
    if (keyCode !== undefined) Object.defineProperty(event, 'keyCode', { value: keyCode });
    box.textarea.dispatchEvent(event);
    return event;
  };
  /** @param {string} text */
  const type = (text) => {
    box.textarea.value = text;
    box.textarea.dispatchEvent(new win.Event('input', { bubbles: true }));
  };
  return { win, doc, box, root, sent, stops: () => stops, key, type };
}

/** @param {ParentNode} el @param {string} hook */
const q = (el, hook) => /** @type {HTMLElement} */ (el.querySelector(`[data-nbstream="${hook}"]`));

describe('PromptBox: structure', () => {
  test('the element holds the textarea, Send, Stop and a hidden queued indicator, with their hooks', () => {
    const { box } = make();
    assert.equal(q(box.el, 'prompt'), box.textarea);
    assert.equal(box.textarea.tagName, 'TEXTAREA');
    assert.equal(q(box.el, 'send'), box.sendButton);
    assert.equal(q(box.el, 'stop'), box.stopButton);
    assert.equal(q(box.el, 'queued').hidden, true);
    assert.equal(box.el.dataset.nbstream, 'prompt-box');
    assert.equal(box.sendButton.type, 'button');
    assert.equal(box.sendButton.disabled, false, 'Send works when idle');
    assert.equal(box.stopButton.disabled, true, 'nothing to stop when idle');
  });
});

describe('PromptBox: keys', () => {
  test('Enter sends the text and clears the box; Shift+Enter does not; blank is not sent', () => {
    const { box, sent, key, type } = make();
    type('line one');
    assert.equal(key({ shiftKey: true }).defaultPrevented, false, 'Shift+Enter types a newline');
    assert.deepEqual(sent, []);
    type('   \n ');
    key({});
    assert.deepEqual(sent, [], 'a blank prompt is not sent');
    type('What is the weather?');
    const enter = key({});
    assert.equal(enter.defaultPrevented, true, 'Enter inserts no newline');
    assert.deepEqual(sent, ['What is the weather?']);
    assert.equal(box.value, '');
    key({});
    assert.deepEqual(sent, ['What is the weather?'], 'Enter on the emptied box sends nothing more');
  });

  test('Enter during an IME composition does not send', () => {
    const { box, sent, key, type, win } = make();
    type('にほん');
    assert.equal(key({ isComposing: true }).defaultPrevented, false);
    key({ keyCode: 229 }); // Safari: the IME's Enter after compositionend
    box.textarea.dispatchEvent(new win.CompositionEvent('compositionstart'));
    key({});
    assert.deepEqual(sent, [], 'nothing sent while composing');
    box.textarea.dispatchEvent(new win.CompositionEvent('compositionend'));
    key({});
    assert.deepEqual(sent, ['にほん'], 'Enter after the composition ended sends');
  });

  test('ordinary keys stop at the textarea (no notebook shortcuts while typing)', () => {
    const { doc, key } = make();
    let reached = 0;
    doc.addEventListener('keydown', () => {
      reached += 1;
    });
    for (const init of [{ key: 'a' }, { key: 'd' }, { key: 'Enter', shiftKey: true }, { key: 'Enter' }, { key: 'c', ctrlKey: true }]) {
      key(init);
    }
    assert.equal(reached, 0);
  });

  test('Ctrl+S and Cmd+S reach the document, with shortcut suppression lifted for that event only', async () => {
    const { doc, win, root, key } = make();
    /** @type {(string | null)[]} */
    const seen = [];
    doc.addEventListener('keydown', () => seen.push(root.getAttribute('data-lm-suppress-shortcuts')));
    const ctrl = key({ key: 's', ctrlKey: true });
    assert.deepEqual(seen, [null], 'the handler on document saw no suppressing ancestor');
    assert.equal(ctrl.defaultPrevented, false, 'the page handler decides (JupyterLab prevents the browser dialog)');
    assert.equal(root.getAttribute('data-lm-suppress-shortcuts'), 'true', 'put back once the event reached window');
    key({ key: 'S', metaKey: true });
    assert.deepEqual(seen, [null, null]);
    assert.equal(root.getAttribute('data-lm-suppress-shortcuts'), 'true');

    // An event stopped before window: the attribute comes back on the next task.
    root.addEventListener('keydown', (event) => event.stopPropagation(), { once: true });
    key({ key: 's', ctrlKey: true });
    assert.equal(root.getAttribute('data-lm-suppress-shortcuts'), null);
    await settle(5);
    assert.equal(root.getAttribute('data-lm-suppress-shortcuts'), 'true');
    key({ key: 'a' });
    assert.equal(seen.length, 2, 'other keys still stop at the textarea');
    void win;
  });

  test('Escape blurs the prompt and focuses the cell that holds the widget, or the notebook', () => {
    const { doc, box, root, key } = make();
    const notebook = doc.createElement('div');
    notebook.className = 'jp-Notebook';
    const cell = doc.createElement('div');
    cell.className = 'jp-Cell';
    cell.tabIndex = 0;
    notebook.append(cell);
    doc.body.append(notebook);
    cell.append(root);
    let reached = 0;
    doc.addEventListener('keydown', () => {
      reached += 1;
    });
    box.focus();
    assert.equal(doc.activeElement, box.textarea);
    box.value = 'draft';
    const escape = key({ key: 'Escape' });
    assert.equal(escape.defaultPrevented, true);
    assert.equal(doc.activeElement, cell);
    assert.equal(box.value, 'draft', 'the draft stays');
    assert.equal(reached, 0);

    // No cell: the notebook itself.
    notebook.append(root);
    cell.remove();
    box.focus();
    key({ key: 'Escape' });
    assert.equal(doc.activeElement, notebook);
  });

  test('Escape outside a notebook just blurs; during a composition it is left to the IME', () => {
    const { doc, box, key } = make();
    box.focus();
    key({ key: 'Escape', isComposing: true });
    assert.equal(doc.activeElement, box.textarea);
    key({ key: 'Escape' });
    assert.notEqual(doc.activeElement, box.textarea);
  });
});

describe('PromptBox: busy, queued, disabled', () => {
  test('while a turn runs Stop is enabled and Enter or Send queues, shown as "N queued"', () => {
    const { box, sent, key, type, stops } = make();
    box.setBusy(true);
    assert.equal(box.stopButton.disabled, false);
    assert.equal(box.sendButton.disabled, false, 'Send is still accepted');
    type('next one');
    key({});
    assert.deepEqual(sent, ['next one'], 'sent: the kernel queues it');
    const queued = q(box.el, 'queued');
    assert.equal(queued.hidden, false);
    assert.equal(queued.textContent, '1 queued');
    type('and another');
    box.sendButton.click();
    assert.deepEqual(sent, ['next one', 'and another']);
    assert.equal(queued.textContent, '2 queued');

    // The running turn ends; the first queued prompt starts, then the second.
    box.setBusy(false);
    assert.equal(queued.textContent, '1 queued', 'one starts now, one still waits');
    box.setBusy(true);
    assert.equal(queued.textContent, '1 queued');
    box.setBusy(false);
    assert.equal(queued.hidden, true, 'the last one is starting');
    box.setBusy(true);
    assert.equal(queued.hidden, true);
    assert.equal(box.el.dataset.queued, '0');

    box.stopButton.click();
    assert.equal(stops(), 1);
  });

  test('Stop drops the queued count (the kernel drops queued turns)', () => {
    const { box, type, key } = make();
    box.setBusy(true);
    type('queued');
    key({});
    assert.equal(q(box.el, 'queued').textContent, '1 queued');
    box.stopButton.click();
    assert.equal(q(box.el, 'queued').hidden, true);
  });

  test('a prompt sent while idle is not "queued"; two are (one queued)', () => {
    const { box, type, key } = make();
    type('first');
    key({});
    assert.equal(q(box.el, 'queued').hidden, true);
    type('second');
    key({});
    assert.equal(q(box.el, 'queued').textContent, '1 queued', 'sent before the first turn started');
    box.setBusy(true); // first started
    assert.equal(q(box.el, 'queued').textContent, '1 queued');
  });

  test('when no turn starts after the others ended, the indicator clears after a grace period', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { box, type, key } = make();
    box.setBusy(true);
    type('lost');
    key({});
    box.setBusy(false);
    // one was waiting, none shown (it is "about to start"), but the count is still 1 until the grace ends
    assert.equal(box.waiting, 1);
    t.mock.timers.tick(3000);
    assert.equal(box.waiting, 0);
    box.setBusy(true);
    assert.equal(q(box.el, 'queued').hidden, true);
  });

  test('setDisabled disables everything, sends nothing, and is undone by setDisabled(false)', () => {
    const { box, sent, key, type, stops } = make();
    box.setBusy(true);
    type('queued');
    key({});
    box.setDisabled(true);
    for (const control of [box.textarea, box.sendButton, box.stopButton]) assert.equal(control.disabled, true);
    assert.equal(q(box.el, 'queued').hidden, true, 'nothing is queued on a dead kernel');
    type('hello');
    key({});
    box.sendButton.click();
    box.stopButton.click();
    assert.deepEqual(sent, ['queued']);
    assert.equal(stops(), 0);
    box.setBusy(false);
    assert.equal(box.sendButton.disabled, true, 'status changes do not re-enable a disabled box');
    box.setDisabled(false);
    assert.equal(box.textarea.disabled, false);
    assert.equal(box.sendButton.disabled, false);
    assert.equal(box.stopButton.disabled, true);
  });
});

describe('PromptBox: height', () => {
  /**
   * A box whose textarea reports `content()` as its scrollHeight, with 20 px lines, 8 px padding, 1 px borders.
   * @param {() => number} content
   * @param {number} [viewport]
   */
  function sized(content, viewport = 1000) {
    const made = make();
    const { box, win } = made;
    Object.defineProperty(win, 'innerHeight', { value: viewport, configurable: true });
    Object.assign(box.textarea.style, {
      lineHeight: '20px', paddingTop: '4px', paddingBottom: '4px', borderTopWidth: '1px', borderBottomWidth: '1px',
      borderStyle: 'solid',
    });
    Object.defineProperty(box.textarea, 'scrollHeight', { get: content, configurable: true });
    return made;
  }

  test('grows with its lines up to 8 lines, then scrolls; shrinks again when emptied', () => {
    let lines = 1;
    const { box, type } = sized(() => lines * 20 + 8);
    type('one');
    assert.equal(box.textarea.style.height, '30px');
    assert.equal(box.textarea.style.overflowY, 'hidden');
    lines = 5;
    type('1\n2\n3\n4\n5');
    assert.equal(box.textarea.style.height, '110px');
    lines = 8;
    type('1\n2\n3\n4\n5\n6\n7\n8');
    assert.equal(box.textarea.style.height, '170px');
    assert.equal(box.textarea.style.overflowY, 'hidden');
    lines = 30;
    type('many\n'.repeat(30));
    assert.equal(box.textarea.style.height, '170px', 'capped at 8 lines');
    assert.equal(box.textarea.style.overflowY, 'auto', 'the rest scrolls');
    assert.equal(box.el.dataset.overflow, 'true');
    lines = 1;
    box.submit(); // sending empties the box: back to one line
    assert.equal(box.textarea.style.height, '30px');
    assert.equal(box.el.dataset.overflow, 'false');
  });

  test('a short window caps the height at 40% of its height', () => {
    let lines = 1;
    const { box, type } = sized(() => lines * 20 + 8, 300);
    lines = 8;
    type('x\n'.repeat(8));
    assert.equal(box.textarea.style.height, '120px');
    assert.equal(box.textarea.style.overflowY, 'auto');
  });

  test('setting the value from script fits the height too', () => {
    const { box } = sized(() => 3 * 20 + 8);
    box.value = 'a\nb\nc';
    assert.equal(box.textarea.style.height, '70px');
  });
});

describe('PromptBox: dispose', () => {
  test('removes the element, its listeners and its timers', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { box, sent, key, type } = make();
    type('first');
    key({}); // starts the grace timer
    assert.ok(box.graceTimer !== null);
    box.dispose();
    assert.equal(box.graceTimer, null);
    assert.equal(box.el.isConnected, false);
    type('after');
    key({});
    box.sendButton.click();
    assert.deepEqual(sent, ['first']);
  });
});

describe('foldLongText', () => {
  /** @param {string} text @param {{ maxChars?: number, maxLines?: number }} [options] */
  function fold(text, options) {
    const doc = makeWindow().document;
    const el = foldLongText(doc, text, options);
    doc.body.append(el);
    return {
      el,
      body: q(el, 'fold-text'),
      toggle: /** @type {HTMLButtonElement | null} */ (el.querySelector('[data-nbstream="fold-toggle"]')),
    };
  }

  test('a short text is shown whole, with no button', () => {
    const { el, body, toggle } = fold('hello\nworld');
    assert.equal(body.textContent, 'hello\nworld');
    assert.equal(toggle, null);
    assert.equal(el.dataset.folded, undefined);
  });

  test('a long text shows its start and "Show more"; the button toggles the whole text', () => {
    const text = 'word '.repeat(4000); // 20,000 characters on one line
    const { el, body, toggle } = fold(text);
    assert.ok(toggle);
    assert.equal(el.dataset.folded, 'true');
    assert.equal(toggle.textContent, 'Show more');
    assert.equal(toggle.getAttribute('aria-expanded'), 'false');
    assert.ok((body.textContent ?? '').length <= 801);
    assert.ok((body.textContent ?? '').endsWith('…'));
    assert.ok(text.startsWith((body.textContent ?? '').slice(0, -1)));
    toggle.click();
    assert.equal(body.textContent, text);
    assert.equal(toggle.textContent, 'Show less');
    assert.equal(el.dataset.folded, 'false');
    assert.equal(toggle.getAttribute('aria-expanded'), 'true');
    toggle.click();
    assert.equal(toggle.textContent, 'Show more');
    assert.ok((body.textContent ?? '').length <= 801);
  });

  test('many short lines fold after maxLines lines', () => {
    const lines = Array.from({ length: 50 }, (_, i) => `line ${i}`);
    const { body, toggle } = fold(lines.join('\n'), { maxLines: 4 });
    assert.ok(toggle);
    assert.equal(body.textContent, `${lines.slice(0, 4).join('\n')}…`);
  });

  test('limits are options; a text exactly at the limits is not folded', () => {
    assert.equal(fold('x'.repeat(100), { maxChars: 100 }).toggle, null);
    assert.ok(fold('x'.repeat(101), { maxChars: 100 }).toggle);
    assert.equal(fold('a\nb\nc', { maxLines: 3 }).toggle, null);
    assert.ok(fold('a\nb\nc\nd', { maxLines: 3 }).toggle);
  });

  test('does not split a surrogate pair', () => {
    const { body } = fold('😀'.repeat(100), { maxChars: 51 });
    const shown = (body.textContent ?? '').slice(0, -1);
    assert.equal(shown, '😀'.repeat(25));
  });

  test('markup is shown as text, never parsed (XSS-inert)', () => {
    const hostile = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>\n'.repeat(40);
    const { el, body, toggle } = fold(hostile);
    assert.equal(el.querySelector('img, script'), null);
    assert.ok((body.textContent ?? '').startsWith('<img src=x'));
    toggle?.click();
    assert.equal(el.querySelector('img, script'), null);
    assert.equal(body.textContent, hostile);
  });
});
