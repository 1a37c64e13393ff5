// The truncation guard in front of an Ollama-shaped engine that truncates silently (HTTP 200, prompt cut to the
// window): refuse answers an over-long prompt in the API's own error shape without contacting the engine; warn
// forwards byte for byte and is heard before the reply ends; a prompt under the window passes untouched; the
// window follows num_ctx on /api/* only; the chars→tokens ratio is learned from the engine's own counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startMeteringProxy, type MeteringProxy } from '../../../src/providers/proxy/server';
import type { MeterRecord } from '../../../src/providers/proxy/record';
import type { GuardEvent, GuardMode } from '../../../src/providers/proxy/guard';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type Routes } from '../../support/fixture-server';
import { ENGINE_FIXTURES } from '../../support/data';
import { TruncationGuard } from '../../../src/providers/proxy/guard';
import { fetchRaw } from './engine';
import { CHARS_PER_TOKEN, startTruncatingOllama, tokensOf, type TruncatingEngine } from './ollama-truncating';

const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');
/** Bodies of the POSTs the engine received (the guard's own GET probes left out). */
const posted = (e: TruncatingEngine) => e.bodies.filter((_, i) => e.seen[i]!.startsWith('POST'));

async function rig(t: { after: (fn: () => Promise<void>) => void }, mode: GuardMode, window = 4096, replyDelayMs = 0) {
  const engine = await startTruncatingOllama({ window, replyDelayMs });
  const records: MeterRecord[] = [];
  const events: (GuardEvent & { at: number })[] = [];
  const proxy: MeteringProxy = await startMeteringProxy({ target: engine.url, onRecord: (r) => records.push(r), guard: { mode, onEvent: (e) => events.push({ ...e, at: performance.now() }) } });
  t.after(async () => {
    await proxy.close();
    await engine.close();
  });
  const record = async (n: number) => {
    for (let i = 0; i < 200 && records.length < n; i++) await new Promise((r) => setTimeout(r, 5));
    return records[n - 1]!;
  };
  return { engine, proxy, records, events, record };
}

/** Code-like text of about `tokens` tokens at the engine's 3.6 chars/token. */
function filler(tokens: number, seed = 'function f(x) { return x * 2; } // helper\n'): string {
  return seed.repeat(Math.ceil((tokens * CHARS_PER_TOKEN) / seed.length));
}

test('refuse: an over-long /api/chat gets an Ollama-shaped 400 with the numbers, and the engine never sees it', async (t) => {
  const { engine, proxy, events, record } = await rig(t, 'refuse');
  const secret = 'SECRET-PROMPT-TEXT ';
  const body = JSON.stringify({ model: 'gemma4', messages: [{ role: 'system', content: secret + filler(12000) }, { role: 'user', content: 'fix it' }] });
  const res = await fetchRaw(`${proxy.url}/api/chat`, { body });
  assert.equal(res.status, 400);
  const json = JSON.parse(res.body.toString('utf8')) as { error: unknown };
  assert.equal(typeof json.error, 'string', 'Ollama shape: {"error": "..."}');
  const msg = json.error as string;
  assert.match(msg, /prompt ≈ [\d,]+ tokens/);
  assert.match(msg, /4,096-token window/);
  assert.match(msg, /num_ctx/);
  assert.ok(!msg.includes('SECRET') && !msg.includes('function f'), 'prompt text leaked into the error');
  assert.equal(engine.generations(), 0, 'the engine saw the refused request');
  assert.ok(!engine.seen.some((s) => s.startsWith('POST')), engine.seen.join(', '));
  const rec = await record(1);
  assert.equal(rec.status, 400);
  assert.equal(rec.guard?.action, 'refused');
  assert.equal(rec.guard?.window, 4096);
  assert.equal(rec.guard?.method, 'default');
  assert.ok(rec.guard!.promptTokens > 4096);
  assert.equal(events.length, 1);
  assert.equal(events[0]!.info.action, 'refused');
  assert.ok(!JSON.stringify(rec).includes('SECRET'));
});

