// Engine facts → Situation → verdict, through the real catalog, memory and speed models.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { buildSituation, diagnoseEngine } from '../../src/estimator/situation';
import { findHardware, type HardwareSpec } from '../../src/estimator/hardware';
import { DATA } from '../support/data';

const hw = (id: string): HardwareSpec => findHardware(id)!;
const fx = (p: string) => JSON.parse(readFileSync(`${DATA}/engines/ollama/${p}`, 'utf8'));

test('recorded Ollama /api/ps + /api/show + final chunk: capacity-bound by offload, numbers carried through', () => {
  const ps = fx('api_ps.json').models[0];
  const show = fx('api_show.json');
  const gen = fx('api_generate_final.json');
  const v = diagnoseEngine(
    {
      engine: 'ollama',
      model: ps.name,
      quant: ps.details.quantization_level,
      metadata: show.model_info,
      residentBytes: ps.size,
      acceleratorBytes: ps.size_vram,
      placementVia: 'GET /api/ps size, size_vram',
      ctxPerSeq: ps.context_length,
      // eval_count / eval_duration (ns): 18 / 0.052479709 s = 343.0 tok/s.
      measuredTokPerSec: gen.eval_count / (gen.eval_duration / 1e9),
      measuredVia: 'POST /api/generate eval_count / eval_duration',
    },
    hw('rtx-4090'),
  );
  assert.equal(v.bottleneck, 'capacity');
  assert.equal(v.findings[0]!.code, 'cpu-offload');
  assert.equal(v.findings[0]!.numbers.cpuBytes, 6_591_830_464 - 5_333_539_264);
  // The 4096 window is below an agent's baseline: flagged too, priced from gemma4's KV layout.
  const w = v.findings.find((f) => f.code === 'window-below-agent-baseline')!;
  assert.ok(w.numbers.extraKvBytes! > 0);
  assert.equal(v.modelSource, 'gguf-metadata');
});

test('catalog model by Ollama tag, measured on DGX Spark: real modules agree with the hand-derived ceiling', () => {
  // Hand derivation (verdict.test.ts): 7,516,953,640 B per token → 273e9 / 7.517e9 = 36.32 tok/s ceiling.
  const b = buildSituation({ engine: 'llama.cpp', model: 'qwen2.5-coder:7b', quant: 'Q8_0', measuredTokPerSec: 29.3, measuredDepth: 0, measuredVia: 'benches/dgx-spark.md' }, hw('dgx-spark-128'));
  assert.equal(b.modelSource, 'catalog');
  const ceiling = b.situation.speed!.ceilingTokPerSec!;
  assert.ok(Math.abs(ceiling - 36.32) / 36.32 < 0.03, `ceiling ${ceiling}`);
  const v = diagnoseEngine({ engine: 'llama.cpp', model: 'qwen2.5-coder:7b', quant: 'Q8_0', measuredTokPerSec: 29.3, measuredDepth: 0 }, hw('dgx-spark-128'));
  assert.equal(v.bottleneck, 'bandwidth');
  // At 32k depth the same row measured 22.70 tok/s: the ceiling drops with the KV read (57,344 B/token × 32k = 1.88 GB).
  const deep = buildSituation({ engine: 'llama.cpp', model: 'qwen2.5-coder:7b', quant: 'Q8_0', measuredTokPerSec: 22.7, measuredDepth: 32768 }, hw('dgx-spark-128'));
  assert.ok(deep.situation.speed!.ceilingTokPerSec! < ceiling * 0.82);
  assert.equal(diagnoseEngine({ engine: 'llama.cpp', model: 'qwen2.5-coder:7b', quant: 'Q8_0', measuredTokPerSec: 22.7, measuredDepth: 32768 }, hw('dgx-spark-128')).bottleneck, 'bandwidth');
});

test('engine-reported weight size wins over our estimate; unknown models still get engine-only findings', () => {
  const b = buildSituation({ engine: 'ollama', model: 'llama3.1:8b', quant: 'Q4_K_M', weightsBytes: 4_920_000_000 }, hw('rtx-4090'));
  assert.equal(b.situation.weights!.totalBytes, 4_920_000_000);
  assert.equal(b.situation.weights!.source, 'engine');
  const u = diagnoseEngine({ engine: 'ollama', model: 'my-finetune:latest', residentBytes: 30e9, acceleratorBytes: 20e9, ctxPerSeq: 2048, promptTokens: [6000] }, hw('rtx-4090'));
  assert.equal(u.modelSource, 'unknown');
  assert.equal(u.bottleneck, 'capacity');
  assert.deepEqual(u.findings.map((f) => f.code), ['cpu-offload', 'window-too-small']);
  assert.ok(u.notes[0]!.includes('architecture unknown'));
});
