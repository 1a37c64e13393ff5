// The proxy's connection handling against real servers on 127.0.0.1, driven by raw sockets where the exact
// bytes matter: keep-alive and pipelining, Host and base-path rewriting, refused framings, Expect/Upgrade,
// the engine's own connection semantics reaching the client, every timeout, backpressure and hostile clients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request, Agent, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import fc from 'fast-check';
import { startMeteringProxy, type MeteringProxy, type MeteringProxyOptions } from '../../../src/providers/proxy/server';
import type { MeterRecord } from '../../../src/providers/proxy/record';
import { fetchRaw, loggingEngine, sleep, type LoggingEngine } from './engine';

type Upstream = LoggingEngine;
const upstream = loggingEngine;

async function rig(t: { after: (fn: () => Promise<void>) => void }, up: Upstream, extra: Partial<MeteringProxyOptions> = {}): Promise<{ proxy: MeteringProxy; records: MeterRecord[] }> {
  const records: MeterRecord[] = [];
  const proxy = await startMeteringProxy({ target: up.url, onRecord: (r) => records.push(r), ...extra });
  t.after(async () => {
    await proxy.close();
    up.server.closeAllConnections();
    await new Promise<void>((r) => up.server.close(() => r()));
  });
  return { proxy, records };
}

/** A raw client socket that collects everything it receives until the proxy closes it. */
function raw(port: number): { sock: Socket; received: () => string; closed: Promise<void> } {
  const sock = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  sock.on('data', (b: Buffer) => chunks.push(b));
  sock.on('error', () => undefined);
  const closed = new Promise<void>((r) => sock.on('close', () => r()));
  return { sock, received: () => Buffer.concat(chunks).toString('latin1'), closed };
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

const within = <T>(p: Promise<T>, ms: number, what: string) => Promise.race([p, sleep(ms).then(() => assert.fail(`${what} did not happen within ${ms} ms`))]);

test('keep-alive: sequential requests share one engine connection; Host and base path are rewritten', async (t) => {
  const up = await upstream((req, res) => res.end(`you asked ${req.url}`));
  const { proxy } = await rig(t, { ...up, url: `${up.url}/base/` } as Upstream);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  for (const path of ['/api/tags', '/v1/models?x=1', '/api/version']) {
    const body = await new Promise<string>((ok, fail) => {
      request(`${proxy.url}${path}`, { agent }, (res) => {
        let s = '';
        res.on('data', (c: Buffer) => (s += c.toString()));
        res.on('end', () => ok(s));
      })
        .on('error', fail)
        .end();
    });
    assert.equal(body, `you asked /base${path}`);
  }
  assert.equal(up.connections, 1);
  assert.deepEqual(
    up.seen.map((s) => s.host),
    Array(3).fill(new URL(up.url).host),
  );
});

test('pipelined requests in one write are answered in order, each byte-exact', async (t) => {
  const up = await upstream((req, res, body) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`${req.method} ${req.url} ${body.length}`);
  });
  const { proxy } = await rig(t, up);
  const c = raw(proxy.port);
  c.sock.write('GET /a HTTP/1.1\r\nHost: localhost\r\n\r\nPOST /b HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhelloGET /c HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
  await within(c.closed, 3000, 'close after Connection: close');
  const got = c.received();
  const bodies = [...got.matchAll(/\r\n\r\n([A-Z]+ \/\w \d+)/g)].map((m) => m[1]);
  assert.deepEqual(bodies, ['GET /a 0', 'POST /b 5', 'GET /c 0']);
  assert.equal(up.connections, 1);
});

