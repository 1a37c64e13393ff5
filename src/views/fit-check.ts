// "Check Model Fit" and the panel's content: evaluate one configuration on one machine, chart memory against
// context, and lay out the alternatives with what each costs. Pure (estimator only).
import { catalogModels } from '../estimator/catalog';
import { evaluate, type Evaluation } from '../estimator/fit';
import { formatBytes, formatTokens, formatTokPerSec, formatTokPerSecRange, speedWord } from '../estimator/format';
import { servingEngineFor } from '../estimator/speed-model';
import { usableBytes, type HardwareSpec } from '../estimator/hardware';
import { wiredLimitAdvice } from '../estimator/live';
import { defaultContextOptions, estimateMemory } from '../estimator/memory';
import { parseQuant } from '../estimator/quant-recipes';
import { estimateSpeed } from '../estimator/speed';
import { suggest, type Suggestion } from '../estimator/suggestions';
import type { ContextOptions, KvType, ModelSpec, Provenance, WeightsInfo } from '../estimator/types';
import type { Verdict } from '../estimator/verdict';
import { weightsForQuant, weightsForQuantLike } from '../estimator/weights';
import { defaultQuantFor as defaultQuantForSpec } from '../estimator/quant-recipes';
import { engineCommand, keepsWeights } from '../estimator/engine-commands';
import { DEFAULT_ENGINE, parseServingEngine, SERVING_ENGINES, type ServingEngine } from '../estimator/engine';
import { fitMark, type ModelCandidate } from './pick-items';
import { fixContext } from './reload-fix';
import { resolveModelName } from '../estimator/model-names';
import type { Detection } from '../providers/detect';
import type { DashboardState } from './model';
import type { AlternativeRow, CurvePoint, Fact, PanelData, SpeedPoint } from './protocol';
import { sourceLabel } from './status';
import { benchFactValue, type BenchDecode } from './measured';

export interface FitTarget {
  /** Catalog id or engine model name. */
  modelId: string;
  title: string;
  spec: ModelSpec;
  quant: string;
  /** Engine-reported weights, when the model is loaded; else derived from the quant. */
  weights?: WeightsInfo;
  ctx: ContextOptions;
  /** Largest context the model supports. */
  contextMax: number;
  /** Engine kind, for command lines (`ollama`, `llama.cpp` ...). */
  engine?: string;
  /** Tokens in context now (current marker, speed depth). */
  depth?: number;
  /** Engine-reported figures to show next to our estimate. */
  engineFacts?: { residentBytes?: number; cpuBytes?: number };
  live?: { history: SpeedPoint[]; decodeTokPerSec?: number; source?: Provenance };
  /** Measure Speed / `headroom bench` of this stack, at the current depth: shown next to the prediction. */
  measured?: BenchDecode;
  verdict?: Verdict;
  /** Other loaded models the user can switch the panel to. */
  others?: { key: string; name: string; totalBytes: number; fits: boolean }[];
  /** A loaded model whose engine can reload it with another context (Ollama, LM Studio): its key. */
  reloadKey?: string;
  /** This machine now (live reading): free memory, other processes, the Apple GPU wired limit; `loaded` = this model is already in. */
  now?: { freeBytes: number; othersBytes: number; source: string; loaded: boolean; wiredLimitBytes?: number };
}

export interface FitResult {
  evaluation: Evaluation;
  suggestions: Suggestion[];
  data: PanelData;
}

const GGUF_LADDER = ['Q8_0', 'Q6_K', 'Q5_K_M', 'Q4_K_M', 'Q3_K_M', 'Q2_K'];
const MLX_LADDER = ['MLX-8bit', 'MLX-6bit', 'MLX-4bit', 'MLX-3bit'];

/** Memory at context sizes from 1k (doubling) to the model's max, plus the configured size. */
export function memoryCurve(spec: ModelSpec, weights: WeightsInfo, ctx: ContextOptions, contextMax: number): CurvePoint[] {
  const top = Math.max(2048, Math.min(contextMax, 1 << 20));
  const sizes = new Set<number>();
  for (let c = 1024; c <= top; c *= 2) sizes.add(c);
  sizes.add(top);
  if (ctx.ctxPerSeq >= 1024 && ctx.ctxPerSeq <= top) sizes.add(ctx.ctxPerSeq);
  return [...sizes]
    .sort((a, b) => a - b)
    .map((c) => {
      const m = estimateMemory(spec, weights, { ...ctx, ctxPerSeq: c });
      return { ctx: c, weights: m.weightsBytes, kv: m.kvBytes, overhead: m.computeBytes + m.otherBytes + (m.repackBytes ?? 0) };
    });
}

