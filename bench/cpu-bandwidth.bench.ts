// Measured CPU bandwidth (issue 12, step 6): what Headroom's streaming-read probe reports on this machine, next to
// a one-thread run of the same probe (the peer, same run) and to what llama.cpp's CPU decode achieves here
// (bytes per token × tok/s from test/fixtures/groundtruth/llamacpp-cpu-speed.csv), and the decode error the speed
// model makes with the measured figure vs the old 85 GB/s assumption.
import { readFileSync } from 'node:fs';
import { SPEED_PARAMS, decodeFromBytes } from '../src/estimator/speed';
import { measureCpuBandwidth } from '../src/providers/cpu-bandwidth';
import { absPctErr, cpuRows, parseCsv, CPU_SPEED_CSV } from '../test/support/speed-calibration';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export async function run(): Promise<void> {
  const all: number[] = [];
  const one: number[] = [];
  const ms: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    all.push((await measureCpuBandwidth()).gbps);
    ms.push(performance.now() - t0);
    one.push((await measureCpuBandwidth({ threads: 1 })).gbps);
  }
  const bw = median(all);
  const out: string[] = [];
  out.push(`probe, all cores: ${all.join(', ')} GB/s (median ${bw}); wall ${ms.map((m) => m.toFixed(0)).join(', ')} ms per measurement`);
  out.push(`probe, 1 thread (peer): ${one.join(', ')} GB/s (median ${median(one)}); all cores ÷ 1 thread = ${(bw / median(one)).toFixed(2)}×`);

  const raw = parseCsv(readFileSync(CPU_SPEED_CSV, 'utf8'));
  const rows = cpuRows();
  const errMeasured: number[] = [];
  const errAssumed: number[] = [];
  out.push('', `${'llama.cpp CPU decode (tg128, -lm none)'.padEnd(40)} ${'tok/s'.padStart(6)} ${'implied GB/s'.padStart(12)} ${'÷ probe'.padStart(8)} ${'pred@probe'.padStart(10)} ${'pred@85'.padStart(8)}`);
  rows.forEach((r, i) => {
    const implied = Number(raw[i]!.implied_GBps_lm_none);
    const at = (gbps: number) => decodeFromBytes({ activeWeightBytes: r.activeBytes, kvReadBytes: 0, nLayers: r.nLayers, bandwidthGBps: gbps, params: SPEED_PARAMS.cpu }).decodeTokPerSec;
    const pm = at(bw);
    const pa = at(85);
    errMeasured.push(absPctErr(pm, r.measured));
    errAssumed.push(absPctErr(pa, r.measured));
    out.push(`${r.model.padEnd(40)} ${r.measured.toFixed(1).padStart(6)} ${implied.toFixed(1).padStart(12)} ${(implied / bw).toFixed(2).padStart(8)} ${pm.toFixed(1).padStart(10)} ${pa.toFixed(1).padStart(8)}`);
  });
  out.push('', `decode error with the probe's ${bw} GB/s: mean |err| ${mean(errMeasured).toFixed(1)} %, max ${Math.max(...errMeasured).toFixed(1)} % | with the assumed 85 GB/s: mean ${mean(errAssumed).toFixed(1)} %, max ${Math.max(...errAssumed).toFixed(1)} %`);
  out.push('(the llama.cpp rows were recorded on this VM earlier; the probe runs now, on a machine shared with other work)');
  process.stdout.write(out.join('\n') + '\n');
}
