// The metering proxy against real HTTP servers on 127.0.0.1: byte-exact passthrough (sha256 of what the
// client receives through the proxy equals direct), concurrency, aborts in both directions, Host checks,
// and the records it derives from recorded engine responses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { join } from 'node:path';
import { startMeteringProxy, type MeteringProxy } from '../../../src/providers/proxy/server';
import type { MeterRecord } from '../../../src/providers/proxy/record';
import { fetchRaw, sleep, startEngine, writeInPieces, type Engine } from './engine';
import { DATA } from '../../support/data';

const FIX = `${DATA}/engines`;
const fx = (rel: string) => readFileSync(join(FIX, rel));

async function rig(t: { after: (fn: () => Promise<void>) => void }, engine: Engine): Promise<{ proxy: MeteringProxy; records: MeterRecord[]; next: () => Promise<MeterRecord> }> {
  const records: MeterRecord[] = [];
  const waiters: ((r: MeterRecord) => void)[] = [];
  const proxy = await startMeteringProxy({
    target: engine.url,
    onRecord: (r) => {
      records.push(r);
      waiters.shift()?.(r);
    },
  });
  t.after(async () => {
    await proxy.close();
    await engine.close();
  });
  let consumed = 0;
  const next = () => (consumed < records.length ? Promise.resolve(records[consumed++]!) : new Promise<MeterRecord>((r) => waiters.push((x) => (consumed++, r(x)))));
  return { proxy, records, next };
}

const chatReq = JSON.stringify({ model: 'llama31-8b-shape-4L-Q4_K_M.gguf', stream: true, stream_options: { include_usage: true }, max_tokens: 12, messages: [{ role: 'user', content: 'Hello there' }] });

test('streaming SSE: byte-exact passthrough in odd pieces, and a record from the recorded usage/timings', async (t) => {
  const sse = fx('llama.cpp/v1_chat_completions_stream_include_usage.sse');
  const engine = await startEngine(async (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'X-Accel-Buffering': 'no' });
    await writeInPieces(res, sse, 97);
  });
  const { proxy, next } = await rig(t, engine);
  const direct = await fetchRaw(`${engine.url}/v1/chat/completions`, { body: chatReq });
  const viaProxy = await fetchRaw(`${proxy.url}/v1/chat/completions`, { body: chatReq });
  assert.equal(direct.body.length, sse.length);
  assert.equal(viaProxy.sha256, direct.sha256);
  assert.equal(viaProxy.status, 200);
  assert.equal(viaProxy.headers['content-type'], 'text/event-stream');
  assert.equal(viaProxy.headers['x-accel-buffering'], 'no');
  // The engine received exactly what the client sent.
  assert.equal(engine.bodies[1]!.toString(), chatReq);
  const r = await next();
  assert.equal(r.endpoint, '/v1/chat/completions');
  assert.equal(r.model, 'llama31-8b-shape-4L-Q4_K_M.gguf');
  assert.equal(r.promptTokens, 39);
  assert.equal(r.cachedTokens, 25);
  assert.equal(r.outputTokens, 12);
  assert.equal(r.maxTokens, 12);
  assert.equal(r.decodeTokPerSec, 21.842775700507744);
  assert.equal(r.prefillTokPerSec, 75.20452946137442);
  assert.equal(r.ttftMs, 186.159);
  assert.equal(r.speedSource, 'engine');
  assert.equal(r.truncated, false);
  assert.equal(r.error, undefined);
  // No text leaks into the record.
  assert.ok(!JSON.stringify(r).includes('Hello there'));
  assert.ok(!JSON.stringify(r).includes('scal'));
});

test('non-streaming JSON with Content-Length, error statuses pass through unchanged', async (t) => {
  const ok = fx('lmstudio/api_v0_chat_completions.json');
  const err = fx('llama.cpp/error_400_v1_chat_completions.json');
  const engine = await startEngine((req, res) => {
    const b = req.url === '/api/v0/chat/completions' ? ok : err;
    res.writeHead(req.url === '/api/v0/chat/completions' ? 200 : 400, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(b.length) });
    res.end(b);
  });
  const { proxy, next } = await rig(t, engine);
  const body = JSON.stringify({ model: 'granite-3.0-2b-instruct', messages: [{ role: 'user', content: 'x' }] });
  for (const path of ['/api/v0/chat/completions', '/v1/chat/completions']) {
    const d = await fetchRaw(engine.url + path, { body });
    const p = await fetchRaw(proxy.url + path, { body });
    assert.equal(p.status, d.status);
    assert.equal(p.sha256, d.sha256);
    assert.equal(p.headers['content-length'], d.headers['content-length']);
  }
  const a = await next();
  assert.equal(a.outputTokens, 53);
  assert.equal(a.decodeTokPerSec, 51.43709529007664);
  assert.equal(a.engineCtx, 4096);
  const b = await next();
  assert.equal(b.status, 400);
  assert.equal(b.error?.kind, 'engine_error');
  assert.equal(b.truncated, false);
});

