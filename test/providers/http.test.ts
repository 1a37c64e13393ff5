// The HTTP helper against real loopback servers: statuses, caps, cancellation and an injected dispatcher.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'undici';
import { z } from 'zod';
import { getJson, getText, postJson } from '../../src/providers/http';
import { ProviderError } from '../../src/providers/errors';
import { startServer } from '../support/fixture-server';
import { startSilentServer } from '../support/hostile-servers';

const opts = { timeoutMs: 2000, maxBytes: 1024 };

test('getJson validates and keeps response headers; POST sends JSON', async () => {
  const s = await startServer({
    'GET /ok': { headers: { server: 'llama.cpp' }, body: '{"n":1}' },
    'POST /echo': (_req, res, body) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    },
  });
  try {
    const r = await getJson(`${s.url}/ok`, z.object({ n: z.number() }), opts);
    assert.deepEqual(r.data, { n: 1 });
    assert.equal(r.headers['server'], 'llama.cpp');
    const p = await postJson(`${s.url}/echo`, { model: 'm' }, z.object({ model: z.string() }), opts);
    assert.equal(p.data.model, 'm');
  } finally {
    await s.close();
  }
});

test('non-2xx → http error carrying the engine\'s own message and status', async () => {
  const s = await startServer({}, { status: 501, body: '{"error":{"code":501,"message":"This server does not support slots endpoint.","type":"not_supported_error"}}' });
  try {
    await assert.rejects(getJson(`${s.url}/slots`, z.unknown(), opts), (e: unknown) => {
      assert.ok(e instanceof ProviderError);
      assert.equal(e.kind, 'http');
      assert.equal(e.status, 501);
      assert.equal(e.endpoint, s.url);
      assert.equal(e.path, '/slots');
      assert.equal(e.message, `${s.url}/slots: HTTP 501: This server does not support slots endpoint.`);
      return true;
    });
    await assert.rejects(getText(`${s.url}/metrics`, opts), /HTTP 501/);
  } finally {
    await s.close();
  }
});

test('size cap applies to text too', async () => {
  const s = await startServer({ 'GET /metrics': { headers: { 'content-type': 'text/plain' }, body: 'x'.repeat(5000) } });
  try {
    await assert.rejects(getText(`${s.url}/metrics`, opts), (e: unknown) => e instanceof ProviderError && e.kind === 'too-large');
  } finally {
    await s.close();
  }
});

test('caller cancellation → aborted, promptly, even against a silent server', async () => {
  const s = await startSilentServer();
  try {
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 50);
    const t0 = performance.now();
    await assert.rejects(getJson(`${s.url}/v1/models`, z.unknown(), { ...opts, timeoutMs: 10_000, signal: ctl.signal }), (e: unknown) => e instanceof ProviderError && e.kind === 'aborted');
    assert.ok(performance.now() - t0 < 2000);
    const pre = AbortSignal.abort();
    await assert.rejects(getJson(`${s.url}/v1/models`, z.unknown(), { ...opts, signal: pre }), (e: unknown) => e instanceof ProviderError && e.kind === 'aborted');
  } finally {
    await s.close();
  }
});

test('an injected dispatcher is used for the request', async () => {
  const s = await startServer({ 'GET /v1/models': { body: '{"data":[]}' } });
  let dispatched = 0;
  const agent = new Agent().compose((dispatch) => (o, h) => {
    dispatched++;
    return dispatch(o, h);
  });
  try {
    await getJson(`${s.url}/v1/models`, z.object({ data: z.array(z.unknown()) }), { ...opts, dispatcher: agent });
    assert.equal(dispatched, 1);
  } finally {
    await agent.close();
    await s.close();
  }
});

test('an unresolvable URL is a typed error, not a crash', async () => {
  await assert.rejects(getJson('http://256.256.256.256:1/x', z.unknown(), { ...opts, timeoutMs: 1500 }), (e: unknown) => e instanceof ProviderError && (e.kind === 'unreachable' || e.kind === 'timeout'));
});
