// Measure Speed results in the views: a Session against a recorded Ollama replay on 127.0.0.1, given stored
// measurements built from the engines' own recorded timings — the tooltip's decode line, the panel's
// "Measured" fact next to the predicted "Decode", and which stack a measurement belongs to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config';
import type { BenchResult } from '../../src/estimator/bench-result';
import { findHardware } from '../../src/estimator/hardware';
import type { LoadedModel } from '../../src/providers/types';
import { checkFit } from '../../src/views/fit-check';
import { benchDecode, benchFactValue, benchKeyForLoaded, benchRecord } from '../../src/views/measured';
import { targetForLoaded } from '../../src/views/panel-subject';
import { parseHostMessage } from '../../src/views/protocol';
import { Session } from '../../src/views/session';
import { statusTooltip } from '../../src/views/status';
import { FIXTURES, startFixtureServer } from '../support/fixture-server';

const fixture = (engine: string, f: string) => JSON.parse(readFileSync(join(FIXTURES, engine, f), 'utf8')) as Record<string, any>;

/** Ollama's recorded /api/generate: 18 tokens in 52.479709 ms of eval (342.99 tok/s) after an 11-token prompt. */
function ollamaRun(endpoint: string, hardwareId = 'rtx-4090'): BenchResult {
  const g = fixture('ollama', 'api_generate_final.json');
  return benchRecord(
    { endpoint, model: 'gemma4', quant: 'Q4_K_M', hardwareId },
    { engine: 'ollama', runs: [{ targetDepth: 0, promptTokens: g.prompt_eval_count, cachedTokens: 0, outputTokens: g.eval_count, decodeTokPerSec: (g.eval_count / g.eval_duration) * 1e9, wallMs: g.total_duration / 1e6, timing: 'engine' }] },
    '2026-11-23T09:00:00.000Z',
  );
}
const RECORDED = 18 / 0.052479709;

async function ollamaSession(t: import('node:test').TestContext) {
  const server = await startFixtureServer('ollama');
  t.after(() => server.close());
  const s = new Session({ config: () => parseConfig({ autoDetect: false, hardwareProfile: 'rtx-4090', endpoints: [server.url] }).config, now: () => 1_000_000 });
  assert.equal(await s.refresh(), true);
  return { s, url: server.url };
}

