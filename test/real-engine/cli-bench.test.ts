// `headroom bench` end to end: the bundled CLI measuring a real llama-server on loopback.
import { test, type TestContext } from 'node:test';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { llamaServerAvailable, startLlamaServer, type RunningServer } from '../support/llama-server';
import { runCliAsync } from '../support/run-cli';
import { tinyModelPath } from '../support/tiny-model';

const avail = llamaServerAvailable();

async function server(t: TestContext): Promise<RunningServer | undefined> {
  if (!avail.ok) {
    t.skip(avail.reason);
    return undefined;
  }
  const s = await startLlamaServer({ model: tinyModelPath(), ctx: 2048, parallel: 1, extraArgs: ['-t', '1'] });
  t.after(() => s.stop());
  return s;
}

test('--json: runs at capped depths, a roofline from the GGUF and a calibration factor', async (t) => {
  const s = await server(t);
  if (!s) return;
  const r = await runCliAsync(['bench', '--endpoint', s.url, '--json', '--tokens', '16', '--bandwidth-gbps', '20', '--no-save'], {}, 120_000);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    result: { key: { endpoint: string; quant: string }; engine: string; nCtx: number; runs: { promptTokens: number; outputTokens: number; decodeTokPerSec: number }[] };
    rows: { ceilingTokPerSec: number; efficiency: number }[];
    calibration: { factor: number; points: unknown[] };
    hardware: { bandwidthGBps: number };
    notes: string[];
  };
  assert.equal(out.result.engine, 'llama.cpp');
  assert.equal(out.result.key.endpoint, s.url);
  assert.equal(out.result.key.quant, 'F16');
  assert.equal(out.result.nCtx, 2048);
  // 0 → 16 tokens; 8192 capped to 2048 − 16 − 8; 32768 capped to the same depth, so dropped.
  assert.deepEqual(out.result.runs.map((x) => x.promptTokens), [16, 2024]);
  assert.ok(out.result.runs.every((x) => x.outputTokens === 16 && x.decodeTokPerSec > 0));
  assert.equal(out.hardware.bandwidthGBps, 20);
  // The tiny model is 1 MB: the roofline is 20 GB/s ÷ (weights + KV) — thousands of tok/s, falling with depth.
  assert.ok(out.rows[0]!.ceilingTokPerSec > 5000, String(out.rows[0]!.ceilingTokPerSec));
  assert.ok(out.rows[1]!.ceilingTokPerSec < out.rows[0]!.ceilingTokPerSec);
  assert.ok(out.rows.every((x) => x.efficiency > 0 && x.efficiency < 1));
  assert.equal(out.calibration.points.length, 2);
  assert.ok(out.calibration.factor > 0);
  assert.match(out.notes.join('\n'), /32768 skipped/);
});

test('human output: the table, the regime of each rate and the ceiling source', async (t) => {
  const s = await server(t);
  if (!s) return;
  const r = await runCliAsync(['bench', '--endpoint', s.url, '--tokens', '8', '--depths', '0', '--no-save'], {}, 60_000);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^llama\.cpp at http:\/\/127\.0\.0\.1:\d+: tiny-llama-2L-128h-\w+\.gguf \(F16\)/);
  assert.match(r.stdout, /depth\s+prompt tok\s+prefill\s+TTFT\s+decode\s+feels\s+ceiling\s+efficiency/);
  assert.match(r.stdout, /Prefill is compute-bound; decode is bandwidth-bound/);
  assert.match(r.stdout, /from the GGUF/);
  assert.match(r.stderr, /bench: run 1\/1 at depth 0/);
});

test('the engine killed mid-run: exit 1, a clear message, and nothing stored', async (t) => {
  if (!avail.ok) return t.skip(avail.reason);
  const dir = mkdtempSync(join(tmpdir(), 'cli-bench-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = join(dir, 'results.json');
  // The wider model takes seconds for 1024 tokens, so the kill lands mid-stream.
  const s = await startLlamaServer({ model: tinyModelPath({ nLayers: 4, hidden: 512, nHeads: 8, nKvHeads: 4, ffn: 1536 }), ctx: 2048, extraArgs: ['-t', '1', '--slots'] });
  t.after(() => s.stop());
  const cli = runCliAsync(['bench', '--endpoint', s.url, '--tokens', '1024', '--depths', '0'], { HEADROOM_BENCH_STORE: store }, 120_000);
  // Kill once the measured run (n_predict 1024, not the 4-token warm-up) is decoding.
  let decoding = false;
  for (let i = 0; i < 600 && !decoding; i++) {
    const slots = (await (await fetch(`${s.url}/slots`)).json()) as { is_processing: boolean; params?: { n_predict?: number }; next_token?: { n_decoded: number }[] }[];
    decoding = slots.some((x) => x.is_processing && x.params?.n_predict === 1024 && (x.next_token?.[0]?.n_decoded ?? 0) > 0);
    if (!decoding) await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(decoding, 'saw the measured run decoding');
  s.kill();
  const r = await cli;
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /bench failed \(engine\): POST \/completion: the engine closed the connection mid-run \(did it crash or stop\?\)/);
  assert.equal(r.stdout, '');
  assert.equal(existsSync(store), false, 'no stored result');
});
