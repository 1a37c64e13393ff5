// Hostile inputs: each misbehaving server must yield a clear, typed error on its own endpoint while
// real engines (replayed fixtures) probed in the same detection run still report in full.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFixtureServer, startServer, recordedHeaders, type TestServer } from '../support/fixture-server';
import { startConstantServer, startFloodServer, startResetServer, startSilentServer, startSlowLorisServer } from '../support/hostile-servers';
import { detect, type Detection } from '../../src/providers/detect';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from '../support/fixture-server';

const OPTS = { probeTimeoutMs: 700, snapshotTimeoutMs: 1500 };

/** Runs one detection over [llama.cpp fixture, Ollama fixture, hostile], checks the good two. */
async function withNeighbours(hostile: TestServer): Promise<{ bad: Detection; ms: number }> {
  const good = [await startFixtureServer('llama.cpp'), await startFixtureServer('ollama')];
  try {
    const t0 = performance.now();
    const [llama, ollama, bad] = await detect(
      [...good, hostile].map((s) => ({ url: s.url, source: 'option' as const })),
      OPTS,
    );
    const ms = performance.now() - t0;
    assert.equal(llama?.engine, 'llama.cpp');
    assert.equal(llama?.error, undefined);
    assert.equal(llama?.snapshot?.loaded[0]?.contextPerSlot?.value, 4096);
    assert.equal(ollama?.engine, 'ollama');
    assert.equal(ollama?.error, undefined);
    assert.equal(ollama?.snapshot?.loaded[0]?.acceleratorBytes?.value, 5333539264);
    return { bad: bad!, ms };
  } finally {
    await Promise.all([...good.map((s) => s.close()), hostile.close()]);
  }
}

test('malformed JSON everywhere → bad-json, neighbours unaffected', async () => {
  const { bad } = await withNeighbours(await startConstantServer('{"data": [ {"id": "x", '));
  assert.equal(bad.engine, undefined);
  assert.equal(bad.error?.kind, 'bad-json');
  assert.match(bad.error?.message ?? '', /not valid JSON/);
});

test('wrong types in a llama.cpp /props → schema error naming the field', async () => {
  const rec = recordedHeaders().get('props.json')!;
  const props = JSON.parse(readFileSync(join(FIXTURES, 'llama.cpp', 'props.json'), 'utf8')) as { default_generation_settings: { n_ctx: unknown } };
  props.default_generation_settings.n_ctx = '4096';
  const server = await startServer({ 'GET /props': { status: 200, headers: rec.headers, body: JSON.stringify(props) } }, { status: 404, headers: rec.headers, body: '{}' });
  const { bad } = await withNeighbours(server);
  assert.equal(bad.engine, 'llama.cpp', 'the Server header still identifies it');
  assert.equal(bad.error?.kind, 'schema');
  assert.equal(bad.error?.path, '/props');
  assert.match(bad.error?.message ?? '', /default_generation_settings\.n_ctx/);
});

test('10 MB body with Content-Length → too-large before reading it', async () => {
  const { bad } = await withNeighbours(await startFloodServer(10 * 1024 * 1024, true));
  assert.equal(bad.error?.kind, 'too-large');
  assert.match(bad.error?.message ?? '', /10485760 bytes exceeds/);
});

test('10 MB chunked body → too-large once the cap is passed', async () => {
  const { bad } = await withNeighbours(await startFloodServer(10 * 1024 * 1024, false));
  assert.equal(bad.error?.kind, 'too-large');
  assert.match(bad.error?.message ?? '', /exceeds the \d+-byte cap/);
});

test('slow-loris (headers, then a byte per second) → timeout at the deadline, not a hang', async () => {
  const { bad, ms } = await withNeighbours(await startSlowLorisServer(1000));
  assert.equal(bad.error?.kind, 'timeout');
  assert.match(bad.error?.message ?? '', /within 700 ms/);
  // Bounded by the probe deadline (plus the neighbours' work), far from the stream's "forever".
  assert.ok(ms < 5000, `detection took ${ms} ms`);
});

test('connection reset → unreachable with a reset message', async () => {
  const { bad } = await withNeighbours(await startResetServer());
  assert.equal(bad.error?.kind, 'unreachable');
  assert.match(bad.error?.message ?? '', /reset/);
});

test('a server that never answers → timeout', async () => {
  const { bad, ms } = await withNeighbours(await startSilentServer());
  assert.equal(bad.error?.kind, 'timeout');
  assert.ok(ms < 5000, `detection took ${ms} ms`);
});

test('a closed port → unreachable (connection refused)', async () => {
  const gone = await startConstantServer('{}');
  await gone.close();
  const { bad } = await withNeighbours({ ...gone, close: async () => undefined });
  assert.equal(bad.error?.kind, 'unreachable');
  assert.match(bad.error?.message ?? '', /refused/);
});

test('an Ollama that lies about memory: absurd size → schema error; size_vram > size → offload left unknown', async () => {
  const ps = JSON.parse(readFileSync(join(FIXTURES, 'ollama', 'api_ps.json'), 'utf8')) as { models: Array<Record<string, unknown>> };
  const version = readFileSync(join(FIXTURES, 'ollama', 'api_version.json'), 'utf8');
  const negative = structuredClone(ps);
  negative.models[0]!.size = -1;
  const absurd = await startServer({ 'GET /api/version': { body: version }, 'GET /api/ps': { body: JSON.stringify(negative) } });
  const { bad } = await withNeighbours(absurd);
  assert.equal(bad.engine, 'ollama');
  assert.equal(bad.error?.kind, 'schema');
  assert.equal(bad.error?.path, '/api/ps');
  assert.match(bad.error?.message ?? '', /models\.0\.size/);

  const inverted = structuredClone(ps);
  inverted.models[0]!.size_vram = (inverted.models[0]!.size as number) * 2;
  const liar = await startServer({ 'GET /api/version': { body: version }, 'GET /api/ps': { body: JSON.stringify(inverted) } });
  const { bad: lied } = await withNeighbours(liar);
  assert.equal(lied.engine, 'ollama');
  assert.equal(lied.error, undefined);
  const m = lied.snapshot?.loaded[0];
  assert.equal(m?.acceleratorBytes, undefined);
  assert.equal(m?.cpuBytes, undefined);
  assert.match(lied.snapshot?.notes.join(' ') ?? '', /size_vram .* exceeds size/);
});

test('a server claiming to be KoboldCpp without its capability flags is not taken for KoboldCpp', async () => {
  // TabbyAPI's impersonation body, served without TabbyAPI's own service info.
  const body = readFileSync(join(FIXTURES, 'tabbyapi', 'api_extra_version.json'), 'utf8');
  const { bad } = await withNeighbours(await startServer({ 'GET /api/extra/version': { body } }));
  assert.notEqual(bad.engine, 'koboldcpp');
  assert.equal(bad.error?.kind, 'schema');
  assert.match(bad.error?.message ?? '', /not like any known engine/);
});

test('a Server: llama.cpp header with no /props is not enough to claim llama.cpp', async () => {
  const headers = { server: 'llama.cpp', 'content-type': 'application/json' };
  const vllmModels = readFileSync(join(FIXTURES, 'vllm', 'v1_models.json'), 'utf8');
  const { bad } = await withNeighbours(await startServer({ 'GET /v1/models': { headers, body: vllmModels } }, { status: 404, headers, body: '{}' }));
  assert.equal(bad.engine, 'vllm');
});
