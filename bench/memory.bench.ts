// Memory estimate vs llama.cpp's measured allocation (test/fixtures/groundtruth), next to node-llama-cpp's own
// estimates for the same files (GgufInsights: the v1 heuristic and the v2 no-alloc llama.cpp simulation),
// and GGUF header parsing speed of our reader vs @huggingface/gguf and node-llama-cpp on the same files.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readGgufHeader } from '../src/gguf/read';
import { specFromGgufMetadata } from '../src/estimator/gguf-spec';
import { weightsForQuant, weightsFromTensors } from '../src/estimator/weights';
import { defaultContextOptions, estimateMemory } from '../src/estimator/memory';
import type { KvType, ModelSpec } from '../src/estimator/types';
import type { GgufInsights } from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import { HEADERS, MIB, contextOptionsFor, loadGroundtruth, type GroundtruthRow } from '../test/support/llamacpp-groundtruth';
import type { MeasuredLoad } from '../test/support/measure-archs';

interface Stats {
  n: number;
  sumAbs: number;
  max: number;
}
const stats = (): Stats => ({ n: 0, sumAbs: 0, max: 0 });
function add(s: Stats, errPct: number): void {
  s.n++;
  s.sumAbs += Math.abs(errPct);
  s.max = Math.max(s.max, Math.abs(errPct));
}
const fmt = (s: Stats): string => (s.n ? `mean |err| ${(s.sumAbs / s.n).toFixed(2)} %, max ${s.max.toFixed(2)} % (n=${s.n})` : 'n/a');

function headerFor(row: GroundtruthRow): string | undefined {
  const h = HEADERS[row.arch];
  if (row.quant === 'Q4_K_M') return h?.q4km;
  if (row.quant === 'F16') return h?.f16;
  return undefined;
}

