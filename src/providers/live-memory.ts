// Reads the machine's memory as it is now (issue 12): nvidia-smi per GPU, amdgpu sysfs (or rocm-smi JSON),
// /proc/meminfo, and on macOS hw.memsize, iogpu.wired_limit_mb, vm_stat and vm.swapusage. Every tool runs with a
// timeout, an output cap and a process-group kill on hang; every file read is capped. A tool that is missing,
// hangs or answers garbage is "not found" with one log line — never a throw. Parsing: live-memory-parse.ts.
import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import * as os from 'node:os';
import { join } from 'node:path';
import { defaultWiredLimitBytes, type LiveGpu, type LiveMemory } from '../estimator/live';
import {
  amdFromSysfs,
  macAvailableBytes,
  parseMeminfo,
  parseNvidiaSmiMemory,
  parseRocmSmiJson,
  parseSwapUsage,
  parseSysctlInt,
  parseVmStat,
  type AmdGpuMemory,
  type Meminfo,
  type SmiGpu,
} from './live-memory-parse';

export type ToolResult = { ok: true; out: string } | { ok: false; why: string };
export type ToolRunner = (file: string, args: string[], timeoutMs: number) => Promise<ToolResult>;

const MAX_TOOL_OUTPUT = 256 * 1024;
const MAX_FILE = 64 * 1024;

/**
 * Spawn with a deadline and an output cap. The tool runs in its own process group so a hang kills the whole
 * group (a wrapper script's children too) and resolves at the deadline without waiting for pipes to close.
 */
export const spawnTool: ToolRunner = (file, args, timeoutMs) =>
  new Promise((resolve) => {
    let settled = false;
    let out = '';
    let size = 0;
    const group = process.platform !== 'win32';
    const done = (r: ToolResult, kill = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (kill) {
        try {
          if (group && child.pid) process.kill(-child.pid, 'SIGKILL');
          else child.kill('SIGKILL');
        } catch {
          /* already gone */
        }
      }
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve(r);
    };
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true, detached: group });
    } catch (err) {
      resolve({ ok: false, why: `cannot start: ${(err as Error).message}` });
      return;
    }
    const timer = setTimeout(() => done({ ok: false, why: `no answer in ${timeoutMs} ms (killed)` }, true), timeoutMs);
    timer.unref?.();
    child.stdout!.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_TOOL_OUTPUT) return done({ ok: false, why: `output over ${MAX_TOOL_OUTPUT} bytes (killed)` }, true);
      out += d.toString('utf8');
    });
    child.stderr!.on('data', () => {});
    child.on('error', (err: NodeJS.ErrnoException) => done({ ok: false, why: err.code === 'ENOENT' ? 'not installed' : err.message }));
    child.on('close', (code, signal) => done(code === 0 ? { ok: true, out } : { ok: false, why: signal ? `killed by ${signal}` : `exit code ${code}` }));
  });

/** A small file (sysfs, /proc), read up to a cap; undefined when absent or unreadable. */
export async function readSmallFile(path: string, cap = MAX_FILE): Promise<string | undefined> {
  let fh;
  try {
    // O_NONBLOCK: a FIFO planted where a sysfs file should be must not block a libuv thread forever.
    fh = await open(path, fsConstants.O_NONBLOCK !== undefined ? fsConstants.O_RDONLY | fsConstants.O_NONBLOCK : 'r');
    const buf = Buffer.alloc(cap);
    let len = 0;
    // /proc files report size 0: read until EOF or the cap.
    for (;;) {
      const { bytesRead } = await fh.read(buf, len, cap - len, null);
      if (bytesRead === 0) break;
      len += bytesRead;
      if (len >= cap) return undefined; // larger than any real sysfs/proc file: not what we expect
    }
    return buf.subarray(0, len).toString('utf8');
  } catch {
    return undefined;
  } finally {
    await fh?.close().catch(() => {});
  }
}

export interface LiveOptions {
  platform?: NodeJS.Platform;
  run?: ToolRunner;
  /** Root for /proc and /sys (tests point it at a temp dir). */
  root?: string;
  timeoutMs?: number;
  log?: (message: string) => void;
  /** Skip the slow tools (nvidia-smi, rocm-smi, sysctl, vm_stat) and reuse these results instead. */
  cached?: SlowFacts;
  /** APU hint (e.g. the CPU is a Ryzen AI Max): amdgpu VRAM is a carve-out of system memory. */
  apu?: boolean;
  now?: () => Date;
}

