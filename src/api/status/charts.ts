/**
 * Charts drawn on the server as inline SVG: no script, no external asset, so the status pages'
 * CSP stays `default-src 'none'`. A day without a number is a gap in the line, never a zero;
 * each point carries its day and value in a `<title>` (shown on hover, and read on focus where
 * the point is focusable).
 */

import { html, SafeHtml } from './html';

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

/** A number as people read it: `12,275`. */
export const formatNumber = (n: number): string => integer.format(n);

const r1 = (n: number) => Math.round(n * 10) / 10;

export interface SeriesDay {
  day: string;
  value: number | null;
}

interface Plot {
  x: (i: number) => number;
  y: (v: number) => number;
  min: number;
  max: number;
}

function plot(days: SeriesDay[], left: number, top: number, width: number, height: number): Plot | undefined {
  const values = days.flatMap((d) => (d.value === null ? [] : [d.value]));
  if (!values.length) return undefined;
  let min = Math.min(...values);
  let max = Math.max(...values);
  if (min === max) {
    min -= 1;
    max += 1;
  }
  const step = days.length > 1 ? width / (days.length - 1) : 0;
  return {
    x: (i) => r1(left + i * step),
    y: (v) => r1(top + height - ((v - min) / (max - min)) * height),
    min,
    max,
  };
}

/** The line as one `<path>` per run of consecutive days with numbers: a missing day breaks it. */
function segments(days: SeriesDay[], p: Plot): string[] {
  const out: string[] = [];
  let current: string[] = [];
  days.forEach((d, i) => {
    if (d.value === null) {
      if (current.length > 1) out.push(current.join(''));
      current = [];
      return;
    }
    current.push(`${current.length ? 'L' : 'M'}${p.x(i)} ${p.y(d.value)}`);
  });
  if (current.length > 1) out.push(current.join(''));
  return out;
}

function summary(label: string, days: SeriesDay[]): string {
  const known = days.filter((d) => d.value !== null);
  const missing = days.length - known.length;
  if (!known.length) return `${label}: no numbers in the last ${days.length} days`;
  const last = known[known.length - 1];
  const values = known.map((d) => d.value!);
  return `${label}, last ${days.length} days: latest ${formatNumber(last.value!)} on ${last.day}, lowest ${formatNumber(Math.min(...values))}, highest ${formatNumber(
    Math.max(...values),
  )}${missing ? `, ${missing} day${missing === 1 ? '' : 's'} without numbers` : ''}`;
}

/**
 * A 30-day sparkline for a table cell: gaps where days have no numbers, a point per day with
 * its `<title>`. The whole is one image whose label summarises the series for screen readers;
 * its points are not tab stops (a page lists 200 sparklines), the client's page has those.
 */
export function sparkline(label: string, days: SeriesDay[], { width = 120, height = 28 } = {}): SafeHtml {
  const p = plot(days, 2, 3, width - 4, height - 6);
  const title = summary(label, days);
  if (!p) {
    return html`<svg class="spark" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${title}"><line x1="2" y1="${height - 3}" x2="${width - 2}" y2="${height - 3}" class="none"/></svg>`;
  }
  const paths = segments(days, p).map((d) => html`<path d="${d}"/>`);
  const points = days.map((d, i) =>
    d.value === null
      ? ''
      : html`<circle cx="${p.x(i)}" cy="${p.y(d.value)}" r="1.8" data-day="${d.day}"><title>${d.day}: ${formatNumber(d.value)}</title></circle>`,
  );
  return html`<svg class="spark" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${title}">${paths}${points}</svg>`;
}

/**
 * A line chart with axes for a client's page: the lowest and highest value on the y axis, the
 * first, middle and last day on the x axis, gaps for missing days, and every point focusable
 * (Tab) with its day and value.
 */
export function lineChart(id: string, label: string, days: SeriesDay[], { width = 560, height = 180 } = {}): SafeHtml {
  const left = 56;
  const bottom = 22;
  const top = 10;
  const right = 10;
  const p = plot(days, left, top, width - left - right, height - top - bottom);
  const text = summary(label, days);
  const xLabels = [0, Math.floor((days.length - 1) / 2), days.length - 1]
    .filter((i, n, all) => days[i] && all.indexOf(i) === n)
    .map((i) => {
      const x = left + (days.length > 1 ? (i * (width - left - right)) / (days.length - 1) : 0);
      const anchor = i === 0 ? 'start' : i === days.length - 1 ? 'end' : 'middle';
      return html`<text x="${r1(x)}" y="${height - 6}" text-anchor="${anchor}">${days[i].day}</text>`;
    });
  const axes = html`<line class="axis" x1="${left}" y1="${top}" x2="${left}" y2="${height - bottom}"/><line class="axis" x1="${left}" y1="${height - bottom}" x2="${width - right}" y2="${height - bottom}"/>`;
  if (!p) {
    return html`<svg id="${id}" class="chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${text}">${axes}${xLabels}<text x="${width / 2}" y="${height / 2}" text-anchor="middle">no numbers in these ${days.length} days</text></svg>`;
  }
  const yLabels = html`<text x="${left - 6}" y="${top + 4}" text-anchor="end">${compact.format(p.max)}</text><text x="${left - 6}" y="${height - bottom}" text-anchor="end">${compact.format(p.min)}</text>`;
  const paths = segments(days, p).map((d) => html`<path d="${d}"/>`);
  const points = days.map((d, i) =>
    d.value === null
      ? ''
      : html`<circle cx="${p.x(i)}" cy="${p.y(d.value)}" r="3" tabindex="0" role="img" aria-label="${d.day}: ${formatNumber(d.value)}" data-day="${d.day}"><title>${d.day}: ${formatNumber(d.value)}</title></circle>`,
  );
  return html`<svg id="${id}" class="chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="group" aria-label="${text}">${axes}${yLabels}${xLabels}${paths}${points}</svg>`;
}