test('GET and other non-generation requests pass through without records', async (t) => {
  const metrics = fx('llama.cpp/metrics.txt');
  const engine = await startEngine((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
    res.end(metrics);
  });
  const { proxy, records } = await rig(t, engine);
  const p = await fetchRaw(`${proxy.url}/metrics?x=1`);
  assert.deepEqual(p.body, metrics);
  assert.deepEqual(engine.seen, ['GET /metrics?x=1']);
  await sleep(20);
  assert.equal(records.length, 0);
});

test('32 concurrent streams each arrive byte-exact with their own record', async (t) => {
  const engine = await startEngine(async (_req, res, body) => {
    const { n } = JSON.parse(body.toString()) as { n: number };
    const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ model: `m${n}`, response: `tok${i}·${n}`, done: false }));
    lines.push(JSON.stringify({ model: `m${n}`, response: '', done: true, prompt_eval_count: n + 1, prompt_eval_duration: 1e6, eval_count: 40, eval_duration: 4e8 }));
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    await writeInPieces(res, Buffer.from(lines.join('\n') + '\n'), 23, 1);
  });
  const { proxy, records } = await rig(t, engine);
  const ns = Array.from({ length: 32 }, (_, i) => i);
  const [direct, proxied] = await Promise.all([
    Promise.all(ns.map((n) => fetchRaw(`${engine.url}/api/generate`, { body: JSON.stringify({ n, prompt: 'p' }) }))),
    Promise.all(ns.map((n) => fetchRaw(`${proxy.url}/api/generate`, { body: JSON.stringify({ n, prompt: 'p', model: `m${n}` }) }))),
  ]);
  for (const n of ns) assert.equal(proxied[n]!.sha256, direct[n]!.sha256, `stream ${n}`);
  await sleep(20);
  assert.equal(records.length, 32);
  for (const r of records) {
    const n = Number(r.model!.slice(1));
    assert.equal(r.promptTokens, n + 1);
    assert.equal(r.outputTokens, 40);
    assert.equal(r.decodeTokPerSec, 100);
  }
});

test('client abort mid-stream aborts the upstream request', async (t) => {
  const engine = await startEngine(async (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    for (let i = 0; i < 2000 && !res.destroyed; i++) {
      res.write(`data: {"choices":[{"delta":{"content":"t${i}"}}]}\n\n`);
      await sleep(2);
    }
    res.end();
  });
  const { proxy, next } = await rig(t, engine);
  const p = await fetchRaw(`${proxy.url}/v1/chat/completions`, { body: chatReq, abortAfterBytes: 500 });
  assert.equal(p.error, 'client aborted');
  await Promise.race([engine.aborted, sleep(3000).then(() => assert.fail('upstream was not aborted'))]);
  const r = await next();
  assert.equal(r.error?.kind, 'client_abort');
});

test('engine reset mid-stream destroys the client connection (no clean end)', async (t) => {
  const sse = fx('llama.cpp/v1_chat_completions_stream.sse');
  const engine = await startEngine(async (req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.write(sse.subarray(0, 700));
    await sleep(30);
    req.socket.destroy();
  });
  const { proxy, next } = await rig(t, engine);
  const d = await fetchRaw(`${engine.url}/v1/chat/completions`, { body: chatReq });
  const p = await fetchRaw(`${proxy.url}/v1/chat/completions`, { body: chatReq });
  assert.ok(d.error, 'direct sees a broken stream');
  assert.ok(p.error, 'proxied sees a broken stream too');
  assert.deepEqual(p.body, sse.subarray(0, 700));
  const r = await next();
  assert.equal(r.error?.kind, 'upstream_reset');
});

test('Host header that is not loopback gets 403 and never reaches the engine', async (t) => {
  const engine = await startEngine((_req, res) => void res.end('{}'));
  const { proxy, records } = await rig(t, engine);
  for (const host of ['evil.example', 'evil.example:11435', '192.168.1.5', 'localhost.evil.example', '127.0.0.1.nip.io']) {
    const p = await fetchRaw(`${proxy.url}/api/chat`, { body: '{}', headers: { host } });
    assert.equal(p.status, 403, host);
    assert.match(p.body.toString(), /loopback/);
  }
  for (const host of ['localhost', `localhost:${proxy.port}`, `127.0.0.1:${proxy.port}`, `[::1]:${proxy.port}`, 'app.localhost']) {
    const p = await fetchRaw(`${proxy.url}/api/tags`, { headers: { host } });
    assert.equal(p.status, 200, host);
  }
  assert.equal(engine.seen.length, 5);
  assert.equal(records.length, 0);
});

