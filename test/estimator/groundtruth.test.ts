// Every measured llama-server load in test/fixtures/groundtruth, rebuilt from the real GGUF headers:
// KV exact to the 0.01 MiB llama.cpp prints, weights = tensor data bytes, compute within a few %,
// total within 2 %. Prints a table of errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readGgufHeader } from '../../src/gguf/read';
import { specFromGgufMetadata } from '../../src/estimator/gguf-spec';
import { weightsForQuant, weightsFromTensors } from '../../src/estimator/weights';
import { estimateMemory } from '../../src/estimator/memory';
import { kvLayout } from '../../src/estimator/kv';
import type { ModelSpec } from '../../src/estimator/types';
import { HEADERS, MIB, contextOptionsFor, loadGroundtruth, type GroundtruthRow } from '../support/llamacpp-groundtruth';

const rows = loadGroundtruth();

const specCache = new Map<string, ModelSpec>();
async function specFor(arch: string, variant: 'q4km' | 'f16'): Promise<ModelSpec> {
  const path = HEADERS[arch]?.[variant];
  if (!path) throw new Error(`no ${variant} header for ${arch}`);
  let spec = specCache.get(path);
  if (!spec) {
    const h = await readGgufHeader(path);
    spec = specFromGgufMetadata(h.metadata, h.tensors, path);
    specCache.set(path, spec);
  }
  return spec;
}

async function weightsFor(row: GroundtruthRow): Promise<{ spec: ModelSpec; bytes: number; how: string }> {
  if (row.quant === 'Q4_K_M') {
    const spec = await specFor(row.arch, 'q4km');
    return { spec, bytes: weightsFromTensors(spec, row.quant).totalBytes, how: 'header' };
  }
  if (row.quant === 'F16' && HEADERS[row.arch]?.f16) {
    const spec = await specFor(row.arch, 'f16');
    return { spec, bytes: weightsFromTensors(spec, row.quant).totalBytes, how: 'header' };
  }
  // No header for this variant: the Q4_K_M header's shapes, re-quantized by recipe.
  const spec = await specFor(row.arch, 'q4km');
  return { spec, bytes: weightsForQuant(spec, row.quant).totalBytes, how: 'recipe' };
}

const ctxFor = contextOptionsFor;

const pct = (ours: number, truth: number): number => (100 * (ours - truth)) / truth;

test('groundtruth: every row of llamacpp-groundtruth.csv', async (t) => {
  assert.ok(rows.length >= 40, `expected the full CSV, got ${rows.length} rows`);
  const table: string[] = [];
  let maxCompute = 0;
  let maxTotal = 0;
  for (const row of rows) {
    const { spec, bytes, how } = await weightsFor(row);
    const ctx = ctxFor(row);
    const mem = estimateMemory(spec, { quant: row.quant, totalBytes: bytes, activeBytes: bytes, source: 'gguf' }, ctx);
    const kv = kvLayout(spec, ctx);
    const truthTotal = row.tensorDataBytes + (row.kvMiB + row.computeMiB + row.outputMiB) * MIB;
    const eW = pct(bytes, row.tensorDataBytes);
    const eC = pct(mem.computeBytes, row.computeMiB * MIB);
    const eT = pct(mem.totalBytes, truthTotal);
    maxCompute = Math.max(maxCompute, Math.abs(eC));
    maxTotal = Math.max(maxTotal, Math.abs(eT));
    table.push(
      `${row.caseName.padEnd(36)} w(${how}) ${eW.toFixed(3).padStart(7)}%  kv ${(mem.kvBytes / MIB).toFixed(2).padStart(8)}/${row.kvMiB.toFixed(2).padStart(8)}  ` +
        `compute ${(mem.computeBytes / MIB).toFixed(2).padStart(8)}/${row.computeMiB.toFixed(2).padStart(8)} (${eC.toFixed(2)}%)  ` +
        `out ${(mem.otherBytes / MIB).toFixed(2)}/${row.outputMiB.toFixed(2)}  total ${eT.toFixed(3)}%`,
    );
    // KV: exact to the printed 0.01 MiB, K and V separately.
    assert.ok(Math.abs(kv.kBytes / MIB - row.kMiB) <= 0.0051, `${row.caseName}: K ${kv.kBytes / MIB} vs ${row.kMiB}`);
    assert.ok(Math.abs(kv.vBytes / MIB - row.vMiB) <= 0.0051, `${row.caseName}: V ${kv.vBytes / MIB} vs ${row.vMiB}`);
    assert.equal(mem.allocatedCtx, row.nCtxActual, `${row.caseName}: n_ctx`);
    // Weights: the file's tensor data, exactly when read from a header, within 1 % by recipe.
    if (how === 'header') assert.equal(bytes, row.tensorDataBytes, `${row.caseName}: weights`);
    else assert.ok(Math.abs(eW) < 1, `${row.caseName}: weights off by ${eW.toFixed(3)} %`);
    assert.ok(Math.abs(mem.otherBytes / MIB - row.outputMiB) <= 0.0051, `${row.caseName}: output buffer`);
    assert.ok(Math.abs(eC) < 7, `${row.caseName}: compute off by ${eC.toFixed(2)} %`);
    assert.ok(Math.abs(eT) < 2, `${row.caseName}: total off by ${eT.toFixed(3)} %`);
  }
  t.diagnostic(`\n${table.join('\n')}\nmax |compute error| ${maxCompute.toFixed(2)} %, max |total error| ${maxTotal.toFixed(3)} %`);
  console.log(table.join('\n'));
  console.log(`max |compute error| ${maxCompute.toFixed(2)} %, max |total error| ${maxTotal.toFixed(3)} %`);
});
