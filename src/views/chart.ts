// The panel's charts as inert SVG trees (see svg.ts), built from PanelData. Pure: the webview renders them,
// tests check the geometry. Memory vs context is drawn on a log2 context axis (1k … 256k reads evenly).
import { formatBytes, formatTokens, formatTokPerSec } from '../estimator/format';
import type { CurvePoint, PanelData, SpeedPoint } from './protocol';
import { el, r1, type SvgNode } from './svg';

export interface ChartBox {
  width: number;
  height: number;
}

const PAD = { left: 56, right: 16, top: 14, bottom: 30 };
const GiB = 1024 ** 3;

const total = (p: CurvePoint) => p.weights + p.kv + p.overhead;

/**
 * The largest context where the total still fits `limit`, by linear interpolation between curve points
 * (memory grows linearly with context between them). undefined when even the smallest point does not fit;
 * Infinity when the largest point still fits.
 */
export function crossingCtx(curve: CurvePoint[], limit: number): number | undefined {
  const pts = [...curve].sort((a, b) => a.ctx - b.ctx);
  if (pts.length === 0 || total(pts[0]!) > limit) return undefined;
  for (let i = 1; i < pts.length; i++) {
    const a = pts[i - 1]!;
    const b = pts[i]!;
    if (total(b) > limit) {
      const f = (limit - total(a)) / (total(b) - total(a));
      return a.ctx + f * (b.ctx - a.ctx);
    }
  }
  return Infinity;
}

/** Round-number ticks (1, 2, 5 × 10^n) covering [0, max]. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) out.push(v);
  return out;
}

export interface MemoryChartGeometry {
  x: (ctx: number) => number;
  y: (bytes: number) => number;
  yMax: number;
}

export function memoryGeometry(data: Pick<PanelData, 'curve' | 'hardware'>, box: ChartBox): MemoryChartGeometry {
  const pts = data.curve;
  const minCtx = Math.min(...pts.map((p) => p.ctx));
  const maxCtx = Math.max(...pts.map((p) => p.ctx));
  const lo = Math.log2(minCtx);
  const span = Math.max(1e-9, Math.log2(maxCtx) - lo);
  const yMax = Math.max(data.hardware.capacityBytes, ...pts.map(total)) * 1.05;
  const w = box.width - PAD.left - PAD.right;
  const h = box.height - PAD.top - PAD.bottom;
  return {
    x: (ctx) => PAD.left + ((Math.log2(Math.max(ctx, minCtx)) - lo) / span) * w,
    y: (bytes) => PAD.top + h - (bytes / yMax) * h,
    yMax,
  };
}

function band(pts: CurvePoint[], g: MemoryChartGeometry, lower: (p: CurvePoint) => number, upper: (p: CurvePoint) => number): string {
  const top = pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${r1(g.x(p.ctx))},${r1(g.y(upper(p)))}`);
  const bottom = [...pts].reverse().map((p) => `L${r1(g.x(p.ctx))},${r1(g.y(lower(p)))}`);
  return [...top, ...bottom, 'Z'].join(' ');
}

function vmarker(x: number, box: ChartBox, cls: string, label: string, anchor: 'start' | 'end'): SvgNode {
  return el('g', { class: `marker ${cls}` }, [
    el('line', { x1: r1(x), x2: r1(x), y1: PAD.top, y2: box.height - PAD.bottom }),
    el('text', { x: r1(anchor === 'start' ? x + 4 : x - 4), y: PAD.top + 10, 'text-anchor': anchor }, [], label),
  ]);
}

/** Stacked weights / KV / overhead against usable and total capacity, with context markers. */
export function memoryChart(data: Pick<PanelData, 'curve' | 'hardware' | 'markers'>, box: ChartBox): SvgNode {
  const pts = [...data.curve].sort((a, b) => a.ctx - b.ctx);
  const { usableBytes, capacityBytes } = data.hardware;
  const fit = data.markers.maxFitCtx ?? crossingCtx(pts, usableBytes);
  const summary =
    pts.length === 0
      ? 'No memory curve'
      : `Memory from ${formatBytes(total(pts[0]!))} at ${formatTokens(pts[0]!.ctx)} to ${formatBytes(total(pts.at(-1)!))} at ${formatTokens(pts.at(-1)!.ctx)} context; usable ${formatBytes(usableBytes)}` +
        (fit === undefined ? '; does not fit at any charted context' : Number.isFinite(fit) ? `; stops fitting above ${formatTokens(Math.floor(fit / 1024) * 1024)}` : '; fits at every charted context');
  const root = el('svg', { viewBox: `0 0 ${box.width} ${box.height}`, role: 'img', 'aria-label': summary, class: 'chart memory-chart', preserveAspectRatio: 'xMidYMid meet' }, [el('title', {}, [], summary)]);
  if (pts.length === 0) return root;
  const g = memoryGeometry(data, box);
  const kids = root.children!;
  // Axes and grid.
  // Ticks at round GB (binary, like every label here), not round byte counts.
  for (const v of niceTicks(g.yMax / GiB).map((t) => t * GiB)) {
    kids.push(el('line', { class: 'grid', x1: PAD.left, x2: box.width - PAD.right, y1: r1(g.y(v)), y2: r1(g.y(v)) }));
    kids.push(el('text', { class: 'axis', x: PAD.left - 6, y: r1(g.y(v)), 'text-anchor': 'end', 'dominant-baseline': 'middle' }, [], v === 0 ? '0' : formatBytes(v, 0)));
  }
  for (let c = 2 ** Math.ceil(Math.log2(pts[0]!.ctx)); c <= pts.at(-1)!.ctx; c *= 2) {
    kids.push(el('text', { class: 'axis', x: r1(g.x(c)), y: box.height - PAD.bottom + 16, 'text-anchor': 'middle' }, [], formatTokens(c)));
  }
  // Stacked bands.
  kids.push(el('path', { class: 'band weights', d: band(pts, g, () => 0, (p) => p.weights) }, [el('title', {}, [], 'Weights')]));
  kids.push(el('path', { class: 'band kv', d: band(pts, g, (p) => p.weights, (p) => p.weights + p.kv) }, [el('title', {}, [], 'KV cache')]));
  kids.push(el('path', { class: 'band overhead', d: band(pts, g, (p) => p.weights + p.kv, total) }, [el('title', {}, [], 'Compute and other buffers')]));
  // Capacity lines.
  kids.push(el('g', { class: 'limit total' }, [
    el('line', { x1: PAD.left, x2: box.width - PAD.right, y1: r1(g.y(capacityBytes)), y2: r1(g.y(capacityBytes)) }),
    el('text', { x: box.width - PAD.right - 2, y: r1(g.y(capacityBytes) - 4), 'text-anchor': 'end' }, [], `total ${formatBytes(capacityBytes)}`),
  ]));
  kids.push(el('g', { class: 'limit usable' }, [
    el('line', { x1: PAD.left, x2: box.width - PAD.right, y1: r1(g.y(usableBytes)), y2: r1(g.y(usableBytes)) }),
    el('text', { x: box.width - PAD.right - 2, y: r1(g.y(usableBytes) - 4), 'text-anchor': 'end' }, [], `usable ${formatBytes(usableBytes)}`),
  ]));
  // Context markers.
  const { currentCtx, configuredCtx } = data.markers;
  if (fit !== undefined && Number.isFinite(fit)) kids.push(vmarker(g.x(fit), box, 'fit', `stops fitting ≈ ${formatTokens(Math.floor(fit / 1024) * 1024)}`, 'end'));
  if (configuredCtx) kids.push(vmarker(g.x(configuredCtx), box, 'configured', `configured ${formatTokens(configuredCtx)}`, 'start'));
  if (currentCtx) kids.push(vmarker(g.x(currentCtx), box, 'current', `now ${formatTokens(Math.round(currentCtx))}`, 'start'));
  return root;
}

