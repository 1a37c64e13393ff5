import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate } from '../../src/estimator/fit';
import { suggest } from '../../src/estimator/suggestions';
import { findCatalogModel } from '../../src/estimator/catalog';
import { findHardware } from '../../src/estimator/hardware';
import { weightsForQuant } from '../../src/estimator/weights';
import { defaultContextOptions } from '../../src/estimator/memory';
import { defaultQuantFor } from '../../src/estimator/quant-recipes';
import { catalogCandidates } from '../../src/views/fit-check';

function run(id: string, hwId: string, quant: string, ctxPerSeq: number, parallel = 1) {
  const m = findCatalogModel(id)!;
  const hw = findHardware(hwId)!;
  const e = evaluate(m.spec!, weightsForQuant(m.spec!, quant), hw, defaultContextOptions({ ctxPerSeq, parallel }), { contextMax: m.contextMax });
  return { e, s: suggest({ current: e, hw, quant, contextMax: m.contextMax }) };
}

test('dense 32B Q4_K_M at 32k on a 24 GB GPU: cheap fixes first, every fitting option really fits, MoE alternative offered', () => {
  // By hand: ~18.5 GiB weights + 32k × 256 KiB = 8 GiB KV > 23.2 GiB usable → no fit; q8_0 KV halves the 8 GiB.
  const { e, s } = run('Qwen/Qwen2.5-Coder-32B-Instruct', 'rtx-4090', 'Q4_K_M', 32768);
  assert.equal(e.fits, false);
  assert.ok(s.length >= 3);
  const kinds = s.map((x) => x.kind);
  assert.ok(kinds.indexOf('context-cap') < kinds.indexOf('lower-quant'));
  assert.ok(kinds.indexOf('kv-quant') < kinds.indexOf('lower-quant'));
  const kv = s.find((x) => x.kind === 'kv-quant')!;
  assert.equal(kv.kvType, 'q8_0');
  assert.match(kv.cost, /flash attention/);
  const moe = s.find((x) => x.kind === 'moe-alternative')!;
  assert.equal(moe.modelId, 'Qwen/Qwen3-Coder-30B-A3B-Instruct'); // same use (coding), closest size
  assert.ok(moe.decodeTokPerSec > 3 * e.speed.decodeTokPerSec);
  for (const x of s) if (x.fits) assert.ok(x.headroomBytes >= 0 && x.cost.length > 0, x.title);
  const lower = s.find((x) => x.kind === 'lower-quant')!;
  assert.match(lower.cost, /loss|Q4/);
});

test('fits but slow (dense 70B on a Mac): MoE alternatives first, then lower quants', () => {
  const { e, s } = run('meta-llama/Llama-3.1-70B-Instruct', 'm5-max-128', 'Q4_K_M', 32768);
  assert.equal(e.fits, true);
  assert.ok(e.speed.decodeTokPerSec < 15);
  assert.equal(s[0]!.kind, 'moe-alternative');
  assert.ok(s.every((x) => x.fits));
  assert.ok(s.some((x) => x.kind === 'lower-quant'));
});

test('no single change is enough → a combined suggestion; slots are offered when parallel > 1', () => {
  const { e, s } = run('Qwen/Qwen3-32B', 'm4-pro-48', 'Q8_0', 32768, 4);
  assert.equal(e.fits, false);
  const combo = s.find((x) => x.kind === 'combined')!;
  assert.ok(combo && combo.fits && combo.parallel === 1 && combo.kvType === 'q8_0', JSON.stringify(combo));
  assert.ok(s.some((x) => x.kind === 'fewer-slots'));
});

test('a comfortable fit gets no suggestions; output is deterministic', () => {
  assert.deepEqual(run('Qwen/Qwen3-30B-A3B', 'm5-max-128', 'Q4_K_M', 32768).s, []);
  const a = run('Qwen/Qwen2.5-Coder-32B-Instruct', 'rtx-4090', 'Q4_K_M', 32768).s;
  const b = run('Qwen/Qwen2.5-Coder-32B-Instruct', 'rtx-4090', 'Q4_K_M', 32768).s;
  assert.deepEqual(a, b);
});

test('models released in MXFP4 default to MXFP4 everywhere a quant is chosen for the user (gpt-oss), others to Q4_K_M', () => {
  const oss = findCatalogModel('openai/gpt-oss-120b')!;
  assert.equal(defaultQuantFor(oss.spec!), 'MXFP4');
  assert.equal(defaultQuantFor(findCatalogModel('Qwen/Qwen3-30B-A3B')!.spec!), 'Q4_K_M');
  // MXFP4 experts are 4.25 bits/weight: the 117B model's weights sit near 117e9 × 4.25 / 8 ≈ 62 GB, well under the
  // ~72 GB Q4_K_M's ~4.9 bpw would give — the size the Choose Model list and the planner now show.
  const w = weightsForQuant(oss.spec!, 'MXFP4').totalBytes;
  assert.ok(w > 55e9 && w < 68e9, `${w}`);
  assert.ok(weightsForQuant(oss.spec!, 'Q4_K_M').totalBytes > w);
  const row = catalogCandidates(findHardware('m5-max-128')!, 32768).find((c) => c.id === 'openai/gpt-oss-120b')!;
  assert.equal(row.quant, 'MXFP4');
});
