// One client connection of the metering proxy, relayed to its own engine connection (1:1, like a TCP relay).
// Response bytes go to the client exactly as the engine sent them — status line, headers and chunk framing
// included — before anything looks at them; a side parser then follows the framing and feeds the meter. On the
// way in, each request head is parsed and checked (loopback Host, unambiguous framing) and re-sent with the
// engine's Host and base path; request bodies are relayed raw. Because the engine's own connection semantics
// (keep-alive, close, errors) reach the client unchanged, the proxy needs no connection pool of its own.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { ResponseMeter } from '../stream/meter';
import { inspectRequest, type RequestMeta } from '../stream/request';
import { isGuardedPath, type GuardDecision, type GuardEvent, type GuardInfo, type TruncationGuard } from './guard';
import { field, RequestError, RequestParser, ResponseParser, type RequestHead, type ResponseHead } from './http1';
import { isLoopbackHost } from './loopback';
import { buildRecord, isGenerationPath, type MeterRecord } from './record';

export interface RelayContext {
  /** Engine origin, e.g. `http://127.0.0.1:11434`, for records and error messages. */
  origin: string;
  /** `host[:port]` sent as the Host header upstream. */
  hostHeader: string;
  /** Path prefix of the target URL, without a trailing slash. */
  basePath: string;
  connect(): Socket;
  emit(r: MeterRecord): void;
  now(): number;
  captureCap: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  idleTimeoutMs: number;
  headTimeoutMs: number;
  /** The truncation guard, when on: generation requests are held (head + body, up to `captureCap`) until it decides. */
  guard?: { guard: TruncationGuard; onEvent(e: GuardEvent): void };
}

type ErrorKind = NonNullable<MeterRecord['error']>['kind'];

/** One request/response pair on the connection. */
interface Exchange {
  method: string;
  endpoint: string;
  metered: boolean;
  upgrade: boolean;
  startedAt: number;
  captured: Buffer[];
  reqBytes: number;
  /** The whole request went upstream (the engine's turn). */
  sent: boolean;
  sentAt: number;
  status: number;
  /** Response bytes reached the client for this exchange. */
  answered: boolean;
  meter?: ResponseMeter;
  /** Held back until the truncation guard decides: its head and body wait in `held`, not yet sent. */
  guarded: boolean;
  /** The request as the guard parsed it (saves parsing it again for the record). */
  meta?: RequestMeta;
  guard?: GuardInfo;
}