test('refuse: OpenAI-style /v1/chat/completions gets context_length_exceeded, and /v1 ignores num_ctx', async (t) => {
  const { engine, proxy, record } = await rig(t, 'refuse');
  // num_ctx 65536 would fit on /api/*, but Ollama's /v1 ignores it: the loaded 4096 window applies.
  const body = JSON.stringify({ model: 'gemma4', options: { num_ctx: 65536 }, messages: [{ role: 'user', content: filler(9000) }] });
  const res = await fetchRaw(`${proxy.url}/v1/chat/completions`, { body });
  assert.equal(res.status, 400);
  const err = (JSON.parse(res.body.toString('utf8')) as { error: { message: string; type: string; code: string } }).error;
  assert.equal(err.type, 'invalid_request_error');
  assert.equal(err.code, 'context_length_exceeded');
  assert.match(err.message, /OLLAMA_CONTEXT_LENGTH=\d/);
  assert.equal(engine.generations(), 0);
  assert.equal((await record(1)).guard?.action, 'refused');
});

test('num_ctx sent on /api/chat is the window: the same prompt passes untouched', async (t) => {
  const { engine, proxy, events, record } = await rig(t, 'refuse');
  const body = JSON.stringify({ model: 'gemma4', options: { num_ctx: 65536 }, messages: [{ role: 'user', content: filler(9000) }] });
  const res = await fetchRaw(`${proxy.url}/api/chat`, { body });
  assert.equal(res.status, 200);
  assert.equal(sha(posted(engine)[0]!), sha(body), 'forwarded body differs');
  const rec = await record(1);
  assert.deepEqual({ action: rec.guard?.action, window: rec.guard?.window }, { action: 'passed', window: 65536 });
  assert.equal(events.length, 0);
});

test('a request just under the window passes untouched (no event, byte-identical)', async (t) => {
  const { engine, proxy, events, record } = await rig(t, 'refuse');
  // Default ratio (4 chars/token, ±35 %): 4096 − 256 reserved = 3840 must hold the high end, 1.35 × estimate.
  const body = JSON.stringify({ model: 'gemma4', messages: [{ role: 'user', content: 'x '.repeat(5600) }] }); // ≈ 2800 tokens at 4 chars/token
  const res = await fetchRaw(`${proxy.url}/api/chat`, { body });
  assert.equal(res.status, 200);
  assert.equal(sha(posted(engine)[0]!), sha(body));
  assert.equal((await record(1)).guard?.action, 'passed');
  assert.equal(events.length, 0);
});

test('borderline (within the estimate’s error) is warned, never refused', async (t) => {
  const { engine, proxy, events, record } = await rig(t, 'refuse');
  // ≈ 3600 tokens by the default ratio: the high end (×1.35) exceeds 4096 − 256, the low end (×0.65) does not.
  const body = JSON.stringify({ model: 'gemma4', messages: [{ role: 'user', content: 'x '.repeat(7200) }] });
  const res = await fetchRaw(`${proxy.url}/api/chat`, { body });
  assert.equal(res.status, 200);
  assert.equal(engine.generations(), 1);
  assert.equal((await record(1)).guard?.action, 'warned');
  assert.equal(events[0]?.info.action, 'warned');
});

test('warn: forwards byte-exact and the event comes before the reply ends', async (t) => {
  const { engine, proxy, events, record } = await rig(t, 'warn', 4096, 300);
  const body = JSON.stringify({ model: 'gemma4', stream: true, messages: [{ role: 'system', content: filler(12000) }, { role: 'user', content: 'go' }] });
  const res = await fetchRaw(`${proxy.url}/api/chat`, { body });
  const ended = performance.now();
  assert.equal(res.status, 200);
  assert.equal(posted(engine).length, 1);
  assert.equal(sha(posted(engine)[0]!), sha(body), 'forwarded body differs');
  assert.equal(events.length, 1);
  assert.equal(events[0]!.info.action, 'warned');
  assert.ok(events[0]!.at < ended - 250, `event at ${events[0]!.at.toFixed(0)}, reply ended ${ended.toFixed(0)}`);
  const rec = await record(1);
  assert.equal(rec.guard?.action, 'warned');
  // The engine cut it silently; the after-the-fact detection still flags it.
  assert.equal(rec.truncated, true);
});

