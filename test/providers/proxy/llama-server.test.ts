// Live metering against a REAL llama-server (built from source by scripts/build-llama-server.mjs) serving the
// tiny test GGUF, through the metering proxy: live tok/s from /metrics vs the server's own timings, the
// truncation warning for a prompt longer than the window, and the horizon's turn prediction on a real
// growing conversation.
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { llamaServerAvailable, startLlamaServer, type RunningServer } from '../../support/llama-server';
import { tinyModelPath } from '../../support/tiny-model';
import { startMeteringProxy, type MeteringProxy } from '../../../src/providers/proxy/server';
import type { MeterRecord } from '../../../src/providers/proxy/record';
import { parsePrometheus } from '../../../src/providers/prometheus';
import { countersFromMetrics, slotSnapshot } from '../../../src/providers/stream/metrics-counters';
import { speedFromCounters, speedFromSlots, type SlotSnapshot } from '../../../src/estimator/live-speed';
import { SseDecoder } from '../../../src/providers/stream/sse';
import { emptyBook, stepWarnings } from '../../../src/estimator/warnings';
import { truncationCondition } from '../../../src/estimator/warning-rules';
import { growthPerTurn, newTrack, observeTurn, type ContextTrack } from '../../../src/estimator/context-tracker';
import { computeHorizon } from '../../../src/estimator/horizon';

const WINDOW = 2048;
const avail = llamaServerAvailable();
let srv: RunningServer | undefined;
let proxy: MeteringProxy | undefined;
const records: MeterRecord[] = [];

before(async () => {
  if (!avail.ok) return;
  srv = await startLlamaServer({ model: tinyModelPath(), ctx: WINDOW, parallel: 1, extraArgs: ['--metrics'] });
  proxy = await startMeteringProxy({ target: srv.url, onRecord: (r) => records.push(r) });
});
after(async () => {
  await proxy?.close();
  await srv?.stop();
});

function ready(t: TestContext): { srv: RunningServer; proxy: MeteringProxy } | undefined {
  if (!avail.ok) {
    t.skip(avail.reason);
    return undefined;
  }
  return { srv: srv!, proxy: proxy! };
}

async function post(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(120_000) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function lastRecord(n: number): Promise<MeterRecord> {
  for (let i = 0; i < 100 && records.length < n; i++) await new Promise((r) => setTimeout(r, 10));
  return records[n - 1]!;
}

async function counters(url: string, at: number) {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  return countersFromMetrics(parsePrometheus(text).samples, at)!;
}

test('live decode tok/s from /metrics counters matches the server’s own timings within 10 %', async (t) => {
  const r = ready(t);
  if (!r) return;
  const before = await counters(r.srv.url, 0);
  const n0 = records.length;
  const { status, json } = await post(`${r.proxy.url}/completion`, { prompt: 'Once upon a time', n_predict: 256, ignore_eos: true, cache_prompt: false });
  assert.equal(status, 200);
  const afterC = await counters(r.srv.url, 1000);
  const timings = json.timings as { predicted_per_second: number; predicted_n: number };
  assert.equal(timings.predicted_n, 256);
  const live = speedFromCounters(before, afterC)!;
  const ratio = live.decodeTokPerSec! / timings.predicted_per_second;
  t.diagnostic(`metrics ${live.decodeTokPerSec!.toFixed(1)} tok/s vs timings ${timings.predicted_per_second.toFixed(1)} tok/s (ratio ${ratio.toFixed(3)})`);
  assert.ok(Math.abs(ratio - 1) < 0.1, `ratio ${ratio}`);
  // The proxy's record carries the same engine figure.
  const rec = await lastRecord(n0 + 1);
  assert.equal(rec.decodeTokPerSec, timings.predicted_per_second);
  assert.equal(rec.outputTokens, 256);
  assert.equal(rec.speedSource, 'engine');
});

/**
 * One streamed generation with per-token server timings, polled on /slots meanwhile. Returns the server's
 * clock per token and the busy snapshots whose round trip was short enough to trust.
 */
/** Polls /slots while a stream decodes, for at most `maxMs` (then the stream is cut: the tokens so far count). */
async function pollWhileStreaming(url: string, nPredict = 2000, maxMs = 180_000): Promise<{ msAt: Map<number, number>; snaps: SlotSnapshot[] }> {
  const cut = new AbortController();
  // Stream with per-token timings: the server's own clock for every token (cumulative predicted_ms).
  // Polling starts before the response headers arrive, so the first busy poll lands near the first token.
  const resP = fetch(`${url}/completion`, {
    method: 'POST',
    body: JSON.stringify({ prompt: 'Once upon a time', n_predict: nPredict, ignore_eos: true, cache_prompt: false, stream: true, timings_per_token: true }),
    signal: AbortSignal.any([AbortSignal.timeout(180_000), cut.signal]),
  });
  const started = performance.now();
  const msAt = new Map<number, number>();
  const reading = (async () => {
    const res = await resP;
    const dec = new SseDecoder();
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        for (const ev of dec.push(chunk)) {
          const tm = (JSON.parse(ev.data) as { timings?: { predicted_n: number; predicted_ms: number } }).timings;
          if (tm) msAt.set(tm.predicted_n, tm.predicted_ms);
        }
      }
    } catch (e) {
      if (!cut.signal.aborted) throw e;
    }
  })();
  let finished = false;
  void reading.then(() => (finished = true));
  const snaps: SlotSnapshot[] = [];
  while (!finished) {
    // Stamp each poll at the midpoint of its round trip: the server answers somewhere in between.
    // Polls that took long (a busy machine) have an uncertain timestamp and are dropped, as a live poller should.
    const sent = performance.now();
    // The server may close a kept-alive poll connection as the next poll goes out ("other side closed"): a live
    // poller just misses that poll, and so does this one.
    const body: unknown = await fetch(`${url}/slots`, { signal: AbortSignal.timeout(10_000) }).then((res) => res.json(), () => undefined);
    const got = performance.now();
    const s = body === undefined ? undefined : slotSnapshot(body, (sent + got) / 2);
    if (got - sent <= 25 && s?.slots.some((x) => x.processing && x.decoded !== undefined && x.decoded > 0)) snaps.push(s);
    // Fast engines (the tiny model can decode thousands of tok/s on an idle box) need quick polls.
    await new Promise((res) => setTimeout(res, 10));
    if (performance.now() - started > maxMs) break;
  }
  // Stop polling first, then cut the stream: no poll is taken while the server winds the slot down.
  if (!finished) cut.abort();
  await reading;
  // Polls past the last token the cut stream delivered have no server clock to compare with.
  const lastToken = Math.max(0, ...msAt.keys());
  return { msAt, snaps: snaps.filter((x) => x.slots.every((sl) => !sl.processing || (sl.decoded ?? 0) <= lastToken)) };
}

