// HTTP/1.1 side parsers of the metering proxy: framing must not depend on how TCP happens to split the bytes,
// requests with ambiguous framing are refused before anything is passed on, and responses never throw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { cut } from '../stream/split';
import { field, RequestError, RequestParser, ResponseParser, type RequestHead, type ResponseHead } from '../../../src/providers/proxy/http1';

const bin = (s: string): Buffer => Buffer.from(s, 'latin1');
const CRLF = '\r\n';

/** Splits `buf` at the given offsets (any order, clamped, duplicates allowed: empty pieces are pushed too). */
const pieces = (buf: Buffer, cuts: number[]): Buffer[] => cut(buf, cuts.map((c) => Math.min(Math.max(c, 0), buf.length)).sort((a, b) => a - b)) as Buffer[];

const bytewise = (buf: Buffer): Buffer[] => Array.from({ length: buf.length }, (_, i) => buf.subarray(i, i + 1));

// ---- request side ---------------------------------------------------------------------------------------------

interface ReqMsg {
  head: RequestHead;
  raw: string;
  data: string;
  ended: boolean;
}

/** A RequestParser whose events are folded into one record per message; out-of-order events land in `stray`. */
function requestRecorder(opts: { end?: (n: number) => boolean; maxHead?: number } = {}) {
  const msgs: ReqMsg[] = [];
  const stray: string[] = [];
  let ends = 0;
  const open = (what: string): ReqMsg | undefined => {
    const m = msgs[msgs.length - 1];
    if (!m || m.ended) {
      stray.push(`${what} outside a message`);
      return undefined;
    }
    return m;
  };
  const parser = new RequestParser(
    {
      head: (h) => {
        const last = msgs[msgs.length - 1];
        if (last && !last.ended) stray.push('head before the previous end');
        msgs.push({ head: h, raw: '', data: '', ended: false });
      },
      raw: (b) => {
        const m = open('raw');
        if (m) m.raw += b.toString('latin1');
      },
      data: (b) => {
        const m = open('data');
        if (m) m.data += b.toString('latin1');
      },
      end: () => {
        const m = open('end');
        if (m) m.ended = true;
        return opts.end ? opts.end(ends++) : true;
      },
    },
    opts.maxHead, // undefined → the default
  );
  return { parser, msgs, stray };
}

function parseRequests(chunks: Buffer[], opts: { end?: (n: number) => boolean; maxHead?: number } = {}) {
  const r = requestRecorder(opts);
  for (const c of chunks) r.parser.push(c);
  return { msgs: r.msgs, stray: r.stray, parser: r.parser };
}

// A pipelined stream, in parts so the test knows where each head is on the wire.
const chunkedBody =
  '5;foo=bar' + CRLF + 'hello' + CRLF +
  '4;a;b="c d"' + CRLF + '\r\n\r\n' + CRLF + // chunk data that looks like line ends and a head end
  'A' + CRLF + '0123456789' + CRLF +
  '0;last=1' + CRLF + 'X-Checksum: abc' + CRLF + 'X-Other: d' + CRLF + CRLF;
const jsonBody = '{"a":"\r\n\r\nGET / HTTP/1.1"}';
const requestParts: { kind: 'blank' | 'head' | 'body'; text: string }[] = [
  { kind: 'blank', text: CRLF + CRLF },
  { kind: 'head', text: 'GET /a?x=1 HTTP/1.1' + CRLF + 'Host: 127.0.0.1:8080' + CRLF + 'X-Multi: one' + CRLF + 'x-multi: two' + CRLF + 'X-Pad:   padded value \t' + CRLF + CRLF },
  { kind: 'head', text: 'POST /b HTTP/1.1' + CRLF + 'Host: localhost' + CRLF + 'Content-Type: Application/JSON' + CRLF + `Content-Length: ${jsonBody.length}` + CRLF + CRLF },
  { kind: 'body', text: jsonBody },
  { kind: 'blank', text: CRLF },
  { kind: 'head', text: 'POST /c HTTP/1.0' + CRLF + 'Host: localhost' + CRLF + 'Transfer-Encoding: chunked' + CRLF + CRLF },
  { kind: 'body', text: chunkedBody },
  { kind: 'head', text: 'PUT /d HTTP/1.1' + CRLF + 'Content-Length: 0' + CRLF + CRLF },
  { kind: 'head', text: 'DELETE /e HTTP/1.0' + CRLF + CRLF },
];
const requestWire = bin(requestParts.map((p) => p.text).join(''));
const expectedRequests: ReqMsg[] = [
  {
    head: {
      method: 'GET', target: '/a?x=1', minor: 1,
      lines: ['GET /a?x=1 HTTP/1.1', 'Host: 127.0.0.1:8080', 'X-Multi: one', 'x-multi: two', 'X-Pad:   padded value \t'],
      fields: [['host', '127.0.0.1:8080'], ['x-multi', 'one'], ['x-multi', 'two'], ['x-pad', 'padded value']],
    },
    raw: '', data: '', ended: true,
  },
  {
    head: {
      method: 'POST', target: '/b', minor: 1,
      lines: ['POST /b HTTP/1.1', 'Host: localhost', 'Content-Type: Application/JSON', `Content-Length: ${jsonBody.length}`],
      fields: [['host', 'localhost'], ['content-type', 'Application/JSON'], ['content-length', String(jsonBody.length)]],
    },
    raw: jsonBody, data: jsonBody, ended: true,
  },
  {
    head: {
      method: 'POST', target: '/c', minor: 0,
      lines: ['POST /c HTTP/1.0', 'Host: localhost', 'Transfer-Encoding: chunked'],
      fields: [['host', 'localhost'], ['transfer-encoding', 'chunked']],
    },
    raw: chunkedBody, data: 'hello\r\n\r\n0123456789', ended: true,
  },
  {
    head: { method: 'PUT', target: '/d', minor: 1, lines: ['PUT /d HTTP/1.1', 'Content-Length: 0'], fields: [['content-length', '0']] },
    raw: '', data: '', ended: true,
  },
  { head: { method: 'DELETE', target: '/e', minor: 0, lines: ['DELETE /e HTTP/1.0'], fields: [] }, raw: '', data: '', ended: true },
];

