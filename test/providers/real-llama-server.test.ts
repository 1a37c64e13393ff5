// A REAL llama-server (built from node-llama-cpp's source bundle) serving the tiny GGUF on a random
// loopback port: detection finds it from an endpoint given by flag or env, the snapshot reads its real
// props/slots/metrics, and `headroom status` estimates its memory from the GGUF header — checked
// against the sizes the server itself logs at load. Skips, saying why, when llama-server is not built.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, llamaServerAvailable, llamaServerForFile, parseMemoryLog } from '../support/llama-server';
import { tinyModelPath } from '../support/tiny-model';
import { runCliAsync } from '../support/run-cli';
import { detectEndpoint } from '../../src/providers/detect';
import { readGgufHeader } from '../../src/gguf/read';
import { specFromGgufMetadata } from '../../src/estimator/gguf-spec';
import { tensorBytes } from '../../src/estimator/ggml-types';
import { assertCpuBuffersMatch } from '../support/cpu-buffers';

const avail = llamaServerAvailable();
const CTX = 2048;
const NP = 2;
const model = avail.ok ? tinyModelPath() : '';
// -lv 4: this build logs buffer sizes only at verbosity 4.
const server = llamaServerForFile(() => ({ model, ctx: CTX, parallel: NP, extraArgs: ['--metrics', '--slots', '-lv', '4'] }));

test('snapshot of the real server: slots, per-slot context, model path, metrics; context in use after a request', async (t) => {
  const s = server(t);
  if (!s) return;
  const d = await detectEndpoint({ url: s.url, source: 'option' });
  assert.equal(d.engine, 'llama.cpp');
  assert.match(d.version ?? '', /^b\d+-[0-9a-f]+$/);
  const snap = d.snapshot!;
  assert.equal(snap.server, 'llama.cpp');
  const m = snap.loaded[0]!;
  assert.equal(m.contextPerSlot?.value, CTX / NP);
  assert.equal(m.parallel?.value, NP);
  assert.equal(m.modelPath, model);
  assert.equal(snap.slots?.length, NP);
  assert.ok(snap.metrics?.some((x) => x.name === 'llamacpp:prompt_tokens_total'));

  // Put tokens in a slot, then read them back from /slots.
  const res = await fetch(`${s.url}/completion`, { method: 'POST', body: JSON.stringify({ prompt: 'hello world, hello world', n_predict: 8 }), signal: AbortSignal.timeout(30_000) });
  const body = (await res.json()) as { tokens_evaluated: number; tokens_predicted: number };
  const after = (await detectEndpoint({ url: s.url, source: 'option' })).snapshot!.loaded[0]!;
  assert.equal(after.contextUsed?.source, 'engine');
  // The slot holds the prompt plus all generated tokens but the last (not yet decoded into the cache).
  const used = after.contextUsed!.value;
  assert.ok(used >= body.tokens_evaluated && used <= body.tokens_evaluated + body.tokens_predicted, `used ${used}, prompt ${body.tokens_evaluated}, predicted ${body.tokens_predicted}`);
});

test('headroom detect --json finds it from HEADROOM_ENDPOINTS and from --endpoint', async (t) => {
  const s = server(t);
  if (!s) return;
  for (const [args, env] of [
    [['detect', '--json', '--no-defaults'], { HEADROOM_ENDPOINTS: s.url }],
    [['detect', '--json', '--no-defaults', '--endpoint', `127.0.0.1:${s.port}`], {}],
  ] as Array<[string[], Record<string, string>]>) {
    const r = await runCliAsync(args, env);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Array<{ endpoint: string; engine: string; models: Array<{ name: string; loaded: boolean; contextLength: number; quant: string | null }> }>;
    assert.equal(out.length, 1);
    assert.equal(out[0]!.endpoint, s.url);
    assert.equal(out[0]!.engine, 'llama.cpp');
    assert.equal(out[0]!.models[0]!.loaded, true);
    assert.equal(out[0]!.models[0]!.contextLength, CTX / NP);
    assert.equal(out[0]!.models[0]!.quant, 'F16');
  }
});