test('refuses to listen on a non-loopback address', async () => {
  await assert.rejects(startMeteringProxy({ target: 'http://127.0.0.1:1', listen: { host: '0.0.0.0' } }), /loopback only/);
  await assert.rejects(startMeteringProxy({ target: 'ftp://x' }), /http/);
});

test('Ollama truncation: num_ctx 2048, ~9k tokens of text sent, prompt_eval_count 2048 → truncated', async (t) => {
  const final = JSON.parse(fx('ollama/api_chat_final.json').toString()) as Record<string, unknown>;
  const engine = await startEngine(async (_req, res, body) => {
    const sent = JSON.parse(body.toString()) as { options?: { num_ctx?: number } };
    const kept = sent.options?.num_ctx ?? 4096;
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    const chunk = fx('ollama/api_generate_stream_chunk.json').toString().replace(/\s+/g, ' ');
    await writeInPieces(res, Buffer.from(`${chunk}\n${JSON.stringify({ ...final, prompt_eval_count: Math.min(kept, 2048) })}\n`), 5);
  });
  const { proxy, next } = await rig(t, engine);
  // A Cline-sized system prompt: 36k characters of code-like text.
  const system = 'function f(x) { return x * 2; } // helper\n'.repeat(860);
  const big = JSON.stringify({ model: 'gemma4', options: { num_ctx: 2048 }, messages: [{ role: 'system', content: system }, { role: 'user', content: 'fix the bug' }] });
  await fetchRaw(`${proxy.url}/api/chat`, { body: big });
  const r = await next();
  assert.equal(r.numCtx, 2048);
  assert.equal(r.promptTokens, 2048);
  assert.ok(r.estimatedPromptTokens! > 8000);
  assert.equal(r.truncated, true);
  assert.equal(r.truncation?.reason, 'prompt-count-below-sent');
  assert.equal(r.truncation?.limit, 2048);
  // A count far below the estimate but also far below the window is a cached-prefix count, not a cut.
  const cached = JSON.stringify({ model: 'gemma4', options: { num_ctx: 32768 }, messages: [{ role: 'system', content: system }] });
  const before = engine.bodies.length;
  await fetchRaw(`${proxy.url}/api/chat`, { body: cached });
  assert.equal(engine.bodies.length, before + 1);
  const c = await next();
  assert.equal(c.promptTokens, 2048);
  assert.equal(c.truncated, false);
  // A prompt that fits is not flagged.
  const small = JSON.stringify({ model: 'gemma4', options: { num_ctx: 2048 }, messages: [{ role: 'user', content: 'x'.repeat(40) }] });
  await fetchRaw(`${proxy.url}/api/chat`, { body: small });
  const s = await next();
  assert.equal(s.truncated, false);
  assert.ok(Math.abs(s.decodeTokPerSec! - 18 / 0.052479709) < 1e-9);
});

/** An engine that rejects every request with a 400 and `body`: the client must get it unchanged; returns the record. */
async function rejectedBy(t: { after: (fn: () => Promise<void>) => void }, contentType: string, body: string): Promise<MeterRecord> {
  const engine = await startEngine((_req, res) => {
    res.writeHead(400, { 'Content-Type': contentType });
    res.end(body);
  });
  const { proxy, next } = await rig(t, engine);
  const p = await fetchRaw(`${proxy.url}/v1/chat/completions`, { body: chatReq });
  assert.equal(p.status, 400);
  assert.equal(p.body.toString(), body);
  return next();
}

test('llama.cpp exceed_context_size_error passes through and marks the request as truncated', async (t) => {
  const body = JSON.stringify({ error: { code: 400, message: 'request (4476 tokens) exceeds the available context size (4096 tokens)', type: 'exceed_context_size_error', n_prompt_tokens: 4476, n_ctx: 4096 } });
  const r = await rejectedBy(t, 'application/json; charset=utf-8', body);
  assert.equal(r.truncated, true);
  assert.deepEqual(r.truncation, { reason: 'rejected', sentTokens: 4476, limit: 4096 });
});

test('no engine timings (Ollama /v1, vLLM): the proxy times the stream itself', async (t) => {
  const engine = await startEngine(async (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    await sleep(60); // prefill
    for (let i = 0; i < 11; i++) {
      res.write(`data: {"model":"m","choices":[{"index":0,"delta":{"content":"t${i}"}}]}\n\n`);
      await sleep(10);
    }
    res.end('data: {"model":"m","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":11}}\n\ndata: [DONE]\n\n');
  });
  const { proxy, next } = await rig(t, engine);
  await fetchRaw(`${proxy.url}/v1/chat/completions`, { body: chatReq });
  const r = await next();
  assert.equal(r.speedSource, 'proxy');
  assert.equal(r.outputTokens, 11);
  assert.ok(r.ttftMs! >= 55 && r.ttftMs! < 1000, `ttft ${r.ttftMs}`);
  // 10 gaps of ≥10 ms: at most 100 tok/s, and timers on a loaded box only make it slower.
  assert.ok(r.decodeTokPerSec! <= 101 && r.decodeTokPerSec! > 10, `decode ${r.decodeTokPerSec}`);
});

