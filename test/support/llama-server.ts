// Test harness for a REAL llama-server (built by scripts/build-llama-server.mjs) on a free 127.0.0.1 port.
// Each server runs in its own process group so stop() — and, as a last resort, process exit — kills it
// together with anything it spawned, even when the test that started it fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { after, before, type TestContext } from 'node:test';
import { join, resolve } from 'node:path';

const CACHE = resolve(__dirname, '..', '..', '.cache', 'llama-server');

export type Availability = { ok: true; binary: string } | { ok: false; reason: string };

/**
 * Where the built llama-server is, or why there is none (for `t.skip(reason)`).
 * `HEADROOM_LLAMA_SERVER=/path/to/llama-server` overrides the cached build.
 */
export function llamaServerAvailable(): Availability {
  const env = process.env.HEADROOM_LLAMA_SERVER;
  if (env) return existsSync(env) ? { ok: true, binary: env } : { ok: false, reason: `HEADROOM_LLAMA_SERVER=${env} does not exist` };
  try {
    const { tag } = JSON.parse(readFileSync(resolve(__dirname, '..', '..', 'node_modules', 'node-llama-cpp', 'llama', 'llama.cpp.info.json'), 'utf8')) as { tag: string };
    const manifest = join(CACHE, tag, 'binary.json');
    if (existsSync(manifest)) {
      const { binary } = JSON.parse(readFileSync(manifest, 'utf8')) as { binary: string };
      if (existsSync(binary)) return { ok: true, binary };
    }
  } catch {
    /* fall through to the reasons below */
  }
  const skipped = join(CACHE, 'skipped.json');
  if (existsSync(skipped)) return { ok: false, reason: `llama-server not built: ${(JSON.parse(readFileSync(skipped, 'utf8')) as { reason: string }).reason}` };
  return { ok: false, reason: 'llama-server not built yet (run: node scripts/build-llama-server.mjs)' };
}

export interface StartOptions {
  model: string;
  /** Total context, `-c` (shared by all slots). */
  ctx?: number;
  /** Slots, `-np`. */
  parallel?: number;
  extraArgs?: string[];
  /** `-lv`: 4 (default) keeps the load-time memory lines (`llama_kv_cache: size = ...`) that level 3 hides. */
  logVerbosity?: number;
  /** How long to wait for `/health` 200, ms. */
  readyTimeoutMs?: number;
}

export interface RunningServer {
  url: string;
  port: number;
  /** Process-group leader (the reaper shell that runs llama-server); `process.kill(-pid, 0)` probes the group. */
  pid: number;
  /** Everything the server printed so far (stdout + stderr). */
  log(): string;
  /** True once the process has exited. */
  exited(): boolean;
  /** SIGTERM the process group, SIGKILL after a grace period; resolves once it is gone. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL right now, as a crash would (for tests of a dead engine mid-run). */
  kill(): void;
}

/** A port the OS says is free right now (there is a small race until the server binds it; we retry). */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => ok(port));
    });
  });
}

// The server runs under a tiny shell that holds our end of a stdin pipe: if this test process dies without
// cleaning up (killed by a timeout, SIGKILL), the pipe closes, `read` returns and the server is killed too,
// instead of lingering on its port. The shell exits with the server's status, so exit codes still tell.
// On SIGTERM (stop() signals the whole group) the shell waits for the server's own graceful exit, so the
// shell's exit means the server is gone and its port free.
const REAPER =
  'exec 3<&0; "$0" "$@" </dev/null & c=$!; (read _ <&3; kill -9 $c 2>/dev/null) & w=$!; ' +
  'trap \'kill -TERM $c 2>/dev/null; wait $c; kill $w 2>/dev/null; exit 143\' TERM; ' +
  'wait $c; s=$?; kill $w 2>/dev/null; exit $s';

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) killGroup(child, 'SIGKILL');
});

function killGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, sig);
  } catch {
    try {
      child.kill(sig);
    } catch {
      /* already gone */
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

async function startOnce(binary: string, o: StartOptions, port: number): Promise<RunningServer> {
  const args = ['-m', o.model, '--host', '127.0.0.1', '--port', String(port), '-c', String(o.ctx ?? 2048), '-np', String(o.parallel ?? 1), '--no-ui', '-lv', String(o.logVerbosity ?? 4), ...(o.extraArgs ?? [])];
  const child = spawn('sh', ['-c', REAPER, binary, ...args], { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  const append = (b: Buffer) => {
    // Keep the head (model/KV sizes) and a bounded tail; a long run must not grow memory without limit.
    out += b.toString('utf8');
    if (out.length > 4_000_000) out = out.slice(0, 1_000_000) + '\n[... log truncated ...]\n' + out.slice(-1_000_000);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  child.stdin!.on('error', () => undefined); // the reaper's pipe: EPIPE once the shell is gone is expected
  // 'close' (not 'exit'): every holder of the stdio pipes is gone, so the log is complete.
  const gone = new Promise<void>((r) => child.once('close', () => r()));
  gone.then(() => live.delete(child));
  const exited = () => child.exitCode !== null || child.signalCode !== null;

  let stopping: Promise<void> | undefined;
  const server: RunningServer = {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? -1,
    log: () => out,
    exited,
    kill: () => killGroup(child, 'SIGKILL'),
    stop: () =>
      (stopping ??= (async () => {
        if (exited()) return;
        killGroup(child, 'SIGTERM');
        const t = setTimeout(() => killGroup(child, 'SIGKILL'), 3000);
        await gone;
        clearTimeout(t);
      })()),
  };

  const deadline = Date.now() + (o.readyTimeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    if (exited()) {
      await gone;
      throw new StartError(`llama-server exited (code ${child.exitCode ?? child.signalCode}) before becoming healthy`, out);
    }
    if (await healthy(server.url)) {
      // /health can answer before our pipe reader has delivered the load-time log lines (under load):
      // wait for the line printed after loading, so log() holds the memory lines callers parse.
      for (let i = 0; i < 100 && !/listening on/.test(out); i++) await sleep(20);
      return server;
    }
    await sleep(100);
  }
  await server.stop();
  throw new StartError(`llama-server not healthy after ${o.readyTimeoutMs ?? 60_000} ms`, out);
}

export class StartError extends Error {
  constructor(message: string, readonly serverLog: string) {
    super(`${message}; last log lines:\n${serverLog.split('\n').slice(-15).join('\n')}`);
    this.name = 'StartError';
  }
}

/** Starts a real llama-server and resolves once `/health` answers 200. Call `stop()` in `t.after`. */
export async function startLlamaServer(o: StartOptions): Promise<RunningServer> {
  const a = llamaServerAvailable();
  if (!a.ok) throw new Error(a.reason);
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(a.binary, o, await freePort());
    } catch (e) {
      // Someone grabbed the port between our probe and the server's bind: try another one.
      const raced = e instanceof StartError && /bind|address already in use/i.test(e.serverLog);
      if (!raced || attempt >= 3) throw e;
    }
  }
}

/** The memory lines llama.cpp logs at load, in bytes (MiB figures × 2^20, as printed: 2 decimals). */
export interface ServerMemoryLog {
  /** `llama_kv_cache: size = ... MiB (cells, layers, seqs), K (type): ..., V (type): ...` */
  kv?: { bytes: number; cells: number; layers: number; seqs: number; streams: number; kType: string; kBytes: number; vType: string; vBytes: number };
  /** `... model buffer size = ... MiB`, summed over buffers. */
  modelBytes?: number;
  /** `<type> model buffer size = ... MiB` per buffer type: `CPU_Mapped`, `CPU_REPACK`, `AMX`, `CPU`, ... */
  modelBuffers: Record<string, number>;
  /** `... compute buffer size = ... MiB`, summed over buffers. */
  computeBytes?: number;
}

export function parseMemoryLog(log: string): ServerMemoryLog {
  const MiB = 1024 * 1024;
  const r: ServerMemoryLog = { modelBuffers: {} };
  for (const m of log.matchAll(/(\w+) model buffer size =\s*([\d.]+) MiB/g)) r.modelBuffers[m[1]!] = (r.modelBuffers[m[1]!] ?? 0) + Number(m[2]) * MiB;
  const kv = /llama_kv_cache: size =\s*([\d.]+) MiB \(\s*(\d+) cells,\s*(\d+) layers,\s*(\d+)\/(\d+) seqs\), K \((\w+)\):\s*([\d.]+) MiB, V \((\w+)\):\s*([\d.]+) MiB/.exec(log);
  if (kv) {
    r.kv = { bytes: Number(kv[1]) * MiB, cells: Number(kv[2]), layers: Number(kv[3]), seqs: Number(kv[4]), streams: Number(kv[5]), kType: kv[6]!, kBytes: Number(kv[7]) * MiB, vType: kv[8]!, vBytes: Number(kv[9]) * MiB };
  }
  const sum = (re: RegExp) => {
    let total: number | undefined;
    for (const m of log.matchAll(re)) total = (total ?? 0) + Number(m[1]) * MiB;
    return total;
  };
  r.modelBytes = sum(/model buffer size =\s*([\d.]+) MiB/g);
  r.computeBytes = sum(/compute buffer size =\s*([\d.]+) MiB/g);
  return r;
}

/**
 * One llama-server shared by a whole test file: started before its tests, stopped after. The returned getter
 * gives it to a test, or skips that test (saying why) when llama-server can't be built here.
 */
export function llamaServerForFile(options: () => StartOptions): (t: TestContext) => RunningServer | undefined {
  const avail = llamaServerAvailable();
  let srv: RunningServer | undefined;
  before(async () => {
    if (avail.ok) srv = await startLlamaServer(options());
  });
  after(async () => {
    await srv?.stop();
  });
  return (t) => {
    if (!avail.ok) {
      t.skip(avail.reason);
      return undefined;
    }
    return srv!;
  };
}
