// "Snooze for this model": per-model quiet periods. Pure; the presenter persists the map in globalState.

export type SnoozeMap = Record<string, number>;

export const SNOOZE_MS = 60 * 60_000;

export function snooze(map: SnoozeMap, modelKey: string, now: number, ms = SNOOZE_MS): SnoozeMap {
  return { ...prune(map, now), [modelKey]: now + ms };
}

export function isSnoozed(map: SnoozeMap, modelKey: string, now: number): boolean {
  return (map[modelKey] ?? 0) > now || (map['*'] ?? 0) > now;
}

/** Drops expired entries (and anything that is not a finite time: the stored state is untrusted). */
export function prune(map: SnoozeMap, now: number): SnoozeMap {
  const out: SnoozeMap = {};
  for (const [k, v] of Object.entries(map ?? {})) if (typeof v === 'number' && Number.isFinite(v) && v > now) out[k] = v;
  return out;
}