test('a chunked request body reaches the engine exactly and is inspected for the record', async (t) => {
  const up = await upstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ model: 'm', choices: [{ message: { content: 'hi' } }], usage: { prompt_tokens: 7, completion_tokens: 1 } }));
  });
  const { proxy, records } = await rig(t, up);
  const payload = JSON.stringify({ model: 'qwen3', max_tokens: 33, messages: [{ role: 'user', content: 'ünïcödé '.repeat(500) }] });
  const buf = Buffer.from(payload);
  await new Promise<void>((ok, fail) => {
    const req = request(`${proxy.url}/v1/chat/completions`, { method: 'POST', headers: { 'transfer-encoding': 'chunked', 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', ok);
    });
    req.on('error', fail);
    // Cut mid-character, in uneven pieces.
    for (let o = 0; o < buf.length; o += 777) req.write(buf.subarray(o, o + 777));
    req.end();
  });
  await until(() => records.length === 1);
  assert.ok(up.seen[0]!.body.equals(buf));
  assert.equal(records[0]!.maxTokens, 33);
  assert.equal(records[0]!.model, 'm');
  assert.equal(records[0]!.promptTokens, 7);
});

test('ambiguous or broken request framing is refused by the proxy and never reaches the engine', async (t) => {
  const up = await upstream((_req, res) => res.end('ok'));
  const { proxy } = await rig(t, up);
  const cases: [string, number][] = [
    ['POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
    ['POST /x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde', 400],
    ['POST /x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\n\r\n', 501],
    ['GET /x HTTP/1.1\r\nHost: localhost\r\nX-A: 1\r\n folded\r\n\r\n', 400],
    ['GET /x HTTP/1.1\nHost: localhost\n\n', 400],
    ['CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: localhost\r\n\r\n', 405],
    ['GARBAGE\r\n\r\n', 400],
    [`GET /x HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`, 431],
    ['GET /x HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n\r\n', 400],
    ['GET /x HTTP/1.1\r\n\r\n', 403],
  ];
  for (const [req, status] of cases) {
    const c = raw(proxy.port);
    c.sock.write(req);
    await within(c.closed, 3000, `close after refusing ${JSON.stringify(req.slice(0, 40))}`);
    const got = c.received();
    assert.match(got, new RegExp(`^HTTP/1.1 ${status} `), JSON.stringify(req.slice(0, 60)));
    assert.match(got, /"type":"proxy_error"/);
  }
  assert.equal(up.seen.length, 0);
});

test('a refused request after pipelined good ones: the good ones are answered first, then the refusal', async (t) => {
  const up = await upstream((req, res) => res.end(`ok ${req.url}`));
  const { proxy } = await rig(t, up);
  const c = raw(proxy.port);
  c.sock.write('GET /1 HTTP/1.1\r\nHost: localhost\r\n\r\nGET /2 HTTP/1.1\r\nHost: evil.example\r\n\r\nGET /3 HTTP/1.1\r\nHost: localhost\r\n\r\n');
  await within(c.closed, 3000, 'close');
  const got = c.received();
  assert.ok(got.indexOf('ok /1') !== -1 && got.indexOf('ok /1') < got.indexOf('403 Forbidden'), got);
  assert.deepEqual(
    up.seen.map((s) => s.url),
    ['/1'],
  );
});

test('Expect: 100-continue is relayed: the client sends its body after the engine says continue', async (t) => {
  const up = await upstream((_req, res, body) => res.end(`got ${body.length}`));
  const { proxy } = await rig(t, up);
  const text = await new Promise<string>((ok, fail) => {
    const req = request(`${proxy.url}/api/chat`, { method: 'POST', headers: { expect: '100-continue', 'content-length': '11' } }, (res) => {
      let s = '';
      res.on('data', (c: Buffer) => (s += c.toString()));
      res.on('end', () => ok(s));
    });
    req.on('continue', () => req.end('hello world'));
    req.on('error', fail);
  });
  assert.equal(text, 'got 11');
});

test('Connection: close from the engine closes the client connection after the response', async (t) => {
  const up = await upstream((_req, res) => {
    res.setHeader('connection', 'close');
    res.end('bye');
  });
  const { proxy } = await rig(t, up);
  const c = raw(proxy.port);
  c.sock.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
  await within(c.closed, 3000, 'close');
  assert.match(c.received(), /^HTTP\/1.1 200 OK[\s\S]*\r\n\r\nbye$/);
});

test('HEAD answers carry no body: the next request on the connection still parses', async (t) => {
  const up = await upstream((req, res) => {
    res.writeHead(200, { 'content-length': '1000', 'content-type': 'text/plain' });
    res.end(req.method === 'HEAD' ? undefined : 'x'.repeat(1000));
  });
  const { proxy } = await rig(t, up);
  const c = raw(proxy.port);
  c.sock.write('HEAD /a HTTP/1.1\r\nHost: localhost\r\n\r\n');
  await until(() => c.received().includes('\r\n\r\n'));
  c.sock.write('GET /b HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
  await within(c.closed, 3000, 'close');
  assert.equal(c.received().split('HTTP/1.1 200 OK').length, 3);
  assert.ok(c.received().endsWith('x'.repeat(1000)));
});

test('timeouts: an idle connection closes, a stalled request head gets 408, a silent engine mid-body is cut', async (t) => {
  const up = await upstream((req, res) => {
    if (req.url === '/stall') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"choices":[{"delta":{"content":"a"}}]}\n\n');
      return; // then silence
    }
    res.end('ok');
  });
  const { proxy, records } = await rig(t, up, { idleTimeoutMs: 150, headTimeoutMs: 150, bodyTimeoutMs: 150 });
  const idle = raw(proxy.port);
  idle.sock.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
  await within(idle.closed, 2000, 'idle close');
  assert.match(idle.received(), /\r\n\r\nok$/);

  const slow = raw(proxy.port);
  slow.sock.write('GET / HTTP/1.1\r\nHost: local');
  await within(slow.closed, 2000, '408');
  assert.match(slow.received(), /^HTTP\/1.1 408 /);

  const cut = raw(proxy.port);
  cut.sock.write('POST /stall HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n{}');
  await within(cut.closed, 2000, 'cut after engine silence');
  assert.match(cut.received(), /"content":"a"/);
  // /stall isn't a generation path, so no record; a metered one is checked below.
  assert.equal(records.length, 0);
});

