// A fix in the words of the engine that serves the model: the command line (or environment) that applies one
// suggestion on Ollama, llama.cpp, LM Studio, vLLM or MLX-LM. Weights come from a repo the catalog names with a
// source; where none is on record the command is null and the note says so — never an invented file name.
// Only flags documented by each engine: llama-server -hf/-m/-c/-np/-fa/-ctk/-ctv; Ollama's OLLAMA_* server
// variables, `ollama pull hf.co/…`, Modelfile PARAMETER num_ctx; `lms get`, `lms load --context-length`;
// vLLM --max-model-len/--max-num-seqs/--kv-cache-dtype/--gpu-memory-utilization; `mlx_lm.server --model`. Pure.
import { findCatalogModel, type CatalogModel } from './catalog';
import { resolveModelName } from './model-names';
import type { ServingEngine } from './engine';
import type { KvType } from './types';

export interface EngineCommand {
  /** One copy-paste line in the engine's words, or null when none can be given (the note says why). */
  command: string | null;
  /** What the command does or assumes, or why there is none. */
  commandNote: string;
}

/** One configuration to express: weights (model + quant) and how they are served. */
export interface ServeConfig {
  modelId: string;
  quant: string;
  ctxPerSeq: number;
  parallel: number;
  kvType: KvType;
}

export interface CommandContext {
  engine: ServingEngine;
  /**
   * The engine's own name for the model being served now (Ollama tag, LM Studio key, llama.cpp GGUF path, vLLM or
   * MLX repo), used for changes that keep the same weights.
   */
  served?: string;
  /** The change keeps the current weights (slots, context, KV cache) — no download needed. */
  sameWeights: boolean;
}

/** Shell-quotes a word only when needed (model names may carry spaces or quotes). */
export function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const OLLAMA_KV: readonly KvType[] = ['f16', 'q8_0', 'q4_0'];

function ggufRepo(m: CatalogModel | undefined, quant: string): { ref: string; note: string } | undefined {
  const r = m?.repos.gguf;
  if (!r) return undefined;
  const seen = r.quants_seen.includes(quant) ? '' : ` (seen there with ${r.quants_seen.join(', ')}; check it publishes ${quant})`;
  return { ref: `${r.id}:${quant}`, note: `${r.id}${seen} — named by ${r.source}` };
}

function noRepo(m: CatalogModel | undefined, modelId: string, what: string): string {
  return `no ${what} repo for ${m?.name ?? modelId} is on record in the catalog, so no download command is given`;
}

/** llama-server's weights argument for a model + quant (`-hf repo:QUANT`), when a sourced repo is on record. */
export function llamaServerWeights(modelId: string, quant: string): { args: string[]; note: string } | undefined {
  const repo = ggufRepo(catalogEntry(modelId), quant);
  return repo ? { args: ['-hf', shellWord(repo.ref)], note: repo.note } : undefined;
}

/** `ollama pull hf.co/<repo>:<QUANT>` for a model + quant, when a sourced repo is on record. */
export function ollamaPull(modelId: string, quant: string): string | undefined {
  const repo = ggufRepo(catalogEntry(modelId), quant);
  return repo ? `ollama pull hf.co/${repo.ref}` : undefined;
}

function llamaCpp(c: ServeConfig, x: CommandContext, m: CatalogModel | undefined): EngineCommand {
  const flags = ['-c', String(c.ctxPerSeq * c.parallel), '-np', String(c.parallel), '-fa', 'on'];
  if (c.kvType !== 'f16') flags.push('-ctk', c.kvType, '-ctv', c.kvType);
  const how = `-c is the total context, split across -np ${c.parallel} slot${c.parallel > 1 ? 's' : ''} (${c.ctxPerSeq} tokens each)`;
  if (x.sameWeights && x.served) return { command: ['llama-server', '-m', shellWord(x.served), ...flags].join(' '), commandNote: how };
  const repo = ggufRepo(m, c.quant);
  if (repo) return { command: ['llama-server', '-hf', shellWord(repo.ref), ...flags].join(' '), commandNote: `${how}; weights from ${repo.note}` };
  return { command: null, commandNote: `${noRepo(m, c.modelId, 'GGUF')}; with your own ${c.quant} file: llama-server -m <file.gguf> ${flags.join(' ')}` };
}

function ollama(c: ServeConfig, x: CommandContext, m: CatalogModel | undefined): EngineCommand {
  if (!OLLAMA_KV.includes(c.kvType)) return { command: null, commandNote: `Ollama's KV cache types are f16, q8_0 and q4_0; ${c.kvType} is not one of them` };
  const env = [`OLLAMA_CONTEXT_LENGTH=${c.ctxPerSeq}`, `OLLAMA_NUM_PARALLEL=${c.parallel}`];
  if (c.kvType !== 'f16') env.push('OLLAMA_FLASH_ATTENTION=1', `OLLAMA_KV_CACHE_TYPE=${c.kvType}`);
  const serve = `${env.join(' ')} ollama serve`;
  const perModel = `for this model only: PARAMETER num_ctx ${c.ctxPerSeq} in a Modelfile (ollama create), or options.num_ctx per request on /api/* (Ollama's /v1 ignores num_ctx)`;
  if (x.sameWeights) return { command: serve, commandNote: `server-wide, read when ollama serve starts; ${perModel}` };
  const repo = ggufRepo(m, c.quant);
  if (!repo) return { command: null, commandNote: `${noRepo(m, c.modelId, 'GGUF')}; Ollama pulls any GGUF repo as hf.co/<repo>:${c.quant}. Serve it with: ${serve}` };
  return { command: `ollama pull hf.co/${repo.ref}`, commandNote: `weights from ${repo.note}; then serve with ${serve}` };
}

