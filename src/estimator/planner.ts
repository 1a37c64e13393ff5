// The agentic stack planner: an orchestrator (32–70B), a coding/tool model (7–14B), an embedder, a
// reranker and their long-context KV caches, all resident at once (40–80 GB in the seeds). Does it stay
// resident on this hardware, with what headroom, how fast does each model decode alone, and which change
// makes it fit? Stacks are plain serializable data (the view saves them in settings).
import type { ContextOptions, HardwareProfile, KvType, MemoryBreakdown, ModelSpec, WeightsInfo , SpeedRange } from './types';
import { defaultContextOptions, estimateMemory } from './memory';
import { kvBytesPerToken } from './kv';
import { weightsForQuant } from './weights';
import { defaultQuantFor, lowerQuants, parseQuant } from './quant-recipes';
import { resolveModelName } from './model-names';
import { findEncoder } from './encoders';
import { estimateSpeed } from './speed';
import type { HardwareSpec } from './hardware';

export type StackRole = 'orchestrator' | 'coder' | 'tool' | 'embedding' | 'reranker' | 'other';

/** One resident model as the user composes it. */
export interface StackMember {
  role?: StackRole;
  /** Catalog id, short name / Ollama tag, or an embedder / reranker name. */
  model: string;
  quant?: string;
  /** Tokens per sequence. */
  ctx: number;
  /** Parallel slots (each holds `ctx` tokens of KV). */
  parallel?: number;
  kvType?: KvType;
  flashAttention?: boolean;
}

export interface Stack {
  name: string;
  members: StackMember[];
}

export interface MemberPlan {
  role: StackRole;
  model: string;
  name: string;
  quant: string;
  ctx: number;
  parallel: number;
  kvType: KvType;
  memory: MemoryBreakdown;
  /** Decode alone on this hardware at an empty and at a full window (undefined for encoders: they don't decode). */
  decode?: {
    emptyTokPerSec: number; fullTokPerSec: number; ceilingEmptyTokPerSec: number; bytesPerTokenEmpty: number;
    /** Cross-validated error bands at the empty and the full window (speed-band.ts), when the speed model applies. */
    decodeRange?: SpeedRange; decodeRangeFull?: SpeedRange;
  };
  notes: string[];
}

export type RemedyKind = 'kv-q8_0' | 'kv-q4_0' | 'single-slot' | 'lower-quant' | 'cap-context';

/** How much each change costs besides memory: the planner prefers milder ones, and milder combinations. */
const SEVERITY: Record<RemedyKind, number> = { 'kv-q8_0': 1, 'single-slot': 2, 'lower-quant': 3, 'cap-context': 3, 'kv-q4_0': 4 };

export interface Remedy {
  /** `combined` = several steps applied together (listed in `steps`). */
  kind: RemedyKind | 'combined';
  steps: RemedyKind[];
  change: string;
  /** What it costs besides memory. */
  cost: string;
  totalBytes: number;
  headroomBytes: number;
  savedBytes: number;
  fits: boolean;
  /** The member list after the change (feed back into planStack to apply). */
  members: StackMember[];
}

export interface StackPlan {
  name: string;
  hardware: { id: string; name: string; capacityBytes: number; usableBytes: number; bandwidthGBps: number };
  totalBytes: number;
  headroomBytes: number;
  fitsResident: boolean;
  members: MemberPlan[];
  /** Changes that make it fit, mildest first: single ones, and a combination of milder steps when that beats them. */
  remedies: Remedy[];
  swap?: { models: number; secondsPerSwap: [number, number]; source: string; note: string };
  notes: string[];
}

/** Predicts single-stream decode; the speed model plugs in here (η, fixed cost). */
export type DecodePredictor = (spec: ModelSpec, weights: WeightsInfo, hw: HardwareProfile, ctx: ContextOptions, depth: number) => { decodeTokPerSec: number; ceilingTokPerSec: number; bytesPerToken: number; decodeRange?: SpeedRange };

