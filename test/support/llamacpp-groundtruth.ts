// Loads test/fixtures/groundtruth/llamacpp-groundtruth.csv (measured llama-server allocations) and the
// matching header-only GGUF files, so estimator tests can compare against real loads row by row.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DATA } from './data';
import { defaultContextOptions } from '../../src/estimator/memory';
import type { ContextOptions, KvType } from '../../src/estimator/types';

export const GROUNDTRUTH_DIR = `${DATA}/groundtruth`;
export const MIB = 1024 * 1024;

export interface GroundtruthRow {
  arch: string;
  nLayer: number;
  quant: string;
  fileBytes: number;
  nCtxActual: number;
  typeK: string;
  typeV: string;
  flashAttn: boolean;
  kvMiB: number;
  kMiB: number;
  vMiB: number;
  computeMiB: number;
  outputMiB: number;
  caseName: string;
  nSeqMax: number;
  kvUnified: boolean;
  nUbatch: number;
  extraFlags: string;
  tensorDataBytes: number;
  /** `model_buf_detail`: MiB per llama.cpp buffer type (CPU_Mapped, CPU_REPACK, CPU with `-lm none`). */
  modelBuffers: Record<string, number>;
}

/** Minimal RFC-4180 CSV parser (quoted fields with commas), enough for this file. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n') { row.push(field); rows.push(row); row = []; field = ''; }
    else if (c !== '\r') field += c;
  }
  if (field !== '' || row.length > 0) { row.push(field); rows.push(row); }
  return rows;
}

export function loadGroundtruth(): GroundtruthRow[] {
  const lines = readFileSync(join(GROUNDTRUTH_DIR, 'llamacpp-groundtruth.csv'), 'utf8')
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
  const [header, ...rows] = parseCsv(lines).filter((r) => r.length > 1);
  const col = (name: string): number => {
    const i = header!.indexOf(name);
    if (i < 0) throw new Error(`groundtruth CSV lacks column ${name}`);
    return i;
  };
  const num = (r: string[], name: string): number => Number(r[col(name)]);
  return rows.map((r) => ({
    arch: r[col('arch')]!,
    nLayer: num(r, 'n_layer'),
    quant: r[col('quant')]!,
    fileBytes: num(r, 'file_bytes'),
    nCtxActual: num(r, 'n_ctx_actual'),
    typeK: r[col('type_k')]!,
    typeV: r[col('type_v')]!,
    flashAttn: r[col('flash_attn')] !== 'disabled',
    kvMiB: num(r, 'kv_MiB'),
    kMiB: num(r, 'k_MiB'),
    vMiB: num(r, 'v_MiB'),
    computeMiB: num(r, 'compute_buf_MiB'),
    outputMiB: num(r, 'output_buf_MiB'),
    caseName: r[col('case')]!,
    nSeqMax: num(r, 'n_seq_max'),
    kvUnified: r[col('kv_unified')] === 'true',
    nUbatch: num(r, 'n_ubatch'),
    extraFlags: r[col('extra_flags')] ?? '',
    tensorDataBytes: num(r, 'tensor_data_bytes'),
    modelBuffers: Object.fromEntries((r[col('model_buf_detail')] ?? '').split(';').filter(Boolean).map((kv) => {
      const [k, v] = kv.split('=');
      return [k!, Number(v)];
    })),
  }));
}

/** Header files shipped for each architecture (gzip, metadata + tensor table only). */
export const HEADERS: Record<string, { q4km: string; f16?: string }> = {
  llama: {
    q4km: join(GROUNDTRUTH_DIR, 'gguf-headers/llama31-8b-shape-4L-Q4_K_M.header.gguf.gz'),
    f16: join(GROUNDTRUTH_DIR, 'gguf-headers/llama31-8b-shape-4L-F16.header.gguf.gz'),
  },
  qwen3moe: { q4km: join(GROUNDTRUTH_DIR, 'gguf-headers/qwen3-30b-a3b-shape-4L-Q4_K_M.header.gguf.gz') },
  gemma3: { q4km: join(GROUNDTRUTH_DIR, 'gguf-headers/gemma3-12b-shape-6L-Q4_K_M.header.gguf.gz') },
};

/** The context options llama-server ran with for this row (cells per sequence, slots, cache types, flags). */
export function contextOptionsFor(row: GroundtruthRow): ContextOptions {
  return defaultContextOptions({
    ctxPerSeq: row.nCtxActual / row.nSeqMax,
    parallel: row.nSeqMax,
    kvUnified: row.kvUnified,
    kvTypeK: row.typeK as KvType,
    kvTypeV: row.typeV as KvType,
    flashAttention: row.flashAttn,
    nUbatch: row.nUbatch,
    swaFull: row.extraFlags.includes('--swa-full'),
  });
}