test('request: pipelined stream parses to the expected heads, raw bodies, decoded bodies and ends', () => {
  const r = parseRequests([requestWire]);
  assert.deepEqual(r.stray, []);
  assert.deepEqual(r.msgs, expectedRequests);
  assert.equal(r.parser.inHead, false);
  assert.equal(r.parser.rest(), undefined);
});

test('request: the same events for a split at every byte offset, and byte by byte', () => {
  for (let k = 0; k <= requestWire.length; k++) {
    const r = parseRequests(pieces(requestWire, [k]));
    assert.deepEqual(r.stray, [], `split at ${k}`);
    assert.deepEqual(r.msgs, expectedRequests, `split at ${k}`);
  }
  const r = parseRequests(bytewise(requestWire));
  assert.deepEqual(r.stray, []);
  assert.deepEqual(r.msgs, expectedRequests);
});

test('request: the same events for random multi-way splits (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: requestWire.length }), { maxLength: 30, size: 'max' }), (cuts) => {
      const r = parseRequests(pieces(requestWire, cuts));
      assert.deepEqual(r.stray, []);
      assert.deepEqual(r.msgs, expectedRequests);
    }),
    { numRuns: 300 },
  );
});

test('request: inHead is true exactly while a head is partially received', () => {
  const p = requestRecorder().parser;
  assert.equal(p.inHead, false);
  for (const part of requestParts) {
    for (let j = 0; j < part.text.length; j++) {
      p.push(bin(part.text[j]!));
      // The last byte of a head completes it; blank lines and body bytes are never "in head".
      const want = part.kind === 'head' && j < part.text.length - 1;
      assert.equal(p.inHead, want, `${part.kind} ${JSON.stringify(part.text.slice(0, 20))} byte ${j}`);
    }
  }
});

// ---- request refusals -------------------------------------------------------------------------------------

const okGet = 'GET /ok HTTP/1.1' + CRLF + 'Host: localhost' + CRLF + CRLF;

function refusal(chunks: Buffer[], maxHead?: number) {
  const r = requestRecorder(maxHead !== undefined ? { maxHead } : {});
  let err: unknown;
  try {
    for (const c of chunks) r.parser.push(c);
  } catch (e) {
    err = e;
  }
  return { err, msgs: r.msgs };
}

/**
 * The request is refused with `status` and never reaches `head` — whole, byte by byte, split anywhere, and
 * after a good pipelined request (which itself is passed on complete).
 */
function assertRefused(wire: string, status: number, maxHead?: number) {
  const buf = bin(wire);
  const ways: [string, Buffer[]][] = [['whole', [buf]], ['bytewise', bytewise(buf)]];
  if (buf.length < 400) for (let k = 1; k < buf.length; k++) ways.push([`split at ${k}`, pieces(buf, [k])]);
  for (const [how, chunks] of ways) {
    const { err, msgs } = refusal(chunks, maxHead);
    assert.ok(err instanceof RequestError, `${JSON.stringify(wire.slice(0, 60))} ${how}: ${String(err)}`);
    assert.equal(err.status, status, `${JSON.stringify(wire.slice(0, 60))} ${how}: ${err.message}`);
    assert.equal(msgs.length, 0, `${JSON.stringify(wire.slice(0, 60))} ${how}: head passed on`);
  }
  const { err, msgs } = refusal([bin(okGet + wire)], maxHead);
  assert.ok(err instanceof RequestError && err.status === status);
  assert.deepEqual(msgs.map((m) => [m.head.target, m.ended]), [['/ok', true]]);
}

const req = (...lines: string[]): string => lines.join(CRLF) + CRLF + CRLF;

