// "Choose Model" → load it in the engine with the chosen context, for engines whose API allows it.
// Ollama: POST /api/generate with no prompt loads the model (keep_alive + options.num_ctx).
// LM Studio (0.4+): POST /api/v1/models/load { model, context_length }.
// Through the providers' HTTP helper: deadline, size cap, zod-validated answer, cancellable.
import * as z from 'zod';
import { postJson } from '../providers/http';

export const LOADABLE_ENGINES = ['ollama', 'lmstudio'] as const;
export type LoadableEngine = (typeof LOADABLE_ENGINES)[number];

export function canLoad(engine: string | undefined): engine is LoadableEngine {
  return (LOADABLE_ENGINES as readonly string[]).includes(engine ?? '');
}

export interface LoadRequest {
  engine: LoadableEngine;
  endpoint: string;
  model: string;
  ctxPerSeq: number;
  /** How long Ollama keeps it resident afterwards. */
  keepAlive?: string;
  signal?: AbortSignal;
  /** Loading a big model from disk can take minutes. */
  timeoutMs?: number;
}

const OllamaLoaded = z.object({ model: z.string(), done: z.boolean().optional(), done_reason: z.string().optional() });
const LmStudioLoaded = z.object({ status: z.string().optional(), instance_id: z.string().optional(), load_time_seconds: z.number().optional() });

export interface LoadResult {
  /** Seconds the engine says loading took, when it says. */
  loadSeconds?: number;
  detail: string;
}

export function loadBody(r: Pick<LoadRequest, 'engine' | 'model' | 'ctxPerSeq' | 'keepAlive'>): { path: string; body: unknown } {
  if (r.engine === 'ollama') return { path: '/api/generate', body: { model: r.model, keep_alive: r.keepAlive ?? '30m', options: { num_ctx: r.ctxPerSeq } } };
  return { path: '/api/v1/models/load', body: { model: r.model, context_length: r.ctxPerSeq } };
}

export async function loadModel(r: LoadRequest): Promise<LoadResult> {
  const { path, body } = loadBody(r);
  const opts = { timeoutMs: r.timeoutMs ?? 300_000, maxBytes: 1024 * 1024, ...(r.signal ? { signal: r.signal } : {}) };
  const url = `${r.endpoint.replace(/\/+$/, '')}${path}`;
  if (r.engine === 'ollama') {
    const res = await postJson(url, body, OllamaLoaded, opts);
    return { detail: `${res.data.model} loaded${res.data.done_reason ? ` (${res.data.done_reason})` : ''}` };
  }
  const res = await postJson(url, body, LmStudioLoaded, opts);
  return { ...(res.data.load_time_seconds !== undefined ? { loadSeconds: res.data.load_time_seconds } : {}), detail: `${r.model} ${res.data.status ?? 'loaded'}${res.data.instance_id ? ` as ${res.data.instance_id}` : ''}` };
}
