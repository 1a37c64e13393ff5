// Prompt size over time for one conversation (or slot), and how fast it grows per turn. Agents resend the
// whole conversation each turn, so the prompt climbs in steps; the median of recent steps is a robust growth
// rate (one huge file read doesn't dominate it). Pure: observations arrive with their own timestamps.

export interface TurnPoint {
  at: number;
  /** Prompt tokens of this request (cached prefix included). */
  promptTokens: number;
  outputTokens?: number;
}

export interface ContextTrack {
  /** Current episode (one conversation between resets), oldest first, at most `maxPoints`. */
  points: TurnPoint[];
  /** A big drop held back: a side request (title, summary) or the start of a new conversation. */
  pending?: TurnPoint;
  /** Episodes ended by a new conversation or a compaction. */
  resets: number;
  /** Small side requests that were ignored. */
  sideRequests: number;
}

export interface TrackerOptions {
  /** A prompt below this fraction of the last one leaves the conversation (side request or reset). Default 0.9. */
  continueFraction?: number;
  maxPoints?: number;
}

export function newTrack(): ContextTrack {
  return { points: [], resets: 0, sideRequests: 0 };
}

/** Adds one request's prompt size. Returns a new track (the old one is not modified). */
export function observeTurn(track: ContextTrack, p: TurnPoint, opts: TrackerOptions = {}): ContextTrack {
  if (!Number.isFinite(p.promptTokens) || p.promptTokens < 0) return track;
  const keep = opts.continueFraction ?? 0.9;
  const max = opts.maxPoints ?? 64;
  const t: ContextTrack = { ...track, points: track.points.slice() };
  const last = t.points[t.points.length - 1];
  // Within a conversation the prompt only grows (agents resend everything), give or take a little.
  const continues = (from: TurnPoint | undefined) => !from || p.promptTokens >= from.promptTokens * keep;
  if (continues(last)) {
    // Back on the main conversation after a drop: that drop was a side request.
    if (t.pending) {
      t.sideRequests++;
      delete t.pending;
    }
    t.points.push(p);
  } else if (t.pending && continues(t.pending)) {
    // Two in a row below the old episode: a new conversation (or a compaction) has started.
    t.points = [t.pending, p];
    delete t.pending;
    t.resets++;
  } else {
    t.pending = p;
  }
  if (t.points.length > max) t.points = t.points.slice(-max);
  return t;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median prompt growth over the last `recent` turns of the episode; undefined before two turns. */
export function growthPerTurn(track: ContextTrack, recent = 8): number | undefined {
  const pts = track.points.slice(-(recent + 1));
  if (pts.length < 2) return undefined;
  const deltas: number[] = [];
  for (let i = 1; i < pts.length; i++) deltas.push(pts[i]!.promptTokens - pts[i - 1]!.promptTokens);
  return median(deltas);
}

/** Tokens held in context after the latest turn: its prompt plus what it generated. */
export function contextTokens(track: ContextTrack): number | undefined {
  const last = track.points[track.points.length - 1];
  return last ? last.promptTokens + (last.outputTokens ?? 0) : undefined;
}