test('live decode tok/s from /slots polls matches the server’s own per-token timings over the same tokens (±10 %)', async (t) => {
  // One long stream (its own server with a 16k window, cut after 4 s) gives a busy machine's poller seconds of
  // decoding to sample, instead of measuring again when a short stream left too few quick polls.
  if (!avail.ok) return t.skip(avail.reason);
  const long = await startLlamaServer({ model: tinyModelPath(), ctx: 16384, parallel: 1 });
  t.after(() => long.stop());
  const decodedAt = (s: SlotSnapshot) => s.slots.find((x) => x.processing)!.decoded!;
  const run = await pollWhileStreaming(long.url, 16000, 4000);
  const { msAt, snaps } = run;
  assert.ok(snaps.length >= 3, `only ${snaps.length} busy snapshots`);
  const first = snaps[0]!;
  const last = snaps[snaps.length - 1]!;
  const live = speedFromSlots(first, last)!;
  const n0 = decodedAt(first);
  const n1 = decodedAt(last);
  // The server's clock at token n (interpolated if no event carried exactly n).
  const known = [...msAt.keys()].sort((a, b) => a - b);
  const clock = (n: number): number => {
    const hi = known.find((k) => k >= n)!;
    const lo = [...known].reverse().find((k) => k <= n)!;
    return hi === lo ? msAt.get(n)! : msAt.get(lo)! + ((msAt.get(hi)! - msAt.get(lo)!) * (n - lo)) / (hi - lo);
  };
  const serverRate = ((n1 - n0) / (clock(n1) - clock(n0))) * 1000;
  const ratio = live.decodeTokPerSec! / serverRate;
  t.diagnostic(`/slots ${live.decodeTokPerSec!.toFixed(1)} tok/s over tokens ${n0}..${n1} (${snaps.length} polls) vs server clock ${serverRate.toFixed(1)} tok/s (ratio ${ratio.toFixed(3)})`);
  // Long enough that one token more or less at either end moves the rate by ≤ 2 %.
  assert.ok(n1 - n0 >= 100, `window too short: ${n0}..${n1}`);
  assert.ok(Math.abs(ratio - 1) < 0.1, `ratio ${ratio}`);
});

