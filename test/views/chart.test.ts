// Chart geometry and table sorting (the pure parts of the panel).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crossingCtx, memoryChart, memoryGeometry, niceTicks, sparkline } from '../../src/views/chart';
import type { SvgNode } from '../../src/views/svg';
import { SVG_ATTRS, SVG_TAGS } from '../../src/views/svg';
import { nextSort, sortRows } from '../../src/views/table';
import { KV_PER_TOKEN, samplePanelData } from './fixtures';

const GiB = 1024 ** 3;
const walk = (n: SvgNode, f: (n: SvgNode) => void) => {
  f(n);
  for (const c of n.children ?? []) walk(c, f);
};
const find = (n: SvgNode, pred: (n: SvgNode) => boolean) => {
  const out: SvgNode[] = [];
  walk(n, (x) => pred(x) && out.push(x));
  return out;
};

test('crossing: where weights + KV + overhead reaches usable memory', () => {
  const d = samplePanelData();
  // 23.2 GiB usable − 17.3 − 0.6 = 5.3 GiB for KV; at 96 KiB per token that is 5.3 × 2^30 / 98304 = 57,890 tokens.
  const expected = (5.3 * GiB) / KV_PER_TOKEN;
  const c = crossingCtx(d.curve, d.hardware.usableBytes)!;
  assert.ok(Math.abs(c - expected) < 1, `${c} vs ${expected}`);
  assert.equal(crossingCtx(d.curve, 100 * GiB), Infinity);
  assert.equal(crossingCtx(d.curve, 10 * GiB), undefined);
  assert.equal(crossingCtx([], 10), undefined);
});

test('nice ticks are round and cover the range', () => {
  assert.deepEqual(niceTicks(26e9, 5).map((v) => v / 1e9), [0, 10, 20]);
  assert.deepEqual(niceTicks(9, 5), [0, 2, 4, 6, 8]);
  assert.deepEqual(niceTicks(0), [0]);
});

test('memory chart: stacked bands in order, markers where the data says, accessible summary', () => {
  const d = samplePanelData();
  const box = { width: 640, height: 260 };
  const svg = memoryChart(d, box);
  const g = memoryGeometry(d, box);
  assert.equal(svg.attrs?.role, 'img');
  assert.match(String(svg.attrs?.['aria-label']), /usable 23\.2 GB; stops fitting above 56k/);
  const bands = find(svg, (n) => String(n.attrs?.class).startsWith('band'));
  assert.deepEqual(bands.map((b) => b.attrs!.class), ['band weights', 'band kv', 'band overhead']);
  // The KV band's top edge at 128k sits at y(weights + kv(128k)).
  const kvTop = String(bands[1]!.attrs!.d).split(' ')[5]!; // sixth point = 131072
  const [x, y] = kvTop.slice(1).split(',').map(Number);
  assert.ok(Math.abs(x! - g.x(131072)) < 0.1 && Math.abs(y! - g.y(17.3 * GiB + 131072 * KV_PER_TOKEN)) < 0.1);
  // Log axis: each doubling of context is the same width.
  assert.ok(Math.abs(g.x(8192) - g.x(4096) - (g.x(65536) - g.x(32768))) < 1e-9);
  // y ticks at round binary GB: yMax = 29.9 GiB (128k total) × 1.05 = 31.4 → steps of 10.
  assert.deepEqual(find(svg, (n) => n.attrs?.class === 'axis' && n.attrs?.['text-anchor'] === 'end').map((n) => n.text), ['0', '10 GB', '20 GB', '30 GB']);
  const markers = find(svg, (n) => String(n.attrs?.class).startsWith('marker'));
  assert.deepEqual(markers.map((m) => m.attrs!.class), ['marker fit', 'marker configured', 'marker current']);
  assert.equal(markers[0]!.children![1]!.text, 'stops fitting ≈ 56k');
  assert.equal(markers[1]!.children![0]!.attrs!.x1, Math.round(g.x(32768) * 10) / 10);
  // Only whitelisted tags and attributes: nothing the webview could turn into markup or a handler.
  walk(svg, (n) => {
    assert.ok((SVG_TAGS as readonly string[]).includes(n.tag), n.tag);
    for (const k of Object.keys(n.attrs ?? {})) assert.ok((SVG_ATTRS as readonly string[]).includes(k), k);
  });
});

test('memory chart: the host-computed max-fit marker wins; no fit marker when everything fits', () => {
  const withHost = memoryChart({ ...samplePanelData(), markers: { maxFitCtx: 40960 } }, { width: 640, height: 260 });
  assert.equal(find(withHost, (n) => n.attrs?.class === 'marker fit')[0]!.children![1]!.text, 'stops fitting ≈ 40k');
  const big = samplePanelData({ hardware: { name: 'M3 Ultra', usableBytes: 384 * GiB, capacityBytes: 512 * GiB, bandwidthGBps: 819 } });
  const svg = memoryChart(big, { width: 640, height: 260 });
  assert.equal(find(svg, (n) => n.attrs?.class === 'marker fit').length, 0);
  assert.match(String(svg.attrs?.['aria-label']), /fits at every charted context/);
});

test('sparkline: readings as a polyline under the ceiling line', () => {
  const d = samplePanelData();
  const s = sparkline(d.speed.history, d.speed.ceilingTokPerSec, { width: 320, height: 48 });
  const line = find(s, (n) => n.tag === 'polyline')[0]!;
  const pts = String(line.attrs!.points).split(' ').map((p) => p.split(',').map(Number));
  assert.equal(pts.length, 3);
  assert.deepEqual(pts.map((p) => p[0]), [2, 160, 318]);
  const ceilingY = Number(find(s, (n) => n.attrs?.class === 'ceiling')[0]!.attrs!.y1);
  assert.ok(pts.every((p) => p[1]! > ceilingY), 'all readings below the ceiling (larger y)');
  assert.match(String(s.attrs!['aria-label']), /Decode 121 tok\/s now, ceiling 190 tok\/s; 3 readings/);
  assert.equal(find(sparkline([], 100, { width: 10, height: 10 }), (n) => n.tag === 'polyline').length, 0);
});

test('table sort: numeric, stable, missing values last in both directions; header toggling', () => {
  const rows = samplePanelData().alternatives;
  assert.deepEqual(sortRows(rows, { key: 'memoryBytes', dir: 'asc' }).map((r) => r.id), ['q3', 'kvq8', 'current', 'q8']);
  assert.deepEqual(sortRows(rows, { key: 'decodeTokPerSec', dir: 'desc' }).map((r) => r.id), ['q3', 'kvq8', 'current', 'q8']);
  assert.deepEqual(sortRows(rows, { key: 'decodeTokPerSec', dir: 'asc' }).map((r) => r.id), ['current', 'kvq8', 'q3', 'q8']);
  assert.deepEqual(sortRows(rows, { key: 'fits', dir: 'desc' }).map((r) => r.id), ['current', 'q3', 'kvq8', 'q8']);
  // 'kv cache q8_0' < 'q3_k_m' < 'q4_k_m, 32k (now)' < 'q8_0', case-insensitively.
  assert.deepEqual(sortRows(rows, { key: 'label', dir: 'asc' }).map((r) => r.id), ['kvq8', 'q3', 'current', 'q8']);
  assert.deepEqual(nextSort({ key: 'memoryBytes', dir: 'asc' }, 'memoryBytes'), { key: 'memoryBytes', dir: 'desc' });
  assert.deepEqual(nextSort({ key: 'memoryBytes', dir: 'asc' }, 'decodeTokPerSec'), { key: 'decodeTokPerSec', dir: 'desc' });
});
