// Decode-speed prediction error on the published single-stream runs (test/fixtures/research/speed-published.csv):
// the LEGACY model (one η per backend, one τ per layer, fitted on 17 llama.cpp runs) next to the NEW speed model
// (speed-model.ts) under leave-one-model-family-out cross-validation — every row predicted by a fit that never saw
// its model family — plus how often the shown band contains the measurement and how wide it is. Also the folk rule
// `tok/s ≈ 0.55 × bandwidth / model size`, prefill, and this machine's CPU llama-bench runs.
import { readFileSync } from 'node:fs';
import { SPEED_PARAMS, decodeFromBytes } from '../src/estimator/speed';
import { allSpeedRows, type SpeedRow } from '../test/support/speed-published';
import { absPct, crossValidate, crossValidatedBands, crossValidatePrefill, metricsOf, quantile, rowStack, usableRows, type CvResult } from '../test/support/speed-fit';
import { cpuRows, parseCsv, CPU_SPEED_CSV } from '../test/support/speed-calibration';
import { bandDesignReport } from '../scripts/speed-band-check';

/** The legacy formula on a row: active weights + KV at depth, η and τ of the profile's backend. */
function legacy(r: SpeedRow): number {
  const p = SPEED_PARAMS[r.hw.backend];
  const w = r.workload;
  return decodeFromBytes({ activeWeightBytes: w.denseBytes + w.expertBytes, kvReadBytes: w.kvBytes, nLayers: w.nLayers, bandwidthGBps: r.hw.bandwidthGBps, params: p }).decodeTokPerSec;
}

const pct = (x: number) => `${x.toFixed(0)} %`;

interface Line {
  group: string;
  n: number;
  oldMed: number;
  oldP90: number;
  newMed: number;
  newP90: number;
  contains: number;
  width: number;
}

export function speedTable(): { lines: Line[]; cv: CvResult[] } {
  const rows = allSpeedRows();
  const cv = crossValidate(rows);
  const bands = crossValidatedBands(cv);
  const pub = cv.map((c, i) => ({ c, b: bands[i]! })).filter(({ c }) => c.row.origin === 'published');
  const line = (group: string, sel: typeof pub): Line => {
    const oldErr = sel.map(({ c }) => Math.abs(legacy(c.row) / c.row.measured - 1) * 100);
    const newErr = sel.map(({ c }) => absPct(c.ratio));
    return {
      group, n: sel.length,
      oldMed: quantile(oldErr, 0.5), oldP90: quantile(oldErr, 0.9), newMed: quantile(newErr, 0.5), newP90: quantile(newErr, 0.9),
      contains: sel.filter(({ b }) => b.contains).length / sel.length, width: quantile(sel.map(({ b }) => b.high / b.low), 0.5),
    };
  };
  const lines = [line('all published rows', pub)];
  for (const k of ['dense', 'moe', 'hybrid']) lines.push(line(`  ${k}`, pub.filter(({ c }) => c.row.kind === k)));
  for (const s of [...new Set(pub.map(({ c }) => rowStack(c.row)))].sort()) lines.push(line(`  ${s}`, pub.filter(({ c }) => rowStack(c.row) === s)));
  return { lines, cv };
}

export function renderTable(lines: Line[]): string {
  const head = `| rows | n | legacy median | legacy p90 | new median (CV) | new p90 (CV) | band contains | band high÷low (median) |`;
  const sep = '|---|--:|--:|--:|--:|--:|--:|--:|';
  return [head, sep, ...lines.map((l) => `| ${l.group.trim()} | ${l.n} | ${pct(l.oldMed)} | ${pct(l.oldP90)} | ${pct(l.newMed)} | ${pct(l.newP90)} | ${pct(l.contains * 100)} | ${l.width.toFixed(2)} |`)].join('\n');
}

export async function run(): Promise<void> {
  const out: string[] = [];
  const { lines, cv } = speedTable();
  out.push('decode |error| on published single-stream runs — legacy model vs the new one (leave-one-model-family-out)');
  out.push(renderTable(lines));
  const maxOver = Math.max(...cv.map((c) => c.pred / c.ceiling));
  out.push(`highest prediction ÷ bandwidth ceiling: ${maxOver.toFixed(3)} (must stay ≤ 1)`);
  const excluded = allSpeedRows().filter((r) => r.excluded);
  out.push(`excluded: ${excluded.length} rows — ${[...new Set(excluded.map((r) => r.excluded))].join('; ')}`);
  // What the launch-build factor changes: the same fit and CV with those runs treated as mature builds.
  const launch = allSpeedRows().filter((r) => r.launch && !r.excluded);
  const mature = crossValidate(allSpeedRows().map(({ launch: _l, ...r }) => r));
  const mm = metricsOf(mature, crossValidatedBands(mature));
  out.push(`launch-build runs (${launch.length}): ${[...new Set(launch.map((r) => `${r.label.split(' @')[0]} — day ${r.launch!.days}: ${r.launch!.why}`))].join('; ')}`);
  out.push('', 'how the band was chosen (scripts/speed-band-check.ts):', ...bandDesignReport(cv), '');
  out.push(`without the launch-build factor (those runs taken as mature builds): median ${pct(mm.median)}, p90 ${pct(mm.p90)}, hybrid median ${pct(mm.byKind.hybrid!.median)}, band contains ${pct(mm.coverage * 100)}, high÷low ${mm.medianHighOverLow.toFixed(2)}`);

  // Folk rule on the same published rows (size = all weights, no depth term).
  const pub = usableRows(allSpeedRows()).filter((r) => r.origin === 'published');
  const rule = pub.map((r) => {
    const size = (r.workload.denseBytes + r.workload.expertBytes) * (r.spec.totalParams / r.spec.activeParams);
    return Math.abs((0.55 * r.hw.bandwidthGBps * 1e9) / size / r.measured - 1) * 100;
  });
  out.push(`0.55 × BW / model size on the same rows: median ${pct(quantile(rule, 0.5))}, p90 ${pct(quantile(rule, 0.9))}`);

  // Prefill: share of FP16 peak per engine stack, learned without the row's family.
  const p = crossValidatePrefill(allSpeedRows());
  const pe = p.map((x) => absPct(x.ratio));
  const pubN = p.filter((x) => x.row.origin === 'published').length;
  out.push(`prefill (${p.length} prompt-processing runs: ${pubN} published + ${p.length - pubN} XiongjieDai pp512; CV): median ${pct(quantile(pe, 0.5))}, p90 ${pct(quantile(pe, 0.9))}; stacks without runs: ±50 %`);

  // CPU groundtruth: llama-bench on this 2-core VM with its measured streaming bandwidth (legacy η_cpu).
  const cpu = cpuRows();
  const raw = parseCsv(readFileSync(CPU_SPEED_CSV, 'utf8'));
  const cOurs = cpu.map((r) => Math.abs(decodeFromBytes({ activeWeightBytes: r.activeBytes, kvReadBytes: 0, nLayers: r.nLayers, bandwidthGBps: r.bandwidthGBps, params: SPEED_PARAMS.cpu }).decodeTokPerSec / r.measured - 1) * 100);
  const cRule = cpu.map((r, i) => Math.abs((0.55 * r.bandwidthGBps * 1e9) / Number(raw[i]!.weight_bytes) / r.measured - 1) * 100);
  out.push(`CPU groundtruth (${cpu.length} llama-bench rows on this VM): legacy η_cpu median ${pct(quantile(cOurs, 0.5))} | 0.55 rule median ${pct(quantile(cRule, 0.5))}`);
  process.stdout.write(out.join('\n') + '\n');
}
