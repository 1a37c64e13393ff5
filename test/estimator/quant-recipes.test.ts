// Our port of llama-quantize's per-tensor type choice, against what the real llama-quantize (same
// commit, --dry-run) chose for every quant type on seven real-shape headers (Llama, Qwen3-MoE, Gemma 3,
// DeepSeek MLA, gpt-oss, Qwen3-Next). Recorded by test/support/measure-quant-recipes.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { readGgufHeader } from '../../src/gguf/read';
import { specFromGgufMetadata } from '../../src/estimator/gguf-spec';
import { applyGgufRecipe, parseQuant } from '../../src/estimator/quant-recipes';
import { ggmlType } from '../../src/estimator/ggml-types';
import type { RecipeRecord } from '../support/measure-quant-recipes';

const ROOT = resolve(__dirname, '..', '..');
const { records } = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'quant-recipes.json'), 'utf8')) as { records: RecipeRecord[] };

test('recipe matches llama-quantize tensor by tensor, for every quant type and architecture', async () => {
  assert.ok(records.length >= 7 * 30);
  const specs = new Map<string, Awaited<ReturnType<typeof load>>>();
  async function load(path: string) {
    const h = await readGgufHeader(isAbsolute(path) ? path : join(ROOT, path));
    return specFromGgufMetadata(h.metadata, h.tensors, path);
  }
  const mismatches: string[] = [];
  let compared = 0;
  for (const r of records) {
    if (!r.types) continue;
    let spec = specs.get(r.header);
    if (!spec) specs.set(r.header, (spec = await load(r.header)));
    const q = parseQuant(r.ftype);
    assert.ok(q, r.ftype);
    const source = spec.tensors!.map((t) => (t.shape.length >= 2 && t.type !== 0 ? { ...t, type: 1 } : t));
    const ours = applyGgufRecipe(source, q, {
      arch: spec.arch,
      nLayers: spec.nLayers,
      nHeads: spec.nHeads,
      nKvHeads: spec.nKvHeadsPerLayer.find((h) => h > 0) ?? spec.nHeads,
      nExperts: spec.moe?.nExperts ?? 0,
    });
    const byName = new Map(ours.map((t) => [t.name, ggmlType(t.type)!.name]));
    for (const [name, real] of r.types) {
      compared++;
      const mine = byName.get(name);
      if (mine !== real) mismatches.push(`${r.header.split('/').pop()} ${r.ftype} ${name}: ours ${mine}, llama-quantize ${real}`);
    }
  }
  console.log(`${compared} tensor decisions compared, ${mismatches.length} mismatches`);
  assert.deepEqual(mismatches.slice(0, 40), []);
});