export async function run(): Promise<void> {
  const rows = loadGroundtruth();
  const dir = mkdtempSync(join(tmpdir(), 'headroom-bench-'));
  // Plain (un-gzipped) copies: node-llama-cpp and @huggingface/gguf read files from disk.
  const plain = new Map<string, string>();
  for (const files of Object.values(HEADERS)) {
    for (const gz of [files.q4km, files.f16].filter((x): x is string => Boolean(x))) {
      const p = join(dir, gz.split('/').pop()!.replace(/\.gz$/, ''));
      writeFileSync(p, gunzipSync(readFileSync(gz)));
      plain.set(gz, p);
    }
  }

  const nlc = await import('node-llama-cpp').catch(() => undefined);
  const llama = nlc ? await nlc.getLlama({ gpu: false, build: 'never', logLevel: nlc.LlamaLogLevel.error }).catch(() => undefined) : undefined;

  const ours = stats();
  const oursHeaderOnly = stats();
  // CPU process memory: the model buffers llama.cpp logged (mapped range + CPU_REPACK copy) + KV + compute + output.
  const cpuWith = stats();
  const cpuWithout = stats();
  const v1 = stats();
  const v2 = stats();
  const specs = new Map<string, ModelSpec>();
  const insights = new Map<string, GgufInsights>();
  const lines: string[] = [];
  for (const row of rows) {
    const q4 = HEADERS[row.arch]!.q4km;
    const header = headerFor(row);
    const specPath = header ?? q4;
    let spec = specs.get(specPath);
    if (!spec) {
      const h = await readGgufHeader(specPath);
      spec = specFromGgufMetadata(h.metadata, h.tensors, specPath);
      specs.set(specPath, spec);
    }
    const weights = header ? weightsFromTensors(spec, row.quant) : weightsForQuant(spec, row.quant);
    const ctx = contextOptionsFor(row);
    const truth = row.tensorDataBytes + (row.kvMiB + row.computeMiB + row.outputMiB) * MIB;
    const est = estimateMemory(spec, weights, ctx).totalBytes;
    const e = (100 * (est - truth)) / truth;
    add(ours, e);
    if (header) {
      const cpuTruth = (Object.values(row.modelBuffers).reduce((a, b) => a + b, 0) + row.kvMiB + row.computeMiB + row.outputMiB) * MIB;
      const withCopy = estimateMemory(spec, weights, { ...ctx, cpuBuffers: { isa: 'x86-avx512', amx: false, mmap: !/-lm none/.test(row.extraFlags) } }).totalBytes;
      add(cpuWith, (100 * (withCopy - cpuTruth)) / cpuTruth);
      add(cpuWithout, (100 * (est - cpuTruth)) / cpuTruth);
    }
    let cells = `${row.caseName.padEnd(36)} truth ${(truth / MIB).toFixed(1).padStart(8)} MiB  ours ${e.toFixed(2).padStart(6)} %`;
    if (header && nlc) {
      add(oursHeaderOnly, e);
      let ins = insights.get(header);
      if (!ins) {
        const info = await nlc.readGgufFileInfo(plain.get(header)!);
        ins = await nlc.GgufInsights.from(info, llama);
        insights.set(header, ins);
      }
      const kvType = (t: string): number => ({ f16: 1, q8_0: 8, q4_0: 2 })[t] ?? 1;
      const opts = {
        contextSize: row.nCtxActual / row.nSeqMax,
        modelGpuLayers: 0,
        batchSize: row.nUbatch,
        sequences: row.nSeqMax,
        flashAttention: row.flashAttn,
        swaFullCache: ctx.swaFull,
        kvCacheKeyType: kvType(row.typeK),
        kvCacheValueType: kvType(row.typeV),
      };
      const model = ins.modelSize;
      const c1 = ins.estimateContextResourceRequirements(opts);
      const e1 = (100 * (model + c1.cpuRam + c1.gpuVram - truth)) / truth;
      add(v1, e1);
      cells += `  nlc-v1 ${e1.toFixed(2).padStart(6)} %`;
      if (llama) {
        const c2 = await ins.estimateContextResourceRequirementsV2(opts).catch(() => undefined);
        if (c2) {
          const e2 = (100 * (model + c2.cpuRam + c2.gpuVram - truth)) / truth;
          add(v2, e2);
          cells += `  nlc-v2 ${e2.toFixed(2).padStart(6)} %`;
        }
      }
    }
    lines.push(cells);
  }
  // Architectures measured on the real llama-server here (MLA, gpt-oss SWA + MXFP4, Qwen3-Next hybrid).
  const fixtures = join(__dirname, '..', 'test', 'estimator', 'fixtures');
  const extra = JSON.parse(readFileSync(join(fixtures, 'measured-archs.json'), 'utf8')) as { loads: MeasuredLoad[] };
  const oursExtra = stats();
  const v1Extra = stats();
  const v2Extra = stats();
  for (const l of extra.loads) {
    const gz = join(fixtures, `${l.model}.header.gguf.gz`);
    let spec = specs.get(gz);
    if (!spec) {
      const h = await readGgufHeader(gz);
      spec = specFromGgufMetadata(h.metadata, h.tensors, gz);
      specs.set(gz, spec);
      const p = join(dir, `${l.model}.header.gguf`);
      writeFileSync(p, gunzipSync(readFileSync(gz)));
      plain.set(gz, p);
    }
    const ctx = defaultContextOptions({
      ctxPerSeq: l.nCtx / l.nSeqMax, parallel: l.nSeqMax, kvUnified: l.kvUnified, flashAttention: l.flashAttn,
      kvTypeK: l.typeK as KvType, kvTypeV: l.typeV as KvType, nUbatch: l.nUbatch,
    });
    const truth = l.tensorDataBytes + (l.kvMiB + l.recurrentMiB + l.computeMiB + l.outputMiB) * MIB;
    const e = (100 * (estimateMemory(spec, weightsFromTensors(spec, 'mixed'), ctx).totalBytes - truth)) / truth;
    add(oursExtra, e);
    let cells = `${(l.model + ' ' + l.config).padEnd(36)} truth ${(truth / MIB).toFixed(1).padStart(8)} MiB  ours ${e.toFixed(2).padStart(6)} %`;
    if (nlc) {
      let ins = insights.get(gz);
      if (!ins) {
        ins = await nlc.GgufInsights.from(await nlc.readGgufFileInfo(plain.get(gz)!), llama);
        insights.set(gz, ins);
      }
      const opts = {
        contextSize: l.nCtx / l.nSeqMax, modelGpuLayers: 0, batchSize: l.nUbatch, sequences: l.nSeqMax, flashAttention: l.flashAttn,
        kvCacheKeyType: l.typeK === 'q8_0' ? 8 : 1, kvCacheValueType: l.typeV === 'q8_0' ? 8 : 1,
      };
      const c1 = ins.estimateContextResourceRequirements(opts);
      const e1 = (100 * (ins.modelSize + c1.cpuRam + c1.gpuVram - truth)) / truth;
      add(v1Extra, e1);
      cells += `  nlc-v1 ${e1.toFixed(2).padStart(6)} %`;
      const c2 = llama ? await ins.estimateContextResourceRequirementsV2(opts).catch(() => undefined) : undefined;
      if (c2) {
        const e2 = (100 * (ins.modelSize + c2.cpuRam + c2.gpuVram - truth)) / truth;
        add(v2Extra, e2);
        cells += `  nlc-v2 ${e2.toFixed(2).padStart(6)} %`;
      }
    }
    lines.push(cells);
  }
  process.stdout.write(`${lines.join('\n')}\n\n`);
  process.stdout.write(`total memory vs llama.cpp measured (weights + KV + compute + output):\n`);
  process.stdout.write(`  headroom, all ${rows.length} rows:            ${fmt(ours)}\n`);
  process.stdout.write(`  headroom, rows with a header file:   ${fmt(oursHeaderOnly)}\n`);
  process.stdout.write(`  node-llama-cpp v1 (heuristic):       ${fmt(v1)}\n`);
  process.stdout.write(`  node-llama-cpp v2 (no-alloc sim):    ${fmt(v2)}\n`);
  process.stdout.write(`CPU backend process total (logged model buffers incl. CPU_REPACK + KV + compute + output), rows with a header:\n`);
  process.stdout.write(`  headroom with the repack copy:       ${fmt(cpuWith)}\n`);
  process.stdout.write(`  headroom without it (GPU-style):     ${fmt(cpuWithout)}\n`);
  process.stdout.write(`MLA / gpt-oss / Qwen3-Next loads measured here (test/estimator/fixtures/measured-archs.json):\n`);
  process.stdout.write(`  headroom:                            ${fmt(oursExtra)}\n`);
  process.stdout.write(`  node-llama-cpp v1 (heuristic):       ${fmt(v1Extra)}\n`);
  process.stdout.write(`  node-llama-cpp v2 (no-alloc sim):    ${fmt(v2Extra)}\n`);

  // Header parsing speed: same plain files, each reader timed in this run.
  const { gguf } = await import('@huggingface/gguf');
  const files = [...plain.values()];
  const time = async (fn: (p: string) => Promise<unknown>): Promise<number> => {
    for (const f of files) await fn(f); // warm-up
    const t0 = performance.now();
    const reps = 3;
    for (let r = 0; r < reps; r++) for (const f of files) await fn(f);
    return (performance.now() - t0) / (reps * files.length);
  };
  const tOurs = await time((p) => readGgufHeader(p));
  const tHf = await time((p) => gguf(p, { allowLocalFile: true }));
  const tNlc = nlc ? await time((p) => nlc.readGgufFileInfo(p)) : NaN;
  process.stdout.write(`\nGGUF header read (${files.length} header-only files, ${(files.reduce((s, f) => s + readFileSync(f).length, 0) / MIB).toFixed(1)} MiB):\n`);
  process.stdout.write(`  headroom readGgufHeader      ${tOurs.toFixed(1)} ms/file (1.00×)\n`);
  process.stdout.write(`  @huggingface/gguf            ${tHf.toFixed(1)} ms/file (${(tHf / tOurs).toFixed(2)}× ours)\n`);
  process.stdout.write(`  node-llama-cpp readGgufFileInfo ${tNlc.toFixed(1)} ms/file (${(tNlc / tOurs).toFixed(2)}× ours)\n`);
  await llama?.dispose();
}
