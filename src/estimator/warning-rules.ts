// The conditions Headroom warns about, built from horizon, proxy records and live speed, with their
// thresholds and wording. Feed the result to `stepWarnings` (warnings.ts), which adds the hysteresis.
import { formatTokPerSec, formatTokens } from './format';
import type { Horizon } from './horizon';
import type { Condition } from './warnings';

export interface ContextRuleOptions {
  /** Warn when this share of the window is used. Default 0.85 (the `headroom.warnings.contextFraction` default). */
  contextFraction?: number;
  /** Warn when this few turns are left at the recent growth rate. Default 3. */
  turnsLeft?: number;
  /** Engine serving the model (`ollama`, `llama.cpp`, ...): fixes are said in its words. */
  engine?: string;
}

/** How to raise the window, in the engine's words (to `n` tokens when known). */
export function raiseWindowHow(engine: string | undefined, n?: number): string {
  const N = n !== undefined ? String(Math.ceil(n / 1024) * 1024) : 'N';
  switch (engine) {
    case 'ollama':
      return `OLLAMA_CONTEXT_LENGTH=${N}, or num_ctx ${N} on /api/* (Ollama's /v1 ignores num_ctx), or PARAMETER num_ctx ${N} in a Modelfile`;
    case 'llama.cpp':
      return `restart llama-server with -c ${N} per slot (-c is the total across -np slots)`;
    case 'lmstudio':
      return `lms load <model> --context-length ${N}`;
    case 'vllm':
      return `restart vLLM with --max-model-len ${N}`;
    case 'mlx-lm':
      return 'mlx_lm.server has no window setting: set the context length in the agent';
    default:
      return 'Ollama num_ctx / OLLAMA_CONTEXT_LENGTH, llama.cpp -c';
  }
}

const tok = (n: number) => formatTokens(Math.max(0, Math.round(n)));

/** Window filling up (kind `truncation`) and conversation outgrowing what fits in memory (kind `oom`). */
export function contextConditions(modelKey: string, name: string, h: Horizon, o: ContextRuleOptions = {}): Condition[] {
  const frac = o.contextFraction ?? 0.85;
  const nTurns = o.turnsLeft ?? 3;
  const out: Condition[] = [];
  const window = h.window.size;
  const used = window - h.window.tokensLeft;
  if (window > 0) {
    // Few turns left counts as being at the threshold even when the fill share is still low.
    const turnsNear = h.window.turnsLeft !== undefined && h.window.turnsLeft <= nTurns;
    const level = Math.max(used / window, turnsNear ? frac : 0);
    const fits = h.memory && h.memory.maxWindow > window ? h.memory.maxWindow : undefined;
    out.push({
      modelKey,
      kind: 'truncation',
      level,
      thresholds: [
        { severity: 'warning', enter: frac, exit: frac - 0.05 },
        { severity: 'error', enter: 1, exit: 0.95 },
      ],
      describe: (sev) => ({
        message:
          sev === 'error'
            ? `${name}: the conversation (${tok(used)} tokens) fills the ${tok(window)} window; the engine now truncates or rejects the prompt`
            : `${name}: ~${tok(h.window.tokensLeft)} tokens${h.window.turnsLeft !== undefined ? ` (~${h.window.turnsLeft} turns)` : ''} left before the ${tok(window)} window truncates the prompt`,
        numbers: { usedTokens: used, window, tokensLeft: h.window.tokensLeft, ...(h.window.turnsLeft !== undefined ? { turnsLeft: h.window.turnsLeft } : {}), ...(h.growthPerTurn !== undefined ? { growthPerTurn: h.growthPerTurn } : {}), ...(fits ? { maxFittingWindow: fits } : {}) },
        suggestedActions: [
          fits ? `Raise the context window: up to ~${tok(fits)} tokens fits in memory (${raiseWindowHow(o.engine, fits)})` : `Raise the context window if memory allows (${raiseWindowHow(o.engine)})`,
          'Start a new task or let the agent condense its history',
        ],
      }),
    });
  }
  const m = h.memory;
  if (m && m.maxWindow > 0 && h.growthPerTurn !== undefined && h.growthPerTurn > 0) {
    const projected = used + nTurns * h.growthPerTurn;
    out.push({
      modelKey,
      kind: 'oom',
      level: projected / m.maxWindow,
      thresholds: [
        { severity: 'warning', enter: 1, exit: 0.9 },
        { severity: 'error', enter: (m.maxWindow + nTurns * h.growthPerTurn) / m.maxWindow, exit: 1 },
      ],
      describe: (sev) => ({
        message:
          sev === 'error'
            ? `${name}: the conversation (${tok(used)} tokens) already needs more context than fits in memory (~${tok(m.maxWindow)} tokens with the other loaded models)`
            : `${name}: ~${tok(m.tokensLeft)} tokens${m.turnsLeft !== undefined ? ` (~${m.turnsLeft} turns)` : ''} before the window it needs no longer fits in memory (max ~${tok(m.maxWindow)})`,
        numbers: { usedTokens: used, maxFittingWindow: m.maxWindow, tokensLeft: m.tokensLeft, growthPerTurn: h.growthPerTurn!, ...(m.turnsLeft !== undefined ? { turnsLeft: m.turnsLeft } : {}) },
        suggestedActions: ['Quantize the KV cache (q8_0 halves it)', 'Unload other models', 'Use a smaller quant or a MoE model with fewer active parameters', 'Start a new task or condense the history'],
      }),
    });
  }
  return out;
}

