// Agentic stack planner on real catalog models and the cited embedder/reranker specs. Expected KV bytes
// are derived by hand from the published shapes; the rest of the memory comes from the memory model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planStack, nextLowerQuant, StackMemberError, type Stack } from '../../src/estimator/planner';
import { parseStack, parseStackMember } from '../../src/estimator/stack-input';
import { ENCODER_MODELS, findEncoder } from '../../src/estimator/encoders';
import { weightsForQuant } from '../../src/estimator/weights';
import { parseQuant } from '../../src/estimator/quant-recipes';
import { findHardware, withCapacityOverride } from '../../src/estimator/hardware';
import { UnknownModelError } from '../../src/estimator/model-names';
import { specFromGgufMetadata } from '../../src/estimator/gguf-spec';
import { readFileSync } from 'node:fs';
import type { HardwareProfile } from '../../src/estimator/types';
import { DATA } from '../support/data';

const GiB = 1024 ** 3;
const hw = (id: string): HardwareProfile => {
  const h = findHardware(id);
  assert.ok(h, id);
  return h;
};

// Orchestrator Qwen3-32B (64 layers × 8 KV heads × (128 + 128) × 2 B = 262,144 B/token) at 32k, a coding model
// Qwen2.5-Coder-14B (48 × 8 × 256 × 2 = 196,608 B/token) at 96k for whole-repo work, an embedder and a reranker.
const stack: Stack = {
  name: 'agentic-64',
  members: [
    { role: 'orchestrator', model: 'Qwen/Qwen3-32B', quant: 'Q4_K_M', ctx: 32768 },
    { role: 'coder', model: 'qwen2.5-coder:14b', quant: 'Q4_K_M', ctx: 98304 },
    { model: 'nomic-embed-text', ctx: 8192 },
    { model: 'bge-reranker-v2-m3', ctx: 8192 },
  ],
};
// f16 KV: 262,144 × 32,768 = 8,589,934,592 and 196,608 × 98,304 = 19,327,352,832 → 27,917,287,424 B.
const KV_F16 = 262_144 * 32_768 + 196_608 * 98_304;

test('a stack that stays resident only with a quantized KV cache (M4 Pro, 64 GB)', () => {
  const plan = planStack(stack, hw('m4-pro-64'));
  // Usable: 64 GiB × 0.75 (macOS GPU working-set default) = 51,539,607,552 B.
  assert.equal(plan.hardware.usableBytes, 48 * GiB);
  assert.equal(plan.members[0]!.memory.kvBytes, 8_589_934_592);
  assert.equal(plan.members[1]!.memory.kvBytes, 19_327_352_832);
  // Encoders (BERT) keep no KV cache in llama.cpp.
  assert.equal(plan.members[2]!.memory.kvBytes, 0);
  assert.equal(plan.members[3]!.memory.kvBytes, 0);
  assert.equal(plan.fitsResident, false);
  assert.ok(plan.totalBytes > 48 * GiB && plan.headroomBytes < 0);
  // Only KV quantization fixes it: one slot each already; a lower quant of Qwen3-32B saves < 2 GB of the
  // ~6.5 GB over; capping the 32B's window to fit would leave 32,768 − 25,600 = 7,168 tokens (< agent minimum).
  assert.deepEqual(plan.remedies.map((r) => r.kind), ['kv-q8_0', 'kv-q4_0']);
  // q8_0 stores 34 B per 32 values (1.0625 B) vs 2 B: saves KV × (1 − 34/64) = 27,917,287,424 × 30/64 = 13,086,228,480.
  const q8 = plan.remedies[0]!;
  assert.equal(q8.savedBytes, (KV_F16 * 30) / 64);
  assert.ok(q8.fits && q8.headroomBytes > 0);
  // q4_0: 18 B per 32 values → saves KV × (1 − 18/64) = 20,065,550,336.
  assert.equal(plan.remedies[1]!.savedBytes, (KV_F16 * 46) / 64);
  // Applying the remedy's member list gives a resident stack.
  const fixed = planStack({ ...stack, members: q8.members }, hw('m4-pro-64'));
  assert.equal(fixed.fitsResident, true);
  assert.equal(fixed.totalBytes, q8.totalBytes);
  assert.ok(fixed.members.slice(0, 2).every((m) => m.kvType === 'q8_0'));
  // Not resident → models swap, each swap 30–90 s.
  assert.deepEqual(plan.swap?.secondsPerSwap, [30, 90]);
  assert.match(plan.swap!.note, /30–90 s/);
});

