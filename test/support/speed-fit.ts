// Fitting the speed model (src/estimator/speed-model.ts) to measured rows, and leave-one-model-family-out
// cross-validation. Deterministic (coordinate pattern search in log space from fixed starting values), so the
// constants in src/estimator/speed-params.json can be re-derived and checked by the tests.
import { predictDecode, predictPrefill, deviceOf, stackKey, modelKindOf, MIN_STACK_RUNS, type SpeedModelParams } from '../../src/estimator/speed-model';
import { decodeRange, type BandStats, type SpeedBands } from '../../src/estimator/speed-band';
import { prefillCalibrationRows, type SpeedRow } from './speed-published';
import { LAUNCH_WINDOW_DAYS } from '../../src/estimator/engine-builds';

export const STACKS = ['llama.cpp/cuda', 'llama.cpp/metal', 'llama.cpp/vulkan', 'llama.cpp/rocm', 'llama.cpp/cpu', 'mlx-lm/metal', 'vllm/cuda'] as const;
/** Architecture classes that may carry a kernel-maturity factor (standard attention is the reference). */
const MATURITY_CLASSES = ['hybrid', 'mla'] as const;

export const START: SpeedModelParams = {
  stacks: Object.fromEntries(STACKS.map((s) => [s, { eta: s.endsWith('cpu') ? 0.55 : 0.8, tauMs: 0.05, kvEta: 1, attnEff: 1, stepMs: 0.01 }])),
  computeExponent: 0.5,
  gather: 0.8,
  moeLayerMs: 0.02,
  expertMs: 0.005,
  recurrentLayerMs: 0.05,
  maturity: {},
  // Prior for the launch factor: no slowdown, the gap halving every two weeks (the first follow-up kernel PRs of a
  // new architecture land within days to weeks, e.g. gpt-oss's CUDA attention-sink kernel two days after support).
  launch: { factor: 1, halfLifeDays: 14, source: '' },
  prefillEfficiency: Object.fromEntries(STACKS.map((s) => [s, 0.3])),
};

export function rowStack(r: SpeedRow): string {
  return stackKey(r.engine, r.api);
}

export function predictRow(r: SpeedRow, params: SpeedModelParams): { pred: number; ceiling: number; launch: number } {
  const d = predictDecode(r.workload, deviceOf(r.hw, r.api), {
    engine: r.engine,
    params,
    ...(r.launch ? { launchDays: r.launch.days } : {}),
    ...(r.offload ? { offload: { cpu: r.offload.cpu, expertShare: r.offload.cpuExpertShare, layerShare: 0 } } : {}),
  });
  return { pred: d.decodeTokPerSec, ceiling: d.ceilingTokPerSec, launch: d.launch };
}

interface Knob {
  name: string;
  get(p: SpeedModelParams): number;
  set(p: SpeedModelParams, v: number): void;
  lo: number;
  hi: number;
}


