// The metering proxy: a loopback server in front of one engine. Each client connection gets its own engine
// connection and a Relay between them (see relay.ts): bytes go through untouched and unbuffered, a side parser
// meters them, and one MeterRecord per generation request comes out at the end.
import { createServer, connect as tcpConnect, type AddressInfo, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { performance } from 'node:perf_hooks';
import { isLoopbackAddress } from './loopback';
import type { MeterRecord } from './record';
import { TruncationGuard, type GuardEvent, type GuardMode } from './guard';
import { Relay } from './relay';

export interface MeteringProxyOptions {
  /** Where to listen; the host must be a loopback address. Default 127.0.0.1, port 0 (any free port). */
  listen?: { host?: string; port?: number };
  /** Engine base URL, e.g. `http://127.0.0.1:11434`. */
  target: string;
  /** Called once per completed (or failed) generation request. Exceptions from it are swallowed. */
  onRecord?: (r: MeterRecord) => void;
  /** Largest request body parsed on the side (bigger bodies are forwarded but not inspected). Default 16 MiB. */
  maxRequestCaptureBytes?: number;
  /** Wait for the engine's response headers; a long prefill can take minutes. Default 30 min. */
  headersTimeoutMs?: number;
  /** Longest silence between response chunks. Default 10 min. */
  bodyTimeoutMs?: number;
  /** An idle client connection is closed after this long. Default 30 s. */
  idleTimeoutMs?: number;
  /** A request head must arrive within this long once it starts, and a body may not pause longer (slow-loris defense). Default 60 s. */
  headTimeoutMs?: number;
  /** Monotonic clock in ms (tests may inject). Default `performance.now`. */
  now?: () => number;
  /**
   * The truncation guard (default off here; the CLI and the setting default to warn). When on, generation requests
   * are held until it decides; `onEvent` hears a warning or refusal before the engine is contacted.
   */
  guard?: { mode: GuardMode; tokenizer?: boolean; tokenizeTimeoutMs?: number; onEvent?: (e: GuardEvent) => void };
}

export interface MeteringProxy {
  url: string;
  port: number;
  /** The guard in use (for its learned ratios), when on. */
  guard?: TruncationGuard;
  close(): Promise<void>;
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
  const tls = target.protocol === 'https:';
  const port = Number(target.port || (tls ? 443 : 80));
  const hostname = target.hostname.replace(/^\[|\]$/g, '');
  const connect = (): Socket => (tls ? tlsConnect({ host: hostname, port, servername: hostname, ALPNProtocols: ['http/1.1'] }) : tcpConnect({ host: hostname, port }));
  const emit = (r: MeterRecord) => {
    try {
      opts.onRecord?.(r);
    } catch {
      // A faulty listener must not take the proxy down.
    }
  };
  const ctx = {
    origin: target.origin,
    hostHeader: target.host,
    basePath: target.pathname.replace(/\/+$/, ''),
    connect,
    emit,
    now: opts.now ?? (() => performance.now()),
    captureCap: opts.maxRequestCaptureBytes ?? 16 << 20,
    headersTimeoutMs: opts.headersTimeoutMs ?? 30 * 60_000,
    bodyTimeoutMs: opts.bodyTimeoutMs ?? 10 * 60_000,
    idleTimeoutMs: opts.idleTimeoutMs ?? 30_000,
    headTimeoutMs: opts.headTimeoutMs ?? 60_000,
    guard: undefined as undefined | { guard: TruncationGuard; onEvent(e: GuardEvent): void },
  };
  const g = opts.guard;
  if (g && g.mode !== 'off') {
    const guard = new TruncationGuard({ mode: g.mode, target: opts.target, ...(g.tokenizer !== undefined ? { tokenizer: g.tokenizer } : {}), ...(g.tokenizeTimeoutMs !== undefined ? { tokenizeTimeoutMs: g.tokenizeTimeoutMs } : {}) });
    ctx.guard = {
      guard,
      onEvent: (e) => {
        try {
          g.onEvent?.(e);
        } catch {
          // A faulty listener must not take the proxy down.
        }
      },
    };
  }

  const relays = new Set<Relay>();
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    const relay = new Relay(client, ctx, () => relays.delete(relay));
    relays.add(relay);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.listen?.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const boundPort = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${boundPort}`,
    port: boundPort,
    ...(ctx.guard ? { guard: ctx.guard.guard } : {}),
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const r of [...relays]) r.destroy();
      await closed;
    },
  };
}