test('a silent engine mid-stream on a generation path leaves an upstream_timeout record', async (t) => {
  const up = await upstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: {"choices":[{"delta":{"content":"a"}}]}\n\n');
  });
  const { proxy, records } = await rig(t, up, { bodyTimeoutMs: 150 });
  const p = await fetchRaw(`${proxy.url}/v1/chat/completions`, { body: '{"model":"m","stream":true}' });
  assert.ok(p.error, 'the client sees a cut stream');
  await until(() => records.length === 1);
  assert.equal(records[0]!.error?.kind, 'upstream_timeout');
  assert.equal(records[0]!.outputTokens, 1);
});

test('an engine that closes a fresh connection without answering gives a clear 502', async (t) => {
  const up = await upstream((req) => req.socket.destroy());
  const { proxy, records } = await rig(t, up);
  const p = await fetchRaw(`${proxy.url}/api/chat`, { body: '{"model":"x"}' });
  assert.equal(p.status, 502);
  assert.match(p.body.toString(), /closed the connection without answering/);
  await until(() => records.length === 1);
  assert.equal(records[0]!.error?.kind, 'upstream_reset');
});

test('Upgrade: after the engine answers 101 the connection is an opaque tunnel both ways', async (t) => {
  const up = await upstream((_req, res) => res.end('plain'));
  const tunnels: Socket[] = [];
  // Upgraded sockets leave the server's bookkeeping: the test closes them itself.
  t.after(() => tunnels.forEach((s) => s.destroy()));
  up.server.on('upgrade', (_req: IncomingMessage, sock: Socket, head: Buffer) => {
    tunnels.push(sock);
    sock.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
    if (head.length) sock.write(head);
    sock.on('data', (b: Buffer) => sock.write(Buffer.from(b.toString().toUpperCase())));
  });
  const { proxy } = await rig(t, up);
  const c = raw(proxy.port);
  // Tunnel bytes right behind the head, in the same write, must not be lost or parsed.
  c.sock.write('GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nfirst ');
  await until(() => c.received().includes('FIRST '));
  c.sock.write('GET / HTTP/1.1 is just data now');
  await until(() => c.received().includes('GET / HTTP/1.1 IS JUST DATA NOW'));
  c.sock.destroy();
});