function weightsFor(t: FitTarget, quant: string): WeightsInfo {
  if (!t.weights) return weightsForQuant(t.spec, quant);
  return quant === t.quant ? t.weights : weightsForQuantLike(t.spec, quant, t.weights);
}

const COPY_LABEL = { ollama: 'Copy ollama', 'llama.cpp': 'Copy llama-server', lmstudio: 'Copy lms', vllm: 'Copy vllm serve', 'mlx-lm': 'Copy mlx_lm.server' } as const;

/**
 * The command for a row in the words of the engine serving the model (llama.cpp for engines without a command
 * vocabulary of their own, and for catalog models). None when the engine cannot take it: the cost says why.
 */
function copyAction(t: FitTarget, modelId: string, quant: string, ctx: ContextOptions, kvType: KvType, kind: string): { action?: AlternativeRow['action']; note?: string } {
  const engine = (t.engine && parseServingEngine(t.engine)) || DEFAULT_ENGINE;
  const same = keepsWeights(kind, modelId, quant, { modelId: t.modelId, quant: t.quant });
  // A loaded model's own name (Ollama tag, GGUF path, LM Studio key) applies as long as the weights stay.
  const served = t.weights && same ? t.modelId : undefined;
  const c = engineCommand({ modelId, quant, ctxPerSeq: ctx.ctxPerSeq, parallel: ctx.parallel, kvType }, { engine, sameWeights: same, ...(served ? { served } : {}) }, kind);
  if (c.command === null) return { note: c.commandNote };
  return { action: { kind: 'copy', label: COPY_LABEL[engine], text: c.command } };
}

/** A row's cost, plus why it has no command (when it has none). */
function withNote(cost: string, note: string | undefined): string {
  return (note ? `${cost} — no command: ${note}` : cost).slice(0, 500);
}

/** A row's band, low–high only (the basis is said once, under Decode band). */
function bandOf(r: { low: number; high: number } | undefined): { decodeRange?: { low: number; high: number } } {
  return r ? { decodeRange: { low: r.low, high: r.high } } : {};
}

function row(id: string, kind: AlternativeRow['kind'], label: string, e: Evaluation, cost: string, action?: AlternativeRow['action']): AlternativeRow {
  return { id, kind, label, memoryBytes: e.memory.totalBytes, fits: e.fits, decodeTokPerSec: e.speed.decodeTokPerSec, ...bandOf(e.speed.decodeRange), cost, ...(action ? { action } : {}) };
}

const SUGGESTION_KIND: Record<Suggestion['kind'], AlternativeRow['kind']> = {
  'fewer-slots': 'slots',
  'context-cap': 'context',
  'kv-quant': 'kv',
  'lower-quant': 'quant',
  combined: 'quant',
  'moe-alternative': 'moe',
};

