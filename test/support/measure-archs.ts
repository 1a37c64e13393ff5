// Records real llama-server allocations for the zero-weight architecture models in arch-models.ts.
// Run (needs the llama-server built by scripts/build-llama-server.mjs):
//   node --import tsx test/support/measure-archs.ts
// Writes test/estimator/fixtures/measured-archs.json: per load the exact flags and the memory lines
// llama.cpp printed (model/KV/compute/output buffers), which measured-archs.test.ts compares against.
import { mkdirSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { parseGgufHeader } from '../../src/gguf/parse';
import { join, resolve } from 'node:path';
import { deepseek2Lite, gptOss20b, qwen3Next } from './arch-models';
import { startLlamaServer, llamaServerAvailable } from './llama-server';

const MiB = 1024 * 1024;
const ROOT = resolve(__dirname, '..', '..');
const CACHE = join(ROOT, '.cache', 'arch-models');
const FIXTURES = join(ROOT, 'test', 'estimator', 'fixtures');

const MODELS: Record<string, () => Buffer> = {
  'deepseek2-lite-3L': () => deepseek2Lite(3),
  'gpt-oss-20b-2L': () => gptOss20b(2),
  'qwen3next-80b-4L': () => qwen3Next(4),
};

const CONFIGS: { name: string; ctx: number; parallel: number; extra: string[] }[] = [
  { name: 'c4096-np1', ctx: 4096, parallel: 1, extra: [] },
  { name: 'c16384-np1', ctx: 16384, parallel: 1, extra: [] },
  { name: 'c16384-np1-fa-off', ctx: 16384, parallel: 1, extra: ['-fa', 'off'] },
  { name: 'c16384-np4', ctx: 16384, parallel: 4, extra: [] },
  { name: 'c16384-np4-kvu', ctx: 16384, parallel: 4, extra: ['--kv-unified'] },
  { name: 'c16384-np1-kvq8', ctx: 16384, parallel: 1, extra: ['-ctk', 'q8_0', '-ctv', 'q8_0'] },
  { name: 'c65536-np1', ctx: 65536, parallel: 1, extra: [] },
];

export interface MeasuredLoad {
  model: string;
  config: string;
  flags: string;
  /** File size minus header: the weights as a GPU backend holds them. */
  tensorDataBytes: number;
  nCtx: number;
  nSeqMax: number;
  kvUnified: boolean;
  flashAttn: boolean;
  typeK: string;
  typeV: string;
  nUbatch: number;
  kvMiB: number;
  /** Recurrent (linear-attention / SSM) state, `llama_memory_recurrent: size = ...` (0 if none). */
  recurrentMiB: number;
  computeMiB: number;
  outputMiB: number;
  modelMiB: number;
  lines: string[];
}

function parse(log: string): Omit<MeasuredLoad, 'model' | 'config' | 'flags' | 'tensorDataBytes'> {
  const num = (re: RegExp): number => Number(re.exec(log)?.[1] ?? NaN);
  const sum = (re: RegExp): number => [...log.matchAll(re)].reduce((s, m) => s + Number(m[1]), 0);
  const kvLines = [...log.matchAll(/llama_kv_cache: size =\s*([\d.]+) MiB.*K \((\w+)\).*V \((\w+)\)/g)];
  const fa = /resolve_fused_ops: Flash Attention (enabled|disabled)/.exec(log)?.[1] ?? /flash_attn\s*=\s*(\w+)/.exec(log)?.[1];
  const keep = log.split('\n').filter((l) => /llama_kv_cache|llama_memory_recurrent|compute buffer size|output buffer size|model buffer size|n_ctx|n_seq_max|kv_unified|n_ubatch|Flash Attention/.test(l));
  return {
    nCtx: num(/llama_context: n_ctx\s*=\s*(\d+)/),
    nSeqMax: num(/llama_context: n_seq_max\s*=\s*(\d+)/),
    kvUnified: /llama_context: kv_unified\s*=\s*true/.test(log),
    flashAttn: fa === 'enabled',
    typeK: kvLines[0]?.[2] ?? '',
    typeV: kvLines[0]?.[3] ?? '',
    nUbatch: num(/llama_context: n_ubatch\s*=\s*(\d+)/),
    kvMiB: kvLines.reduce((s, m) => s + Number(m[1]), 0),
    recurrentMiB: num(/llama_memory_recurrent: size =\s*([\d.]+) MiB/) || 0,
    computeMiB: sum(/compute buffer size =\s*([\d.]+) MiB/g),
    outputMiB: sum(/output buffer size =\s*([\d.]+) MiB/g),
    modelMiB: sum(/model buffer size =\s*([\d.]+) MiB/g),
    lines: keep.map((l) => l.replace(/^[\d.]+ \w /, '')),
  };
}

async function main(): Promise<void> {
  const a = llamaServerAvailable();
  if (!a.ok) throw new Error(a.reason);
  mkdirSync(CACHE, { recursive: true });
  mkdirSync(FIXTURES, { recursive: true });
  const out: MeasuredLoad[] = [];
  for (const [model, build] of Object.entries(MODELS)) {
    const file = join(CACHE, `${model}.gguf`);
    if (!existsSync(file)) writeFileSync(file, build());
    // Keep the header (metadata + tensor table) as a small fixture: the estimator reads only that.
    const bytes = readFileSync(file);
    const { tensorDataOffset } = parseGgufHeader(new Uint8Array(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 64 << 20)), { available: bytes.length });
    writeFileSync(join(FIXTURES, `${model}.header.gguf.gz`), gzipSync(bytes.subarray(0, tensorDataOffset)));
    const tensorDataBytes = bytes.length - tensorDataOffset;
    process.stdout.write(`${model}: file ${bytes.length} bytes, tensor data ${tensorDataBytes}\n`);
    for (const c of CONFIGS) {
      const server = await startLlamaServer({ model: file, ctx: c.ctx, parallel: c.parallel, extraArgs: c.extra, readyTimeoutMs: 180_000 });
      try {
        const log = server.log();
        const m = parse(log);
        out.push({ model, config: c.name, flags: `-c ${c.ctx} -np ${c.parallel} ${c.extra.join(' ')}`.trim(), tensorDataBytes, ...m });
        process.stdout.write(`${model} ${c.name}: kv ${m.kvMiB} compute ${m.computeMiB} output ${m.outputMiB} model ${m.modelMiB} MiB\n`);
      } finally {
        await server.stop();
      }
    }
  }
  const dest = join(FIXTURES, 'measured-archs.json');
  writeFileSync(dest, JSON.stringify({ llamaCpp: 'v0.5.0 de3ff815ea7d (node-llama-cpp 3.22.1 source bundle), CPU build', MiB, loads: out }, null, 1) + '\n');
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