test('the same stack on 128 GB stays resident with headroom; each model decodes alone, slower at a full window', () => {
  const plan = planStack(stack, hw('m4-max-128'));
  assert.equal(plan.fitsResident, true);
  assert.equal(plan.headroomBytes, 96 * GiB - plan.totalBytes);
  assert.equal(plan.swap, undefined);
  assert.equal(plan.remedies.length, 0);
  const [orch, coder, emb, rer] = plan.members;
  assert.equal(emb!.decode, undefined);
  assert.equal(rer!.decode, undefined);
  // Dense 32B Q4_K_M ≈ 19.8 GB read per token on 546 GB/s: ceiling ≈ 27.6 tok/s; the 14B reads less and is faster.
  assert.ok(orch!.decode!.ceilingEmptyTokPerSec > 25 && orch!.decode!.ceilingEmptyTokPerSec < 30);
  assert.ok(coder!.decode!.emptyTokPerSec > orch!.decode!.emptyTokPerSec);
  // At 96k the coder also reads 19.3 GB of KV per token: more than twice its weights → well under half the speed.
  assert.ok(coder!.decode!.fullTokPerSec < coder!.decode!.emptyTokPerSec / 2);
  assert.ok(plan.notes.some((n) => /running alone/.test(n)));
  // Plain data: survives a JSON round trip unchanged (the view stores stacks in settings).
  assert.deepEqual(JSON.parse(JSON.stringify(plan)), plan);
});

test('on 48 GB only the q4_0 KV cache fits; on a 24 GB card nothing short of a smaller model does', () => {
  const pro48 = planStack(stack, hw('m4-pro-48'));
  assert.deepEqual(pro48.remedies.map((r) => r.kind), ['kv-q4_0']);
  const big: Stack = { name: 'too-big', members: [{ model: 'meta-llama/Llama-3.1-70B-Instruct', ctx: 65536 }, { model: 'Qwen/Qwen3-32B', ctx: 32768, parallel: 2 }] };
  const p = planStack(big, hw('rtx-4090'));
  assert.equal(p.fitsResident, false);
  assert.equal(p.remedies.length, 0);
  assert.ok(p.notes.some((n) => /smaller orchestrator/.test(n)));
  // Roles left out: the largest LLM orchestrates, the others code; a lone LLM orchestrates from 30 B up.
  assert.deepEqual(p.members.map((m) => m.role), ['orchestrator', 'coder']);
  const m128 = hw('m4-max-128');
  assert.deepEqual(planStack({ name: 'r', members: [{ model: 'qwen3:30b-a3b', ctx: 8192 }, { model: 'Qwen/Qwen3-32B', ctx: 8192 }, { model: 'bge-m3', ctx: 8192 }] }, m128).members.map((m) => m.role), ['coder', 'orchestrator', 'embedding']);
  assert.equal(planStack({ name: 'r', members: [{ model: 'Qwen/Qwen3-8B', ctx: 8192 }] }, m128).members[0]!.role, 'coder');
  assert.equal(planStack({ name: 'r', members: [{ model: 'Qwen/Qwen3-32B', ctx: 8192 }] }, m128).members[0]!.role, 'orchestrator');
});

