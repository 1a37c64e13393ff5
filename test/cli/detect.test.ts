// `headroom detect` and `headroom status` end to end: the bundled CLI against fixture-replaying
// servers on 127.0.0.1, endpoints given by flag and by environment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFixtureServer, type TestServer } from '../support/fixture-server';
import { runCliAsync } from '../support/run-cli';

async function withServers<T>(specs: Array<[string, string?]>, fn: (s: TestServer[]) => Promise<T>): Promise<T> {
  const servers: TestServer[] = [];
  try {
    for (const [e, v] of specs) servers.push(await startFixtureServer(e, v ?? ''));
    return await fn(servers);
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
}

test('detect --json: the documented shape, for endpoints from --endpoint and HEADROOM_ENDPOINTS', async () => {
  await withServers([['llama.cpp'], ['ollama'], ['localai'], ['tabbyapi']], async ([llama, ollama, localai, tabby]) => {
    const r = await runCliAsync(['detect', '--json', '--no-defaults', '--endpoint', llama!.url, '--endpoint', `${ollama!.url}/v1`], {
      HEADROOM_ENDPOINTS: `${localai!.url}, ${tabby!.url}#dgx-spark`,
    });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Array<{ endpoint: string; engine: string; version: string | null; models: Array<{ name: string; loaded: boolean; contextLength: number | null; quant: string | null }> }>;
    const by = new Map(out.map((d) => [d.endpoint, d]));
    assert.deepEqual(by.get(llama!.url), {
      endpoint: llama!.url,
      engine: 'llama.cpp',
      version: 'b1-de3ff81',
      models: [{ name: 'llama31-8b-shape-4L-Q4_K_M.gguf', loaded: true, contextLength: 4096, quant: 'Q4_K_M' }],
    });
    assert.deepEqual(by.get(ollama!.url)?.models, [{ name: 'gemma4', loaded: true, contextLength: 4096, quant: 'Q4_K_M' }]);
    assert.equal(by.get(ollama!.url)?.version, '0.12.6');
    assert.equal(by.get(localai!.url)?.engine, 'localai');
    assert.equal(by.get(tabby!.url)?.engine, 'tabbyapi');
    assert.deepEqual(Object.keys(out[0]!), ['endpoint', 'engine', 'version', 'models']);
  });
});

test('detect: an explicit endpoint that is down is reported on stderr with exit 1; the others still print', async () => {
  await withServers([['vllm']], async ([vllm]) => {
    const r = await runCliAsync(['detect', '--no-defaults', '--endpoint', vllm!.url, '--endpoint', 'http://127.0.0.1:1']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /http:\/\/127\.0\.0\.1:1: unreachable \/v1\/models: connection refused/);
    assert.match(r.stdout, new RegExp(`${vllm!.url}\\s+vllm\\s+0\\.11\\.0\\s+meta-llama/Llama-3\\.1-8B-Instruct BF16 \\(est\\.\\) 128k ctx`));
  });
});

test('detect rejects a malformed --endpoint with one clear line', async () => {
  const r = await runCliAsync(['detect', '--endpoint', 'ftp://x']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim(), "headroom: --endpoint: invalid endpoint 'ftp://x': only http and https are supported");
});

test('detect finds an engine on its default port (9931) without being told', async (t) => {
  let s: TestServer;
  try {
    s = await startFixtureServer('llama.cpp', '', 9931);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') return t.skip('port 9931 is in use on this machine');
    throw err;
  }
  try {
    const r = await runCliAsync(['detect', '--json']);
    const out = JSON.parse(r.stdout) as Array<{ endpoint: string; engine: string }>;
    assert.deepEqual(out.find((d) => d.endpoint === 'http://127.0.0.1:9931')?.engine, 'llama.cpp');
  } finally {
    await s.close();
  }
});

test('status --json: estimator breakdown from Ollama model_info, engine memory split and provenance', async () => {
  await withServers([['ollama'], ['vllm']], async ([ollama, vllm]) => {
    const r = await runCliAsync(['status', '--json', '--no-defaults', '--hardware', 'rtx-4090', '--endpoint', ollama!.url, '--endpoint', vllm!.url]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Array<Record<string, any>>;
    const o = out.find((e) => e.engine === 'ollama')!;
    assert.equal(o.hardware.id, 'rtx-4090');
    const m = o.models[0];
    assert.equal(m.spec.source, 'engine');
    assert.equal(m.spec.arch, 'gemma4');
    assert.equal(m.memory.source, 'estimated');
    assert.equal(m.memory.allocatedCtx, 4096);
    assert.ok(m.memory.kvBytes > 0 && m.memory.totalBytes > m.memory.weightsBytes);
    assert.deepEqual(m.engineMemory.acceleratorBytes, { value: 5333539264, source: 'engine', via: 'GET /api/ps size_vram' });
    assert.equal(m.engineMemory.cpuBytes.value, 1258291200);
    assert.equal(m.check.engineBytes, 6591830464);
    assert.equal(m.check.estimatedBytes, m.memory.totalBytes);
    // The predicted decode is for Ollama (llama.cpp kernels) with the engine's CPU share decoding from system
    // RAM (issue 11), and carries its cross-validated band.
    const p = m.predicted;
    assert.equal(p.engine, 'ollama');
    assert.equal(p.stack, 'llama.cpp/cuda');
    assert.ok(Math.abs(p.cpuShare - 1258291200 / 6591830464) < 1e-9, String(p.cpuShare));
    assert.ok(p.decodeRange.low <= p.decodeTokPerSec && p.decodeTokPerSec <= p.decodeRange.high && p.decodeRange.high <= p.ceilingTokPerSec, JSON.stringify(p));
    // A fifth of the weights at ~85 GB/s instead of 1008 GB/s: well under half of the all-GPU roofline.
    assert.ok(p.decodeTokPerSec < 0.5 * (1008e9 / m.weights.activeBytes), `${p.decodeTokPerSec}`);
    const v = out.find((e) => e.engine === 'vllm')!;
    assert.equal(v.kvUsage.value, 0.42);
    assert.equal(v.models[0].spec.source, 'catalog');
    assert.equal(v.models[0].quant.source, 'estimated');
    // The KV pool (27000 blocks × 16) is what vLLM allocates, not max_model_len.
    assert.ok(v.models[0].memory.allocatedCtx >= 432000 && v.models[0].memory.allocatedCtx < 432000 + 256, String(v.models[0].memory.allocatedCtx));
  });
});

test('status (text): offload warning and the source of each number', async () => {
  await withServers([['ollama'], ['llama.cpp', 'busy']], async ([ollama, llama]) => {
    const r = await runCliAsync(['status', '--no-defaults', '--endpoint', `${ollama!.url}#rtx-4090`, '--endpoint', llama!.url]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\[rtx-4090, endpoint #id\]/);
    assert.match(r.stdout, /PARTIAL OFFLOAD: 1\.2 GB in system RAM/);
    assert.match(r.stdout, /context in use\s+67 tokens \(engine: GET \/slots Σ n_prompt_tokens\)/);
    assert.match(r.stdout, /4k per slot × 2 slot\(s\)/);
    assert.match(r.stdout, /memory \(estimated\)\s+\S+ GB = weights/);
    assert.match(r.stdout, /decode predicted\s+≈ \d+(\.\d)? tok\/s \([\d.]+–[\d.]+\) at \d+ tokens of context \(llama\.cpp\/cuda, 19 % in system RAM/);
  });
});
