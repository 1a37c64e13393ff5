// The proxy's truncation guard: before a generation request goes to the engine, compare its prompt with the
// window that request will get, and (by mode) let it through, warn, or answer it with the API's own
// "context length exceeded" error so the agent compacts instead of working on a silently cut prompt.
// Numbers only: neither the prompt nor any part of it leaves this module (messages carry counts).
import { z } from 'zod';
import { fetchText, type RawResponse } from '../http';
import { metaFromJson, type RequestMeta } from '../stream/request';
import { defaultEstimate, judge, TOKENIZER_ERROR, LearnedRatio, reservedOutput, suggestWindow, type GuardAction, type GuardMode, type TokenEstimate, type TokenMethod } from '../../estimator/prompt-tokens';
import type { MeterRecord } from './record';

export type { GuardMode } from '../../estimator/prompt-tokens';

/** What the guard did with one request (goes into its MeterRecord). */
export interface GuardInfo {
  action: GuardAction;
  promptTokens: number;
  /** Window this request gets; absent when the engine does not say (then nothing is refused). */
  window?: number;
  method: TokenMethod;
  /** Relative error band of `promptTokens` (0.1 = ±10 %). */
  error?: number;
  /** Output tokens held back for the reply. */
  reservedTokens?: number;
  /** Time the check took, ms (tokenizer round trips included). */
  checkMs?: number;
}

/** A warning or refusal, as soon as it is decided (before the reply: the editor raises it then). */
export interface GuardEvent {
  target: string;
  endpoint: string;
  model?: string;
  info: GuardInfo;
  /** One line with the numbers and how to raise the window; never prompt text. */
  message: string;
}

export interface GuardDecision {
  info: GuardInfo;
  meta: RequestMeta;
  /** Set when refused: the answer to send instead of contacting the engine. */
  refusal?: { status: number; body: string };
  message?: string;
}

type EngineKind = 'ollama' | 'llama.cpp' | 'lmstudio' | 'vllm' | 'unknown';

/** Paths the guard checks: Ollama native, OpenAI-style, llama.cpp native. */
const GUARDED = new Set(['/api/chat', '/api/generate', '/v1/chat/completions', '/v1/completions', '/v1/responses', '/completion']);

export function isGuardedPath(endpoint: string): boolean {
  return GUARDED.has(endpoint.replace(/\/+$/, ''));
}

const WINDOW_TTL_MS = 15_000;
const PROBE_TIMEOUT_MS = 1500;

export interface TruncationGuardOptions {
  mode: GuardMode;
  /** Engine base URL (with any base path). */
  target: string;
  /** Ask the engine's tokenizer where it has one (llama.cpp, vLLM). Default true. */
  tokenizer?: boolean;
  /** Deadline for the tokenizer round trips, ms. Default 1500. */
  tokenizeTimeoutMs?: number;
  now?: () => number;
}

const num = z.number().finite().nonnegative();
const propsSchema = z.looseObject({ default_generation_settings: z.looseObject({ n_ctx: num }), total_slots: num.optional() });
const psSchema = z.looseObject({ models: z.array(z.looseObject({ name: z.string().optional(), model: z.string().optional(), context_length: num.optional() })).nullable() });
const lmsSchema = z.looseObject({ data: z.array(z.looseObject({ id: z.string(), state: z.string().optional(), loaded_context_length: num.optional(), max_context_length: num.optional() })) });
const vllmModels = z.looseObject({ data: z.array(z.looseObject({ id: z.string(), max_model_len: num.optional() })) });
const templateSchema = z.looseObject({ prompt: z.string() });
// `tokens` of a 100k-token prompt is a 100k-element array: checked as an array, not element by element.
const tokenizeSchema = z.looseObject({ tokens: z.custom<unknown[]>((v) => Array.isArray(v)).optional(), count: num.optional(), max_model_len: num.optional() });

