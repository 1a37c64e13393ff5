// appendBenchResult (what Measure Speed saves through) on a real temp directory: results saved by another
// writer in between are kept, the per-stack cap holds, and a damaged store is reported, never overwritten.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchResult } from '../../src/estimator/bench-result';
import { appendBenchResult, BenchStoreError, loadBenchStore, saveBenchStore } from '../../src/providers/bench-store';
import { FIXTURES } from '../support/fixture-server';

function tmp(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'bench-append-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** llama.cpp's recorded /completion timings as one measured run, at the given time. */
function recorded(measuredAt: string, hardwareId = 'rtx-4090'): BenchResult {
  const x = (JSON.parse(readFileSync(join(FIXTURES, 'llama.cpp', 'completion.json'), 'utf8')) as { timings: Record<string, number> }).timings;
  return {
    key: { endpoint: 'http://127.0.0.1:8080', model: 'llama31-8b-shape-4L-Q4_K_M.gguf', quant: 'Q4_K_M', hardwareId },
    engine: 'llama.cpp',
    measuredAt,
    runs: [{ targetDepth: 0, promptTokens: x.prompt_n! + x.cache_n!, cachedTokens: x.cache_n!, outputTokens: x.predicted_n!, decodeTokPerSec: x.predicted_per_second!, prefillTokPerSec: x.prompt_per_second!, wallMs: x.prompt_ms! + x.predicted_ms!, timing: 'engine' }],
  };
}

test('appends into a new directory and keeps what another writer saved in between', async (t) => {
  const path = join(tmp(t), 'state', 'headroom', 'bench-results.json');
  const first = await appendBenchResult(path, recorded('2026-11-23T10:00:00.000Z'));
  assert.deepEqual(first, [recorded('2026-11-23T10:00:00.000Z')]);
  // `headroom bench` on another profile writes the file directly...
  await saveBenchStore(path, [...(await loadBenchStore(path)), recorded('2026-11-23T10:05:00.000Z', 'rtx-3090')]);
  // ...and the next Measure Speed save re-reads it instead of writing its stale copy back.
  const after = await appendBenchResult(path, recorded('2026-11-23T10:10:00.000Z'));
  assert.deepEqual(after.map((r) => [r.key.hardwareId, r.measuredAt]).sort(), [
    ['rtx-3090', '2026-11-23T10:05:00.000Z'],
    ['rtx-4090', '2026-11-23T10:00:00.000Z'],
    ['rtx-4090', '2026-11-23T10:10:00.000Z'],
  ]);
  assert.deepEqual(await loadBenchStore(path), after);
  assert.equal(after.find((r) => r.measuredAt.endsWith('10:10:00.000Z'))!.runs[0]!.decodeTokPerSec, 25.51072470866752);
});

test('six saves of one stack keep the newest five', async (t) => {
  const path = join(tmp(t), 'bench.json');
  for (let i = 0; i < 6; i++) await appendBenchResult(path, recorded(`2026-11-23T1${i}:00:00.000Z`));
  assert.deepEqual((await loadBenchStore(path)).map((r) => r.measuredAt.slice(11, 13)).sort(), ['11', '12', '13', '14', '15']);
});

test('a damaged store is a BenchStoreError and stays as it was (the user can move it aside)', async (t) => {
  const dir = tmp(t);
  const path = join(dir, 'bench.json');
  writeFileSync(path, '{"version":1,"results":[{"key":');
  await assert.rejects(appendBenchResult(path, recorded('2026-11-23T10:00:00.000Z')), (err: unknown) => err instanceof BenchStoreError && /not valid JSON/.test(err.message));
  assert.equal(readFileSync(path, 'utf8'), '{"version":1,"results":[{"key":');
  assert.deepEqual(readdirSync(dir), ['bench.json']);
});
