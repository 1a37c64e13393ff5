// llama.cpp's CPU model buffers (CPU_Mapped, CPU_REPACK, AMX), each checked against what real llama-server
// loads logged — on the machine that ran them, whatever CPU this test runs on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readGgufHeader } from '../../src/gguf/read';
import { specFromGgufMetadata } from '../../src/estimator/gguf-spec';
import { cpuBufferOf, cpuBuffers, cpuCopyBytes, cpuFeaturesFromFlags, type CpuBufferFeatures } from '../../src/estimator/cpu-buffers';
import { weightsFromTensors } from '../../src/estimator/weights';
import { defaultContextOptions, estimateMemory } from '../../src/estimator/memory';
import { evaluate } from '../../src/estimator/fit';
import { findHardware } from '../../src/estimator/hardware';
import { parseCpuFlags } from '../../src/providers/cpu-flags';
import { GROUNDTRUTH_DIR, HEADERS, MIB, loadGroundtruth } from '../support/llamacpp-groundtruth';
import { DATA } from '../support/data';
import { TINY_DEFAULTS, tinyModelPath } from '../support/tiny-model';
import { parseMemoryLog } from '../support/llama-server';

async function tensorsOf(path: string) {
  const h = await readGgufHeader(path);
  return specFromGgufMetadata(h.metadata, h.tensors, path);
}

/** Logged MiB have 2 decimals; the bar is 1 %. */
function near(estBytes: number, loggedMiB: number, what: string): void {
  const est = estBytes / MIB;
  assert.ok(Math.abs(est - loggedMiB) <= Math.max(0.0051, loggedMiB * 0.01), `${what}: estimate ${est.toFixed(3)} MiB vs logged ${loggedMiB} MiB`);
}

const AVX512: CpuBufferFeatures = { isa: 'x86-avx512', amx: false };

test('ground truth (AVX-512, no AMX): CPU_Mapped and CPU_REPACK of every load match their own estimates', async () => {
  const csv = readFileSync(join(GROUNDTRUTH_DIR, 'llamacpp-groundtruth.csv'), 'utf8');
  let checked = 0;
  for (const row of loadGroundtruth()) {
    const files = HEADERS[row.arch];
    const path = row.quant === 'Q4_K_M' ? files?.q4km : row.quant === 'F16' ? files?.f16 : undefined;
    if (!path) continue;
    const line = csv.split('\n').find((l) => l.includes(`,${row.caseName},`))!;
    const logged = Object.fromEntries([...line.matchAll(/(CPU_Mapped|CPU_REPACK|AMX|CPU)=([\d.]+)/g)].map((m) => [m[1]!, Number(m[2])]));
    const b = cpuBuffers((await tensorsOf(path)).tensors!, AVX512);
    // `-lm none` loads into a plain CPU buffer (what stayed, no file range); otherwise the mapped range.
    if (logged.CPU !== undefined) near(b.tensorBytes - b.repackBytes, logged.CPU, `${row.caseName} CPU`);
    else near(b.mappedBytes!, logged.CPU_Mapped!, `${row.caseName} CPU_Mapped`);
    near(b.repackBytes, logged.CPU_REPACK ?? 0, `${row.caseName} CPU_REPACK`);
    assert.equal(b.amxBytes, 0);
    checked++;
  }
  assert.ok(checked >= 20, `only ${checked} loads checked`);
});

test('MLA, gpt-oss (MXFP4 experts) and Qwen3-Next loads: both buffers match, expert stacks repacked too', async () => {
  const fixtures = join(__dirname, 'fixtures');
  const { loads } = JSON.parse(readFileSync(join(fixtures, 'measured-archs.json'), 'utf8')) as { loads: { model: string; lines: string[] }[] };
  const seen = new Set<string>();
  for (const l of loads) {
    if (seen.has(l.model)) continue;
    seen.add(l.model);
    const logged = parseMemoryLog(l.lines.join('\n')).modelBuffers;
    const b = cpuBuffers((await tensorsOf(join(fixtures, `${l.model}.header.gguf.gz`))).tensors!, AVX512);
    near(b.mappedBytes!, logged.CPU_Mapped! / MIB, `${l.model} CPU_Mapped`);
    near(b.repackBytes, logged.CPU_REPACK! / MIB, `${l.model} CPU_REPACK`);
  }
  assert.equal(seen.size, 3);
});

test('AMX CPU (recorded buffer log): the tiny F16 model goes to the AMX buffer, CPU_Mapped shrinks to what stayed', async () => {
  const logged = parseMemoryLog(readFileSync(join(DATA, 'llamacpp-buffers', 'amx-tiny-f16.log'), 'utf8')).modelBuffers;
  const spec = await tensorsOf(tinyModelPath(TINY_DEFAULTS));
  const amx = cpuBuffers(spec.tensors!, { isa: 'x86-avx512', amx: true });
  near(amx.amxBytes, logged.AMX! / MIB, 'AMX');
  near(amx.mappedBytes!, logged.CPU_Mapped! / MIB, 'CPU_Mapped');
  // The same file without AMX: nothing is copied (F16 has no repack kernel) and the whole file stays mapped.
  const plain = cpuBuffers(spec.tensors!, AVX512);
  assert.equal(plain.amxBytes + plain.repackBytes, 0);
  assert.ok(plain.mappedBytes! >= plain.tensorBytes);
  // Process memory: mapped + AMX copy = tensor data + the extra the estimate reports.
  const extra = cpuCopyBytes(spec.tensors!, { isa: 'x86-avx512', amx: true });
  near(spec.tensors!.reduce((s, t) => s + (cpuBufferOf(t, AVX512).bytes), 0) + extra, (logged.AMX! + logged.CPU_Mapped!) / MIB, 'mapped + AMX');
});

