// Loads the published decode measurements (speed-calibration.csv) and this machine's CPU llama-bench runs
// (llamacpp-cpu-speed.csv) as inputs for the speed model, with weights from the memory model (weights.ts).
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { findCatalogModel } from '../../src/estimator/catalog';
import { findHardware, type HardwareSpec } from '../../src/estimator/hardware';
import { weightsForQuant, weightsFromTensors } from '../../src/estimator/weights';
import { kvBytesReadAtDepth, decodeFromBytes, type SpeedParams } from '../../src/estimator/speed';
import { parseGgufHeader } from '../../src/gguf/parse';
import { specFromGgufMetadata } from '../../src/estimator/gguf-spec';
import type { ModelSpec } from '../../src/estimator/types';
import { DATA } from './data';

export const CALIBRATION_CSV = `${DATA}/research/speed-calibration.csv`;
export const CPU_SPEED_CSV = `${DATA}/groundtruth/llamacpp-cpu-speed.csv`;
export const HEADERS_DIR = `${DATA}/groundtruth/gguf-headers`;

/** Minimal CSV (quoted fields with commas), skipping `#` comment lines. */
export function parseCsv(text: string): Record<string, string>[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() && !l.startsWith('#'));
  const split = (l: string) => {
    const out: string[] = [];
    let cur = '';
    let q = false;
    for (const ch of l) {
      if (ch === '"') q = !q;
      else if (ch === ',' && !q) {
        out.push(cur);
        cur = '';
      } else cur += ch;
    }
    out.push(cur);
    return out;
  };
  const head = split(lines[0]!);
  return lines.slice(1).map((l) => Object.fromEntries(split(l).map((v, i) => [head[i]!, v])));
}

export interface CalRow {
  label: string;
  hardware: HardwareSpec;
  spec: ModelSpec;
  quant: string;
  depth: number;
  measured: number;
  activeBytes: number;
  kvReadBytes: number;
}

export function calibrationRows(): CalRow[] {
  return parseCsv(readFileSync(CALIBRATION_CSV, 'utf8')).map((r) => {
    const hardware = findHardware(r.hardware!)!;
    const model = findCatalogModel(r.model!)!;
    const spec = model.spec!;
    const depth = Number(r.depth);
    const w = weightsForQuant(spec, r.quant!);
    return {
      label: `${r.hardware} ${model.id.split('/')[1]} ${r.quant} @${depth}`,
      hardware,
      spec,
      quant: r.quant!,
      depth,
      measured: Number(r.decode_tok_s),
      activeBytes: w.activeBytes,
      kvReadBytes: kvBytesReadAtDepth(spec, depth),
    };
  });
}

export function predictRow(r: CalRow, params: SpeedParams): number {
  return decodeFromBytes({ activeWeightBytes: r.activeBytes, kvReadBytes: r.kvReadBytes, nLayers: r.spec.nLayers, bandwidthGBps: r.hardware.bandwidthGBps, params })
    .decodeTokPerSec;
}

export function absPctErr(pred: number, measured: number): number {
  return Math.abs(pred / measured - 1) * 100;
}

/**
 * The calibration procedure: one η shared by the GPU rows, one τ per backend, chosen by grid search
 * (η 0.50–1.00 step 0.01, τ 0–0.3 ms step 0.005) to minimise mean |% error|.
 */
export function fitGpuParams(rows: CalRow[]): { eta: number; tau: Record<string, number> } {
  const backends = [...new Set(rows.map((r) => r.hardware.backend))];
  let best = { err: Infinity, eta: 0, tau: {} as Record<string, number> };
  for (let e = 50; e <= 100; e++) {
    const eta = e / 100;
    const tau: Record<string, number> = {};
    let total = 0;
    for (const b of backends) {
      const sub = rows.filter((r) => r.hardware.backend === b);
      let bb = { err: Infinity, t: 0 };
      for (let t = 0; t <= 300; t += 5) {
        const p = { eta, tauMsPerLayer: t / 1000, prefillEfficiency: 0.5 };
        const err = sub.reduce((s, r) => s + absPctErr(predictRow(r, p), r.measured), 0);
        if (err < bb.err - 1e-9) bb = { err, t: t / 1000 };
      }
      tau[b] = bb.t;
      total += bb.err;
    }
    if (total < best.err - 1e-9) best = { err: total, eta, tau };
  }
  return { eta: best.eta, tau: best.tau };
}

export interface CpuRow {
  model: string;
  measured: number;
  bandwidthGBps: number;
  activeBytes: number;
  nLayers: number;
  csvBytesPerToken: number;
}

// Q8_0 variants have no shipped header: the same-shape header's spec with the named quant.
const HEADER_FOR: Record<string, string> = {
  'llama31-8b-shape-4L-F16.gguf': 'llama31-8b-shape-4L-F16',
  'llama31-8b-shape-4L-Q8_0.gguf': 'llama31-8b-shape-4L-F16',
  'llama31-8b-shape-4L-Q4_K_M.gguf': 'llama31-8b-shape-4L-Q4_K_M',
  'qwen3-30b-a3b-shape-4L-Q8_0.gguf': 'qwen3-30b-a3b-shape-4L-Q4_K_M',
  'qwen3-30b-a3b-shape-4L-Q4_K_M.gguf': 'qwen3-30b-a3b-shape-4L-Q4_K_M',
  'gemma3-12b-shape-6L-Q4_K_M.gguf': 'gemma3-12b-shape-6L-Q4_K_M',
};

export function cpuRows(): CpuRow[] {
  return parseCsv(readFileSync(CPU_SPEED_CSV, 'utf8')).map((r) => {
    const header = HEADER_FOR[r.model!]!;
    const h = parseGgufHeader(gunzipSync(readFileSync(`${HEADERS_DIR}/${header}.header.gguf.gz`)));
    const spec = specFromGgufMetadata(h.metadata, h.tensors, r.model!);
    const sameFile = header + '.gguf' === r.model;
    const w = sameFile ? weightsFromTensors(spec, r.quant!) : weightsForQuant({ ...spec, tensors: undefined }, r.quant!);
    return {
      model: r.model!,
      measured: Number(r.tg128_tok_s_lm_none_median),
      bandwidthGBps: Number(r.bw_peak_GBps),
      activeBytes: w.activeBytes,
      nLayers: spec.nLayers,
      csvBytesPerToken: Number(r.bytes_per_token),
    };
  });
}
