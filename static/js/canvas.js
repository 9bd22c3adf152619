/**
 * Pointer input for the drawing pad: mouse, touch and pen through one Pointer Events path.
 *
 * The canvas's backing store follows its CSS size times devicePixelRatio, so ink stays sharp on
 * high-DPI screens; everything is re-rendered from the strokes, never scaled as a bitmap.
 */
import { renderStrokes } from './strokes.js';

/**
 * Draw into `drawing` from pointer input on `canvas`; `onStrokeEnd(time)` fires on each finished
 * stroke with the performance.now() of its pointer-up. Returns `render()` for changes made elsewhere.
 */
export function attachPad(canvas, drawing, { onStrokeEnd }) {
  const context = canvas.getContext('2d');
  let pointerId = null;
  let box = null;
  let frame = 0;

  function render() {
    cancelAnimationFrame(frame);
    frame = 0;
    context.clearRect(0, 0, canvas.width, canvas.height);
    renderStrokes(context, drawing.visible, canvas.width, canvas.height, getComputedStyle(canvas).color);
    canvas.dataset.strokes = String(drawing.strokes.length);
  }

  // Pointer moves can outpace the display; paint at most once per frame while a stroke grows.
  function renderSoon() {
    frame ||= requestAnimationFrame(render);
  }

  /** The event as (x, y, time) for the drawing: fractions of the canvas's width and height, event time in ms. */
  function sample(event) {
    return [(event.clientX - box.left) / box.width, (event.clientY - box.top) / box.height, event.timeStamp];
  }

  canvas.addEventListener('pointerdown', (event) => {
    // One pen at a time: a second finger or a right click must not start a crossing stroke.
    if (pointerId !== null || event.button !== 0) return;
    event.preventDefault();
    pointerId = event.pointerId;
    canvas.setPointerCapture(pointerId);
    box = canvas.getBoundingClientRect();
    drawing.begin(...sample(event));
    render();
  });

  canvas.addEventListener('pointermove', (event) => {
    if (event.pointerId !== pointerId) return;
    // Coalesced events carry the samples the browser merged between frames: smoother fast curves.
    // The list is empty where unsupported for the event, so fall back to the event itself.
    const coalesced = event.getCoalescedEvents?.() ?? [];
    for (const each of coalesced.length > 0 ? coalesced : [event]) drawing.extend(...sample(each));
    renderSoon();
  });

  canvas.addEventListener('pointerup', (event) => {
    if (event.pointerId !== pointerId) return;
    const releasedAt = performance.now();
    pointerId = null;
    drawing.end();
    render();
    onStrokeEnd(releasedAt);
  });

  canvas.addEventListener('pointercancel', (event) => {
    if (event.pointerId !== pointerId) return;
    pointerId = null;
    drawing.cancel();
    render();
  });

  // devicePixelContentBoxSize would be exact, but Chrome's device emulation reports CSS pixels in
  // it; CSS size × devicePixelRatio is right everywhere. The CSS gives the shape (square, or wide).
  function fit() {
    const { width, height } = canvas.getBoundingClientRect();
    const [backingWidth, backingHeight] = [width, height].map((css) => Math.round(css * window.devicePixelRatio));
    if (canvas.width !== backingWidth || canvas.height !== backingHeight) {
      canvas.width = backingWidth;
      canvas.height = backingHeight;
    }
    render();
  }

  // Moving the window to another screen changes devicePixelRatio without resizing anything.
  function watchPixelRatio() {
    matchMedia(`(resolution: ${window.devicePixelRatio}dppx)`).addEventListener(
      'change',
      () => {
        fit();
        watchPixelRatio();
      },
      { once: true },
    );
  }

  fit(); // now, not at the observer's first report, so the pad is sharp from the first frame
  new ResizeObserver(fit).observe(canvas);
  watchPixelRatio();
  return { render };
}
