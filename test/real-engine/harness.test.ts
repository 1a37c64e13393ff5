// The harness itself: a server that cannot load its model fails fast with the engine's own words, and
// stop() really ends the process group and frees the port.
import { test } from 'node:test';
import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeGguf } from '../support/gguf-writer';
import { llamaServerAvailable, startLlamaServer, StartError } from '../support/llama-server';
import { tinyModelFile, tinyModelPath } from '../support/tiny-model';

const avail = llamaServerAvailable();

test('a GGUF missing a required tensor: the real loader refuses it, the harness reports its log', async (t) => {
  if (!avail.ok) return t.skip(avail.reason);
  const dir = mkdtempSync(join(tmpdir(), 'harness-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // The tiny model minus one layer's FFN down-projection: a well-formed file the loader must refuse.
  const file = tinyModelFile();
  file.tensors = file.tensors.filter((x) => x.name !== 'blk.1.ffn_down.weight');
  const broken = join(dir, 'broken.gguf');
  writeFileSync(broken, writeGguf(file));
  const t0 = performance.now();
  await assert.rejects(startLlamaServer({ model: broken, readyTimeoutMs: 30_000 }), (e: unknown) => {
    assert.ok(e instanceof StartError, String(e));
    assert.match(e.message, /exited \(code \d+\) before becoming healthy/);
    assert.match(e.serverLog, /tensor 'blk\.1\.ffn_down\.weight' not found/);
    return true;
  });
  assert.ok(performance.now() - t0 < 20_000, 'fails fast, not at the ready timeout');
});

test('stop() ends the server process and frees its port; stop() twice is harmless', async (t) => {
  if (!avail.ok) return t.skip(avail.reason);
  const s = await startLlamaServer({ model: tinyModelPath(), ctx: 512 });
  assert.equal((await fetch(`${s.url}/health`)).status, 200);
  await s.stop();
  await s.stop();
  assert.ok(s.exited());
  assert.throws(() => process.kill(s.pid, 0), { code: 'ESRCH' });
  await assert.rejects(fetch(`${s.url}/health`, { signal: AbortSignal.timeout(2000) }), /fetch failed/);
});

test('a test process killed outright (no cleanup) takes its server down with it', async (t) => {
  if (!avail.ok) return t.skip(avail.reason);
  // A separate process starts a server, reports it, then gets SIGKILLed: no after-hooks, no exit handlers.
  const script = `
    const { startLlamaServer } = require(${JSON.stringify(join(__dirname, '..', 'support', 'llama-server'))});
    const { tinyModelPath } = require(${JSON.stringify(join(__dirname, '..', 'support', 'tiny-model'))});
    startLlamaServer({ model: tinyModelPath(), ctx: 512 }).then((s) => console.log(JSON.stringify({ pid: s.pid, url: s.url })));
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  const line = await new Promise<string>((ok, fail) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) ok(buf.split('\n')[0]!);
    });
    child.once('exit', () => fail(new Error('helper exited before reporting')));
    setTimeout(() => fail(new Error('helper did not start a server in 60 s')), 60_000).unref();
  });
  const { pid, url } = JSON.parse(line) as { pid: number; url: string };
  assert.equal((await fetch(`${url}/health`)).status, 200);
  child.kill('SIGKILL');
  let alive = true;
  for (let i = 0; i < 100 && alive; i++) {
    try {
      process.kill(-pid, 0); // anything left in the server's process group?
      await new Promise((r) => setTimeout(r, 50));
    } catch {
      alive = false;
    }
  }
  assert.equal(alive, false, 'server process group gone within 5 s of its owner dying');
  await assert.rejects(fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) }), /fetch failed/);
});
