// The bench store on a real temp directory: round trip, missing file, and damaged files as typed errors.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addResult, type BenchResult } from '../../src/estimator/bench-result';
import { BenchStoreError, defaultBenchStorePath, loadBenchStore, saveBenchStore } from '../../src/providers/bench-store';

function tmp(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'bench-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const result: BenchResult = {
  key: { endpoint: 'http://127.0.0.1:8080', model: 'tiny.gguf', quant: 'F16', hardwareId: 'local-cpu' },
  engine: 'llama.cpp',
  measuredAt: '2026-11-23T13:00:00.000Z',
  nCtx: 4096,
  runs: [{ targetDepth: 0, promptTokens: 16, cachedTokens: 0, outputTokens: 64, decodeTokPerSec: 250.5, prefillTokPerSec: 900, ttftMs: 18, wallMs: 300, timing: 'engine' }],
};

test('round trip through a new directory; no temp files left behind', async (t) => {
  const dir = tmp(t);
  const path = join(dir, 'deep', 'er', 'bench.json');
  assert.deepEqual(await loadBenchStore(path), []);
  await saveBenchStore(path, addResult([], result));
  assert.deepEqual(await loadBenchStore(path), [result]);
  assert.deepEqual(readdirSync(join(dir, 'deep', 'er')), ['bench.json']);
});

test('damaged stores are BenchStoreErrors that say what is wrong', async (t) => {
  const dir = tmp(t);
  const cases: [string, RegExp][] = [
    ['{"version":1,"results":[', /not valid JSON/],
    ['[]', /unexpected content at \(root\)/],
    ['{"version":2,"results":[]}', /unexpected content at version/],
    [JSON.stringify({ version: 1, results: [{ ...result, runs: [{ ...result.runs[0], decodeTokPerSec: -1 }] }] }), /unexpected content at results\.0\.runs\.0\.decodeTokPerSec/],
  ];
  for (const [i, [body, re]] of cases.entries()) {
    const path = join(dir, `s${i}.json`);
    writeFileSync(path, body);
    await assert.rejects(loadBenchStore(path), (e: unknown) => e instanceof BenchStoreError && re.test(e.message) && e.message.startsWith(path));
  }
  const big = join(dir, 'big.json');
  writeFileSync(big, Buffer.alloc(5 << 20, 32));
  await assert.rejects(loadBenchStore(big), /larger than a bench store can be/);
  await assert.rejects(loadBenchStore(dir), (e: unknown) => e instanceof BenchStoreError && /cannot read \(EISDIR\)/.test(e.message));
});

test('default path: HEADROOM_BENCH_STORE, else XDG_STATE_HOME, else ~/.local/state', () => {
  assert.equal(defaultBenchStorePath({ HEADROOM_BENCH_STORE: '/x/y.json' }, '/home/u'), '/x/y.json');
  assert.equal(defaultBenchStorePath({ XDG_STATE_HOME: '/state' }, '/home/u'), '/state/headroom/bench-results.json');
  assert.equal(defaultBenchStorePath({}, '/home/u'), '/home/u/.local/state/headroom/bench-results.json');
});
