// One metered request, as the proxy reports it: numbers only, never prompt or completion text.
import type { EngineError } from '../stream/engine-error';
import type { MeterResult } from '../stream/meter';
import type { GuardInfo } from './guard';
import { estimateTokens, type RequestMeta } from '../stream/request';

export interface MeterRecord {
  /** Request path without the query string, e.g. `/api/chat`. */
  endpoint: string;
  /** Engine origin the proxy forwards to. */
  target: string;
  method: string;
  /** Upstream HTTP status (0 when the engine never answered; the proxy's own 400 when the guard refused). */
  status: number;
  model?: string;
  stream?: boolean;
  promptTokens?: number;
  cachedTokens?: number;
  outputTokens?: number;
  /** Prompt tokens estimated from the text sent (chars ÷ 4; errs low). */
  estimatedPromptTokens?: number;
  decodeTokPerSec?: number;
  prefillTokPerSec?: number;
  ttftMs?: number;
  /** Whether speeds come from the engine's own timings or from the proxy's clock. */
  speedSource?: 'engine' | 'proxy';
  durationMs: number;
  /** `num_ctx` the client sent (Ollama). */
  numCtx?: number;
  /** Output cap the client sent. */
  maxTokens?: number;
  /** Window the engine reported in its response, when it does (LM Studio). */
  engineCtx?: number;
  finishReason?: string;
  /** The prompt did not fit: cut by the engine (Ollama, llama.cpp `truncated`) or rejected (llama.cpp, vLLM). */
  truncated: boolean;
  truncation?: { reason: 'engine-flag' | 'rejected' | 'prompt-count-below-sent'; sentTokens?: number; keptTokens?: number; limit?: number };
  error?: { kind: EngineError['kind'] | 'client_abort' | 'upstream_reset' | 'upstream_unreachable' | 'upstream_timeout'; type?: string; message?: string };
  /** What the truncation guard did before forwarding (absent when the guard is off or the path is not guarded). */
  guard?: GuardInfo;
  /** Wall-clock end time, ms since epoch. */
  at: number;
}

/**
 * "Far below": the estimate must exceed the engine's count by this factor and by TRUNC_MIN_GAP tokens.
 * Prose tokenizes at ~4.3 chars/token, so chars÷4 can overshoot by ~10 %; truncation cases are typically 2–10×.
 */
export const TRUNC_RATIO = 1.5;
export const TRUNC_MIN_GAP = 256;

export interface Timing {
  startedAt: number;
  endedAt: number;
}

/** Combines what was sent, what the meter saw and the proxy's clock into one record. */
export function buildRecord(base: Pick<MeterRecord, 'endpoint' | 'target' | 'method' | 'status' | 'at'>, req: RequestMeta, m: MeterResult | undefined, t: Timing): MeterRecord {
  const u = m?.usage ?? {};
  const r: MeterRecord = { ...base, durationMs: t.endedAt - t.startedAt, truncated: false };
  const model = u.model ?? req.model;
  if (model !== undefined) r.model = model.slice(0, 256);
  if (req.stream !== undefined) r.stream = req.stream;
  if (u.promptTokens !== undefined) r.promptTokens = u.promptTokens;
  if (u.cachedTokens !== undefined) r.cachedTokens = u.cachedTokens;
  const out = u.outputTokens ?? (m && m.tokenEvents > 0 ? m.tokenEvents : undefined);
  if (out !== undefined) r.outputTokens = out;
  if (!req.unparsed && req.promptChars > 0) r.estimatedPromptTokens = estimateTokens(req.promptChars);
  if (req.numCtx !== undefined) r.numCtx = req.numCtx;
  if (req.maxTokens !== undefined) r.maxTokens = req.maxTokens;
  if (u.engineCtx !== undefined) r.engineCtx = u.engineCtx;
  if (u.finishReason !== undefined) r.finishReason = u.finishReason;

  if (u.decodeTokPerSec !== undefined || u.prefillTokPerSec !== undefined || u.ttftMs !== undefined) r.speedSource = 'engine';
  if (u.decodeTokPerSec !== undefined) r.decodeTokPerSec = u.decodeTokPerSec;
  if (u.prefillTokPerSec !== undefined) r.prefillTokPerSec = u.prefillTokPerSec;
  if (u.ttftMs !== undefined) r.ttftMs = u.ttftMs;
  // No engine timings (Ollama /v1, vLLM, SGLang): time the stream ourselves. The first token marks the end of
  // prefill; the rest of the tokens over the rest of the time is the decode rate.
  if (m?.firstTokenAt !== undefined) {
    if (r.ttftMs === undefined) {
      r.ttftMs = m.firstTokenAt - t.startedAt;
      r.speedSource ??= 'proxy';
    }
    const span = (m.lastTokenAt ?? m.firstTokenAt) - m.firstTokenAt;
    if (r.decodeTokPerSec === undefined && out !== undefined && out > 1 && span > 0) {
      r.decodeTokPerSec = ((out - 1) / span) * 1000;
      r.speedSource ??= 'proxy';
    }
  }

  const err = m?.error;
  if (err) {
    r.error = { kind: err.kind };
    if (err.type) r.error.type = err.type;
  }
  if (err?.kind === 'context_exceeded') {
    r.truncated = true;
    r.truncation = { reason: 'rejected' };
    const sent = err.promptTokens ?? r.estimatedPromptTokens;
    if (sent !== undefined) r.truncation.sentTokens = sent;
    if (err.contextLimit !== undefined) r.truncation.limit = err.contextLimit;
  } else if (u.truncated) {
    r.truncated = true;
    r.truncation = { reason: 'engine-flag' };
    if (u.promptTokens !== undefined) r.truncation.keptTokens = u.promptTokens;
  } else if (r.estimatedPromptTokens !== undefined && u.promptTokens !== undefined) {
    const sent = r.estimatedPromptTokens;
    // A cut prompt fills the window it was cut to. A small count against a known window is rather an engine
    // that counts only newly computed tokens (older Ollama with a cached prefix).
    const fillsWindow = req.numCtx === undefined || u.promptTokens >= req.numCtx * 0.5;
    if (fillsWindow && sent > u.promptTokens * TRUNC_RATIO && sent - u.promptTokens >= TRUNC_MIN_GAP) {
      r.truncated = true;
      r.truncation = { reason: 'prompt-count-below-sent', sentTokens: sent, keptTokens: u.promptTokens };
      if (req.numCtx !== undefined) r.truncation.limit = req.numCtx;
    }
  }
  return r;
}

// Ollama /api/generate, /api/chat; OpenAI-style /v1/(chat/)completions, /v1/responses; Anthropic /v1/messages;
// llama.cpp /completion, /infill; LM Studio /api/v1/chat; KoboldCpp /api/v1/generate, /api/extra/generate/stream;
// SGLang/TGI /generate(_stream).
const GENERATION = /\/(generate|generate_stream|generate\/stream|chat|completions?|messages|responses|infill)$/;

/** Paths that generate tokens (the ones worth a record). */
export function isGenerationPath(path: string): boolean {
  return GENERATION.test(path.split('?')[0]!.replace(/\/+$/, ''));
}
