// Bench aggregation against published measurements (research/speed-calibration.csv) plus algebraic properties.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { addResult, benchKeyId, benchRows, calibrate, calibratedDecodeAt, combineResults, measuredDecodeAt, resultFor, stackEfficiency, type BenchResult, type BenchRun } from '../../src/estimator/bench-result';
import { DATA } from '../support/data';

const CSV = `${DATA}/research/speed-calibration.csv`;

interface Row { hardware: string; bw: number; model: string; quant: string; depth: number; tps: number }
function rows(): Row[] {
  return readFileSync(CSV, 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#') && !l.startsWith('hardware,'))
    .map((l) => l.split(','))
    .map(([hardware, bw, model, quant, , depth, tps]) => ({ hardware: hardware!, bw: Number(bw), model: model!, quant: quant!, depth: Number(depth), tps: Number(tps) }));
}

function run(depth: number, decode: number, extra: Partial<BenchRun> = {}): BenchRun {
  return { targetDepth: depth, promptTokens: depth, cachedTokens: 0, outputTokens: 64, decodeTokPerSec: decode, wallMs: 1000, timing: 'engine', ...extra };
}

/** The published gpt-oss-120b curve on DGX Spark: four depths, 0 → 32k. */
function spark120b(): BenchResult {
  const pts = rows().filter((r) => r.hardware === 'dgx-spark-128' && r.model === 'openai/gpt-oss-120b');
  assert.equal(pts.length, 4);
  return { key: { endpoint: 'http://spark:8080', model: 'openai/gpt-oss-120b', quant: 'MXFP4', hardwareId: 'dgx-spark-128' }, engine: 'llama.cpp', measuredAt: '2026-11-23T00:00:00Z', runs: pts.map((p) => run(p.depth, p.tps)) };
}

test('measuredDecodeAt reproduces the measured points and interpolates between them in time per token', () => {
  const r = spark120b();
  for (const p of r.runs) assert.ok(Math.abs(measuredDecodeAt(r, p.promptTokens)! - p.decodeTokPerSec!) < 1e-9);
  // 8192 lies between the 4096 (53.95) and 16384 (48.03) measurements.
  const mid = measuredDecodeAt(r, 8192)!;
  assert.ok(mid < 53.95 && mid > 48.03, `${mid}`);
  // Interpolating in 1/rate: one third of the way from 4096 to 16384 in seconds per token.
  const expect = 1 / (1 / 53.95 + ((8192 - 4096) / (16384 - 4096)) * (1 / 48.03 - 1 / 53.95));
  assert.ok(Math.abs(mid - expect) < 1e-9);
  // Outside the range it clamps rather than extrapolating into nonsense.
  assert.equal(measuredDecodeAt(r, 131072), 41.35);
  assert.equal(measuredDecodeAt({ ...r, runs: [] }, 100), undefined);
});

test('stack efficiency of published runs against a bandwidth roofline is below 1', () => {
  // gpt-oss-120b MXFP4: ~5.1B active params at ~4.25 bits → ~2.7 GB read per token (weights only, depth 0).
  const r = spark120b();
  const ceiling0 = 273e9 / 2.7e9;
  const rows0 = benchRows(r, (d) => (d === 0 ? ceiling0 : undefined));
  assert.equal(rows0[0]!.ceilingTokPerSec, ceiling0);
  const eff = rows0[0]!.efficiency!;
  assert.ok(eff > 0.4 && eff < 1, `efficiency ${eff}`);
  assert.equal(rows0[1]!.efficiency, undefined, 'no ceiling → no efficiency');
  assert.equal(stackEfficiency(undefined, 100), undefined);
  assert.equal(stackEfficiency(50, 0), undefined);
});

test('calibration: a predictor off by a constant factor is corrected exactly; no usable runs → undefined', () => {
  const r = spark120b();
  const cal = calibrate(r, (d) => 2 * measuredDecodeAt(r, d)!)!;
  assert.ok(Math.abs(cal.factor - 0.5) < 1e-12);
  assert.equal(cal.points.length, 4);
  assert.equal(calibrate(r, () => undefined), undefined);
  assert.equal(calibrate({ ...r, runs: [run(0, Number.NaN)] }, () => 10), undefined);
});

test('calibration factor is the geometric mean: a predictor right on average across depths scores 1', () => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: 0.1, max: 500, noNaN: true }), { minLength: 1, maxLength: 6 }), fc.double({ min: 0.05, max: 20, noNaN: true }), (rates, k) => {
      const res: BenchResult = { key: { endpoint: 'e', model: 'm' }, engine: 'x', measuredAt: 't', runs: rates.map((x, i) => run(i * 1000, x)) };
      const cal = calibrate(res, (d) => k * rates[d / 1000]!)!;
      return Math.abs(cal.factor * k - 1) < 1e-9;
    }),
  );
});