export const SWAP_SECONDS: [number, number] = [30, 90];
const SWAP_SOURCE = 'Headroom issue 6 seeds: swapping models costs 30–90 s each';
/** Agents need their ~15k-token system prompt plus a reply (verdict.ts AGENT_BASELINE_PROMPT_TOKENS). */
const MIN_AGENT_CTX = 20480;

/** Roofline only (η = 1, no fixed cost): for a custom profile without a backend. */
export const rooflineDecode: DecodePredictor = (spec, weights, hw, ctx, depth) => {
  const bytes = weights.activeBytes + kvBytesPerToken(spec, ctx.kvTypeK, ctx.kvTypeV, { swaFull: ctx.swaFull }) * depth;
  const ceiling = (hw.bandwidthGBps * 1e9) / bytes;
  return { decodeTokPerSec: ceiling, ceilingTokPerSec: ceiling, bytesPerToken: bytes };
};

/** The calibrated speed model (speed.ts) when the profile names its backend, else the roofline. */
export const calibratedDecode: DecodePredictor = (spec, weights, hw, ctx, depth) => {
  if (!('backend' in hw)) return rooflineDecode(spec, weights, hw, ctx, depth);
  const s = estimateSpeed(spec, weights, hw as HardwareSpec, { depth, kvTypeK: ctx.kvTypeK, kvTypeV: ctx.kvTypeV });
  return { decodeTokPerSec: s.decodeTokPerSec, ceilingTokPerSec: s.ceilingTokPerSec, bytesPerToken: s.bytesPerToken, ...(s.decodeRange ? { decodeRange: s.decodeRange } : {}) };
};

interface Resolved {
  spec: ModelSpec;
  weights: WeightsInfo;
  quant: string;
  role: StackRole;
  encoder: boolean;
  contextMax?: number;
}

export class StackMemberError extends Error {
  constructor(readonly member: string, message: string) {
    super(`${member}: ${message}`);
    this.name = 'StackMemberError';
  }
}

/**
 * Resolves names the catalog does not know (e.g. a model an engine has loaded, sized from its GGUF keys).
 * Return undefined to fall back to the catalog.
 */
export type ModelResolver = (member: StackMember) => { spec: ModelSpec; weights: WeightsInfo; contextMax?: number } | undefined;

function resolveMember(m: StackMember, custom?: ModelResolver): Resolved {
  const own = custom?.(m);
  if (own) {
    const role: StackRole = m.role ?? 'other';
    return { spec: own.spec, weights: own.weights, quant: own.weights.quant, role, encoder: false, ...(own.contextMax ? { contextMax: own.contextMax } : {}) };
  }
  const enc = findEncoder(m.model);
  if (enc) {
    const quant = (m.quant ?? enc.defaultQuant).toUpperCase();
    const q = parseQuant(quant);
    if (!q) throw new StackMemberError(m.model, `unknown quant '${m.quant}'`);
    // Decoder-shaped embedders lay out like their base model; BERT encoders: params × bits (norms are noise here).
    const weights: WeightsInfo =
      enc.spec.arch === 'qwen3'
        ? weightsForQuant(enc.spec, q.name)
        : { quant: q.name, totalBytes: Math.round((enc.spec.totalParams * q.bitsPerWeight) / 8), activeBytes: Math.round((enc.spec.totalParams * q.bitsPerWeight) / 8), source: 'estimated' };
    return { spec: enc.spec, weights, quant: q.name, role: m.role ?? enc.role, encoder: true, contextMax: enc.spec.contextTrain };
  }
  const r = resolveModelName(m.model);
  if (!r.model.spec) throw new StackMemberError(m.model, `the catalog entry is too incomplete to estimate (missing: ${r.model.missing.join(', ') || 'architecture'})`);
  const quant = m.quant ?? r.quant ?? defaultQuantFor(r.model.spec);
  if (!parseQuant(quant)) throw new StackMemberError(m.model, `unknown quant '${quant}'`);
  const spec = r.model.spec;
  const weights = weightsForQuant(spec, quant);
  const role: StackRole = m.role ?? 'other';
  return { spec, weights, quant: weights.quant, role, encoder: false, contextMax: r.model.contextMax };
}

