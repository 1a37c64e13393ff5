// The one HTTP helper every provider uses. Each call has a hard deadline covering connect, headers
// AND body (a server that trickles a byte per second still ends on time), a response-size cap
// (reading stops past it), and zod validation. Failures are always a ProviderError.
import { request, type Dispatcher } from 'undici';
import type { z } from 'zod';
import { ProviderError } from './errors';

export interface HttpOptions {
  /** undici dispatcher (tests inject one; defaults to undici's global agent). */
  dispatcher?: Dispatcher;
  /** Caller cancellation; reported as kind `aborted`. */
  signal?: AbortSignal;
  /** Deadline for the whole exchange, headers and body. */
  timeoutMs: number;
  /** Largest body accepted, bytes. */
  maxBytes: number;
  headers?: Record<string, string>;
}

export interface RequestOptions extends HttpOptions {
  method?: 'GET' | 'POST' | 'HEAD';
  /** JSON-encoded for POST. */
  json?: unknown;
  /** A body that already is JSON text (sent as is, instead of encoding `json`). */
  jsonText?: string;
}

export interface RawResponse {
  status: number;
  /** Lower-case header names; repeated headers joined with `, `. */
  headers: Record<string, string>;
  body: string;
}

/** Split a URL into the `endpoint` (origin + base path) and `path` that errors report. */
function locate(url: string): { endpoint: string; path: string } {
  try {
    const u = new URL(url);
    return { endpoint: u.origin, path: `${u.pathname}${u.search}` };
  } catch {
    return { endpoint: url, path: '' };
  }
}

function errCode(err: unknown): string | undefined {
  for (let e: unknown = err, i = 0; e && i < 4; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

function transportError(err: unknown, endpoint: string, path: string, timedOut: boolean, timeoutMs: number, callerAborted: boolean): ProviderError {
  if (err instanceof ProviderError) return err;
  if (timedOut) return new ProviderError('timeout', endpoint, path, `no complete answer within ${timeoutMs} ms`);
  if (callerAborted) return new ProviderError('aborted', endpoint, path, 'request cancelled');
  const code = errCode(err);
  switch (code) {
    case 'ECONNREFUSED':
      return new ProviderError('unreachable', endpoint, path, 'connection refused (nothing listening)');
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
    case 'EPIPE':
      return new ProviderError('unreachable', endpoint, path, 'connection reset by the server');
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ProviderError('unreachable', endpoint, path, 'host name not found');
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new ProviderError('unreachable', endpoint, path, 'host unreachable');
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return new ProviderError('timeout', endpoint, path, `no complete answer within ${timeoutMs} ms`);
    case 'UND_ERR_INVALID_ARG':
      return new ProviderError('unreachable', endpoint, path, `invalid request: ${(err as Error).message}`);
    default: {
      const msg = err instanceof Error ? err.message : String(err);
      return new ProviderError('unreachable', endpoint, path, `${code ? `${code}: ` : ''}${msg || 'request failed'}`);
    }
  }
}

/**
 * Performs one request and returns status, headers and body text whatever the status.
 * Throws ProviderError only for transport problems (unreachable, timeout, too-large, aborted).
 */
export async function fetchText(url: string, opts: RequestOptions): Promise<RawResponse> {
  const { endpoint, path } = locate(url);
  const ctl = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ctl.abort();
  }, opts.timeoutMs);
  const onCallerAbort = (): void => ctl.abort();
  if (opts.signal?.aborted) ctl.abort();
  opts.signal?.addEventListener('abort', onCallerAbort, { once: true });
  let body: Dispatcher.ResponseData['body'] | undefined;
  try {
    const headers: Record<string, string> = { accept: 'application/json, text/plain;q=0.9, */*;q=0.5', ...opts.headers };
    let payload: string | undefined;
    if (opts.jsonText !== undefined || opts.json !== undefined) {
      payload = opts.jsonText ?? JSON.stringify(opts.json);
      headers['content-type'] = 'application/json';
    }
    const method = opts.method ?? (payload !== undefined ? 'POST' : 'GET');
    const send = () =>
      request(url, {
        method,
        headers,
        body: payload,
        signal: ctl.signal,
        dispatcher: opts.dispatcher,
        // Our own deadline governs; undici's defaults (300 s) must not outlive it.
        headersTimeout: opts.timeoutMs,
        bodyTimeout: opts.timeoutMs,
      });
    let res: Dispatcher.ResponseData;
    try {
      res = await send();
    } catch (err) {
      // A pooled keep-alive socket to an engine that restarted fails once with a reset; a GET is
      // safe to send again on a fresh connection. A server that resets every time still fails.
      const code = errCode(err);
      if (method !== 'GET' || ctl.signal.aborted || (code !== 'UND_ERR_SOCKET' && code !== 'ECONNRESET')) throw err;
      res = await send();
    }
    body = res.body;
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > opts.maxBytes) {
      throw new ProviderError('too-large', endpoint, path, `response of ${declared} bytes exceeds the ${opts.maxBytes}-byte cap`, res.statusCode);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      const buf = chunk as Buffer;
      size += buf.length;
      if (size > opts.maxBytes) {
        throw new ProviderError('too-large', endpoint, path, `response exceeds the ${opts.maxBytes}-byte cap`, res.statusCode);
      }
      chunks.push(buf);
    }
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) {
      if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
    }
    return { status: res.statusCode, headers: out, body: Buffer.concat(chunks).toString('utf8') };
  } catch (err) {
    body?.destroy();
    throw transportError(err, endpoint, path, timedOut, opts.timeoutMs, opts.signal?.aborted === true);
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onCallerAbort);
  }
}

