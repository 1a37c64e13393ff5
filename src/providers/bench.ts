// `headroom bench`: a short, fixed generation against a running engine at a few prompt depths, measuring
// prefill (compute-bound) and decode (bandwidth-bound) tok/s and time to first token. The engine's own
// timings are preferred (llama.cpp `timings`, Ollama `eval_*`, LM Studio `stats`); otherwise we time the
// stream ourselves. Bounded in time and tokens; an AbortSignal aborts the in-flight HTTP request; an engine
// that dies mid-run is a BenchError and no result at all (a half-measured curve would mis-calibrate).
import type { Dispatcher } from 'undici';
import type { BenchRun } from '../estimator/bench-result';
import { BenchError, exchange, type Http } from './bench-http';
import { discover, requestFor, type BenchEngine, type Target } from './bench-target';
import type { EngineError } from './stream/engine-error';
import { ResponseMeter } from './stream/meter';

export { BenchError, type BenchErrorKind } from './bench-http';
export type { BenchEngine } from './bench-target';

export interface BenchOptions {
  /** Engine origin, e.g. `http://127.0.0.1:8080`. */
  endpoint: string;
  /** Sent as `Authorization: Bearer ...` (Jan, secured llama-server / vLLM). */
  apiKey?: string;
  /** Model to run; default: the one the engine has loaded. */
  model?: string;
  /** Skip detection when the caller already knows the engine. */
  engine?: BenchEngine;
  /** Prompt depths to measure, tokens; default near-empty, 8k, 32k (capped by the engine's context). */
  depths?: number[];
  /** Tokens generated per run (fixed: EOS is ignored where the engine allows). Default 64, max 1024. */
  outputTokens?: number;
  /** Context per sequence, when the engine does not say (caps the depths). */
  nCtx?: number;
  /** Budget for the whole bench, ms. Default 10 minutes. */
  timeoutMs?: number;
  signal?: AbortSignal;
  dispatcher?: Dispatcher;
  /** Monotonic clock, ms (tests inject one). Default `performance.now`. */
  clock?: () => number;
  /** Use the engine's timings when present (default). `false` times the stream client-side. */
  engineTimings?: boolean;
  /** Called before each measured run. */
  onRun?: (info: { index: number; total: number; targetDepth: number }) => void;
}

export interface BenchMeasurement {
  engine: BenchEngine;
  endpoint: string;
  model: string;
  quant?: string;
  /** Context per sequence the engine runs with, when known. */
  nCtx?: number;
  /** Bytes of the model's weights, when the engine says (llama.cpp `meta.size`): the roofline's numerator. */
  weightsBytes?: number;
  /** Model file as the engine reports it (llama.cpp `model_path`); readable when the engine is local. */
  modelPath?: string;
  runs: BenchRun[];
  /** Things the user should know (depths capped, context unknown ...). */
  notes: string[];
}

export const DEFAULT_DEPTHS = [0, 8192, 32768];
/** "Near-empty": a short prompt, still long enough to measure prefill at all. */
const MIN_PROMPT = 16;

/** The depths actually run: capped so prompt + output fit the context, near-duplicates dropped. */
export function plannedDepths(depths: readonly number[], nCtx: number | undefined, outputTokens: number): { runs: { target: number; tokens: number }[]; notes: string[] } {
  const notes: string[] = [];
  const cap = nCtx !== undefined ? nCtx - outputTokens - 8 : 4096;
  if (nCtx === undefined) notes.push('engine did not report its context size: depths capped at 4096 (pass --ctx to go deeper)');
  if (cap < MIN_PROMPT) throw new BenchError('protocol', `context of ${nCtx} tokens is too small for a ${outputTokens}-token bench`);
  const runs: { target: number; tokens: number }[] = [];
  for (const d of [...depths].sort((a, b) => a - b)) {
    const tokens = Math.max(MIN_PROMPT, Math.min(d, cap));
    // A capped depth that lands on (or within 5% of) the previous one adds nothing: drop it.
    if (runs.length && tokens <= runs.at(-1)!.tokens * 1.05) {
      notes.push(`depth ${d} skipped: the ${nCtx ?? 'unknown'}-token context leaves no room beyond ${runs.at(-1)!.tokens}`);
      continue;
    }
    if (d > cap) notes.push(`depth ${d} capped to ${tokens} (context ${nCtx ?? 'unknown'})`);
    runs.push({ target: d, tokens });
  }
  return { runs, notes };
}

/** An engine error body in words (kind and numbers only: engines may echo prompt text in messages). */
function describeEngineError(e: EngineError): string {
  if (e.kind === 'context_exceeded') return `prompt of ${e.promptTokens ?? '?'} tokens exceeds the ${e.contextLimit ?? '?'}-token context`;
  return `engine error${e.type ? ` (${e.type})` : ''}`;
}