test('request refused: Content-Length together with Transfer-Encoding → 400', () => {
  assertRefused(req('POST / HTTP/1.1', 'Content-Length: 5', 'Transfer-Encoding: chunked') + '0\r\n\r\n', 400);
  assertRefused(req('POST / HTTP/1.1', 'Transfer-Encoding: chunked', 'content-length: 0'), 400);
});

test('request refused: transfer codings other than a single chunked → 501', () => {
  assertRefused(req('POST / HTTP/1.1', 'Transfer-Encoding: gzip, chunked'), 501);
  assertRefused(req('POST / HTTP/1.1', 'Transfer-Encoding: gzip'), 501);
  assertRefused(req('POST / HTTP/1.1', 'Transfer-Encoding: gzip', 'Transfer-Encoding: chunked'), 501);
  assertRefused(req('POST / HTTP/1.1', 'Transfer-Encoding: identity'), 501);
  assertRefused(req('POST / HTTP/1.1', 'Transfer-Encoding: chunked, gzip'), 501);
});

test('request: Transfer-Encoding chunked is matched case-insensitively', () => {
  const r = parseRequests([bin(req('POST / HTTP/1.1', 'Transfer-Encoding: Chunked') + '2\r\nhi\r\n0\r\n\r\n')]);
  assert.deepEqual(r.msgs.map((m) => [m.data, m.ended]), [['hi', true]]);
});

test('request refused: conflicting or malformed Content-Length → 400', () => {
  assertRefused(req('POST / HTTP/1.1', 'Content-Length: 5', 'Content-Length: 6'), 400);
  assertRefused(req('POST / HTTP/1.1', 'Content-Length: 5, 6'), 400);
  for (const v of ['abc', '-1', '+5', '0x10', '5 5', '', '1e3', '1234567890123456'])
    assertRefused(req('POST / HTTP/1.1', `Content-Length: ${v}`), 400);
});

test('request: repeated identical Content-Length values are one length', () => {
  for (const cl of [['Content-Length: 1,1'], ['Content-Length: 1, 1'], ['Content-Length: 1', 'Content-Length: 1']]) {
    const r = parseRequests([bin(req('POST /x HTTP/1.1', ...cl) + 'Z' + okGet)]);
    assert.deepEqual(r.stray, []);
    assert.deepEqual(r.msgs.map((m) => [m.head.target, m.raw, m.data, m.ended]), [['/x', 'Z', 'Z', true], ['/ok', '', '', true]], cl.join(' | '));
  }
});

test('request refused: obsolete line folding → 400', () => {
  assertRefused('GET / HTTP/1.1\r\nX-A: b\r\n c\r\n\r\n', 400);
  assertRefused('GET / HTTP/1.1\r\nX-A: b\r\n\tc\r\n\r\n', 400);
  assertRefused('GET / HTTP/1.1\r\n Host: localhost\r\n\r\n', 400);
});

test('request refused: bare LF line ends → 400', () => {
  assertRefused('GET / HTTP/1.1\nHost: x\n\n', 400);
  assertRefused('GET / HTTP/1.1\r\nHost: x\n\r\n', 400);
  assertRefused('GET / HTTP/1.1\r\nHost: x\r\n\n', 400);
  assertRefused('GET / HTTP/1.1\n\n', 400);
});

test('request refused: malformed request line or header line → 400', () => {
  for (const line of ['GARBAGE', 'GET /', 'GET / HTTP/2.0', 'GET / HTTP/1.2', 'GET  / HTTP/1.1', 'GET / HTTP/1.1 ', 'G(T / HTTP/1.1', 'GET / http/1.1', '\x16\x03\x01\x02\x00\x01'])
    assertRefused(req(line, 'Host: x'), 400);
  for (const header of ['Host : x', ': x', 'No colon here', 'X-A: b\0c', 'X A: b'])
    assertRefused(req('GET / HTTP/1.1', header), 400);
});

test('request refused: CONNECT → 405', () => {
  assertRefused(req('CONNECT example.com:443 HTTP/1.1', 'Host: example.com:443'), 405);
});

test('request refused: a head over 64 KiB → 431, arriving at once', () => {
  const prefix = 'GET / HTTP/1.1\r\nX-Big: ';
  const sized = (total: number): string => prefix + 'a'.repeat(total - prefix.length - 4) + CRLF + CRLF;
  assert.equal(sized(65536).length, 65536);
  // Exactly the limit passes; one byte more does not.
  const ok = parseRequests([bin(sized(65536))]);
  assert.equal(ok.msgs.length, 1);
  assert.equal(ok.msgs[0]!.head.fields[0]![1].length, 65536 - prefix.length - 4);
  const { err, msgs } = refusal([bin(sized(65537))]);
  assert.ok(err instanceof RequestError && err.status === 431);
  assert.equal(msgs.length, 0);
  // Blank lines before the request line are not part of the head.
  assert.equal(parseRequests([bin(CRLF.repeat(100) + sized(65536))]).msgs.length, 1);
});

