// One estimate of a loaded model (issue 12): the same recorded engine replay, fed to `headroom status --json`
// (the bundled CLI in a child process) and to the status bar's view model (detect → assemble), gives the same
// weights, KV, total and predicted decode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findHardware } from '../../src/estimator/hardware';
import { detect } from '../../src/providers/detect';
import { assemble } from '../../src/views/assemble';
import { engineRoutes, startFixtureServer, startServer, type Reply } from '../support/fixture-server';
import { readLocalGguf, type GgufFile } from '../../src/providers/estimate';
import { DATA } from '../support/data';
import { runCliAsync } from '../support/run-cli';
import type { StatusJson } from '../../src/cli/status';

const thresholds = { contextFraction: 0.85, memoryFraction: 0.9, turnsLeft: 3 };

/** The llama.cpp replay with `model_path` pointing at the real GGUF header of the model it served. */
async function llamaWithHeader() {
  const { routes, notFound } = engineRoutes('llama.cpp');
  const props = routes['GET /props'] as Reply;
  const path = join(DATA, 'groundtruth/gguf-headers/llama31-8b-shape-4L-Q4_K_M.header.gguf.gz');
  routes['GET /props'] = { ...props, body: props.body.replace('"model_path":"llama31-8b-shape-4L-Q4_K_M.gguf"', `"model_path":${JSON.stringify(path)}`) };
  assert.ok((routes['GET /props'] as Reply).body.includes(path));
  return startServer(routes, notFound);
}

for (const engine of ['llama.cpp', 'llama.cpp + GGUF header', 'ollama'] as const) {
  test(`${engine} replay: headroom status --json and the status bar show the same weights, KV, total and decode`, async (t) => {
    const server = engine === 'llama.cpp + GGUF header' ? await llamaWithHeader() : await startFixtureServer(engine);
    t.after(() => server.close());
    const store = join(mkdtempSync(join(tmpdir(), 'headroom-agree-')), 'bench.json');
    const r = await runCliAsync(['status', '--endpoint', server.url, '--no-defaults', '--hardware', 'rtx-4090', '--json', '--store', store]);
    assert.equal(r.code, 0, r.stderr);
    const cli = (JSON.parse(r.stdout) as StatusJson[])[0]!;

    const detections = await detect([{ url: server.url, source: 'settings' }]);
    // The Session reads local model files' headers the same way before assembling.
    const files = new Map<string, GgufFile>();
    for (const lm of detections.flatMap((d) => d.snapshot?.loaded ?? [])) {
      const h = await readLocalGguf(lm, true);
      if (h.file && lm.modelPath) files.set(lm.modelPath, h.file);
    }
    const { state, estimates } = assemble({ detections, hardware: findHardware('rtx-4090')!, chosenBy: 'setting', thresholds, files });
    assert.ok(state.models.length > 0);
    assert.equal(cli.models.length, state.models.length);
    for (const [i, view] of state.models.entries()) {
      const m = cli.models[i]!;
      const f = m.figures;
      assert.deepEqual([f.weights.value, f.weights.source], [view.memory.weights.value, view.memory.weights.source], 'weights');
      assert.equal(f.kv.value, view.memory.kv.value, 'KV');
      // The 4-layer test model is in no catalog: without its header neither side knows the shape (both say so).
      if (engine === 'llama.cpp') assert.equal(view.shapeUnknown, true);
      else assert.ok(f.kv.value > 0);
      if (engine === 'llama.cpp + GGUF header') {
        assert.equal(estimates.get(view.key)?.estimate?.specSource, 'gguf');
        assert.equal(m.spec?.via.startsWith('GGUF header of'), true);
        assert.equal(m.weights?.via, 'GGUF tensor table');
      }
      assert.deepEqual([f.total.value, f.total.source], [view.memory.total.value, view.memory.total.source], 'total');
      assert.equal(f.decode?.predictedTokPerSec, view.speed.predicted, 'predicted decode');
      assert.equal(f.decode?.ceilingTokPerSec, view.speed.ceiling, 'decode ceiling');
      if (!view.shapeUnknown) assert.ok((view.speed.predicted ?? 0) > 0);
      // The older CLI fields come from the same estimate.
      if (view.shapeUnknown) {
        assert.equal(m.memory, null);
        assert.match(m.problems.join(' '), /no architecture/);
      } else {
        assert.equal(m.weights?.totalBytes, view.memory.weights.value);
        assert.equal(m.memory?.kvBytes, view.memory.kv.value);
        if (view.memory.total.source === 'estimated') assert.equal(m.memory?.totalBytes, view.memory.total.value);
      }
    }
  });
}
