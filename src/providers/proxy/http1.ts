// Incremental HTTP/1.1 message framing for the metering proxy (RFC 9112). The proxy relays bytes untouched;
// these parsers only follow along to find where each message starts and ends, to read a few header fields
// and to hand decoded body bytes to the meter. Requests are parsed strictly (ambiguous framing is refused, so
// the proxy and the engine can never disagree on where a request ends); responses leniently (an engine's
// quirks must not break the relay — at worst metering stops for that connection).

export interface Head {
  /** Lower-cased field names with their values, in order; repeated fields stay repeated. */
  fields: [string, string][];
}

export interface RequestHead extends Head {
  method: string;
  target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: number;
  /** The raw head lines (request line first), without line endings, for re-serialising. */
  lines: string[];
}

export interface ResponseHead extends Head {
  status: number;
}

export function field(h: Head, name: string): string | undefined {
  for (const [k, v] of h.fields) if (k === name) return v;
  return undefined;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) ([^\s]+) HTTP\/1\.([01])$/;
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/;

/** Why a request was refused, as the status the proxy answers with. */
export class RequestError extends Error {
  constructor(
    readonly status: 400 | 403 | 405 | 431 | 501,
    message: string,
  ) {
    super(message);
  }
}

/** Body framing, decoding chunked transfer coding on the side. Payload slices are views, never copies. */
class BodyFramer {
  private state: 'size' | 'ext' | 'data' | 'data-cr' | 'data-lf' | 'trailer' | 'done' = 'size';
  private remaining = 0;
  private sizeDigits = 0;
  private lineLen = 0;
  private lastWasCr = false;
  private trailerLineEmpty = true;

  constructor(
    /** 'length': `remaining` bytes; 'chunked'; 'close': until the connection ends. */
    readonly kind: 'length' | 'chunked' | 'close',
    length: number,
    private readonly strict: boolean,
  ) {
    if (kind === 'length') {
      this.remaining = length;
      if (length === 0) this.state = 'done';
    }
  }

  get done(): boolean {
    return this.state === 'done';
  }

  /**
   * Consumes body bytes from `buf[from..]`, calling `onData` with payload slices. Returns the offset where the
   * body ended (the next message starts there) or `buf.length` when it wants more. Throws on broken framing.
   */
  push(buf: Buffer, from: number, onData: (b: Buffer) => void): number {
    let i = from;
    if (this.kind === 'close') {
      if (i < buf.length) onData(buf.subarray(i));
      return buf.length;
    }
    if (this.kind === 'length') {
      const n = Math.min(this.remaining, buf.length - i);
      if (n > 0) onData(buf.subarray(i, i + n));
      this.remaining -= n;
      if (this.remaining === 0) this.state = 'done';
      return i + n;
    }
    while (i < buf.length && this.state !== 'done') {
      switch (this.state) {
        case 'data': {
          const n = Math.min(this.remaining, buf.length - i);
          onData(buf.subarray(i, i + n));
          this.remaining -= n;
          i += n;
          if (this.remaining === 0) this.state = 'data-cr';
          break;
        }
        case 'size': {
          const c = buf[i]!;
          const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
          if (d >= 0) {
            if (++this.sizeDigits > 12) throw new Error('chunk size too large');
            this.remaining = this.remaining * 16 + d;
            i++;
          } else if (this.sizeDigits === 0) {
            throw new Error('chunk size missing');
          } else {
            this.state = 'ext';
          }
          break;
        }
        case 'ext': {
          // Chunk extensions (`;name=value`) and the line end; a bare LF only where lenient.
          const c = buf[i++]!;
          if (++this.lineLen > 4096) throw new Error('chunk extension too long');
          if (c === 10) {
            if (this.strict && !this.lastWasCr) throw new Error('bare LF in chunk size line');
            this.lineLen = 0;
            this.lastWasCr = false;
            this.sizeDigits = 0;
            if (this.remaining === 0) this.state = 'trailer';
            else this.state = 'data';
          } else {
            if (this.lastWasCr) throw new Error('CR without LF in chunk size line');
            this.lastWasCr = c === 13;
          }
          break;
        }
        case 'data-cr': {
          const c = buf[i++]!;
          if (c === 13) this.state = 'data-lf';
          else if (c === 10 && !this.strict) this.state = 'size';
          else throw new Error('chunk data not followed by CRLF');
          break;
        }
        case 'data-lf': {
          if (buf[i++] !== 10) throw new Error('chunk data not followed by CRLF');
          this.state = 'size';
          break;
        }
        case 'trailer': {
          // Trailer fields, then an empty line. Read and dropped (the relay already forwarded them).
          const c = buf[i++]!;
          if (c === 10) {
            if (this.trailerLineEmpty) this.state = 'done';
            this.trailerLineEmpty = true;
            this.lineLen = 0;
          } else if (c !== 13) {
            this.trailerLineEmpty = false;
            if (++this.lineLen > 16384) throw new Error('trailer too long');
          }
          break;
        }
      }
    }
    return i;
  }
}

