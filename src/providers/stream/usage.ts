// Token counts and timings from one response object (a whole JSON body, one NDJSON line or one SSE event),
// for every engine shape we know. Each shape is a zod schema over just the fields we read; anything else in
// the object is ignored, and a field of the wrong type simply doesn't match. Never reads generated text.
import { z } from 'zod';

/** What one response object says about a request. All fields optional: objects carry different parts. */
export interface UsagePatch {
  model?: string;
  /** Prompt tokens in context for this request, cached prefix included. */
  promptTokens?: number;
  /** Prompt tokens reused from the engine's cache (not recomputed). */
  cachedTokens?: number;
  outputTokens?: number;
  /** Engine-measured decode (generation) speed. */
  decodeTokPerSec?: number;
  /** Engine-measured prefill (prompt processing) speed, over the newly computed tokens only. */
  prefillTokPerSec?: number;
  /** Engine-measured time to first token. */
  ttftMs?: number;
  /** Window the engine reports for this model, when a response carries it (LM Studio `model_info`). */
  engineCtx?: number;
  /** Engine says it cut the prompt (llama.cpp native `truncated`). */
  truncated?: boolean;
  finishReason?: string;
  /** Final object of a stream (Ollama `done`, llama.cpp native `stop`). */
  done?: boolean;
}

const count = z.number().int().nonnegative();
const pos = z.number().positive();
const nonneg = z.number().nonnegative();

// Ollama native /api/generate, /api/chat (durations in ns).
const ollama = z.object({
  model: z.string().optional(),
  done: z.boolean().optional(),
  done_reason: z.string().optional(),
  prompt_eval_count: count.optional(),
  prompt_eval_duration: nonneg.optional(),
  eval_count: count.optional(),
  eval_duration: nonneg.optional(),
});

// llama.cpp `timings` (native and OpenAI-compatible responses).
const timings = z.object({
  cache_n: count.optional(),
  prompt_n: count.optional(),
  prompt_ms: nonneg.optional(),
  prompt_per_second: nonneg.optional(),
  predicted_n: count.optional(),
  predicted_ms: nonneg.optional(),
  predicted_per_second: nonneg.optional(),
});

// llama.cpp native /completion.
const llamaNative = z.object({
  tokens_predicted: count.optional(),
  tokens_evaluated: count.optional(),
  tokens_cached: count.optional(),
  truncated: z.boolean().optional(),
  stop: z.boolean().optional(),
  stop_type: z.string().optional(),
});

// OpenAI `usage` (+ TabbyAPI timing extras, + Anthropic /v1/messages names).
const usage = z.object({
  prompt_tokens: count.optional(),
  completion_tokens: count.optional(),
  prompt_tokens_details: z.object({ cached_tokens: count.optional() }).nullish(),
  input_tokens: count.optional(),
  output_tokens: count.optional(),
  cache_read_input_tokens: count.optional(),
  prompt_tokens_per_sec: nonneg.optional(),
  completion_tokens_per_sec: nonneg.optional(),
  prompt_time: nonneg.optional(),
});

// LM Studio /api/v0 `stats` (seconds) and /api/v1 `stats`.
const lmStats = z.object({
  tokens_per_second: nonneg.optional(),
  time_to_first_token: nonneg.optional(),
  time_to_first_token_seconds: nonneg.optional(),
  input_tokens: count.optional(),
  total_output_tokens: count.optional(),
  stop_reason: z.string().optional(),
});

// exo /bench `generation_stats`.
const exoStats = z.object({
  prompt_tps: nonneg.optional(),
  generation_tps: nonneg.optional(),
  prompt_tokens: count.optional(),
  generation_tokens: count.optional(),
});

const envelope = z.object({
  model: z.string().optional(),
  timings: z.unknown().optional(),
  usage: z.unknown().optional(),
  stats: z.unknown().optional(),
  generation_stats: z.unknown().optional(),
  model_info: z.object({ context_length: pos.optional() }).nullish().catch(undefined),
  choices: z.array(z.object({ finish_reason: z.string().nullish() }).catch({})).optional().catch(undefined),
});

function parse<T extends z.ZodType>(schema: T, v: unknown): z.infer<T> | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const r = schema.safeParse(v);
  return r.success ? r.data : undefined;
}

function set<K extends keyof UsagePatch>(p: UsagePatch, k: K, v: UsagePatch[K] | undefined): void {
  if (v !== undefined) p[k] = v;
}

