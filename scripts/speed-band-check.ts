// How the decode error band was chosen (src/estimator/speed-band.ts), and the check that the choice is not luck.
// Every design below is scored on the same leave-one-model-family-out errors: each published run's band is built
// only from other families' errors. The score is the interval score for a central 75 % band (Gneiting & Raftery
// 2007, in log space): width plus 8× any miss — a proper scoring rule, so neither a too-wide nor a too-narrow band
// can win. Then the whole choice is nested: for each family, the design is picked on the other families only and
// judged on the held-out one. Run: npx tsx scripts/speed-band-check.ts
import { allSpeedRows } from '../test/support/speed-published';
import { crossValidate, crossValidatedBands, metricsOf, quantile, rowStack, type CvResult } from '../test/support/speed-fit';
import { MIN_STACK_RUNS } from '../src/estimator/speed-model';
import { THIN_STACK_WIDEN } from '../src/estimator/speed-band';

type Band = [low: number, high: number];
interface Design {
  name: string;
  band(c: CvResult, pool: CvResult[]): Band;
}

const ALPHA = 0.25;
/** Logs of the q and 1 − q quantiles of measured ÷ predicted (taken on the ratios, as the fit does). */
const logQ = (sel: CvResult[], q: number): [number, number] => {
  const r = sel.map((x) => x.ratio);
  return [Math.log(quantile(r, q)), Math.log(quantile(r, 1 - q))];
};
const unseen = (c: CvResult, pool: CvResult[]) => !pool.some((x) => x.row.spec.arch === c.row.spec.arch);

/** Multipliers → tok/s, never above the ceiling, always containing the prediction; a launch build reaches up to mature. */
function finish(c: CvResult, lo: number, hi: number, widen: number): Band {
  const low = Math.min(c.pred, c.pred * Math.exp(lo * widen));
  let high = Math.max(c.pred, Math.min(c.ceiling, c.pred * Math.exp(hi * widen)));
  if (c.launch < 1) high = Math.max(high, Math.min(c.ceiling, c.pred / c.launch));
  return [low, high];
}

export const designs: Design[] = [];
// Before: per kind × stack spread (central 70 %), shrunk toward the kind's and then all runs' by n : K, widened by
// 1 + 1/√(n + K) and ×1.25 for an unseen architecture. K = 20 was the shipped value.
for (const K of [5, 10, 20, 40, 80, 160, 320]) {
  designs.push({
    name: `per kind × stack, shrunk K=${K}${K === 20 ? ' (before)' : ''}`,
    band(c, pool) {
      let [lo, hi] = logQ(pool, 0.15);
      const kind = pool.filter((x) => x.row.kind === c.row.kind);
      const own = kind.filter((x) => rowStack(x.row) === rowStack(c.row));
      for (const g of [kind, own]) {
        if (!g.length) continue;
        const [l, u] = logQ(g, 0.15);
        const w = g.length / (g.length + K);
        lo = w * l + (1 - w) * lo;
        hi = w * u + (1 - w) * hi;
      }
      return finish(c, lo, hi, (1 + 1 / Math.sqrt(own.length + K)) * (unseen(c, pool) ? 1.25 : 1));
    },
  });
}
// Pooled: one spread from all runs, central 70 or 75 %, optionally widened for an unseen architecture and for thin
// data (a kind × stack with < 5 runs, or a stack with fewer runs than the fit needs to pin its own terms).
for (const central of [0.7, 0.75])
  for (const unseenWiden of [1, 1.25])
    for (const thin of ['none', 'kind×stack < 5', `stack < ${MIN_STACK_RUNS}`] as const) {
      designs.push({
        name: `pooled ${central * 100} %, unseen ×${unseenWiden}, thin: ${thin}${central === 0.75 && unseenWiden === 1 && thin.startsWith('stack') ? ' (shipped)' : ''}`,
        band(c, pool) {
          const [lo, hi] = logQ(pool, (1 - central) / 2);
          const sameStack = pool.filter((x) => rowStack(x.row) === rowStack(c.row));
          const isThin = thin === 'none' ? false : thin === 'kind×stack < 5' ? sameStack.filter((x) => x.row.kind === c.row.kind).length < 5 : sameStack.length < MIN_STACK_RUNS;
          return finish(c, lo, hi, (unseen(c, pool) ? unseenWiden : 1) * (isThin ? THIN_STACK_WIDEN : 1));
        },
      });
    }

function intervalScore(c: CvResult, [low, high]: Band): number {
  const [l, u, y] = [Math.log(low), Math.log(high), Math.log(c.row.measured)];
  return u - l + (2 / ALPHA) * (Math.max(0, l - y) + Math.max(0, y - u));
}
const contains = (c: CvResult, [low, high]: Band) => c.row.measured >= low * 0.999 && c.row.measured <= high * 1.001;
export const published = (xs: CvResult[]) => xs.filter((c) => c.row.origin === 'published');

/** Mean interval score, coverage and median high ÷ low of a design over `judged`, each band from `pool` minus its family. */
export function score(d: Design, judged: CvResult[], pool: CvResult[]) {
  const bands = judged.map((c) => [c, d.band(c, pool.filter((x) => x.row.family !== c.row.family))] as const);
  return {
    is: bands.reduce((s, [c, b]) => s + intervalScore(c, b), 0) / bands.length,
    coverage: bands.filter(([c, b]) => contains(c, b)).length / bands.length,
    width: quantile(bands.map(([, b]) => b[1] / b[0]), 0.5),
  };
}

/** The design table, the shipped rule through the product's own code, and the nested check, as markdown lines. */
export function bandDesignReport(cv: CvResult[]): string[] {
  const out: string[] = ['| band design (leave-one-family-out) | interval score | contains | median high÷low |', '|---|--:|--:|--:|'];
  for (const d of designs) {
    const s = score(d, published(cv), cv);
    out.push(`| ${d.name} | ${s.is.toFixed(3)} | ${(s.coverage * 100).toFixed(1)} % | ${s.width.toFixed(2)} |`);
  }
  // The shipped rule, through the product's own code, must agree with its line above.
  const m = metricsOf(cv, crossValidatedBands(cv));
  out.push('', `shipped rule through speed-band.ts: contains ${(m.coverage * 100).toFixed(1)} %, median high÷low ${m.medianHighOverLow.toFixed(2)}`);
  // Nested: pick the design with the best interval score on the other families, judge it on the held-out one.
  const picks = new Map<string, number>();
  const held: { c: CvResult; b: Band }[] = [];
  const families = [...new Set(cv.map((c) => c.row.family))].sort();
  for (const f of families) {
    const inner = cv.filter((c) => c.row.family !== f);
    const best = designs.map((d) => ({ d, s: score(d, published(inner), inner).is })).sort((a, b) => a.s - b.s)[0]!.d;
    picks.set(best.name, (picks.get(best.name) ?? 0) + 1);
    for (const c of published(cv.filter((x) => x.row.family === f))) held.push({ c, b: best.band(c, inner) });
  }
  const cov = held.filter((h) => contains(h.c, h.b)).length / held.length;
  out.push(`nested (design picked by interval score without the held-out family, over ${families.length} families): contains ${(cov * 100).toFixed(1)} %, median high÷low ${quantile(held.map((h) => h.b[1] / h.b[0]), 0.5).toFixed(2)}; picked ${[...picks].map(([k, v]) => `${k} ×${v}`).join(', ')}`);
  return out;
}

if (require.main === module) process.stdout.write(bandDesignReport(crossValidate(allSpeedRows())).join('\n') + '\n');
