// Prometheus text parsing on the recorded /metrics bodies (llama.cpp verbatim; vLLM/SGLang assembled) and edge cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { metricLabels, metricValue, parsePrometheus } from '../../src/providers/prometheus';
import { FIXTURES } from '../support/fixture-server';

const read = (engine: string, f: string): string => readFileSync(join(FIXTURES, engine, f), 'utf8');

test('llama.cpp /metrics (real capture): every sample line parses, values as recorded', () => {
  const text = read('llama.cpp', 'metrics.txt');
  const p = parsePrometheus(text);
  const sampleLines = text.split('\n').filter((l) => l.trim() && !l.startsWith('#')).length;
  assert.equal(p.samples.length, sampleLines);
  assert.equal(p.skipped, 0);
  assert.equal(metricValue(p.samples, 'llamacpp:prompt_tokens_total'), 80);
  assert.equal(metricValue(p.samples, 'llamacpp:tokens_predicted_seconds_total'), 6.31883);
  assert.equal(metricValue(p.samples, 'llamacpp:n_tokens_max'), 104);
  assert.equal(p.types['llamacpp:predicted_tokens_seconds'], 'gauge');
});

test('vLLM /metrics: labelled samples, info gauge labels, histogram +Inf bucket', () => {
  const p = parsePrometheus(read('vllm', 'metrics.prom'));
  assert.equal(metricValue(p.samples, 'vllm:kv_cache_usage_perc'), 0.42);
  assert.equal(metricValue(p.samples, 'vllm:request_success_total', { finished_reason: 'length' }), 131);
  assert.equal(metricLabels(p.samples, 'vllm:cache_config_info')?.['num_gpu_blocks'], '27000');
  const inf = p.samples.find((s) => s.name === 'vllm:time_to_first_token_seconds_bucket' && s.labels['le'] === '+Inf');
  assert.equal(inf?.value, 140);
  assert.equal(p.types['vllm:time_to_first_token_seconds'], 'histogram');
});

test('SGLang /metrics', () => {
  const p = parsePrometheus(read('sglang', 'metrics.prom'));
  assert.equal(metricValue(p.samples, 'sglang:token_usage'), 0.04);
  assert.equal(metricValue(p.samples, 'sglang:num_used_tokens'), 5123);
});

test('escapes, timestamps, special values and garbage lines', () => {
  const p = parsePrometheus(
    [
      'a{path="C:\\\\x",msg="say \\"hi\\"\\nbye"} 1 1700000000000',
      'b NaN',
      'c -Inf',
      'd 1e3',
      'not a metric line at all {',
      'e{unterminated="x} 1',
      'f 12abc',
      '',
    ].join('\r\n'),
  );
  assert.deepEqual(p.samples[0], { name: 'a', labels: { path: 'C:\\x', msg: 'say "hi"\nbye' }, value: 1 });
  assert.ok(Number.isNaN(p.samples[1]!.value));
  assert.equal(p.samples[2]!.value, -Infinity);
  assert.equal(metricValue(p.samples, 'b'), undefined, 'non-finite values are not reported as numbers');
  assert.equal(metricValue(p.samples, 'd'), 1000);
  assert.equal(p.skipped, 3);
});