test('request refused: a head over 64 KiB → 431, arriving slowly and never completing', () => {
  const p = requestRecorder().parser;
  let total = 0;
  const push = (s: string) => {
    p.push(bin(s));
    total += s.length;
  };
  push('GET / HTTP/1.1\r\nX-Slow: ');
  // Pieces end in CR or LF so a naive scan for the head end has something to chew on.
  const piece = 'b'.repeat(1021) + '\r\nc';
  while (total + piece.length <= 65536) {
    push(piece);
    assert.equal(p.inHead, true);
  }
  assert.equal(total + piece.length > 65536, true);
  assert.throws(() => push(piece), (e) => e instanceof RequestError && e.status === 431);
});

test('request: a custom maxHead limits the head both complete and incomplete', () => {
  const head = req('GET / HTTP/1.1', 'X: ' + 'y'.repeat(100 - 'GET / HTTP/1.1\r\nX: '.length - 4));
  assert.equal(head.length, 100);
  assert.equal(parseRequests([bin(head)], { maxHead: 100 }).msgs.length, 1);
  assertRefused(req('GET / HTTP/1.1', 'X: ' + 'y'.repeat(100 - 'GET / HTTP/1.1\r\nX: '.length - 3)), 431, 100);
  // Incomplete: 100 bytes are still allowed to wait, 101 are not.
  const p = requestRecorder({ maxHead: 100 }).parser;
  p.push(bin('G'.repeat(100)));
  assert.equal(p.inHead, true);
  assert.throws(() => p.push(bin('G')), (e) => e instanceof RequestError && e.status === 431);
  // Only the head in progress counts, not a request or blank lines before it in the same bytes.
  for (const before of [okGet, CRLF.repeat(50)]) {
    const q = requestRecorder({ maxHead: 100 });
    q.parser.push(bin(before + 'G'.repeat(100)));
    assert.equal(q.parser.inHead, true);
    assert.throws(() => q.parser.push(bin('G')), (e) => e instanceof RequestError && e.status === 431);
  }
  // The default would have let that through.
  assert.equal(parseRequests([bin(req('GET / HTTP/1.1', 'X: ' + 'y'.repeat(200)))]).msgs.length, 1);
});

/** Broken chunked framing throws — whole, byte by byte and split anywhere — after the head was passed on. */
function assertChunkedThrows(body: string, why: RegExp) {
  const buf = bin(req('POST /x HTTP/1.1', 'Transfer-Encoding: chunked') + body);
  const ways: Buffer[][] = [[buf], bytewise(buf)];
  if (buf.length < 6000) for (let k = 1; k < buf.length; k++) ways.push(pieces(buf, [k]));
  for (const chunks of ways) {
    const r = requestRecorder();
    assert.throws(() => {
      for (const c of chunks) r.parser.push(c);
    }, why, JSON.stringify(body));
    assert.deepEqual(r.msgs.map((m) => [m.head.target, m.ended]), [['/x', false]]);
  }
}

test('request: broken chunked framing throws', () => {
  assertChunkedThrows('zz\r\n', /chunk size missing/);
  assertChunkedThrows(';ext\r\n', /chunk size missing/);
  assertChunkedThrows('5\r\nhelloX\r\n0\r\n\r\n', /not followed by CRLF/);
  assertChunkedThrows('5\r\nhello\rX0\r\n\r\n', /not followed by CRLF/);
  assertChunkedThrows('5\r\nhello\n0\r\n\r\n', /not followed by CRLF/); // strict: no bare LF after data
  assertChunkedThrows('5\nhello\r\n0\r\n\r\n', /bare LF/);
  assertChunkedThrows('5\r\rhello', /CR without LF/);
  assertChunkedThrows('1000000000000\r\n', /too large/); // 13 hex digits
  assertChunkedThrows('0000000000001\r\n', /too large/); // digits count, not value
  assertChunkedThrows('5;' + 'e'.repeat(5000) + '\r\n', /extension too long/);
  assertChunkedThrows('0\r\nX-T: ' + 't'.repeat(17000) + '\r\n\r\n', /trailer too long/);
});

test('request: a 12-hex-digit chunk size is still accepted', () => {
  const r = parseRequests([bin(req('POST /x HTTP/1.1', 'Transfer-Encoding: chunked') + '00000000000a\r\n0123456789\r\n000000000000\r\n\r\n')]);
  assert.deepEqual(r.stray, []);
  assert.deepEqual(r.msgs.map((m) => [m.data, m.ended]), [['0123456789', true]]);
});

// ---- end() returning false ------------------------------------------------------------------------------

