// Detects THIS machine: total memory, Apple chip (sysctl), NVIDIA GPUs (nvidia-smi). Every probe has a timeout
// and a size cap; a missing or hanging tool just means "not found". Interpretation lives in estimator/hardware.ts.
import { execFile } from 'node:child_process';
import * as os from 'node:os';
import { readCpuFlags } from './cpu-flags';
import { hardwareFromFacts, type DetectedHardware, type HardwareFacts } from '../estimator/hardware';
import { profileWithLive, type LiveMemory } from '../estimator/live';

/** Runs a program and returns stdout, or undefined on any failure (not installed, non-zero exit, timeout). */
export type Runner = (file: string, args: string[], timeoutMs: number) => Promise<string | undefined>;

const MAX_OUTPUT = 64 * 1024;

export const execRunner: Runner = (file, args, timeoutMs) =>
  new Promise((resolve) => {
    try {
      execFile(file, args, { timeout: timeoutMs, maxBuffer: MAX_OUTPUT, windowsHide: true, killSignal: 'SIGKILL' }, (err, stdout) =>
        resolve(err ? undefined : String(stdout)),
      );
    } catch {
      resolve(undefined);
    }
  });

export interface DetectOptions {
  run?: Runner;
  platform?: NodeJS.Platform;
  totalMemBytes?: number;
  cpuModel?: string;
  timeoutMs?: number;
  /** /proc/cpuinfo (tests point it at a recorded copy). */
  cpuinfoPath?: string;
}

/** Parse `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits` (MiB; `[N/A]` on GB10). */
export function parseNvidiaSmi(out: string): { name: string; vramBytes?: number }[] {
  return out
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(0, 16)
    .map((l) => {
      const idx = l.lastIndexOf(',');
      const name = (idx >= 0 ? l.slice(0, idx) : l).trim().slice(0, 120);
      const mib = idx >= 0 ? Number(l.slice(idx + 1).trim()) : NaN;
      return Number.isFinite(mib) && mib > 0 && mib < 16 * 1024 * 1024 ? { name, vramBytes: mib * 1024 * 1024 } : { name };
    })
    .filter((g) => g.name.length > 0);
}

export async function gatherHardwareFacts(opts: DetectOptions = {}): Promise<HardwareFacts> {
  const run = opts.run ?? execRunner;
  const timeout = opts.timeoutMs ?? 2000;
  const platform = opts.platform ?? process.platform;
  const facts: HardwareFacts = {
    platform,
    arch: process.arch,
    totalMemBytes: opts.totalMemBytes ?? os.totalmem(),
    cpuModel: opts.cpuModel ?? os.cpus()[0]?.model?.trim(),
  };
  const [chip, smi] = await Promise.all([
    platform === 'darwin' ? run('sysctl', ['-n', 'machdep.cpu.brand_string'], timeout) : Promise.resolve(undefined),
    platform === 'darwin' ? Promise.resolve(undefined) : run('nvidia-smi', ['--query-gpu=name,memory.total', '--format=csv,noheader,nounits'], timeout),
  ]);
  if (chip?.trim()) facts.appleChip = chip.trim().slice(0, 120);
  const flags = platform === 'linux' ? await readCpuFlags(opts.cpuinfoPath) : undefined;
  if (flags) facts.cpuFlags = flags;
  if (smi) {
    const gpus = parseNvidiaSmi(smi);
    if (gpus.length) facts.gpus = gpus;
  }
  return facts;
}

/** Detect this machine and map it to a profile (never throws: falls back to a CPU profile). */
export async function detectLocalHardware(opts: DetectOptions = {}): Promise<DetectedHardware & { facts: HardwareFacts }> {
  const facts = await gatherHardwareFacts(opts);
  return { ...hardwareFromFacts(facts), facts };
}

export interface LiveDetectOptions extends DetectOptions {
  /** Measure (or load the cached) CPU bandwidth when the machine maps to a CPU profile. */
  measureCpu?: boolean;
  log?: (message: string) => void;
}

/**
 * Detection plus the live reading (issue 12): the profile adjusted by the Apple wired limit and, on CPU profiles,
 * the measured memory bandwidth. Never throws.
 */
export async function detectLiveHardware(opts: LiveDetectOptions = {}): Promise<DetectedHardware & { facts: HardwareFacts; live?: LiveMemory }> {
  const { readLiveMemory } = await import('./live-memory.js');
  const [d, read] = await Promise.all([
    detectLocalHardware(opts),
    readLiveMemory({ ...(opts.platform ? { platform: opts.platform } : {}), ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}), ...(opts.log ? { log: opts.log } : {}), apu: /Ryzen AI Max/i.test(opts.cpuModel ?? os.cpus()[0]?.model ?? '') || undefined }).catch(() => ({ live: undefined })),
  ]);
  let live = read.live;
  if (live && opts.measureCpu && d.profile.kind === 'cpu') {
    const { cpuBandwidth } = await import('./cpu-bandwidth.js');
    const bw = await cpuBandwidth(opts.log ? { log: opts.log } : {});
    if (bw) live = { ...live, cpuBandwidthGBps: bw.gbps, cpuBandwidthSource: `streaming-read benchmark, ${bw.threads} threads, ${bw.measuredAt} (cached per machine)` };
  }
  const detail = live?.cpuBandwidthGBps && d.profile.kind === 'cpu' ? d.detail.replace('bandwidth assumed', `${live.cpuBandwidthGBps} GB/s measured`) : d.detail;
  return { ...d, detail, profile: profileWithLive(d.profile, live), ...(live ? { live } : {}) };
}