test('headroom status: model, context, slots and a memory estimate that matches the server\'s own load log', async (t) => {
  const s = server(t);
  if (!s) return;
  const r = await runCliAsync(['status', '--json', '--no-defaults', '--hardware', 'rtx-4090', '--endpoint', s.url]);
  assert.equal(r.code, 0, r.stderr);
  const [e] = JSON.parse(r.stdout) as Array<Record<string, any>>;
  const m = e!.models[0];
  assert.equal(m.spec.source, 'gguf');
  assert.equal(m.context.perSlot.value, CTX / NP);
  assert.equal(m.context.parallel.value, NP);
  const log = parseMemoryLog(s.log());
  assert.ok(log.kv && log.modelBytes && log.computeBytes, 'memory lines in the server log');
  // Logged sizes are MiB with 2 decimals: allow that rounding (±0.005 MiB per figure).
  const slack = 0.01 * 1024 * 1024;
  assert.ok(Math.abs(m.memory.kvBytes - log.kv.bytes) <= slack, `KV ${m.memory.kvBytes} vs log ${log.kv.bytes}`);
  assert.equal(m.memory.allocatedCtx, log.kv.cells * log.kv.streams);
  // rtx-4090: a GPU holds the file's tensor data (no CPU repack); the CPU buffers this CPU server logged are
  // checked one by one against their own estimates.
  const header = await readGgufHeader(model);
  const tensors = specFromGgufMetadata(header.metadata, header.tensors, 'tiny').tensors!;
  assert.equal(m.memory.weightsBytes, tensors.reduce((a, x) => a + tensorBytes(x.type, x.shape), 0));
  assert.equal(m.memory.repackBytes, undefined);
  assertCpuBuffersMatch(s.log(), tensors, 'status');
  // Reported so the final report can quote the measured figures.
  t.diagnostic(`kv est ${m.memory.kvBytes} log ${log.kv.bytes}; weights est ${m.memory.weightsBytes} log ${log.modelBytes}; compute est ${m.memory.computeBytes} log ${log.computeBytes}`);

  const text = await runCliAsync(['status', '--no-defaults', '--endpoint', s.url]);
  assert.match(text.stdout, /llama\.cpp b\d+/);
  assert.match(text.stdout, new RegExp(`${CTX / NP >= 1024 ? `${(CTX / NP / 1024).toFixed(0)}k` : CTX / NP} per slot × ${NP} slot\\(s\\)`));
  assert.match(text.stdout, /memory \(estimated\)/);
});

test('router mode (llama-server --models-dir): loaded children found via /models, read via ?model=', async (t) => {
  if (!avail.ok) return t.skip(avail.reason);
  const dir = mkdtempSync(join(tmpdir(), 'headroom-router-'));
  copyFileSync(model, join(dir, 'tiny.gguf'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(avail.binary, ['--models-dir', dir, '--host', '127.0.0.1', '--port', String(port), '-c', String(CTX), '-np', String(NP), '--no-ui'], { detached: true, stdio: 'ignore' });
  const stop = (): void => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
  };
  t.after(stop);
  const until = async (what: string, ok: () => Promise<boolean>): Promise<void> => {
    const deadline = Date.now() + 60_000;
    while (!(await ok().catch(() => false))) {
      if (Date.now() > deadline) throw new Error(`router: ${what} not reached in 60 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await until('healthy', async () => (await fetch(`${url}/health`)).status === 200);

  const idle = await detectEndpoint({ url, source: 'option' });
  assert.equal(idle.engine, 'llama.cpp');
  assert.deepEqual(idle.snapshot?.models.map((m) => [m.name, m.loaded]), [['tiny', false]]);
  assert.equal(idle.snapshot?.loaded.length, 0);

  await fetch(`${url}/models/load`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"tiny"}' });
  await until('tiny loaded', async () => JSON.stringify(await (await fetch(`${url}/models`)).json()).includes('"value":"loaded"'));
  const d = await detectEndpoint({ url, source: 'option' });
  const snap = d.snapshot!;
  assert.match(snap.notes[0] ?? '', /router mode: 1 of 1 model\(s\) loaded/);
  const m = snap.loaded[0]!;
  assert.equal(m.name, 'tiny');
  assert.equal(m.modelPath, join(dir, 'tiny.gguf'));
  assert.equal(m.contextPerSlot?.value, CTX / NP);
  assert.equal(m.parallel?.value, NP);
  // The child's command line (status.args) has an explicit --parallel and no --kv-unified.
  assert.deepEqual(m.contextTotal, { value: CTX, source: 'engine', via: 'router status.args: explicit --parallel, no --kv-unified' });
  assert.equal(snap.slots?.length, NP);
  assert.equal(snap.slots?.[0]?.model, 'tiny');

  const r = await runCliAsync(['status', '--json', '--no-defaults', '--endpoint', url]);
  const [e] = JSON.parse(r.stdout) as Array<Record<string, any>>;
  assert.equal(e!.models[0].spec.source, 'gguf');
  assert.equal(e!.models[0].memory.allocatedCtx, CTX);
});

test('headroom detect (no flags) finds a real llama-server on its new default port 9931', async (t) => {
  if (!avail.ok) return t.skip(avail.reason);
  const inUse = await fetch('http://127.0.0.1:9931/health').then(
    () => true,
    () => false,
  );
  if (inUse) return t.skip('port 9931 is already in use on this machine');
  const child = spawn(avail.binary, ['-m', model, '--host', '127.0.0.1', '--port', '9931', '-c', String(CTX), '-np', String(NP), '--no-ui'], { detached: true, stdio: 'ignore' });
  t.after(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
  });
  const deadline = Date.now() + 60_000;
  while (!(await fetch('http://127.0.0.1:9931/health').then((r) => r.status === 200, () => false))) {
    if (Date.now() > deadline) throw new Error('llama-server on 9931 not healthy in 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  const r = await runCliAsync(['detect', '--json']);
  const out = JSON.parse(r.stdout) as Array<{ endpoint: string; engine: string; models: Array<{ contextLength: number }> }>;
  const hit = out.find((d) => d.endpoint === 'http://127.0.0.1:9931');
  assert.equal(hit?.engine, 'llama.cpp');
  assert.equal(hit?.models[0]?.contextLength, CTX / NP);
});