/** What the proxy saw on one request. */
export interface TruncationObservation {
  truncated: boolean;
  reason?: 'engine-flag' | 'rejected' | 'prompt-count-below-sent';
  sentTokens?: number;
  keptTokens?: number;
  limit?: number;
}

/** A truncation that happened (kind `truncated`). Clears only after three clean requests in a row. */
export function truncationCondition(modelKey: string, name: string, t: TruncationObservation, engine?: string): Condition {
  return {
    modelKey,
    kind: 'truncated',
    level: t.truncated ? 1 : 0,
    clearSamples: 3,
    thresholds: [{ severity: 'error', enter: 1, exit: 0.5 }],
    describe: () => ({
      message:
        t.reason === 'rejected'
          ? `${name}: the engine rejected the prompt${t.sentTokens !== undefined ? ` (${tok(t.sentTokens)} tokens)` : ''} — it exceeds the ${t.limit !== undefined ? `${tok(t.limit)} ` : ''}window`
          : `${name}: the engine silently cut the prompt${t.sentTokens !== undefined ? `: ~${tok(t.sentTokens)} tokens sent` : ''}${t.keptTokens !== undefined ? `, ${tok(t.keptTokens)} kept` : ''}${t.limit !== undefined ? ` (window ${tok(t.limit)})` : ''}; the model no longer sees the start of the conversation`,
      numbers: { ...(t.sentTokens !== undefined ? { sentTokens: t.sentTokens } : {}), ...(t.keptTokens !== undefined ? { keptTokens: t.keptTokens } : {}), ...(t.limit !== undefined ? { window: t.limit } : {}) },
      suggestedActions: [engine ? `Raise the context window (${raiseWindowHow(engine, t.sentTokens)})` : 'Raise the context window (Ollama: num_ctx or OLLAMA_CONTEXT_LENGTH; note /v1 ignores num_ctx)', 'Set the same window in the agent (Cline/Roo/Continue context length)'],
    }),
  };
}

/** Decode under ~3 tok/s: an agent loop crawls. Clears above 3.75 tok/s. */
export function slowDecodeCondition(modelKey: string, name: string, decodeTokPerSec: number, ceilingTokPerSec?: number): Condition {
  return {
    modelKey,
    kind: 'slow-decode',
    level: decodeTokPerSec > 0 ? 3 / decodeTokPerSec : Infinity,
    thresholds: [{ severity: 'info', enter: 1, exit: 0.8 }],
    describe: () => ({
      message: `${name}: decoding at ${formatTokPerSec(decodeTokPerSec)} — wet cement for an agent loop${ceilingTokPerSec ? ` (bandwidth ceiling ~${formatTokPerSec(ceilingTokPerSec)})` : ''}`,
      numbers: { decodeTokPerSec, ...(ceilingTokPerSec ? { ceilingTokPerSec } : {}) },
      suggestedActions: ['Use a smaller quant or a MoE model (decode reads only active weights)', 'Keep the whole model on the GPU (no partial offload)'],
    }),
  };
}