/** The alternatives table: the current setup, other quants, KV-cache quantization, fewer slots, the estimator's suggestions. */
export function alternatives(t: FitTarget, hw: HardwareSpec, current: Evaluation, suggestions: Suggestion[]): AlternativeRow[] {
  const opts = { depth: t.depth ?? 0, contextMax: t.contextMax, ...(t.engine ? { engine: servingEngineFor(t.engine) } : {}) };
  const rows: AlternativeRow[] = [row('current', 'current', `${t.quant}, ${formatTokens(t.ctx.ctxPerSeq)}${t.ctx.parallel > 1 ? ` × ${t.ctx.parallel} slots` : ''}, KV ${t.ctx.kvTypeK} (now)`, current, '—')];
  const seen = new Set<string>([`${t.modelId}|${t.quant}|${t.ctx.ctxPerSeq}|${t.ctx.parallel}|${t.ctx.kvTypeK}`]);
  const add = (key: string, r: () => AlternativeRow) => {
    if (seen.has(key)) return;
    seen.add(key);
    rows.push(r());
  };
  suggestions.forEach((s, i) => {
    const ctx = { ...t.ctx, ctxPerSeq: s.ctxPerSeq, parallel: s.parallel, kvTypeK: s.kvType, kvTypeV: s.kvType };
    const kind = SUGGESTION_KIND[s.kind];
    add(`${s.modelId}|${s.quant}|${s.ctxPerSeq}|${s.parallel}|${s.kvType}`, () => {
      // The engine can apply a smaller window itself: offer that (the confirmation also gives the command).
      // Whole k, rounded down: a little less than the suggestion still fits, and reads as the engine's usual sizes.
      const rc = s.ctxPerSeq >= 1024 ? Math.floor(s.ctxPerSeq / 1024) * 1024 : Math.floor(s.ctxPerSeq);
      if (s.kind === 'context-cap' && t.reloadKey && rc > 0) {
        return { id: `s${i}`, kind, label: s.title, memoryBytes: s.totalBytes, fits: s.fits, decodeTokPerSec: s.decodeTokPerSec, ...bandOf(s.decodeRange), cost: s.cost, action: { kind: 'reload', label: `Reload with ${formatTokens(rc)}`, modelKey: t.reloadKey, ctx: rc } };
      }
      const cmd = kind === 'moe' ? { action: { kind: 'checkFit' as const, label: 'Check fit', model: s.modelId, quant: s.quant, ctx: s.ctxPerSeq } } : copyAction(t, s.modelId, s.quant, ctx, s.kvType, s.kind);
      return { id: `s${i}`, kind, label: s.title, memoryBytes: s.totalBytes, fits: s.fits, decodeTokPerSec: s.decodeTokPerSec, ...bandOf(s.decodeRange), cost: withNote(s.cost, cmd.note), ...(cmd.action ? { action: cmd.action } : {}) };
    });
  });
  const raise = t.reloadKey ? fixContext({ kind: 'truncation', configured: t.ctx.ctxPerSeq, maxFit: current.maxContext, contextMax: t.contextMax }) : undefined;
  if (t.reloadKey && raise) {
    const ctx = { ...t.ctx, ctxPerSeq: raise };
    add(`${t.modelId}|${t.quant}|${raise}|${t.ctx.parallel}|${t.ctx.kvTypeK}`, () =>
      row('ctx-raise', 'context', `Raise context to ${formatTokens(raise)} (the most that fits)`, evaluate(t.spec, weightsFor(t, t.quant), hw, ctx, opts), 'more KV memory; longer prompts fit before the window truncates them', { kind: 'reload', label: `Reload with ${formatTokens(raise)}`, modelKey: t.reloadKey!, ctx: raise }),
    );
  }
  const q = parseQuant(t.quant);
  const ladder = q?.format === 'gguf' ? GGUF_LADDER : q?.format === 'mlx' ? MLX_LADDER : [];
  for (const quant of ladder) {
    if (quant === q?.name) continue;
    add(`${t.modelId}|${quant}|${t.ctx.ctxPerSeq}|${t.ctx.parallel}|${t.ctx.kvTypeK}`, () => {
      const e = evaluate(t.spec, weightsFor(t, quant), hw, t.ctx, opts);
      const cmd = copyAction(t, t.modelId, quant, t.ctx, t.ctx.kvTypeK, 'lower-quant');
      return row(`q-${quant}`, 'quant', quant, e, withNote(parseQuant(quant)?.note ?? '', cmd.note), cmd.action);
    });
  }
  if (t.ctx.kvTypeK === 'f16') {
    for (const kv of ['q8_0', 'q4_0'] as const) {
      const ctx = { ...t.ctx, kvTypeK: kv, kvTypeV: kv, flashAttention: true };
      add(`${t.modelId}|${t.quant}|${t.ctx.ctxPerSeq}|${t.ctx.parallel}|${kv}`, () => {
        const e = evaluate(t.spec, weightsFor(t, t.quant), hw, ctx, opts);
        const cost = kv === 'q8_0' ? 'halves KV memory; needs flash attention; negligible quality loss' : 'quarters KV memory; needs flash attention; measurable quality loss on long contexts';
        const cmd = copyAction(t, t.modelId, t.quant, ctx, kv, 'kv-quant');
        return row(`kv-${kv}`, 'kv', `KV cache ${kv}`, e, withNote(cost, cmd.note), cmd.action);
      });
    }
  }
  if (t.ctx.parallel > 1) {
    const ctx = { ...t.ctx, parallel: 1 };
    add(`${t.modelId}|${t.quant}|${t.ctx.ctxPerSeq}|1|${t.ctx.kvTypeK}`, () => {
      const cmd = copyAction(t, t.modelId, t.quant, ctx, t.ctx.kvTypeK, 'fewer-slots');
      return row('slots-1', 'slots', '1 slot', evaluate(t.spec, weightsFor(t, t.quant), hw, ctx, opts), withNote('one request at a time', cmd.note), cmd.action);
    });
  }
  for (const o of t.others ?? []) {
    rows.push({ id: `m-${rows.length}`, kind: 'model', label: o.name, memoryBytes: o.totalBytes, fits: o.fits, cost: 'another loaded model', action: { kind: 'setActive', label: 'Show this model', modelKey: o.key } });
  }
  return rows;
}