const ABSOLUTE = /^https?:\/\/[^/?#]*([^#]*)/i;

export class Relay {
  private upstream: Socket | undefined;
  private connected = false;
  /** The engine finished at least one response on this connection. */
  private reused = false;
  /** Exchanges whose response is still owed, oldest first. */
  private readonly inflight: Exchange[] = [];
  /**
   * The request whose body is still arriving. Kept apart from `inflight`: an engine may answer before the body
   * is complete (a 401 or 404 on the head alone), and the rest of the body must still be relayed.
   */
  private receiving: Exchange | undefined;
  private readonly requests: RequestParser;
  private readonly responses: ResponseParser;
  private tunnel = false;
  private closed = false;
  private refusal: RequestError | undefined;
  private lastUpstreamAt = 0;
  private lastClientAt = 0;
  private headStartedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private meterLost = false;
  /** Client bytes are held back (a refused request, or an Upgrade awaiting its answer). */
  private holding = false;
  /** The client side is being ended gracefully (everything written still reaches it); then both close. */
  private ending = false;
  /** Bytes for the engine held while the guard looks at a request (undefined: write straight through). */
  private held: Buffer[] | undefined;
  /** The guard's answer to a refused request, sent in place of the engine's. */
  private guardAnswer: { status: number; body: string } | undefined;

  constructor(
    private readonly client: Socket,
    private readonly ctx: RelayContext,
    private readonly onClosed: () => void,
  ) {
    this.lastClientAt = ctx.now();
    this.requests = new RequestParser({
      head: (h) => this.onRequestHead(h),
      raw: (b) => this.toUpstream(b),
      data: (b) => this.capture(b),
      end: () => this.onRequestEnd(),
    });
    this.responses = new ResponseParser(
      {
        interim: (s) => this.onInterim(s),
        head: (h) => this.onResponseHead(h),
        data: (b) => this.inflight[0]?.meter?.push(b, this.ctx.now()),
        end: () => this.onResponseEnd(),
        lost: () => {
          // Metering stops for this connection; bytes keep flowing both ways.
          this.meterLost = true;
          for (const ex of this.inflight) ex.meter = undefined;
        },
      },
      () => this.inflight[0]?.method === 'HEAD',
    );
    client.setNoDelay(true);
    client.on('data', (b: Buffer) => this.fromClient(b));
    client.on('drain', () => this.upstream?.resume());
    client.on('end', () => this.onClientEnd());
    client.on('error', () => this.shutdown('client_abort'));
    client.on('close', () => this.shutdown('client_abort'));
    this.arm();
  }

  /** Tears both sides down now (proxy shutdown). */
  destroy(): void {
    this.shutdown('client_abort');
  }

  // ---- client → engine -------------------------------------------------------------------------------------

  private fromClient(b: Buffer): void {
    if (this.refusal || this.ending) return; // nothing after a refused request is read
    const now = this.ctx.now();
    this.lastClientAt = now;
    if (this.tunnel) {
      this.toUpstream(b);
      return;
    }
    const wasInHead = this.requests.inHead;
    try {
      this.requests.push(b);
    } catch (err) {
      this.refuse(err instanceof RequestError ? err : new RequestError(400, 'request could not be relayed'));
      return;
    }
    if (!wasInHead && this.requests.inHead) {
      this.headStartedAt = now;
      this.arm();
    }
  }

  private onRequestHead(h: RequestHead): void {
    const hosts = h.fields.filter(([k]) => k === 'host');
    if (hosts.length > 1) throw new RequestError(400, 'more than one Host header');
    if (!isLoopbackHost(hosts[0]?.[1])) throw new RequestError(403, 'Host header must name a loopback address (localhost, 127.0.0.1, [::1])');
    let path = h.target;
    if (!path.startsWith('/')) {
      const abs = ABSOLUTE.exec(path);
      if (abs) path = abs[1]!.startsWith('/') ? abs[1]! : `/${abs[1]!}`;
      else if (path !== '*') throw new RequestError(400, 'malformed request target');
    }
    const endpoint = path.split('?')[0]!;
    const metered = h.method === 'POST' && isGenerationPath(endpoint);
    const upgrade = field(h, 'upgrade') !== undefined;
    const ex: Exchange = {
      method: h.method,
      endpoint,
      metered,
      upgrade,
      guarded: metered && !upgrade && this.ctx.guard !== undefined && isGuardedPath(endpoint),
      startedAt: this.ctx.now(),
      captured: [],
      reqBytes: 0,
      sent: false,
      sentAt: 0,
      status: 0,
      answered: false,
    };
    this.inflight.push(ex);
    this.receiving = ex;
    const lines = [`${h.method} ${path === '*' ? '*' : this.ctx.basePath + path} HTTP/1.${h.minor}`];
    // A held request's client waits for "100 Continue" before its body, but the engine sees nothing yet: the
    // proxy says it instead, and the engine gets the request without the expectation (no second 100).
    const expect = ex.guarded && field(h, 'expect')?.toLowerCase() === '100-continue';
    for (let i = 1; i < h.lines.length; i++) {
      const line = h.lines[i]!;
      if (expect && /^expect:/i.test(line)) continue;
      lines.push(/^host:/i.test(line) ? `Host: ${this.ctx.hostHeader}` : line);
    }
    if (expect && this.inflight.length === 1) this.client.write('HTTP/1.1 100 Continue\r\n\r\n');
    // A guarded request waits for the guard's verdict; the engine connection opens only once something goes to it.
    if (ex.guarded) this.held ??= [];
    else if (!this.upstream && !this.held) this.openUpstream();
    this.toUpstream(Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'));
    this.arm();
  }

  private capture(b: Buffer): void {
    const ex = this.receiving;
    if (!ex) return;
    ex.reqBytes += b.length;
    if (ex.metered && ex.reqBytes <= this.ctx.captureCap) ex.captured.push(Buffer.from(b));
    else if (ex.guarded) {
      // Too big to hold and inspect: forward it unchecked (`data` comes before `raw`, so order is kept).
      ex.guarded = false;
      this.flushHeld();
    }
  }

  private onRequestEnd(): boolean {
    const ex = this.receiving!;
    this.receiving = undefined;
    if (ex.guarded) {
      // Stop reading the client until the guard decides; later pipelined bytes stay in the parser.
      this.holding = true;
      this.client.pause();
      void this.decide(ex);
      return false;
    }
    ex.sent = true;
    ex.sentAt = this.ctx.now();
    this.arm();
    // After an Upgrade request, what the client sends next is either tunnel bytes (101) or nothing we parse.
    if (ex.upgrade) {
      this.holding = true;
      this.client.pause();
      return false;
    }
    return true;
  }

  private toUpstream(b: Buffer): void {
    if (this.held) this.held.push(b);
    else if (this.upstream && !this.upstream.write(b)) this.client.pause();
  }

  private flushHeld(): void {
    const held = this.held;
    if (!held) return;
    this.held = undefined;
    if (!this.upstream) this.openUpstream();
    for (const b of held) this.toUpstream(b);
  }

  /** The guard's verdict on a held request: forward it byte for byte, or answer it without the engine. */
  private async decide(ex: Exchange): Promise<void> {
    const g = this.ctx.guard!;
    let d: GuardDecision | undefined;
    try {
      d = await g.guard.check(ex.endpoint, Buffer.concat(ex.captured));
    } catch {
      d = undefined; // a fault in the guard must never block a request
    }
    if (this.closed || this.ending) return;
    if (d) {
      ex.meta = d.meta;
      ex.guard = d.info;
      if (d.message && d.info.action !== 'passed') g.onEvent({ target: this.ctx.origin, endpoint: ex.endpoint, ...(d.meta.model !== undefined ? { model: d.meta.model } : {}), info: d.info, message: d.message });
    }
    if (d?.refusal) {
      // The engine never sees it: drop the held bytes, record it, answer after any responses still owed, close.
      this.held = undefined;
      const i = this.inflight.indexOf(ex);
      if (i >= 0) this.inflight.splice(i, 1);
      ex.status = d.refusal.status;
      this.finish(ex);
      this.guardAnswer = d.refusal;
      this.refusal = new RequestError(400, 'refused by the truncation guard');
      if (this.inflight.length === 0) this.sendRefusal();
      return;
    }
    ex.sent = true;
    ex.sentAt = this.ctx.now();
    this.flushHeld();
    this.holding = false;
    this.arm();
    const rest = this.requests.resume();
    this.client.resume();
    if (rest) this.fromClient(rest);
  }

  /** Answers a refused request itself, after the responses still owed, then closes the connection. */
  private refuse(err: RequestError): void {
    this.refusal = err;
    this.holding = true;
    this.client.pause();
    // Broken mid-body: the engine will never see the end of that request, so nothing more is owed.
    if (this.receiving) {
      this.receiving = undefined;
      this.finishAll('client_abort', err.message);
    }
    if (this.inflight.length === 0) this.sendRefusal();
  }

  private sendRefusal(): void {
    const g = this.guardAnswer;
    if (g) {
      this.endClient(`HTTP/1.1 ${g.status} ${STATUS_CODES[g.status] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(g.body)}\r\nConnection: close\r\n\r\n${g.body}`);
      return;
    }
    const err = this.refusal!;
    this.reply(err.status, err.message);
  }

  /** Writes a JSON error response of the proxy's own and closes both sides. */
  private reply(status: number, message: string): void {
    const body = JSON.stringify({ error: { code: status, message: `headroom proxy: ${message}`, type: 'proxy_error' } });
    const head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`;
    this.endClient(head + body);
  }

  /**
   * Ends the client side gracefully, so bytes still queued for a slow client aren't dropped, then tears both
   * sides down. A client that never reads them is cut after the body timeout.
   */
  private endClient(last?: string): void {
    if (this.ending || this.closed) return;
    this.ending = true;
    clearTimeout(this.timer);
    this.upstream?.destroy();
    if (this.client.destroyed) return this.close();
    this.timer = setTimeout(() => this.close(), this.ctx.bodyTimeoutMs);
    this.timer.unref();
    const done = () => this.close();
    if (last === undefined) this.client.end(done);
    else this.client.end(last, done);
  }

  private onClientEnd(): void {
    // HTTP clients don't half-close to say "request done": a FIN is a client that went away (an agent's cancel,
    // Ctrl-C). Closing the engine connection now makes the engine stop generating for nobody.
    if (!this.ending) this.shutdown('client_abort');
  }

  // ---- engine → client -------------------------------------------------------------------------------------

  private openUpstream(): void {
    const up = this.ctx.connect();
    this.upstream = up;
    up.setNoDelay(true);
    // Reachable means usable: for TLS that is after the handshake (a failed one is "cannot reach", not a reset).
    up.once('encrypted' in up ? 'secureConnect' : 'connect', () => (this.connected = true));
    up.on('data', (b: Buffer) => {
      this.lastUpstreamAt = this.ctx.now();
      const ex = this.inflight[0];
      if (ex) ex.answered = true;
      // Client first, meter second: metering never delays a byte.
      if (!this.client.write(b)) up.pause();
      try {
        this.responses.push(b);
      } catch {
        // A fault in metering must never take the relay down: stop metering this connection.
        this.responses.stop();
        this.meterLost = true;
      }
    });
    up.on('drain', () => {
      if (!this.holding) this.client.resume();
    });
    up.on('end', () => this.onUpstreamEnd());
    up.on('error', (err: NodeJS.ErrnoException) => this.onUpstreamError(err));
    // 'end' and 'error' have decided what the client sees; a close without either is an idle engine going away.
    up.on('close', () => this.endClient());
  }

  private onInterim(status: number): void {
    const ex = this.inflight[0];
    if (status !== 101 || !ex?.upgrade) return;
    // Switching protocols: from here on both directions are opaque bytes.
    this.tunnel = true;
    this.inflight.shift();
    const rest = this.requests.rest();
    if (rest) this.toUpstream(rest);
    this.holding = false;
    this.client.resume();
    this.arm();
  }

  private onResponseHead(h: ResponseHead): void {
    const ex = this.inflight[0];
    if (!ex) return;
    ex.status = h.status;
    const enc = field(h, 'content-encoding');
    // Compressed bodies pass through untouched but cannot be read on the side.
    if (ex.metered && !this.meterLost && (!enc || enc === 'identity')) ex.meter = new ResponseMeter(field(h, 'content-type'));
    this.arm();
  }

  private onResponseEnd(): void {
    const ex = this.inflight.shift();
    if (!ex) return;
    this.reused = true;
    this.finish(ex);
    if (ex.upgrade) {
      // An upgrade the engine declined: the client's later bytes were never parsed, so end here.
      this.endClient();
      return;
    }
    if (this.refusal && this.inflight.length === 0) this.sendRefusal();
    this.arm();
  }

  private onUpstreamEnd(): void {
    if (this.ending) return;
    this.responses.eof();
    const ex = this.inflight[0];
    if (ex && !ex.answered && !this.reused) {
      // A fresh connection the engine closed without a byte of answer: say so rather than hang up.
      this.finishAll('upstream_reset');
      this.reply(502, `${this.ctx.origin} closed the connection without answering`);
      return;
    }
    // Mirror the engine: an idle close, a close-delimited body's end, or a cut-off response all reach the
    // client as the same end of stream (a client's HTTP parser tells a cut-off body apart by its framing).
    this.finishAll('upstream_reset');
    this.endClient();
  }

  private onUpstreamError(err: NodeJS.ErrnoException): void {
    if (this.closed || this.ending) return;
    const ex = this.inflight[0];
    if (!this.connected && ex) {
      this.finishAll('upstream_unreachable', `cannot reach ${this.ctx.origin}`);
      this.reply(502, `cannot reach ${this.ctx.origin}${err.code ? ` (${err.code})` : ''}`);
      return;
    }
    // A reset: the client must see a broken connection too, not a clean end.
    this.finishAll('upstream_reset');
    if (!this.client.destroyed) this.client.resetAndDestroy();
    this.close();
  }

  // ---- records, timers, teardown --------------------------------------------------------------------------

  private finish(ex: Exchange, error?: ErrorKind, message?: string): void {
    if (!ex.metered) return;
    const endedAt = this.ctx.now();
    const reqMeta = ex.meta ?? inspectRequest(ex.reqBytes <= this.ctx.captureCap ? Buffer.concat(ex.captured) : undefined, ex.reqBytes);
    const rec = buildRecord({ endpoint: ex.endpoint, target: this.ctx.origin, method: ex.method, status: ex.status, at: Date.now() }, reqMeta, ex.meter?.end(endedAt), { startedAt: ex.startedAt, endedAt });
    if (error && !rec.error) {
      rec.error = { kind: error };
      if (message) rec.error.message = message;
    }
    if (ex.guard) rec.guard = ex.guard;
    try {
      this.ctx.guard?.guard.observe(rec, reqMeta);
    } catch {
      // learning is best-effort
    }
    this.ctx.emit(rec);
  }

  private finishAll(error: ErrorKind, message?: string): void {
    for (const ex of this.inflight.splice(0)) this.finish(ex, error, message);
  }

  private shutdown(kind: ErrorKind): void {
    if (this.closed) return;
    this.finishAll(kind);
    this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.finishAll('client_abort');
    this.upstream?.destroy();
    this.client.destroy();
    this.onClosed();
  }

  /**
   * One timer per connection, armed on state changes only; per-chunk activity just stores a time, checked when
   * the timer fires (so the hot path never touches a timer).
   */
  private arm(): void {
    if (this.closed || this.ending) return;
    clearTimeout(this.timer);
    const d = this.deadline();
    if (d === undefined) return;
    this.timer = setTimeout(() => this.onTimer(), Math.max(1, Math.ceil(d.at - this.ctx.now())));
    this.timer.unref();
  }

  private deadline(): { at: number; what: 'head' | 'headers' | 'body' | 'idle' } | undefined {
    if (this.tunnel) return undefined;
    const ds: { at: number; what: 'head' | 'headers' | 'body' | 'idle' }[] = [];
    const ex = this.inflight[0];
    if (ex?.sent && ex.status === 0 && !ex.answered) ds.push({ at: ex.sentAt + this.ctx.headersTimeoutMs, what: 'headers' });
    if (ex?.answered) ds.push({ at: this.lastUpstreamAt + this.ctx.bodyTimeoutMs, what: 'body' });
    if (this.requests.inHead) ds.push({ at: this.headStartedAt + this.ctx.headTimeoutMs, what: 'head' });
    // A client gone quiet halfway through a request body holds the engine connection just the same.
    if (this.receiving) ds.push({ at: this.lastClientAt + this.ctx.headTimeoutMs, what: 'head' });
    if (this.inflight.length === 0 && !this.receiving && !this.requests.inHead) ds.push({ at: Math.max(this.lastClientAt, this.lastUpstreamAt) + this.ctx.idleTimeoutMs, what: 'idle' });
    return ds.reduce<(typeof ds)[number] | undefined>((a, d) => (a && a.at <= d.at ? a : d), undefined);
  }

  private onTimer(): void {
    const d = this.deadline();
    if (!d || this.closed) return;
    if (d.at > this.ctx.now()) {
      this.arm();
      return;
    }
    switch (d.what) {
      case 'headers':
        this.finishAll('upstream_timeout', 'engine did not answer in time');
        this.reply(504, 'engine did not answer in time');
        return;
      case 'body':
        this.finishAll('upstream_timeout', 'engine went silent mid-response');
        this.close();
        return;
      case 'head':
        this.finishAll('client_abort', 'request not received in time');
        this.reply(408, 'request not received in time');
        return;
      case 'idle':
        this.close();
    }
  }
}
