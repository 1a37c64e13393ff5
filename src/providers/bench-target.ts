// What `headroom bench` runs against: which engine answers at the endpoint, its loaded model, quant and
// context, and the request that makes one fixed-length generation on it (EOS ignored, no prompt-cache reuse,
// deterministic sampling), per engine.
import { z } from 'zod';
import { BenchError, exchange, getJson, PROBE_MS, type Http } from './bench-http';

export type BenchEngine = 'llama.cpp' | 'ollama' | 'lmstudio' | 'openai-compatible';

// A neutral English passage: common words tokenise to about one token each in every mainstream vocabulary.
const WORDS = (
  'the system reads each file in order and then writes a short note about what it found so that the next step ' +
  'can start from a clear state while the user keeps working on the main task without waiting for the result'
).split(' ');

export interface Target {
  engine: BenchEngine;
  model: string;
  quant?: string;
  nCtx?: number;
  weightsBytes?: number;
  modelPath?: string;
  /** llama.cpp: token ids to tile prompts from (exact depths). */
  seedTokens?: number[];
}

/** What the caller pinned down; everything else is discovered. */
export interface TargetHints {
  engine?: BenchEngine;
  model?: string;
  nCtx?: number;
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

async function detect(h: Http, o: TargetHints): Promise<BenchEngine> {
  if (o.engine) return o.engine;
  const props = await getJson(h, '/props', llamaProps);
  if (props.data && (props.headers['server'] ?? '').toLowerCase().includes('llama.cpp')) return 'llama.cpp';
  const ps = await getJson(h, '/api/ps', ollamaPs);
  if (ps.data) return 'ollama';
  const lm = await getJson(h, '/api/v0/models', lmModels);
  if (lm.data) return 'lmstudio';
  return 'openai-compatible';
}

export async function discover(h: Http, o: TargetHints): Promise<Target> {
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

function textPrompt(tokens: number, nonce: string): string {
  const words: string[] = [`[${nonce}]`];
  for (let i = 0; words.length < tokens; i++) words.push(WORDS[i % WORDS.length]!);
  return words.join(' ');
}

/** Request body for one run: fixed output length, no prompt cache reuse, deterministic sampling. */
export function requestFor(t: Target, depth: number, outputTokens: number, nonce: string): { path: string; body: unknown } {
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