/** Reads usage and timings from one response object; undefined when it carries none. */
export function extractUsage(obj: unknown): UsagePatch | undefined {
  const env = parse(envelope, obj);
  if (!env) return undefined;
  const p: UsagePatch = {};
  set(p, 'model', env.model);
  set(p, 'engineCtx', env.model_info?.context_length);
  const fr = env.choices?.find((c) => c.finish_reason)?.finish_reason;
  if (fr) p.finishReason = fr;

  const o = parse(ollama, obj);
  if (o && (o.eval_count !== undefined || o.prompt_eval_count !== undefined || o.done !== undefined)) {
    set(p, 'promptTokens', o.prompt_eval_count);
    set(p, 'outputTokens', o.eval_count);
    set(p, 'done', o.done);
    set(p, 'finishReason', o.done_reason || undefined);
    // Ollama reports durations in nanoseconds; a zero duration means "not measured", not infinite speed.
    if (o.eval_count && o.eval_duration) p.decodeTokPerSec = (o.eval_count / o.eval_duration) * 1e9;
    if (o.prompt_eval_count && o.prompt_eval_duration) p.prefillTokPerSec = (o.prompt_eval_count / o.prompt_eval_duration) * 1e9;
  }

  const n = parse(llamaNative, obj);
  if (n && (n.tokens_predicted !== undefined || n.tokens_evaluated !== undefined)) {
    set(p, 'outputTokens', n.tokens_predicted);
    set(p, 'promptTokens', n.tokens_evaluated);
    set(p, 'truncated', n.truncated);
    if (n.stop) p.done = true;
    set(p, 'finishReason', n.stop_type);
  }

  const u = parse(usage, env.usage);
  if (u) {
    set(p, 'promptTokens', u.prompt_tokens ?? (u.input_tokens !== undefined ? u.input_tokens + (u.cache_read_input_tokens ?? 0) : undefined));
    set(p, 'outputTokens', u.completion_tokens ?? u.output_tokens);
    set(p, 'cachedTokens', u.prompt_tokens_details?.cached_tokens ?? u.cache_read_input_tokens);
    set(p, 'decodeTokPerSec', u.completion_tokens_per_sec || undefined);
    set(p, 'prefillTokPerSec', u.prompt_tokens_per_sec || undefined);
    if (u.prompt_time) p.ttftMs = u.prompt_time * 1000;
  }

  const t = parse(timings, env.timings);
  if (t) {
    if (t.predicted_n !== undefined) p.outputTokens = t.predicted_n;
    if (t.prompt_n !== undefined) p.promptTokens = t.prompt_n + (t.cache_n ?? 0);
    set(p, 'cachedTokens', t.cache_n);
    // llama.cpp's own rates: predicted_ms spans predicted_n - 1 decode steps (the first token comes out of
    // prompt processing), so its predicted_per_second is the honest decode rate; recompute only if absent.
    if (t.predicted_per_second) p.decodeTokPerSec = t.predicted_per_second;
    else if (t.predicted_n && t.predicted_n > 1 && t.predicted_ms) p.decodeTokPerSec = ((t.predicted_n - 1) / t.predicted_ms) * 1000;
    if (t.prompt_per_second) p.prefillTokPerSec = t.prompt_per_second;
    else if (t.prompt_n && t.prompt_ms) p.prefillTokPerSec = (t.prompt_n / t.prompt_ms) * 1000;
    if (t.prompt_ms !== undefined) p.ttftMs = t.prompt_ms;
  }

  const s = parse(lmStats, env.stats);
  if (s) {
    set(p, 'decodeTokPerSec', s.tokens_per_second || undefined);
    const ttft = s.time_to_first_token ?? s.time_to_first_token_seconds;
    if (ttft !== undefined) p.ttftMs = ttft * 1000;
    set(p, 'promptTokens', s.input_tokens);
    set(p, 'outputTokens', s.total_output_tokens);
    p.finishReason ??= s.stop_reason;
  }

  const g = parse(exoStats, env.generation_stats);
  if (g) {
    set(p, 'decodeTokPerSec', g.generation_tps || undefined);
    set(p, 'prefillTokPerSec', g.prompt_tps || undefined);
    set(p, 'promptTokens', g.prompt_tokens);
    set(p, 'outputTokens', g.generation_tokens);
  }

  return Object.keys(p).length > 0 ? p : undefined;
}

/** Later objects in a stream refine earlier ones. */
export function mergeUsage(acc: UsagePatch, patch: UsagePatch): UsagePatch {
  return { ...acc, ...patch };
}
