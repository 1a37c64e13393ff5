// `headroom fit` as users run it: the bundled CLI in a child process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { runCli } from '../support/cli-bundle';
import { parseCsv } from '../support/speed-calibration';
import { writeGguf } from '../support/gguf-writer';
import { DATA } from '../support/data';

const GiB = 1024 ** 3;
const isInt = (x: unknown) => typeof x === 'number' && Number.isInteger(x);

test('JSON has the contract fields (camelCase, integer bytes)', async () => {
  const r = await runCli(['fit', '--model', 'qwen3:30b-a3b', '--ctx', '32768', '--hardware', 'rtx-4090', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  for (const k of ['id', 'arch', 'quant', 'totalParams', 'activeParams', 'source']) assert.ok(k in j.model, `model.${k}`);
  for (const k of ['id', 'capacityBytes', 'usableBytes', 'bandwidthGBps']) assert.ok(k in j.hardware, `hardware.${k}`);
  for (const k of ['requested', 'allocated', 'parallel', 'kvType']) assert.ok(k in j.context, `context.${k}`);
  for (const k of ['weightsBytes', 'kvBytes', 'computeBytes', 'otherBytes', 'totalBytes']) assert.ok(isInt(j.memory[k]), `memory.${k}`);
  for (const k of ['decodeTokPerSec', 'ceilingTokPerSec', 'bytesPerToken']) assert.equal(typeof j.speed[k], 'number', `speed.${k}`);
  assert.ok(isInt(j.headroomBytes) && isInt(j.maxContext) && isInt(j.hardware.capacityBytes) && isInt(j.speed.bytesPerToken));
  assert.equal(typeof j.fits, 'boolean');
  assert.ok(Array.isArray(j.suggestions));
  assert.equal(j.model.id, 'Qwen/Qwen3-30B-A3B');
  assert.equal(j.model.quant, 'Q4_K_M');
  assert.equal(j.hardware.capacityBytes, 24 * GiB);
  // The parts add up, and headroom is usable − total.
  const m = j.memory;
  assert.equal(m.weightsBytes + m.kvBytes + m.computeBytes + m.otherBytes, m.totalBytes);
  assert.equal(j.headroomBytes, j.hardware.usableBytes - m.totalBytes);
  // MoE: memory holds all 30.5B params, decode reads ~3.3B.
  assert.ok(j.model.totalParams > 9 * j.model.activeParams);
  assert.ok(j.speed.ceilingTokPerSec > j.speed.decodeTokPerSec);
  // Every predicted speed carries its band (issue 11), and the engine it is for.
  assert.equal(j.engine, 'llama.cpp');
  const d = j.speed.decodeRange;
  assert.ok(d.low <= j.speed.decodeTokPerSec && j.speed.decodeTokPerSec <= d.high && d.high <= j.speed.ceilingTokPerSec, JSON.stringify(d));
  assert.match(d.basis, /cross-validated/);
  assert.ok(j.speed.prefillRange.low < j.speed.prefillTokPerSec && j.speed.prefillRange.high > j.speed.prefillTokPerSec);
});

test('--engine: parsed like everywhere else, changes the stack, MLX-LM only on Apple', async () => {
  const args = ['fit', '--model', 'openai/gpt-oss-20b', '--hardware', 'rtx-pro-6000', '--json'];
  const llama = JSON.parse((await runCli(args)).stdout);
  const vllm = JSON.parse((await runCli([...args, '--engine', 'vLLM'])).stdout);
  const ollama = JSON.parse((await runCli([...args, '--engine', 'ollama'])).stdout);
  assert.equal(vllm.engine, 'vllm');
  assert.equal(vllm.speed.stack, 'vllm/cuda');
  assert.notEqual(vllm.speed.decodeTokPerSec, llama.speed.decodeTokPerSec);
  // Ollama runs llama.cpp's kernels: same prediction, its own name.
  assert.equal(ollama.engine, 'ollama');
  assert.equal(ollama.speed.decodeTokPerSec, llama.speed.decodeTokPerSec);
  const mac = JSON.parse((await runCli(['fit', '--model', 'openai/gpt-oss-20b', '--hardware', 'm4-max-128', '--engine', 'mlx', '--json'])).stdout);
  assert.equal(mac.speed.stack, 'mlx-lm/metal');
  const bad = await runCli([...args, '--engine', 'tgi']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--engine must be one of llama\.cpp, ollama, lmstudio, vllm, mlx-lm, got 'tgi'/);
  const notMac = await runCli([...args, '--engine', 'mlx-lm']);
  assert.match(notMac.stderr, /mlx-lm runs only on Apple silicon/);
});

test('flags change the answer the way physics says', async () => {
  const base = JSON.parse((await runCli(['fit', '--model', 'Qwen/Qwen2.5-Coder-32B-Instruct', '--ctx', '32k', '--json'])).stdout);
  const q8kv = JSON.parse((await runCli(['fit', '--model', 'Qwen/Qwen2.5-Coder-32B-Instruct', '--ctx', '32k', '--kv-type', 'q8_0', '--json'])).stdout);
  // q8_0 KV = 34/64 of f16 (block of 32 values: 32 bytes + 2-byte scale vs 64 bytes).
  assert.equal(q8kv.memory.kvBytes, (base.memory.kvBytes * 34) / 64);
  const deep = JSON.parse((await runCli(['fit', '--model', 'Qwen/Qwen2.5-Coder-32B-Instruct', '--ctx', '32k', '--depth', '16384', '--json'])).stdout);
  assert.ok(deep.speed.decodeTokPerSec < base.speed.decodeTokPerSec);
  // 16k tokens × 256 KiB/token more read per token.
  assert.equal(deep.speed.bytesPerToken - base.speed.bytesPerToken, 16384 * 64 * 8 * 128 * 2 * 2);
  const par = JSON.parse((await runCli(['fit', '--model', 'Qwen/Qwen2.5-Coder-32B-Instruct', '--ctx', '32k', '--parallel', '4', '--json'])).stdout);
  assert.equal(par.context.allocated, 4 * 32768);
  assert.equal(par.memory.kvBytes, 4 * base.memory.kvBytes);
  const cap = JSON.parse((await runCli(['fit', '--model', 'Qwen/Qwen2.5-Coder-32B-Instruct', '--capacity-gb', '16', '--hardware', 'rtx-4090', '--json'])).stdout);
  assert.equal(cap.hardware.capacityBytes, 16 * GiB);
  assert.equal(cap.fits, false);
  assert.ok(cap.suggestions.length > 0);
  const q8 = JSON.parse((await runCli(['fit', '--model', 'Qwen/Qwen2.5-Coder-32B-Instruct', '--quant', 'q8_0', '--json'])).stdout);
  assert.equal(q8.model.quant, 'Q8_0');
  assert.ok(q8.memory.weightsBytes > 1.6 * base.memory.weightsBytes);
});

test('human output: a readable report with units, the word "decode" and a speed word', async () => {
  const r = await runCli(['fit', '--model', 'llama3.1:70b', '--hardware', 'rtx-4090']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /DOES NOT FIT/);
  // "≈ 4.1 tok/s (2.9–5.0) (very slow)": the prediction, its cross-validated band, the speed word.
  assert.match(r.stdout, /decode\s+≈ \d+(\.\d)? tok\/s \(\d+(\.\d)?–\d+(\.\d)?\) \((wet cement|very slow|slow|usable|comfortable|fast)\)/);
  assert.match(r.stdout, /band\s+central 75 % of the cross-validated error of all \d+ measured runs \(\d+ of them dense on llama\.cpp\/cuda\)/);
  assert.match(r.stdout, /GB/);
  assert.match(r.stdout, /suggestions:/);
  assert.match(r.stdout, /bandwidth-bound/);
});

test('errors are one line on stderr with a non-zero exit, never a stack trace', async () => {
  const cases: [string[], RegExp][] = [
    [['fit', '--model', 'qwen3:31b-a3b'], /unknown model 'qwen3:31b-a3b' — did you mean: .*Qwen3-30B-A3B/],
    [['fit', '--model', 'qwen3:8b', '--quant', 'Q9_K'], /unknown quant 'Q9_K'/],
    [['fit', '--model', 'qwen3:8b', '--bogus'], /Unknown option '--bogus'/],
    [['fit', '--model', 'qwen3:8b', '--ctx', 'lots'], /--ctx expects a whole number/],
    [['fit', '--model', 'qwen3:8b', '--ctx', '99999999999'], /--ctx must be between/],
    [['fit', '--model', 'qwen3:8b', '--kv-type', 'q3_k'], /--kv-type must be one of/],
    [['fit', '--model', 'qwen3:8b', '--hardware', 'rtx-9090'], /unknown hardware 'rtx-9090'/],
    [['fit', '--model', 'qwen3:8b', '--capacity-gb', '0'], /--capacity-gb must be a number/],
    [['fit', '--model', 'qwen3:8b', '--capacity-gb', '-3'], /--capacity-gb/],
    [['fit', '--model', 'qwen3:8b', '--ctx', '4096', '--depth', '8192'], /--depth \(8192\) cannot exceed --ctx/],
    [['fit'], /--model is required/],
    [['fit', '--model', 'google/gemma-4-31b-it'], /too incomplete to estimate \(missing: .*head_dim/],
    [['fit', '--model', '/nonexistent/model-Q4_K_M.gguf'], /unknown model .*no such file/],
  ];
  for (const [args, re] of cases) {
    const r = await runCli(args);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.equal(r.stdout, '', args.join(' '));
    assert.match(r.stderr, /^headroom: /, args.join(' '));
    assert.match(r.stderr, re, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});

test('a header-only GGUF path: weights from its tensor table equal the real file\'s tensor data', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-gguf-'));
  const rows = parseCsv(readFileSync(`${DATA}/groundtruth/llamacpp-groundtruth.csv`, 'utf8'));
  const files: [string, string, string][] = [
    ['qwen3-30b-a3b-shape-4L-Q4_K_M', 'qwen3moe', 'Q4_K_M'],
    ['gemma3-12b-shape-6L-Q4_K_M', 'gemma3', 'Q4_K_M'],
    ['llama31-8b-shape-4L-F16', 'llama', 'F16'],
  ];
  for (const [name, arch, quant] of files) {
    const path = join(dir, `${name}.gguf`);
    writeFileSync(path, gunzipSync(readFileSync(`${DATA}/groundtruth/gguf-headers/${name}.header.gguf.gz`)));
    const r = await runCli(['fit', '--model', path, '--ctx', '4096', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.model.source, 'gguf');
    assert.equal(j.model.arch, arch);
    assert.equal(j.model.quant, quant);
    const row = rows.find((x) => x.arch === arch && x.quant === quant)!;
    // tensor_data_bytes = the real file's size minus its header: what the weights occupy.
    assert.equal(j.memory.weightsBytes, Number(row.tensor_data_bytes), name);
  }
  // Garbage with a .gguf name: a clear one-line error.
  const bad = join(dir, 'broken.gguf');
  writeFileSync(bad, Buffer.from('GGUF\x03\x00\x00\x00garbage'));
  const r = await runCli(['fit', '--model', bad]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /^headroom: cannot read GGUF: /);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

test('hostile or unsupported GGUF metadata: one-line errors, no hang, no giant allocation', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-gguf-bad-'));
  const write = (name: string, metadata: Parameters<typeof writeGguf>[0]['metadata']) => {
    const p = join(dir, name);
    writeFileSync(p, writeGguf({ metadata, tensors: [{ name: 'token_embd.weight', type: 1, shape: [64, 32] }] }));
    return p;
  };
  const absurd = write('absurd.gguf', [
    { key: 'general.architecture', type: 'STRING', value: 'llama' },
    { key: 'llama.block_count', type: 'UINT32', value: 4_000_000_000 },
    { key: 'llama.embedding_length', type: 'UINT32', value: 64 },
    { key: 'llama.attention.head_count', type: 'UINT32', value: 8 },
  ]);
  const noArch = write('noarch.gguf', [{ key: 'general.name', type: 'STRING', value: 'x' }]);
  for (const [p, re] of [[absurd, /implausible/], [noArch, /general\.architecture/]] as const) {
    const t0 = Date.now();
    const r = await runCli(['fit', '--model', p]);
    assert.ok(Date.now() - t0 < 20_000);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /^headroom: unsupported GGUF .+\n$/);
    assert.match(r.stderr, re);
  }
});

test('--engine: every suggestion carries a command in that engine’s words, or null with a note saying why', async () => {
  const patterns: Record<string, RegExp> = {
    ollama: /^(ollama pull hf\.co\/\S+:\S+|(OLLAMA_[A-Z_]+=\S+ )+ollama serve)$/,
    'llama.cpp': /^llama-server -hf \S+:\S+ -c \d+ -np \d+ -fa on( -ctk \S+ -ctv \S+)?$/,
    lmstudio: /^lms (get \S+|load \S+ --context-length \d+)$/,
    vllm: /^vllm serve \S+ --max-model-len \d+ --max-num-seqs \d+( --kv-cache-dtype fp8)? --gpu-memory-utilization 0\.90$/,
    'mlx-lm': /^mlx_lm\.server --model mlx-community\/\S+$/,
  };
  for (const [engine, re] of Object.entries(patterns)) {
    const rep = JSON.parse((await runCli(['fit', '--model', 'qwen3:30b-a3b', '--ctx', '131072', '--parallel', '2', '--hardware', 'm5-max-128', '--capacity-gb', '24', '--engine', engine, '--json'])).stdout) as { suggestions: { command: string | null; commandNote: string; title: string }[] };
    assert.ok(rep.suggestions.length > 0, engine);
    for (const s of rep.suggestions) {
      assert.ok('command' in s && typeof s.commandNote === 'string' && s.commandNote.length > 0, `${engine}: ${s.title}`);
      if (s.command !== null) assert.match(s.command, re, `${engine}: ${s.title}`);
    }
    assert.ok(rep.suggestions.some((s) => s.command !== null), `${engine}: no command at all`);
  }
  // A switch to a model with no GGUF repo on record gets no command, and the note says so; one with a repo gets it.
  const llama = JSON.parse((await runCli(['fit', '--model', 'llama3.1:70b', '--hardware', 'rtx-4090', '--engine', 'ollama', '--json'])).stdout) as { suggestions: { kind: string; modelId: string; command: string | null; commandNote: string }[] };
  const none = llama.suggestions.find((s) => s.kind === 'moe-alternative' && s.modelId === 'Qwen/Qwen3.6-35B-A3B');
  assert.ok(none);
  assert.equal(none.command, null);
  assert.match(none.commandNote, /no GGUF repo for Qwen3\.6 35B-A3B is on record/);
  const some = llama.suggestions.find((s) => s.kind === 'moe-alternative' && s.modelId === 'Qwen/Qwen3-30B-A3B');
  assert.equal(some?.command, 'ollama pull hf.co/unsloth/Qwen3-30B-A3B-GGUF:Q4_K_M');
  const bad = await runCli(['fit', '--model', 'qwen3:30b-a3b', '--engine', 'tgi']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--engine must be one of llama\.cpp, ollama, lmstudio, vllm, mlx-lm/);
});

test('--engine-version: a llama.cpp launch build for the architecture is slower and says why; junk is refused', async () => {
  const args = ['fit', '--model', 'Qwen/Qwen3-Next-80B-A3B-Instruct', '--hardware', 'strix-halo-128', '--ctx', '8192', '--json'];
  const mature = JSON.parse((await runCli([...args, '--engine-version', 'b7938'])).stdout);
  const early = JSON.parse((await runCli([...args, '--engine-version', 'b7189-c6f7a423c'])).stdout);
  assert.ok(early.speed.decodeTokPerSec < 0.9 * mature.speed.decodeTokPerSec, `${early.speed.decodeTokPerSec} vs ${mature.speed.decodeTokPerSec}`);
  assert.match(early.speed.maturityNote, /launch build: llama\.cpp build 7189/);
  const text = await runCli(args.filter((a) => a !== '--json').concat(['--engine-version', 'b7189']));
  assert.match(text.stdout, /kernels.*launch build/);
  // --kernel-maturity 1 replaces both fitted factors: the launch build is then predicted like a mature one at full maturity.
  const overridden = JSON.parse((await runCli([...args, '--engine-version', 'b7189', '--kernel-maturity', '1'])).stdout);
  assert.ok(overridden.speed.decodeTokPerSec >= mature.speed.decodeTokPerSec);
  assert.match(overridden.speed.maturityNote ?? '', /^$|your override/);
  assert.match((await runCli([...args, '--kernel-maturity', '7'])).stderr, /--kernel-maturity must be a number between 0\.05 and 1, got '7'/);
  const bad = await runCli([...args, '--engine-version', 'b7189; rm -rf /']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--engine-version must be a build or version like b7189/);
});
