// `headroom bench` as users run it (the bundled CLI in a child process): flag errors are one line and exit 2,
// an engine that is not there is a clear failure with exit 1 and no table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runCliAsync } from '../support/run-cli';

test('bad flags are one-line errors with exit code 2', async () => {
  for (const [args, re] of [
    [['--endpoint', 'ftp://127.0.0.1:1'], /--endpoint expects an http\(s\) URL/],
    [['--engine', 'tgi'], /--engine must be one of llama\.cpp, ollama, lmstudio, openai-compatible/],
    [['--hardware', 'no-such-box'], /unknown --hardware 'no-such-box'/],
    [['--depths', '0,abc'], /--depths expects a whole number/],
    [['--tokens', '0'], /--tokens must be between 2 and 1024/],
    [['--frobnicate'], /Unknown option '--frobnicate'/],
  ] as const) {
    const r = await runCliAsync(['bench', ...args]);
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
  const r = await runCliAsync(['bench', '--endpoint', `http://127.0.0.1:${port}`, '--engine', 'llama.cpp']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`bench failed \\(unreachable\\): http://127\\.0\\.0\\.1:${port}: connection refused`));
  assert.equal(r.stdout, '');
});

test('--help documents the flags', async () => {
  const r = await runCliAsync(['bench', '--help']);
  assert.equal(r.code, 0);
  for (const flag of ['--endpoint', '--model', '--json', '--depths', '--tokens', '--hardware', '--bandwidth-gbps']) assert.ok(r.stdout.includes(flag), flag);
});
