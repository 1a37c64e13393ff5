// Bottleneck verdict on recorded situations. Expected numbers are derived by hand in the comments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { diagnose, roundUpCtx, type Situation } from '../../src/estimator/verdict';
import { findHardware } from '../../src/estimator/hardware';
import type { HardwareProfile } from '../../src/estimator/types';
import { DATA } from '../support/data';

const GiB = 1024 ** 3;
const hw = (id: string): HardwareProfile => {
  const h = findHardware(id);
  assert.ok(h, id);
  return h;
};
const close = (a: number, e: number, rel = 1e-3) => assert.ok(Math.abs(a - e) <= Math.abs(e) * rel, `${a} ≠ ${e}`);

// Recorded Ollama /api/ps (ollama/ollama docs/openapi.yaml example).
const ps = JSON.parse(readFileSync(`${DATA}/engines/ollama/api_ps.json`, 'utf8')) as {
  models: { name: string; size: number; size_vram: number; context_length: number }[];
};
const loaded = ps.models[0]!;

test('Ollama /api/ps with size_vram < size: capacity-bound by CPU offload, with the cost', () => {
  const v = diagnose({
    engine: 'ollama',
    hardware: hw('rtx-4090'),
    model: { id: loaded.name },
    offload: { residentBytes: loaded.size, acceleratorBytes: loaded.size_vram, via: 'GET /api/ps size, size_vram' },
  });
  assert.equal(v.bottleneck, 'capacity');
  assert.equal(v.basis, 'engine');
  const f = v.findings.find((x) => x.code === 'cpu-offload')!;
  // 6,591,830,464 − 5,333,539,264 = 1,258,291,200 bytes (1200 MiB) on the CPU = 19.09 % of the model.
  assert.equal(f.numbers.cpuBytes, 1_258_291_200);
  close(f.numbers.cpuShare!, 1_258_291_200 / 6_591_830_464);
  // Per token: 80.91 % at 1008 GB/s then 19.09 % at 85 GB/s vs all at 1008 → 0.8091 + 0.1909 × 1008/85 = 3.07×.
  close(f.numbers.predictedSlowdown!, 3.07, 2e-3);
  assert.equal(f.confidence, 'high');
  assert.deepEqual(f.citations, ['GET /api/ps size, size_vram']);
});

test('the same /api/ps window (4096) is below what a coding agent needs', () => {
  // No prompts recorded yet: agent system prompts are ~15k tokens; + 4096 reply = 19,096 → 20,480 (×4096).
  const v = diagnose({
    engine: 'ollama',
    hardware: hw('rtx-4090'),
    model: { id: loaded.name },
    window: { ctxPerSeq: loaded.context_length },
  });
  const f = v.findings.find((x) => x.code === 'window-below-agent-baseline')!;
  assert.equal(f.bottleneck, 'capacity');
  assert.equal(f.numbers.neededCtx, 20480);
  assert.equal(f.confidence, 'medium');
  assert.ok(f.citations[0]!.includes('cline/cline#1507'));
});

test('a window smaller than the prompt the agent sent: truncation, with the window that would hold it', () => {
  // Recorded Ollama log (ed-donner/llm_engineering PR #80): msg="truncating input prompt" limit=2048 prompt=3940.
  // Llama 3.1 8B f16 KV: 131,072 B/token (catalog). Needed: 3940 + 4096 reply = 8036 → 8192;
  // extra KV = 131,072 × (8192 − 2048) = 805,306,368 B. With weights 4.92 GB + 0.27 GB KV + 0.3 GB compute on
  // a 24 GB card, 5.49 + 0.81 GB still fits.
  const memory = { weightsBytes: 4.92e9, kvBytes: 131072 * 2048, computeBytes: 0.3e9, otherBytes: 0, totalBytes: 4.92e9 + 131072 * 2048 + 0.3e9, allocatedCtx: 2048, kvBytesPerToken: 131072 };
  const s: Situation = {
    engine: 'ollama',
    hardware: hw('rtx-4090'),
    model: { id: 'llama3.1:8b' },
    memory,
    window: { ctxPerSeq: 2048, promptTokens: [1200, 3940], kvBytesPerToken: 131072 },
  };
  const v = diagnose(s);
  assert.equal(v.bottleneck, 'capacity');
  const f = v.findings[0]!;
  assert.equal(f.code, 'window-too-small');
  assert.equal(f.numbers.largestPromptTokens, 3940);
  assert.equal(f.numbers.neededCtx, 8192);
  assert.equal(f.numbers.extraKvBytes, 805_306_368);
  assert.match(f.fixes[0]!, /still fits/);
  assert.match(f.summary, /truncates/);
  // Prompts that fit but leave < 4096 tokens for the reply are flagged too; prompts that fit well are not.
  assert.equal(diagnose({ ...s, window: { ctxPerSeq: 8192, promptTokens: [5000] } }).findings[0]?.code, 'window-too-small');
  assert.equal(diagnose({ ...s, window: { ctxPerSeq: 32768, promptTokens: [5000] } }).findings.some((x) => x.code.startsWith('window')), false);
});

