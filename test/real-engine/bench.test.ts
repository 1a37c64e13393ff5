// `headroom bench` against a REAL llama-server: the numbers must be the server's own (checked against its
// /metrics counters and our wall clock), cancel must stop the server's work, and a server killed mid-run
// must give a clear error and no result.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { BenchError, runBench } from '../../src/providers/bench';
import { llamaServerAvailable, startLlamaServer, type RunningServer } from '../support/llama-server';
import { tinyModelPath, type TinyModelSpec } from '../support/tiny-model';

const avail = llamaServerAvailable();
// A wider model (~25 MB of F16 weights): one decode step takes milliseconds, well above the jitter of HTTP
// chunking, and 1024 tokens take seconds. The 1 MB default can finish 1024 tokens before a cancel lands,
// and packs several tokens into one TCP read, which makes client-side timing noise.
const WIDE: Partial<TinyModelSpec> = { nLayers: 4, hidden: 512, nHeads: 8, nKvHeads: 4, ffn: 1536 };

// One thread: the suite shares 2 cores with everything else, and spinning thread pools degrade worst under load.
async function server(t: TestContext, model: Partial<TinyModelSpec> = {}): Promise<RunningServer | undefined> {
  if (!avail.ok) {
    t.skip(avail.reason);
    return undefined;
  }
  const s = await startLlamaServer({ model: tinyModelPath(model), ctx: 4096, parallel: 1, extraArgs: ['--metrics', '--slots', '-t', '1'] });
  t.after(() => s.stop());
  return s;
}