test('request: end() returning false stops parsing; later bytes come back once from rest()', () => {
  const first = req('POST /up HTTP/1.1', 'Content-Length: 3') + 'abc';
  const later = okGet + 'tunnel bytes \x00\xff';
  const wire = bin(first + later);
  for (let k = 0; k <= wire.length; k++) {
    const r = requestRecorder({ end: () => false });
    for (const c of pieces(wire, [k])) r.parser.push(c);
    assert.deepEqual(r.stray, []);
    assert.deepEqual(r.msgs.map((m) => [m.head.target, m.raw, m.data, m.ended]), [['/up', 'abc', 'abc', true]], `split at ${k}`);
    const rest = r.parser.rest();
    assert.equal(rest?.toString('latin1'), later, `split at ${k}`);
    assert.equal(r.parser.rest(), undefined);
    // Still stopped: more bytes are kept, not parsed.
    r.parser.push(bin(okGet));
    r.parser.push(bin('more'));
    assert.equal(r.msgs.length, 1);
    assert.equal(r.parser.rest()?.toString('latin1'), okGet + 'more');
    assert.equal(r.parser.rest(), undefined);
  }
});

test('request: end() returning false on a bodyless request stops right after its head', () => {
  let ends = 0;
  const r = requestRecorder({ end: (n) => (ends++, n !== 1) });
  r.parser.push(bin(okGet + okGet.replace('/ok', '/second') + okGet.replace('/ok', '/third')));
  assert.deepEqual(r.msgs.map((m) => m.head.target), ['/ok', '/second']);
  assert.equal(ends, 2);
  assert.equal(r.parser.rest()?.toString('latin1'), okGet.replace('/ok', '/third'));
  assert.equal(r.parser.rest(), undefined);
});

test('request: rest() is undefined when parsing stopped at the end of the bytes', () => {
  const r = requestRecorder({ end: () => false });
  r.parser.push(bin(okGet));
  assert.equal(r.parser.rest(), undefined);
  r.parser.push(bin('x'));
  assert.equal(r.parser.rest()?.toString('latin1'), 'x');
});

test('request: inHead is false once parsing stopped, even with bytes kept', () => {
  const r = requestRecorder({ end: () => false });
  r.parser.push(bin(okGet + 'GET /next HTTP/1.1\r\n\r\n'));
  assert.equal(r.parser.inHead, false);
});

// ---- response side --------------------------------------------------------------------------------------

type ResEvent = ['interim', number] | ['head', number, [string, string][]] | ['data', string] | ['end'] | ['lost', string];

/** A ResponseParser recording its events; consecutive data events are merged (their split is not meaningful). */
function responseRecorder(bodyless: boolean[] | (() => boolean) = () => false, maxHead?: number) {
  const events: ResEvent[] = [];
  const queue = Array.isArray(bodyless) ? [...bodyless] : undefined;
  let asked = 0;
  const parser = new ResponseParser(
    {
      interim: (s) => events.push(['interim', s]),
      head: (h: ResponseHead) => events.push(['head', h.status, h.fields]),
      data: (b) => {
        const last = events[events.length - 1];
        if (last?.[0] === 'data') last[1] += b.toString('latin1');
        else events.push(['data', b.toString('latin1')]);
      },
      end: () => events.push(['end']),
      lost: (why) => events.push(['lost', why]),
    },
    () => {
      asked++;
      if (!queue) return (bodyless as () => boolean)();
      assert.ok(queue.length > 0, 'bodyless() asked more often than there are responses');
      return queue.shift()!;
    },
    maxHead,
  );
  return { parser, events, asked: () => asked, left: () => queue?.length ?? 0 };
}

function parseResponses(chunks: Buffer[], bodyless: boolean[] | (() => boolean) = () => false, maxHead?: number) {
  const r = responseRecorder(bodyless, maxHead);
  for (const c of chunks) r.parser.push(c);
  return r;
}

const responseWire = bin(
  'HTTP/1.1 100 Continue' + CRLF + CRLF +
  'HTTP/1.1 103 Early Hints' + CRLF + 'Link: </s.css>; rel=preload' + CRLF + CRLF +
  'HTTP/1.1 200 OK' + CRLF + 'Content-Type: text/event-stream' + CRLF + 'Transfer-Encoding: chunked' + CRLF + CRLF +
  '6;ext=1' + CRLF + 'data: ' + CRLF + 'c' + CRLF + '{"a":1}\n\r\n\r\n' + CRLF + '0' + CRLF + 'X-Trailer: yes' + CRLF + CRLF +
  'HTTP/1.1 200 OK' + CRLF + 'Content-Length: 5' + CRLF + CRLF + 'hello' +
  'HTTP/1.1 204 No Content' + CRLF + 'X-A: 1' + CRLF + CRLF +
  'HTTP/1.1 304 Not Modified' + CRLF + 'Content-Length: 42' + CRLF + 'ETag: "x"' + CRLF + CRLF +
  'HTTP/1.1 200 OK' + CRLF + 'Content-Length: 1234' + CRLF + 'Content-Type: text/plain' + CRLF + CRLF + // answers a HEAD
  'HTTP/1.0 200 OK' + CRLF + 'Content-Length: 3' + CRLF + CRLF + 'abc',
);
// One bodyless() answer per final response: only the sixth answers a HEAD request.
const responseBodyless = [false, false, false, false, true, false];
const expectedResponses: ResEvent[] = [
  ['interim', 100],
  ['interim', 103],
  ['head', 200, [['content-type', 'text/event-stream'], ['transfer-encoding', 'chunked']]],
  ['data', 'data: {"a":1}\n\r\n\r\n'],
  ['end'],
  ['head', 200, [['content-length', '5']]],
  ['data', 'hello'],
  ['end'],
  ['head', 204, [['x-a', '1']]],
  ['end'],
  ['head', 304, [['content-length', '42'], ['etag', '"x"']]],
  ['end'],
  ['head', 200, [['content-length', '1234'], ['content-type', 'text/plain']]],
  ['end'],
  ['head', 200, [['content-length', '3']]],
  ['data', 'abc'],
  ['end'],
];