function lmStudio(c: ServeConfig, x: CommandContext, m: CatalogModel | undefined, kind?: string): EngineCommand {
  const extra = [c.parallel > 1 ? `${c.parallel} parallel predictions` : '', c.kvType !== 'f16' ? `K/V cache quantization ${c.kvType} (with flash attention)` : ''].filter(Boolean);
  const settings = extra.length ? `; set ${extra.join(' and ')} in the model's load settings in LM Studio` : '';
  if (x.sameWeights) {
    if (kind === 'fewer-slots' || kind === 'kv-quant') return { command: null, commandNote: `lms load has no flag for this: set ${kind === 'kv-quant' ? `K/V cache quantization ${c.kvType} (with flash attention)` : `${c.parallel} parallel prediction${c.parallel > 1 ? 's' : ''}`} in the model's load settings in LM Studio` };
    const key = x.served ? '' : ' (use the model key `lms ls` lists if it differs)';
    return { command: `lms load ${shellWord(x.served ?? m?.repos.gguf?.id ?? c.modelId)} --context-length ${c.ctxPerSeq}`, commandNote: `reloads with a ${c.ctxPerSeq}-token window${key}${settings}` };
  }
  const repo = m?.repos.gguf;
  if (!repo) return { command: null, commandNote: `${noRepo(m, c.modelId, 'GGUF')}; search for ${c.quant} in LM Studio's model browser` };
  const g = ggufRepo(m, c.quant)!;
  return { command: `lms get ${shellWord(repo.id)}`, commandNote: `pick ${c.quant} when lms asks; weights from ${g.note}; then lms load <model> --context-length ${c.ctxPerSeq}${settings}` };
}

function vllm(c: ServeConfig, x: CommandContext, m: CatalogModel | undefined): EngineCommand {
  if (c.kvType === 'q4_0' || c.kvType === 'q4_1' || c.kvType === 'q5_0' || c.kvType === 'q5_1' || c.kvType === 'iq4_nl') {
    return { command: null, commandNote: `vLLM has no ${c.kvType} KV cache; its quantized KV cache is fp8 (--kv-cache-dtype fp8, 8 bits like q8_0)` };
  }
  const model = x.sameWeights && x.served ? x.served : c.modelId;
  if (!x.sameWeights && /^(I?Q\d|TQ)/i.test(c.quant)) {
    return { command: null, commandNote: `vLLM serves full-precision, FP8, AWQ or GPTQ checkpoints rather than GGUF ${c.quant}; no such checkpoint of ${m?.name ?? c.modelId} is on record in the catalog` };
  }
  const parts = ['vllm', 'serve', shellWord(model), '--max-model-len', String(c.ctxPerSeq), '--max-num-seqs', String(c.parallel)];
  if (c.kvType === 'q8_0') parts.push('--kv-cache-dtype', 'fp8');
  parts.push('--gpu-memory-utilization', '0.90');
  return { command: parts.join(' '), commandNote: `vLLM reserves --gpu-memory-utilization of the GPU up front and fills it with KV cache${c.kvType === 'q8_0' ? '; fp8 is its 8-bit KV cache (q8_0 here)' : ''}` };
}

function mlxLm(c: ServeConfig, x: CommandContext, m: CatalogModel | undefined): EngineCommand {
  if (x.sameWeights) return { command: null, commandNote: 'mlx_lm.server has no window, slot or KV-cache-type setting: its KV cache grows with the conversation; cap the context in the agent instead' };
  const r = m?.repos.mlx;
  if (!r) return { command: null, commandNote: noRepo(m, c.modelId, 'MLX') };
  const bits = /^MLX-(\d)bit$/i.exec(c.quant)?.[1];
  const note = bits !== undefined && Number(bits) === r.bits ? '' : `MLX ${r.bits}-bit, the only MLX conversion on record — not ${c.quant}, and sized differently; `;
  return { command: `mlx_lm.server --model ${shellWord(r.id)}`, commandNote: `${note}named by ${r.source}` };
}

/** The command for one configuration on one engine. `kind` names the suggestion kind when there is one. */
export function engineCommand(c: ServeConfig, x: CommandContext, kind?: string): EngineCommand {
  const m = catalogEntry(c.modelId);
  switch (x.engine) {
    case 'ollama':
      return ollama(c, x, m);
    case 'lmstudio':
      return lmStudio(c, x, m, kind);
    case 'vllm':
      return vllm(c, x, m);
    case 'mlx-lm':
      return mlxLm(c, x, m);
    default:
      return llamaCpp(c, x, m);
  }
}

/** The catalog entry for a HF id or any accepted short name (an Ollama tag, a GGUF file name). */
function catalogEntry(id: string): CatalogModel | undefined {
  const exact = findCatalogModel(id);
  if (exact) return exact;
  try {
    return resolveModelName(id.split(/[/\\]/).pop()!).model;
  } catch {
    return undefined;
  }
}

/** Suggestions that keep the weights (slots, context, KV cache) need no download. */
export function keepsWeights(kind: string, modelId: string, quant: string, current: { modelId: string; quant: string }): boolean {
  return kind !== 'moe-alternative' && modelId === current.modelId && quant === current.quant;
}
