// Live decode / prefill speed per endpoint+model, smoothed so one short reply doesn't swing the display.
// Pure: samples and times come in as arguments. Decode is bandwidth-bound, prefill compute-bound; they are
// tracked separately and never mixed.

export type SpeedSource = 'metrics' | 'timings' | 'proxy';

/** One observation: a response's own timings, a metrics-counter delta, or the proxy's clock. */
export interface SpeedSample {
  at: number;
  decodeTokPerSec?: number;
  prefillTokPerSec?: number;
  ttftMs?: number;
  /** Tokens the decode figure is based on (its weight). */
  decodeTokens?: number;
  source: SpeedSource;
}

export interface LiveSpeed {
  decodeTokPerSec?: number;
  prefillTokPerSec?: number;
  ttftMs?: number;
  /** Samples folded in so far. */
  samples: number;
  lastAt?: number;
  /** Source of the latest decode figure. */
  source?: SpeedSource;
}

export interface SmoothingOptions {
  /** A sample of this many decoded tokens moves the average halfway. Default 128. */
  halfLifeTokens?: number;
  /** After this long without samples, the old average counts half as much. Default 120 s. */
  halfLifeMs?: number;
}

/** Above this a figure is garbage (a hostile or broken endpoint), not a speed: no local stack is within 10× of it. */
export const MAX_PLAUSIBLE_TOK_PER_SEC = 1e6;

const ok = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v) && v > 0;
const plausible = (v: number | undefined): v is number => ok(v) && v <= MAX_PLAUSIBLE_TOK_PER_SEC;

/** Weight of a new sample: more tokens and a staler average both favour the new value. */
function alpha(tokens: number, ageMs: number, o: Required<SmoothingOptions>): number {
  const byTokens = 1 - 2 ** (-tokens / o.halfLifeTokens);
  const byAge = 1 - 2 ** (-Math.max(0, ageMs) / o.halfLifeMs);
  return Math.min(1, Math.max(byTokens, byAge));
}

/** Folds one sample into the running estimate. Absurd values (≤ 0, NaN, ∞) are ignored. */
export function updateLiveSpeed(prev: LiveSpeed | undefined, s: SpeedSample, opts: SmoothingOptions = {}): LiveSpeed {
  const o = { halfLifeTokens: opts.halfLifeTokens ?? 128, halfLifeMs: opts.halfLifeMs ?? 120_000 };
  const cur: LiveSpeed = prev ? { ...prev } : { samples: 0 };
  const age = prev?.lastAt !== undefined ? s.at - prev.lastAt : Infinity;
  // A sample without a token count weighs like a medium reply.
  const a = alpha(ok(s.decodeTokens) ? s.decodeTokens : o.halfLifeTokens / 2, age, o);
  const mix = (old: number | undefined, v: number | undefined): number | undefined => (!ok(v) ? old : old === undefined ? v : old + a * (v - old));
  const before = cur.decodeTokPerSec;
  cur.decodeTokPerSec = mix(cur.decodeTokPerSec, plausible(s.decodeTokPerSec) ? s.decodeTokPerSec : undefined);
  cur.prefillTokPerSec = mix(cur.prefillTokPerSec, plausible(s.prefillTokPerSec) ? s.prefillTokPerSec : undefined);
  cur.ttftMs = mix(cur.ttftMs, s.ttftMs);
  if (cur.decodeTokPerSec !== before) cur.source = s.source;
  if (plausible(s.decodeTokPerSec) || plausible(s.prefillTokPerSec) || ok(s.ttftMs)) {
    cur.samples++;
    cur.lastAt = s.at;
  }
  for (const k of ['decodeTokPerSec', 'prefillTokPerSec', 'ttftMs', 'source'] as const) if (cur[k] === undefined) delete cur[k];
  return cur;
}

/** No sample for `staleMs`: the figure describes the past, not what the engine does now. */
export function isStale(s: LiveSpeed, now: number, staleMs = 300_000): boolean {
  return s.lastAt === undefined || now - s.lastAt > staleMs;
}

