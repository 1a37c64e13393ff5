// Measured streaming-read bandwidth of system memory (issue 12, step 6): CPU decode is bandwidth-bound, and the
// "dual-channel DDR5" guess was 3× off on a small VM. One worker thread per core scans its own buffer (far larger
// than any cache) with memchr (Buffer#indexOf of a byte that is not there: native SIMD reads), for a fixed window
// well under a second. The result is cached next to the bench store, keyed by a machine fingerprint.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { defaultBenchStorePath } from './bench-store';

export interface CpuBandwidth {
  gbps: number;
  threads: number;
  bufferBytes: number;
  /** ISO time of the measurement. */
  measuredAt: string;
  fingerprint: string;
}

// Runs inside each worker (eval'd source, so bundling cannot break the worker path). The buffer is filled with 1s
// so every page is really mapped (a zero-filled buffer can be backed by the shared zero page and read from cache).
// It is scanned in 16 MiB chunks, in order (the whole buffer is far larger than the caches, so every chunk comes
// from DRAM), timing each: on a busy machine a thread is descheduled now and then, and the chunks it ran through
// undisturbed (the 90th percentile) say what the memory delivers — like STREAM's best-of.
const WORKER_SRC = `
const { parentPort, workerData } = require('node:worker_threads');
const buf = Buffer.allocUnsafe(workerData.bytes).fill(1);
buf.indexOf(2); // warm: page tables, TLB
const CHUNK = workerData.chunk;
const chunks = Math.floor(workerData.bytes / CHUNK);
parentPort.postMessage({ ready: true });
parentPort.once('message', () => {
  const t0 = process.hrtime.bigint();
  const deadline = t0 + BigInt(Math.round(workerData.windowMs * 1e6));
  const rates = [];
  let i = 0;
  let now = t0;
  do {
    const a = now;
    if (buf.subarray(i * CHUNK, (i + 1) * CHUNK).indexOf(2) !== -1) throw new Error('unexpected');
    now = process.hrtime.bigint();
    rates.push(CHUNK / Number(now - a));
    i = (i + 1) % chunks;
  } while (now < deadline);
  parentPort.postMessage({ rates });
});
`;

/** A stable id for "this machine": CPU model, core count, memory size (rounded), OS and architecture. */
export function machineFingerprint(): string {
  const cpus = os.cpus();
  const key = [cpus[0]?.model?.trim() ?? '?', cpus.length, Math.round(os.totalmem() / 2 ** 30), process.platform, process.arch].join('|');
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

export interface MeasureOptions {
  threads?: number;
  /** Per-thread buffer (default 128 MiB, 4× the largest L3 slice a core sees, at most 1/16 of free memory per thread). */
  bufferBytes?: number;
  /** Timed scan window per thread (default 200 ms). */
  windowMs?: number;
}

/** Measures once: all workers start their timed window together; the sum of their rates is the machine's. */
export async function measureCpuBandwidth(o: MeasureOptions = {}): Promise<CpuBandwidth> {
  const threads = Math.max(1, Math.min(o.threads ?? os.availableParallelism?.() ?? os.cpus().length, 16));
  const cap = Math.floor(os.freemem() / 16 / threads);
  const bytes = Math.max(16 << 20, Math.min(o.bufferBytes ?? 128 << 20, cap));
  const windowMs = o.windowMs ?? 200;
  const workers = Array.from({ length: threads }, () => new Worker(WORKER_SRC, { eval: true, workerData: { bytes, windowMs, chunk: 16 << 20 } }));
  try {
    await Promise.all(workers.map((w) => new Promise<void>((res, rej) => {
      w.once('message', () => res());
      w.once('error', rej);
    })));
    const results = await Promise.all(
      workers.map((w) => new Promise<{ rates: number[] }>((res, rej) => {
        w.once('message', res);
        w.once('error', rej);
        w.postMessage('go');
      })),
    );
    const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.9))] ?? 0;
    const gbps = results.reduce((s, r) => s + p90(r.rates), 0); // bytes per ns = GB/s
    return { gbps: Math.round(gbps * 10) / 10, threads, bufferBytes: bytes, measuredAt: new Date().toISOString(), fingerprint: machineFingerprint() };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** Next to the bench store: `$XDG_STATE_HOME/headroom/cpu-bandwidth.json` (or beside `HEADROOM_BENCH_STORE`). */
export function cpuBandwidthCachePath(env: Record<string, string | undefined> = process.env, home = os.homedir()): string {
  return join(dirname(defaultBenchStorePath(env, home)), 'cpu-bandwidth.json');
}

/** The cached measurement for this machine, else measure and cache it. Undefined when measuring fails. */
export async function cpuBandwidth(opts: { path?: string; log?: (m: string) => void; measure?: () => Promise<CpuBandwidth> } = {}): Promise<CpuBandwidth | undefined> {
  const path = opts.path ?? cpuBandwidthCachePath();
  const fp = machineFingerprint();
  try {
    const text = await readFile(path, 'utf8');
    if (text.length < 4096) {
      const c = JSON.parse(text) as Partial<CpuBandwidth>;
      if (c.fingerprint === fp && typeof c.gbps === 'number' && c.gbps > 0 && c.gbps < 10_000 && typeof c.measuredAt === 'string') return c as CpuBandwidth;
    }
  } catch {
    /* no cache yet, or unreadable: measure */
  }
  let m: CpuBandwidth;
  try {
    m = await (opts.measure ?? measureCpuBandwidth)();
  } catch (err) {
    opts.log?.(`CPU bandwidth measurement failed: ${(err as Error).message}`);
    return undefined;
  }
  try {
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(m) + '\n');
    await rename(tmp, path);
  } catch (err) {
    opts.log?.(`could not cache the CPU bandwidth at ${path}: ${(err as Error).message}`);
  }
  return m;
}