/** Results of the slow tools, kept between polls (≤ every 30 s). */
export interface SlowFacts {
  nvidia?: SmiGpu[];
  rocm?: AmdGpuMemory[];
  mac?: { memsize?: number; wiredLimitMb?: number; vmStat?: string; swap?: { totalBytes: number; usedBytes: number } };
  at: number;
}

const NVIDIA_ARGS = ['--query-gpu=index,name,memory.total,memory.used,memory.free', '--format=csv,noheader,nounits'];

async function tool(run: ToolRunner, name: string, args: string[], timeoutMs: number, notes: string[], log?: (m: string) => void, quietIfMissing = true): Promise<string | undefined> {
  const r = await run(name, args, timeoutMs);
  if (r.ok) return r.out;
  if (!(quietIfMissing && r.why === 'not installed')) {
    const msg = `${name}: ${r.why}; treated as not found`;
    notes.push(msg);
    log?.(msg);
  }
  return undefined;
}

/** Runs the slow tools for this platform (in parallel, each with its own deadline). */
export async function gatherSlowFacts(o: LiveOptions & { notes: string[] }): Promise<SlowFacts> {
  const run = o.run ?? spawnTool;
  const t = o.timeoutMs ?? 2000;
  const platform = o.platform ?? process.platform;
  const facts: SlowFacts = { at: Date.now() };
  if (platform === 'darwin') {
    const [mem, wired, vm, swap] = await Promise.all([
      tool(run, 'sysctl', ['-n', 'hw.memsize'], t, o.notes, o.log, false),
      tool(run, 'sysctl', ['-n', 'iogpu.wired_limit_mb'], t, o.notes, o.log),
      tool(run, 'vm_stat', [], t, o.notes, o.log, false),
      tool(run, 'sysctl', ['-n', 'vm.swapusage'], t, o.notes, o.log),
    ]);
    const memsize = parseSysctlInt(mem);
    const wiredLimitMb = parseSysctlInt(wired);
    const swapU = swap ? parseSwapUsage(swap) : undefined;
    facts.mac = { ...(memsize ? { memsize } : {}), ...(wiredLimitMb !== undefined ? { wiredLimitMb } : {}), ...(vm ? { vmStat: vm } : {}), ...(swapU ? { swap: swapU } : {}) };
    return facts;
  }
  const [smi, rocm] = await Promise.all([
    tool(run, 'nvidia-smi', NVIDIA_ARGS, t, o.notes, o.log),
    platform === 'linux' ? tool(run, 'rocm-smi', ['--showmeminfo', 'vram', 'gtt', '--json'], t, o.notes, o.log) : Promise.resolve(undefined),
  ]);
  if (smi !== undefined) {
    const gpus = parseNvidiaSmiMemory(smi);
    if (gpus.length) facts.nvidia = gpus;
    else {
      const msg = `nvidia-smi: unrecognised output (${JSON.stringify(smi.slice(0, 60))}…); treated as not found`;
      o.notes.push(msg);
      o.log?.(msg);
    }
  }
  if (rocm !== undefined) {
    const gpus = parseRocmSmiJson(rocm);
    if (gpus.length) facts.rocm = gpus;
  }
  return facts;
}

/** amdgpu cards under <root>/sys/class/drm (the renderer nodes `card0`, `card1`, … only). */
export async function readAmdSysfs(root: string): Promise<AmdGpuMemory[]> {
  const drm = join(root, 'sys/class/drm');
  let cards: string[];
  try {
    cards = (await readdir(drm)).filter((c) => /^card\d+$/.test(c)).slice(0, 16);
  } catch {
    return [];
  }
  const out: AmdGpuMemory[] = [];
  for (const card of cards.sort()) {
    const dir = join(drm, card, 'device');
    const names = ['mem_info_vram_total', 'mem_info_vram_used', 'mem_info_gtt_total', 'mem_info_gtt_used'] as const;
    const vals = await Promise.all(names.map((n) => readSmallFile(join(dir, n), 64)));
    const g = amdFromSysfs(card, Object.fromEntries(names.map((n, i) => [n, vals[i]])));
    if (g) out.push(g);
  }
  return out;
}

const GiB = 1024 ** 3;

