// Warnings as data, with hysteresis so they don't flap: a warning enters when its level crosses `enter`,
// and leaves only after the level has stayed below `exit` (< enter) for `clearSamples` observations.
// One warning per model and kind per episode: it is "raised" once, then only updated (or escalated).
// Pure: `now` comes in; the caller keeps the book between steps.

export type Severity = 'info' | 'warning' | 'error';
/** `truncation`: the window is filling up; `truncated`: a request was cut or rejected; `oom`: the window the
 * conversation needs won't fit in memory; `slow-decode`: below ~3 tok/s. */
export type WarningKind = 'truncation' | 'truncated' | 'oom' | 'slow-decode';

export interface Warning {
  modelKey: string;
  kind: WarningKind;
  severity: Severity;
  message: string;
  /** The figures behind the message (tokens left, turns left, tok/s...), for views to format. */
  numbers: Record<string, number>;
  suggestedActions: string[];
  /** When this episode began. */
  since: number;
  updatedAt: number;
}

export interface Threshold {
  severity: Severity;
  enter: number;
  /** Must be below `enter`: the margin is what stops flapping. */
  exit: number;
}

/** One measured condition for one model. `level` grows with badness; thresholds are ordered mildest first. */
export interface Condition {
  modelKey: string;
  kind: WarningKind;
  level: number;
  thresholds: Threshold[];
  /** Consecutive observations under `exit` needed to clear. Default 1. */
  clearSamples?: number;
  describe: (severity: Severity) => Pick<Warning, 'message' | 'numbers' | 'suggestedActions'>;
}

interface Entry {
  warning: Warning;
  /** Index into the condition's thresholds of the active severity. */
  tier: number;
  clearCount: number;
  lastSeen: number;
}

export interface WarningBook {
  entries: Record<string, Entry>;
}

export interface StepResult {
  book: WarningBook;
  active: Warning[];
  /** New this step: a new episode, or an escalation to a higher severity. Notify on these only. */
  raised: Warning[];
  /** `modelKey|kind` of warnings that cleared this step. */
  cleared: string[];
}

export function emptyBook(): WarningBook {
  return { entries: {} };
}

const keyOf = (c: Pick<Condition, 'modelKey' | 'kind'>) => `${c.modelKey}|${c.kind}`;

/** Highest tier whose `enter` the level reaches, or -1. */
function entering(c: Condition): number {
  let t = -1;
  c.thresholds.forEach((th, i) => {
    if (c.level >= th.enter) t = i;
  });
  return t;
}

/**
 * Advances the book by one observation of each condition. Conditions not observed this step keep their
 * state (missing data is not "all clear") until `expireMs` has passed without an observation.
 */
export function stepWarnings(book: WarningBook, conditions: Condition[], now: number, opts: { expireMs?: number } = {}): StepResult {
  const expireMs = opts.expireMs ?? 15 * 60_000;
  const entries: Record<string, Entry> = { ...book.entries };
  const raised: Warning[] = [];
  const cleared: string[] = [];
  for (const c of conditions) {
    if (!Number.isFinite(c.level)) continue;
    const k = keyOf(c);
    const e = entries[k];
    const up = entering(c);
    if (!e) {
      if (up < 0) continue;
      const th = c.thresholds[up]!;
      const w: Warning = { modelKey: c.modelKey, kind: c.kind, severity: th.severity, ...c.describe(th.severity), since: now, updatedAt: now };
      entries[k] = { warning: w, tier: up, clearCount: 0, lastSeen: now };
      raised.push(w);
      continue;
    }
    // Escalate as soon as a higher tier is entered; de-escalate only below the current tier's exit.
    let tier = e.tier;
    if (up > tier) tier = up;
    else while (tier >= 0 && c.level < c.thresholds[tier]!.exit && tier > Math.max(up, 0)) tier--;
    const below = c.level < c.thresholds[0]!.exit;
    const clearCount = below ? e.clearCount + 1 : 0;
    if (below && clearCount >= (c.clearSamples ?? 1)) {
      delete entries[k];
      cleared.push(k);
      continue;
    }
    const sev = c.thresholds[tier]!.severity;
    const w: Warning = { ...e.warning, severity: sev, ...c.describe(sev), updatedAt: now };
    entries[k] = { warning: w, tier, clearCount, lastSeen: now };
    if (tier > e.tier) raised.push(w);
  }
  for (const [k, e] of Object.entries(entries)) {
    if (now - e.lastSeen > expireMs) {
      delete entries[k];
      cleared.push(k);
    }
  }
  return { book: { entries }, active: Object.values(entries).map((e) => e.warning), raised, cleared };
}