function contextFor(m: StackMember): ContextOptions {
  const kv = m.kvType ?? 'f16';
  return defaultContextOptions({ ctxPerSeq: m.ctx, parallel: Math.max(1, m.parallel ?? 1), kvTypeK: kv, kvTypeV: kv, flashAttention: m.flashAttention ?? true });
}

function validate(m: StackMember): void {
  if (!Number.isInteger(m.ctx) || m.ctx < 1 || m.ctx > 16 * 1024 * 1024) throw new StackMemberError(m.model, `context must be a whole number of tokens between 1 and 16M, got ${m.ctx}`);
  const p = m.parallel ?? 1;
  if (!Number.isInteger(p) || p < 1 || p > 256) throw new StackMemberError(m.model, `parallel slots must be 1–256, got ${p}`);
}

function usable(hw: HardwareProfile): number {
  return Math.floor(hw.capacityBytes * hw.usableFraction);
}

/**
 * Roles the user left out: the largest LLM orchestrates and the others code (the seeds' 32–70B orchestrator
 * + 7–14B coder); a lone LLM orchestrates from 30 B parameters up.
 */
function defaultRoles(members: StackMember[], resolved: Resolved[]): void {
  const llms = resolved.map((r, i) => ({ r, i })).filter(({ r, i }) => !r.encoder && !members[i]!.role);
  if (llms.length === 0) return;
  const hasOrchestrator = resolved.some((r, i) => members[i]!.role === 'orchestrator' && !r.encoder);
  const biggest = llms.reduce((a, b) => (b.r.spec.totalParams > a.r.spec.totalParams ? b : a));
  for (const { r } of llms) {
    const lead = !hasOrchestrator && r === biggest.r && (llms.length > 1 || r.spec.totalParams >= 30e9);
    r.role = lead ? 'orchestrator' : 'coder';
  }
}

function planMembers(members: StackMember[], hw: HardwareProfile, predict: DecodePredictor, resolve?: ModelResolver): MemberPlan[] {
  members.forEach(validate);
  const resolved = members.map((m) => resolveMember(m, resolve));
  defaultRoles(members, resolved);
  return members.map((m, idx) => {
    const r = resolved[idx]!;
    const ctx = contextFor(m);
    const memory = estimateMemory(r.spec, r.weights, ctx);
    const notes: string[] = [];
    if (r.contextMax && m.ctx > r.contextMax) notes.push(`context ${m.ctx} is beyond what ${r.spec.name} supports (${r.contextMax})`);
    if (ctx.kvTypeV !== 'f16' && !ctx.flashAttention) notes.push('a quantized V cache needs flash attention (llama.cpp -fa on; Ollama OLLAMA_FLASH_ATTENTION=1)');
    if (!r.encoder && m.ctx < MIN_AGENT_CTX && (r.role === 'orchestrator' || r.role === 'coder')) notes.push(`a ${m.ctx}-token window is tight for agents: their system prompts alone are ~15k tokens`);
    let decode: MemberPlan['decode'];
    if (!r.encoder) {
      const empty = predict(r.spec, r.weights, hw, ctx, 0);
      const full = predict(r.spec, r.weights, hw, ctx, m.ctx);
      decode = {
        emptyTokPerSec: empty.decodeTokPerSec, fullTokPerSec: full.decodeTokPerSec, ceilingEmptyTokPerSec: empty.ceilingTokPerSec, bytesPerTokenEmpty: Math.round(empty.bytesPerToken),
        ...(empty.decodeRange ? { decodeRange: empty.decodeRange } : {}), ...(full.decodeRange ? { decodeRangeFull: full.decodeRange } : {}),
      };
    }
    return {
      role: r.role,
      model: r.spec.id,
      name: r.spec.name,
      quant: r.quant,
      ctx: m.ctx,
      parallel: ctx.parallel,
      kvType: ctx.kvTypeK,
      memory,
      ...(decode ? { decode } : {}),
      notes,
    };
  });
}

// The steps practitioners actually take down, GGUF: each a real saving, none a last resort.
const GGUF_LADDER = ['F16', 'Q8_0', 'Q6_K', 'Q5_K_M', 'Q4_K_M', 'IQ4_XS', 'Q3_K_M'];

