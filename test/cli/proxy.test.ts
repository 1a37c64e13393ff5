// `headroom proxy` end to end: the real CLI process in front of a scripted engine on 127.0.0.1.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { fetchRaw, startEngine, writeInPieces } from '../providers/proxy/engine';
import { formatRecord, parseListen } from '../../src/cli/proxy';
import { DATA } from '../support/data';
import { startTruncatingOllama } from '../providers/proxy/ollama-truncating';

/** The real CLI's `headroom proxy` on a free loopback port; resolves once it says where it listens. */
async function startProxyCli(t: TestContext, args: string[]): Promise<{ child: ChildProcessWithoutNullStreams; url: string; out(): string; err(): string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'proxy', '--listen', '127.0.0.1:0', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  let err = '';
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.once('exit', () => reject(new Error(`cli exited: ${err}`)));
  });
  return { child, url, out: () => out, err: () => err };
}

test('--listen parsing and rejection of bad values', () => {
  assert.deepEqual(parseListen('127.0.0.1:11435'), { host: '127.0.0.1', port: 11435 });
  assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
  assert.throws(() => parseListen('11435'), /HOST:PORT/);
  assert.throws(() => parseListen('127.0.0.1:99999'), /0–65535/);
});

test('prints one JSON line per generation request, without text; stops on SIGTERM', async (t) => {
  const final = readFileSync(`${DATA}/engines/ollama/api_generate_final.json`);
  const engine = await startEngine(async (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    await writeInPieces(res, Buffer.from('{"model":"gemma4","response":"SECRET-COMPLETION","done":false}\n' + JSON.stringify(JSON.parse(final.toString())) + '\n'), 4);
  });
  t.after(() => engine.close());
  const cli = await startProxyCli(t, ['--target', engine.url, '--json-log']);
  const { child, url } = cli;
  const res = await fetchRaw(`${url}/api/generate`, { body: JSON.stringify({ model: 'gemma4', prompt: 'SECRET-PROMPT' }) });
  assert.equal(res.status, 200);
  assert.match(res.body.toString(), /SECRET-COMPLETION/);
  while (!cli.out().includes('\n')) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number];
  assert.equal(code, 0);
  const lines = cli.out().trim().split('\n');
  assert.equal(lines.length, 1);
  const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(rec.endpoint, '/api/generate');
  assert.equal(rec.model, 'gemma4');
  assert.equal(rec.promptTokens, 11);
  assert.equal(rec.outputTokens, 18);
  assert.equal(rec.truncated, false);
  assert.ok(!cli.out().includes('SECRET'));
  assert.match(formatRecord(rec as never), /prompt 11 → out 18  decode 343 tok\/s/);
});

test('readable lines: a GGUF path shows as its file name, a sub-second TTFT in ms', () => {
  const base = { endpoint: '/completion', target: 'http://127.0.0.1:8080', method: 'POST', status: 200, durationMs: 50, truncated: false, at: 0 };
  const line = formatRecord({ ...base, model: '/models/qwen3/Qwen3-8B-Q4_K_M.gguf', ttftMs: 186.159 });
  assert.match(line, /POST \/completion {2}Qwen3-8B-Q4_K_M\.gguf {2}status 200/);
  assert.match(line, /ttft 186 ms/);
  assert.match(formatRecord({ ...base, model: 'C:\\models\\gemma.gguf', ttftMs: 2500 }), /gemma\.gguf .*ttft 2\.5 s/);
  assert.match(formatRecord({ ...base, model: 'gemma4:latest' }), /gemma4:latest/);
  // The guard's verdict when it acted; nothing when it passed.
  assert.match(formatRecord({ ...base, model: 'gemma4', guard: { action: 'refused', promptTokens: 12345, window: 4096, method: 'learned' } }), /GUARD REFUSED \(prompt ≈ 12,345 tokens by learned, window 4,096\)/);
  assert.doesNotMatch(formatRecord({ ...base, model: 'gemma4', guard: { action: 'passed', promptTokens: 10, window: 4096, method: 'tokenizer' } }), /GUARD/);
});

test('refuses a non-loopback --listen with a clear error', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'proxy', '--listen', '0.0.0.0:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  assert.equal(code, 2);
  assert.match(err, /headroom: refusing to listen on 0\.0\.0\.0/);
});

test('--guard refuse: an over-long prompt gets the Ollama-shaped 400, the log line says refused; bad --guard is an error', async (t) => {
  const engine = await startTruncatingOllama({ window: 4096 });
  t.after(() => engine.close());
  const cli = await startProxyCli(t, ['--target', engine.url, '--guard', 'refuse', '--json-log']);
  const { child, url } = cli;
  assert.match(cli.err(), /truncation guard refuse/);
  const res = await fetchRaw(`${url}/api/generate`, { body: JSON.stringify({ model: 'gemma4', prompt: 'SECRET-PROMPT '.repeat(4000) }) });
  assert.equal(res.status, 400);
  assert.match((JSON.parse(res.body.toString()) as { error: string }).error, /window/);
  assert.equal(engine.generations(), 0);
  while (!cli.out().includes('\n')) await new Promise((r) => setTimeout(r, 20));
  const rec = JSON.parse(cli.out().trim().split('\n')[0]!) as { guard: { action: string; window: number; method: string } };
  assert.deepEqual({ action: rec.guard.action, window: rec.guard.window, method: rec.guard.method }, { action: 'refused', window: 4096, method: 'default' });
  assert.match(cli.err(), /refused: gemma4: prompt ≈/);
  assert.ok(!cli.out().includes('SECRET') && !cli.err().includes('SECRET'), 'prompt text leaked');
  child.kill('SIGTERM');
  await once(child, 'exit');

  const bad = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'proxy', '--guard', 'block'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let badErr = '';
  bad.stderr.on('data', (b: Buffer) => (badErr += b.toString()));
  const [code] = (await once(bad, 'exit')) as [number];
  assert.notEqual(code, 0);
  assert.match(badErr, /--guard must be one of off, warn, refuse/);
});
