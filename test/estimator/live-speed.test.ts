// Live speed: smoothing behaviour, and counter deltas from recorded llama.cpp /metrics snapshots
// (parsed with the providers' Prometheus parser) against the server's own figures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ceilingShare, isStale, speedFromCounters, speedFromSlots, updateLiveSpeed, type LiveSpeed } from '../../src/estimator/live-speed';
import { parsePrometheus } from '../../src/providers/prometheus';
import { countersFromMetrics, gaugeSpeed, sampleFromUsage, slotSnapshot } from '../../src/providers/stream/metrics-counters';
import { extractUsage } from '../../src/providers/stream/usage';
import { DATA } from '../support/data';

const FIX = `${DATA}/engines`;
const prom = (rel: string) => parsePrometheus(readFileSync(`${FIX}/${rel}`, 'utf8')).samples;
/** Reads one llama.cpp counter straight from the text (independent of both parsers). */
const raw = (rel: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(readFileSync(`${FIX}/${rel}`, 'utf8'))![1]);

test('llama.cpp /metrics deltas: decode and prefill tok/s from busy-time counters', () => {
  const before = countersFromMetrics(prom('llama.cpp/metrics_busy.txt'), 0)!;
  const after = countersFromMetrics(prom('llama.cpp/metrics.txt'), 60_000)!;
  const s = speedFromCounters(before, after)!;
  const dTok = raw('llama.cpp/metrics.txt', 'llamacpp:tokens_predicted_total') - raw('llama.cpp/metrics_busy.txt', 'llamacpp:tokens_predicted_total');
  const dSec = raw('llama.cpp/metrics.txt', 'llamacpp:tokens_predicted_seconds_total') - raw('llama.cpp/metrics_busy.txt', 'llamacpp:tokens_predicted_seconds_total');
  assert.equal(dTok, 96); // the recorded 96-token request
  assert.ok(Math.abs(s.decodeTokPerSec! - dTok / dSec) < 1e-9);
  // The README says this model decodes at 22–27 tok/s on the recording machine; the server's own
  // running average (predicted_tokens_seconds gauge) agrees within 10 %.
  const gauge = raw('llama.cpp/metrics.txt', 'llamacpp:predicted_tokens_seconds');
  assert.ok(Math.abs(s.decodeTokPerSec! / gauge - 1) < 0.1, `${s.decodeTokPerSec} vs ${gauge}`);
  assert.equal(s.decodeTokens, 96);
  assert.equal(s.source, 'metrics');
  // Busy-time counters: the wall-clock gap between snapshots (60 s here) does not enter.
  const wide = speedFromCounters(before, { ...after, at: 600_000 })!;
  assert.equal(wide.decodeTokPerSec, s.decodeTokPerSec);
});

test('counter reset (engine restart) and idle intervals give no sample', () => {
  const a = countersFromMetrics(prom('llama.cpp/metrics.txt'), 0)!;
  const b = countersFromMetrics(prom('llama.cpp/metrics_before.txt'), 1000)!;
  assert.equal(speedFromCounters(a, b), undefined);
  assert.equal(speedFromCounters(a, { ...a, at: 5000 }), undefined);
});

test('vLLM and SGLang: totals over the wall clock, and SGLang throughput gauge', () => {
  const v = countersFromMetrics(prom('vllm/metrics.prom'), 0, 'meta-llama/Llama-3.1-8B-Instruct')!;
  assert.equal(v.decodeTokens, 27453);
  assert.equal(v.prefillTokens, 91532);
  assert.equal(v.decodeSeconds, undefined);
  const later = { ...v, at: 10_000, decodeTokens: 27453 + 850 };
  assert.equal(speedFromCounters(v, later)!.decodeTokPerSec, 85);
  const sg = prom('sglang/metrics.prom');
  assert.equal(countersFromMetrics(sg, 0)!.decodeTokens, 27453);
  assert.equal(gaugeSpeed(sg, 0)!.decodeTokPerSec, 85.3);
  assert.equal(countersFromMetrics([], 0), undefined);
});

test('smoothing: a long reply moves the average more than a short one; stale averages yield', () => {
  let s: LiveSpeed | undefined;
  s = updateLiveSpeed(s, { at: 0, decodeTokPerSec: 20, decodeTokens: 200, source: 'timings' });
  assert.equal(s.decodeTokPerSec, 20);
  const short = updateLiveSpeed(s, { at: 1000, decodeTokPerSec: 40, decodeTokens: 4, source: 'timings' });
  const long = updateLiveSpeed(s, { at: 1000, decodeTokPerSec: 40, decodeTokens: 512, source: 'timings' });
  assert.ok(short.decodeTokPerSec! < 21, `${short.decodeTokPerSec}`);
  assert.ok(long.decodeTokPerSec! > 37, `${long.decodeTokPerSec}`);
  // A half-life of tokens moves it exactly halfway.
  assert.equal(updateLiveSpeed(s, { at: 1, decodeTokPerSec: 40, decodeTokens: 128, source: 'proxy' }).decodeTokPerSec, 30);
  // After 10 minutes idle a new short sample mostly replaces the old value.
  const stale = updateLiveSpeed(s, { at: 600_000, decodeTokPerSec: 40, decodeTokens: 4, source: 'proxy' });
  assert.ok(stale.decodeTokPerSec! > 39, `${stale.decodeTokPerSec}`);
  assert.equal(isStale(s, 10_000), false);
  assert.equal(isStale(s, 400_000), true);
});