/** The next quant down worth suggesting, or undefined at the bottom of the ladder. */
export function nextLowerQuant(quant: string) {
  const cur = parseQuant(quant);
  if (!cur) return undefined;
  if (cur.format === 'gguf') {
    const name = GGUF_LADDER.find((n) => (parseQuant(n)?.rank ?? 0) < cur.rank);
    return name ? parseQuant(name) : undefined;
  }
  return lowerQuants(cur.name).find((q) => q.quality !== 'last-resort');
}

function total(plans: MemberPlan[]): number {
  return plans.reduce((a, p) => a + p.memory.totalBytes, 0);
}

/** Candidate single changes, least quality cost first. Each returns undefined when it changes nothing. */
function candidates(members: StackMember[], plans: MemberPlan[], overBytes: number): { kind: RemedyKind; change: string; cost: string; members: StackMember[] }[] {
  const out: { kind: RemedyKind; change: string; cost: string; members: StackMember[] }[] = [];
  const f16 = members.map((m, i) => ({ m, i })).filter(({ m, i }) => (m.kvType ?? 'f16') === 'f16' && plans[i]!.memory.kvBytes > 0);
  if (f16.length) {
    out.push({
      kind: 'kv-q8_0',
      change: `quantize the KV cache to q8_0 (${f16.map(({ m }) => m.model).join(', ')})`,
      cost: 'about half the KV bytes, near-lossless; needs flash attention',
      members: members.map((m, i) => (f16.some((x) => x.i === i) ? { ...m, kvType: 'q8_0' as KvType, flashAttention: true } : m)),
    });
  }
  const notQ4 = members.map((m, i) => ({ m, i })).filter(({ m, i }) => (m.kvType ?? 'f16') !== 'q4_0' && plans[i]!.memory.kvBytes > 0);
  if (notQ4.length) {
    out.push({
      kind: 'kv-q4_0',
      change: `quantize the KV cache to q4_0 (${notQ4.map(({ m }) => m.model).join(', ')})`,
      cost: 'about a quarter of f16 KV; visible quality loss on high-GQA models and long contexts, extra dequant scratch',
      members: members.map((m, i) => (notQ4.some((x) => x.i === i) ? { ...m, kvType: 'q4_0' as KvType, flashAttention: true } : m)),
    });
  }
  const multi = members.filter((m) => (m.parallel ?? 1) > 1);
  if (multi.length) {
    out.push({
      kind: 'single-slot',
      change: `one parallel slot instead of ${multi.map((m) => `${m.parallel} (${m.model})`).join(', ')}`,
      cost: 'requests to that model queue instead of running side by side',
      members: members.map((m) => ((m.parallel ?? 1) > 1 ? { ...m, parallel: 1 } : m)),
    });
  }
  // Lower the quant of the member with the most weight bytes, one step toward Q4_K_M (or one step below it).
  const heaviest = plans.map((p, i) => ({ p, i })).filter(({ p }) => !!p.decode).sort((a, b) => b.p.memory.weightsBytes - a.p.memory.weightsBytes)[0];
  if (heaviest) {
    const next = nextLowerQuant(heaviest.p.quant);
    if (next) {
      out.push({
        kind: 'lower-quant',
        change: `${heaviest.p.name} at ${next.name} instead of ${heaviest.p.quant}`,
        cost: next.note,
        members: members.map((m, i) => (i === heaviest.i ? { ...m, quant: next.name } : m)),
      });
    }
  }
  // Cap the context of the member whose KV grows most per token, just enough to fit (if still agent-sized).
  const kvHungry = plans.map((p, i) => ({ p, i })).filter(({ p }) => p.memory.kvBytesPerToken > 0).sort((a, b) => b.p.memory.kvBytesPerToken * b.p.parallel - a.p.memory.kvBytesPerToken * a.p.parallel)[0];
  if (kvHungry && overBytes > 0) {
    const perToken = kvHungry.p.memory.kvBytesPerToken * kvHungry.p.parallel;
    const cut = Math.ceil(overBytes / perToken / 1024) * 1024;
    const newCtx = kvHungry.p.ctx - cut;
    if (newCtx >= MIN_AGENT_CTX) {
      out.push({
        kind: 'cap-context',
        change: `cap ${kvHungry.p.name}'s window at ${newCtx} tokens instead of ${kvHungry.p.ctx}`,
        cost: 'less room for long agent sessions before compaction',
        members: members.map((m, i) => (i === kvHungry.i ? { ...m, ctx: newCtx } : m)),
      });
    }
  }
  return out;
}