test('a combination of milder changes comes before a harsher single one; with none alone, the combination', () => {
  // Two slots of the 32B at 32k (2 × 8.59 GB KV) + the 96k coder: f16 KV = 17.18 + 19.33 = 36.51 GB on
  // 28.74 GB of weights. q8_0 alone: KV × 34/64 = 19.40 GB → ~48.6 GB; + one slot: 27.92 × 34/64 = 14.83 GB
  // → ~44.0 GB. With 60 GiB of unified memory (45 GiB = 48.3 GB usable) that pair is the answer.
  const s: Stack = { name: 'combo', members: [{ model: 'Qwen/Qwen3-32B', ctx: 32768, parallel: 2 }, { model: 'qwen2.5-coder:14b', ctx: 98304 }] };
  const mac60 = withCapacityOverride(findHardware('m4-pro-64')!, 60);
  const p = planStack(s, mac60);
  assert.equal(p.fitsResident, false);
  // q4_0 KV alone would fit too (36.51 × 18/64 = 10.27 GB KV → ~39.5 GB), but costs more quality than the pair.
  assert.deepEqual(p.remedies.map((x) => x.kind), ['combined', 'kv-q4_0']);
  const r = p.remedies[0]!;
  assert.deepEqual(r.steps, ['kv-q8_0', 'single-slot']);
  assert.equal(r.change, 'quantize the KV cache to q8_0 (Qwen/Qwen3-32B, qwen2.5-coder:14b) + one parallel slot instead of 2 (Qwen/Qwen3-32B)');
  assert.equal(planStack({ ...s, members: r.members }, mac60).fitsResident, true);
  // On 48 GB (38.65 GB usable) that is still ~5 GB over: a lower quant and q4_0 KV are needed too, and the
  // q4_0 step replaces the q8_0 one.
  const p48 = planStack(s, hw('m4-pro-48'));
  assert.equal(p48.remedies[0]!.change, 'one parallel slot instead of 2 (Qwen/Qwen3-32B) + Qwen3 32B at IQ4_XS instead of Q4_K_M + quantize the KV cache to q4_0 (Qwen/Qwen3-32B, qwen2.5-coder:14b)');
  assert.ok(p48.remedies[0]!.totalBytes <= p48.hardware.usableBytes);
});

test('embedder and reranker specs land on their published sizes', () => {
  for (const e of ENCODER_MODELS) {
    for (const pub of e.publishedSizes) {
      const q = parseQuant(pub.quant)!;
      const ours = e.spec.arch === 'qwen3' ? weightsForQuant(e.spec, pub.quant).totalBytes : (e.spec.totalParams * q.bitsPerWeight) / 8;
      const err = Math.abs(ours - pub.bytes) / pub.bytes;
      // Published sizes are rounded (Ollama shows "1.2GB"); BERT files keep some f32 norms/biases.
      assert.ok(err < 0.06, `${e.spec.id} ${pub.quant}: ${ours} vs ${pub.bytes} (${pub.source})`);
    }
  }
  assert.equal(findEncoder('nomic-embed-text:latest')?.role, 'embedding');
  assert.equal(findEncoder('BAAI/bge-reranker-v2-m3')?.role, 'reranker');
  // Qwen3-Embedding is a causal decoder: it does keep KV (28 × 8 × 256 × 2 B = 114,688 B/token).
  const p = planStack({ name: 'e', members: [{ model: 'qwen3-embedding:0.6b', ctx: 8192 }] }, hw('m4-max-128'));
  assert.equal(p.members[0]!.memory.kvBytes, 114_688 * 8192);
});