/** Finds the end of a head (the empty line). Returns the offset after it, or -1 when it isn't complete yet. */
function headEnd(buf: Buffer, from: number): number {
  let i = buf.indexOf(10, from);
  while (i !== -1) {
    // "\n\n" or "\n\r\n" ends the head.
    if (buf[i + 1] === 10) return i + 2;
    if (buf[i + 1] === 13 && buf[i + 2] === 10) return i + 3;
    if (i + 2 >= buf.length) return -1;
    i = buf.indexOf(10, i + 1);
  }
  return -1;
}

function splitLines(text: string, strict: boolean): string[] {
  const parts = text.split('\n');
  parts.pop(); // after the final LF
  const out: string[] = [];
  for (let p of parts) {
    if (p.endsWith('\r')) p = p.slice(0, -1);
    else if (strict) throw new RequestError(400, 'header lines must end with CRLF');
    out.push(p);
  }
  if (out[out.length - 1] === '') out.pop();
  return out;
}

function parseFields(lines: string[], strict: boolean): [string, string][] {
  const fields: [string, string][] = [];
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!TOKEN.test(name) || /[\r\n\0]/.test(line)) {
      if (strict) throw new RequestError(400, `malformed header line${line.startsWith(' ') || line.startsWith('\t') ? ' (obsolete line folding)' : ''}`);
      continue;
    }
    fields.push([name.toLowerCase(), line.slice(colon + 1).trim()]);
  }
  return fields;
}

export interface RequestEvents {
  /** A complete head. The caller forwards its own serialisation of it. */
  head(h: RequestHead): void;
  /** Raw body bytes exactly as received (chunk framing included), to forward. */
  raw(b: Buffer): void;
  /** Decoded body bytes, for inspection. */
  data(b: Buffer): void;
  /** The message ended. Returning false stops parsing: later bytes stay with the caller (see `rest`). */
  end(): boolean;
}

/**
 * Client → engine. Refuses what could let two parsers disagree on message boundaries: Content-Length together
 * with Transfer-Encoding, conflicting Content-Lengths, codings other than chunked, obsolete line folding,
 * bare LF line ends. Heads over `maxHead` bytes get 431.
 */
export class RequestParser {
  private pending: Buffer | undefined;
  private body: BodyFramer | undefined;
  private stopped = false;

  constructor(
    private readonly ev: RequestEvents,
    private readonly maxHead = 64 * 1024,
  ) {}

  /** True while a head has started arriving but is not complete (for the head timeout). */
  get inHead(): boolean {
    return !this.stopped && !this.body && this.pending !== undefined && this.pending.length > 0;
  }

  /** Parses again after `end()` returned false; returns the bytes held meanwhile, for the caller to push. */
  resume(): Buffer | undefined {
    this.stopped = false;
    return this.rest();
  }

  /** Bytes received after parsing stopped, handed back once. */
  rest(): Buffer | undefined {
    const r = this.pending;
    this.pending = undefined;
    return r;
  }

  /** Throws RequestError when the request is refused; nothing of that request has been passed on then. */
  push(chunk: Buffer): void {
    const buf = this.pending && this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let i = 0;
    while (i < buf.length) {
      if (this.stopped) {
        this.pending = buf.subarray(i);
        return;
      }
      if (this.body) {
        const end = this.body.push(buf, i, (d) => this.ev.data(d));
        if (end > i) this.ev.raw(buf.subarray(i, end));
        i = end;
        if (this.body.done) {
          this.body = undefined;
          if (!this.ev.end()) this.stopped = true;
        }
        continue;
      }
      // Tolerate empty lines before a request line (RFC 9112 §2.2).
      while (i < buf.length && (buf[i] === 13 || buf[i] === 10)) i++;
      if (i >= buf.length) return;
      const end = headEnd(buf, i);
      if (end === -1) {
        if (buf.length - i > this.maxHead) throw new RequestError(431, 'request head too large');
        this.pending = Buffer.from(buf.subarray(i));
        return;
      }
      if (end - i > this.maxHead) throw new RequestError(431, 'request head too large');
      const head = this.parseHead(buf.toString('latin1', i, end));
      i = end;
      const framing = requestFraming(head);
      this.ev.head(head);
      if (framing === 'chunked') this.body = new BodyFramer('chunked', 0, true);
      else if (framing > 0) this.body = new BodyFramer('length', framing, true);
      else if (!this.ev.end()) this.stopped = true;
    }
  }