/** Short, readable summary of a zod failure: `models.0.size_vram: expected number`. */
export function describeIssues(error: z.ZodError): string {
  const parts = error.issues.slice(0, 3).map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  const more = error.issues.length > 3 ? ` (+${error.issues.length - 3} more)` : '';
  return parts.join('; ') + more;
}

/** `HTTP 501: <the engine's own error message>`, falling back to a short body snippet. */
function httpError(res: RawResponse, endpoint: string, path: string): ProviderError {
  let detail = '';
  try {
    const j = JSON.parse(res.body) as { error?: unknown; message?: unknown; detail?: unknown };
    const e = j.error;
    const m = typeof e === 'object' && e !== null ? (e as { message?: unknown }).message : e ?? j.message ?? j.detail;
    if (typeof m === 'string') detail = m;
  } catch {
    /* not JSON */
  }
  if (!detail) detail = res.body.slice(0, 160);
  detail = detail.replace(/\s+/g, ' ').trim().slice(0, 200);
  return new ProviderError('http', endpoint, path, `HTTP ${res.status}${detail ? `: ${detail}` : ''}`, res.status);
}

/** Checks status, parses JSON and validates it. Throws ProviderError `http`, `bad-json` or `schema`. */
export function decodeJson<S extends z.ZodType>(res: RawResponse, schema: S, url: string): z.infer<S> {
  const { endpoint, path } = locate(url);
  if (res.status < 200 || res.status > 299) throw httpError(res, endpoint, path);
  let parsed: unknown;
  try {
    parsed = JSON.parse(res.body);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new ProviderError('bad-json', endpoint, path, `response is not valid JSON (${why})`, res.status);
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    throw new ProviderError('schema', endpoint, path, `unexpected response shape: ${describeIssues(result.error)}`, res.status);
  }
  return result.data;
}

export interface JsonResponse<T> {
  data: T;
  status: number;
  headers: Record<string, string>;
}

export async function getJson<S extends z.ZodType>(url: string, schema: S, opts: HttpOptions): Promise<JsonResponse<z.infer<S>>> {
  const res = await fetchText(url, { ...opts, method: 'GET' });
  return { data: decodeJson(res, schema, url), status: res.status, headers: res.headers };
}

export async function postJson<S extends z.ZodType>(url: string, json: unknown, schema: S, opts: HttpOptions): Promise<JsonResponse<z.infer<S>>> {
  const res = await fetchText(url, { ...opts, method: 'POST', json });
  return { data: decodeJson(res, schema, url), status: res.status, headers: res.headers };
}

/** GET a text body (e.g. Prometheus `/metrics`); non-2xx is a ProviderError `http`. */
export async function getText(url: string, opts: HttpOptions): Promise<RawResponse> {
  const res = await fetchText(url, { ...opts, method: 'GET' });
  if (res.status < 200 || res.status > 299) {
    const { endpoint, path } = locate(url);
    throw httpError(res, endpoint, path);
  }
  return res;
}
