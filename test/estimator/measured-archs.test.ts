// MLA (DeepSeek-V2-Lite shape), gpt-oss (SWA 128 + MXFP4 experts) and Qwen3-Next (hybrid linear attention)
// against real llama-server loads
// recorded by test/support/measure-archs.ts (fixtures/measured-archs.json, headers alongside).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readGgufHeader } from '../../src/gguf/read';
import { specFromGgufMetadata } from '../../src/estimator/gguf-spec';
import { weightsFromTensors } from '../../src/estimator/weights';
import { defaultContextOptions, estimateMemory } from '../../src/estimator/memory';
import type { KvType, ModelSpec } from '../../src/estimator/types';
import type { MeasuredLoad } from '../support/measure-archs';

const FIX = join(__dirname, 'fixtures');
const MIB = 1024 * 1024;
const { loads } = JSON.parse(readFileSync(join(FIX, 'measured-archs.json'), 'utf8')) as { loads: MeasuredLoad[] };

test('MLA, gpt-oss and Qwen3-Next: KV and recurrent state exact, weights exact, compute and total close to measured llama-server loads', async () => {
  assert.ok(loads.length >= 21);
  const specs = new Map<string, ModelSpec>();
  const table: string[] = [];
  const checks: (() => void)[] = [];
  for (const l of loads) {
    let spec = specs.get(l.model);
    if (!spec) {
      const h = await readGgufHeader(join(FIX, `${l.model}.header.gguf.gz`));
      spec = specFromGgufMetadata(h.metadata, h.tensors, l.model);
      specs.set(l.model, spec);
    }
    const w = weightsFromTensors(spec, 'mixed');
    const mem = estimateMemory(spec, w, defaultContextOptions({
      ctxPerSeq: l.nCtx / l.nSeqMax,
      parallel: l.nSeqMax,
      kvUnified: l.kvUnified,
      flashAttention: l.flashAttn,
      kvTypeK: l.typeK as KvType,
      kvTypeV: l.typeV as KvType,
      nUbatch: l.nUbatch,
    }));
    const truth = l.tensorDataBytes + (l.kvMiB + l.recurrentMiB + l.computeMiB + l.outputMiB) * MIB;
    const eC = (100 * (mem.computeBytes / MIB - l.computeMiB)) / l.computeMiB;
    const eT = (100 * (mem.totalBytes - truth)) / truth;
    table.push(`${l.model} ${l.config.padEnd(18)} kv ${(mem.kvBytes / MIB).toFixed(2)}/${l.kvMiB}  compute ${(mem.computeBytes / MIB).toFixed(2)}/${l.computeMiB} (${eC.toFixed(1)} %)  out+state ${(mem.otherBytes / MIB).toFixed(2)}/${(l.outputMiB + l.recurrentMiB).toFixed(2)}  total ${eT.toFixed(2)} %`);
    checks.push(() => {
    assert.equal(w.totalBytes, l.tensorDataBytes, `${l.model}: weights`);
    assert.equal(mem.allocatedCtx, l.nCtx, `${l.model} ${l.config}: n_ctx`);
    assert.ok(Math.abs(mem.kvBytes / MIB - l.kvMiB) <= 0.011, `${l.model} ${l.config}: KV ${mem.kvBytes / MIB} vs ${l.kvMiB}`);
    assert.ok(Math.abs(mem.otherBytes / MIB - l.outputMiB - l.recurrentMiB) <= 0.011, `${l.model} ${l.config}: output + recurrent state`);
    // Known weak spot: the MoE peak with many small experts (Qwen3-Next: 10 × 512) is overestimated by
    // up to ~16 %; the routed-expert formula is exact for Qwen3-MoE and within 3 % for gpt-oss / DeepSeek.
    const computeBound = l.model.startsWith('qwen3next') ? 20 : 5;
    assert.ok(Math.abs(eC) < computeBound, `${l.model} ${l.config}: compute off by ${eC.toFixed(1)} %`);
    assert.ok(Math.abs(eT) < 2, `${l.model} ${l.config}: total off by ${eT.toFixed(2)} %`);
    });
  }
  console.log(table.join('\n'));
  for (const c of checks) c();
});
