// Reads what a client asked for from a request body, on the side: model, window (`num_ctx`), output cap,
// streaming, and how much prompt text was sent (as a character count only; the text itself is never kept).
import { z } from 'zod';

export interface RequestMeta {
  model?: string;
  /** Ollama `options.num_ctx`. */
  numCtx?: number;
  /** `max_tokens` / `max_completion_tokens` / `n_predict` / Ollama `options.num_predict`. */
  maxTokens?: number;
  stream?: boolean;
  /** Characters of prompt text (messages, prompt, system, tools) — the input to a token estimate. */
  promptChars: number;
  /** Body bytes seen (all of them, even past the parse cap). */
  bodyBytes: number;
  /** The body was too large to parse or not JSON; only `bodyBytes` is meaningful. */
  unparsed: boolean;
}

/**
 * Characters per token used to estimate what was sent. Real tokenizers give ~3.5–4 for English and less
 * for code; dividing by 4 under-counts tokens, so a truncation flag built on it errs toward silence.
 */
export const CHARS_PER_TOKEN = 4;

export function estimateTokens(chars: number): number {
  return Math.floor(chars / CHARS_PER_TOKEN);
}

const int = z.number().int();
const body = z.object({
  model: z.string().max(512).optional().catch(undefined),
  stream: z.boolean().optional().catch(undefined),
  max_tokens: int.optional().catch(undefined),
  max_completion_tokens: int.optional().catch(undefined),
  n_predict: int.optional().catch(undefined),
  options: z.object({ num_ctx: int.optional().catch(undefined), num_predict: int.optional().catch(undefined) }).optional().catch(undefined),
  prompt: z.unknown().optional(),
  system: z.unknown().optional(),
  messages: z.unknown().optional(),
  tools: z.unknown().optional(),
  // OpenAI /v1/responses
  input: z.unknown().optional(),
  instructions: z.unknown().optional(),
});

/** Characters of text in a prompt-ish value: strings, OpenAI content parts, Anthropic blocks; images skipped. */
function textChars(v: unknown, depth = 0): number {
  if (depth > 8 || v === null || v === undefined) return 0;
  if (typeof v === 'string') return v.length;
  if (Array.isArray(v)) {
    let n = 0;
    for (const x of v) n += textChars(x, depth + 1);
    return n;
  }
  if (typeof v !== 'object') return 0;
  const o = v as Record<string, unknown>;
  // Images arrive as base64 (`images`, `image_url`, `source.data`); they are not text tokens.
  let n = textChars(o.content, depth + 1) + textChars(o.text, depth + 1);
  if (typeof o.role === 'string') n += o.role.length;
  if (o.tool_calls !== undefined) n += JSON.stringify(o.tool_calls)?.length ?? 0;
  if (typeof o.input === 'object' && o.input !== null) n += JSON.stringify(o.input).length;
  return n;
}

/** Parses a request body already collected up to a cap. `totalBytes` counts bytes past the cap too. */
export function inspectRequest(bytes: Uint8Array | undefined, totalBytes: number): RequestMeta {
  const meta: RequestMeta = { promptChars: 0, bodyBytes: totalBytes, unparsed: true };
  if (!bytes || bytes.length === 0 || bytes.length < totalBytes) return meta;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch {
    return meta;
  }
  return metaFromJson(json, totalBytes);
}

/** The same, from a body already parsed (the truncation guard parses it once for itself and the record). */
export function metaFromJson(json: unknown, totalBytes: number): RequestMeta {
  const meta: RequestMeta = { promptChars: 0, bodyBytes: totalBytes, unparsed: true };
  const r = body.safeParse(json);
  if (!r.success) return meta;
  const b = r.data;
  meta.unparsed = false;
  if (b.model !== undefined) meta.model = b.model;
  if (b.stream !== undefined) meta.stream = b.stream;
  if (b.options?.num_ctx !== undefined && b.options.num_ctx > 0) meta.numCtx = b.options.num_ctx;
  const maxT = b.max_completion_tokens ?? b.max_tokens ?? b.n_predict ?? b.options?.num_predict;
  if (maxT !== undefined) meta.maxTokens = maxT;
  meta.promptChars = textChars(b.prompt) + textChars(b.system) + textChars(b.messages) + textChars(b.input) + textChars(b.instructions) + (b.tools === undefined ? 0 : JSON.stringify(b.tools)?.length ?? 0);
  return meta;
}