/** Reads everything and combines it into one LiveMemory. Never throws; undefined only when nothing is known. */
export async function readLiveMemory(o: LiveOptions = {}): Promise<{ live?: LiveMemory; slow: SlowFacts }> {
  const platform = o.platform ?? process.platform;
  const root = o.root ?? '/';
  const notes: string[] = [];
  const at = (o.now ?? (() => new Date()))().toISOString();
  const [slow, meminfoText, amd] = await Promise.all([
    o.cached ? Promise.resolve(o.cached) : gatherSlowFacts({ ...o, notes }),
    platform === 'linux' ? readSmallFile(join(root, 'proc/meminfo')) : Promise.resolve(undefined),
    platform === 'linux' ? readAmdSysfs(root) : Promise.resolve([]),
  ]);
  const sources: string[] = [];
  // System memory: /proc/meminfo on Linux, vm_stat on macOS, else Node's view (Windows: GlobalMemoryStatusEx).
  let sys: (Meminfo & { swapUsedBytes?: number }) | undefined;
  if (meminfoText !== undefined) {
    const m = parseMeminfo(meminfoText);
    if (m) {
      // No swap configured: the swap fields stay absent (0 would read as "measured, none used").
      const { swapTotalBytes, swapFreeBytes, ...core } = m;
      sys = { ...core, ...(swapTotalBytes && swapFreeBytes !== undefined ? { swapTotalBytes, swapUsedBytes: swapTotalBytes - swapFreeBytes } : {}) };
      sources.push('/proc/meminfo');
    } else {
      const msg = `${join(root, 'proc/meminfo')}: unrecognised content; falling back to the OS totals`;
      notes.push(msg);
      o.log?.(msg);
    }
  }
  let wiredLimitBytes: number | undefined;
  let wiredLimitSet: boolean | undefined;
  if (platform === 'darwin' && slow.mac) {
    const total = slow.mac.memsize ?? os.totalmem();
    const vm = slow.mac.vmStat ? parseVmStat(slow.mac.vmStat) : undefined;
    if (slow.mac.vmStat && !vm) {
      const msg = 'vm_stat: unrecognised output; treated as not found';
      notes.push(msg);
      o.log?.(msg);
    }
    if (vm) {
      sys = { totalBytes: total, availableBytes: macAvailableBytes(vm, total), ...(slow.mac.swap ? { swapTotalBytes: slow.mac.swap.totalBytes, swapUsedBytes: slow.mac.swap.usedBytes } : {}) };
      sources.push(slow.mac.memsize ? 'sysctl hw.memsize + vm_stat' : 'vm_stat');
      if (slow.mac.swap) sources.push('vm.swapusage');
    }
    if (slow.mac.wiredLimitMb !== undefined) {
      wiredLimitSet = slow.mac.wiredLimitMb > 0;
      wiredLimitBytes = wiredLimitSet ? slow.mac.wiredLimitMb * 1024 * 1024 : defaultWiredLimitBytes(total);
      sources.push('iogpu.wired_limit_mb');
    }
  }
  if (!sys) {
    const total = os.totalmem();
    const free = os.freemem();
    if (total > 0 && free >= 0 && free <= total) {
      sys = { totalBytes: total, availableBytes: free };
      sources.push('os.totalmem/os.freemem');
    }
  }

  const gpus: LiveGpu[] = [];
  let pool: LiveMemory['pool'] = 'system';
  // NVIDIA: discrete cards report VRAM; GB10 says [N/A] (its memory is the system's): those stay on the system pool.
  const nv = (slow.nvidia ?? []).filter((g): g is Required<SmiGpu> => g.totalBytes !== undefined && g.usedBytes !== undefined && g.freeBytes !== undefined);
  if (nv.length) {
    pool = 'gpu';
    for (const g of nv) gpus.push({ index: g.index, name: g.name, totalBytes: g.totalBytes, usedBytes: g.usedBytes, freeBytes: g.freeBytes, source: 'nvidia-smi' });
    sources.unshift('nvidia-smi');
  } else if (slow.nvidia?.length) {
    sources.push(`nvidia-smi (${slow.nvidia.map((g) => g.name).join(', ')}: memory [N/A], unified with the system)`);
  }
  const amdCards = amd.length ? amd : (slow.rocm ?? []);
  const amdSource = amd.length ? 'amdgpu sysfs' : 'rocm-smi';
  if (!nv.length && amdCards.length) {
    const sysTotal = sys?.totalBytes ?? 0;
    for (const c of amdCards) {
      // An APU (Strix Halo): a small BIOS carve-out plus GTT, both out of system RAM. A discrete card: its VRAM.
      const apu = o.apu ?? (c.vramTotalBytes <= 4 * GiB || (c.gttTotalBytes !== undefined && c.gttTotalBytes > c.vramTotalBytes && sysTotal > 0 && c.vramTotalBytes < sysTotal));
      if (apu && c.gttTotalBytes !== undefined && c.gttUsedBytes !== undefined) {
        pool = 'apu';
        const vramFree = c.vramTotalBytes - c.vramUsedBytes;
        // GTT pages are ordinary system RAM: what is free there is capped by what the OS has available.
        const gttFree = Math.min(c.gttTotalBytes - c.gttUsedBytes, sys?.availableBytes ?? Infinity);
        gpus.push({ name: `AMD GPU ${c.card} (VRAM carve-out + GTT)`, totalBytes: c.vramTotalBytes + c.gttTotalBytes, usedBytes: c.vramUsedBytes + c.gttUsedBytes, freeBytes: vramFree + gttFree, vramBytes: c.vramTotalBytes, gttBytes: c.gttTotalBytes, source: amdSource });
      } else {
        pool = 'gpu';
        gpus.push({ name: `AMD GPU ${c.card}`, totalBytes: c.vramTotalBytes, usedBytes: c.vramUsedBytes, freeBytes: c.vramTotalBytes - c.vramUsedBytes, vramBytes: c.vramTotalBytes, source: amdSource });
      }
    }
    sources.unshift(amdSource);
  }

  if (!sys && !gpus.length) return { slow };
  const swap = sys && sys.swapUsedBytes !== undefined ? { swapUsedBytes: sys.swapUsedBytes, ...(sys.swapTotalBytes !== undefined ? { swapTotalBytes: sys.swapTotalBytes } : {}) } : {};
  let live: LiveMemory;
  if (pool === 'system' || !gpus.length) {
    live = { totalBytes: sys!.totalBytes, availableBytes: sys!.availableBytes, usedByOthersBytes: sys!.totalBytes - sys!.availableBytes, ...swap, pool: 'system', source: sources.join('; '), at };
    if (gpus.length) live.gpus = gpus;
  } else {
    const total = gpus.reduce((s, g) => s + g.totalBytes, 0);
    const free = gpus.reduce((s, g) => s + g.freeBytes, 0);
    const used = gpus.reduce((s, g) => s + g.usedBytes, 0);
    live = {
      totalBytes: total,
      availableBytes: free,
      usedByOthersBytes: pool === 'apu' ? Math.max(0, total - free) : used,
      ...swap,
      gpus,
      pool,
      ...(sys ? { system: { totalBytes: sys.totalBytes, availableBytes: sys.availableBytes } } : {}),
      source: sources.join('; '),
      at,
    };
  }
  if (wiredLimitBytes !== undefined) {
    live.wiredLimitBytes = wiredLimitBytes;
    live.wiredLimitSet = wiredLimitSet!;
  }
  if (notes.length) live.notes = notes;
  return { live, slow };
}