/**
 * Cumulative counters read from an engine's metrics at one moment. `*Seconds` are engine busy-time
 * counters (llama.cpp `tokens_predicted_seconds_total`, vLLM decode-time histogram sums): per-stream
 * speed. Without them the wall clock between snapshots gives aggregate throughput instead.
 */
export interface CounterSnapshot {
  at: number;
  decodeTokens?: number;
  decodeSeconds?: number;
  prefillTokens?: number;
  prefillSeconds?: number;
  /** Requests finished so far (lets a delta be attributed to whole requests). */
  requests?: number;
}

/** Speed over the interval between two counter snapshots; undefined when nothing happened or counters reset. */
export function speedFromCounters(prev: CounterSnapshot, cur: CounterSnapshot): SpeedSample | undefined {
  const d = (a?: number, b?: number) => (a === undefined || b === undefined ? undefined : b - a);
  const dTok = d(prev.decodeTokens, cur.decodeTokens);
  const dSec = d(prev.decodeSeconds, cur.decodeSeconds);
  const pTok = d(prev.prefillTokens, cur.prefillTokens);
  const pSec = d(prev.prefillSeconds, cur.prefillSeconds);
  // Any counter going backwards means the engine restarted: no honest delta.
  if ([dTok, dSec, pTok, pSec].some((x) => x !== undefined && x < 0)) return undefined;
  const s: SpeedSample = { at: cur.at, source: 'metrics' };
  if (dTok && dTok > 0) {
    s.decodeTokens = dTok;
    if (dSec && dSec > 0) s.decodeTokPerSec = dTok / dSec;
    else if (prev.decodeSeconds === undefined && cur.at > prev.at) s.decodeTokPerSec = dTok / ((cur.at - prev.at) / 1000);
  }
  if (pTok && pTok > 0) {
    if (pSec && pSec > 0) s.prefillTokPerSec = pTok / pSec;
    else if (prev.prefillSeconds === undefined && cur.at > prev.at) s.prefillTokPerSec = pTok / ((cur.at - prev.at) / 1000);
  }
  return s.decodeTokPerSec !== undefined || s.prefillTokPerSec !== undefined ? s : undefined;
}

/** One llama.cpp slot mid-generation (`GET /slots`): which task it runs and how many tokens it has decoded. */
export interface SlotProgress {
  id: number;
  task?: number;
  decoded?: number;
  processing: boolean;
}

export interface SlotSnapshot {
  at: number;
  slots: SlotProgress[];
}

/**
 * Live decode speed while requests are still running: llama.cpp's counters only move when a request ends,
 * but each busy slot's `n_decoded` grows token by token. Per-stream rate, averaged over slots that ran the
 * same task in both snapshots (wall clock, so poll at ≥ 1 s intervals to keep timing jitter small).
 */
export function speedFromSlots(prev: SlotSnapshot, cur: SlotSnapshot): SpeedSample | undefined {
  const dt = (cur.at - prev.at) / 1000;
  if (!(dt > 0)) return undefined;
  const rates: number[] = [];
  let tokens = 0;
  for (const c of cur.slots) {
    const p = prev.slots.find((x) => x.id === c.id);
    if (!p || !c.processing || !p.processing || c.task === undefined || c.task !== p.task) continue;
    if (c.decoded === undefined || p.decoded === undefined || c.decoded <= p.decoded) continue;
    rates.push((c.decoded - p.decoded) / dt);
    tokens += c.decoded - p.decoded;
  }
  if (rates.length === 0) return undefined;
  return { at: cur.at, decodeTokPerSec: rates.reduce((a, b) => a + b, 0) / rates.length, decodeTokens: tokens, source: 'metrics' };
}

/** Measured ÷ ceiling: the share of the bandwidth roofline this stack achieves (the "stack" factor). */
export function ceilingShare(measuredTokPerSec: number | undefined, ceilingTokPerSec: number | undefined): number | undefined {
  if (!ok(measuredTokPerSec) || !ok(ceilingTokPerSec)) return undefined;
  return measuredTokPerSec / ceilingTokPerSec;
}