function knobsFor(rows: SpeedRow[], minStackRuns = MIN_STACK_RUNS): Knob[] {
  const stacks = new Set(rows.map(rowStack));
  const k: Knob[] = [];
  for (const s of STACKS) {
    if (!stacks.has(s)) continue;
    const n = rows.filter((r) => rowStack(r) === s).length;
    k.push({ name: `${s}.eta`, get: (p) => p.stacks[s]!.eta, set: (p, v) => (p.stacks[s]!.eta = v), lo: 0.2, hi: 1 });
    k.push({ name: `${s}.step`, get: (p) => p.stacks[s]!.stepMs, set: (p, v) => (p.stacks[s]!.stepMs = v), lo: 1e-3, hi: 30 });
    if (n < minStackRuns) continue;
    k.push({ name: `${s}.tau`, get: (p) => p.stacks[s]!.tauMs, set: (p, v) => (p.stacks[s]!.tauMs = v), lo: 1e-4, hi: 2 });
    // Each stack's MoE kernels gather experts their own way: its own g where it has 3+ MoE runs, else the shared one.
    if (rows.filter((r) => rowStack(r) === s && r.workload.expertBytes > 0).length >= 3)
      k.push({ name: `${s}.gather`, get: (p) => p.stacks[s]!.gather ?? p.gather, set: (p, v) => (p.stacks[s]!.gather = v), lo: 0.2, hi: 1 });
    if (rows.some((r) => rowStack(r) === s && r.depth >= 8192)) {
      k.push({ name: `${s}.kvEta`, get: (p) => p.stacks[s]!.kvEta, set: (p, v) => (p.stacks[s]!.kvEta = v), lo: 0.2, hi: 1 });
      k.push({ name: `${s}.attnEff`, get: (p) => p.stacks[s]!.attnEff, set: (p, v) => (p.stacks[s]!.attnEff = v), lo: 0.001, hi: 1 });
    }
  }
  const has = (f: (r: SpeedRow) => boolean) => rows.some(f);
  k.push({ name: 'computeExponent', get: (p) => p.computeExponent, set: (p, v) => (p.computeExponent = v), lo: 0.05, hi: 1.5 });
  if (has((r) => r.workload.expertBytes > 0)) {
    k.push({ name: 'gather', get: (p) => p.gather, set: (p, v) => (p.gather = v), lo: 0.2, hi: 1 });
    k.push({ name: 'moeLayerMs', get: (p) => p.moeLayerMs, set: (p, v) => (p.moeLayerMs = v), lo: 1e-4, hi: 2 });
    k.push({ name: 'expertMs', get: (p) => p.expertMs, set: (p, v) => (p.expertMs = v), lo: 1e-5, hi: 0.5 });
  }
  // Two-die GPUs (Apple Ultra): scattered expert reads cross the die-to-die link.
  if (has((r) => r.workload.expertBytes > 0 && (r.hw.dies ?? 1) > 1 && r.api !== 'cpu'))
    k.push({ name: 'multiDieGather', get: (p) => p.multiDieGather ?? 1, set: (p, v) => (p.multiDieGather = v), lo: 0.2, hi: 1 });
  if (has((r) => r.workload.nRecurrentLayers > 0)) k.push({ name: 'recurrentLayerMs', get: (p) => p.recurrentLayerMs, set: (p, v) => (p.recurrentLayerMs = v), lo: 1e-4, hi: 2 });
  // The launch factor where launch-day runs exist; its half-life only where runs at other ages can pin it
  // (otherwise it stays at the START prior).
  if (has((r) => r.launch !== undefined && r.launch.days <= 7)) {
    k.push({ name: 'launch', get: (p) => p.launch!.factor, set: (p, v) => (p.launch!.factor = v), lo: 0.1, hi: 1 });
    if (has((r) => r.launch !== undefined && r.launch.days > 7))
      k.push({ name: 'launchHalfLife', get: (p) => p.launch!.halfLifeDays, set: (p, v) => (p.launch!.halfLifeDays = v), lo: 1, hi: 180 });
  }
  for (const s of STACKS) {
    for (const c of MATURITY_CLASSES) {
      // A maturity factor needs at least 3 runs of that engine stack on that architecture class.
      if (rows.filter((r) => rowStack(r) === s && r.workload.archClass === c).length < 3) continue;
      const key = `${s}|${c}`;
      k.push({
        name: `maturity ${key}`,
        get: (p) => p.maturity[key]?.factor ?? 1,
        set: (p, v) => (p.maturity[key] = { factor: v, source: '' }),
        lo: 0.1,
        hi: 1,
      });
    }
  }
  return k;
}

/** Loss switches from quadratic to linear beyond ±20 % (log error). */
export const HUBER = 0.2;
/** Band = central 75 % of the cross-validated ratios (12.5th–87.5th percentile): the coverage the band promises. */
const BAND_Q = 0.125;
const clone = (p: SpeedModelParams): SpeedModelParams => JSON.parse(JSON.stringify(p)) as SpeedModelParams;

/** Robust loss on log(pred / measured): quadratic within ±20 %, linear beyond (a few odd runs must not steer). */
function loss(rows: SpeedRow[], p: SpeedModelParams, huber = HUBER): number {
  let s = 0;
  for (const r of rows) {
    const e = Math.abs(Math.log(predictRow(r, p).pred / r.measured));
    s += e <= huber ? e * e : huber * (2 * e - huber);
  }
  return s / rows.length;
}

/** Coordinate pattern search in log space; every knob stays inside its physical bounds. */
/** Same chips, other API: where a thin stack borrows its second-order terms from. */
const PARENT: Record<string, string> = { 'llama.cpp/rocm': 'llama.cpp/vulkan', 'vllm/cuda': 'llama.cpp/cuda' };

export function fitParams(rows: SpeedRow[], start: SpeedModelParams = START, huber = HUBER, minStackRuns = MIN_STACK_RUNS): SpeedModelParams {
  const p = clone(start);
  const runs = (s: string) => rows.filter((r) => rowStack(r) === s).length;
  for (const s of STACKS) {
    const parent = PARENT[s];
    if (!parent || runs(s) >= minStackRuns || runs(parent) < minStackRuns) delete p.stacks[s]!.borrows;
    else p.stacks[s]!.borrows = parent;
  }
  const knobs = knobsFor(rows, minStackRuns);
  let best = loss(rows, p, huber);
  for (const step of [1.6, 1.25, 1.1, 1.03, 1.01]) {
    for (let sweep = 0; sweep < 12; sweep++) {
      let improved = false;
      for (const k of knobs) {
        for (const f of [step, 1 / step]) {
          const cur = k.get(p);
          const v = Math.min(k.hi, Math.max(k.lo, cur * f));
          if (v === cur) continue;
          k.set(p, v);
          const l = loss(rows, p, huber);
          if (l < best - 1e-12) {
            best = l;
            improved = true;
          } else k.set(p, cur);
        }
      }
      if (!improved) break;
    }
  }
  return p;
}