test('learned: after requests the engine counted, the estimate uses this model’s ratio and its error is small', async (t) => {
  const { proxy, records, record } = await rig(t, 'warn', 32768);
  const kinds = ['The quick brown fox jumps over the lazy dog. ', 'const x = items.map((i) => i * 2); // double\n', 'SELECT id, name FROM users WHERE age > 30;\n', '## Heading\n- item one\n- item two\n', '{"key": [1, 2, 3], "ok": true}\n'];
  for (let i = 0; i < 5; i++) {
    const res = await fetchRaw(`${proxy.url}/api/chat`, { body: JSON.stringify({ model: 'gemma4', messages: [{ role: 'user', content: kinds[i]!.repeat(40 + 30 * i) }] }) });
    assert.equal(res.status, 200);
  }
  await record(5);
  assert.equal(records[0]!.guard?.method, 'default');
  assert.equal(records[4]!.guard?.method, 'learned');
  // A sixth, different prompt: the learned estimate against the engine's count.
  const msgs = [{ role: 'user', content: 'Explain this stack trace:\n    at foo (a.js:1:2)\n'.repeat(200) }];
  await fetchRaw(`${proxy.url}/api/chat`, { body: JSON.stringify({ model: 'gemma4', messages: msgs }) });
  const rec = await record(6);
  assert.equal(rec.guard?.method, 'learned');
  const truth = tokensOf({ messages: msgs });
  const err = Math.abs(rec.guard!.promptTokens - truth) / truth;
  t.diagnostic(`learned after 5: ${rec.guard!.promptTokens} vs ${truth} (error ${(err * 100).toFixed(1)} %)`);
  assert.ok(err < 0.05, `error ${err}`);
});

test('a reloaded model: a count above the cached window makes the guard ask again', async (t) => {
  const { engine, proxy, record } = await rig(t, 'refuse', 4096);
  const small = JSON.stringify({ model: 'gemma4', messages: [{ role: 'user', content: filler(1000) }] });
  await fetchRaw(`${proxy.url}/api/chat`, { body: small });
  assert.equal((await record(1)).guard?.window, 4096);
  engine.setWindow(16384);
  // The engine's answer shows more than 4096 prompt tokens: the cached window is stale.
  await fetchRaw(`${proxy.url}/api/chat`, { body: JSON.stringify({ model: 'gemma4', options: { num_ctx: 16384 }, messages: [{ role: 'user', content: filler(6000) }] }) });
  await record(2);
  const res = await fetchRaw(`${proxy.url}/api/chat`, { body: JSON.stringify({ model: 'gemma4', messages: [{ role: 'user', content: filler(6000) }] }) });
  assert.equal(res.status, 200);
  assert.equal((await record(3)).guard?.window, 16384);
});

test('keep-alive: requests after a guarded one on the same connection still flow; off leaves no guard field', async (t) => {
  const { proxy, record } = await rig(t, 'warn');
  const body = JSON.stringify({ model: 'gemma4', messages: [{ role: 'user', content: 'hi' }] });
  for (let i = 0; i < 3; i++) assert.equal((await fetch(`${proxy.url}/api/chat`, { method: 'POST', body })).status, 200);
  assert.equal((await fetch(`${proxy.url}/api/ps`)).status, 200);
  assert.equal((await record(3)).guard?.action, 'passed');
  const off = await rig(t, 'off');
  await fetchRaw(`${off.proxy.url}/api/chat`, { body });
  assert.equal((await off.record(1)).guard, undefined);
});

// ---- other engines, from their recorded responses: where the window comes from, and the vLLM tokenizer.


const recorded = (engine: string, file: string) => readFileSync(join(ENGINE_FIXTURES, engine, file), 'utf8');