async function measure(h: Http, t: Target, targetDepth: number, depth: number, outputTokens: number, nonce: string, engineTimings: boolean): Promise<BenchRun> {
  const { path, body } = requestFor(t, depth, outputTokens, nonce);
  let meter: ResponseMeter | undefined;
  const errChunks: Buffer[] = [];
  let status = 0;
  const start = h.clock();
  await exchange(h, 'POST', path, body, (st, headers) => {
    status = st;
    const mtr = new ResponseMeter(headers['content-type']);
    meter = mtr;
    return (b) => {
      mtr.push(b, h.clock());
      if (st < 200 || st > 299) errChunks.push(b);
    };
  });
  const end = h.clock();
  if (!meter) throw new BenchError('protocol', `POST ${path}: no response`);
  const m = (meter as ResponseMeter).end(end);
  if (status < 200 || status > 299) {
    const text = Buffer.concat(errChunks).toString('utf8').slice(0, 200).replace(/\s+/g, ' ');
    throw new BenchError('engine', `POST ${path}: HTTP ${status}${m.error ? `: ${describeEngineError(m.error)}` : text ? `: ${text}` : ''}`);
  }
  if (m.error) throw new BenchError('engine', `POST ${path}: ${describeEngineError(m.error)}`);
  const u = m.usage;
  const finished = u.done === true || u.finishReason !== undefined;
  if (!finished) throw new BenchError('engine', `POST ${path}: the stream ended before the engine finished (did it crash or stop?)`);
  const outputTokensSeen = u.outputTokens ?? m.tokenEvents;
  if (outputTokensSeen === 0) throw new BenchError('protocol', `POST ${path}: the engine generated no tokens`);
  const run: BenchRun = {
    targetDepth,
    promptTokens: u.promptTokens ?? depth,
    cachedTokens: u.cachedTokens ?? 0,
    outputTokens: outputTokensSeen,
    wallMs: end - start,
    timing: 'engine',
  };
  if (engineTimings && u.decodeTokPerSec !== undefined) {
    run.decodeTokPerSec = u.decodeTokPerSec;
    if (u.ttftMs !== undefined) run.ttftMs = u.ttftMs;
    else if (m.firstTokenAt !== undefined) run.ttftMs = m.firstTokenAt - start;
    // LM Studio reports TTFT but no prompt rate: the prompt was processed within that time.
    if (u.prefillTokPerSec !== undefined) run.prefillTokPerSec = u.prefillTokPerSec;
    else if (u.ttftMs && run.promptTokens > run.cachedTokens) run.prefillTokPerSec = ((run.promptTokens - run.cachedTokens) / u.ttftMs) * 1000;
    return run;
  }
  // Client-side: decode spans first → last token event (n−1 intervals); TTFT includes the HTTP round trip.
  run.timing = 'client';
  if (m.firstTokenAt !== undefined) {
    run.ttftMs = m.firstTokenAt - start;
    if (run.ttftMs > 0) run.prefillTokPerSec = ((run.promptTokens - run.cachedTokens) / run.ttftMs) * 1000;
    if (m.lastTokenAt !== undefined && m.tokenEvents > 1 && m.lastTokenAt > m.firstTokenAt) {
      run.decodeTokPerSec = ((m.tokenEvents - 1) / (m.lastTokenAt - m.firstTokenAt)) * 1000;
    }
  }
  return run;
}

/**
 * Runs the bench. Resolves with every depth measured, or rejects with BenchError (cancelled, timed out,
 * engine unreachable or dead mid-run, no model) — never a partial result.
 */
export async function runBench(o: BenchOptions): Promise<BenchMeasurement> {
  const clock = o.clock ?? (() => performance.now());
  const outputTokens = Math.min(1024, Math.max(2, Math.round(o.outputTokens ?? 64)));
  const h: Http = {
    endpoint: o.endpoint.replace(/\/+$/, ''),
    dispatcher: o.dispatcher,
    ...(o.apiKey ? { auth: `Bearer ${o.apiKey}` } : {}),
    signal: o.signal ?? new AbortController().signal,
    clock,
    deadline: clock() + (o.timeoutMs ?? 600_000),
  };
  if (h.signal.aborted) throw new BenchError('aborted', 'bench cancelled');
  const target = await discover(h, o);
  const plan = plannedDepths(o.depths ?? DEFAULT_DEPTHS, target.nCtx, outputTokens);
  const nonce = Math.floor(clock() * 1000).toString(36);
  // Warm-up (not recorded): loads the model if the engine lazy-loads, and fills caches/allocators.
  await measure(h, target, 0, MIN_PROMPT, 4, `${nonce}w`, true);
  const runs: BenchRun[] = [];
  for (const [i, r] of plan.runs.entries()) {
    o.onRun?.({ index: i, total: plan.runs.length, targetDepth: r.target });
    runs.push(await measure(h, target, r.target, r.tokens, outputTokens, `${nonce}${i}`, o.engineTimings !== false));
  }
  const out: BenchMeasurement = { engine: target.engine, endpoint: h.endpoint, model: target.model, runs, notes: plan.notes };
  if (target.quant) out.quant = target.quant;
  if (target.nCtx) out.nCtx = target.nCtx;
  if (target.weightsBytes) out.weightsBytes = target.weightsBytes;
  if (target.modelPath) out.modelPath = target.modelPath;
  return out;
}