export interface CvResult {
  row: SpeedRow;
  pred: number;
  ceiling: number;
  /** measured ÷ predicted (cross-validated: the row's family was not in the fit). */
  ratio: number;
  /** Launch factor applied to the prediction (1: a mature build). */
  launch: number;
}

/** Rows the model is fitted and judged on: everything not marked excluded. */
export function usableRows(rows: SpeedRow[]): SpeedRow[] {
  return rows.filter((r) => !r.excluded);
}

/** Leave-one-model-family-out: refit without each family, predict it. */
export function crossValidate(rows: SpeedRow[]): CvResult[] {
  const use = usableRows(rows);
  const families = [...new Set(use.map((r) => r.family))].sort();
  const out: CvResult[] = [];
  for (const f of families) {
    const p = fitParams(use.filter((r) => r.family !== f));
    for (const r of use.filter((x) => x.family === f)) {
      const { pred, ceiling, launch } = predictRow(r, p);
      out.push({ row: r, pred, ceiling, launch, ratio: r.measured / pred });
    }
  }
  return out;
}

export function absPct(ratio: number): number {
  return Math.abs(1 / ratio - 1) * 100;
}

export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return s[lo]! + (s[hi]! - s[lo]!) * (i - lo);
}

// ---- error bands, cross-validated -------------------------------------------------------------------------


function stats(ratios: number[]): BandStats {
  return { n: ratios.length, lo: quantile(ratios, BAND_Q), hi: quantile(ratios, 1 - BAND_Q) };
}

/** Residual groups (kind × stack, kind, all) from cross-validated results. */
export function bandsFrom(cv: CvResult[]): SpeedBands {
  const groups: Record<string, BandStats> = { all: stats(cv.map((c) => c.ratio)) };
  const keys = new Set<string>();
  for (const c of cv) keys.add(`${c.row.kind}|${rowStack(c.row)}`).add(c.row.kind);
  for (const k of [...keys].sort()) {
    const sel = cv.filter((c) => (k.includes('|') ? `${c.row.kind}|${rowStack(c.row)}` === k : c.row.kind === k));
    if (sel.length > 0) groups[k] = stats(sel.map((c) => c.ratio));
  }
  const stackRuns: Record<string, number> = {};
  for (const c of cv) stackRuns[rowStack(c.row)] = (stackRuns[rowStack(c.row)] ?? 0) + 1;
  return { groups, stackRuns, archsSeen: [...new Set(cv.map((c) => c.row.spec.arch))].sort() };
}

export interface BandCheck {
  cv: CvResult;
  low: number;
  high: number;
  contains: boolean;
}

/**
 * Each row's band as the product would show it, built only from the OTHER families' cross-validated residuals
 * (its own family never informs its band), and whether it contains the measurement.
 */
export function crossValidatedBands(cv: CvResult[]): BandCheck[] {
  return cv.map((c) => {
    const others = cv.filter((x) => x.row.family !== c.row.family);
    const bands = bandsFrom(others);
    const r = decodeRange(c.pred, c.ceiling, { kind: modelKindOf(c.row.spec), stack: rowStack(c.row), arch: c.row.spec.arch }, { bands, launch: c.launch });
    return { cv: c, low: r.low, high: r.high, contains: c.row.measured >= r.low * 0.999 && c.row.measured <= r.high * 1.001 };
  });
}

export interface Metrics {
  n: number;
  median: number;
  p90: number;
  byKind: Record<string, { n: number; median: number; p90: number }>;
  byStack: Record<string, { n: number; median: number; p90: number }>;
  coverage: number;
  medianHighOverLow: number;
  /** Highest prediction ÷ ceiling (must be ≤ 1). */
  maxOverCeiling: number;
}

function summary(errs: number[]): { n: number; median: number; p90: number } {
  return { n: errs.length, median: quantile(errs, 0.5), p90: quantile(errs, 0.9) };
}