test('recorded loads of the quantized tiny models on this project\'s AVX-512 machines match, buffer by buffer', async () => {
  const dir = join(DATA, 'llamacpp-buffers');
  const logs = readdirSync(dir).filter((f) => /^avx512-tiny-.*\.log$/.test(f));
  assert.ok(logs.length >= 2, 'F16 and quantized captures');
  for (const f of logs) {
    const text = readFileSync(join(dir, f), 'utf8');
    const weights = /weights=(\w+)/.exec(text)![1] as 'F16' | 'Q8_0' | 'Q4_0' | 'mixed';
    const logged = parseMemoryLog(text).modelBuffers;
    const b = cpuBuffers((await tensorsOf(tinyModelPath({ ...TINY_DEFAULTS, weights }))).tensors!, AVX512);
    near(b.mappedBytes!, logged.CPU_Mapped! / MIB, `${f} CPU_Mapped`);
    near(b.repackBytes, (logged.CPU_REPACK ?? 0) / MIB, `${f} CPU_REPACK`);
  }
});

test('which types each CPU copies: Q8_0 stays mapped on x86 but is repacked on ARM and packed by AMX', async () => {
  const spec = await tensorsOf(tinyModelPath({ ...TINY_DEFAULTS, weights: 'mixed' }));
  const q = spec.tensors!.find((t) => t.name === 'blk.0.attn_q.weight')!;
  const gate = spec.tensors!.find((t) => t.name === 'blk.0.ffn_gate.weight')!;
  const embd = spec.tensors!.find((t) => t.name === 'token_embd.weight')!;
  assert.equal(cpuBufferOf(q, AVX512).buffer, 'CPU');
  assert.equal(cpuBufferOf(q, { isa: 'arm-i8mm', amx: false }).buffer, 'CPU_REPACK');
  assert.equal(cpuBufferOf(gate, AVX512).buffer, 'CPU_REPACK');
  assert.equal(cpuBufferOf(gate, { isa: 'none', amx: false }).buffer, 'CPU');
  // AMX packs Q8_0 with a 4-byte compensation term per 32-value block (34 → 38 bytes).
  const packed = cpuBufferOf(q, { isa: 'x86-avx512', amx: true });
  assert.deepEqual(packed, { buffer: 'AMX', bytes: (128 * 128 / 32) * 38 });
  assert.equal(cpuBufferOf(embd, { isa: 'x86-avx512', amx: true }).buffer, 'CPU', 'embeddings are gathered, never packed');
});

test('memory breakdown: repackBytes appears only on the CPU backend and is counted once in the total', async () => {
  const spec = await tensorsOf(HEADERS.llama!.q4km);
  const weights = weightsFromTensors(spec, 'Q4_K_M');
  const ctx = defaultContextOptions({ ctxPerSeq: 4096 });
  const gpu = estimateMemory(spec, weights, ctx);
  assert.equal(gpu.repackBytes, undefined);
  const cpu = estimateMemory(spec, weights, { ...ctx, cpuBuffers: AVX512 });
  // Logged: CPU_Mapped 1160.37 + CPU_REPACK 400.50 MiB for 1191.87 MiB of tensor data (the tail llama.cpp
  // unmaps was copied): the process holds 369.00 MiB more than the file's weights.
  near(cpu.repackBytes!, 1160.37 + 400.5 - weights.totalBytes / MIB, 'extra of the Llama-shape Q4_K_M');
  assert.equal(cpu.totalBytes, gpu.totalBytes + cpu.repackBytes!);
  // `-lm none` (no mmap): the copies replace the plain CPU buffer, so the process holds the tensor data once.
  assert.equal(estimateMemory(spec, weights, { ...ctx, cpuBuffers: { ...AVX512, mmap: false } }).repackBytes, 0);
  // evaluate() adds it by backend: a CPU profile counts it, a GPU profile doesn't.
  const onCpu = evaluate(spec, weights, findHardware('cpu-ddr5')!, ctx);
  const onGpu = evaluate(spec, weights, findHardware('rtx-4090')!, ctx);
  assert.ok(onCpu.memory.repackBytes! > 0 && onGpu.memory.repackBytes === undefined);
});

test('/proc/cpuinfo flags → features: x86 AVX2 / AVX-512 / AMX, ARM i8mm and dotprod; garbage → none', () => {
  const x86 = parseCpuFlags('processor\t: 0\nflags\t\t: fpu sse2 avx2 fma avx512f avx512_vnni amx_tile amx_int8\n\nprocessor\t: 1\nflags\t\t: fpu\n')!;
  assert.deepEqual(cpuFeaturesFromFlags(x86, { amxUsable: true }), { isa: 'x86-avx512', amx: true });
  assert.deepEqual(cpuFeaturesFromFlags(x86), { isa: 'x86-avx512', amx: false });
  assert.deepEqual(cpuFeaturesFromFlags(parseCpuFlags('flags : sse2 avx2 fma\n')!), { isa: 'x86-avx2', amx: false });
  assert.deepEqual(cpuFeaturesFromFlags(parseCpuFlags('Features\t: fp asimd asimddp i8mm sve\n')!), { isa: 'arm-i8mm', amx: false });
  assert.deepEqual(cpuFeaturesFromFlags(parseCpuFlags('Features\t: fp asimd asimddp\n')!), { isa: 'arm-dotprod', amx: false });
  assert.equal(parseCpuFlags('\u0000\u0001 binary junk'), undefined);
  assert.equal(parseCpuFlags('flags :\n'), undefined);
});
