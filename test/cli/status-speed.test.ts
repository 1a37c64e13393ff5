// `headroom status` with a bench store: the bundled CLI against fixture-replaying engines on 127.0.0.1 and a
// store file written here, holding the engines' own recorded timings as the measurement.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES, startFixtureServer, type TestServer } from '../support/fixture-server';
import { runCliAsync } from '../support/run-cli';
import type { BenchResult } from '../../src/estimator/bench-result';

const fixture = (engine: string, f: string) => JSON.parse(readFileSync(join(FIXTURES, engine, f), 'utf8')) as Record<string, any>;

/** Ollama's recorded /api/generate: 18 tokens in 52.48 ms of eval after an 11-token prompt. */
function ollamaResult(endpoint: string): BenchResult {
  const g = fixture('ollama', 'api_generate_final.json');
  return {
    key: { endpoint, model: 'gemma4', quant: 'Q4_K_M', hardwareId: 'rtx-4090' },
    engine: 'ollama',
    measuredAt: '2026-11-23T09:00:00.000Z',
    runs: [{ targetDepth: 0, promptTokens: g.prompt_eval_count, cachedTokens: 0, outputTokens: g.eval_count, decodeTokPerSec: (g.eval_count / g.eval_duration) * 1e9, wallMs: g.total_duration / 1e6, timing: 'engine' }],
  };
}

/** llama.cpp's recorded /completion and /v1/chat/completions timings: decode at 6 and 47 tokens of prompt. */
function llamaResult(endpoint: string): BenchResult {
  const runs = ['completion.json', 'v1_chat_completions.json'].map((f) => {
    const t = fixture('llama.cpp', f).timings;
    return { targetDepth: 0, promptTokens: t.prompt_n + t.cache_n, cachedTokens: t.cache_n, outputTokens: t.predicted_n, decodeTokPerSec: t.predicted_per_second, wallMs: t.prompt_ms + t.predicted_ms, timing: 'engine' as const };
  });
  runs[1]!.targetDepth = 32;
  return { key: { endpoint, model: 'llama31-8b-shape-4L-Q4_K_M.gguf', quant: 'Q4_K_M', hardwareId: 'rtx-4090' }, engine: 'llama.cpp', measuredAt: '2026-11-23T09:30:00.000Z', runs };
}

