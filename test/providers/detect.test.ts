// Every engine in the fixtures, served side by side, told apart in a single detection run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFixtureServer, type TestServer } from '../support/fixture-server';
import { detect, PROVIDERS, refreshEndpoint } from '../../src/providers/detect';
import { ENGINE_KINDS } from '../../src/providers/types';

const ENGINES: Array<[string, string, string]> = [
  // [fixture folder, variant, expected engine]
  ['ollama', '', 'ollama'],
  ['localai', '', 'localai'],
  ['llama.cpp', '', 'llama.cpp'],
  ['llama.cpp', 'default-flags', 'llama.cpp'],
  ['tabbyapi', '', 'tabbyapi'],
  ['koboldcpp', '', 'koboldcpp'],
  ['mlx-lm', '', 'mlx-lm'],
  ['lmstudio', '', 'lmstudio'],
  ['lmstudio', 'v0-only', 'lmstudio'],
  ['vllm', '', 'vllm'],
  ['sglang', '', 'sglang'],
  ['exo', '', 'exo'],
  ['jan', '', 'openai-compatible'],
];

test('all fixture engines in one run, including the impersonators', async () => {
  const servers: TestServer[] = [];
  try {
    for (const [e, v] of ENGINES) servers.push(await startFixtureServer(e, v));
    const found = await detect(servers.map((s) => ({ url: s.url, source: 'option' as const })));
    assert.deepEqual(
      found.map((d) => d.engine),
      ENGINES.map(([, , want]) => want),
    );
    for (const d of found) assert.equal(d.error, undefined, `${d.engine}: ${JSON.stringify(d.error)}`);
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
});

test('one provider per engine kind, generic fallback last', () => {
  assert.deepEqual([...PROVIDERS.map((p) => p.kind)].sort(), [...ENGINE_KINDS].sort());
  assert.equal(PROVIDERS.at(-1)?.kind, 'openai-compatible');
  const order = PROVIDERS.map((p) => p.kind);
  assert.ok(order.indexOf('localai') < order.indexOf('ollama'));
  assert.ok(order.indexOf('tabbyapi') < order.indexOf('llama.cpp'));
  assert.ok(order.indexOf('tabbyapi') < order.indexOf('koboldcpp'));
  assert.ok(order.indexOf('llama.cpp') < order.indexOf('mlx-lm'));
});

test('probe-only mode skips the snapshot; hardware ids ride along', async () => {
  const s = await startFixtureServer('ollama');
  try {
    const [d] = await detect([{ url: s.url, source: 'option', hardware: 'mac-studio' }], { snapshot: false });
    assert.equal(d?.engine, 'ollama');
    assert.equal(d?.snapshot, undefined);
    assert.equal(d?.hardware, 'mac-studio');
    assert.ok(!s.requests.includes('POST /api/show'));
    const [full] = await detect([{ url: s.url, source: 'option', hardware: 'mac-studio' }]);
    assert.equal(full?.snapshot?.hardwareProfileId, 'mac-studio');
  } finally {
    await s.close();
  }
});

test('refreshEndpoint re-reads a known engine with only its own requests, and reports it going away', async () => {
  const s = await startFixtureServer('llama.cpp', 'busy');
  const cfg = { url: s.url, source: 'option' as const };
  const d = await refreshEndpoint(cfg, 'llama.cpp');
  assert.equal(d.snapshot?.loaded[0]?.contextUsed?.value, 67);
  assert.deepEqual([...s.requests].sort(), ['GET /metrics', 'GET /props', 'GET /slots', 'GET /v1/models']);
  await s.close();
  const gone = await refreshEndpoint(cfg, 'llama.cpp');
  assert.equal(gone.engine, 'llama.cpp');
  assert.equal(gone.error?.kind, 'unreachable');
  assert.equal(gone.snapshot, undefined);
});

test('a path too slow for the probe deadline is fetched again with the snapshot deadline', async () => {
  // vLLM whose /version takes 400 ms: the probe (200 ms) still identifies it by /v1/models, and the
  // snapshot must not inherit the probe's timeout for /version.
  const { engineRoutes, startServer } = await import('../support/fixture-server');
  const { routes, notFound } = engineRoutes('vllm');
  const version = routes['GET /version'] as { body: string };
  const s = await startServer(
    {
      ...routes,
      'GET /version': (_req, res) => {
        setTimeout(() => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(version.body);
        }, 400);
      },
    },
    notFound,
  );
  try {
    const [d] = await detect([{ url: s.url, source: 'option' }], { probeTimeoutMs: 200, snapshotTimeoutMs: 3000 });
    assert.equal(d?.engine, 'vllm');
    assert.equal(d?.snapshot?.version, '0.11.0');
    assert.deepEqual(d?.snapshot?.notes, []);
    assert.equal(s.requests.filter((r) => r === 'GET /version').length, 2);
  } finally {
    await s.close();
  }
});
