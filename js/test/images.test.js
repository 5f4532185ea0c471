// Images from the kernel: only checked data: URLs of the four image types reach an <img>; thumbnails in a
// tool's card and a prompt's bubble; the viewer opens on a click and closes on Escape or a click.
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';

import { imageUrl, isImageUrl, readImage, readImages } from '../src/images.js';
import { FakeModel, mount, q, settle, unmountAll } from './helpers.js';

afterEach(unmountAll);

/** Tiny real images (3×2), as nbstream's ImageData sends them. */
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAMAAAACCAIAAAASFvFNAAAAFUlEQVR4nGM8ISfHwMDAwMDAxAADABMuAQhqwGVhAAAAAElFTkSuQmCC';
const GIF = 'R0lGODdhAwACAIEAAMgeHgAAAAAAAAAAACwAAAAAAwACAAAIBgABCBwYEAA7';
const WEBP = 'UklGRjoAAABXRUJQVlA4IC4AAACwAQCdASoDAAIAAUAmJaACdLoABDAAAP7x3I/4DdfFtMv/vYL/3YL/3YL/WwAA';
const JPEG_HEAD = '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJ';

const png = { media_type: 'image/png', data: PNG, width: 3, height: 2 };
const b64 = (/** @type {string} */ text) => Buffer.from(text).toString('base64');

/** @param {ParentNode} el @param {string} hook */
const qa = (el, hook) => /** @type {HTMLElement[]} */ ([...el.querySelectorAll(`[data-nbstream="${hook}"]`)]);

describe('checking images (images.js)', () => {
  test('the four types become data: URLs when their bytes say so', () => {
    assert.equal(imageUrl('image/png', PNG), `data:image/png;base64,${PNG}`);
    assert.equal(imageUrl('image/gif', GIF), `data:image/gif;base64,${GIF}`);
    assert.equal(imageUrl('image/webp', WEBP), `data:image/webp;base64,${WEBP}`);
    assert.equal(imageUrl('image/jpeg', JPEG_HEAD), `data:image/jpeg;base64,${JPEG_HEAD}`);
    assert.ok(isImageUrl(imageUrl('image/png', PNG)));
  });

  test('anything else is refused: other types, other bytes, broken base64, other schemes', () => {
    const refused = [
      ['image/svg+xml', b64('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>')],
      ['text/html', b64('<script>alert(1)</script>')],
      ['image/png', b64('<script>alert(1)</script>')], // claims PNG, is HTML
      ['image/png', GIF], // a GIF is not a PNG
      ['image/webp', b64('RIFF\0\0\0\0AVI LIST')], // RIFF, but not WebP
      ['image/png', `${PNG.slice(0, 20)}"><img src=x onerror=alert(1)>`],
      ['image/png', `${PNG.slice(0, -4)}`.slice(0, 22)], // not a multiple of 4
      ['image/png', ''],
      ['image/png', 'javascript:alert(1)'],
      ['IMAGE/PNG', PNG],
      ['image/png;charset=utf-8', PNG],
      [null, PNG],
      ['image/png', 42],
    ];
    for (const [type, data] of refused) assert.equal(imageUrl(type, data), null, `${type} ${String(data).slice(0, 30)}`);
    for (const url of [
      'javascript:alert(1)', 'http://example.org/x.png', 'https://example.org/x.png', '//example.org/x.png',
      'data:text/html;base64,PHNjcmlwdD4=', 'data:image/svg+xml;base64,PHN2Zy8+', `data:image/png,${PNG}`,
      `data:image/png;base64,${PNG} `, ` data:image/png;base64,${PNG}`, `DATA:image/png;base64,${PNG}`,
      'blob:http://x/1', 'file:///etc/passwd', null, 7,
    ]) {
      assert.equal(isImageUrl(url), false, String(url));
    }
  });

  test('what the page shows of each: a URL with a label, or a note', () => {
    assert.deepEqual(readImage(png), { src: `data:image/png;base64,${PNG}`, label: 'image/png 3×2', note: null });
    const omitted = readImage({ media_type: 'image/png', width: 1920, height: 1080, omitted: 3_300_000 });
    assert.equal(omitted.src, null);
    assert.equal(omitted.label, 'image/png 1920×1080');
    assert.match(omitted.note ?? '', /not kept in the notebook.*3\.1 MB/);
    const hostile = readImage({ media_type: 'text/html', data: b64('<b>x</b>'), url: 'javascript:alert(1)' });
    assert.equal(hostile.src, null);
    assert.match(hostile.note ?? '', /not shown/);
    assert.deepEqual(readImages('nope'), []);
    assert.equal(readImages([png, null, 'x']).filter((image) => image.src !== null).length, 1);
  });
});