function parseJson<S extends z.ZodType>(res: RawResponse, schema: S): z.infer<S> | undefined {
  if (res.status < 200 || res.status > 299) return undefined;
  try {
    const r = schema.safeParse(JSON.parse(res.body));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

const bare = (m: string) => m.replace(/:latest$/, '');
const fmt = (n: number) => n.toLocaleString('en-US');

export class TruncationGuard {
  readonly mode: GuardMode;
  private readonly base: string;
  private readonly useTokenizer: boolean;
  private readonly tokenizeTimeoutMs: number;
  private readonly now: () => number;
  private kind: Promise<EngineKind> | undefined;
  /** When an "unknown" answer may be asked again (an engine still starting; not on every request). */
  private kindRetryAt = 0;
  private readonly windows = new Map<string, { window: number | undefined; at: number }>();
  private readonly learned = new Map<string, LearnedRatio>();

  constructor(o: TruncationGuardOptions) {
    this.mode = o.mode;
    this.base = o.target.replace(/\/+$/, '');
    this.useTokenizer = o.tokenizer ?? true;
    this.tokenizeTimeoutMs = o.tokenizeTimeoutMs ?? 1500;
    this.now = o.now ?? (() => Date.now());
  }

  /** The learned ratio of a model (created empty). */
  ratio(model: string): LearnedRatio {
    const k = bare(model);
    let r = this.learned.get(k);
    if (!r) this.learned.set(k, (r = new LearnedRatio()));
    return r;
  }

  private get(path: string): Promise<RawResponse | undefined> {
    return fetchText(this.base + path, { method: 'GET', timeoutMs: PROBE_TIMEOUT_MS, maxBytes: 4 << 20 }).catch(() => undefined);
  }

  private post(path: string, json: unknown, deadline: number): Promise<RawResponse | undefined> {
    const left = Math.max(1, Math.round(deadline - this.now()));
    const body = typeof json === 'string' ? { jsonText: json } : { json };
    return fetchText(this.base + path, { method: 'POST', ...body, timeoutMs: left, maxBytes: 32 << 20 }).catch(() => undefined);
  }

  /** Which engine is behind the proxy (asked once; after an unknown answer, asked again 30 s later). */
  engine(): Promise<EngineKind> {
    if (this.kind === undefined && this.now() < this.kindRetryAt) return Promise.resolve('unknown');
    this.kind ??= (async (): Promise<EngineKind> => {
      const [props, ps, lms, v1] = await Promise.all([this.get('/props'), this.get('/api/ps'), this.get('/api/v0/models'), this.get('/v1/models')]);
      if (ps && parseJson(ps, psSchema)) return 'ollama';
      if (props && parseJson(props, propsSchema)) return 'llama.cpp';
      if (lms && parseJson(lms, lmsSchema)) return 'lmstudio';
      const vm = v1 && parseJson(v1, vllmModels);
      if (vm?.data.some((m) => m.max_model_len !== undefined)) return 'vllm';
      return 'unknown';
    })();
    return this.kind.then((k) => {
      if (k === 'unknown' && this.kind !== undefined) {
        this.kind = undefined;
        this.kindRetryAt = this.now() + 30_000;
      }
      return k;
    });
  }

  /** The window the engine gives `model` now (cached per model for a few seconds). */
  private async engineWindow(kind: EngineKind, model: string): Promise<number | undefined> {
    const key = kind === 'llama.cpp' ? '' : bare(model);
    const hit = this.windows.get(key);
    if (hit && this.now() - hit.at < WINDOW_TTL_MS) return hit.window;
    let window: number | undefined;
    if (kind === 'ollama') {
      const ps = parseJson((await this.get('/api/ps')) ?? { status: 0, headers: {}, body: '' }, psSchema);
      // Not loaded: Ollama picks the window at load time (OLLAMA_CONTEXT_LENGTH or a VRAM-based default) — unknown here.
      window = ps?.models?.find((m) => bare(m.name ?? m.model ?? '') === key || bare(m.model ?? '') === key)?.context_length;
    } else if (kind === 'llama.cpp') {
      // Per slot: -c divided among -np slots.
      const p = parseJson((await this.get('/props')) ?? { status: 0, headers: {}, body: '' }, propsSchema);
      window = p?.default_generation_settings.n_ctx || undefined;
    } else if (kind === 'lmstudio') {
      const l = parseJson((await this.get('/api/v0/models')) ?? { status: 0, headers: {}, body: '' }, lmsSchema);
      window = l?.data.find((m) => m.id === model && m.state !== 'not-loaded')?.loaded_context_length;
    } else if (kind === 'vllm') {
      const v = parseJson((await this.get('/v1/models')) ?? { status: 0, headers: {}, body: '' }, vllmModels);
      window = (v?.data.find((m) => m.id === model) ?? v?.data[0])?.max_model_len;
    }
    if (window !== undefined && window <= 0) window = undefined;
    this.windows.set(key, { window, at: this.now() });
    return window;
  }

  /** Exact count from the engine's tokenizer, or undefined (none, too slow, or an answer that makes no sense). */
  private async tokenize(kind: EngineKind, endpoint: string, json: Record<string, unknown>, raw: string, model: string | undefined): Promise<number | undefined> {
    if (!this.useTokenizer) return undefined;
    const deadline = this.now() + this.tokenizeTimeoutMs;
    const count = (r: RawResponse | undefined) => {
      if (!r) return undefined;
      const fast = r.status === 200 ? countTokenIds(r.body) : undefined;
      if (fast !== undefined) return fast;
      const t = parseJson(r, tokenizeSchema);
      return t?.count ?? t?.tokens?.length;
    };
    const chat = endpoint === '/v1/chat/completions';
    const prompt = typeof json.prompt === 'string' ? json.prompt : undefined;
    if (kind === 'llama.cpp') {
      let text = prompt;
      if (chat) {
        // The request as the client sent it: /apply-template reads the same fields as /v1/chat/completions.
        const t = await this.post('/apply-template', raw, deadline);
        text = t && parseJson(t, templateSchema)?.prompt;
      } else if (endpoint !== '/completion' && endpoint !== '/v1/completions') return undefined;
      if (text === undefined) return undefined;
      return count(await this.post('/tokenize', { content: text, add_special: true, parse_special: true }, deadline));
    }
    if (kind === 'vllm') {
      if (chat && Array.isArray(json.messages)) return count(await this.post('/tokenize', { model, messages: json.messages, ...(json.tools ? { tools: json.tools } : {}) }, deadline));
      if (endpoint === '/v1/completions' && prompt !== undefined) return count(await this.post('/tokenize', { model, prompt }, deadline));
    }
    return undefined;
  }

  /**
   * Decides on one request. `body` is the complete request body. Undefined when it is not JSON; a request without
   * prompt text (an Ollama load request) passes with 0 tokens.
   */
  async check(endpoint: string, body: Buffer): Promise<GuardDecision | undefined> {
    const t0 = this.now();
    let json: unknown;
    const text = body.toString('utf8');
    try {
      json = JSON.parse(text);
    } catch {
      return undefined;
    }
    const meta = metaFromJson(json, body.length);
    if (meta.unparsed || meta.promptChars === 0 || typeof json !== 'object' || json === null) return { info: { action: 'passed', promptTokens: 0, method: 'default' }, meta };
    const model = meta.model ?? '';
    const path = endpoint.replace(/\/+$/, '');
    const kind = await this.engine();
    // Ollama honours options.num_ctx on its native API only; its /v1 endpoints ignore it.
    const requested = path.startsWith('/api/') ? meta.numCtx : undefined;
    const [window, exact] = await Promise.all([requested !== undefined ? Promise.resolve(requested) : this.engineWindow(kind, model), this.tokenize(kind, path, json as Record<string, unknown>, text, meta.model)]);
    const est: TokenEstimate = exact !== undefined ? { tokens: exact, method: 'tokenizer', error: TOKENIZER_ERROR } : model ? this.ratio(model).estimate(meta.promptChars) : defaultEstimate(meta.promptChars);
    if (exact !== undefined && model) this.ratio(model).add({ chars: meta.promptChars, tokens: exact });
    const info: GuardInfo = { action: 'passed', promptTokens: est.tokens, method: est.method, error: Math.round(est.error * 1000) / 1000 };
    if (window === undefined) {
      info.checkMs = this.now() - t0;
      return { info, meta };
    }
    const reserve = reservedOutput(window, meta.maxTokens);
    const j = judge(est, window, reserve, this.mode);
    Object.assign(info, { action: j.action, window, reservedTokens: reserve, checkMs: this.now() - t0 });
    if (j.action === 'passed') return { info, meta };
    const message = this.message(kind, path, model, est, window, reserve, j.neededTokens, j.clearlyOver);
    const d: GuardDecision = { info, meta, message };
    if (j.action === 'refused') d.refusal = refusalFor(path, message);
    return d;
  }

  private message(kind: EngineKind, path: string, model: string, est: TokenEstimate, window: number, reserve: number, needed: number, clearly: boolean): string {
    const how = est.method === 'tokenizer' ? "counted by the engine's tokenizer" : `estimated from its length${est.method === 'learned' ? ` at this model's learned ratio, ±${Math.round(est.error * 100)} %` : `, ±${Math.round(est.error * 100)} %`}`;
    const w = fmt(suggestWindow(needed));
    const raise =
      kind === 'ollama'
        ? path.startsWith('/api/')
          ? `send options.num_ctx ${w} (or set OLLAMA_CONTEXT_LENGTH=${w} / PARAMETER num_ctx ${w} in a Modelfile)`
          : `set OLLAMA_CONTEXT_LENGTH=${w} and restart ollama serve, or PARAMETER num_ctx ${w} in a Modelfile (Ollama's /v1 ignores num_ctx)`
        : kind === 'llama.cpp'
          ? `restart llama-server with -c ${w} per slot (-c is the total, split across -np slots)`
          : kind === 'lmstudio'
            ? `lms load ${model || '<model>'} --context-length ${w}`
            : kind === 'vllm'
              ? `restart vLLM with --max-model-len ${w}`
              : `raise the engine's context window to ${w}`;
    return `${model || 'the model'}: prompt ≈ ${fmt(est.tokens)} tokens (${how}) + ${fmt(reserve)} reserved for the reply ${clearly ? 'exceeds' : 'may exceed'} the ${fmt(window)}-token window; compact the conversation or raise the window: ${raise}`;
  }

  /**
   * Learns from a finished request: the engine's prompt count against the characters sent (un-truncated
   * successes only), and forgets a cached window the answer contradicts.
   */
  observe(r: MeterRecord, meta: RequestMeta | undefined): void {
    // Keyed by the name the client asked for, as `check` is (llama.cpp answers with its GGUF path).
    const model = meta?.model ?? r.model;
    if (!model) return;
    const key = bare(model);
    const cached = this.windows.get(key) ?? this.windows.get('');
    const seen = r.engineCtx ?? r.truncation?.limit;
    // No window known (an Ollama model not loaded yet): the request just served loaded it — ask again next time.
    if (cached && (cached.window === undefined || (seen !== undefined && seen !== cached.window) || (cached.window !== undefined && r.promptTokens !== undefined && r.promptTokens > cached.window) || (r.truncated && r.guard?.action === 'passed'))) {
      this.windows.delete(key);
      this.windows.delete('');
    }
    if (r.engineCtx !== undefined) this.windows.set(key, { window: r.engineCtx, at: this.now() });
    if (!meta || meta.unparsed || r.status !== 200 || r.truncated || r.error || r.promptTokens === undefined) return;
    if (r.guard?.method === 'tokenizer') return; // already learned from the exact count
    // OpenAI-style prompt_tokens include cached ones; a count of only the uncached part (older Ollama) is
    // implausibly sparse and LearnedRatio.add drops it.
    this.ratio(model).add({ chars: meta.promptChars, tokens: r.promptTokens });
  }
}

/**
 * llama.cpp's `/tokenize` answer `{"tokens":[1,2,…]}` counted without parsing 100k numbers: every character
 * must be a digit or a comma between digits; anything else (pieces, spaces, other fields) is left to the parser.
 */
export function countTokenIds(body: string): number | undefined {
  const head = '{"tokens":[';
  if (!body.startsWith(head) || !body.endsWith(']}')) return undefined;
  const end = body.length - 2;
  if (end === head.length) return 0;
  let n = 1;
  let prevDigit = false;
  for (let i = head.length; i < end; i++) {
    const c = body.charCodeAt(i);
    if (c >= 48 && c <= 57) prevDigit = true;
    else if (c === 44 && prevDigit) {
      n++;
      prevDigit = false;
    } else return undefined;
  }
  return prevDigit ? n : undefined;
}

/** The API's own error shape: Ollama `{"error": "…"}`; OpenAI-style (and llama.cpp) the nested object. */
export function refusalFor(path: string, message: string): { status: number; body: string } {
  if (path.startsWith('/api/')) return { status: 400, body: JSON.stringify({ error: message }) };
  return { status: 400, body: JSON.stringify({ error: { message, type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } }) };
}
