// Images from the kernel (a prompt's, a tool result's): checked here before anything reaches an <img>.
//
// The kernel sends `{media_type, data (base64), width, height}` (nbstream/_images.py checks the bytes), or
// `{media_type, width, height, omitted}` for an image the transcript did not keep (over the turn's budget,
// nbstream/_display.py). The page trusts none of it: an image is shown only as a `data:` URL this module builds
// itself, of one of the four image types, from strict base64 whose first bytes are that type's signature.
// Anything else (another type, SVG, HTML, a `javascript:` or `http:` URL, broken base64) becomes a note, as
// text. No DOM here.

/** The image types shown, with the signatures their bytes start with (WebP: RIFF....WEBP). */
const SIGNATURES = new Map([
  ['image/png', [[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]]],
  ['image/jpeg', [[0xff, 0xd8, 0xff]]],
  ['image/gif', [[0x47, 0x49, 0x46, 0x38, 0x37, 0x61], [0x47, 0x49, 0x46, 0x38, 0x39, 0x61]]],
  ['image/webp', [[0x52, 0x49, 0x46, 0x46]]],
]);

/** The kernel keeps images up to 5 MB (MAX_IMAGE_BYTES): their base64 is at most this long. */
export const MAX_IMAGE_CHARS = Math.ceil((5 * 1024 * 1024) / 3) * 4;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const DATA_URL = /^data:(image\/(?:png|jpeg|gif|webp));base64,([A-Za-z0-9+/]*={0,2})$/;

/**
 * @typedef {object} ImageInfo
 * @property {string | null} src  a checked `data:` URL, or null when the image is not shown (see `note`)
 * @property {string} label  "image/png 640×480"
 * @property {string | null} note  why it is not shown, for people
 */

/**
 * Whether `data` (base64) decodes to bytes that start with `mediaType`'s signature.
 * @param {string} mediaType
 * @param {string} data
 */
function signed(mediaType, data) {
  const signatures = SIGNATURES.get(mediaType);
  if (signatures === undefined) return false;
  let head;
  try {
    head = atob(data.slice(0, 16));
  } catch {
    return false;
  }
  const byte = (/** @type {number} */ i) => head.charCodeAt(i);
  if (mediaType === 'image/webp' && head.slice(8, 12) !== 'WEBP') return false;
  return signatures.some((signature) => signature.every((value, i) => byte(i) === value));
}

/**
 * The `data:` URL of an image, or null unless it is one of the four types, strict base64 of a sane size, whose
 * bytes start as that type's do.
 * @param {unknown} mediaType
 * @param {unknown} data
 * @returns {string | null}
 */
export function imageUrl(mediaType, data) {
  if (typeof mediaType !== 'string' || typeof data !== 'string') return null;
  if (!SIGNATURES.has(mediaType)) return null;
  if (data.length === 0 || data.length % 4 !== 0 || data.length > MAX_IMAGE_CHARS) return null;
  if (!BASE64.test(data) || !signed(mediaType, data)) return null;
  return `data:${mediaType};base64,${data}`;
}

/**
 * Whether `url` is a URL `imageUrl` made (checked again where an <img> gets it).
 * @param {unknown} url
 */
export function isImageUrl(url) {
  if (typeof url !== 'string') return false;
  const match = DATA_URL.exec(url);
  return match !== null && imageUrl(match[1], match[2]) === url;
}

/** @param {unknown} value */
function dimension(value) {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : null;
}

/** @param {number} bytes */
function formatBytes(bytes) {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} bytes`;
}

/**
 * One image as the page shows it.
 * @param {any} image
 * @returns {ImageInfo}
 */
export function readImage(image) {
  const raw = image !== null && typeof image === 'object' ? image : {};
  const type = typeof raw.media_type === 'string' && SIGNATURES.has(raw.media_type) ? raw.media_type : 'image';
  const width = dimension(raw.width);
  const height = dimension(raw.height);
  const label = width !== null && height !== null ? `${type} ${width}×${height}` : type;
  if (typeof raw.omitted === 'number' && raw.data === undefined) {
    const size = raw.omitted > 0 ? `, ${formatBytes(raw.omitted)}` : '';
    return { src: null, label, note: `not kept in the notebook (over the turn's image budget${size})` };
  }
  const src = imageUrl(raw.media_type, raw.data);
  return src === null ? { src, label, note: 'not shown: not a PNG, JPEG, GIF or WebP image' } : { src, label, note: null };
}

/**
 * A display event's `images` (anything else: none).
 * @param {unknown} value
 * @returns {ImageInfo[]}
 */
export function readImages(value) {
  return Array.isArray(value) ? value.map(readImage) : [];
}