test('response: interim, chunked, length, 204, 304 and HEAD responses in one stream', () => {
  const r = parseResponses([responseWire], responseBodyless);
  assert.deepEqual(r.events, expectedResponses);
  assert.equal(r.left(), 0);
});

test('response: the same events for a split at every byte offset, byte by byte, and random splits', () => {
  for (let k = 0; k <= responseWire.length; k++) {
    const r = parseResponses(pieces(responseWire, [k]), responseBodyless);
    assert.deepEqual(r.events, expectedResponses, `split at ${k}`);
    assert.equal(r.left(), 0, `split at ${k}`);
  }
  assert.deepEqual(parseResponses(bytewise(responseWire), responseBodyless).events, expectedResponses);
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: responseWire.length }), { maxLength: 30, size: 'max' }), (cuts) => {
      assert.deepEqual(parseResponses(pieces(responseWire, cuts), responseBodyless).events, expectedResponses);
    }),
    { numRuns: 300 },
  );
});

test('response: a 204 without any length has no body; without bodyless() a 200 with a length has one', () => {
  const r = parseResponses([bin('HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')], [false, false]);
  assert.deepEqual(r.events, [['head', 204, []], ['end'], ['head', 200, [['content-length', '2']]], ['data', 'ok'], ['end']]);
  // bodyless() is asked for final responses only, once each.
  const s = parseResponses([bin('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')], [false]);
  assert.equal(s.asked(), 1);
});

const lenientWire = bin(
  'HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nX-Stray line without colon\n : folded\n\n' +
  '5\nhello\n' + '3;x\r\nabc\n' + '2\r\n\n\n\r\n' + '0\nX-T: 1\n\n' +
  'HTTP/1.1 200 OK\r\nContent-Length: 2\n\r\nok' +
  'HTTP/1.0 201 Created\nContent-Length: 1\r\n\nZ',
);
const lenientExpected: ResEvent[] = [
  ['head', 200, [['transfer-encoding', 'chunked']]],
  ['data', 'helloabc\n\n'],
  ['end'],
  ['head', 200, [['content-length', '2']]],
  ['data', 'ok'],
  ['end'],
  ['head', 201, [['content-length', '1']]],
  ['data', 'Z'],
  ['end'],
];

test('response: bare LF in the head and chunk lines is accepted, stray header lines are skipped, at every split', () => {
  for (let k = 0; k <= lenientWire.length; k++)
    assert.deepEqual(parseResponses(pieces(lenientWire, [k])).events, lenientExpected, `split at ${k}`);
  assert.deepEqual(parseResponses(bytewise(lenientWire)).events, lenientExpected);
});

