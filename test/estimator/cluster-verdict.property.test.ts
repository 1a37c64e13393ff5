// Properties that must hold for any input: layer splits are exact, a pipeline never decodes one stream
// faster than its fastest node alone, and the verdict never throws on arbitrary numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { planCluster, splitLayers, type ClusterModel } from '../../src/estimator/cluster';
import { LINKS, LINK_KINDS } from '../../src/estimator/interconnect';
import { diagnose } from '../../src/estimator/verdict';
import { HARDWARE_PROFILES } from '../../src/estimator/hardware';

test('splitLayers: sums to nLayers, no negatives, more memory never fewer layers', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 200 }), fc.array(fc.double({ min: 0.01, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 12 }), (n, w) => {
      const s = splitLayers(n, w);
      assert.equal(s.reduce((a, b) => a + b, 0), n);
      assert.ok(s.every((x) => x >= 0 && Number.isInteger(x)));
      for (let i = 0; i < w.length; i++) for (let j = 0; j < w.length; j++) if (w[i]! > w[j]!) assert.ok(s[i]! >= s[j]!);
    }),
  );
});

test('splitLayers: near-equal nodes (rounding noise apart) still give the larger one at least as many layers', () => {
  // The counterexample fast-check found: two nodes 1 ulp apart.
  const w = [52604.445289495416, 0.01, 0.01, 15.772575587037865, 999999.9999999997, 70.13067434390543, 999999.9999999998];
  const s = splitLayers(26, w);
  assert.ok(s[6]! >= s[4]!, String(s));
  assert.equal(s.reduce((a, b) => a + b, 0), 26);
});

test('a pipeline of identical nodes never decodes one stream faster than one of them holding it all', () => {
  const hwArb = fc.constantFrom(...HARDWARE_PROFILES);
  fc.assert(
    fc.property(hwArb, fc.integer({ min: 2, max: 8 }), fc.constantFrom(...LINK_KINDS), fc.double({ min: 1e8, max: 2e10, noNaN: true }), fc.integer({ min: 8, max: 120 }), (hw, n, lk, active, layers) => {
      const m: ClusterModel = {
        spec: { id: 'p', name: 'p', arch: 'llama', source: 'estimated', totalParams: 1, activeParams: 1, nLayers: layers, hiddenSize: 4096, nHeads: 32, nKvHeadsPerLayer: new Array(layers).fill(8), headDimK: 128, headDimV: 128, vocabSize: 1, contextTrain: 1 },
        weights: { quant: 'Q4_K_M', totalBytes: active, activeBytes: active, source: 'estimated' },
        memory: { weightsBytes: active, kvBytes: 0, computeBytes: 0, otherBytes: 0, totalBytes: active, allocatedCtx: 0, kvBytesPerToken: 0 },
      };
      const nodes = Array.from({ length: n }, (_, i) => ({ id: `n${i}`, hardware: hw, availableBytes: 1e15 }));
      for (const engine of ['exo', 'llama.cpp-rpc'] as const) {
        const p = planCluster(engine, nodes, LINKS[lk], m);
        assert.ok(p.singleNode, 'fits on one');
        assert.ok(p.decode.tokPerSec <= p.singleNode.tokPerSec * (1 + 1e-9));
        assert.ok(p.decode.ceilingTokPerSec >= p.decode.tokPerSec);
      }
    }),
  );
});

test('diagnose never throws and always returns plain JSON, whatever the numbers', () => {
  const num = fc.oneof(fc.double(), fc.integer(), fc.constant(0), fc.constant(-1), fc.constant(Number.NaN), fc.constant(Number.POSITIVE_INFINITY));
  fc.assert(
    fc.property(fc.constantFrom(...HARDWARE_PROFILES), fc.constantFrom('ollama', 'llama.cpp', 'vllm', 'exo', 'x'), num, num, num, num, num, num, fc.array(num, { maxLength: 5 }), (hw, engine, a, b, c, d, e, f, prompts) => {
      const v = diagnose({
        engine,
        hardware: hw,
        model: { id: 'm', totalParams: a, activeParams: b },
        memory: { weightsBytes: c, kvBytes: d, computeBytes: 0, otherBytes: 0, totalBytes: c + d, allocatedCtx: 1, kvBytesPerToken: e },
        offload: { residentBytes: c, acceleratorBytes: d, via: 'x' },
        speed: { measuredTokPerSec: e, ceilingTokPerSec: f, predictedTokPerSec: a },
        window: { ctxPerSeq: f, promptTokens: prompts, kvBytesPerToken: e },
      });
      assert.ok(['capacity', 'bandwidth', 'stack', 'unknown'].includes(v.bottleneck));
      JSON.stringify(v);
    }),
  );
});