/** A turn whose tool returns `images` (and a prompt with one image). */
function imageTurn(/** @type {any[]} */ images) {
  return [
    { type: 'user_prompt', text: 'plot it', images: [png] },
    { type: 'tool_call_started', id: 'p1', name: 'plot', position: 0 },
    { type: 'tool_call_ready', id: 'p1', name: 'plot', position: 0, arguments: {}, raw_arguments: '{}', error: null },
    { type: 'tool_running', id: 'p1', name: 'plot', started_at: Date.now() / 1000 },
    { type: 'tool_result', id: 'p1', name: 'plot', output: 'a plot', duration: 0.2, images },
  ];
}

describe('thumbnails and the viewer', () => {
  test("a result's images are thumbnails in its card; a click enlarges, Escape and a click close", async () => {
    const model = new FakeModel();
    const { el, win } = mount(model);
    model.receive({ type: 'events', events: imageTurn([png, { ...png, media_type: 'image/gif', data: GIF }]) });
    await settle();
    const card = q(el, 'tool');
    const thumbs = qa(card, 'image');
    assert.equal(thumbs.length, 2);
    assert.ok(q(card, 'result').contains(thumbs[0]), 'under the result');
    const img = /** @type {HTMLImageElement} */ (thumbs[1].querySelector('img'));
    assert.equal(img.getAttribute('src'), `data:image/gif;base64,${GIF}`);
    assert.equal(img.alt, 'image/gif 3×2');

    assert.equal(q(el, 'image-viewer'), null, 'no viewer until one is opened');
    thumbs[0].click();
    const viewer = /** @type {HTMLDialogElement} */ (q(el, 'image-viewer'));
    assert.ok(viewer.hasAttribute('open'));
    assert.equal(viewer.querySelector('img')?.getAttribute('src'), `data:image/png;base64,${PNG}`);
    assert.match(viewer.textContent ?? '', /image\/png 3×2/);
    viewer.dispatchEvent(new win.KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
    assert.equal(viewer.hasAttribute('open'), false, 'Escape closes');
    assert.equal(viewer.querySelector('img'), null, 'and drops the image');
    assert.equal(el.ownerDocument.activeElement, thumbs[0], 'the focus is back on the thumbnail');

    thumbs[1].click();
    assert.equal(viewer.querySelector('img')?.getAttribute('src'), `data:image/gif;base64,${GIF}`);
    /** @type {HTMLElement} */ (viewer.querySelector('img')).click();
    assert.equal(viewer.hasAttribute('open'), false, 'a click closes');
    assert.equal(qa(el, 'image-viewer').length, 1, 'one viewer per view');
  });

  test("a prompt's images are thumbnails in its bubble", async () => {
    const model = new FakeModel();
    const { el } = mount(model);
    model.receive({ type: 'events', events: imageTurn([]) });
    await settle();
    const bubble = q(el, 'user');
    assert.equal(qa(bubble, 'image').length, 1);
    assert.match(bubble.textContent ?? '', /plot it/);
    assert.equal(qa(q(el, 'tool'), 'image').length, 0, 'a result without images has none');
  });

  test('refused and omitted images are notes, never an <img>', async () => {
    const model = new FakeModel();
    const { el } = mount(model);
    const hostile = [
      { media_type: 'image/svg+xml', data: b64('<svg onload="window.pwned=1"/>') },
      { media_type: 'image/png', data: b64('<img src=x onerror="window.pwned=2">') },
      { media_type: 'image/png', data: 'javascript:alert(1)' },
      { media_type: 'image/png', src: 'https://example.org/track.png', url: 'https://example.org/track.png' },
      { media_type: 'image/png', width: 800, height: 600, omitted: 2_500_000 },
    ];
    model.receive({ type: 'events', events: imageTurn(hostile) });
    await settle();
    const card = q(el, 'tool');
    assert.equal(card.querySelector('img'), null);
    const notes = qa(card, 'image-note').map((note) => note.textContent);
    assert.equal(notes.length, hostile.length);
    assert.match(notes[4] ?? '', /^🖼 image\/png 800×600: not kept in the notebook/);
    for (const img of el.querySelectorAll('img')) assert.ok(isImageUrl(img.getAttribute('src')), 'only checked URLs');
  });
});
