// `headroom bench`: a short, fixed generation against a running engine at a few prompt depths, measuring
// prefill (compute-bound) and decode (bandwidth-bound) tok/s and time to first token. The engine's own
// timings are preferred (llama.cpp `timings`, Ollama `eval_*`, LM Studio `stats`); otherwise we time the
// stream ourselves. Bounded in time and tokens; an AbortSignal aborts the in-flight HTTP request; an engine
// that dies mid-run is a BenchError and no result at all (a half-measured curve would mis-calibrate).
import { request, type Dispatcher } from 'undici';
import { z } from 'zod';
import type { BenchRun } from '../estimator/bench-result';
import type { EngineError } from './stream/engine-error';
import { ResponseMeter } from './stream/meter';

export type BenchEngine = 'llama.cpp' | 'ollama' | 'lmstudio' | 'openai-compatible';

export type BenchErrorKind = 'unreachable' | 'timeout' | 'aborted' | 'engine' | 'protocol' | 'no-model';

export class BenchError extends Error {
  override readonly name = 'BenchError';
  constructor(
    readonly kind: BenchErrorKind,
    message: string,
  ) {
    super(message);
  }
}

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
const MAX_BODY = 64 << 20;
const PROBE_MS = 5000;

// A neutral English passage: common words tokenise to about one token each in every mainstream vocabulary.
const WORDS = (
  'the system reads each file in order and then writes a short note about what it found so that the next step ' +
  'can start from a clear state while the user keeps working on the main task without waiting for the result'
).split(' ');

interface Target {
  engine: BenchEngine;
  model: string;
  quant?: string;
  nCtx?: number;
  weightsBytes?: number;
  modelPath?: string;
  /** llama.cpp: token ids to tile prompts from (exact depths). */
  seedTokens?: number[];
}

interface Http {
  dispatcher?: Dispatcher;
  auth?: string;
  signal: AbortSignal;
  deadline: number;
  clock: () => number;
  endpoint: string;
}

function transportError(err: unknown, h: Http, what: string, timedOut: boolean): BenchError {
  if (err instanceof BenchError) return err;
  if (timedOut) return new BenchError('timeout', `${what}: no answer within the bench's time budget`);
  if (h.signal.aborted) return new BenchError('aborted', 'bench cancelled');
  let code: string | undefined;
  for (let e: unknown = err, i = 0; e && i < 4 && !code; e = (e as { cause?: unknown }).cause, i++) {
    const c = (e as { code?: unknown }).code;
    if (typeof c === 'string') code = c;
  }
  if (code === 'ECONNREFUSED') return new BenchError('unreachable', `${h.endpoint}: connection refused (is the engine running?)`);
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE' || code === 'UND_ERR_CLOSED')
    return new BenchError('engine', `${what}: the engine closed the connection mid-run (did it crash or stop?)`);
  const msg = err instanceof Error ? err.message : String(err);
  return new BenchError('unreachable', `${what}: ${code ? `${code}: ` : ''}${msg}`);
}

type OnResponse = (status: number, headers: Record<string, string>) => (chunk: Buffer) => void;

/** One HTTP exchange under the bench's deadline and the caller's signal; body chunks go to the sink `onResponse` returns. */
async function exchange(h: Http, method: 'GET' | 'POST', path: string, json: unknown, onResponse: OnResponse): Promise<void> {
  const ctl = new AbortController();
  const remaining = h.deadline - h.clock();
  let timedOut = remaining <= 0;
  const timer = setTimeout(() => {
    timedOut = true;
    ctl.abort();
  }, Math.max(0, remaining));
  const onAbort = () => ctl.abort();
  if (h.signal.aborted || timedOut) ctl.abort();
  h.signal.addEventListener('abort', onAbort, { once: true });
  const what = `${method} ${path}`;
  let body: Dispatcher.ResponseData['body'] | undefined;
  try {
    const res = await request(`${h.endpoint}${path}`, {
      method,
      headers: {
        ...(json === undefined ? { accept: 'application/json' } : { 'content-type': 'application/json', accept: 'text/event-stream, application/json' }),
        ...(h.auth ? { authorization: h.auth } : {}),
      },
      body: json === undefined ? undefined : JSON.stringify(json),
      signal: ctl.signal,
      dispatcher: h.dispatcher,
      headersTimeout: Math.max(1, remaining),
      bodyTimeout: Math.max(1, remaining),
    });
    body = res.body;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
    const sink = onResponse(res.statusCode, headers);
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY) throw new BenchError('protocol', `${what}: response larger than ${MAX_BODY >> 20} MiB`);
      sink(chunk as Buffer);
    }
  } catch (err) {
    body?.destroy();
    throw transportError(err, h, what, timedOut);
  } finally {
    clearTimeout(timer);
    h.signal.removeEventListener('abort', onAbort);
  }
}