/** Live decode tok/s over time, with the bandwidth ceiling as a reference line. */
export function sparkline(history: SpeedPoint[], ceiling: number | undefined, box: ChartBox): SvgNode {
  const pts = [...history].sort((a, b) => a.t - b.t);
  const last = pts.at(-1);
  const label = last ? `Decode ${formatTokPerSec(last.tokPerSec)} now${ceiling ? `, ceiling ${formatTokPerSec(ceiling)}` : ''}; ${pts.length} readings` : 'No live decode readings yet';
  const root = el('svg', { viewBox: `0 0 ${box.width} ${box.height}`, role: 'img', 'aria-label': label, class: 'chart sparkline' }, [el('title', {}, [], label)]);
  if (pts.length === 0) return root;
  const top = Math.max(ceiling ?? 0, ...pts.map((p) => p.tokPerSec)) * 1.1 || 1;
  const t0 = pts[0]!.t;
  const span = Math.max(1, last!.t - t0);
  const x = (t: number) => 2 + ((t - t0) / span) * (box.width - 4);
  const y = (v: number) => box.height - 2 - (v / top) * (box.height - 4);
  if (ceiling) root.children!.push(el('line', { class: 'ceiling', x1: 0, x2: box.width, y1: r1(y(ceiling)), y2: r1(y(ceiling)) }));
  root.children!.push(el('polyline', { class: 'speed', points: pts.map((p) => `${r1(x(p.t))},${r1(y(p.tokPerSec))}`).join(' ') }));
  root.children!.push(el('circle', { class: 'speed-now', cx: r1(x(last!.t)), cy: r1(y(last!.tokPerSec)), r: 2.5 }));
  return root;
}