test('absurd samples are ignored; recorded response timings feed the same path', () => {
  let s = updateLiveSpeed(undefined, { at: 0, decodeTokPerSec: NaN, source: 'proxy' });
  s = updateLiveSpeed(s, { at: 0, decodeTokPerSec: -3, prefillTokPerSec: Infinity, source: 'proxy' });
  assert.deepEqual(s, { samples: 0 });
  const u = extractUsage(JSON.parse(readFileSync(`${FIX}/llama.cpp/v1_chat_completions.json`, 'utf8')))!;
  s = updateLiveSpeed(s, sampleFromUsage(u, 5, 'timings'));
  assert.equal(s.decodeTokPerSec, 22.095964245783723);
  assert.equal(s.prefillTokPerSec, 105.01127195461726);
  assert.equal(s.ttftMs, 447.571);
  assert.equal(s.source, 'timings');
  assert.equal(s.samples, 1);
});

test('ceiling share', () => {
  assert.equal(ceilingShare(30, 40), 0.75);
  assert.equal(ceilingShare(undefined, 40), undefined);
  assert.equal(ceilingShare(30, 0), undefined);
});

test('/slots progress: recorded busy snapshot, mid-request speed, task changes and idle slots', () => {
  const busy = slotSnapshot(JSON.parse(readFileSync(`${FIX}/llama.cpp/slots_busy.json`, 'utf8')), 2500)!;
  assert.deepEqual(busy.slots, [
    { id: 0, processing: false },
    { id: 1, processing: true, task: 76, decoded: 58 },
  ]);
  // One second later the same task has decoded 25 more tokens.
  const later = { at: 3500, slots: [busy.slots[0]!, { ...busy.slots[1]!, decoded: 83 }] };
  assert.deepEqual(speedFromSlots(busy, later), { at: 3500, decodeTokPerSec: 25, decodeTokens: 25, source: 'metrics' });
  // A new task on the slot, or no time passing, gives no sample.
  assert.equal(speedFromSlots(busy, { at: 3500, slots: [{ ...busy.slots[1]!, task: 77, decoded: 5 }] }), undefined);
  assert.equal(speedFromSlots(busy, { ...later, at: 2500 }), undefined);
  // The idle fixture and garbage.
  const idle = slotSnapshot(JSON.parse(readFileSync(`${FIX}/llama.cpp/slots_idle.json`, 'utf8')), 0)!;
  assert.ok(idle.slots.every((s) => !s.processing));
  assert.equal(slotSnapshot({ error: 'x' }, 0), undefined);
  assert.deepEqual(slotSnapshot([null, 5, { id: -1, is_processing: true }, { id: 2, is_processing: true, next_token: { n_decoded: 3 } }], 0)!.slots, [{ id: 2, processing: true, decoded: 3 }]);
});

test('hostile /metrics (NaN, Inf, absurd counters, garbage lines) never yields an absurd live speed', () => {
  const good = readFileSync(`${FIX}/llama.cpp/metrics.txt`, 'utf8');
  const hostile = good
    .replace('llamacpp:tokens_predicted_total 164', 'llamacpp:tokens_predicted_total 1e300')
    .replace('llamacpp:prompt_seconds_total 1.09847', 'llamacpp:prompt_seconds_total NaN') + '\ngarbage line {{{\nllamacpp:tokens_predicted_seconds_total +Inf\n';
  const a = countersFromMetrics(prom('llama.cpp/metrics_busy.txt'), 0)!;
  const b = countersFromMetrics(parsePrometheus(hostile).samples, 1000)!;
  const s = speedFromCounters(a, b);
  const live = updateLiveSpeed(undefined, s ?? { at: 1000, source: 'metrics' });
  assert.equal(live.decodeTokPerSec, undefined, `absurd figure ${live.decodeTokPerSec} was accepted`);
  assert.equal(live.prefillTokPerSec, undefined);
  // Every truncation of the real body (a cut mid-line) parses without throwing.
  for (let i = 0; i <= good.length; i += 7) countersFromMetrics(parsePrometheus(good.slice(0, i)).samples, 0);
});