  private parseHead(text: string): RequestHead {
    const lines = splitLines(text, true);
    const m = REQUEST_LINE.exec(lines[0] ?? '');
    if (!m) throw new RequestError(400, 'malformed request line');
    const method = m[1]!;
    if (method === 'CONNECT') throw new RequestError(405, 'CONNECT is not supported: this is a reverse proxy for one engine');
    return { method, target: m[2]!, minor: Number(m[3]), lines, fields: parseFields(lines.slice(1), true) };
  }
}

/** Body length of a request, or 'chunked'. Throws RequestError on ambiguous framing. */
function requestFraming(h: RequestHead): number | 'chunked' {
  const te = h.fields.filter(([k]) => k === 'transfer-encoding').map(([, v]) => v);
  const cl = h.fields.filter(([k]) => k === 'content-length').map(([, v]) => v);
  if (te.length > 0) {
    if (cl.length > 0) throw new RequestError(400, 'both Content-Length and Transfer-Encoding');
    const codings = te.join(',').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
    if (codings.length !== 1 || codings[0] !== 'chunked') throw new RequestError(501, `unsupported Transfer-Encoding '${te.join(', ')}'`);
    return 'chunked';
  }
  if (cl.length === 0) return 0;
  const values = new Set(cl.join(',').split(',').map((s) => s.trim()));
  const [v] = values;
  if (values.size !== 1 || !/^\d{1,15}$/.test(v!)) throw new RequestError(400, 'invalid Content-Length');
  return Number(v);
}

export interface ResponseEvents {
  /** An interim (1xx) response; 101 means the connection is now a tunnel. */
  interim(status: number): void;
  head(h: ResponseHead): void;
  data(b: Buffer): void;
  end(): void;
  /** The bytes stopped making sense as HTTP; parsing stops for good (the relay goes on). */
  lost(why: string): void;
}

/**
 * Engine → client. `bodyless()` tells, when a head arrives, whether it answers a HEAD request (no body).
 * Lenient: bare LF line ends, stray header lines; a framing error only makes it `lost`.
 */
export class ResponseParser {
  private pending: Buffer | undefined;
  private body: BodyFramer | undefined;
  private dead = false;

  constructor(
    private readonly ev: ResponseEvents,
    private readonly bodyless: () => boolean,
    private readonly maxHead = 256 * 1024,
  ) {}

  /** Stop parsing (the connection became a tunnel, or metering gave up). */
  stop(): void {
    this.dead = true;
    this.pending = undefined;
    this.body = undefined;
  }

  /** The connection ended: a close-delimited body is complete now. */
  eof(): void {
    if (!this.dead && this.body?.kind === 'close') {
      this.body = undefined;
      this.ev.end();
    }
  }

  push(chunk: Buffer): void {
    if (this.dead) return;
    const buf = this.pending && this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let i = 0;
    try {
      while (i < buf.length && !this.dead) {
        if (this.body) {
          i = this.body.push(buf, i, (d) => this.ev.data(d));
          if (this.body.done) {
            this.body = undefined;
            this.ev.end();
          }
          continue;
        }
        const end = headEnd(buf, i);
        if (end === -1) {
          if (buf.length - i > this.maxHead) throw new Error('response head too large');
          this.pending = Buffer.from(buf.subarray(i));
          return;
        }
        if (end - i > this.maxHead) throw new Error('response head too large');
        const lines = splitLines(buf.toString('latin1', i, end), false);
        i = end;
        const m = STATUS_LINE.exec(lines[0] ?? '');
        if (!m) throw new Error('malformed status line');
        const status = Number(m[1]);
        if (status < 200) {
          this.ev.interim(status);
          if (status === 101) this.stop();
          continue;
        }
        const h: ResponseHead = { status, fields: parseFields(lines.slice(1), false) };
        const framing = this.bodyless() || status === 204 || status === 304 ? 0 : responseFraming(h);
        this.ev.head(h);
        if (framing === 'chunked') this.body = new BodyFramer('chunked', 0, false);
        else if (framing === 'close') this.body = new BodyFramer('close', 0, false);
        else if (framing > 0) this.body = new BodyFramer('length', framing, false);
        else this.ev.end();
      }
    } catch (err) {
      this.stop();
      this.ev.lost((err as Error).message);
    }
  }
}

function responseFraming(h: ResponseHead): number | 'chunked' | 'close' {
  const te = h.fields.filter(([k]) => k === 'transfer-encoding').map(([, v]) => v);
  if (te.length > 0) {
    const codings = te.join(',').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
    return codings[codings.length - 1] === 'chunked' ? 'chunked' : 'close';
  }
  const cl = h.fields.find(([k]) => k === 'content-length')?.[1];
  if (cl === undefined) return 'close';
  const first = cl.split(',')[0]!.trim();
  if (!/^\d{1,15}$/.test(first)) throw new Error('invalid Content-Length');
  return Number(first);
}