export function planStack(stack: Stack, hw: HardwareProfile, predict: DecodePredictor = calibratedDecode, resolve?: ModelResolver): StackPlan {
  if (stack.members.length === 0) throw new StackMemberError(stack.name, 'a stack needs at least one model');
  const cap = usable(hw);
  const plans = planMembers(stack.members, hw, predict, resolve);
  const totalBytes = total(plans);
  const fitsResident = totalBytes <= cap;
  const notes: string[] = [];
  const remedies: Remedy[] = [];

  if (!fitsResident) {
    const over = totalBytes - cap;
    const tried = candidates(stack.members, plans, over).map((c): Remedy => {
      const t = total(planMembers(c.members, hw, predict, resolve));
      return { kind: c.kind, steps: [c.kind], change: c.change, cost: c.cost, totalBytes: t, headroomBytes: cap - t, savedBytes: totalBytes - t, fits: t <= cap, members: c.members };
    });
    const single = tried.filter((r) => r.fits);
    const mildestSingle = Math.min(...single.map((r) => SEVERITY[r.kind as RemedyKind]));
    // Apply steps in order of severity until it fits; offer that when it is milder than any single change.
    let members = stack.members;
    const steps: { kind: RemedyKind; change: string; cost: string }[] = [];
    for (const kind of ['kv-q8_0', 'single-slot', 'lower-quant', 'kv-q4_0', 'cap-context'] as RemedyKind[]) {
      const cur = planMembers(members, hw, predict, resolve);
      const c = candidates(members, cur, total(cur) - cap).find((x) => x.kind === kind);
      if (!c) continue;
      members = c.members;
      // q4_0 KV supersedes the q8_0 step.
      if (kind === 'kv-q4_0') steps.splice(0, steps.length, ...steps.filter((x) => x.kind !== 'kv-q8_0'));
      steps.push(c);
      const t = total(planMembers(members, hw, predict, resolve));
      if (t > cap) continue;
      const severity = Math.max(...steps.map((x) => SEVERITY[x.kind]));
      if (steps.length > 1 && severity < mildestSingle) {
        remedies.push({ kind: 'combined', steps: steps.map((x) => x.kind), change: steps.map((x) => x.change).join(' + '), cost: steps.map((x) => x.cost).join('; '), totalBytes: t, headroomBytes: cap - t, savedBytes: totalBytes - t, fits: true, members });
      }
      break;
    }
    remedies.push(...single.sort((a, b) => SEVERITY[a.kind as RemedyKind] - SEVERITY[b.kind as RemedyKind]));
    if (!remedies.length) notes.push('no combination of KV quantization, fewer slots, a lower quant or a shorter window makes this stack resident: use a smaller orchestrator (or an MoE one) or more memory');
  }

  const llms = plans.filter((p) => p.decode).length;
  const swap = !fitsResident && plans.length > 1
    ? { models: plans.length, secondsPerSwap: SWAP_SECONDS, source: SWAP_SOURCE, note: `not all ${plans.length} models stay resident: every switch between them reloads weights, ${SWAP_SECONDS[0]}–${SWAP_SECONDS[1]} s each` }
    : undefined;
  if (llms > 1) notes.push('decode speeds are for each model running alone; models decoding at the same time share the memory bandwidth');

  return {
    name: stack.name,
    hardware: { id: hw.id, name: hw.name, capacityBytes: hw.capacityBytes, usableBytes: cap, bandwidthGBps: hw.bandwidthGBps },
    totalBytes,
    headroomBytes: cap - totalBytes,
    fitsResident,
    members: plans,
    remedies,
    ...(swap ? { swap } : {}),
    notes,
  };
}
