/**
 * The drawing as data: strokes of points, and the one renderer that turns them into pixels.
 *
 * Keeping strokes instead of pixels makes undo exact and lets a later correction send the pen
 * trajectory itself. Points are stored as fractions of the canvas (x of its width, y of its height:
 * of its side on the square pads, 0–1 inside the canvas), so the same drawing renders identically on
 * any screen, and `t` is milliseconds since the first point of the drawing, so a trajectory keeps its
 * timing across strokes.
 */

/** Brush width as a fraction of the canvas height (the side of a square one); app/offline/pendigits.py
 * BRUSH_FRACTION must match. */
export const BRUSH_FRACTION = 1 / 16;

/** Side of the image sent to the server (pendigits.CANVAS): every device sends the same picture. */
export const EXPORT_SIDE = 280;

export class Drawing {
  #strokes = [];
  #active = null;
  #origin = null;

  /** Start a stroke; `time` is any millisecond clock (an event's timeStamp). */
  begin(x, y, time) {
    this.#origin ??= time;
    this.#active = [];
    this.extend(x, y, time);
  }

  extend(x, y, time) {
    const last = this.#active?.at(-1);
    // Repeated points add nothing, and dropping them lets a tap stay a one-point stroke (a dot).
    if (!this.#active || (last && last.x === x && last.y === y)) return;
    this.#active.push(Object.freeze({ x, y, t: Math.round(time - this.#origin) }));
  }

  /** Commit the stroke in progress. */
  end() {
    if (!this.#active) return;
    this.#strokes.push(Object.freeze(this.#active));
    this.#active = null;
  }

  /** Drop the stroke in progress (the browser took the pointer away, e.g. palm rejection). */
  cancel() {
    this.#active = null;
    this.#resetClockIfEmpty();
  }

  /** Remove the last finished stroke; false if there was none. */
  undo() {
    if (this.#strokes.length === 0) return false;
    this.#strokes.pop();
    this.#resetClockIfEmpty();
    return true;
  }

  clear() {
    this.#strokes = [];
    this.#active = null;
    this.#origin = null;
  }

  /** Finished strokes, oldest first: frozen, so callers can keep them without copying. */
  get strokes() {
    return [...this.#strokes];
  }

  /** What the screen shows: finished strokes plus the one being drawn. */
  get visible() {
    return this.#active ? [...this.#strokes, this.#active] : this.strokes;
  }

  get isEmpty() {
    return this.#strokes.length === 0;
  }

  #resetClockIfEmpty() {
    if (this.#strokes.length === 0 && !this.#active) this.#origin = null;
  }
}

/** The page's one drawing; corrections and collected samples send its strokes along with the picture. */
export const drawing = new Drawing();

/** The API's bounds on a sample's trajectory (app/web/schemas.py MAX_STROKES, MAX_POINTS, MARGIN, MAX_T_MS). */
const MAX_STROKES = 64;
const MAX_POINTS = 4096;
const MARGIN = 0.1;
const MAX_T_MS = 3_600_000;

/**
 * Strokes as the API takes them: [[x, y, t], …] per stroke, x and y rounded to four decimals (a
 * ten-thousandth of the side, as the server stores them), or, given the exported image's `size`
 * ({width, height}: /api/read takes pixels of the picture), in its pixels to two decimals. Undefined
 * when the drawing is beyond the API's bounds (too many strokes or points, a point far off the
 * canvas, an hour of drawing): the sample then goes without its trajectory rather than being
 * refused, since the picture alone still teaches the nets.
 */
export function toApiStrokes(strokes, size) {
  const points = strokes.reduce((total, stroke) => total + stroke.length, 0);
  if (strokes.length > MAX_STROKES || points > MAX_POINTS) return undefined;
  const inside = (v) => v >= -MARGIN && v <= 1 + MARGIN;
  if (!strokes.every((stroke) => stroke.every(({ x, y, t }) => inside(x) && inside(y) && t >= 0 && t <= MAX_T_MS))) {
    return undefined;
  }
  const round = (value) => Math.round(value * 1e4) / 1e4;
  if (!size) return strokes.map((stroke) => stroke.map(({ x, y, t }) => [round(x), round(y), t]));
  const pixels = (value, side) => Math.round(value * side * 100) / 100;
  return strokes.map((stroke) => stroke.map(({ x, y, t }) => [pixels(x, size.width), pixels(y, size.height), t]));
}

/**
 * Paint strokes on a `width` × `height` area (the context's pixels) as polylines with round caps and
 * joins at BRUSH_FRACTION of the height, exactly as app/offline/pendigits.render does, so the nets are
 * measured on the same pictures the page sends. Coalesced pointer events make the polylines dense
 * enough to look smooth.
 */
export function renderStrokes(context, strokes, width, height, colour) {
  context.save();
  context.lineWidth = height * BRUSH_FRACTION;
  context.lineCap = 'round';
  context.lineJoin = 'round';
  context.strokeStyle = colour;
  context.fillStyle = colour;
  for (const [first, ...rest] of strokes) {
    context.beginPath();
    if (rest.length === 0) {
      context.arc(first.x * width, first.y * height, context.lineWidth / 2, 0, 2 * Math.PI);
      context.fill();
      continue;
    }
    context.moveTo(first.x * width, first.y * height);
    for (const point of rest) context.lineTo(point.x * width, point.y * height);
    context.stroke();
  }
  context.restore();
}

let exportCanvas = null;

/**
 * The request image: black ink on a transparent `size` canvas (an EXPORT_SIDE square unless given),
 * whatever the screen's size.
 */
export function toPngDataUrl(strokes, { width, height } = { width: EXPORT_SIDE, height: EXPORT_SIDE }) {
  exportCanvas ??= document.createElement('canvas');
  Object.assign(exportCanvas, { width, height }); // setting the size also clears it
  renderStrokes(exportCanvas.getContext('2d'), strokes, width, height, '#000');
  return exportCanvas.toDataURL('image/png');
}
