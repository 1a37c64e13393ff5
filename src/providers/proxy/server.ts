// The metering proxy: a loopback HTTP server in front of an engine. Bytes go through untouched and unbuffered
// (each chunk is written to the client before anything is parsed); the same chunk, uncopied, then feeds a
// ResponseMeter on the side, and one MeterRecord per generation request comes out at the end.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { Agent, errors as undiciErrors, type Dispatcher } from 'undici';
import { ResponseMeter } from '../stream/meter';
import { inspectRequest } from '../stream/request';
import { isLoopbackAddress, isLoopbackHost } from './loopback';
import { buildRecord, isGenerationPath, type MeterRecord } from './record';

export interface MeteringProxyOptions {
  /** Where to listen; the host must be a loopback address. Default 127.0.0.1, port 0 (any free port). */
  listen?: { host?: string; port?: number };
  /** Engine base URL, e.g. `http://127.0.0.1:11434`. */
  target: string;
  /** Called once per completed (or failed) generation request. Exceptions from it are swallowed. */
  onRecord?: (r: MeterRecord) => void;
  /** undici dispatcher for the upstream side (tests and benches inject their own). */
  dispatcher?: Dispatcher;
  /** Largest request body parsed on the side (bigger bodies are forwarded but not inspected). Default 16 MiB. */
  maxRequestCaptureBytes?: number;
  /** Wait for the engine's response headers; a long prefill can take minutes. Default 30 min. */
  headersTimeoutMs?: number;
  /** Longest silence between response chunks. Default 10 min. */
  bodyTimeoutMs?: number;
  /** Monotonic clock in ms (tests may inject). Default `performance.now`. */
  now?: () => number;
}

export interface MeteringProxy {
  url: string;
  port: number;
  close(): Promise<void>;
}

// RFC 9110 §7.6.1 hop-by-hop fields, plus those undici manages itself.
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'expect']);

function forwardHeaders(raw: string[]): string[] {
  const conn = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'connection') for (const t of raw[i + 1]!.split(',')) conn.add(t.trim().toLowerCase());
  }
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]!.toLowerCase();
    if (!HOP.has(k) && !conn.has(k)) out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

/** The engine's raw response headers minus hop-by-hop ones, as a flat [name, value, ...] list for writeHead. */
function responseHeaders(raw: Buffer[]): { list: string[]; contentType?: string; encoding?: string } {
  const conn = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toString('latin1').toLowerCase() === 'connection') for (const t of raw[i + 1]!.toString('latin1').split(',')) conn.add(t.trim().toLowerCase());
  }
  const out: { list: string[]; contentType?: string; encoding?: string } = { list: [] };
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1');
    const k = name.toLowerCase();
    if (HOP.has(k) || conn.has(k)) continue;
    const v = raw[i + 1]!.toString('latin1');
    out.list.push(name, v);
    if (k === 'content-type') out.contentType ??= v;
    else if (k === 'content-encoding') out.encoding ??= v;
  }
  return out;
}