export interface CycleBarInput {
  label: string;
  refreshed: number;
  failed: number;
  skipped: number;
  durationMs: number | null;
  running: boolean;
}

const duration = (ms: number | null): string => {
  if (ms === null) return '–';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m${s % 60 ? String(s % 60).padStart(2, '0') : ''}`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}`;
};

export const formatDuration = duration;

/**
 * The last cycles, oldest on the left: a stacked bar of refreshed / failed (hatched) / skipped
 * per cycle, its duration written under it. Colour is not the only signal: failed is hatched,
 * each bar's `<title>` gives the counts, and the page carries the same figures as a table.
 */
export function cycleChart(cycles: CycleBarInput[], { width = 640, height = 170 } = {}): SafeHtml {
  const top = 14;
  const bottom = 34;
  const left = 34;
  const chartHeight = height - top - bottom;
  const max = Math.max(1, ...cycles.map((c) => c.refreshed + c.failed + c.skipped));
  const slot = (width - left - 4) / Math.max(cycles.length, 20);
  const barWidth = Math.max(4, slot * 0.7);
  const bars = cycles.map((c, i) => {
    const x = r1(left + i * slot + (slot - barWidth) / 2);
    let y = top + chartHeight;
    const part = (n: number, cls: string) => {
      if (!n) return '';
      const h = (n / max) * chartHeight;
      y -= h;
      return html`<rect class="${cls}" x="${x}" y="${r1(y)}" width="${r1(barWidth)}" height="${r1(h)}"/>`;
    };
    const rects = [part(c.refreshed, 'refreshed'), part(c.failed, 'failed'), part(c.skipped, 'skipped')];
    const title = `${c.label}${c.running ? ' (running)' : ''}: ${c.refreshed} refreshed, ${c.failed} failed, ${c.skipped} skipped, took ${duration(c.durationMs)}`;
    return html`<g><title>${title}</title>${rects}<text x="${r1(x + barWidth / 2)}" y="${height - bottom + 14}" text-anchor="middle">${c.running ? '…' : duration(c.durationMs)}</text></g>`;
  });
  const legend = html`<text x="${left}" y="${height - 4}">bar: refreshed (solid) · failed (hatched) · skipped (light); under it: duration</text>`;
  return html`<svg id="cycle-chart" class="chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="The last ${cycles.length} cycles: clients refreshed, failed and skipped per cycle, and how long each took (figures in the table below)">
<defs><pattern id="hatch" width="4" height="4" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="4" height="4" fill="#cf222e"/><line x1="0" y1="0" x2="0" y2="4" stroke="#fff" stroke-width="1.5"/></pattern></defs>
<line class="axis" x1="${left}" y1="${top}" x2="${left}" y2="${top + chartHeight}"/><line class="axis" x1="${left}" y1="${top + chartHeight}" x2="${width - 4}" y2="${top + chartHeight}"/>
<text x="${left - 4}" y="${top + 4}" text-anchor="end">${compact.format(max)}</text><text x="${left - 4}" y="${top + chartHeight}" text-anchor="end">0</text>
${bars}${legend}</svg>`;
}

/**
 * Meta's app usage as a horizontal gauge with the 75 % line where cycles stretch their spacing;
 * the value is written beside it, so the colour only repeats it.
 */
export function usageGauge(percent: number | null, { width = 320, height = 46 } = {}): SafeHtml {
  const left = 4;
  const barWidth = width - 8;
  const value = percent === null ? 0 : Math.max(0, Math.min(100, percent));
  const level = value >= 90 ? 'high' : value >= 75 ? 'warn' : 'ok';
  const stretch = left + barWidth * 0.75;
  const label =
    percent === null
      ? 'Meta app usage: not reported yet'
      : `Meta app usage: ${Math.round(value)} % of the app's budget; above 75 % cycles stretch their spacing`;
  return html`<svg id="usage-gauge" class="gauge" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${label}">
<rect class="track" x="${left}" y="6" width="${barWidth}" height="16" rx="3"/>
<rect class="fill ${level}" x="${left}" y="6" width="${r1((barWidth * value) / 100)}" height="16" rx="3"/>
<line class="stretch" x1="${r1(stretch)}" y1="2" x2="${r1(stretch)}" y2="26"/>
<text x="${r1(stretch)}" y="40" text-anchor="middle">75 % stretch</text>
<text x="${left}" y="40">0</text><text x="${left + barWidth}" y="40" text-anchor="end">100 %</text></svg>`;
}