function facts(t: FitTarget, e: Evaluation, hw: HardwareSpec): Fact[] {
  const w = e.weights.source;
  const out: Fact[] = [
    { label: 'Weights', value: `${formatBytes(e.memory.weightsBytes)} (${e.weights.quant})`, source: sourceLabel(w) },
    { label: 'KV cache', value: `${formatBytes(e.memory.kvBytes)} for ${formatTokens(e.ctx.ctxPerSeq)}${e.ctx.parallel > 1 ? ` × ${e.ctx.parallel}` : ''} (${e.ctx.kvTypeK})`, source: 'estimated' },
    { label: 'Buffers', value: formatBytes(e.memory.computeBytes + e.memory.otherBytes), source: 'estimated' },
    ...(e.memory.repackBytes ? [{ label: 'CPU repack copy', value: formatBytes(e.memory.repackBytes), source: 'estimated' as const }] : []),
    { label: 'Total', value: formatBytes(e.memory.totalBytes), source: 'estimated' },
  ];
  if (t.engineFacts?.residentBytes) out.push({ label: 'Engine reports', value: `${formatBytes(t.engineFacts.residentBytes)} resident`, source: 'engine' });
  if (t.engineFacts?.cpuBytes) out.push({ label: 'On CPU', value: `${formatBytes(t.engineFacts.cpuBytes)} (partial offload)`, source: 'engine' });
  out.push(
    { label: 'Usable', value: `${formatBytes(e.usableBytes)} of ${formatBytes(hw.capacityBytes)}` },
    { label: e.fits ? 'Headroom' : 'Short by', value: formatBytes(Math.abs(e.headroomBytes)), source: 'estimated' },
    { label: 'Max context', value: e.maxContext > 0 ? `${formatTokens(e.maxContext)} per slot` : 'none fits', source: 'estimated' },
  );
  if (t.live?.decodeTokPerSec) out.push({ label: 'Decode now', value: `${formatTokPerSec(t.live.decodeTokPerSec)} (${speedWord(t.live.decodeTokPerSec)})`, source: sourceLabel(t.live.source ?? 'measured') });
  out.push(
    { label: 'Decode', value: `${formatTokPerSecRange(e.speed.decodeTokPerSec, e.speed.decodeRange)} (${speedWord(e.speed.decodeTokPerSec)}), bandwidth-bound`, source: 'predicted' },
    ...(t.measured ? [{ label: 'Measured', value: benchFactValue(t.measured), source: 'measured' }] : []),
    { label: 'Ceiling', value: `${formatTokPerSec(e.speed.ceilingTokPerSec)} = ${hw.bandwidthGBps} GB/s ÷ ${formatBytes(e.speed.bytesPerToken)} per token` },
  );
  if (e.speed.decodeRange) out.push({ label: 'Decode band', value: e.speed.decodeRange.basis, source: 'predicted' });
  if (e.speed.maturityNote) out.push({ label: 'Kernels', value: e.speed.maturityNote, source: 'predicted' });
  if (t.now) {
    const n = t.now;
    out.push({ label: 'Other processes', value: `${formatBytes(n.othersBytes)} now`, source: 'measured' });
    if (n.loaded) out.push({ label: 'Free now', value: formatBytes(n.freeBytes), source: 'measured' });
    else {
      const fitsNow = e.memory.totalBytes <= n.freeBytes;
      out.push({
        label: 'Now',
        value: fitsNow ? `fits now — ${formatBytes(n.freeBytes)} free` : e.fits ? `does not fit now (${formatBytes(n.freeBytes)} free) — fits on an idle machine` : `does not fit (${formatBytes(n.freeBytes)} free now)`,
        source: 'measured',
      });
    }
  }
  if (e.speed.prefillTokPerSec && Number.isFinite(e.speed.prefillTokPerSec) && e.speed.prefillTokPerSec > 0) out.push({ label: 'Prefill', value: `${formatTokPerSecRange(e.speed.prefillTokPerSec, e.speed.prefillRange)}, compute-bound`, source: 'predicted' });
  return out;
}