test('response: a close-delimited body flows until eof()', () => {
  for (const te of [[], ['Transfer-Encoding: gzip']]) {
    const r = responseRecorder();
    r.parser.push(bin(['HTTP/1.0 200 OK', 'Content-Type: text/plain', ...te].join(CRLF) + CRLF + CRLF + 'some '));
    // What looks like another response is body too.
    r.parser.push(bin('bytes HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    assert.deepEqual(r.events.slice(1), [['data', 'some bytes HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n']]);
    r.parser.eof();
    assert.deepEqual(r.events.slice(1), [['data', 'some bytes HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'], ['end']]);
    r.parser.eof();
    assert.equal(r.events.filter((e) => e[0] === 'end').length, 1);
  }
});

test('response: a non-final transfer coding is close-delimited, chunked last is chunked', () => {
  const r = parseResponses([bin('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n')]);
  assert.deepEqual(r.events.slice(1), [['data', 'xy'], ['end']]);
});

test('response: eof() ends nothing but a close-delimited body', () => {
  const r = responseRecorder();
  r.parser.push(bin('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
  r.parser.eof();
  assert.deepEqual(r.events, [['head', 200, [['content-length', '10']]], ['data', 'abc']]);
  const s = responseRecorder();
  s.parser.push(bin('HTTP/1.1 200 OK\r\nTransfer-'));
  s.parser.eof();
  assert.deepEqual(s.events, []);
});

test('response: the head event comes exactly when the last byte of the head arrives', () => {
  const wire = bin('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  const headLen = wire.length - 2;
  const r = responseRecorder();
  for (let i = 0; i < wire.length; i++) {
    r.parser.push(wire.subarray(i, i + 1));
    assert.equal(r.events.some((e) => e[0] === 'head'), i >= headLen - 1, `byte ${i}`);
  }
  assert.deepEqual(r.events.slice(1), [['data', 'ok'], ['end']]);
});

test('response: 101 Switching Protocols stops parsing; the tunnel bytes are ignored', () => {
  const wire = bin('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello\r\n\r\nNOT HTTP\r\n\r\n');
  for (let k = 0; k <= wire.length; k++) {
    const r = parseResponses(pieces(wire, [k]));
    assert.deepEqual(r.events, [['interim', 101]], `split at ${k}`);
    r.parser.push(bin('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    r.parser.eof();
    assert.deepEqual(r.events, [['interim', 101]]);
    assert.equal(r.asked(), 0);
  }
});

/** Garbage makes the parser lost exactly once, at every split, and nothing is reported after it. */
function assertLost(wire: Buffer, before: ResEvent[], why: RegExp, maxHead?: number) {
  const ways: [string, Buffer[]][] = [['whole', [wire]], ['bytewise', bytewise(wire)]];
  if (wire.length < 2000) for (let k = 1; k < wire.length; k++) ways.push([`split at ${k}`, pieces(wire, [k])]);
  for (const [how, chunks] of ways) {
    const r = responseRecorder(() => false, maxHead);
    for (const c of chunks) r.parser.push(c);
    assert.deepEqual(r.events.slice(0, -1), before, how);
    const last = r.events[r.events.length - 1];
    assert.equal(last?.[0], 'lost', how);
    assert.match((last as ['lost', string])[1], why, how);
    const n = r.events.length;
    r.parser.push(bin('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx'));
    r.parser.eof();
    assert.equal(r.events.length, n, `${how}: events after lost`);
  }
}

test('response: garbage makes the parser lost once, never a throw', () => {
  assertLost(bin('NOT HTTP\r\n\r\n'), [], /malformed status line/);
  assertLost(bin('HTTP/1.1 abc OK\r\n\r\n'), [], /malformed status line/);
  assertLost(bin('HTTP/2 200\r\n\r\n'), [], /malformed status line/);
  assertLost(bin('HTTP/1.1 2000 OK\r\n\r\n'), [], /malformed status line/);
  assertLost(bin('HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n'), [], /invalid Content-Length/);
  // Content-Length is checked before the head is reported.
  assertLost(bin('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'),
    [['head', 200, [['content-length', '2']]], ['data', 'ok'], ['end']], /invalid Content-Length/);
  const chunkedHead: ResEvent = ['head', 200, [['transfer-encoding', 'chunked']]];
  assertLost(bin('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'), [chunkedHead], /chunk size missing/);
  assertLost(bin('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX'), [chunkedHead, ['data', 'abc']], /not followed by CRLF/);
  assertLost(bin('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000\r\n'), [chunkedHead], /too large/);
  // A partial head over maxHead.
  assertLost(bin('HTTP/1.1 200 OK\r\nX: ' + 'a'.repeat(200)), [], /head too large/, 100);
});

test('response: a head over maxHead is lost whether it arrives at once or in pieces', () => {
  const wire = bin('HTTP/1.1 200 OK\r\nX: ' + 'a'.repeat(200) + '\r\nContent-Length: 0\r\n\r\n');
  const whole = parseResponses([wire], () => false, 100).events;
  const split = parseResponses(pieces(wire, [120]), () => false, 100).events;
  assert.deepEqual(whole, split);
});

test('response: random bytes never throw; at most one lost and nothing else (property)', () => {
  fc.assert(
    fc.property(
      // Not starting with 'H' so they can never form a status line.
      fc.uint8Array({ minLength: 1, maxLength: 300, size: 'max' }).filter((a) => a[0] !== 0x48),
      fc.boolean(),
      fc.array(fc.integer({ min: 0, max: 310 }), { maxLength: 8, size: 'max' }),
      (bytes, endHead, cuts) => {
        const wire = Buffer.concat([Buffer.from(bytes), endHead ? bin('\n\n') : Buffer.alloc(0)]);
        const r = responseRecorder();
        for (const c of pieces(wire, cuts)) r.parser.push(c);
        r.parser.eof();
        const hasEnd = wire.includes(bin('\n\n')) || wire.includes(bin('\n\r\n'));
        assert.deepEqual(r.events.map((e) => e[0]), hasEnd ? ['lost'] : []);
      },
    ),
    { numRuns: 300 },
  );
});

test('response: stop() silences the parser', () => {
  const r = responseRecorder();
  r.parser.push(bin('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
  r.parser.stop();
  r.parser.push(bin('defghijHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nNOT HTTP\r\n\r\n'));
  r.parser.eof();
  assert.deepEqual(r.events, [['head', 200, [['content-length', '10']]], ['data', 'abc']]);
  const s = responseRecorder();
  s.parser.push(bin('HTTP/1.1 200 OK\r\n\r\nclose-delimited'));
  s.parser.stop();
  s.parser.eof();
  assert.deepEqual(s.events.map((e) => e[0]), ['head', 'data']);
});

// ---- chunked decoding property ------------------------------------------------------------------------------

// size: 'max' — fast-check's default size keeps arrays at about ten elements.
const payloadArb = fc.oneof(
  fc.uint8Array({ maxLength: 5000, size: 'max' }).map((a) => Buffer.from(a)),
  fc.string({ unit: 'grapheme', maxLength: 1500, size: 'max' }).map((s) => Buffer.from(s, 'utf8').subarray(0, 5000)),
  fc.array(fc.constantFrom('\r', '\n', '\r\n', '\r\n\r\n', 'é', '🙂', '日本', 'a', '0\r\n\r\n', ';', 'HTTP/1.1 200 OK'), { maxLength: 1200, size: 'max' })
    .map((a) => Buffer.from(a.join(''), 'utf8').subarray(0, 5000)),
);

const chunkedArb = fc.record({
  payload: payloadArb,
  sizes: fc.array(fc.integer({ min: 1, max: 800 }), { minLength: 1, maxLength: 30, size: 'max' }),
  exts: fc.array(fc.constantFrom('', ';a', ';foo=bar', ';q="x y"', ';n=1;m=2', ' ;sp'), { minLength: 1, maxLength: 5 }),
  upper: fc.boolean(),
  zeros: fc.integer({ min: 0, max: 4 }),
  trailers: fc.array(fc.constantFrom('X-Sum: 1', 'X-Empty:', 'Server-Timing: a;dur=1'), { maxLength: 3 }),
  cuts: fc.array(fc.nat(), { maxLength: 12, size: 'max' }),
});

function encodeChunked(c: { payload: Buffer; sizes: number[]; exts: string[]; upper: boolean; zeros: number; trailers: string[] }): Buffer {
  const parts: Buffer[] = [];
  const line = (n: number, k: number) => {
    const hex = '0'.repeat(c.zeros) + n.toString(16);
    return bin((c.upper ? hex.toUpperCase() : hex) + c.exts[k % c.exts.length] + CRLF);
  };
  let k = 0;
  for (let at = 0; at < c.payload.length; k++) {
    const n = Math.min(c.sizes[k % c.sizes.length]!, c.payload.length - at);
    parts.push(line(n, k), c.payload.subarray(at, at + n), bin(CRLF));
    at += n;
  }
  parts.push(line(0, k), ...c.trailers.map((t) => bin(t + CRLF)), bin(CRLF));
  return Buffer.concat(parts);
}

test('chunked property: decoded data equals the payload exactly, one end, for responses and requests', () => {
  fc.assert(
    fc.property(chunkedArb, (c) => {
      const body = encodeChunked(c);
      const tail = 'HTTP/1.1 204 No Content\r\n\r\n';
      const resWire = Buffer.concat([bin('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'), body, bin(tail)]);
      const cutsFor = (w: Buffer) => c.cuts.map((x) => x % (w.length + 1));

      const chunks: Buffer[] = [];
      const ends: number[] = [];
      // Byte-exact record of the decoded data (copied: the parser hands out views of the pushed buffers).
      const p = new ResponseParser({ interim: () => {}, head: () => {}, data: (b) => chunks.push(Buffer.from(b)), end: () => ends.push(chunks.length), lost: (why) => assert.fail(why) }, () => false);
      for (const piece of pieces(resWire, cutsFor(resWire))) p.push(piece);
      assert.ok(Buffer.concat(chunks).equals(c.payload));
      assert.equal(ends.length, 2); // the chunked one and the 204 after it
      assert.equal(ends[0], chunks.length);

      const reqWire = Buffer.concat([bin('POST /g HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n'), body, bin(okGet)]);
      const q = requestRecorder();
      for (const piece of pieces(reqWire, cutsFor(reqWire))) q.parser.push(piece);
      assert.deepEqual(q.stray, []);
      assert.equal(q.msgs.length, 2);
      assert.equal(q.msgs[0]!.raw, body.toString('latin1'));
      assert.ok(bin(q.msgs[0]!.data).equals(c.payload));
      assert.equal(q.msgs[0]!.ended, true);
      assert.deepEqual([q.msgs[1]!.head.target, q.msgs[1]!.ended], ['/ok', true]);
    }),
    { numRuns: 200 },
  );
});

// ---- field -----------------------------------------------------------------------------------------------

test('field: first value of a lower-cased name, undefined when absent', () => {
  const h = { fields: [['x-multi', 'one'], ['content-type', 'text/plain'], ['x-multi', 'two']] as [string, string][] };
  assert.equal(field(h, 'x-multi'), 'one');
  assert.equal(field(h, 'content-type'), 'text/plain');
  assert.equal(field(h, 'Content-Type'), undefined);
  assert.equal(field(h, 'missing'), undefined);
  // Parsed heads store names lower-cased, so lookups by lower-case name find mixed-case headers.
  const r = parseRequests([bin(req('GET / HTTP/1.1', 'HoSt: localhost:1'))]);
  assert.equal(field(r.msgs[0]!.head, 'host'), 'localhost:1');
});
