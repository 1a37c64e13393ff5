// "Measure Speed" wording, on the timings llama-server recorded (fixtures/llama.cpp/completion.json) and the
// DGX Spark depth series from the calibration set's published shape (decode falls as the KV read grows).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { BenchRun } from '../../src/estimator/bench-result';
import { benchLines, benchSentence, benchTable } from '../../src/views/bench-summary';
import { DATA } from '../support/data';

const timings = JSON.parse(readFileSync(`${DATA}/engines/llama.cpp/completion.json`, 'utf8')).timings as {
  cache_n: number; prompt_n: number; predicted_n: number; prompt_per_second: number; predicted_per_second: number; prompt_ms: number; predicted_ms: number;
};

const recorded: BenchRun = {
  targetDepth: 0,
  promptTokens: timings.cache_n + timings.prompt_n,
  cachedTokens: timings.cache_n,
  outputTokens: timings.predicted_n,
  prefillTokPerSec: timings.prompt_per_second,
  decodeTokPerSec: timings.predicted_per_second,
  ttftMs: timings.prompt_ms,
  wallMs: timings.prompt_ms + timings.predicted_ms,
  timing: 'engine',
};

test('one recorded run: decode 25.5 tok/s at 6 tokens, share of an estimated ceiling', () => {
  const lines = benchLines([recorded], () => 40);
  assert.deepEqual(lines, [{ depth: 6, decode: timings.predicted_per_second, prefill: timings.prompt_per_second, ceiling: 40, share: timings.predicted_per_second / 40 }]);
  // 25.51 / 40 = 64 %
  assert.equal(benchSentence('llama31-8b', lines), 'llama31-8b: decode 26 tok/s (comfortable) at 6 tokens — 64 % of the bandwidth ceiling');
  assert.match(benchTable(lines)[0]!, /^depth      6  decode    26 tok\/s \(bandwidth-bound\)  prefill     53 tok\/s \(compute-bound\)  ceiling 40 tok\/s \(64 %\)$/);
});

test('several depths sorted by prompt size; runs without numbers and without a ceiling still read well', () => {
  const at = (promptTokens: number, decodeTokPerSec?: number): BenchRun => ({ ...recorded, promptTokens, ...(decodeTokPerSec ? { decodeTokPerSec } : { decodeTokPerSec: undefined }) });
  const lines = benchLines([at(32768, 28.1), at(16, 38.4), at(8192, 34.9), at(65536)]);
  assert.deepEqual(lines.map((l) => l.depth), [16, 8192, 32768, 65536]);
  assert.equal(benchSentence('qwen3:30b-a3b', lines), 'qwen3:30b-a3b: decode 38 tok/s (comfortable) at 16 tokens, 35 tok/s at 8k, 28 tok/s at 32k');
  assert.equal(benchSentence('x', benchLines([at(16)])), 'x: no decode speed could be measured');
});