/** The verdict as the panel shows it: the kind as a label, the headline without repeating it. */
export function verdictView(v: Verdict): NonNullable<PanelData['verdict']> {
  const kind = `${v.bottleneck}-bound`;
  const summary = v.headline.replace(new RegExp(`^${kind}\\s*[:—-]\\s*`, 'i'), '');
  return { kind, summary: summary.slice(0, 1000), confidence: v.confidence };
}

/** Apple: a model that fits only above the GPU wired limit → the exact command (issue 12). */
function wiredNote(t: FitTarget, hw: HardwareSpec, e: Evaluation): string[] {
  if (hw.kind !== 'apple') return [];
  const a = wiredLimitAdvice(hw.capacityBytes, e.memory.totalBytes, t.now?.wiredLimitBytes);
  return a ? [`GPU limit: ${a.message}`] : [];
}

export function checkFit(t: FitTarget, hw: HardwareSpec): FitResult {
  const opts = { depth: t.depth ?? 0, contextMax: t.contextMax, ...(t.engine ? { engine: servingEngineFor(t.engine) } : {}) };
  const weights = weightsFor(t, t.quant);
  const evaluation = evaluate(t.spec, weights, hw, t.ctx, opts);
  const suggestions = suggest({ current: evaluation, hw, quant: t.quant, depth: t.depth ?? 0, contextMax: t.contextMax, limit: 8 });
  const subtitle = [t.engine, t.quant, `${formatTokens(t.ctx.ctxPerSeq)} context${t.ctx.parallel > 1 ? ` × ${t.ctx.parallel} slots` : ''}`, hw.name].filter(Boolean).join(' · ');
  const verdict = t.verdict && t.verdict.bottleneck !== 'unknown' ? verdictView(t.verdict) : undefined;
  const data: PanelData = {
    title: t.title,
    subtitle,
    hardware: { name: hw.name, usableBytes: usableBytes(hw), capacityBytes: hw.capacityBytes, bandwidthGBps: hw.bandwidthGBps },
    curve: memoryCurve(t.spec, weights, t.ctx, t.contextMax),
    markers: {
      ...(t.depth ? { currentCtx: t.depth } : {}),
      configuredCtx: t.ctx.ctxPerSeq,
      ...(evaluation.maxContext > 0 && evaluation.maxContext < t.contextMax ? { maxFitCtx: evaluation.maxContext } : {}),
    },
    facts: facts(t, evaluation, hw),
    alternatives: alternatives(t, hw, evaluation, suggestions).slice(0, 200),
    speed: {
      history: (t.live?.history ?? []).slice(-600),
      ceilingTokPerSec: evaluation.speed.ceilingTokPerSec,
      predictedTokPerSec: evaluation.speed.decodeTokPerSec,
      ...(evaluation.speed.decodeRange ? { predictedRange: evaluation.speed.decodeRange } : {}),
    },
    ...(verdict ? { verdict } : {}),
    notes: [
      'Memory and speed are Headroom estimates unless marked "engine" or "measured". Decode speed is bandwidth-bound (bytes read per token); prefill is compute-bound.',
      ...wiredNote(t, hw, evaluation),
    ],
  };
  return { evaluation, suggestions, data };
}

