// Command lines the panel offers to copy for an alternative. Pure. Only flags whose meaning is stable across
// recent releases: llama-server -m/-c/-np/-fa/-ctk/-ctv, Ollama's documented OLLAMA_* server variables.
import type { KvType } from '../estimator/types';

export interface LaunchConfig {
  /** Model file name or engine tag. */
  model: string;
  quant: string;
  ctxPerSeq: number;
  parallel: number;
  kvType: KvType;
}

/** A GGUF file name for a model id + quant, e.g. `Qwen3-30B-A3B-Q4_K_M.gguf` (a placeholder the user adapts). */
export function ggufFileName(modelId: string, quant: string): string {
  const base = modelId.split('/').pop()!.replace(/\.gguf$/i, '').replace(/[-_.]?(i?q\d\w*|f16|bf16|f32|mxfp4)$/i, '');
  return `${base}-${quant}.gguf`;
}

/** Shell-quotes a word only when needed (model names may carry spaces or quotes). */
export function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** llama.cpp: `-c` is the TOTAL context, split across `-np` slots. */
export function llamaServerLine(c: LaunchConfig): string {
  const parts = ['llama-server', '-m', shellWord(c.model.endsWith('.gguf') ? c.model : ggufFileName(c.model, c.quant)), '-c', String(c.ctxPerSeq * c.parallel), '-np', String(c.parallel), '-fa', 'on'];
  if (c.kvType !== 'f16') parts.push('-ctk', c.kvType, '-ctv', c.kvType);
  return parts.join(' ');
}

/** Ollama reads these when the server starts; `num_ctx` per request overrides the context length. */
export function ollamaServeLine(c: Omit<LaunchConfig, 'model' | 'quant'>): string {
  const env = [`OLLAMA_CONTEXT_LENGTH=${c.ctxPerSeq}`, `OLLAMA_NUM_PARALLEL=${c.parallel}`];
  if (c.kvType !== 'f16') env.push('OLLAMA_FLASH_ATTENTION=1', `OLLAMA_KV_CACHE_TYPE=${c.kvType}`);
  return `${env.join(' ')} ollama serve`;
}
