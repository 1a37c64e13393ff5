// What to change when a model does not fit or decodes slowly: a lower quant of the same model, a quantized
// KV cache, fewer parallel slots, a context cap, or an MoE model from the catalog. Every option is costed with
// the same memory and speed model, and says what it gives up. Deterministic: same input, same list.
import { catalogModels } from './catalog';
import { evaluate, type Evaluation } from './fit';
import type { HardwareSpec } from './hardware';
import { defaultQuantFor, lowerQuants, parseQuant } from './quant-recipes';
import type { ContextOptions, KvType, ModelSpec } from './types';
import { weightsForQuant, weightsForQuantLike } from './weights';

export type SuggestionKind = 'fewer-slots' | 'context-cap' | 'kv-quant' | 'lower-quant' | 'combined' | 'moe-alternative';

export interface Suggestion {
  kind: SuggestionKind;
  /** One line, imperative: "Use Q3_K_M", "Quantize the KV cache to q8_0". */
  title: string;
  modelId: string;
  quant: string;
  ctxPerSeq: number;
  parallel: number;
  kvType: KvType;
  totalBytes: number;
  fits: boolean;
  headroomBytes: number;
  decodeTokPerSec: number;
  /** The predicted speed's band (speed-band.ts). */
  decodeRange?: { low: number; high: number };
  /** What it costs: quality, context, concurrency. */
  cost: string;
}

/** Below this a decode feels slow in an agent loop (~10 tok/s is "slow", ~30 "comfortable"). */
export const SLOW_TOK_PER_SEC = 15;
/** Agent system prompts alone run 15–25k tokens: a cap below this breaks agentic use. */
export const MIN_AGENT_CONTEXT = 16384;

export interface SuggestInput {
  current: Evaluation;
  hw: HardwareSpec;
  /** Catalog quant label of the current weights (GGUF / MLX ...). */
  quant: string;
  depth?: number;
  contextMax?: number;
  /** Cap on the list length. */
  limit?: number;
}

// Order of preference at equal effect: free changes first, then near-lossless, then quality trade-offs.
const KIND_RANK: Record<SuggestionKind, number> = { 'fewer-slots': 0, 'context-cap': 1, 'kv-quant': 2, 'lower-quant': 3, combined: 4, 'moe-alternative': 5 };
const SPEED_RANK: Record<SuggestionKind, number> = { 'moe-alternative': 0, 'lower-quant': 1, combined: 2, 'kv-quant': 3, 'context-cap': 4, 'fewer-slots': 5 };

function toSuggestion(kind: SuggestionKind, title: string, e: Evaluation, quant: string, cost: string): Suggestion {
  return {
    kind,
    title,
    modelId: e.spec.id,
    quant,
    ctxPerSeq: e.ctx.ctxPerSeq,
    parallel: e.ctx.parallel,
    kvType: e.ctx.kvTypeK,
    totalBytes: e.memory.totalBytes,
    fits: e.fits,
    headroomBytes: e.headroomBytes,
    decodeTokPerSec: e.speed.decodeTokPerSec,
    ...(e.speed.decodeRange ? { decodeRange: { low: e.speed.decodeRange.low, high: e.speed.decodeRange.high } } : {}),
    cost,
  };
}

function kvOptions(e: Evaluation, hw: HardwareSpec, quant: string, opts: SuggestInput): Suggestion[] {
  if (e.ctx.kvTypeK !== 'f16' && e.ctx.kvTypeK !== 'bf16' && e.ctx.kvTypeK !== 'f32') return [];
  const out: Suggestion[] = [];
  const notes: Record<string, string> = {
    q8_0: 'KV q8_0: negligible quality loss; needs flash attention for the V cache',
    q4_0: 'KV q4_0: noticeable loss on long-context recall; needs flash attention',
  };
  for (const t of ['q8_0', 'q4_0'] as const) {
    const ctx: ContextOptions = { ...e.ctx, kvTypeK: t, kvTypeV: t, flashAttention: true };
    const ev = evaluate(e.spec, e.weights, hw, ctx, { depth: opts.depth, contextMax: opts.contextMax });
    out.push(toSuggestion('kv-quant', `Quantize the KV cache to ${t} (with flash attention)`, ev, quant, notes[t]!));
    if (ev.fits) break; // q4_0 only when q8_0 is not enough
  }
  return out;
}

function lowerQuantOptions(e: Evaluation, hw: HardwareSpec, quant: string, opts: SuggestInput, wantSpeed: boolean): Suggestion[] {
  const out: Suggestion[] = [];
  // Skip legacy/ternary types nobody publishes for these models. Walk down the ladder: the first quant that fits
  // (when memory is the problem); when speed is the problem, up to two that fit, stopping once decode is comfortable.
  const candidates = lowerQuants(quant).filter((q) => !/^(TQ|Q4_1|Q5_1|Q5_0|Q4_0|IQ4_NL|Q2_K_S|MXFP4)/.test(q.name));
  for (const q of candidates) {
    const ev = evaluate(e.spec, weightsForQuantLike(e.spec, q.name, e.weights), hw, e.ctx, { depth: opts.depth, contextMax: opts.contextMax });
    if (!ev.fits) continue;
    out.push(toSuggestion('lower-quant', `Use ${q.name} instead of ${quant}`, ev, q.name, `${q.name}: ${q.note}`));
    if (!wantSpeed || out.length >= 2 || ev.speed.decodeTokPerSec >= SLOW_TOK_PER_SEC) break;
  }
  return out;
}