async function getJson<S extends z.ZodType>(h: Http, path: string, schema: S, probeMs = PROBE_MS): Promise<{ status: number; headers: Record<string, string>; data?: z.infer<S> }> {
  const chunks: Buffer[] = [];
  const hp = { ...h, deadline: Math.min(h.deadline, h.clock() + probeMs) };
  let r = { status: 0, headers: {} as Record<string, string> };
  await exchange(hp, 'GET', path, undefined, (status, headers) => {
    r = { status, headers };
    return (b) => chunks.push(b);
  });
  if (r.status < 200 || r.status > 299) return r;
  try {
    const parsed = schema.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    return parsed.success ? { ...r, data: parsed.data } : r;
  } catch {
    return r;
  }
}

const llamaProps = z.object({
  default_generation_settings: z.object({ n_ctx: z.number().int().positive() }).partial().optional(),
  model_alias: z.string().optional(),
  model_path: z.string().optional(),
});
const openaiModels = z.object({
  data: z.array(z.object({ id: z.string(), meta: z.object({ n_ctx: z.number().optional(), ftype: z.string().optional(), size: z.number().optional() }).partial().nullish(), max_model_len: z.number().optional() })),
});
const ollamaPs = z.object({
  models: z.array(z.object({ name: z.string(), context_length: z.number().optional(), details: z.object({ quantization_level: z.string().optional() }).partial().optional() })),
});
const tokenized = z.object({ tokens: z.array(z.number().int().nonnegative()) });
// LM Studio REST v0: `compatibility_type` is its fingerprint; loaded models carry their context.
const lmModels = z.object({
  data: z.array(
    z.object({ id: z.string(), compatibility_type: z.string(), state: z.string().optional(), quantization: z.string().optional(), loaded_context_length: z.number().optional() }),
  ),
});

/** llama.cpp `Q4_K - Medium` → `Q4_K_M`; anything else as given. */
function quantLabel(ftype: string | undefined): string | undefined {
  if (!ftype) return undefined;
  const m = /^([A-Za-z0-9_]+)\s*-\s*(Small|Medium|Large)$/i.exec(ftype.trim());
  return m ? `${m[1]!.toUpperCase()}_${m[2]![0]!.toUpperCase()}` : ftype.trim();
}

async function detect(h: Http, o: BenchOptions): Promise<BenchEngine> {
  if (o.engine) return o.engine;
  const props = await getJson(h, '/props', llamaProps);
  if (props.data && (props.headers['server'] ?? '').toLowerCase().includes('llama.cpp')) return 'llama.cpp';
  const ps = await getJson(h, '/api/ps', ollamaPs);
  if (ps.data) return 'ollama';
  const lm = await getJson(h, '/api/v0/models', lmModels);
  if (lm.data) return 'lmstudio';
  return 'openai-compatible';
}