test('combineResults takes per-depth medians, keeps the newest key data, refuses mixed stacks', () => {
  const base = spark120b();
  const a: BenchResult = { ...base, measuredAt: '2026-11-20T00:00:00Z', runs: [run(0, 50), run(4096, 40)] };
  const b: BenchResult = { ...base, measuredAt: '2026-11-22T00:00:00Z', nCtx: 65536, runs: [run(0, 60), run(4096, 44, { timing: 'client' })] };
  const c: BenchResult = { ...base, measuredAt: '2026-11-21T00:00:00Z', runs: [run(0, 70)] };
  const m = combineResults([a, b, c]);
  assert.equal(m.measuredAt, '2026-11-22T00:00:00Z');
  assert.equal(m.nCtx, 65536);
  assert.deepEqual(m.runs.map((r) => [r.targetDepth, r.decodeTokPerSec, r.timing]), [[0, 60, 'engine'], [4096, 42, 'client']]);
  assert.throws(() => combineResults([a, { ...b, key: { ...b.key, quant: 'Q4_K_M' } }]), /mixed keys/);
  assert.throws(() => combineResults([]), /no results/);
});

test('combining a result with itself changes nothing (idempotent per depth)', () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 131072 }), { minLength: 1, maxLength: 5 }), fc.double({ min: 1, max: 300, noNaN: true }), (depths, rate) => {
      const r: BenchResult = { key: { endpoint: 'e', model: 'm' }, engine: 'x', measuredAt: 't', runs: depths.map((d, i) => run(d, rate + i)) };
      const m = combineResults([r, r]);
      const sorted = [...r.runs].sort((x, y) => x.targetDepth - y.targetDepth);
      assert.deepEqual(m.runs, sorted);
    }),
  );
});

test('benchKeyId separates stacks and normalises trailing slashes', () => {
  assert.equal(benchKeyId({ endpoint: 'http://a:1/', model: 'm' }), benchKeyId({ endpoint: 'http://a:1', model: 'm' }));
  assert.notEqual(benchKeyId({ endpoint: 'http://a:1', model: 'm', quant: 'Q4_K_M' }), benchKeyId({ endpoint: 'http://a:1', model: 'm', quant: 'Q8_0' }));
  assert.notEqual(benchKeyId({ endpoint: 'http://a:1', model: 'm', hardwareId: 'x' }), benchKeyId({ endpoint: 'http://a:1', model: 'm' }));
});

test('addResult keeps the newest N per stack and leaves other stacks alone; resultFor pools them', () => {
  const a = spark120b();
  const other: BenchResult = { ...a, key: { ...a.key, hardwareId: 'strix-halo-128' } };
  let store: BenchResult[] = [other];
  for (let day = 1; day <= 7; day++) store = addResult(store, { ...a, measuredAt: `2026-11-0${day}T00:00:00Z`, runs: [run(0, 50 + day)] }, 5);
  const mine = store.filter((r) => r.key.hardwareId === 'dgx-spark-128');
  assert.equal(mine.length, 5);
  assert.deepEqual(mine.map((r) => r.measuredAt.slice(8, 10)).sort(), ['03', '04', '05', '06', '07']);
  assert.ok(store.includes(other));
  const pooled = resultFor(store, a.key)!;
  assert.equal(pooled.runs[0]!.decodeTokPerSec, 55, 'median of 53..57');
  assert.equal(resultFor(store, { ...a.key, quant: 'Q8_0' }), undefined);
});

