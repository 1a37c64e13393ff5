// Decode-speed prediction error on the published calibration set and on this machine's CPU llama-bench runs:
// our model (η·BW with per-layer overhead, active weights + KV at depth) next to the folk rule
// `tok/s ≈ 0.55 × bandwidth / model size` (size = all weight bytes, no depth term), in one run.
import { readFileSync } from 'node:fs';
import { SPEED_PARAMS, decodeFromBytes } from '../src/estimator/speed';
import { weightsForQuant } from '../src/estimator/weights';
import { validationRows } from '../test/support/speed-validation';
import { absPctErr, calibrationRows, cpuRows, fitGpuParams, parseCsv, predictRow, CPU_SPEED_CSV } from '../test/support/speed-calibration';

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const summary = (xs: number[]) => `mean |err| ${mean(xs).toFixed(1)} %, max ${Math.max(...xs).toFixed(1)} %`;

export async function run(): Promise<void> {
  const rows = calibrationRows();
  const ours: number[] = [];
  const rule: number[] = [];
  const loo: number[] = [];
  const out: string[] = [];
  out.push(`${'calibration row'.padEnd(60)} ${'measured'.padStart(8)} ${'ours'.padStart(7)} ${'err'.padStart(6)} ${'0.55rule'.padStart(8)} ${'err'.padStart(6)}`);
  rows.forEach((r, i) => {
    const p = predictRow(r, SPEED_PARAMS[r.hardware.backend]);
    const size = weightsForQuant(r.spec, r.quant).totalBytes;
    const folk = (0.55 * r.hardware.bandwidthGBps * 1e9) / size;
    const fit = fitGpuParams(rows.filter((_, j) => j !== i));
    const tau = fit.tau[r.hardware.backend] ?? SPEED_PARAMS[r.hardware.backend].tauMsPerLayer;
    loo.push(absPctErr(predictRow(r, { eta: fit.eta, tauMsPerLayer: tau, prefillEfficiency: 0.5 }), r.measured));
    ours.push(absPctErr(p, r.measured));
    rule.push(absPctErr(folk, r.measured));
    out.push(`${r.label.padEnd(60)} ${r.measured.toFixed(1).padStart(8)} ${p.toFixed(1).padStart(7)} ${ours[i]!.toFixed(1).padStart(5)}% ${folk.toFixed(1).padStart(8)} ${rule[i]!.toFixed(1).padStart(5)}%`);
  });
  out.push('');
  out.push(`calibration set (${rows.length} rows): ours ${summary(ours)} | leave-one-out ${summary(loo)} | 0.55 × BW / size ${summary(rule)}`);
  out.push(`  ratio of mean errors (rule / ours): ${(mean(rule) / mean(ours)).toFixed(1)}×`);

  // Out of sample: published runs never used for fitting.
  const val = validationRows();
  const vOurs = val.map((r) => absPctErr(predictRow(r, SPEED_PARAMS[r.hardware.backend]), r.measured));
  const vRule = val.map((r) => absPctErr((0.55 * r.hardware.bandwidthGBps * 1e9) / weightsForQuant(r.spec, r.quant).totalBytes, r.measured));
  out.push(`out-of-sample (${val.length} XiongjieDai rows: 3090, M2 Ultra, M3 Max, M1 Max): ours ${summary(vOurs)} | 0.55 × BW / size ${summary(vRule)}`);

  // CPU groundtruth: llama-bench on this 2-core VM with its measured streaming bandwidth.
  const cpu = cpuRows();
  const raw = parseCsv(readFileSync(CPU_SPEED_CSV, 'utf8'));
  const cOurs: number[] = [];
  const cRule: number[] = [];
  cpu.forEach((r, i) => {
    const p = decodeFromBytes({ activeWeightBytes: r.activeBytes, kvReadBytes: 0, nLayers: r.nLayers, bandwidthGBps: r.bandwidthGBps, params: SPEED_PARAMS.cpu }).decodeTokPerSec;
    const folk = (0.55 * r.bandwidthGBps * 1e9) / Number(raw[i]!.weight_bytes);
    cOurs.push(absPctErr(p, r.measured));
    cRule.push(absPctErr(folk, r.measured));
  });
  out.push(`CPU groundtruth (${cpu.length} llama-bench rows, peak ${cpu[0]!.bandwidthGBps} GB/s): ours ${summary(cOurs)} | 0.55 × BW / size ${summary(cRule)}`);
  process.stdout.write(out.join('\n') + '\n');
}
