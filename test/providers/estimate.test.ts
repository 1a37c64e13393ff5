// Loaded model → spec + memory estimate, from each source: a real GGUF file on disk (our tiny model),
// Ollama's model_info (recorded docs example), and the catalog. KV arithmetic checked by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { estimateLoaded as estimatePure, kvTypeOf, loadedFigures, readLocalGguf, type LoadedEstimate } from '../../src/providers/estimate';
import { findHardware } from '../../src/estimator/hardware';
import { reported } from '../../src/providers/facts';
import type { LoadedModel } from '../../src/providers/types';
import { FIXTURES } from '../support/fixture-server';
import { TINY_DEFAULTS, tinyModelPath } from '../support/tiny-model';

/** What `headroom status` does: read the header when the engine is local, then the one shared estimate. */
async function estimateLoaded(m: LoadedModel, opts: { local: boolean }): Promise<Partial<LoadedEstimate> & { problems: string[] }> {
  const h = await readLocalGguf(m, opts.local);
  const r = estimatePure(m, h.file);
  return { ...(r.estimate ?? {}), problems: [...(h.problem ? [h.problem] : []), ...r.problems] };
}

const llamaInfo = (JSON.parse(readFileSync(join(FIXTURES, 'ollama', 'api_show_llama.json'), 'utf8')) as { model_info: Record<string, unknown> }).model_info;

test('Ollama model_info (llama 8B): KV per token = 2 × 32 layers × 8 KV heads × 128 × 2 bytes', async () => {
  const m: LoadedModel = {
    name: 'llama3.1:8b',
    quant: reported('Q4_0', 'GET /api/ps details.quantization_level'),
    metadata: llamaInfo,
    contextPerSlot: reported(8192, 'GET /api/ps context_length'),
  };
  const e = await estimateLoaded(m, { local: true });
  assert.deepEqual(e.problems, []);
  assert.equal(e.specSource, 'engine');
  assert.equal(e.spec?.arch, 'llama');
  assert.equal(e.memory?.kvBytesPerToken, 2 * 32 * 8 * 128 * 2);
  assert.equal(e.memory?.kvBytes, 2 * 32 * 8 * 128 * 2 * 8192);
  assert.equal(e.weights?.via, 'Q4_0 recipe applied to the spec');
  // 8.03 B parameters at Q4_0 (4.5 bits) with a Q6_K output head: between 4.3 and 4.9 GB.
  assert.ok(e.weights!.totalBytes > 4.3e9 && e.weights!.totalBytes < 4.9e9, String(e.weights?.totalBytes));
});

test('a readable GGUF path wins: spec and weights from the file header (tiny real GGUF)', async () => {
  const path = tinyModelPath();
  const m: LoadedModel = { name: 'tiny', modelPath: path, contextPerSlot: reported(1024, 'GET /props'), parallel: reported(2, 'GET /props total_slots'), metadata: llamaInfo };
  const e = await estimateLoaded(m, { local: true });
  assert.equal(e.specSource, 'gguf');
  assert.match(e.specVia ?? '', /GGUF header of/);
  const headDim = TINY_DEFAULTS.hidden / TINY_DEFAULTS.nHeads;
  assert.equal(e.memory?.kvBytesPerToken, 2 * TINY_DEFAULTS.nLayers * TINY_DEFAULTS.nKvHeads * headDim * 2);
  assert.equal(e.memory?.allocatedCtx, 2048, 'two slots × 1024, one cache per slot');
  assert.equal(e.weights?.via, 'GGUF tensor table');
});

test('a remote engine\'s model path is not read here; metadata is used instead', async () => {
  const e = await estimateLoaded({ name: 'x', modelPath: tinyModelPath(), metadata: llamaInfo, quant: reported('Q4_0', 'x'), contextPerSlot: reported(4096, 'x') }, { local: false });
  assert.equal(e.spec?.source, 'engine');
});

test('unified KV (total = one slot\'s context) allocates that total once', async () => {
  const e = await estimateLoaded(
    { name: 'x', metadata: llamaInfo, quant: reported('Q4_0', 'x'), contextPerSlot: reported(4096, 'x'), parallel: reported(4, 'x'), contextTotal: reported(4096, 'x') },
    { local: true },
  );
  assert.equal(e.context?.kvUnified, true);
  assert.equal(e.memory?.allocatedCtx, 4096);
});

