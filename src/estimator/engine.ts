// The serving engine a prediction or a fix is for. One vocabulary for `--engine` (fit, plan), the speed model's
// per-engine factors and the engine-specific commands in suggestions. Pure: no I/O.

export const ENGINE_KINDS = ['llama.cpp', 'ollama', 'lmstudio', 'vllm', 'mlx-lm'] as const;
export type EngineKind = (typeof ENGINE_KINDS)[number];

/** Default when nothing says otherwise: llama.cpp (what Ollama and LM Studio's GGUF runtime are built on). */
export const DEFAULT_ENGINE: EngineKind = 'llama.cpp';

const ALIASES: Record<string, EngineKind> = {
  'llama.cpp': 'llama.cpp', llamacpp: 'llama.cpp', 'llama-server': 'llama.cpp', llama: 'llama.cpp',
  ollama: 'ollama',
  lmstudio: 'lmstudio', 'lm-studio': 'lmstudio', 'lm studio': 'lmstudio',
  vllm: 'vllm',
  'mlx-lm': 'mlx-lm', mlx: 'mlx-lm', mlxlm: 'mlx-lm', mlx_lm: 'mlx-lm',
};

/** `--engine` value → engine, or undefined when unknown (the caller reports the known names). */
export function parseEngineKind(s: string): EngineKind | undefined {
  return ALIASES[s.trim().toLowerCase()];
}