test('LM Studio: the loaded context_length is the window; lms load in the message', async (t) => {
  const routes: Routes = { 'GET /api/v0/models': { headers: { 'content-type': 'application/json' }, body: recorded('lmstudio', 'api_v0_models_loaded.json') } };
  const srv = await startServer(routes);
  t.after(() => srv.close());
  const guard = new TruncationGuard({ mode: 'refuse', target: srv.url });
  const body = Buffer.from(JSON.stringify({ model: 'gemma-3-4b-it', messages: [{ role: 'user', content: filler(8000) }] }));
  const d = await guard.check('/v1/chat/completions', body);
  assert.equal(d?.info.window, 4096);
  assert.equal(d?.info.action, 'refused');
  assert.match(d!.message!, /lms load gemma-3-4b-it --context-length \d/);
  // A model that is not loaded: no window known, nothing refused.
  const other = await guard.check('/v1/chat/completions', Buffer.from(JSON.stringify({ model: 'qwen3-8b', messages: [{ role: 'user', content: filler(8000) }] })));
  assert.deepEqual({ action: other?.info.action, window: other?.info.window }, { action: 'passed', window: undefined });
});

test('vLLM: max_model_len is the window, and /tokenize gives the exact count', async (t) => {
  let tokenized = 0;
  const routes: Routes = {
    'GET /v1/models': { headers: { 'content-type': 'application/json' }, body: recorded('vllm', 'v1_models.json') },
    'POST /tokenize': (_req, res, body) => {
      tokenized++;
      const b = JSON.parse(body) as { messages?: { content: string }[] };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ count: 140000, max_model_len: 131072, tokens: [], chars: b.messages?.[0]?.content.length }));
    },
  };
  const srv = await startServer(routes);
  t.after(() => srv.close());
  const guard = new TruncationGuard({ mode: 'refuse', target: srv.url });
  const d = await guard.check('/v1/chat/completions', Buffer.from(JSON.stringify({ model: 'meta-llama/Llama-3.1-8B-Instruct', messages: [{ role: 'user', content: 'short' }] })));
  assert.equal(tokenized, 1);
  assert.deepEqual({ action: d?.info.action, method: d?.info.method, promptTokens: d?.info.promptTokens, window: d?.info.window }, { action: 'refused', method: 'tokenizer', promptTokens: 140000, window: 131072 });
  assert.match(d!.message!, /--max-model-len \d/);
  assert.equal(JSON.parse(d!.refusal!.body).error.code, 'context_length_exceeded');
});

test('an engine that answers nothing useful: nothing refused, and it is not asked again on every request', async (t) => {
  let probes = 0;
  const srv = await startServer({}, (_req, res) => {
    probes++;
    res.writeHead(404);
    res.end();
  });
  t.after(() => srv.close());
  const guard = new TruncationGuard({ mode: 'refuse', target: srv.url });
  const body = Buffer.from(JSON.stringify({ model: 'm', messages: [{ role: 'user', content: filler(200000) }] }));
  for (let i = 0; i < 3; i++) assert.equal((await guard.check('/v1/chat/completions', body))?.info.action, 'passed');
  assert.equal(probes, 4, 'probed once (4 paths), not per request');
  // Not JSON: nothing to judge.
  assert.equal(await guard.check('/v1/chat/completions', Buffer.from('not json')), undefined);
});

