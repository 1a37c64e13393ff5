// Recognises engine error bodies, above all "the prompt did not fit the context window", in the shapes
// llama.cpp, vLLM/SGLang (OpenAI-style) and Ollama use. Returns numbers and a kind, never the engine's text,
// because some engines echo request content in their error messages.
import { z } from 'zod';

export interface EngineError {
  kind: 'context_exceeded' | 'engine_error';
  /** Engine's error type/code string when it has one (e.g. `exceed_context_size_error`). */
  type?: string;
  /** Prompt tokens the engine counted, when it says. */
  promptTokens?: number;
  /** Window the engine enforced, when it says. */
  contextLimit?: number;
}

const llamaErr = z.object({
  error: z.object({
    type: z.string().optional(),
    code: z.union([z.number(), z.string()]).nullish(),
    message: z.string().optional(),
    n_prompt_tokens: z.number().int().nonnegative().optional(),
    n_ctx: z.number().int().positive().optional(),
  }),
});
// vLLM / SGLang: {"object":"error","message":"...","type":"BadRequestError","code":400}; Ollama: {"error":"..."}.
const flatErr = z.object({ message: z.string().optional(), type: z.string().optional(), error: z.string().optional() });

// vLLM: "This model's maximum context length is 16384 tokens. However, you requested 122946 tokens ..."
const VLLM_RE = /maximum context length is (\d+) tokens?\. However, you requested (\d+) tokens(?: \((\d+) in the messages)?/i;
// llama.cpp: "request (4476 tokens) exceeds the available context size (4096 tokens)"
const LLAMA_RE = /request \((\d+) tokens\) exceeds the available context size \((\d+) tokens\)/i;
const GENERIC_RE = /(exceeds? (the )?(available |maximum )?context (size|length|window))|(context[_ ]length[_ ]exceeded)|(input length exceeds)|(too many tokens)/i;

/** Reads an engine error body. Undefined when `obj` is not an error. */
export function extractEngineError(obj: unknown): EngineError | undefined {
  if (obj === null || typeof obj !== 'object') return undefined;
  const l = llamaErr.safeParse(obj);
  let msg: string | undefined;
  let type: string | undefined;
  const out: EngineError = { kind: 'engine_error' };
  if (l.success) {
    const e = l.data.error;
    msg = e.message;
    type = e.type;
    if (e.n_prompt_tokens !== undefined) out.promptTokens = e.n_prompt_tokens;
    if (e.n_ctx !== undefined) out.contextLimit = e.n_ctx;
    if (type === 'exceed_context_size_error') out.kind = 'context_exceeded';
  } else {
    const f = flatErr.safeParse(obj);
    if (!f.success) return undefined;
    const o = obj as Record<string, unknown>;
    if (f.data.error === undefined && o.object !== 'error') return undefined;
    msg = f.data.error ?? f.data.message;
    type = f.data.type;
  }
  if (type) out.type = type.slice(0, 64);
  if (msg) {
    const v = VLLM_RE.exec(msg);
    const m = LLAMA_RE.exec(msg);
    if (v) {
      out.kind = 'context_exceeded';
      out.contextLimit ??= Number(v[1]);
      out.promptTokens ??= Number(v[3] ?? v[2]);
    } else if (m) {
      out.kind = 'context_exceeded';
      out.promptTokens ??= Number(m[1]);
      out.contextLimit ??= Number(m[2]);
    } else if (GENERIC_RE.test(msg)) out.kind = 'context_exceeded';
  }
  return out;
}
