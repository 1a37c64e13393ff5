// A scripted fake engine on 127.0.0.1 for proxy tests: replays recorded bodies in chosen pieces with
// pauses, resets the socket mid-stream on demand, and reports when a client went away.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'node:http';
import { createHash } from 'node:crypto';

export type Script = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>;

export interface Engine {
  url: string;
  /** Requests received (method + path). */
  seen: string[];
  /** Bodies received, in order. */
  bodies: Buffer[];
  /** Resolves when a request's response is closed before it finished (the proxy aborted upstream). */
  aborted: Promise<void>;
  close(): Promise<void>;
}

export async function startEngine(script: Script): Promise<Engine> {
  const seen: string[] = [];
  const bodies: Buffer[] = [];
  let onAbort!: () => void;
  const aborted = new Promise<void>((r) => (onAbort = r));
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url}`);
      const body = Buffer.concat(chunks);
      bodies.push(body);
      res.on('close', () => {
        if (!res.writableFinished) onAbort();
      });
      void script(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    bodies,
    aborted,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A plain engine (Node's own, strict HTTP parser) that logs what it parsed and how many connections it took. */
export interface LoggingEngine {
  url: string;
  port: number;
  server: Server;
  /** Connections the engine accepted. */
  connections: number;
  /** Method, path, Host header and body of each request, in arrival order. */
  seen: { method: string; url: string; host?: string; body: Buffer }[];
}

export async function loggingEngine(handler: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void): Promise<LoggingEngine> {
  const e: LoggingEngine = { url: '', port: 0, server: createServer(), connections: 0, seen: [] };
  e.server.on('connection', () => e.connections++);
  e.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      e.seen.push({ method: req.method!, url: req.url!, host: req.headers.host, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((r) => e.server.listen(0, '127.0.0.1', r));
  e.port = (e.server.address() as AddressInfo).port;
  e.url = `http://127.0.0.1:${e.port}`;
  return e;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes `buf` in `pieces` roughly equal parts with a pause between them (cuts land mid-character too). */
export async function writeInPieces(res: ServerResponse, buf: Buffer, pieces: number, pauseMs = 2): Promise<void> {
  const step = Math.max(1, Math.ceil(buf.length / pieces));
  for (let o = 0; o < buf.length; o += step) {
    if (res.destroyed) return;
    res.write(buf.subarray(o, o + step));
    await sleep(pauseMs);
  }
  res.end();
}

export interface Fetched {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  sha256: string;
  /** Set when the connection broke before the body ended. */
  error?: string;
}

/** A raw HTTP request (lets tests set any Host header) that collects the body bytes exactly. */
export function fetchRaw(url: string, opts: { method?: string; body?: string | Buffer; headers?: Record<string, string>; abortAfterBytes?: number } = {}): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? (opts.body ? 'POST' : 'GET'), headers: { 'content-type': 'application/json', ...opts.headers } }, (res) => {
      const chunks: Buffer[] = [];
      let n = 0;
      const done = (error?: string) => {
        const body = Buffer.concat(chunks);
        const f: Fetched = { status: res.statusCode ?? 0, headers: res.headers, body, sha256: createHash('sha256').update(body).digest('hex') };
        if (error) f.error = error;
        resolve(f);
      };
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        n += c.length;
        if (opts.abortAfterBytes !== undefined && n >= opts.abortAfterBytes) {
          req.destroy();
          done('client aborted');
        }
      });
      res.on('end', () => done());
      res.on('error', (e) => done(e.message));
      res.on('aborted', () => done('aborted'));
    });
    req.on('error', (e) => (opts.abortAfterBytes !== undefined ? undefined : reject(e)));
    if (opts.body) req.end(opts.body);
    else req.end();
  });
}