/**
 * For the extension's poll: cheap sources (/proc, sysfs) on every read, the slow tools at most every `slowMs`
 * (30 s). A read never waits for a slow refresh once a first reading exists: it returns the cached tool output.
 */
export class LiveMemoryProbe {
  private slow: SlowFacts | undefined;
  private refreshing: Promise<void> | undefined;
  private last: LiveMemory | undefined;

  constructor(private readonly opts: LiveOptions & { slowMs?: number; firstWaitMs?: number } = {}) {}

  get latest(): LiveMemory | undefined {
    return this.last;
  }

  async read(): Promise<LiveMemory | undefined> {
    const slowMs = this.opts.slowMs ?? 30_000;
    const stale = !this.slow || Date.now() - this.slow.at >= slowMs;
    if (stale && !this.refreshing) {
      const notes: string[] = [];
      this.refreshing = gatherSlowFacts({ ...this.opts, notes })
        .then((s) => {
          this.slow = s;
        })
        .catch(() => {})
        .finally(() => {
          this.refreshing = undefined;
        });
    }
    // First reading: wait briefly for the tools (a healthy nvidia-smi answers in ~100 ms); a hanging one must not hold
    // the status bar for its whole timeout — that reading goes without it, the next poll has it. Later: never wait.
    if (!this.slow && this.refreshing) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([this.refreshing, new Promise<void>((r) => (timer = setTimeout(r, this.opts.firstWaitMs ?? 500)))]);
      clearTimeout(timer);
    }
    const { live } = await readLiveMemory({ ...this.opts, cached: this.slow ?? { at: 0 } });
    if (live) this.last = live;
    return live;
  }
}