test('a measured share of the ceiling ≥ 70 %: bandwidth-bound (DGX Spark, Qwen2.5-Coder-7B Q8_0, 29.30 tok/s)', () => {
  // llama.cpp benches/dgx-spark.md: 29.30 tok/s at depth 0. Bytes per token: the Q8_0 file (8,096,013,352 B,
  // catalog) minus its token-embedding table, of which one row is read: 152,064 × 3,584 weights × 34/32 B =
  // 579,059,712 B → 7,516,953,640 B. Ceiling 273e9 / 7.517e9 = 36.32 tok/s; share 29.30 / 36.32 = 0.807.
  const bytesPerToken = 8_096_013_352 - 579_059_712;
  const v = diagnose({
    engine: 'llama.cpp',
    hardware: hw('dgx-spark-128'),
    model: { id: 'Qwen/Qwen2.5-Coder-7B-Instruct' },
    speed: { measuredTokPerSec: 29.3, ceilingTokPerSec: 273e9 / bytesPerToken, bytesPerToken, depth: 0, via: 'ggml-org/llama.cpp:benches/dgx-spark.md' },
  });
  assert.equal(v.bottleneck, 'bandwidth');
  assert.equal(v.basis, 'measured');
  const f = v.findings[0]!;
  assert.equal(f.code, 'near-ceiling');
  close(f.numbers.shareOfCeiling!, 0.807, 2e-3);
  close(f.numbers.ceilingTokPerSec!, 36.32, 1e-3);
  assert.equal(f.confidence, 'high');
  assert.ok(f.fixes.some((x) => /lower quant/.test(x)) && f.fixes.some((x) => /MoE/.test(x)));
});

test('well below the ceiling: stack-bound, with the cited RTX 5090 regression and no uncited claims', () => {
  // ggml-org/llama.cpp#28196: a 27B decoded at 28 % of its bandwidth bound on an RTX 5090 under Windows.
  const v = diagnose({
    engine: 'llama.cpp',
    hardware: hw('rtx-5090'),
    model: { id: 'qwen35-27b', totalParams: 27e9, activeParams: 27e9 },
    speed: { measuredTokPerSec: 28, ceilingTokPerSec: 100 },
    flashAttention: true,
  });
  assert.equal(v.bottleneck, 'stack');
  assert.equal(v.findings[0]!.code, 'below-ceiling');
  const cited = v.findings.filter((f) => f.code === 'cited-stack-gap');
  assert.deepEqual(cited.map((f) => f.citations[0]), ['ggml-org/llama.cpp#28196']);
  // No Ollama comparison: the engine is llama.cpp; no flash-attention finding: it is on.
  assert.ok(!v.findings.some((f) => f.code === 'flash-attention-off'));
});

test('Ollama + small-active MoE on Apple: the 37 % figure appears only with its citation and only there', () => {
  // famstack.dev: Ollama 26.0 vs llama.cpp 41.4 tok/s, Qwen3-30B-A3B on M1 Max. Active 3.35 B of 30.5 B (11 %).
  // Ceiling with ~2.05 GB read per token at 400 GB/s = 195 tok/s → 26 / 195 = 13 %.
  const base: Situation = {
    engine: 'ollama',
    hardware: hw('m1-max-64'),
    model: { id: 'qwen3:30b-a3b', totalParams: 30_532_122_624, activeParams: 3_353_032_704 },
    speed: { measuredTokPerSec: 26.0, ceilingTokPerSec: 400e9 / 2.05e9 },
  };
  const v = diagnose(base);
  assert.equal(v.bottleneck, 'stack');
  const ollama = v.findings.find((f) => f.summary.includes('37 %'))!;
  assert.ok(ollama.citations[0]!.includes('famstack.dev'));
  assert.equal(ollama.numbers.ollamaTokPerSec, 26.0);
  assert.equal(ollama.numbers.llamaCppTokPerSec, 41.4);
  // Power mode unknown → the Low Power finding is shown with low confidence; High Power set → not shown.
  assert.equal(v.findings.find((f) => f.summary.includes('Low Power'))?.confidence, 'low');
  assert.ok(!diagnose({ ...base, powerMode: 'high' }).findings.some((f) => f.summary.includes('Low Power')));
  // Same numbers on llama.cpp, or a dense model on Ollama: no 37 % claim.
  assert.ok(!diagnose({ ...base, engine: 'llama.cpp' }).findings.some((f) => f.summary.includes('37 %')));
  assert.ok(!diagnose({ ...base, model: { id: 'dense', totalParams: 32e9, activeParams: 32e9 } }).findings.some((f) => f.summary.includes('37 %')));
  // When the speed model already expects this (fixed per-token cost of small-active MoE), say so.
  const expected = diagnose({ ...base, speed: { ...base.speed, predictedTokPerSec: 30 } });
  assert.equal(expected.findings[0]!.code, 'moe-fixed-cost');
});

