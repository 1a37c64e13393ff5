// "Reload with 32k context": a truncation / out-of-memory warning or a context row of the panel, applied through
// the engine's own API — only for engines that can load a model with a chosen context on request (Ollama,
// LM Studio; see load-model.ts). Which context, what the reload really does (and does not), the persistent fix
// in the engine's words, and the HTTP calls. No `vscode` import: the decision and the requests are tested in Node.
import * as z from 'zod';
import { engineCommand } from '../estimator/engine-commands';
import { formatTokens } from '../estimator/format';
import type { KvType } from '../estimator/types';
import { postJson } from '../providers/http';
import { canLoad, loadModel, type LoadableEngine, type LoadResult } from './load-model';

/** Below this a reload helps no agent (system prompts alone are 15–25k tokens). */
export const MIN_RELOAD_CTX = 4096;
/** Room kept for the reply when a warning names the prompt's size. */
export const REPLY_RESERVE = 4096;

export interface FixInput {
  /** Warning kind (`truncation`, `truncated`, `oom`) or `context-cap` for the panel's row. */
  kind: string;
  /** Per-slot window the engine runs now, when known. */
  configured?: number;
  /** The estimator's largest per-slot context that fits in memory. */
  maxFit: number;
  /** The model's own maximum. */
  contextMax: number;
  /** Tokens the warning asks for (a prompt's size), or the row's context. */
  want?: number;
}

const floorK = (n: number) => (n >= 1024 ? Math.floor(n / 1024) * 1024 : Math.floor(n));
const ceilK = (n: number) => Math.ceil(n / 1024) * 1024;

/**
 * The context a reload should ask for — the estimator's max that fits, capped by the model's max and by what the
 * warning asks for — or undefined when a reload would not help: the window would not grow for a truncation,
 * would not shrink for memory, or nothing useful fits.
 */
export function fixContext(i: FixInput): number | undefined {
  const cap = floorK(Math.min(i.maxFit, i.contextMax));
  if (!Number.isFinite(cap) || cap < MIN_RELOAD_CTX) return undefined;
  const raise = i.kind === 'truncation' || i.kind === 'truncated';
  if (raise) {
    const ctx = i.want !== undefined && Number.isFinite(i.want) ? Math.min(cap, ceilK(i.want + REPLY_RESERVE)) : cap;
    return i.configured === undefined || ctx > i.configured ? ctx : undefined;
  }
  if (i.kind !== 'oom' && i.kind !== 'context-cap' && i.kind !== 'over-capacity') return undefined;
  const ctx = i.want !== undefined && Number.isFinite(i.want) ? Math.min(cap, floorK(i.want)) : cap;
  if (ctx < MIN_RELOAD_CTX) return undefined;
  return i.configured === undefined || ctx < i.configured ? ctx : undefined;
}

export interface ReloadPlan {
  engine: LoadableEngine;
  endpoint: string;
  /** The engine's name of what is loaded now (Ollama tag, LM Studio instance id). */
  model: string;
  /** What to load (LM Studio: the model key; an instance id `key:2` loads as `key`). */
  loadAs: string;
  ctxPerSeq: number;
  /** Button text: "Reload with 32k context". */
  label: string;
  /** One line for the confirmation's Yes row. */
  action: string;
  /** What the reload does. */
  does: string;
  /** What it does not do (how long it holds). */
  caveat: string;
  /** does + caveat + the persistent fix, in one paragraph (log, notification). */
  detail: string;
  /** The fix that survives restarts and other clients, in the engine's words (engine-commands.ts). */
  persistent: { command: string | null; note: string };
}

export interface PlanInput {
  engine: string | undefined;
  endpoint: string | undefined;
  model: string;
  ctxPerSeq: number;
  /** For the persistent command: catalog id, quant, slots and KV type of what runs now. */
  modelId?: string;
  quant?: string;
  parallel?: number;
  kvType?: KvType;
}

/** The reload to offer, or undefined for engines without a load API (llama.cpp, vLLM, MLX-LM, …). */
export function reloadPlan(p: PlanInput): ReloadPlan | undefined {
  if (!canLoad(p.engine) || !p.endpoint || !(p.ctxPerSeq > 0)) return undefined;
  const engine = p.engine;
  const ctx = p.ctxPerSeq;
  const k = formatTokens(ctx);
  const loadAs = engine === 'lmstudio' ? p.model.replace(/:\d+$/, '') : p.model;
  const cmd = engineCommand(
    { modelId: p.modelId ?? p.model, quant: p.quant ?? 'Q4_K_M', ctxPerSeq: ctx, parallel: p.parallel ?? 1, kvType: p.kvType ?? 'f16' },
    { engine, sameWeights: true, served: loadAs },
    'context-cap',
  );
  const persistent = { command: cmd.command, note: cmd.commandNote };
  const keep = persistent.command ? `${persistent.command} (${persistent.note})` : persistent.note;
  const does =
    engine === 'ollama'
      ? `Loads ${p.model} through ${p.endpoint}/api/generate with options.num_ctx ${ctx} and keep_alive 30m.`
      : `Unloads the LM Studio instance ${p.model} and loads ${loadAs} again through ${p.endpoint}/api/v1/models/load with context_length ${ctx}; the prompt cache is lost, the next request reads its prompt again.`;
  const caveat =
    engine === 'ollama'
      ? `That applies to the instance loaded now only: a later request that does not send num_ctx (any /v1 request, or an /api request without options.num_ctx) may reload it at the server's default.`
      : `A request that makes LM Studio load the model on demand (JIT) uses the model's own load settings: set the context length there to keep ${k}.`;
  const detail = `${does} ${caveat} ${engine === 'ollama' ? `To keep ${k} for every client` : 'By hand'}: ${keep}`;
  return { engine, endpoint: p.endpoint, model: p.model, loadAs, ctxPerSeq: ctx, label: `Reload with ${k} context`, action: `Reload ${p.model} in ${engine === 'ollama' ? 'Ollama' : 'LM Studio'} with a ${k} context`, does, caveat, detail, persistent };
}

const LmStudioUnloaded = z.object({ instance_id: z.string().optional() }).passthrough();

/** Applies a plan: Ollama loads with the new num_ctx (it reloads the runner); LM Studio unloads, then loads. */
export async function applyReload(p: ReloadPlan, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<LoadResult> {
  const sig = opts.signal ? { signal: opts.signal } : {};
  if (p.engine === 'lmstudio') {
    // Loading again without unloading would add a second instance beside the first: more memory, not less.
    await postJson(`${p.endpoint.replace(/\/+$/, '')}/api/v1/models/unload`, { instance_id: p.model }, LmStudioUnloaded, { timeoutMs: 30_000, maxBytes: 64 * 1024, ...sig });
  }
  return loadModel({ engine: p.engine, endpoint: p.endpoint, model: p.loadAs, ctxPerSeq: p.ctxPerSeq, keepAlive: '30m', ...sig, ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}) });
}