export const ENGINE_LABEL: Record<ServingEngine, string> = { 'llama.cpp': 'llama.cpp (llama-server)', ollama: 'Ollama', lmstudio: 'LM Studio', vllm: 'vLLM', 'mlx-lm': 'MLX-LM' };

/**
 * The engine Check Model Fit speaks for until the user picks another: the candidate's own engine (an installed
 * model), else the first detected engine whose speed and commands Headroom models, else llama.cpp.
 */
export function defaultFitEngine(candidateEngine: string | undefined, detections: readonly Pick<Detection, 'engine' | 'endpoint'>[]): { engine: ServingEngine; why: string } {
  const own = candidateEngine ? parseServingEngine(candidateEngine) : undefined;
  if (own) return { engine: own, why: 'serves this model' };
  const d = detections.find((x) => x.engine && parseServingEngine(x.engine));
  if (d) return { engine: parseServingEngine(d.engine!)!, why: `detected at ${d.endpoint}` };
  return { engine: DEFAULT_ENGINE, why: 'no engine detected — the default' };
}

/** The engines to choose from: detected ones first (with where), then the rest; the current one marked. */
export function engineChoices(current: ServingEngine, detections: readonly Pick<Detection, 'engine' | 'endpoint'>[]): { engine: ServingEngine; label: string; description: string }[] {
  const where = new Map<ServingEngine, string>();
  for (const d of detections) {
    const e = d.engine ? parseServingEngine(d.engine) : undefined;
    if (e && !where.has(e)) where.set(e, d.endpoint);
  }
  const order = [...where.keys(), ...SERVING_ENGINES.filter((e) => !where.has(e))];
  return order.map((e) => ({
    engine: e,
    label: ENGINE_LABEL[e],
    description: [where.has(e) ? `detected at ${where.get(e)}` : '', e === current ? 'current' : ''].filter(Boolean).join(' · '),
  }));
}

/** Default quant for a catalog model: Q4_K_M (the practitioners' default), MXFP4 for natively MXFP4 models. */
export function defaultQuantFor(modelId: string): string {
  const m = catalogModels().find((c) => c.id === modelId);
  return m?.spec ? defaultQuantForSpec(m.spec) : 'Q4_K_M';
}

// Synthesizing a tensor table per quant costs ~3 ms; weights depend only on (model, quant), so keep them.
const weightsMemo = new Map<string, WeightsInfo>();
function catalogWeights(id: string, spec: ModelSpec, quant: string): WeightsInfo {
  const key = `${id}|${quant}`;
  let w = weightsMemo.get(key);
  if (!w) weightsMemo.set(key, (w = weightsForQuant(spec, quant)));
  return w;
}

/** FitTarget.now from the dashboard's budget (undefined without a live reading). */
export function nowFor(state: Pick<DashboardState, 'budget'>, loaded: boolean): FitTarget['now'] {
  const b = state.budget;
  if (!b || b.othersBytes === undefined) return undefined;
  return { freeBytes: b.freeBytes, othersBytes: b.othersBytes, source: b.sources.others, loaded, ...(b.wiredLimitBytes ? { wiredLimitBytes: b.wiredLimitBytes } : {}) };
}

/** Free memory now for a model that is not loaded yet, when a live reading exists (else undefined). */
export function freeNowFor(state: Pick<DashboardState, 'budget'>): number | undefined {
  return state.budget?.othersBytes !== undefined ? state.budget.freeBytes : undefined;
}

