// `headroom bench` as users run it (the bundled CLI in a child process): flag errors are one line and exit 2,
// an engine that is not there is a clear failure with exit 1 and no table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliAsync } from '../support/run-cli';
import { DATA } from '../support/data';

test('bad flags are one-line errors with exit code 2', async () => {
  for (const [args, re] of [
    [['--endpoint', 'ftp://127.0.0.1:1'], /--endpoint: invalid endpoint 'ftp:\/\/127\.0\.0\.1:1': only http and https are supported/],
    [['--engine', 'tgi'], /--engine must be one of llama\.cpp, ollama, lmstudio, openai-compatible/],
    [['--hardware', 'no-such-box'], /unknown --hardware 'no-such-box'/],
    [['--depths', '0,abc'], /--depths expects a whole number/],
    [['--tokens', '0'], /--tokens must be between 2 and 1024/],
    [['--frobnicate'], /Unknown option '--frobnicate'/],
  ] as const) {
    const r = await runCliAsync(['bench', ...args], { HEADROOM_BENCH_STORE: '/nonexistent/never-written.json' });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    assert.equal(r.stdout, '');
  }
});

test('no engine at the endpoint → "bench failed (unreachable)", exit 1, nothing on stdout', async () => {
  const srv = createServer();
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const port = (srv.address() as AddressInfo).port;
  await new Promise((ok) => srv.close(ok));
  const r = await runCliAsync(['bench', '--endpoint', `http://127.0.0.1:${port}`, '--engine', 'llama.cpp', '--no-save']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`bench failed \\(unreachable\\): http://127\\.0\\.0\\.1:${port}: connection refused`));
  assert.equal(r.stdout, '');
});

test('no --endpoint: benches the engine named in HEADROOM_ENDPOINTS (detected as Ollama from recorded answers)', async (t) => {
  const FIX = process.env.HEADROOM_FIXTURES ?? `${DATA}/engines`;
  const body = (f: string) => readFileSync(join(FIX, 'ollama', f), 'utf8');
  const final = JSON.stringify(JSON.parse(body('api_generate_final.json')));
  const srv = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const routes: Record<string, () => void> = {
        'GET /api/version': () => res.writeHead(200, { 'content-type': 'application/json' }).end(body('api_version.json')),
        'GET /api/tags': () => res.writeHead(200, { 'content-type': 'application/json' }).end(body('api_tags.json')),
        'GET /api/ps': () => res.writeHead(200, { 'content-type': 'application/json' }).end(body('api_ps.json')),
        'GET /': () => res.writeHead(200, { 'content-type': 'text/plain' }).end('Ollama is running'),
        'POST /api/generate': () => res.writeHead(200, { 'content-type': 'application/x-ndjson' }).end(final + '\n'),
      };
      const r = routes[`${req.method} ${req.url}`];
      if (r) r();
      else res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    });
  });
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  t.after(() => {
    srv.closeAllConnections();
    srv.close();
  });
  const port = (srv.address() as AddressInfo).port;
  const dir = mkdtempSync(join(tmpdir(), 'cli-bench-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = join(dir, 'results.json');
  const r = await runCliAsync(['bench', '--json', '--depths', '0', '--hardware', 'rtx-4090'], { HEADROOM_ENDPOINTS: `127.0.0.1:${port}`, HEADROOM_BENCH_STORE: store });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { result: { engine: string; key: { endpoint: string; model: string; quant: string; hardwareId: string }; runs: { decodeTokPerSec: number }[] } };
  assert.equal(out.result.engine, 'ollama');
  assert.deepEqual(out.result.key, { endpoint: `http://127.0.0.1:${port}`, model: 'gemma4', quant: 'Q4_K_M', hardwareId: 'rtx-4090' });
  const f = JSON.parse(final) as { eval_count: number; eval_duration: number };
  assert.ok(Math.abs(out.result.runs[0]!.decodeTokPerSec - (f.eval_count / f.eval_duration) * 1e9) < 1e-6);
  // The measurement is stored for later calibration, exactly as printed.
  const saved = JSON.parse(readFileSync(store, 'utf8')) as { version: number; results: unknown[] };
  assert.equal(saved.version, 1);
  assert.deepEqual(saved.results, [out.result]);
});

test('a damaged store is reported before any measuring, with the way out', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-bench-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = join(dir, 'results.json');
  writeFileSync(store, '{"version":1,"results":[{"key":');
  const r = await runCliAsync(['bench', '--endpoint', '127.0.0.1:9'], { HEADROOM_BENCH_STORE: store });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bench store .*results\.json: not valid JSON .*move it aside \(or pass --no-save\)/);
});

test('--help documents the flags', async () => {
  const r = await runCliAsync(['bench', '--help']);
  assert.equal(r.code, 0);
  for (const flag of ['--endpoint', '--model', '--json', '--depths', '--tokens', '--hardware', '--bandwidth-gbps']) assert.ok(r.stdout.includes(flag), flag);
});