test('models the catalog does not know come in through a resolver (an engine-loaded model sized from its GGUF keys)', () => {
  // Recorded Ollama /api/show for a llama 8B (32 layers, 8 KV heads × 128): KV 32 × 8 × 256 × 2 B = 131,072 B/token.
  const show = JSON.parse(readFileSync(`${DATA}/engines/ollama/api_show_llama.json`, 'utf8')) as { model_info: Record<string, unknown> };
  const spec = specFromGgufMetadata(show.model_info, undefined, 'my-llama:latest');
  const resolve = (m: { model: string }) => (m.model === 'my-llama:latest' ? { spec, weights: weightsForQuant(spec, 'Q4_0') } : undefined);
  const p = planStack({ name: 'engine', members: [{ model: 'my-llama:latest', ctx: 16384 }, { model: 'nomic-embed-text', ctx: 8192 }] }, hw('rtx-4090'), undefined, resolve);
  assert.equal(p.members[0]!.memory.kvBytes, 131_072 * 16384);
  assert.equal(p.members[0]!.quant, 'Q4_0');
  assert.equal(p.fitsResident, true);
  assert.throws(() => planStack({ name: 'x', members: [{ model: 'other:latest', ctx: 4096 }] }, hw('rtx-4090'), undefined, resolve), UnknownModelError);
});

test('member syntax: MODEL[:QUANT][@CTX][xN] with optional role=, Ollama tags keep their colon', () => {
  assert.deepEqual(parseStackMember('orchestrator=qwen3:30b-a3b:q8_0@32kx2'), { role: 'orchestrator', model: 'qwen3:30b-a3b', quant: 'Q8_0', ctx: 32768, parallel: 2 });
  assert.deepEqual(parseStackMember('qwen3:30b-a3b'), { model: 'qwen3:30b-a3b' });
  assert.deepEqual(parseStackMember('Qwen/Qwen3-32B:Q4_K_M@64k'), { model: 'Qwen/Qwen3-32B', quant: 'Q4_K_M', ctx: 65536 });
  assert.deepEqual(parseStackMember('qwen3-8b x2'), { model: 'qwen3-8b', parallel: 2 });
  assert.throws(() => parseStackMember('qwen3-8b@lots'), StackMemberError);
  assert.throws(() => parseStackMember('  '), StackMemberError);
  assert.throws(() => parseStackMember(':Q4_K_M@8k'), StackMemberError);
});

test('bad members: unknown model, absurd context, bad quant — clear errors', () => {
  assert.throws(() => planStack({ name: 'x', members: [{ model: 'no-such-model-xyz', ctx: 4096 }] }, hw('m4-max-128')), UnknownModelError);
  assert.throws(() => planStack({ name: 'x', members: [{ model: 'Qwen/Qwen3-8B', ctx: 0 }] }, hw('m4-max-128')), /context must be/);
  assert.throws(() => planStack({ name: 'x', members: [{ model: 'Qwen/Qwen3-8B', ctx: 4096, parallel: 1e6 }] }, hw('m4-max-128')), /parallel slots/);
  assert.throws(() => planStack({ name: 'x', members: [{ model: 'Qwen/Qwen3-8B', ctx: 4096, quant: 'Q9_X' }] }, hw('m4-max-128')), /unknown quant/);
  assert.throws(() => planStack({ name: 'x', members: [] }, hw('m4-max-128')), /at least one model/);
  assert.equal(nextLowerQuant('Q8_0')?.name, 'Q6_K');
  assert.equal(nextLowerQuant('Q4_K_M')?.name, 'IQ4_XS');
  assert.equal(nextLowerQuant('Q3_K_M'), undefined);
});

test('stacks saved in settings: round trip, and malformed ones rejected with the path', () => {
  const back = parseStack(JSON.parse(JSON.stringify(stack)));
  assert.ok(back.ok);
  assert.deepEqual(back.ok && back.stack, stack);
  const bad = parseStack({ name: 'x', members: [{ model: 'qwen3-8b', ctx: 'lots' }] });
  assert.equal(bad.ok, false);
  assert.match(!bad.ok ? bad.error : '', /^stack\.members\.0\.ctx: /);
  assert.equal(parseStack(null).ok, false);
  assert.equal(parseStack({ name: 'x', members: [] }).ok, false);
  assert.equal(parseStack({ name: 'x', members: [{ model: 'a', ctx: 4096, kvType: 'q3' }] }).ok, false);
});