test('no live reading: the tooltip decode line is the prediction calibrated by the stored run; the panel shows Measured next to Decode', async (t) => {
  const { s, url } = await ollamaSession(t);
  const before = s.state.models[0]!;
  assert.equal(before.speed.bench, undefined);
  // The prediction with its cross-validated band: "≈ 45 tok/s (30–55) predicted".
  assert.match(statusTooltip(s.state), /Decode \(bandwidth-bound\): ≈ \d+(\.\d)? tok\/s \(\d+(\.\d)?–\d+(\.\d)?\) predicted/);
  assert.ok(before.speed.predictedRange && before.speed.predictedRange.low <= before.speed.predicted! && before.speed.predicted! <= before.speed.predictedRange.high);
  const predicted = before.speed.predicted!;

  s.setBenchResults([ollamaRun(url)]);
  const m = s.state.models[0]!;
  const b = m.speed.bench!;
  // Ollama reports no context in use → depth 0, below the measured 11 tokens: the speed model anchored to that run.
  assert.equal(b.source, 'calibrated');
  assert.equal(b.depth, 0);
  assert.equal(b.anchorDepth, 11);
  assert.ok(Math.abs(b.tokPerSec - predicted * b.factor!) < 1e-9);
  // A shallower context reads less KV: a hair faster than the 343 tok/s measured at 11 tokens, not slower.
  assert.ok(b.tokPerSec >= RECORDED && b.tokPerSec < RECORDED * 1.01, String(b.tokPerSec));
  const tip = statusTooltip(s.state);
  assert.match(tip, /Decode \(bandwidth-bound\): ~343 tok\/s \(fast\) _predicted, calibrated by Measure Speed \(×\d+\.\d\d\)_/);
  assert.doesNotMatch(tip, /predicted \(/);

  // Panel for the loaded model: "Measured" right after the predicted "Decode", labelled measured; data validates.
  const target = targetForLoaded(m.key, s.state, s.details(m.key), s.history(m.key));
  assert.ok(!('error' in target));
  const fit = checkFit(target, findHardware('rtx-4090')!);
  const labels = fit.data.facts.map((f) => f.label);
  const i = labels.indexOf('Decode');
  assert.equal(labels[i + 1], 'Measured');
  const fact = fit.data.facts[i + 1]!;
  assert.equal(fact.source, 'measured');
  assert.match(fact.value, /^343 tok\/s \(fast\) at 0 tokens — calibrated: prediction × \d+\.\d\d from the run at 11 tokens, 2026-11-23$/);
  assert.equal(fit.data.facts[i]!.source, 'predicted');
  assert.equal(parseHostMessage({ type: 'show', data: fit.data }).ok, true);
});

test('a live reading wins in the tooltip; results for another hardware profile or endpoint are not used', async (t) => {
  const { s, url } = await ollamaSession(t);
  s.setBenchResults([ollamaRun(url, 'rtx-3090'), ollamaRun('http://127.0.0.1:1')]);
  assert.equal(s.state.models[0]!.speed.bench, undefined);
  s.setBenchResults([ollamaRun(url)]);
  s.ingestBench(s.state.models[0]!.key, ollamaRun(url).runs);
  assert.match(statusTooltip(s.state), /Decode \(bandwidth-bound\): 343 tok\/s \(fast\) _engine_/);
  assert.doesNotMatch(statusTooltip(s.state), /calibrated by Measure Speed/);
});

test('benchDecode inside the measured depths is the measurement (recorded llama.cpp timings), keyed like `headroom bench`', () => {
  const lm = { name: 'llama31-8b-shape-4L-Q4_K_M.gguf', quant: { value: 'Q4_K_M', source: 'engine', via: 'GET /props model_ftype' } } as unknown as LoadedModel;
  const key = benchKeyForLoaded('http://127.0.0.1:8080/', lm, 'rtx-4090');
  assert.deepEqual(key, { endpoint: 'http://127.0.0.1:8080', model: 'llama31-8b-shape-4L-Q4_K_M.gguf', quant: 'Q4_K_M', hardwareId: 'rtx-4090' });
  assert.deepEqual(benchKeyForLoaded('http://h:1', { name: 'x' } as unknown as LoadedModel, undefined), { endpoint: 'http://h:1', model: 'x' });
  const runs = ['completion.json', 'v1_chat_completions.json'].map((f) => {
    const x = fixture('llama.cpp', f).timings;
    // Distinct target depths: runs at the same target are pooled (median) as repeats of one measurement.
    return { targetDepth: x.prompt_n + x.cache_n, promptTokens: x.prompt_n + x.cache_n, cachedTokens: x.cache_n, outputTokens: x.predicted_n, decodeTokPerSec: x.predicted_per_second, wallMs: 1, timing: 'engine' as const };
  });
  const store = [benchRecord(key, { engine: 'llama.cpp', runs, nCtx: 4096 }, '2026-11-23T09:30:00.000Z')];
  assert.equal(store[0]!.nCtx, 4096);
  // Depth 20 lies 14/41 of the way from 6 tokens (25.5107 tok/s) to 47 (22.0960) in seconds per token → 24.232.
  const b = benchDecode(store, key, undefined, 20)!;
  assert.equal(b.source, 'measured');
  assert.ok(Math.abs(b.tokPerSec - 24.23198974108178) < 1e-9);
  assert.equal(benchFactValue(b), '24 tok/s (usable) at 20 tokens — Measure Speed, 2026-11-23');
  // Outside the measured depths with no speed model (architecture unknown): nothing rather than a guess.
  assert.equal(benchDecode(store, key, undefined, 4096), undefined);
  assert.equal(benchDecode(store, { ...key, quant: 'Q8_0' }, undefined, 20), undefined);
});
