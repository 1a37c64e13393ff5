// Poll spacing. Pure: the poller asks "how long until the next poll?" after each one settles.

export interface BackoffOptions {
  /** The configured poll interval, ms. */
  baseMs: number;
  /** Never wait longer than this, ms (a freshly started engine is noticed within this time). */
  maxMs?: number;
}

const DEFAULT_MAX_MS = 5 * 60_000;

/**
 * Delay before the next poll. While engines answer (`misses` = 0) poll at the configured interval; each
 * consecutive poll where nothing answered doubles the wait, capped at `maxMs` (but never below `baseMs`).
 * Deterministic: one client polling loopback needs no jitter.
 */
export function nextPollDelayMs(misses: number, opts: BackoffOptions): number {
  const base = Number.isFinite(opts.baseMs) && opts.baseMs > 0 ? opts.baseMs : 5_000;
  const cap = Math.max(base, opts.maxMs ?? DEFAULT_MAX_MS);
  const n = Number.isFinite(misses) && misses > 0 ? Math.floor(misses) : 0;
  // 2 ** 40 is already far past any cap; stop there so huge miss counts cannot overflow to Infinity.
  return Math.min(cap, base * 2 ** Math.min(n, 40));
}