async function counters(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  return Object.fromEntries([...text.matchAll(/^llamacpp:(\w+) (\S+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
}

test('bench measures the real server at capped depths with its own timings', async (t) => {
  const s = await server(t);
  if (!s) return;
  let before: Promise<Record<string, number>> | undefined;
  const m = await runBench({
    endpoint: s.url,
    depths: [0, 1024, 8192],
    outputTokens: 48,
    timeoutMs: 120_000,
    // Snapshot the server's counters after the warm-up, just before the first measured request.
    onRun: ({ index }) => {
      if (index === 0) before = counters(s.url);
    },
  });
  const after = await counters(s.url);
  const b = await before!;

  assert.equal(m.engine, 'llama.cpp');
  assert.equal(m.nCtx, 4096);
  assert.equal(m.quant, 'F16');
  assert.ok(m.weightsBytes && m.weightsBytes > 0);
  // 8192 does not fit a 4096 context: capped to 4096 − 48 − 8, and said so.
  assert.deepEqual(m.runs.map((r) => r.targetDepth), [0, 1024, 8192]);
  assert.deepEqual(m.runs.map((r) => r.promptTokens), [16, 1024, 4096 - 48 - 8]);
  assert.match(m.notes.join('\n'), /8192 capped to 4040/);
  for (const r of m.runs) {
    assert.equal(r.timing, 'engine');
    assert.equal(r.outputTokens, 48, 'EOS ignored: a fixed generation');
    assert.equal(r.cachedTokens, 0, 'no prompt-cache reuse between runs');
    assert.ok(r.decodeTokPerSec! > 0 && r.prefillTokPerSec! > 0 && r.ttftMs! > 0);
  }
  // The server's counters moved by exactly what we report.
  const sum = (f: (r: (typeof m.runs)[number]) => number) => m.runs.reduce((a, r) => a + f(r), 0);
  assert.equal(after.tokens_predicted_total! - b.tokens_predicted_total!, sum((r) => r.outputTokens));
  assert.equal(after.prompt_tokens_total! - b.prompt_tokens_total!, sum((r) => r.promptTokens));
  // The server's own seconds, rebuilt from our per-run rates, match its counters (prefill from prompt rate).
  const promptSeconds = sum((r) => r.promptTokens / r.prefillTokPerSec!);
  const counted = after.prompt_seconds_total! - b.prompt_seconds_total!;
  assert.ok(Math.abs(promptSeconds - counted) < 0.02 * counted + 0.01, `prefill seconds ${promptSeconds} vs server ${counted}`);
  // And the engine's time fits inside our wall clock for each request.
  for (const r of m.runs) {
    const engineMs = (1000 * r.promptTokens) / r.prefillTokPerSec! + (1000 * (r.outputTokens - 1)) / r.decodeTokPerSec!;
    assert.ok(engineMs <= r.wallMs * 1.02 + 2, `engine ${engineMs} ms vs wall ${r.wallMs} ms`);
    // ... and is most of it, once the fixed HTTP/scheduling overhead (generously 100 ms on a loaded 2-core box) is set aside.
    assert.ok(engineMs >= (r.wallMs - 100) * 0.5, `engine ${engineMs} ms vs wall ${r.wallMs} ms`);
  }
  // Deeper context, slower decode: attention reads more KV per token (the physics the estimator uses).
  assert.ok(m.runs[2]!.decodeTokPerSec! < m.runs[0]!.decodeTokPerSec!);
});

test('client-side timing of the same server agrees with the engine timings', async (t) => {
  const s = await server(t, WIDE);
  if (!s) return;
  const opts = { endpoint: s.url, depths: [512], outputTokens: 256, timeoutMs: 120_000 };
  // engine, client, engine: the shared 2-core box's load drifts, so compare with the mean of both sides.
  const e1 = (await runBench(opts)).runs[0]!;
  const c = (await runBench({ ...opts, engineTimings: false })).runs[0]!;
  const e2 = (await runBench(opts)).runs[0]!;
  assert.equal(c.timing, 'client');
  assert.equal(c.outputTokens, 256);
  const e = { decodeTokPerSec: (e1.decodeTokPerSec! + e2.decodeTokPerSec!) / 2, ttftMs: Math.min(e1.ttftMs!, e2.ttftMs!) };
  // Same order of magnitude (catches counting chunks for tokens or ms for s); load noise stays inside 2×.
  const ratio = c.decodeTokPerSec! / e.decodeTokPerSec;
  assert.ok(ratio > 0.5 && ratio < 2, `client/engine decode ratio ${ratio}`);
  assert.ok(c.ttftMs! >= e.ttftMs * 0.5, 'client TTFT includes the engine prefill');
});

test('cancel aborts the request promptly and the server stops generating', async (t) => {
  const s = await server(t, WIDE);
  if (!s) return;
  const ctl = new AbortController();
  let abortedAt = 0;
  // Cancel while decoding: llama-server notices a closed connection when it next sends a token, so a
  // cancel during a long prefill frees the slot only once that prefill is done (the client returns at once).
  const p = runBench({
    endpoint: s.url,
    depths: [0],
    outputTokens: 1024,
    signal: ctl.signal,
    onRun: () => {
      setTimeout(() => {
        abortedAt = performance.now();
        ctl.abort();
      }, 300);
    },
  });
  await assert.rejects(p, (e: unknown) => e instanceof BenchError && e.kind === 'aborted');
  assert.ok(performance.now() - abortedAt < 1000, 'rejected within a second of the abort');
  // llama-server notices the closed connection and frees the slot.
  let busy = true;
  for (let i = 0; i < 40 && busy; i++) {
    const slots = (await (await fetch(`${s.url}/slots`)).json()) as { is_processing: boolean }[];
    busy = slots.some((x) => x.is_processing);
    if (busy) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(busy, false, 'slot idle again after cancel');
  const c = await counters(s.url);
  assert.ok(c.tokens_predicted_total! < 4 + 1024, `server stopped early (${c.tokens_predicted_total} tokens predicted)`);
});

test('killing the server mid-run yields a clear error and no result', async (t) => {
  const s = await server(t, WIDE);
  if (!s) return;
  let result: unknown;
  const p = runBench({
    endpoint: s.url,
    depths: [0],
    outputTokens: 1024,
    timeoutMs: 60_000,
    // After the warm-up succeeded: the engine dies while the first measured run is streaming.
    onRun: () => setTimeout(() => s.kill(), 100),
  }).then((r) => (result = r));
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof BenchError, String(e));
    assert.ok(e.kind === 'engine' || e.kind === 'unreachable', e.kind);
    assert.match(e.message, /closed the connection|ended before the engine finished|refused/);
    return true;
  });
  assert.equal(result, undefined);
});
