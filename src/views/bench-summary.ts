// "Measure Speed" results in words: decode (bandwidth-bound) and prefill (compute-bound) per depth, with the
// share of the bandwidth ceiling where Headroom can estimate one. Pure.
import type { BenchRun } from '../estimator/bench-result';
import { formatTokens, formatTokPerSec, speedWord } from '../estimator/format';

export interface BenchLine {
  depth: number;
  decode?: number;
  prefill?: number;
  ceiling?: number;
  /** measured ÷ ceiling */
  share?: number;
}

export function benchLines(runs: readonly BenchRun[], ceilingAt?: (depth: number) => number | undefined): BenchLine[] {
  return [...runs]
    .sort((a, b) => a.promptTokens - b.promptTokens)
    .map((r) => {
      const ceiling = ceilingAt?.(r.promptTokens);
      const line: BenchLine = { depth: r.promptTokens };
      if (r.decodeTokPerSec && Number.isFinite(r.decodeTokPerSec)) line.decode = r.decodeTokPerSec;
      if (r.prefillTokPerSec && Number.isFinite(r.prefillTokPerSec)) line.prefill = r.prefillTokPerSec;
      if (ceiling && ceiling > 0) {
        line.ceiling = ceiling;
        if (line.decode) line.share = line.decode / ceiling;
      }
      return line;
    });
}

/** One notification-sized sentence, e.g. "qwen3: decode 38 tok/s (comfortable) at 16 tokens, 31 tok/s at 8k — 71 % of the bandwidth ceiling". */
export function benchSentence(model: string, lines: readonly BenchLine[]): string {
  const measured = lines.filter((l) => l.decode);
  if (measured.length === 0) return `${model}: no decode speed could be measured`;
  const parts = measured.map((l, i) => `${formatTokPerSec(l.decode!)}${i === 0 ? ` (${speedWord(l.decode!)})` : ''} at ${l.depth < 1024 ? `${l.depth} tokens` : formatTokens(Math.round(l.depth / 1024) * 1024)}`);
  const share = measured[0]!.share;
  return `${model}: decode ${parts.join(', ')}${share ? ` — ${Math.round(share * 100)} % of the bandwidth ceiling` : ''}`;
}

/** Log table, one line per depth. */
export function benchTable(lines: readonly BenchLine[]): string[] {
  return lines.map(
    (l) =>
      `depth ${String(l.depth).padStart(6)}  decode ${l.decode ? formatTokPerSec(l.decode).padStart(11) : '          —'} (bandwidth-bound)  prefill ${l.prefill ? formatTokPerSec(l.prefill).padStart(12) : '           —'} (compute-bound)${l.ceiling ? `  ceiling ${formatTokPerSec(l.ceiling)}${l.share ? ` (${Math.round(l.share * 100)} %)` : ''}` : ''}`,
  );
}