async function withEngines(fn: (ollama: TestServer, llama: TestServer, dir: string) => Promise<void>): Promise<void> {
  const ollama = await startFixtureServer('ollama');
  const llama = await startFixtureServer('llama.cpp');
  const dir = mkdtempSync(join(tmpdir(), 'status-speed-'));
  try {
    await fn(ollama, llama, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await Promise.all([ollama.close(), llama.close()]);
  }
}

const store = (dir: string, results: BenchResult[]) => {
  const p = join(dir, 'bench-results.json');
  writeFileSync(p, JSON.stringify({ version: 1, results }));
  return p;
};

test('status --json: measured vs predicted decode and the calibrated prediction, per (endpoint, model, quant, hardware)', async () => {
  await withEngines(async (ollama, llama, dir) => {
    // A result for the same Ollama model on other hardware must not be used.
    const other = { ...ollamaResult(ollama.url), key: { ...ollamaResult(ollama.url).key, hardwareId: 'rtx-3090' }, runs: [{ ...ollamaResult(ollama.url).runs[0]!, decodeTokPerSec: 1 }] };
    const path = store(dir, [ollamaResult(ollama.url), llamaResult(llama.url), other]);
    const r = await runCliAsync(['status', '--json', '--no-defaults', '--hardware', 'rtx-4090', '--store', path, '--endpoint', ollama.url, '--endpoint', llama.url]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Array<{ engine: string; models: Array<{ name: string; speed: any }> }>;
    const o = out.find((e) => e.engine === 'ollama')!.models[0]!.speed;
    // 18 tokens / 52.479709 ms = 342.99 tok/s, the recorded figure (not the 1 tok/s measured on the 3090).
    assert.equal(o.runs.length, 1);
    assert.ok(Math.abs(o.runs[0].measured - 342.9897) < 1e-3, String(o.runs[0].measured));
    assert.equal(o.runs[0].depth, 11);
    // Predicted: gemma4 Q4_K_M's 9.61 GB of weights on a 1008 GB/s RTX 4090 → at most 1008/9.608 = 104.9 tok/s.
    const p = o.runs[0].predicted as number;
    assert.ok(p > 40 && p <= 104.95, `predicted ${p}`);
    assert.ok(o.runs[0].ceiling <= 104.95 && o.runs[0].ceiling >= p);
    // One run: the factor is measured ÷ predicted exactly.
    assert.ok(Math.abs(o.factor - o.runs[0].measured / p) < 1e-9);
    // Context in use is not reported by Ollama → depth 0, below the measured 11 tokens: calibrated.
    assert.equal(o.now.depth, 0);
    assert.equal(o.now.source, 'calibrated');
    // Anchored to the one measured run (11 tokens): predicted at 0 × (measured ÷ predicted at 11).
    assert.equal(o.now.anchorDepth, 11);
    assert.ok(Math.abs(o.now.factor - o.factor) < 1e-12);
    assert.ok(Math.abs(o.now.tokPerSec - o.now.predicted * o.now.factor) < 1e-9);
    // Less context than the run → a hair faster than measured, never slower.
    assert.ok(o.now.tokPerSec >= o.runs[0].measured && o.now.tokPerSec < o.runs[0].measured * 1.01, String(o.now.tokPerSec));
    // The recording came from a faster machine than the profile: the status says so instead of hiding it.
    assert.match(o.notes.join('\n'), /measured decode is above the bandwidth ceiling/);

    // llama.cpp: the model file is not on this machine, so no speed model — measured figures only.
    const l = out.find((e) => e.engine === 'llama.cpp')!.models[0]!.speed;
    assert.deepEqual(
      l.runs.map((x: any) => [x.depth, x.measured, x.predicted]),
      [
        [6, 25.51072470866752, null],
        [47, 22.095964245783723, null],
      ],
    );
    assert.equal(l.factor, null);
    assert.equal(l.now, null, 'depth 0 is outside the measured 6–47 and there is nothing to calibrate');
    assert.match(l.notes.join('\n'), /no speed model/);
  });
});

test('status (text): decode measured and decode now lines; no matching result → no lines', async () => {
  await withEngines(async (ollama, llama, dir) => {
    const path = store(dir, [ollamaResult(ollama.url)]);
    const r = await runCliAsync(['status', '--no-defaults', '--hardware', 'rtx-4090', '--store', path, '--endpoint', ollama.url, '--endpoint', llama.url]);
    assert.equal(r.code, 0, r.stderr);
    const sections = r.stdout.split(/^(?=http)/m);
    const ollamaPart = sections.find((x) => x.startsWith(`${ollama.url} `));
    const llamaPart = sections.find((x) => x.startsWith(`${llama.url} `));
    assert.match(ollamaPart!, /decode measured\s+343 tok\/s at depth 11 \(predicted \d+ tok\/s\) — ollama bench of 2026-11-23T09:00:00\.000Z; ×\d\.\d\d vs the speed model/);
    assert.match(ollamaPart!, /decode now\s+\d+ tok\/s at 0 tokens of context \(calibrated: predicted \d+ tok\/s × \d\.\d\d, measured ÷ predicted at depth 11\)/);
    assert.doesNotMatch(llamaPart!, /decode measured/);
  });
});

test('status with a missing or corrupt store: a note on stderr, the status itself unchanged', async () => {
  await withEngines(async (ollama, _llama, dir) => {
    const args = ['status', '--json', '--no-defaults', '--hardware', 'rtx-4090', '--endpoint', ollama.url];
    const missing = await runCliAsync([...args, '--store', join(dir, 'none.json')]);
    assert.equal(missing.code, 0, missing.stderr);
    assert.equal(missing.stderr, '');
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"version":1,"results":[{"key":');
    const corrupt = await runCliAsync([...args, '--store', bad]);
    assert.equal(corrupt.code, 0, corrupt.stderr);
    assert.match(corrupt.stderr, /headroom: note: bench store .*bad\.json: not valid JSON .*; measured speeds not shown/);
    const a = JSON.parse(missing.stdout);
    assert.deepEqual(JSON.parse(corrupt.stdout), a);
    assert.equal(a[0].models[0].speed, null);
    // The default path comes from HEADROOM_BENCH_STORE, as for `headroom bench`.
    const viaEnv = await runCliAsync(args, { HEADROOM_BENCH_STORE: store(dir, [ollamaResult(ollama.url)]) });
    assert.equal(JSON.parse(viaEnv.stdout)[0].models[0].speed.engine, 'ollama');
  });
});