/** Every catalog model with a spec, evaluated at `ctxPerSeq` with its default quant: fit mark, size, speed. */
export function catalogCandidates(hw: HardwareSpec, ctxPerSeq: number, freeNowBytes?: number): ModelCandidate[] {
  const usable = usableBytes(hw);
  const now = freeNowBytes !== undefined ? { markedNow: true } : {};
  const out: ModelCandidate[] = [];
  for (const m of catalogModels()) {
    if (!m.spec) {
      out.push({ id: m.id, label: m.name, section: 'catalog', note: `not enough published data to estimate (missing ${m.missing.slice(0, 3).join(', ')})` });
      continue;
    }
    const quant = defaultQuantFor(m.id);
    try {
      const ctx = defaultContextOptions({ ctxPerSeq: Math.min(ctxPerSeq, m.contextMax) });
      const w = catalogWeights(m.id, m.spec, quant);
      const mem = estimateMemory(m.spec, w, ctx);
      // Speed only (no max-context search): this runs for every catalog entry while the picker opens.
      const speed = estimateSpeed(m.spec, w, hw, { depth: 0 });
      out.push({ id: m.id, label: m.name, section: 'catalog', quant, params: m.spec.totalParams, activeParams: m.spec.activeParams, totalBytes: mem.totalBytes, ctx: ctx.ctxPerSeq, decodeTokPerSec: speed.decodeTokPerSec, ...(speed.decodeRange ? { decodeRange: { low: speed.decodeRange.low, high: speed.decodeRange.high } } : {}), mark: fitMark(mem.totalBytes, usable, freeNowBytes), ...now });
    } catch {
      out.push({ id: m.id, label: m.name, section: 'catalog' });
    }
  }
  const order = { fits: 0, tight: 1, idle: 2, no: 3 } as const;
  return out.sort((a, b) => (order[a.mark ?? 'no'] - order[b.mark ?? 'no']) || a.label.localeCompare(b.label));
}

/** A model from the engines (loaded first, then installed), evaluated against the catalog when the name resolves. */
export function engineCandidates(state: DashboardState, detections: readonly Detection[], hw: HardwareSpec, ctxPerSeq: number): ModelCandidate[] {
  const usable = usableBytes(hw);
  // A model not loaded yet fits "now" only in what the loaded ones and other processes leave free.
  const freeNow = freeNowFor(state);
  const out: ModelCandidate[] = [];
  for (const m of state.models) {
    out.push({
      id: m.key,
      label: m.name,
      section: 'loaded',
      endpoint: m.endpoint,
      engine: m.engine,
      ...(m.quant ? { quant: m.quant } : {}),
      totalBytes: m.memory.total.value,
      ...(m.context.configured ? { ctx: m.context.configured.value } : {}),
      ...(m.speed.decode ? { decodeTokPerSec: m.speed.decode.value } : m.speed.predicted ? { decodeTokPerSec: m.speed.predicted, ...(m.speed.predictedRange ? { decodeRange: { low: m.speed.predictedRange.low, high: m.speed.predictedRange.high } } : {}) } : {}),
      mark: fitMark(m.memory.total.value, usable),
    });
  }
  for (const d of detections) {
    for (const e of d.snapshot?.models ?? []) {
      if (e.loaded) continue;
      const c: ModelCandidate = { id: e.name, label: e.name, section: 'available', endpoint: d.endpoint, engine: d.engine, ...(e.quant ? { quant: e.quant } : {}) };
      try {
        const r = resolveModelName(e.name);
        if (r.model.spec) {
          const quant = e.quant ?? r.quant ?? defaultQuantForSpec(r.model.spec);
          const w = e.sizeBytes ? { quant, totalBytes: e.sizeBytes, activeBytes: e.sizeBytes * (r.model.spec.activeParams / r.model.spec.totalParams), source: 'engine' as const } : weightsForQuant(r.model.spec, quant);
          const ctx = defaultContextOptions({ ctxPerSeq: Math.min(ctxPerSeq, r.model.contextMax) });
          const total = estimateMemory(r.model.spec, w, ctx).totalBytes;
          const speed = estimateSpeed(r.model.spec, w, hw, { engine: servingEngineFor(d.engine ?? '') });
          Object.assign(c, { params: r.model.spec.totalParams, activeParams: r.model.spec.activeParams, totalBytes: total, ctx: ctx.ctxPerSeq, decodeTokPerSec: speed.decodeTokPerSec, ...(speed.decodeRange ? { decodeRange: { low: speed.decodeRange.low, high: speed.decodeRange.high } } : {}), mark: fitMark(total, usable, freeNow), ...(freeNow !== undefined ? { markedNow: true } : {}) });
        } else c.note = `${r.model.name}: not enough published data to estimate`;
      } catch {
        // Unknown to the catalog: listed without numbers.
        if (e.sizeBytes) c.note = `${formatBytes(e.sizeBytes)} on disk`;
      }
      out.push(c);
    }
  }
  return out;
}