async function discover(h: Http, o: BenchOptions): Promise<Target> {
  const engine = await detect(h, o);
  if (engine === 'ollama') {
    const ps = await getJson(h, '/api/ps', ollamaPs);
    const loaded = ps.data?.models ?? [];
    const pick = o.model ? loaded.find((m) => m.name === o.model) : loaded[0];
    const model = o.model ?? pick?.name;
    if (!model) throw new BenchError('no-model', `${h.endpoint}: Ollama has no model loaded; pass --model NAME`);
    const t: Target = { engine, model };
    const q = pick?.details?.quantization_level;
    if (q) t.quant = q;
    const ctx = o.nCtx ?? pick?.context_length;
    if (ctx) t.nCtx = ctx;
    return t;
  }
  if (engine === 'lmstudio') {
    const lm = await getJson(h, '/api/v0/models', lmModels);
    const list = lm.data?.data ?? [];
    const pick = o.model ? list.find((m) => m.id === o.model) : list.find((m) => m.state === 'loaded');
    const model = o.model ?? pick?.id;
    if (!model) throw new BenchError('no-model', `${h.endpoint}: LM Studio has no model loaded; pass --model NAME`);
    const t: Target = { engine, model };
    if (pick?.quantization) t.quant = pick.quantization;
    const ctx = o.nCtx ?? pick?.loaded_context_length;
    if (ctx) t.nCtx = ctx;
    return t;
  }
  const models = await getJson(h, '/v1/models', openaiModels);
  const list = models.data?.data ?? [];
  const entry = o.model ? list.find((m) => m.id === o.model) : list[0];
  const model = o.model ?? entry?.id;
  if (!model) throw new BenchError('no-model', `${h.endpoint}: /v1/models lists no model; pass --model NAME`);
  const t: Target = { engine, model };
  const q = quantLabel(entry?.meta?.ftype ?? undefined);
  if (q) t.quant = q;
  if (entry?.meta?.size) t.weightsBytes = entry.meta.size;
  let ctx = o.nCtx ?? entry?.meta?.n_ctx ?? entry?.max_model_len;
  if (engine === 'llama.cpp') {
    const props = await getJson(h, '/props', llamaProps);
    ctx = o.nCtx ?? props.data?.default_generation_settings?.n_ctx ?? ctx;
    if (props.data?.model_path) t.modelPath = props.data.model_path;
    const chunks: Buffer[] = [];
    let status = 0;
    await exchange({ ...h, deadline: Math.min(h.deadline, h.clock() + PROBE_MS) }, 'POST', '/tokenize', { content: ` ${WORDS.join(' ')}` }, (st) => {
      status = st;
      return (b) => chunks.push(b);
    });
    let tok: z.infer<typeof tokenized> | undefined;
    try {
      tok = status === 200 ? tokenized.parse(JSON.parse(Buffer.concat(chunks).toString('utf8'))) : undefined;
    } catch {
      tok = undefined;
    }
    if (!tok || tok.tokens.length === 0) throw new BenchError('protocol', `${h.endpoint}: POST /tokenize gave no tokens (HTTP ${status})`);
    t.seedTokens = tok.tokens;
  }
  if (ctx) t.nCtx = ctx;
  return t;
}

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

function textPrompt(tokens: number, nonce: string): string {
  const words: string[] = [`[${nonce}]`];
  for (let i = 0; words.length < tokens; i++) words.push(WORDS[i % WORDS.length]!);
  return words.join(' ');
}

/** Request body for one run: fixed output length, no prompt cache reuse, deterministic sampling. */
function requestFor(t: Target, depth: number, outputTokens: number, nonce: string): { path: string; body: unknown } {
  if (t.engine === 'llama.cpp') {
    const seed = t.seedTokens!;
    const prompt = Array.from({ length: depth }, (_, i) => seed[i % seed.length]!);
    return { path: '/completion', body: { prompt, n_predict: outputTokens, ignore_eos: true, cache_prompt: false, stream: true, temperature: 0, seed: 1 } };
  }
  if (t.engine === 'ollama') {
    return { path: '/api/generate', body: { model: t.model, prompt: textPrompt(depth, nonce), raw: true, stream: true, options: { num_predict: outputTokens, temperature: 0, seed: 1 } } };
  }
  if (t.engine === 'lmstudio') {
    // The REST v0 answer carries `stats` (tokens_per_second, time_to_first_token): LM Studio's own timings.
    return { path: '/api/v0/completions', body: { model: t.model, prompt: textPrompt(depth, nonce), max_tokens: outputTokens, stream: false, temperature: 0 } };
  }
  return {
    path: '/v1/completions',
    body: { model: t.model, prompt: textPrompt(depth, nonce), max_tokens: outputTokens, stream: true, stream_options: { include_usage: true }, temperature: 0, seed: 1, ignore_eos: true },
  };
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
