// The truncation guard in front of a REAL llama-server (tiny test GGUF, 2048-token window, one slot). Between the
// proxy and the server sits a spy that logs every request line the server receives, so "the engine never saw
// it" is checked on the wire. The exact path counts with the server's own /apply-template + /tokenize; the
// learned path (tokenizer off) is measured against the server's usage.prompt_tokens after five requests.
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { llamaServerAvailable, startLlamaServer, type RunningServer } from '../../support/llama-server';
import { tinyModelPath } from '../../support/tiny-model';
import { startMeteringProxy, type MeteringProxy } from '../../../src/providers/proxy/server';
import type { MeterRecord } from '../../../src/providers/proxy/record';
import type { GuardEvent } from '../../../src/providers/proxy/guard';

const WINDOW = 2048;
const avail = llamaServerAvailable();
let srv: RunningServer | undefined;
let spy: Spy | undefined;

/** A TCP relay that keeps what the server was sent (request lines and raw bytes). */
interface Spy {
  url: string;
  lines: string[];
  raw(): Buffer;
  close(): Promise<void>;
}

async function startSpy(target: string): Promise<Spy> {
  const u = new URL(target);
  const chunks: Buffer[] = [];
  const lines: string[] = [];
  const server: Server = createServer((c) => {
    const up = connect(Number(u.port), u.hostname);
    c.on('data', (b: Buffer) => {
      chunks.push(Buffer.from(b));
      for (const m of b.toString('latin1').matchAll(/(?:^|\r\n)((?:GET|POST) \S+) HTTP\/1\.1\r\n/g)) lines.push(m[1]!);
    });
    c.pipe(up);
    up.pipe(c);
    c.on('error', () => up.destroy());
    up.on('error', () => c.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    lines,
    raw: () => Buffer.concat(chunks),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

before(async () => {
  if (!avail.ok) return;
  srv = await startLlamaServer({ model: tinyModelPath(), ctx: WINDOW, parallel: 1 });
  spy = await startSpy(srv.url);
});
after(async () => {
  await spy?.close();
  await srv?.stop();
});

async function rig(t: TestContext, mode: 'warn' | 'refuse', tokenizer = true) {
  const records: MeterRecord[] = [];
  const events: (GuardEvent & { at: number })[] = [];
  const proxy: MeteringProxy = await startMeteringProxy({ target: spy!.url, onRecord: (r) => records.push(r), guard: { mode, tokenizer, onEvent: (e) => events.push({ ...e, at: performance.now() }) } });
  t.after(() => proxy.close());
  const record = async (n: number) => {
    for (let i = 0; i < 400 && records.length < n; i++) await new Promise((r) => setTimeout(r, 5));
    return records[n - 1]!;
  };
  return { proxy, records, events, record };
}

const post = (url: string, body: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(120_000) });
const chats = () => spy!.lines.filter((l) => l === 'POST /v1/chat/completions' || l === 'POST /completion').length;

function ready(t: TestContext): boolean {
  if (!avail.ok) t.skip(avail.reason);
  return avail.ok;
}

test('refuse: an over-long chat gets the OpenAI-shaped 400 counted by the server’s tokenizer; the server never sees it', async (t) => {
  if (!ready(t)) return;
  const { proxy, events, record } = await rig(t, 'refuse');
  const before = chats();
  const body = JSON.stringify({ model: 'tiny', max_tokens: 8, messages: [{ role: 'user', content: 'The quick brown fox jumps over the lazy dog. '.repeat(200) }] });
  const res = await post(`${proxy.url}/v1/chat/completions`, body);
  assert.equal(res.status, 400);
  const err = ((await res.json()) as { error: { type: string; code: string; message: string } }).error;
  assert.equal(err.type, 'invalid_request_error');
  assert.equal(err.code, 'context_length_exceeded');
  assert.match(err.message, /2,048-token window/);
  assert.match(err.message, /-c \d/);
  assert.ok(!err.message.includes('quick brown'));
  assert.equal(chats(), before, 'the server received the refused request');
  const rec = await record(1);
  assert.equal(rec.guard?.action, 'refused');
  assert.equal(rec.guard?.method, 'tokenizer');
  assert.equal(rec.guard?.window, WINDOW);
  assert.equal(events[0]?.info.action, 'refused');
  t.diagnostic(`exact count ${rec.guard!.promptTokens} tokens, checked in ${rec.guard!.checkMs!.toFixed(1)} ms`);
});

test('a prompt just under the window passes untouched, and the tokenizer count equals the server’s prompt_tokens', async (t) => {
  if (!ready(t)) return;
  const { proxy, events, record } = await rig(t, 'refuse');
  // Find the size by asking the server itself: grow the text until the template + text is ~1700 tokens.
  const unit = 'Sum the list and print it. ';
  let n = 10;
  for (;;) {
    const tok = (await (await post(`${srv!.url}/tokenize`, JSON.stringify({ content: unit.repeat(n) }))).json()) as { tokens: unknown[] };
    if (tok.tokens.length >= 1700) break;
    n = Math.ceil(n * Math.min(2, 1700 / Math.max(1, tok.tokens.length)) + 1);
  }
  const body = JSON.stringify({ model: 'tiny', max_tokens: 8, messages: [{ role: 'user', content: unit.repeat(n) }] });
  const sent = spy!.raw().length;
  const res = await post(`${proxy.url}/v1/chat/completions`, body);
  assert.equal(res.status, 200);
  const usage = ((await res.json()) as { usage: { prompt_tokens: number } }).usage;
  // Byte-identical: the body the server received is the one the client sent.
  const wire = spy!.raw().subarray(sent).toString('utf8');
  assert.ok(wire.includes(body), 'forwarded body differs');
  const rec = await record(1);
  assert.equal(rec.guard?.action, 'passed');
  assert.equal(rec.guard?.method, 'tokenizer');
  assert.ok(Math.abs(rec.guard!.promptTokens - usage.prompt_tokens) <= 2, `tokenizer ${rec.guard!.promptTokens} vs server ${usage.prompt_tokens}`);
  assert.ok(usage.prompt_tokens > WINDOW * 0.75 && usage.prompt_tokens < WINDOW, String(usage.prompt_tokens));
  assert.equal(events.length, 0);
});

test('warn: forwards byte-exact, heard before the reply ends', async (t) => {
  if (!ready(t)) return;
  const { proxy, events, record } = await rig(t, 'warn');
  const body = JSON.stringify({ model: 'tiny', max_tokens: 8, prompt: 'Once upon a time there was a fox. '.repeat(120) });
  const sent = spy!.raw().length;
  const res = await post(`${proxy.url}/completion`, body);
  await res.arrayBuffer();
  const ended = performance.now();
  assert.ok(spy!.raw().subarray(sent).toString('utf8').includes(body), 'forwarded body differs');
  // llama.cpp itself rejects it (400): the guard only warned, the engine answered.
  assert.equal(res.status, 400);
  assert.equal(events.length, 1);
  assert.ok(events[0]!.at < ended);
  assert.equal((await record(1)).guard?.action, 'warned');
});

test('learned estimate (tokenizer off): error after five requests, against the server’s own prompt_tokens', async (t) => {
  if (!ready(t)) return;
  const { proxy, record } = await rig(t, 'warn', false);
  const texts = [
    'The quick brown fox jumps over the lazy dog while the farmer watches. ',
    'for (let i = 0; i < items.length; i++) { total += items[i].price * items[i].qty; }\n',
    'Error: ENOENT: no such file or directory, open \'/home/user/project/src/index.ts\'\n    at Object.openSync (node:fs:601:3)\n',
    '| name | size | modified |\n|------|------|----------|\n| a.ts | 12 KB | today |\n',
    'def parse(line):\n    key, _, value = line.partition("=")\n    return key.strip(), value.strip()\n',
    'Please refactor the function so that it handles empty input and returns early. ',
    '{"id": 42, "tags": ["alpha", "beta"], "nested": {"ok": true, "count": 7}}\n',
    'SELECT u.id, u.name, COUNT(o.id) FROM users u JOIN orders o ON o.user_id = u.id GROUP BY u.id;\n',
  ];
  const errors: number[] = [];
  let band = 0;
  for (let i = 0; i < texts.length; i++) {
    const reps = 6 + ((i * 5) % 9);
    const res = await post(`${proxy.url}/v1/chat/completions`, JSON.stringify({ model: 'tiny', max_tokens: 4, messages: [{ role: 'system', content: 'You are a coding agent.' }, { role: 'user', content: texts[i]!.repeat(reps) }] }));
    const usage = ((await res.json()) as { usage: { prompt_tokens: number } }).usage;
    const rec = await record(i + 1);
    if (i >= 5) {
      assert.equal(rec.guard?.method, 'learned');
      errors.push((rec.guard!.promptTokens - usage.prompt_tokens) / usage.prompt_tokens);
      band = rec.guard!.error!;
    }
  }
  const worst = Math.max(...errors.map(Math.abs));
  t.diagnostic(`learned after 5 requests: errors ${errors.map((e) => `${(e * 100).toFixed(1)} %`).join(', ')} (worst ${(worst * 100).toFixed(1)} %, band ±${(band * 100).toFixed(0)} %)`);
  // The guard's own band for a learned ratio must cover what it misses.
  assert.ok(worst <= band, `worst ${worst} outside the band ${band}`);
});
