// Human wording for numbers: bytes in GB, tok/s with the speed word. Shared by the CLI and the views.

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** Bytes as GB (binary, like the engines' logs and macOS), e.g. `18.4 GB`; small values in MB. */
export function formatBytes(bytes: number, digits = 1): string {
  if (!Number.isFinite(bytes)) return '—';
  const sign = bytes < 0 ? '-' : '';
  const b = Math.abs(bytes);
  if (b < 10 * MiB) return `${sign}${(b / MiB).toFixed(1)} MB`;
  if (b < GiB) return `${sign}${Math.round(b / MiB)} MB`;
  return `${sign}${(b / GiB).toFixed(b >= 100 * GiB ? 0 : digits)} GB`;
}

/** How a decode rate feels for an agent loop: <3 wet cement, ~10 slow, ~30 comfortable. */
export function speedWord(tokPerSec: number): string {
  if (!Number.isFinite(tokPerSec) || tokPerSec <= 0) return 'stalled';
  if (tokPerSec < 3) return 'wet cement';
  if (tokPerSec < 7) return 'very slow';
  if (tokPerSec < 15) return 'slow';
  if (tokPerSec < 25) return 'usable';
  if (tokPerSec < 60) return 'comfortable';
  return 'fast';
}

export function formatTokPerSec(tokPerSec: number): string {
  if (!Number.isFinite(tokPerSec) || tokPerSec <= 0) return '—';
  return `${tokPerSec >= 100 ? tokPerSec.toFixed(0) : tokPerSec >= 10 ? tokPerSec.toFixed(0) : tokPerSec.toFixed(1)} tok/s`;
}

/** A predicted rate with its band: `≈ 45 tok/s (30–55)`; a collapsed (measured) band shows the value alone. */
export function formatTokPerSecRange(tokPerSec: number, range?: { low: number; high: number }): string {
  const v = formatTokPerSec(tokPerSec);
  if (v === '—') return v;
  if (!range || !(range.high > range.low)) return `≈ ${v}`;
  const n = (x: number) => (x >= 10 ? x.toFixed(0) : x.toFixed(1));
  return `≈ ${v} (${n(range.low)}–${n(range.high)})`;
}

/** Parameter counts as `30.5B` / `3.3B` / `800M`. */
export function formatParams(n: number): string {
  if (!Number.isFinite(n) || n <= 0) return '?';
  if (n >= 1e12) return `${(n / 1e12).toFixed(n >= 1e13 ? 0 : 1)}T`;
  if (n >= 1e9) return `${(n / 1e9).toFixed(n >= 1e11 ? 0 : 1)}B`;
  return `${Math.round(n / 1e6)}M`;
}

/** Token counts as `32k`, `128k`, `1M`, `4,500`. */
export function formatTokens(n: number): string {
  if (!Number.isFinite(n)) return '—';
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)}M`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024}k`;
  if (n >= 10_000) return `${(n / 1000).toFixed(0)}k`;
  return n.toLocaleString('en-US');
}
