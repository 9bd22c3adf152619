/**
 * Charts as plain SVG: a line chart and a stacked bar chart, drawn at the container's own width in
 * CSS pixels (so text stays readable on a phone) and redrawn when that width changes. Colours and
 * dashes are classes (static/css/insight.css), so the CSP needs no inline style.
 */

const SVG = 'http://www.w3.org/2000/svg';

function svgEl(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  }
  if (text !== undefined) node.textContent = text;
  return node;
}

/** About `count` round tick values covering [min, max]. */
export function niceTicks(min, max, count = 5) {
  if (max <= min) return [min];
  const raw = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  const ticks = [];
  for (let value = Math.ceil(min / step) * step; value <= max + step * 1e-9; value += step) {
    ticks.push(Math.round(value / step) * step);
  }
  return ticks;
}

/**
 * Render `draw(width)` (which returns an <svg>) into `container` now and whenever its width changes.
 * Returns a function that redraws with the current width (for new data).
 */
export function responsive(container, draw) {
  let width = 0;
  const render = () => {
    width = Math.max(240, Math.floor(container.clientWidth));
    container.replaceChildren(draw(width));
  };
  new ResizeObserver(() => {
    if (Math.max(240, Math.floor(container.clientWidth)) !== width) render();
  }).observe(container);
  render();
  return render;
}

function frame(width, height, label) {
  return svgEl('svg', {
    class: 'chart__svg',
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': label,
  });
}

/**
 * Lines over a numeric x axis. `series`: [{key, label, points: [[x, y|null], …]}]; null y breaks
 * the line. Options: height, yMin, yMax, yFormat, xFormat, xLabel, label (for screen readers).
 */
export function lineChart(width, { series, height = 260, yMin = 0, yMax = 1, yFormat = String, xFormat = String,
  xLabel = '', label = 'Line chart', markers = false }) {
  const svg = frame(width, height, label);
  const margin = { top: 12, right: 14, bottom: xLabel ? 44 : 28, left: 52 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const xs = series.flatMap((s) => s.points.map(([x]) => x));
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const sx = (x) => margin.left + (xMax === xMin ? plotW / 2 : ((x - xMin) / (xMax - xMin)) * plotW);
  const sy = (y) => margin.top + plotH - ((y - yMin) / (yMax - yMin || 1)) * plotH;

  const grid = svgEl('g', { class: 'chart__grid' });
  for (const tick of niceTicks(yMin, yMax, 4)) {
    grid.append(svgEl('line', { x1: margin.left, x2: margin.left + plotW, y1: sy(tick), y2: sy(tick) }));
    grid.append(svgEl('text', { x: margin.left - 6, y: sy(tick), class: 'chart__tick chart__tick--y' }, yFormat(tick)));
  }
  const xTicks = xMax === xMin ? [xMin] : niceTicks(xMin, xMax, Math.max(2, Math.floor(plotW / 80)));
  for (const tick of xTicks.filter((t) => Number.isInteger(t) || xMax - xMin > 10)) {
    grid.append(svgEl('text', { x: sx(tick), y: margin.top + plotH + 18, class: 'chart__tick chart__tick--x' },
      xFormat(tick)));
  }
  grid.append(svgEl('line', {
    x1: margin.left, x2: margin.left + plotW, y1: margin.top + plotH, y2: margin.top + plotH, class: 'chart__axis',
  }));
  if (xLabel) {
    grid.append(svgEl('text', { x: margin.left + plotW / 2, y: height - 6, class: 'chart__label' }, xLabel));
  }
  svg.append(grid);

  for (const { key, points } of series) {
    let d = '';
    let pen = 'M';
    for (const [x, y] of points) {
      if (y === null || y === undefined) {
        pen = 'M';
        continue;
      }
      d += `${pen}${sx(x).toFixed(1)},${sy(Math.max(yMin, Math.min(yMax, y))).toFixed(1)}`;
      pen = 'L';
    }
    const group = svgEl('g', { class: `chart__series series--${key}`, 'data-series': key });
    group.append(svgEl('path', { d, class: 'chart__line' }));
    if (markers || points.length <= 2) {
      for (const [x, y] of points) {
        if (y !== null && y !== undefined) group.append(svgEl('circle', { cx: sx(x), cy: sy(y), r: 3.5, class: 'chart__dot' }));
      }
    }
    svg.append(group);
  }
  return svg;
}

/**
 * Stacked vertical bars. `categories`: labels along x; `stacks`: [{key, label, values: [n per category]}].
 * Every category gets a <title> with its numbers (a tooltip, and text for screen readers).
 */
export function stackedBars(width, { categories, stacks, height = 220, label = 'Bar chart', maxLabels }) {
  const svg = frame(width, height, label);
  const margin = { top: 10, right: 10, bottom: 28, left: 40 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const totals = categories.map((_, i) => stacks.reduce((sum, s) => sum + s.values[i], 0));
  const top = Math.max(1, ...totals);
  const ticks = niceTicks(0, top, 4).filter(Number.isInteger);
  const yMax = Math.max(top, ticks.at(-1) ?? 1);
  const sy = (v) => margin.top + plotH - (v / yMax) * plotH;
  const band = plotW / Math.max(1, categories.length);
  const barW = Math.max(1, Math.min(band * 0.72, 48));

  const grid = svgEl('g', { class: 'chart__grid' });
  for (const tick of ticks) {
    grid.append(svgEl('line', { x1: margin.left, x2: margin.left + plotW, y1: sy(tick), y2: sy(tick) }));
    grid.append(svgEl('text', { x: margin.left - 6, y: sy(tick), class: 'chart__tick chart__tick--y' }, String(tick)));
  }
  svg.append(grid);

  const every = Math.max(1, Math.ceil(categories.length / (maxLabels ?? Math.max(2, Math.floor(plotW / 56)))));
  categories.forEach((category, i) => {
    const x = margin.left + band * i + (band - barW) / 2;
    const group = svgEl('g', { class: 'chart__bar', 'data-category': category });
    const parts = stacks.map((s) => `${s.label} ${s.values[i]}`).join(', ');
    group.append(svgEl('title', {}, `${category}: ${totals[i]} (${parts})`));
    let base = 0;
    for (const stack of stacks) {
      const value = stack.values[i];
      if (value > 0) {
        group.append(svgEl('rect', {
          x, width: barW, y: sy(base + value), height: sy(base) - sy(base + value), class: `series--${stack.key}`,
        }));
      }
      base += value;
    }
    if (i % every === 0 || (i === categories.length - 1 && categories.length <= 12)) {
      group.append(svgEl('text', { x: x + barW / 2, y: margin.top + plotH + 18, class: 'chart__tick chart__tick--x' },
        category));
    }
    svg.append(group);
  });
  svg.append(svgEl('line', {
    x1: margin.left, x2: margin.left + plotW, y1: margin.top + plotH, y2: margin.top + plotH, class: 'chart__axis',
  }));
  return svg;
}

/** A legend as an HTML list of swatches (the swatch class carries the series colour). */
export function legend(entries) {
  const list = document.createElement('ul');
  list.className = 'legend';
  for (const { key, label } of entries) {
    const item = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.className = `legend__swatch series--${key}`;
    swatch.setAttribute('aria-hidden', 'true');
    item.append(swatch, document.createTextNode(label));
    list.append(item);
  }
  return list;
}
