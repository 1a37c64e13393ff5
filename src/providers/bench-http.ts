// HTTP for `headroom bench`: one exchange under the bench's overall deadline and the caller's AbortSignal
// (abort cancels the in-flight request), streamed body with a size cap, and transport failures mapped to
// BenchError kinds (refused → unreachable, reset mid-stream → engine, deadline → timeout).
import { request, type Dispatcher } from 'undici';
import type { z } from 'zod';

export type BenchErrorKind = 'unreachable' | 'timeout' | 'aborted' | 'engine' | 'protocol' | 'no-model';

export class BenchError extends Error {
  override readonly name = 'BenchError';
  constructor(
    readonly kind: BenchErrorKind,
    message: string,
  ) {
    super(message);
  }
}

const MAX_BODY = 64 << 20;
/** Discovery requests (props, model lists, tokenize) must answer within this, whatever the budget. */
export const PROBE_MS = 5000;

export interface Http {
  dispatcher?: Dispatcher;
  auth?: string;
  signal: AbortSignal;
  deadline: number;
  clock: () => number;
  endpoint: string;
}

function transportError(err: unknown, h: Http, what: string, timedOut: boolean): BenchError {
  if (err instanceof BenchError) return err;
  if (timedOut) return new BenchError('timeout', `${what}: no answer within the bench's time budget`);
  if (h.signal.aborted) return new BenchError('aborted', 'bench cancelled');
  let code: string | undefined;
  for (let e: unknown = err, i = 0; e && i < 4 && !code; e = (e as { cause?: unknown }).cause, i++) {
    const c = (e as { code?: unknown }).code;
    if (typeof c === 'string') code = c;
  }
  if (code === 'ECONNREFUSED') return new BenchError('unreachable', `${h.endpoint}: connection refused (is the engine running?)`);
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE' || code === 'UND_ERR_CLOSED')
    return new BenchError('engine', `${what}: the engine closed the connection mid-run (did it crash or stop?)`);
  const msg = err instanceof Error ? err.message : String(err);
  return new BenchError('unreachable', `${what}: ${code ? `${code}: ` : ''}${msg}`);
}

export type OnResponse = (status: number, headers: Record<string, string>) => (chunk: Buffer) => void;

/** One HTTP exchange under the bench's deadline and the caller's signal; body chunks go to the sink `onResponse` returns. */
export async function exchange(h: Http, method: 'GET' | 'POST', path: string, json: unknown, onResponse: OnResponse): Promise<void> {
  const ctl = new AbortController();
  const remaining = h.deadline - h.clock();
  let timedOut = remaining <= 0;
  const timer = setTimeout(() => {
    timedOut = true;
    ctl.abort();
  }, Math.max(0, remaining));
  const onAbort = () => ctl.abort();
  if (h.signal.aborted || timedOut) ctl.abort();
  h.signal.addEventListener('abort', onAbort, { once: true });
  const what = `${method} ${path}`;
  let body: Dispatcher.ResponseData['body'] | undefined;
  try {
    const res = await request(`${h.endpoint}${path}`, {
      method,
      headers: {
        ...(json === undefined ? { accept: 'application/json' } : { 'content-type': 'application/json', accept: 'text/event-stream, application/json' }),
        ...(h.auth ? { authorization: h.auth } : {}),
      },
      body: json === undefined ? undefined : JSON.stringify(json),
      signal: ctl.signal,
      dispatcher: h.dispatcher,
      headersTimeout: Math.max(1, remaining),
      bodyTimeout: Math.max(1, remaining),
    });
    body = res.body;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
    const sink = onResponse(res.statusCode, headers);
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY) throw new BenchError('protocol', `${what}: response larger than ${MAX_BODY >> 20} MiB`);
      sink(chunk as Buffer);
    }
  } catch (err) {
    body?.destroy();
    throw transportError(err, h, what, timedOut);
  } finally {
    clearTimeout(timer);
    h.signal.removeEventListener('abort', onAbort);
  }
}

export async function getJson<S extends z.ZodType>(h: Http, path: string, schema: S, probeMs = PROBE_MS): Promise<{ status: number; headers: Record<string, string>; data?: z.infer<S> }> {
  const chunks: Buffer[] = [];
  const hp = { ...h, deadline: Math.min(h.deadline, h.clock() + probeMs) };
  let r = { status: 0, headers: {} as Record<string, string> };
  await exchange(hp, 'GET', path, undefined, (status, headers) => {
    r = { status, headers };
    return (b) => chunks.push(b);
  });
  if (r.status < 200 || r.status > 299) return r;
  try {
    const parsed = schema.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    return parsed.success ? { ...r, data: parsed.data } : r;
  } catch {
    return r;
  }
}
