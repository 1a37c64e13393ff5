// The serving engine a prediction or a fix is for (`--engine` on fit and plan). Narrower than providers' EngineKind
// (which names every engine detection can recognise): these are the engines whose speed and commands we model. Pure.

export const SERVING_ENGINES = ['llama.cpp', 'ollama', 'lmstudio', 'vllm', 'mlx-lm'] as const;
export type ServingEngine = (typeof SERVING_ENGINES)[number];

/** Default when nothing says otherwise: llama.cpp (what Ollama and LM Studio's GGUF runtime are built on). */
export const DEFAULT_ENGINE: ServingEngine = 'llama.cpp';

const ALIASES: Record<string, ServingEngine> = {
  'llama.cpp': 'llama.cpp', llamacpp: 'llama.cpp', 'llama-server': 'llama.cpp', llama: 'llama.cpp',
  ollama: 'ollama',
  lmstudio: 'lmstudio', 'lm-studio': 'lmstudio', 'lm studio': 'lmstudio',
  vllm: 'vllm',
  'mlx-lm': 'mlx-lm', mlx: 'mlx-lm', mlxlm: 'mlx-lm', mlx_lm: 'mlx-lm',
};

/** `--engine` value → engine, or undefined when unknown (the caller reports the known names). */
export function parseServingEngine(s: string): ServingEngine | undefined {
  return ALIASES[s.trim().toLowerCase()];
}