test('Expect: 100-continue on a held request: the proxy says Continue itself, the engine gets the body once', async (t) => {
  const { engine, proxy, record } = await rig(t, 'warn');
  const { request } = await import('node:http');
  const body = JSON.stringify({ model: 'gemma4', messages: [{ role: 'user', content: 'hello there' }] });
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(`${proxy.url}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    // Node's client sends the body only after an interim 100.
    req.on('continue', () => req.end(body));
  });
  assert.equal(status, 200);
  assert.equal(sha(posted(engine)[0]!), sha(body));
  assert.equal((await record(1)).guard?.action, 'passed');
});

test('/v1/responses: input and instructions count as prompt text', async (t) => {
  const { engine, proxy, record } = await rig(t, 'refuse');
  const res = await fetchRaw(`${proxy.url}/v1/responses`, { body: JSON.stringify({ model: 'gemma4', instructions: 'be brief', input: [{ role: 'user', content: filler(12000) }] }) });
  assert.equal(res.status, 400);
  assert.equal((JSON.parse(res.body.toString('utf8')) as { error: { code: string } }).error.code, 'context_length_exceeded');
  assert.equal(engine.generations(), 0);
  assert.equal((await record(1)).guard?.action, 'refused');
});

test('countTokenIds: counts a plain id array without parsing it, declines anything else', async () => {
  const { countTokenIds } = await import('../../../src/providers/proxy/guard');
  assert.equal(countTokenIds('{"tokens":[]}'), 0);
  assert.equal(countTokenIds('{"tokens":[1]}'), 1);
  assert.equal(countTokenIds(JSON.stringify({ tokens: Array.from({ length: 1000 }, (_, i) => i * 7) })), 1000);
  for (const bad of ['{"tokens":[1,,2]}', '{"tokens":[1,]}', '{"tokens":[,1]}', '{"tokens":[1, 2]}', '{"tokens":[{"id":1,"piece":"a"}]}', '{"count":3}', '{"tokens":[1]', 'null']) assert.equal(countTokenIds(bad), undefined, bad);
});

test('an Ollama model not loaded yet: its window is unknown, so the first request passes; once loaded, the next is judged', async (t) => {
  const engine = await startTruncatingOllama({ window: 4096, loaded: false });
  const records: MeterRecord[] = [];
  const proxy = await startMeteringProxy({ target: engine.url, onRecord: (r) => records.push(r), guard: { mode: 'refuse' } });
  t.after(async () => {
    await proxy.close();
    await engine.close();
  });
  const body = JSON.stringify({ model: 'gemma4', messages: [{ role: 'user', content: filler(9000) }] });
  assert.equal((await fetchRaw(`${proxy.url}/v1/chat/completions`, { body })).status, 200);
  for (let i = 0; i < 100 && records.length < 1; i++) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual({ action: records[0]!.guard?.action, window: records[0]!.guard?.window }, { action: 'passed', window: undefined });
  assert.equal((await fetchRaw(`${proxy.url}/v1/chat/completions`, { body })).status, 400);
  assert.equal(engine.generations(), 1);
});

test('pipelined: a held request and the one behind it keep their order; after a refusal nothing more reaches the engine', async (t) => {
  const { connect } = await import('node:net');
  const { engine, proxy } = await rig(t, 'refuse');
  const port = Number(new URL(proxy.url).port);
  const raw = (reqs: string[]) =>
    new Promise<string>((resolve) => {
      const s = connect(port, '127.0.0.1');
      let got = '';
      s.on('data', (b: Buffer) => (got += b.toString('latin1')));
      s.on('close', () => resolve(got));
      s.write(reqs.join(''));
      setTimeout(() => s.end(), 1500);
    });
  const post = (body: string) => `POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const small = JSON.stringify({ model: 'gemma4', messages: [{ role: 'user', content: 'hi' }] });
  const huge = JSON.stringify({ model: 'gemma4', messages: [{ role: 'user', content: filler(12000) }] });
  const ok = await raw([post(small), 'GET /api/ps HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n']);
  assert.equal((ok.match(/^HTTP\/1\.1 200/gm) ?? []).length, 2, ok.slice(0, 300));
  assert.ok(ok.indexOf('"done":true') < ok.lastIndexOf('"models"'), 'responses out of order');
  const before = engine.seen.length;
  const refused = await raw([post(huge), post(small)]);
  assert.match(refused, /^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*Connection: close\r\n/);
  assert.equal((refused.match(/^HTTP\/1\.1 /gm) ?? []).length, 1, 'only the refusal is answered');
  assert.equal(engine.seen.slice(before).filter((s) => s.startsWith('POST')).length, 0, engine.seen.slice(before).join(', '));
});