/** Two recorded llama.cpp answers (fixtures/llama.cpp): the engine's own decode rate at two prompt depths. */
function recordedLlama(): BenchResult {
  const t = (f: string) => (JSON.parse(readFileSync(`${DATA}/engines/llama.cpp/${f}`, 'utf8')) as { timings: { prompt_n: number; cache_n: number; predicted_per_second: number } }).timings;
  const runs = [t('completion.json'), t('v1_chat_completions.json')].map((x) => run(x.prompt_n + x.cache_n, x.predicted_per_second));
  return { key: { endpoint: 'http://127.0.0.1:8080', model: 'llama31-8b-shape-4L-Q4_K_M.gguf', quant: 'Q4_K_M' }, engine: 'llama.cpp', measuredAt: '2026-11-23T10:00:00Z', runs };
}

test('calibratedDecodeAt: measured inside the measured depths, speed model anchored to the nearest run outside (recorded llama.cpp timings)', () => {
  const r = recordedLlama();
  // completion.json: 5 + 1 cached prompt tokens at 25.5107 tok/s; v1_chat_completions.json: 47 at 22.0960.
  assert.deepEqual(r.runs.map((x) => [x.promptTokens, x.decodeTokPerSec]), [[6, 25.51072470866752], [47, 22.095964245783723]]);
  // A speed model costing 40 ms per token plus 0.01 ms per token of context.
  const predict = (d: number) => 1000 / (40 + 0.01 * d);
  // Predicted 24.9626 at 6 and 24.7097 at 47: measured ÷ predicted = 1.02196 and 0.89422.
  const close = (a: number | undefined, b: number, what: string) => assert.ok(a !== undefined && Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);
  const at6 = calibratedDecodeAt(r, predict, 6)!;
  assert.equal(at6.source, 'measured');
  assert.equal(at6.tokPerSec, 25.51072470866752);
  close(at6.predictedTokPerSec, 1000 / 40.06, 'predicted at 6');
  assert.equal(at6.factor, undefined, 'nothing is scaled inside the range');
  assert.equal(at6.measuredAt, '2026-11-23T10:00:00Z');
  // Depth 20 lies 14/41 of the way from 6 to 47 in seconds per token.
  const at20 = calibratedDecodeAt(r, predict, 20)!;
  assert.equal(at20.source, 'measured');
  close(at20.tokPerSec, 24.23198974108178, 'interpolated at 20');
  // Deep context: the model's 12.3518 tok/s at 4096 (1000/80.96) scaled by the 47-token ratio 0.89422 → 11.0453.
  const deep = calibratedDecodeAt(r, predict, 4096)!;
  assert.equal(deep.source, 'calibrated');
  close(deep.predictedTokPerSec, 12.35177865612648, 'predicted at 4096');
  close(deep.factor, 0.8942236730268672, 'ratio at 47');
  assert.equal(deep.anchorDepth, 47);
  close(deep.tokPerSec, 11.045252878296283, 'calibrated at 4096');
  // Below the shallowest run (empty context): 25.0 predicted × the 6-token ratio 1.02196 → 25.549, a touch
  // faster than the 6-token measurement, as less KV is read — not clamped, not pulled down by the deep run.
  const empty = calibratedDecodeAt(r, predict, 0)!;
  assert.equal(empty.source, 'calibrated');
  assert.equal(empty.anchorDepth, 6);
  close(empty.tokPerSec, 25.548990795730518, 'calibrated at 0');
  assert.ok(empty.tokPerSec > at6.tokPerSec);
  // Continuous at the edges: one token past the deepest run is within 0.1% of the measurement there.
  assert.ok(Math.abs(calibratedDecodeAt(r, predict, 48)!.tokPerSec / 22.095964245783723 - 1) < 1e-3);
});

test('calibratedDecodeAt without a speed model: measured inside the range, nothing outside; no usable run → undefined', () => {
  const r = recordedLlama();
  const inside = calibratedDecodeAt(r, undefined, 47)!;
  assert.deepEqual(inside, { depth: 47, tokPerSec: 22.095964245783723, source: 'measured', measuredAt: '2026-11-23T10:00:00Z' });
  assert.equal(calibratedDecodeAt(r, undefined, 4096), undefined);
  assert.equal(calibratedDecodeAt(r, () => undefined, 4096), undefined);
  const { decodeTokPerSec: _omit, ...noDecode } = r.runs[0]!;
  assert.equal(calibratedDecodeAt({ ...r, runs: [noDecode] }, () => 30, 6), undefined);
});
