// From real detection (recorded engine responses replayed on 127.0.0.1) to the status bar: the numbers the
// engines report keep the `engine` provenance, our additions say `estimated`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findHardware } from '../../src/estimator/hardware';
import { detect } from '../../src/providers/detect';
import { assemble, modelKey } from '../../src/views/assemble';
import { statusText, statusTooltip } from '../../src/views/status';
import { startFixtureServer } from '../support/fixture-server';

const thresholds = { contextFraction: 0.85, memoryFraction: 0.9, turnsLeft: 3 };
const GiB = 1024 ** 3;

test('Ollama + llama.cpp fixture servers → one dashboard', async (t) => {
  const ollama = await startFixtureServer('ollama');
  const llama = await startFixtureServer('llama.cpp');
  t.after(() => Promise.all([ollama.close(), llama.close()]));
  const detections = await detect([
    { url: ollama.url, source: 'settings' },
    { url: llama.url, source: 'settings' },
  ]);
  const hw = findHardware('rtx-4090')!;
  const { state, estimates } = assemble({ detections, hardware: hw, chosenBy: 'setting', thresholds, live: new Map([[modelKey(ollama.url, 'gemma4'), { decodeTokPerSec: 18 / 0.052479709, source: 'engine' as const }]]) });
  assert.equal(state.phase, 'ready');
  assert.deepEqual(state.engines.map((e) => e.engine), ['ollama', 'llama.cpp']);
  const [g, l] = state.models;
  // Ollama: /api/ps size 6591830464 is everything resident; size − size_vram = 1258291200 on the CPU.
  assert.deepEqual(g!.memory.total, { value: 6591830464, source: 'engine' });
  assert.deepEqual(g!.cpuBytes, { value: 1258291200, source: 'engine' });
  assert.deepEqual(g!.context.configured, { value: 4096, source: 'engine' });
  assert.equal(g!.memory.kv.source, 'estimated');
  // The shape comes from /api/show model_info (gemma4.* keys): KV for 4096 tokens is a positive estimate.
  assert.equal(estimates.get(g!.key)!.estimate?.specSource, 'engine');
  assert.ok(g!.memory.kv.value > 0);
  // llama.cpp: meta.size 1249763584 weights, 2 slots × 4096, n_ctx_train 131072.
  assert.deepEqual(l!.memory.weights, { value: 1249763584, source: 'engine' });
  assert.equal(l!.context.parallel, 2);
  assert.equal(l!.context.trained, 131072);
  assert.equal(l!.memory.total.source, 'estimated');
  // Status: the offloaded Ollama model colours it; speed from the live reading (18 tokens in 52.48 ms).
  const text = statusText(state, 'memory-and-speed');
  assert.match(text, /^\$\(warning\) \d+\.\d \/ 23 GB · 343 tok\/s$/);
  const used = state.models.reduce((s, m) => s + m.memory.total.value, 0) / GiB;
  assert.ok(text.includes(`${used.toFixed(1)} / 23 GB`), `${text} vs ${used}`);
  assert.match(statusTooltip(state), /1\.2 GB spilled to system RAM _engine_/);
});

test('nothing answering → idle with the probed endpoints; a remote endpoint counts against its own profile', async (t) => {
  const closed = await startFixtureServer('ollama');
  const url = closed.url;
  await closed.close();
  const idle = assemble({ detections: await detect([{ url, source: 'settings' }]), hardware: findHardware('m5-max-128')!, chosenBy: 'default', thresholds });
  assert.equal(idle.state.phase, 'idle');
  assert.deepEqual(idle.state.probed, [url]);
  assert.equal(statusText(idle.state, 'memory-and-speed'), '$(server) No engine');

  const remote = await startFixtureServer('llama.cpp');
  t.after(() => remote.close());
  const detections = await detect([{ url: remote.url, source: 'settings', hardware: 'dgx-spark-128' }]);
  const { state } = assemble({ detections, hardware: findHardware('m5-max-128')!, chosenBy: 'default', thresholds });
  assert.equal(state.models[0]!.hardwareId, 'dgx-spark-128');
  assert.equal(statusText(state, 'memory'), '$(server) 0.0 / 96 GB');
});