test('unreachable engine: a clear 502 JSON error and a record', async (t) => {
  const engine = await startEngine((_req, res) => void res.end());
  const url = engine.url;
  await engine.close();
  const records: MeterRecord[] = [];
  const proxy = await startMeteringProxy({ target: url, onRecord: (r) => records.push(r) });
  t.after(() => proxy.close());
  const p = await fetchRaw(`${proxy.url}/api/chat`, { body: '{"model":"x"}' });
  assert.equal(p.status, 502);
  assert.match(p.body.toString(), /cannot reach/);
  await sleep(10);
  assert.equal(records[0]?.error?.kind, 'upstream_unreachable');
});

test('hanging engine: headers timeout gives a 504, not a hang', async (t) => {
  const engine = await startEngine(() => undefined);
  const proxy = await startMeteringProxy({ target: engine.url, headersTimeoutMs: 200 });
  t.after(async () => {
    await proxy.close();
    await engine.close();
  });
  const p = await fetchRaw(`${proxy.url}/api/chat`, { body: '{}' });
  assert.equal(p.status, 504);
});

test('vLLM max_model_len rejection passes through and is recognised', async (t) => {
  // Body shape and wording from vllm-project/vllm#20409.
  const body = JSON.stringify({ object: 'error', message: "This model's maximum context length is 16384 tokens. However, you requested 122946 tokens (112946 in the messages, 10000 in the completion). Please reduce the length of the messages or completion.", type: 'BadRequestError', param: null, code: 400 });
  const r = await rejectedBy(t, 'application/json', body);
  assert.deepEqual(r.truncation, { reason: 'rejected', sentTokens: 112946, limit: 16384 });
  assert.ok(!JSON.stringify(r).includes('Please reduce'), 'engine text is not copied into records');
});

test('hostile upstream bodies (random bytes under every content type) pass through exactly and never crash the proxy', async (t) => {
  let next: { ct: string; body: Buffer; pieces: number } = { ct: 'text/event-stream', body: Buffer.alloc(0), pieces: 1 };
  const engine = await startEngine(async (_req, res) => {
    res.writeHead(200, { 'content-type': next.ct });
    await writeInPieces(res, next.body, next.pieces, 0);
  });
  const { proxy, records } = await rig(t, engine);
  const cts = ['text/event-stream', 'application/x-ndjson', 'application/json', 'text/plain', 'application/octet-stream'];
  const sse = fx('llama.cpp/v1_chat_completions_stream_include_usage.sse');
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...cts), fc.uint8Array({ maxLength: 3000 }), fc.integer({ min: 1, max: 40 }), fc.boolean(), async (ct, bytes, pieces, mix) => {
      // Half the runs splice garbage into a real stream.
      const body = mix ? Buffer.concat([sse.subarray(0, 900), Buffer.from(bytes), sse.subarray(900)]) : Buffer.from(bytes);
      next = { ct, body, pieces };
      const p = await fetchRaw(`${proxy.url}/v1/chat/completions`, { body: chatReq });
      assert.equal(p.status, 200);
      assert.ok(p.body.equals(body));
    }),
    { numRuns: 40 },
  );
  await sleep(20);
  assert.equal(records.length, 40);
  for (const r of records) assert.equal(typeof r.truncated, 'boolean');
});

test('an informational 103 before the response is skipped: the client gets the 200 stream byte-exact and a record', async (t) => {
  const sse = fx('llama.cpp/v1_chat_completions_stream_include_usage.sse');
  const engine = await startEngine(async (_req, res) => {
    res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Set-Cookie': ['a=1', 'b=2'] });
    await writeInPieces(res, sse, 13);
  });
  const { proxy, next } = await rig(t, engine);
  const viaProxy = await fetchRaw(`${proxy.url}/v1/chat/completions`, { body: chatReq });
  assert.equal(viaProxy.status, 200);
  assert.equal(viaProxy.error, undefined);
  assert.ok(viaProxy.body.equals(sse));
  // Repeated header fields keep every value.
  assert.deepEqual(viaProxy.headers['set-cookie'], ['a=1', 'b=2']);
  const r = await next();
  assert.equal(r.status, 200);
  assert.equal(r.outputTokens, 12);
});
