// Folds metered requests into per-model live state: smoothed speed, the conversation's context track, the
// latest truncation and window seen. Pure reducer (state in, state out) that the extension or CLI drives
// with proxy records or per-response usage; horizon and warnings are computed from its output.
import type { ContextTrack } from './context-tracker';
import { newTrack, observeTurn } from './context-tracker';
import { updateLiveSpeed, type LiveSpeed, type SpeedSample } from './live-speed';
import type { TruncationObservation } from './warning-rules';

/** What one completed request tells us. The proxy's `MeterRecord` satisfies this shape. */
export interface RequestObservation {
  model?: string;
  status: number;
  promptTokens?: number;
  outputTokens?: number;
  decodeTokPerSec?: number;
  prefillTokPerSec?: number;
  ttftMs?: number;
  speedSource?: 'engine' | 'proxy';
  numCtx?: number;
  engineCtx?: number;
  truncated: boolean;
  truncation?: Omit<TruncationObservation, 'truncated'>;
  error?: { kind: string };
  /** Wall-clock ms. */
  at: number;
}

export interface ModelLive {
  speed?: LiveSpeed;
  track: ContextTrack;
  /** Latest truncation verdict (undefined until a request with a verdict). */
  truncation?: TruncationObservation;
  /** Window the client asked for (`num_ctx`) or the engine reported, most recent. */
  window?: number;
  requests: number;
}

export type SessionState = Record<string, ModelLive>;

/** `<target>|<model>`: the key views and warnings use. */
export function liveKey(target: string, model: string | undefined): string {
  return `${target}|${model ?? '?'}`;
}

export function observeRequest(state: SessionState, key: string, o: RequestObservation): SessionState {
  // Aborted or failed-to-connect requests say nothing about the model.
  if (o.error && o.error.kind !== 'context_exceeded' && o.error.kind !== 'engine_error') return state;
  const prev = state[key] ?? { track: newTrack(), requests: 0 };
  const next: ModelLive = { ...prev, requests: prev.requests + 1 };
  if (o.status >= 200 && o.status < 300) {
    const s: SpeedSample = { at: o.at, source: o.speedSource === 'engine' ? 'timings' : 'proxy' };
    if (o.decodeTokPerSec !== undefined) s.decodeTokPerSec = o.decodeTokPerSec;
    if (o.prefillTokPerSec !== undefined) s.prefillTokPerSec = o.prefillTokPerSec;
    if (o.ttftMs !== undefined) s.ttftMs = o.ttftMs;
    if (o.outputTokens !== undefined) s.decodeTokens = o.outputTokens;
    next.speed = updateLiveSpeed(prev.speed, s);
    if (o.promptTokens !== undefined) {
      const p: { at: number; promptTokens: number; outputTokens?: number } = { at: o.at, promptTokens: o.promptTokens };
      if (o.outputTokens !== undefined) p.outputTokens = o.outputTokens;
      next.track = observeTurn(prev.track, p);
    }
  }
  next.truncation = { truncated: o.truncated, ...(o.truncation ?? {}) };
  const w = o.numCtx ?? o.engineCtx ?? o.truncation?.limit;
  if (w !== undefined) next.window = w;
  return { ...state, [key]: next };
}