/** When no single change fits: one slot + q8_0 KV + the first lower quant that then fits. */
function combined(e: Evaluation, hw: HardwareSpec, quant: string, opts: SuggestInput): Suggestion[] {
  const ctx: ContextOptions = { ...e.ctx, parallel: 1, kvTypeK: 'q8_0', kvTypeV: 'q8_0', flashAttention: true };
  const ladder = [parseQuant(quant), ...lowerQuants(quant)].filter((q) => q && !/^(TQ|Q4_1|Q5_1|Q5_0|Q4_0|IQ4_NL|Q2_K_S|MXFP4)/.test(q.name));
  for (const q of ladder) {
    const ev = evaluate(e.spec, weightsForQuantLike(e.spec, q!.name, e.weights), hw, ctx, { depth: opts.depth, contextMax: opts.contextMax });
    if (!ev.fits) continue;
    const parts = [q!.name !== quant ? q!.name : '', e.ctx.parallel > 1 ? '1 slot' : '', 'q8_0 KV cache (with flash attention)'].filter(Boolean);
    return [toSuggestion('combined', `Combine: ${parts.join(' + ')}`, ev, q!.name, `${q!.name}: ${q!.note}; KV q8_0: negligible loss${e.ctx.parallel > 1 ? '; one request at a time' : ''}`)];
  }
  return [];
}

function isMoe(spec: ModelSpec): boolean {
  return Boolean(spec.moe && spec.activeParams < spec.totalParams / 2);
}

function moeAlternatives(e: Evaluation, hw: HardwareSpec, opts: SuggestInput): Suggestion[] {
  const cur = e.spec;
  const coder = /coder|devstral|codestral/i.test(cur.id);
  const scored: { s: Suggestion; key: number[] }[] = [];
  for (const m of catalogModels()) {
    if (!m.spec || m.id === cur.id || !isMoe(m.spec)) continue;
    // A stand-in of comparable size: between a third and three times the current model's parameters.
    const ratio = m.spec.totalParams / cur.totalParams;
    if (ratio < 1 / 3 || ratio > 3) continue;
    const q = defaultQuantFor(m.spec);
    const ctx = { ...e.ctx, ctxPerSeq: Math.min(e.ctx.ctxPerSeq, m.contextMax) };
    const ev = evaluate(m.spec, weightsForQuant(m.spec, q), hw, ctx, { depth: opts.depth, contextMax: m.contextMax });
    if (!ev.fits || ev.speed.decodeTokPerSec <= e.speed.decodeTokPerSec) continue;
    const active = (m.spec.activeParams / 1e9).toFixed(1);
    const total = (m.spec.totalParams / 1e9).toFixed(0);
    const sameUse = /coder|devstral|codestral/i.test(m.id) === coder ? 0 : 1;
    scored.push({
      s: toSuggestion('moe-alternative', `Switch to ${m.name} at ${q} (MoE: reads ${active}B of ${total}B parameters per token)`, ev, q,
        `different model: holds all ${total}B parameters in memory but reads only ${active}B per token; quality differs from ${cur.name}`),
      key: [sameUse, Math.abs(Math.log(ratio)), -ev.speed.decodeTokPerSec],
    });
  }
  scored.sort((a, b) => a.key[0]! - b.key[0]! || a.key[1]! - b.key[1]! || a.key[2]! - b.key[2]! || a.s.modelId.localeCompare(b.s.modelId));
  return scored.slice(0, 2).map((x) => x.s);
}

/** Ranked suggestions for the current evaluation; empty when it fits and decodes comfortably. */
export function suggest(input: SuggestInput): Suggestion[] {
  const { current: e, hw, quant } = input;
  const slow = e.speed.decodeTokPerSec < SLOW_TOK_PER_SEC;
  if (e.fits && !slow) return [];
  const out: Suggestion[] = [];
  const o = { depth: input.depth, contextMax: input.contextMax };

  if (!e.fits) {
    if (e.ctx.parallel > 1) {
      const ev = evaluate(e.spec, e.weights, hw, { ...e.ctx, parallel: 1 }, o);
      out.push(toSuggestion('fewer-slots', `Use 1 parallel slot instead of ${e.ctx.parallel}`, ev, quant, `one request at a time: subagents / parallel tool calls queue`));
    }
    if (e.maxContext >= 4096 && e.maxContext < e.ctx.ctxPerSeq) {
      const ev = evaluate(e.spec, e.weights, hw, { ...e.ctx, ctxPerSeq: e.maxContext }, o);
      const warn = e.maxContext < MIN_AGENT_CONTEXT ? ' — below the 15–25k tokens agent system prompts need' : '';
      out.push(toSuggestion('context-cap', `Cap the context at ${e.maxContext} tokens${e.ctx.parallel > 1 ? ` per slot` : ''}`, ev, quant, `longer conversations get truncated or compacted sooner${warn}`));
    }
    out.push(...kvOptions(e, hw, quant, input));
  }
  if (parseQuant(quant)) out.push(...lowerQuantOptions(e, hw, quant, input, slow));
  out.push(...moeAlternatives(e, hw, input));

  if (!e.fits && !out.some((x) => x.fits && x.kind !== 'moe-alternative')) out.push(...combined(e, hw, quant, input));

  // Ranking: options that fit first. Memory problem: the cheapest kind of change first (free → near-lossless →
  // quality trade-offs). Speed problem: MoE alternatives first (3–10× faster), then lower quants. Within a kind,
  // generation order (already best-first), so the list is deterministic.
  const rank = e.fits ? SPEED_RANK : KIND_RANK;
  const ranked = out
    .map((s, i) => ({ s, i }))
    .sort((a, b) => Number(b.s.fits) - Number(a.s.fits) || rank[a.s.kind] - rank[b.s.kind] || a.i - b.i)
    .map((x) => x.s);
  return ranked.slice(0, input.limit ?? 6);
}