test('backpressure: a client that stops reading stops the engine too, nothing piles up in the proxy', async (t) => {
  const total = 64 << 20;
  let writtenBeforeStall = -1;
  let written = 0;
  const up = await upstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const block = Buffer.alloc(64 << 10, 0x61);
    const pump = () => {
      while (written < total) {
        written += block.length;
        if (!res.write(block)) {
          if (writtenBeforeStall === -1) writtenBeforeStall = written;
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  });
  const { proxy } = await rig(t, up);
  const c = raw(proxy.port);
  c.sock.pause();
  c.sock.write('GET /big HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
  await sleep(400);
  // Kernel buffers on two loopback hops plus stream high-water marks: a few MB, far from the 64 MB body.
  assert.ok(writtenBeforeStall > 0, 'engine saw backpressure');
  assert.ok(written < 24 << 20, `engine wrote ${written} bytes while the client read nothing`);
  let got = 0;
  c.sock.on('data', (b: Buffer) => (got += b.length));
  c.sock.resume();
  await within(c.closed, 20_000, 'whole body');
  assert.ok(got >= total, `client got ${got}`);
});

test('hostile clients (random bytes, mangled requests) get an answer or a close, and the proxy keeps serving', async (t) => {
  const up = await upstream((_req, res) => res.end('ok'));
  const { proxy } = await rig(t, up, { headTimeoutMs: 300, idleTimeoutMs: 300 });
  const good = 'POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n{}';
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.uint8Array({ minLength: 1, maxLength: 400 }).map((b) => Buffer.from(b)),
        fc.tuple(fc.nat(good.length - 1), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([at, junk]) => Buffer.concat([Buffer.from(good.slice(0, at)), Buffer.from(junk), Buffer.from(good.slice(at))])),
      ),
      async (bytes) => {
        const c = raw(proxy.port);
        c.sock.write(bytes);
        await within(c.closed, 3000, 'proxy closes the hostile connection');
        const got = c.received();
        assert.ok(got === '' || /^HTTP\/1\.1 \d{3} /.test(got), JSON.stringify(got.slice(0, 80)));
      },
    ),
    { numRuns: 60 },
  );
  const p = await fetchRaw(`${proxy.url}/api/tags`);
  assert.equal(p.status, 200);
  assert.equal(p.body.toString(), 'ok');
});

test('an https target that does not speak TLS: a clear 502 and a record, not a reset', async (t) => {
  const up = await upstream((_req, res) => res.end('plain http'));
  const { proxy, records } = await rig(t, { ...up, url: up.url.replace('http:', 'https:') } as Upstream);
  const p = await fetchRaw(`${proxy.url}/api/chat`, { body: '{"model":"x"}' });
  assert.equal(p.status, 502);
  assert.match(p.body.toString(), /cannot reach https:\/\/127\.0\.0\.1/);
  await until(() => records.length === 1);
  assert.equal(records[0]!.error?.kind, 'upstream_unreachable');
});

test('a slow client still gets every byte when the engine closes right after a big response', async (t) => {
  const body = Buffer.alloc(8 << 20);
  for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff;
  const up = await upstream((req, res) => {
    // Close-delimited: no length, no chunking (HTTP/1.0 style); the FIN ends the body.
    if (req.url === '/close-delimited') res.useChunkedEncodingByDefault = false;
    else res.setHeader('content-length', body.length);
    res.writeHead(200, { 'content-type': 'application/octet-stream', connection: 'close' });
    res.end(body);
  });
  const { proxy } = await rig(t, up);
  for (const framing of ['content-length', 'close-delimited']) {
    const c = raw(proxy.port);
    // Reads in small sips with pauses, so the proxy's writes to it stay queued when the engine's FIN arrives.
    c.sock.on('data', () => {
      c.sock.pause();
      setTimeout(() => c.sock.resume(), 2);
    });
    c.sock.write(`GET /${framing} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    await within(c.closed, 30_000, 'whole response');
    const got = Buffer.from(c.received(), 'latin1');
    assert.ok(got.subarray(got.length - body.length).equals(body), `${framing}: ${got.length} bytes received`);
  }
});