test('catalog fallback by name, and clear problems when nothing is known', async () => {
  const cat = await estimateLoaded({ name: 'meta-llama/Llama-3.1-8B-Instruct', quant: reported('Q4_K_M', 'x'), contextPerSlot: reported(4096, 'x') }, { local: true });
  assert.equal(cat.specSource, 'catalog');
  assert.ok(cat.memory && cat.memory.totalBytes > 4e9);
  const none = await estimateLoaded({ name: 'mystery-model-xyz' }, { local: true });
  assert.equal(none.memory, undefined);
  assert.match(none.problems.join(' '), /no architecture for 'mystery-model-xyz'/);
  const broken = await estimateLoaded({ name: 'x', modelPath: '/nonexistent/model.gguf' }, { local: true });
  assert.match(broken.problems[0] ?? '', /not readable here: cannot open/);
});

test('engine KV labels map to llama.cpp cache types', () => {
  assert.equal(kvTypeOf('q8_0'), 'q8_0');
  assert.equal(kvTypeOf('Q8'), 'q8_0');
  assert.equal(kvTypeOf('fp8_e5m2'), 'q8_0');
  assert.equal(kvTypeOf('Q4'), 'q4_0');
  assert.equal(kvTypeOf('auto'), 'f16');
  assert.equal(kvTypeOf(undefined), 'f16');
});

test('a partly offloaded model: its system-RAM share decodes at the measured CPU bandwidth when known', () => {
  const m: LoadedModel = {
    name: 'llama3.1:8b',
    quant: reported('Q4_0', 'GET /api/ps details.quantization_level'),
    metadata: llamaInfo,
    contextPerSlot: reported(8192, 'GET /api/ps context_length'),
    residentBytes: reported(6e9, 'GET /api/ps size'),
    cpuBytes: reported(3e9, 'GET /api/ps size − size_vram'),
  };
  const e = estimatePure(m).estimate!;
  const gpu = findHardware('rtx-4090')!;
  const slowRam = loadedFigures(m, e, gpu, 0, 'ollama', 20).decode!.predictedTokPerSec;
  const fastRam = loadedFigures(m, e, gpu, 0, 'ollama', 80).decode!.predictedTokPerSec;
  const assumed = loadedFigures(m, e, gpu, 0, 'ollama').decode!.predictedTokPerSec;
  const allOnGpu = loadedFigures({ ...m, cpuBytes: reported(0, 'GET /api/ps size − size_vram') }, e, gpu, 0, 'ollama').decode!.predictedTokPerSec;
  // Half the weights at 20 GB/s vs 80 GB/s: the slow-RAM machine decodes several times slower; both far below the GPU alone.
  assert.ok(slowRam < fastRam && fastRam < allOnGpu, `${slowRam} < ${fastRam} < ${allOnGpu}`);
  assert.ok(fastRam / slowRam > 2.5, `${fastRam / slowRam}`);
  // With nothing measured, the desktop profile's bandwidth (85 GB/s) stands in.
  const desktop = findHardware('cpu-ddr5')!.bandwidthGBps;
  assert.ok(Math.abs(loadedFigures(m, e, gpu, 0, 'ollama', desktop).decode!.predictedTokPerSec - assumed) < 1e-9);
});

test('the engine\'s own build dates its kernels: llama-server build_info in the launch window of the model\'s architecture', () => {
  // A llama-server serving Qwen3-Next by its catalog repo id, as /props names a model loaded with -hf.
  const m: LoadedModel = { name: 'Qwen/Qwen3-Next-80B-A3B-Instruct', quant: reported('Q4_K_M', 'GET /props'), contextPerSlot: reported(8192, 'GET /props') };
  const e = estimatePure(m, undefined).estimate!;
  assert.equal(e.spec.arch, 'qwen3next');
  const strix = findHardware('strix-halo-128')!;
  const early = loadedFigures(m, e, strix, 0, { kind: 'llama.cpp', version: 'b7189-c6f7a423c' }).decode!;
  const later = loadedFigures(m, e, strix, 0, { kind: 'llama.cpp', version: 'b7938-0123abcd' }).decode!;
  assert.ok(early.predictedTokPerSec < 0.9 * later.predictedTokPerSec, `${early.predictedTokPerSec} vs ${later.predictedTokPerSec}`);
  assert.match(early.kernels!, /launch build: llama\.cpp build 7189/);
  assert.doesNotMatch(later.kernels ?? '', /launch build/);
  // The kind alone (no version) predicts a mature build, as before.
  assert.equal(loadedFigures(m, e, strix, 0, 'llama.cpp').decode!.predictedTokPerSec, later.predictedTokPerSec);
});