/** Metrics over the published rows (the calibration rows help fit but are not what the targets are judged on). */
export function metricsOf(cv: CvResult[], bands: BandCheck[]): Metrics {
  const pub = cv.filter((c) => c.row.origin === 'published');
  const pb = bands.filter((b) => b.cv.row.origin === 'published');
  const byKind: Metrics['byKind'] = {};
  for (const k of ['dense', 'moe', 'hybrid']) byKind[k] = summary(pub.filter((c) => c.row.kind === k).map((c) => absPct(c.ratio)));
  const byStack: Metrics['byStack'] = {};
  for (const s of [...new Set(pub.map((c) => rowStack(c.row)))].sort()) byStack[s] = summary(pub.filter((c) => rowStack(c.row) === s).map((c) => absPct(c.ratio)));
  return {
    ...summary(pub.map((c) => absPct(c.ratio))),
    byKind,
    byStack,
    coverage: pb.filter((b) => b.contains).length / pb.length,
    medianHighOverLow: quantile(pb.map((b) => b.high / b.low), 0.5),
    maxOverCeiling: Math.max(...cv.map((c) => c.pred / c.ceiling)),
  };
}

/** Maturity entries get their evidence in words: the runs they were fitted on. */
export function describeMaturity(p: SpeedModelParams, rows: SpeedRow[]): SpeedModelParams {
  const out = clone(p);
  if (out.launch) {
    const sel = usableRows(rows).filter((r) => r.launch);
    const runs = [...new Set(sel.map((r) => `${r.spec.arch} on ${rowStack(r)}`))].join(', ');
    out.launch = { factor: Math.round(out.launch.factor * 1000) / 1000, halfLifeDays: Math.round(out.launch.halfLifeDays * 10) / 10, source: `fitted on ${sel.length} published runs of launch builds, 0–${LAUNCH_WINDOW_DAYS} days into support (${runs})` };
  }
  for (const [key, m] of Object.entries(out.maturity)) {
    const [stack, cls] = key.split('|');
    const sel = usableRows(rows).filter((r) => rowStack(r) === stack && r.workload.archClass === cls);
    const fams = [...new Set(sel.map((r) => r.spec.arch))].join(', ');
    if (m.factor >= 0.995) delete out.maturity[key];
    else m.factor = Math.round(m.factor * 1000) / 1000, (m.source = `fitted on ${sel.length} published runs (${fams}) in test/fixtures/research/speed-published.csv`);
  }
  return out;
}

// ---- prefill ----------------------------------------------------------------------------------------------


/** Rows whose prompt-processing figure is a real batch rate: llama-bench pp at depth 0, or MLX on long prompts. */
export function prefillRows(rows: SpeedRow[]): SpeedRow[] {
  return [
    ...usableRows(rows).filter((r) => r.prefillMeasured && !r.offload && (rowStack(r) === 'mlx-lm/metal' ? r.depth >= 512 : r.depth === 0)),
    ...prefillCalibrationRows(),
  ];
}

const prefillKind = (r: SpeedRow) => (r.spec.moe ? 'moe' : 'dense');

function prefillRatio(r: SpeedRow, eff: number): number {
  const p = predictPrefill(r.spec.activeParams, deviceOf(r.hw, r.api), r.engine, { ...START, prefillEfficiency: { [rowStack(r)]: eff } }, Boolean(r.spec.moe));
  return r.prefillMeasured! / p;
}

/** Efficiency per stack = median of measured ÷ (FP16 peak / 2·active params) over the given rows. */
export function fitPrefill(rows: SpeedRow[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of STACKS) {
    const sel = rows.filter((r) => rowStack(r) === s);
    if (sel.length) out[s] = Math.round(quantile(sel.map((r) => prefillRatio(r, 1)), 0.5) * 1000) / 1000;
    // Dense and MoE separately where each has 3+ runs on this stack.
    for (const k of ['dense', 'moe']) {
      const sub = sel.filter((r) => prefillKind(r) === k);
      if (sub.length >= 3) out[`${s}|${k}`] = Math.round(quantile(sub.map((r) => prefillRatio(r, 1)), 0.5) * 1000) / 1000;
    }
  }
  return out;
}

/** Leave-one-family-out for prefill: ratio measured ÷ predicted with the efficiency learned from other families. */
export function crossValidatePrefill(rows: SpeedRow[]): { row: SpeedRow; ratio: number }[] {
  const pr = prefillRows(rows);
  const out: { row: SpeedRow; ratio: number }[] = [];
  for (const r of pr) {
    const fit = fitPrefill(pr.filter((x) => x.family !== r.family));
    const eff = fit[`${rowStack(r)}|${prefillKind(r)}`] ?? fit[rowStack(r)];
    if (eff) out.push({ row: r, ratio: prefillRatio(r, eff) });
  }
  return out;
}