test('a real SSE stream through the proxy: the client gets every event, the record matches the final chunk', async (t) => {
  const r = ready(t);
  if (!r) return;
  const n0 = records.length;
  const res = await fetch(`${r.proxy.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'tiny', stream: true, stream_options: { include_usage: true }, max_tokens: 48, messages: [{ role: 'user', content: 'Write a loop.' }] }),
    signal: AbortSignal.timeout(60_000),
  });
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  const text = await res.text();
  const events = text.split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => e.slice(6));
  assert.equal(events[events.length - 1], '[DONE]');
  const final = JSON.parse(events[events.length - 2]!) as { usage: { prompt_tokens: number; completion_tokens: number }; timings: { predicted_per_second: number; prompt_per_second: number; prompt_ms: number } };
  const rec = await lastRecord(n0 + 1);
  assert.equal(rec.promptTokens, final.usage.prompt_tokens);
  assert.equal(rec.outputTokens, final.usage.completion_tokens);
  assert.equal(rec.decodeTokPerSec, final.timings.predicted_per_second);
  assert.equal(rec.prefillTokPerSec, final.timings.prompt_per_second);
  assert.equal(rec.ttftMs, final.timings.prompt_ms);
  assert.equal(rec.maxTokens, 48);
  assert.equal(rec.truncated, false);
});

test('a prompt longer than the window is rejected by the engine and raises the truncation warning', async (t) => {
  const r = ready(t);
  if (!r) return;
  const n0 = records.length;
  const text = 'The quick brown fox jumps over the lazy dog. '.repeat(120); // ~5.4k characters
  const { status, json } = await post(`${r.proxy.url}/v1/chat/completions`, { model: 'tiny', max_tokens: 8, messages: [{ role: 'user', content: text }] });
  assert.equal(status, 400);
  const err = json.error as { type: string; n_prompt_tokens: number; n_ctx: number };
  assert.equal(err.type, 'exceed_context_size_error');
  const rec = await lastRecord(n0 + 1);
  assert.equal(rec.truncated, true);
  assert.deepEqual(rec.truncation, { reason: 'rejected', sentTokens: err.n_prompt_tokens, limit: err.n_ctx });
  assert.equal(err.n_ctx, WINDOW);
  const step = stepWarnings(emptyBook(), [truncationCondition('llama|tiny', 'tiny', rec.truncation ? { truncated: true, ...rec.truncation } : { truncated: false })], 0);
  assert.equal(step.raised.length, 1);
  assert.equal(step.raised[0]!.kind, 'truncated');
  assert.equal(step.raised[0]!.severity, 'error');
  assert.match(step.raised[0]!.message, /rejected the prompt \(\d[\d,.k]* tokens\) — it exceeds the 2k window/);
});

test('horizon on a real growing conversation predicts the overflow turn', async (t) => {
  const r = ready(t);
  if (!r) return;
  const messages: { role: string; content: string }[] = [{ role: 'system', content: 'You are a coding agent. '.repeat(8) }];
  let track: ContextTrack = newTrack();
  const predictions: { turn: number; overflowAt: number }[] = [];
  let overflowTurn: number | undefined;
  for (let turn = 0; turn < 80; turn++) {
    // Tool output of varying size, as an agent reads files.
    messages.push({ role: 'user', content: `tool result ${turn}: ` + 'const x = 1; '.repeat(5 + (turn % 3) * 3) });
    const n0 = records.length;
    const { status, json } = await post(`${r.proxy.url}/v1/chat/completions`, { model: 'tiny', max_tokens: 12, messages });
    const rec = await lastRecord(n0 + 1);
    if (status === 400) {
      assert.equal(rec.truncated, true);
      overflowTurn = turn;
      break;
    }
    const choice = (json.choices as { message: { content: string } }[])[0]!;
    messages.push({ role: 'assistant', content: choice.message.content });
    track = observeTurn(track, { at: turn, promptTokens: rec.promptTokens!, outputTokens: rec.outputTokens! });
    const g = growthPerTurn(track);
    if (g !== undefined) {
      const h = computeHorizon({ usedTokens: rec.promptTokens! + rec.outputTokens!, growthPerTurn: g, window: WINDOW });
      // turnsLeft more turns fit; the one after overflows.
      predictions.push({ turn, overflowAt: turn + h.turnsLeft! + 1 });
    }
  }
  assert.ok(overflowTurn !== undefined && overflowTurn > 8, `overflow at ${overflowTurn}`);
  t.diagnostic(`overflow at turn ${overflowTurn}; predictions ${JSON.stringify(predictions.slice(-6))}`);
  // Three turns before the overflow, the prediction is within one turn of what happened.
  const early = predictions.find((p) => p.turn === overflowTurn! - 3)!;
  assert.ok(Math.abs(early.overflowAt - overflowTurn!) <= 1, JSON.stringify(early));
});