test('does not fit: capacity-bound with the overage (Llama-3.1-70B Q4_K_M on 24 GB)', () => {
  // Weights 43.1 GB (catalog Q4_K_M file) + KV 327,680 B/token × 8192 = 2,684,354,560 → 45,784,354,560 B.
  // RTX 4090 usable: 24 GiB − 0.8 GiB = 23.2 GiB = 24,910,692,352 B → over by 20,873,662,208 B.
  const kv = 327680 * 8192;
  const v = diagnose({
    engine: 'llama.cpp',
    hardware: hw('rtx-4090'),
    model: { id: 'meta-llama/Llama-3.1-70B-Instruct' },
    memory: { weightsBytes: 43.1e9, kvBytes: kv, computeBytes: 0, otherBytes: 0, totalBytes: 43.1e9 + kv, allocatedCtx: 8192, kvBytesPerToken: 327680 },
    speed: { ceilingTokPerSec: 1008e9 / 43.1e9 },
  });
  assert.equal(v.bottleneck, 'capacity');
  const f = v.findings[0]!;
  assert.equal(f.code, 'does-not-fit');
  close(f.numbers.usableBytes!, 23.2 * GiB, 1e-9);
  close(f.numbers.overBytes!, 43.1e9 + kv - 23.2 * GiB, 1e-9);
  assert.equal(f.confidence, 'high');
  assert.match(v.headline, /^Capacity-bound/);
});

test('Apple unified memory: over the default GPU share but under physical memory → the wired-limit fix', () => {
  // M4 Pro 48 GB: the GPU gets 48 GiB × 0.75 = 38.65 GB by default; 40 GB needed is over that but under
  // 48 GiB − 8 GiB = 42.9 GB, so raising iogpu.wired_limit_mb to (40 GB + 1 GiB), rounded up to whole GiB, is offered.
  const need = 40e9;
  const v = diagnose({
    engine: 'llama.cpp',
    hardware: hw('m4-pro-48'),
    model: { id: 'x' },
    memory: { weightsBytes: 34e9, kvBytes: 6e9, computeBytes: 0, otherBytes: 0, totalBytes: need, allocatedCtx: 32768, kvBytesPerToken: 1 },
  });
  assert.equal(v.findings[0]!.code, 'does-not-fit');
  const mb = Math.ceil((need + GiB) / 2 ** 20 / 1024) * 1024;
  assert.ok(v.findings[0]!.fixes.includes(`or let the GPU wire more of the unified memory: sudo sysctl iogpu.wired_limit_mb=${mb} (leave the system ≥ 8 GB)`));
  // Not on a discrete GPU.
  assert.ok(!diagnose({ engine: 'llama.cpp', hardware: hw('rtx-4090'), model: { id: 'x' }, memory: { weightsBytes: 30e9, kvBytes: 0, computeBytes: 0, otherBytes: 0, totalBytes: 30e9, allocatedCtx: 1, kvBytesPerToken: 1 } }).findings[0]!.fixes.some((f) => f.includes('wired_limit')));
});

test('predicted only: fits → bandwidth-bound, low confidence; config problems still named', () => {
  const v = diagnose({
    engine: 'llama.cpp',
    hardware: hw('m4-max-128'),
    model: { id: 'x' },
    speed: { ceilingTokPerSec: 50, predictedTokPerSec: 38 },
    flashAttention: false,
    backend: 'cpu',
  });
  assert.equal(v.bottleneck, 'bandwidth');
  assert.equal(v.confidence, 'low');
  assert.equal(v.basis, 'predicted');
  assert.deepEqual(v.findings.map((f) => f.code), ['predicted-bandwidth', 'flash-attention-off', 'cpu-backend']);
  assert.match(v.findings[1]!.fixes[0]!, /-fa on/);
});

test('predicted only: the expectation comes with its band when the speed model gave one', () => {
  const base = { engine: 'llama.cpp', hardware: hw('m4-max-128'), model: { id: 'x' } };
  const banded = diagnose({ ...base, speed: { ceilingTokPerSec: 50, predictedTokPerSec: 38, predictedRange: { low: 31, high: 44.5 } } });
  assert.match(banded.findings[0]!.summary, /~38\.0 expected \(31\.0–44\.5\) \(measure to confirm\)/);
  const bare = diagnose({ ...base, speed: { ceilingTokPerSec: 50, predictedTokPerSec: 38 } });
  assert.match(bare.findings[0]!.summary, /~38\.0 expected \(measure to confirm\)/);
});

test('hostile or empty input: a clear "unknown", never a crash', () => {
  const v = diagnose({ engine: 'jan', hardware: hw('cpu-ddr5'), model: { id: '?' } });
  assert.equal(v.bottleneck, 'unknown');
  const w = diagnose({
    engine: 'ollama',
    hardware: hw('cpu-ddr5'),
    model: { id: '?' },
    window: { ctxPerSeq: 0, promptTokens: [Number.NaN, -5] },
    speed: { measuredTokPerSec: Number.NaN, ceilingTokPerSec: -1 },
    offload: { residentBytes: 0, acceleratorBytes: 0, via: 'x' },
  });
  assert.equal(w.bottleneck, 'unknown');
  assert.equal(roundUpCtx(4097), 8192);
  // Output is plain JSON (the panel stores and renders it).
  assert.doesNotThrow(() => JSON.parse(JSON.stringify(w)));
});
