// Attacks on the metering proxy over real sockets on 127.0.0.1: request smuggling against Node's strict HTTP
// parser, DNS-rebinding Host tricks, odd response framings compared byte for byte with a direct connection,
// every stall a client or an engine can make, storms of aborted connections (no leftover sockets, one record per
// generation request), hostile engines (no crash), and records that never carry prompt or completion text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import fc from 'fast-check';
import { startMeteringProxy, type MeteringProxy, type MeteringProxyOptions } from '../../../src/providers/proxy/server';
import type { MeterRecord } from '../../../src/providers/proxy/record';
import { loggingEngine, sleep, type LoggingEngine } from './engine';

// ---- rigs ------------------------------------------------------------------------------------------------

type HttpEngine = LoggingEngine;
const httpEngine = loggingEngine;

/** A raw engine: parses request heads (and Content-Length bodies) itself and answers with scripted bytes. */
interface RawEngine {
  url: string;
  port: number;
  server: Server;
  sockets: Set<Socket>;
}

type RawScript = (sock: Socket, req: { method: string; path: string; body: Buffer }) => void | Promise<void>;

async function rawEngine(script: RawScript): Promise<RawEngine> {
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let queue = Promise.resolve();
    sock.on('data', (b: Buffer) => {
      buf = Buffer.concat([buf, b]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = buf.toString('latin1', 0, end);
        const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        const [method, path] = head.split(' ') as [string, string];
        const body = buf.subarray(end + 4, end + 4 + len);
        buf = buf.subarray(end + 4 + len);
        // Answers go out in order, like a real HTTP/1.1 server.
        queue = queue.then(() => script(sock, { method, path, body }));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, port, server, sockets };
}

interface Rig {
  proxy: MeteringProxy;
  records: MeterRecord[];
}

async function rig(t: { after: (fn: () => Promise<void>) => void }, target: { url: string; server: Server | HttpServer; sockets?: Set<Socket> }, extra: Partial<MeteringProxyOptions> = {}): Promise<Rig> {
  const records: MeterRecord[] = [];
  const proxy = await startMeteringProxy({ target: target.url, onRecord: (r) => records.push(r), ...extra });
  t.after(async () => {
    await proxy.close();
    if ('closeAllConnections' in target.server) target.server.closeAllConnections();
    for (const s of target.sockets ?? []) s.destroy();
    await new Promise<void>((r) => target.server.close(() => r()));
  });
  return { proxy, records };
}

/** A raw client socket that collects everything it receives. */
function client(port: number): { sock: Socket; bytes: () => Buffer; text: () => string; closed: Promise<void>; error: () => string | undefined } {
  const sock = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  let err: string | undefined;
  sock.on('data', (b: Buffer) => chunks.push(b));
  sock.on('error', (e: NodeJS.ErrnoException) => (err = e.code ?? e.message));
  const closed = new Promise<void>((r) => sock.on('close', () => r()));
  return { sock, bytes: () => Buffer.concat(chunks), text: () => Buffer.concat(chunks).toString('latin1'), closed, error: () => err };
}

async function until(cond: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not met within ${ms} ms`);
    await sleep(5);
  }
}

const within = <T>(p: Promise<T>, ms: number, what: string) => Promise.race([p, sleep(ms).then(() => assert.fail(`${what} did not happen within ${ms} ms`))]);

/** Open TCP sockets of this process (client, proxy and engine sides alike). */
const tcpSockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;

const ndjsonFinal = (n: number) => `${JSON.stringify({ model: 'm', message: { content: '' }, done: true, prompt_eval_count: 3, eval_count: n, eval_duration: 1e9 })}\n`;

// ---- request smuggling and DNS rebinding -------------------------------------------------------------------

// The smuggled request names a *.localhost host, which the proxy accepts and rewrites: if the engine ever sees that
// Host verbatim, the engine parsed a request the proxy never saw as one.
const SMUGGLED = 'POST /api/chat HTTP/1.1\r\nHost: smuggled.localhost\r\nContent-Length: 0\r\n\r\n';
const LAST = 'GET /last HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n';

async function smuggle(rg: Rig, engine: HttpEngine, framing: string, body: string): Promise<void> {
  const before = { seen: engine.seen.length, records: rg.records.length };
  const c = client(rg.proxy.port);
  c.sock.write(Buffer.from(`POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n${framing}\r\n\r\n${body}${SMUGGLED}${LAST}`, 'latin1'));
  await within(c.closed, 3000, `close after ${JSON.stringify(framing)}`);
  // Records are emitted before the proxy closes a connection, so the count is settled once the client sees the close.
  const seen = engine.seen.slice(before.seen);
  for (const s of seen) assert.equal(s.host, `127.0.0.1:${engine.port}`, `engine parsed an unrewritten request after ${JSON.stringify(framing)}: ${JSON.stringify(s)}`);
  // Every metered request the engine parsed is one the proxy metered too.
  const meteredSeen = seen.filter((s) => s.method === 'POST').length;
  assert.ok(meteredSeen <= rg.records.length - before.records, `engine parsed ${meteredSeen} metered requests, the proxy recorded ${rg.records.length - before.records} (${JSON.stringify(framing)})`);
}

test('smuggling: framing header tricks never make the engine parse a request the proxy did not forward', async (t) => {
  const engine = await httpEngine((_req, res) => res.end('ok'));
  const rg = await rig(t, engine, { idleTimeoutMs: 200 });
  const cases: [string, string][] = [
    ['Transfer-Encoding: \x0bchunked', '0\r\n\r\n'],
    ['Transfer-Encoding: chunked\xa0', '0\r\n\r\n'],
    ['Transfer-Encoding: chunked\x0c', '0\r\n\r\n'],
    ['Transfer-Encoding: ,chunked', '0\r\n\r\n'],
    ['tRANSFER-eNCODING: ChUnKeD', '0\r\n\r\n'],
    ['Transfer-Encoding: chunked\r\nTransfer-Encoding: identity', '0\r\n\r\n'],
    ['Transfer-Encoding : chunked', '0\r\n\r\n'],
    ['Transfer-Encoding:\tchunked\t', '0\r\n\r\n'],
    ['Content-Length: 0003', 'abc'],
    ['Content-Length: +3', 'abc'],
    ['Content-Length: 3, 3', 'abc'],
    ['Content-Length: 3\r\nContent-Length: 3', 'abc'],
    ['Content-Length: 3\xa0', 'abc'],
    ['Content-Length: \x0b3', 'abc'],
    ['Content-Length: 0x3', 'abc'],
    ['Content-Length: 3\r\nTransfer-Encoding: chunked', '0\r\n\r\n'],
    ['Transfer-Encoding: chunked', '0\r\n\n'],
    ['Transfer-Encoding: chunked', '0\r\nX: y\n\n'],
    ['Transfer-Encoding: chunked', '0\r\n\r\r\n'],
    ['Transfer-Encoding: chunked', '3;\x01x\r\nabc\r\n0\r\n\r\n'],
    ['Transfer-Encoding: chunked', '3;a="b\r\nabc\r\n0\r\n\r\n'],
    ['Transfer-Encoding: chunked', '3 \r\nabc\r\n0\r\n\r\n'],
    ['Transfer-Encoding: chunked', '0x3\r\nabc\r\n0\r\n\r\n'],
    ['Transfer-Encoding: chunked', '000000000003\r\nabc\r\n0\r\n\r\n'],
    ['Transfer-Encoding: chunked', '3\r\nabc0\r\n\r\n'],
    ['Transfer-Encoding: chunked', '3\nabc\r\n0\r\n\r\n'],
    ['Transfer-Encoding: chunked', '3\r\nabc\r\n0\r\nContent-Length: 5\r\n\r\n'],
    ['Upgrade: websocket\r\nConnection: Upgrade\r\nContent-Length: 0', ''],
    ['Connection: Upgrade\r\nContent-Length: 0', ''],
    ['Expect: 100-continue\r\nContent-Length: 3', 'abc'],
    ['X-A: 1\r\n Transfer-Encoding: chunked', '0\r\n\r\n'],
  ];
  for (const [framing, body] of cases) await smuggle(rg, engine, framing, body);
  // Random spellings of the two framing headers: whitespace of every kind around the value, case, commas, zeros.
  const ws = fc.constantFrom('', ' ', '\t', '\x0b', '\x0c', '\xa0', '\x00');
  const te = fc.tuple(ws, fc.constantFrom('chunked', 'CHUNKED', 'Chunked', 'chunked,', ',chunked', 'chunked, chunked', 'identity, chunked', 'chunkedx'), ws).map(([a, v, b]) => [`Transfer-Encoding: ${a}${v}${b}`, '0\r\n\r\n'] as [string, string]);
  const cl = fc.tuple(ws, fc.constantFrom('3', '03', '+3', '3.0', '3 3', '3,3', '-3', '0'), ws).map(([a, v, b]) => [`Content-Length: ${a}${v}${b}`, 'abc'] as [string, string]);
  await fc.assert(
    fc.asyncProperty(fc.oneof(te, cl), async ([framing, body]) => smuggle(rg, engine, framing, body)),
    { numRuns: 40 },
  );
});

test('DNS rebinding: the engine only ever sees its own Host, whatever Host or absolute-form target the client sends', async (t) => {
  const engine = await httpEngine((_req, res) => res.end('ok'));
  const { proxy } = await rig(t, engine);
  const refused: string[] = ['evil.example', 'evil.example:80', 'localhost.evil.example', 'localhost, evil.example', '127.0.0.1.evil.example', '0x7f.1', '2130706433', '127.1', '', 'localhost:80@evil.example', '[::1]evil.example'];
  for (const host of refused) {
    const c = client(proxy.port);
    c.sock.write(`GET /api/tags HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    await within(c.closed, 3000, `refusal of ${host}`);
    assert.match(c.text(), /^HTTP\/1.1 403 /, host);
  }
  // Absolute-form naming another host, and odd spellings that still name this machine: forwarded, Host rewritten.
  const accepted: [string, string][] = [
    ['http://evil.example/api/tags', 'localhost'],
    ['http://evil.example', '127.0.0.1'],
    ['HTTPS://evil.example:443/x?y', 'LOCALHOST.'],
    ['/api/tags', '[::ffff:127.0.0.1]:1'],
  ];
  for (const [target, host] of accepted) {
    const c = client(proxy.port);
    c.sock.write(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    await within(c.closed, 3000, `answer to ${target}`);
    assert.match(c.text(), /^HTTP\/1.1 200 /, `${target} / ${host}`);
  }
  assert.equal(engine.seen.length, accepted.length);
  for (const s of engine.seen) {
    assert.equal(s.host, `127.0.0.1:${engine.port}`);
    assert.ok(s.url.startsWith('/') && !s.url.includes('evil'), s.url);
  }
});

// ---- wrong bytes: odd framings, direct vs through the proxy -----------------------------------------------

const NEXT = `HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nContent-Length: ${Buffer.byteLength(ndjsonFinal(7))}\r\n\r\n${ndjsonFinal(7)}`;

const FRAMINGS: Record<string, { response: string; status: number; head?: boolean }> = {
  chunkedExtTrailer: { response: 'HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n5;name="q;x\\"y"\r\n{"a":\r\n3;e\r\n 1}\r\n0;last\r\nX-T: 1\r\nX-U: 2\r\n\r\n', status: 200 },
  interims: { response: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}', status: 200 },
  noContent: { response: 'HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n', status: 204 },
  notModifiedWithLength: { response: 'HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n', status: 304 },
  bareLf: { response: 'HTTP/1.1 200 OK\nContent-Length: 2\nX-Junk\n\n{}', status: 200 },
  lengthList: { response: 'HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\n{}', status: 200 },
  teThenLength: { response: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 999\r\n\r\n2\r\n{}\r\n0\r\n\r\n', status: 200 },
  chunkedBareLf: { response: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\n{}\n0\n\n', status: 200 },
  headWithLength: { response: 'HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n', status: 200, head: true },
  statusNoReason: { response: 'HTTP/1.1 200\r\nContent-Length: 2\r\n\r\n{}', status: 200 },
};

test('odd response framings reach the client byte-exact, and the side parser stays in step for the next response', async (t) => {
  const engine = await rawEngine((sock, req) => {
    const name = req.path.split('/')[1]!;
    sock.write(name === 'next' ? NEXT : FRAMINGS[name]!.response);
  });
  const { proxy, records } = await rig(t, engine);
  for (const [name, f] of Object.entries(FRAMINGS)) {
    const method = f.head ? 'HEAD' : 'POST';
    const reqs = `${method} /${name}/api/chat HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\nPOST /next/api/chat HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n{}`;
    const got: Buffer[] = [];
    for (const port of [engine.port, proxy.port]) {
      const c = client(port);
      c.sock.write(reqs);
      const want = Buffer.byteLength(f.response + NEXT);
      await until(() => c.bytes().length >= want, 3000, name);
      await sleep(5);
      got.push(c.bytes());
      c.sock.destroy();
    }
    assert.equal(got[1]!.toString('latin1'), got[0]!.toString('latin1'), name);
    // Records are emitted as each response ends, before its bytes are relayed on. HEAD is not metered; the
    // follow-up must be recognised as its own complete response (7 tokens, no error).
    const mine = records.splice(0);
    const next = mine.find((r) => r.outputTokens === 7);
    assert.ok(next, `${name}: the response after it was not metered: ${JSON.stringify(mine)}`);
    assert.equal(next.error, undefined, name);
    if (!f.head) assert.equal(mine[0]!.status, f.status, name);
    assert.equal(mine.length, f.head ? 1 : 2, name);
  }
});

test('close-delimited and Connection: close responses (HTTP/1.0 engine) are byte-exact and end the client connection', async (t) => {
  const body = `${JSON.stringify({ model: 'm', message: { content: 'x' }, done: false })}\n${ndjsonFinal(5)}`;
  const engine = await rawEngine((sock, req) => {
    if (req.path.startsWith('/v10')) sock.end(`HTTP/1.0 200 OK\r\nContent-Type: application/x-ndjson\r\n\r\n${body}`);
    else sock.end(`HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
  const { proxy, records } = await rig(t, engine);
  for (const path of ['/v10/api/chat', '/close/api/chat']) {
    const got: string[] = [];
    for (const port of [engine.port, proxy.port]) {
      const c = client(port);
      c.sock.write(`POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n{}`);
      await within(c.closed, 3000, `close after ${path}`);
      assert.equal(c.error(), undefined, path);
      got.push(c.text());
    }
    assert.equal(got[1], got[0], path);
  }
  await until(() => records.length === 2);
  for (const r of records) {
    assert.equal(r.outputTokens, 5);
    assert.equal(r.error, undefined);
  }
});

// ---- stalls: every state has a deadline -------------------------------------------------------------------

test('every stall is cut: client mid-head, client mid-body, engine silent, engine after a 1xx, engine mid-head, engine mid-body, idle', async (t) => {
  const engine = await rawEngine((sock, req) => {
    const p = req.path;
    if (p.startsWith('/silent')) return;
    if (p.startsWith('/interim')) sock.write('HTTP/1.1 100 Continue\r\n\r\n');
    else if (p.startsWith('/halfhead')) sock.write('HTTP/1.1 200 OK\r\nContent-');
    else if (p.startsWith('/halfbody')) sock.write('HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nContent-Length: 1000\r\n\r\n{"a":1}\n');
    else sock.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  });
  const ms = 120;
  const { proxy, records } = await rig(t, engine, { headTimeoutMs: ms, headersTimeoutMs: ms, bodyTimeoutMs: ms, idleTimeoutMs: ms });
  const stalls: [string, string, RegExp][] = [
    ['client mid-head', 'POST /v1/chat/completions HTTP/1.1\r\nHost: loc', /^HTTP\/1.1 408 /],
    ['client mid-body', 'POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{"model":', /^HTTP\/1.1 408 /],
    ['client mid-chunked-body', 'POST /silent/v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab', /^HTTP\/1.1 408 /],
    ['engine silent', 'POST /silent/api/chat HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n', /^HTTP\/1.1 504 /],
    ['engine after 100', 'POST /interim/api/chat HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n', /^HTTP\/1.1 100 Continue\r\n\r\n$/],
    ['engine mid-head', 'POST /halfhead/api/chat HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n', /^HTTP\/1.1 200 OK\r\nContent-$/],
    ['engine mid-body', 'POST /halfbody/api/chat HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n', /\{"a":1\}\n$/],
    ['idle after a response', 'GET /ok HTTP/1.1\r\nHost: localhost\r\n\r\n', /\r\n\r\nok$/],
    ['idle before any byte', '', /^$/],
  ];
  const runs = stalls.map(async ([what, bytes, expect]) => {
    const c = client(proxy.port);
    if (bytes) c.sock.write(bytes);
    await within(c.closed, 3000, `cut of "${what}"`);
    assert.match(c.text(), expect, what);
  });
  await Promise.all(runs);
  // One record per generation request whose head arrived: the half-head one has none.
  await until(() => records.length === 6, 1000, 'records');
  const kinds = records.map((r) => r.error?.kind).sort();
  assert.deepEqual(kinds, ['client_abort', 'client_abort', 'upstream_timeout', 'upstream_timeout', 'upstream_timeout', 'upstream_timeout']);
  await until(() => engine.sockets.size === 0, 2000, 'engine connections closed');
});

// ---- leaks: storms of aborted, refused and reset connections ----------------------------------------------

test('a storm of aborted, refused and reset connections leaves no socket behind and exactly one record per generation request', async (t) => {
  const engine = await rawEngine(async (sock, req) => {
    if (req.path === '/reset/api/chat') {
      sock.write('HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n{"a":1}\n\r\n');
      await sleep(5);
      sock.resetAndDestroy();
    } else if (req.path === '/slow/api/chat') {
      sock.write('HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n');
      for (let i = 0; i < 400 && !sock.destroyed; i++) {
        sock.write('8\r\n{"a":1}\n\r\n');
        await sleep(2);
      }
    } else sock.write(`HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nContent-Length: ${Buffer.byteLength(ndjsonFinal(2))}\r\n\r\n${ndjsonFinal(2)}`);
  });
  const { proxy, records } = await rig(t, engine, { headTimeoutMs: 500, idleTimeoutMs: 500 });
  const baseline = tcpSockets();
  const post = (path: string, extra = '') => `POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n${extra}\r\n{}`;
  // [what the client does, generation requests it makes]
  const kinds: [(c: ReturnType<typeof client>) => Promise<void>, number][] = [
    // Half a head, then gone (FIN, then RST).
    [async (c) => void c.sock.end('POST /api/chat HTTP/1.1\r\nHo'), 0],
    [async (c) => (c.sock.write('POST /api/chat HTTP/1.1\r\nHo'), await sleep(2), void c.sock.resetAndDestroy()), 0],
    // A whole head, then gone before the answer.
    [async (c) => void c.sock.end('POST /slow/api/chat HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n'), 1],
    // Gone mid-stream.
    [async (c) => (c.sock.write(post('/slow/api/chat')), await until(() => c.bytes().length > 100), void c.sock.destroy()), 1],
    // Refused, alone and behind a good request.
    [async (c) => void c.sock.write('POST /api/chat HTTP/1.1\r\nHost: evil.example\r\nContent-Length: 2\r\n\r\n{}'), 0],
    [async (c) => void c.sock.write(post('/api/chat') + 'POST /api/chat HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n{}'), 1],
    // Engine resets mid-stream.
    [async (c) => void c.sock.write(post('/reset/api/chat')), 1],
    // Pipelined good requests, the last closes.
    [async (c) => void c.sock.write(post('/api/chat') + post('/v1/chat/completions') + post('/api/generate', 'Connection: close\r\n')), 3],
    // GETs are not metered.
    [async (c) => void c.sock.write('GET /api/tags HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'), 0],
  ];
  let expected = 0;
  const runs: Promise<void>[] = [];
  for (let round = 0; round < 12; round++) {
    for (const [act, n] of kinds) {
      expected += n;
      runs.push(
        (async () => {
          const c = client(proxy.port);
          await new Promise((r) => c.sock.once('connect', r));
          await act(c);
          await within(c.closed, 5000, 'connection end');
        })(),
      );
    }
  }
  await Promise.all(runs);
  await until(() => records.length >= expected, 3000, `records ${records.length}/${expected}`);
  await sleep(50);
  assert.equal(records.length, expected);
  await until(() => engine.sockets.size === 0, 3000, 'engine connections closed');
  await until(() => tcpSockets() <= baseline, 3000, `sockets back to baseline ${baseline} (now ${tcpSockets()})`);
  // The proxy still serves.
  const c = client(proxy.port);
  c.sock.write(post('/api/chat', 'Connection: close\r\n'));
  await within(c.closed, 3000, 'answer after the storm');
  assert.match(c.text(), /"eval_count":2/);
});

// ---- pipelining with aborts on either side ----------------------------------------------------------------

const PROMPT_MARK = 'PROMPT-MARKER-7f3a';
const OUTPUT_MARK = 'OUTPUT-MARKER-c91e';
const genBody = (i: number) => JSON.stringify({ model: `model-${i}`, stream: true, system: `${PROMPT_MARK} sys`, messages: [{ role: 'user', content: `${PROMPT_MARK} ${i}` }], tools: [{ name: PROMPT_MARK }] });

test('pipelined 3 requests, client gone mid-second response: 3 records (1 complete, 2 client_abort), engine connection closed', async (t) => {
  const engine = await rawEngine(async (sock, req) => {
    sock.write('HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n');
    const line = `${JSON.stringify({ model: 'm', message: { content: OUTPUT_MARK }, done: false })}\n`;
    const n = req.path.endsWith('1') ? 3 : 1000;
    for (let i = 0; i < n && !sock.destroyed; i++) {
      sock.write(`${Buffer.byteLength(line).toString(16)}\r\n${line}\r\n`);
      await sleep(1);
    }
    const fin = ndjsonFinal(3);
    sock.write(`${Buffer.byteLength(fin).toString(16)}\r\n${fin}\r\n0\r\n\r\n`);
  });
  const { proxy, records } = await rig(t, engine);
  const c = client(proxy.port);
  const reqs = [1, 2, 3].map((i) => `POST /api/chat?q=${PROMPT_MARK}&n=${i} HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${Buffer.byteLength(genBody(i))}\r\n\r\n${genBody(i)}`);
  c.sock.write(reqs.join(''));
  // Mid-second: the first response is complete and some of the second has arrived.
  await until(() => c.text().split('HTTP/1.1 200 OK').length === 3 && c.text().length > 2000);
  c.sock.destroy();
  await until(() => records.length === 3);
  assert.deepEqual(
    records.map((r) => [r.model, r.error?.kind]),
    [
      ['m', undefined],
      ['m', 'client_abort'],
      ['model-3', 'client_abort'],
    ],
  );
  assert.equal(records[0]!.outputTokens, 3);
  assert.equal(records[0]!.endpoint, '/api/chat');
  await until(() => engine.sockets.size === 0, 2000, 'engine connection closed');
  const json = JSON.stringify(records);
  assert.ok(!json.includes(PROMPT_MARK) && !json.includes(OUTPUT_MARK), json);
});

test('pipelined 3 requests, engine resets mid-first: the client sees a reset, 3 upstream_reset records', async (t) => {
  const engine = await rawEngine(async (sock) => {
    sock.write(`HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const ev = `data: {"choices":[{"delta":{"content":"${OUTPUT_MARK}"}}]}\n\n`;
    sock.write(`${Buffer.byteLength(ev).toString(16)}\r\n${ev}\r\n`);
    await sleep(20);
    sock.resetAndDestroy();
  });
  const { proxy, records } = await rig(t, engine);
  const c = client(proxy.port);
  c.sock.write([1, 2, 3].map((i) => `POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${Buffer.byteLength(genBody(i))}\r\n\r\n${genBody(i)}`).join(''));
  await within(c.closed, 3000, 'client connection end');
  assert.equal(c.error(), 'ECONNRESET');
  assert.ok(c.text().includes(OUTPUT_MARK));
  await until(() => records.length === 3);
  assert.deepEqual(
    records.map((r) => r.error?.kind),
    ['upstream_reset', 'upstream_reset', 'upstream_reset'],
  );
  assert.equal(records[0]!.outputTokens, 1);
  // The unanswered ones still carry what their request said.
  assert.equal(records[1]!.model, 'model-2');
  assert.equal(records[2]!.model, 'model-3');
  const json = JSON.stringify(records);
  assert.ok(!json.includes(PROMPT_MARK) && !json.includes(OUTPUT_MARK), json);
});

// ---- hostile engines --------------------------------------------------------------------------------------

test('hostile engines (garbage, stray 101, huge heads, double answers, bad lengths, early bytes) never crash the proxy', async (t) => {
  const scripts: Record<string, RawScript> = {
    garbage: (s) => void s.end('\x00\xff garbage \r\n\r\n\r\n'),
    stray101: (s) => void s.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\nwhatever bytes'),
    hugeHead: (s) => void s.end(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(300_000)}\r\nContent-Length: 2\r\n\r\n{}`),
    doubleAnswer: (s) => void s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}'),
    badLength: (s) => void s.end('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: -5\r\n\r\n{}'),
    hugeChunk: (s) => void s.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nab'),
    brokenJsonError: (s) => void s.end('HTTP/1.1 500 Oops\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{"error":'),
    sseGarbage: (s) => void s.end(`HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: {"usage":${'['.repeat(5000)}\n\ndata: {"timings":{"predicted_per_second":"NaN"},"usage":{"completion_tokens":-1}}\n\n`),
    ndjsonDeep: (s) => void s.end(`HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n\r\n{"done":true,"eval_count":${'9'.repeat(400)},"prompt_eval_count":{"a":1}}\n`),
    resetBeforeAnswer: (s) => void s.resetAndDestroy(),
    endWithoutAnswer: (s) => void s.end(),
    halfHeadThenEnd: (s) => void s.end('HTTP/1.1 200 OK\r\nContent-Len'),
  };
  const engine = await rawEngine((sock, req) => scripts[req.path.split('/')[1]!]!(sock, req));
  const { proxy, records } = await rig(t, engine, { bodyTimeoutMs: 300, headersTimeoutMs: 300 });
  const crashes: unknown[] = [];
  const onCrash = (e: unknown) => crashes.push(e);
  process.on('uncaughtException', onCrash);
  t.after(() => void process.off('uncaughtException', onCrash));
  const names = Object.keys(scripts);
  await Promise.all(
    names.map(async (name) => {
      const c = client(proxy.port);
      c.sock.write(`POST /${name}/v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${Buffer.byteLength(genBody(1))}\r\n\r\n${genBody(1)}`);
      await within(c.closed, 3000, `end of ${name}`);
    }),
  );
  await until(() => records.length >= names.length, 2000, 'records');
  await sleep(30);
  assert.deepEqual(crashes, []);
  assert.equal(records.length, names.length, 'one record per generation request');
  for (const r of records) {
    assert.equal(typeof r.truncated, 'boolean');
    assert.ok(!JSON.stringify(r).includes(PROMPT_MARK));
  }
  await until(() => engine.sockets.size === 0, 2000, 'engine connections closed');
});

// ---- found by this file, fixed ------------------------------------------------------------------------------

test(
  'an engine that answers before reading the whole request body: the rest of the body and the next request still go through',
  async (t) => {
    // Go's net/http, uvicorn middlewares (401 for a missing API key) and Node all may answer before the body is read.
    const engine = await httpEngine(() => undefined);
    engine.server.removeAllListeners('request');
    engine.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      engine.seen.push({ method: req.method!, url: req.url!, host: req.headers.host, body: Buffer.alloc(0) });
      res.end(`early ${req.url}`);
    });
    const { proxy } = await rig(t, engine);
    const got: string[] = [];
    for (const port of [engine.port, proxy.port]) {
      const c = client(port);
      c.sock.write('POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n12345');
      await until(() => c.text().includes('early /v1/chat/completions'));
      c.sock.write('67890');
      await sleep(20);
      c.sock.write('GET /second HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await until(() => c.text().includes('early /second') || c.text().includes('400 Bad Request'));
      got.push(c.text().replace(/Date: [^\r]*\r\n/g, ''));
      c.sock.destroy();
    }
    assert.equal(got[1], got[0]);
  },
);