function plainError(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error: { code: status, message: `headroom proxy: ${message}`, type: 'proxy_error' } });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export async function startMeteringProxy(opts: MeteringProxyOptions): Promise<MeteringProxy> {
  const host = opts.listen?.host ?? '127.0.0.1';
  if (host !== 'localhost' && !isLoopbackAddress(host)) throw new Error(`refusing to listen on ${host}: the metering proxy binds loopback only`);
  let target: URL;
  try {
    target = new URL(opts.target);
  } catch {
    throw new Error(`invalid target URL '${opts.target}'`);
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new Error(`target must be http(s), got ${target.protocol}`);
  const origin = target.origin;
  const basePath = target.pathname.replace(/\/+$/, '');
  const ownAgent = opts.dispatcher ? undefined : new Agent({ keepAliveTimeout: 30_000, connections: 256 });
  const dispatcher = opts.dispatcher ?? ownAgent!;
  const now = opts.now ?? (() => performance.now());
  const cap = opts.maxRequestCaptureBytes ?? 16 << 20;
  const headersTimeout = opts.headersTimeoutMs ?? 30 * 60_000;
  const bodyTimeout = opts.bodyTimeoutMs ?? 10 * 60_000;
  const emit = (r: MeterRecord) => {
    try {
      opts.onRecord?.(r);
    } catch {
      // A faulty listener must not take the proxy down.
    }
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (!isLoopbackHost(req.headers.host)) {
      plainError(res, 403, 'Host header must name a loopback address (localhost, 127.0.0.1, [::1])');
      return;
    }
    const startedAt = now();
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const endpoint = path.split('?')[0]!;
    const metered = method === 'POST' && isGenerationPath(endpoint);
    let finished = false;
    let clientGone = false;
    let cancel = (): void => {};
    res.on('close', () => {
      if (!res.writableFinished) {
        clientGone = true;
        cancel();
      }
    });

    // Request body: streamed upstream as it arrives; a capped copy is kept for inspection when metered.
    const hasBody = method !== 'GET' && method !== 'HEAD' && (req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined);
    const captured: Buffer[] = [];
    let reqBytes = 0;
    async function* tap(): AsyncGenerator<Buffer> {
      for await (const chunk of req as AsyncIterable<Buffer>) {
        reqBytes += chunk.length;
        if (metered && reqBytes <= cap) captured.push(chunk);
        yield chunk;
      }
    }

    let meter: ResponseMeter | undefined;
    let status = 0;
    const finish = (error?: MeterRecord['error']): void => {
      if (finished) return;
      finished = true;
      if (!metered) return;
      const endedAt = now();
      const reqMeta = inspectRequest(reqBytes <= cap ? Buffer.concat(captured) : undefined, reqBytes);
      const rec = buildRecord({ endpoint, target: origin, method, status, at: Date.now() }, reqMeta, meter?.end(endedAt), { startedAt, endedAt });
      if (error && !rec.error) rec.error = error;
      emit(rec);
    };

    // A raw undici handler rather than `request()`: no body Readable, promise or async-scope hop per chunk.
    // Each chunk goes straight to the client socket; a full client buffer pauses the engine (pipe-like).
    let abortUpstream: ((err: Error) => void) | undefined;
    let resume: (() => void) | undefined;
    let headersSeen = false;
    cancel = () => abortUpstream?.(new Error('client went away'));
    res.on('drain', () => resume?.());
    const handler: Dispatcher.DispatchHandler = {
      onConnect(abort) {
        abortUpstream = abort;
        if (clientGone) abort(new Error('client went away'));
      },
      onHeaders(statusCode, rawHeaders, resumeUpstream) {
        // Informational 1xx (e.g. 103 Early Hints) precede the real response; like undici's request(), skip them.
        if (statusCode < 200) return true;
        headersSeen = true;
        status = statusCode;
        resume = resumeUpstream;
        const headers = responseHeaders(rawHeaders as Buffer[]);
        const enc = headers.encoding;
        // Compressed bodies pass through untouched but cannot be read on the side.
        if (metered && (!enc || enc === 'identity')) meter = new ResponseMeter(headers.contentType);
        res.writeHead(statusCode, headers.list);
        res.flushHeaders();
        return true;
      },
      onData(chunk) {
        // Client first, meter second: metering never delays a byte.
        const more = res.write(chunk);
        meter?.push(chunk, now());
        return more;
      },
      onComplete() {
        res.end();
        finish();
      },
      onError(err) {
        if (headersSeen) {
          // Upstream reset mid-stream: the client must see a broken connection too, not a clean end.
          res.destroy(err);
          finish({ kind: clientGone ? 'client_abort' : 'upstream_reset' });
          return;
        }
        if (clientGone) {
          finish({ kind: 'client_abort' });
          return;
        }
        const timeout = err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError;
        const kind = timeout ? 'upstream_timeout' : 'upstream_unreachable';
        const code = (err as { code?: string }).code;
        const message = timeout ? 'engine did not answer in time' : `cannot reach ${origin}${code ? ` (${code})` : ''}`;
        plainError(res, timeout ? 504 : 502, message);
        finish({ kind, message });
      },
    };
    try {
      dispatcher.dispatch(
        {
          origin,
          path: basePath + path,
          method: method as Dispatcher.HttpMethod,
          headers: forwardHeaders(req.rawHeaders),
          body: hasBody ? Readable.from(tap(), { objectMode: false }) : null,
          headersTimeout,
          bodyTimeout,
        },
        handler,
      );
    } catch (err) {
      handler.onError!(err as Error);
    }
  };

  const server = createServer({ keepAliveTimeout: 30_000, requestTimeout: 0, headersTimeout: 60_000 }, handle);
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.listen?.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await ownAgent?.close();
    },
  };
}
