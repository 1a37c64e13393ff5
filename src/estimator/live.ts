// The machine as it is right now (issue 12): the memory pool a model lives in, what is free, what other
// processes hold, swap, the Apple GPU wired limit. Gathered by src/providers/live-memory.ts; this file holds
// the shape (the `headroom hardware --json` contract) and the pure budget math on top of it.
import { appleUsableFraction, usableBytes, type HardwareSpec } from './hardware';

const GiB = 1024 ** 3;

export interface LiveGpu {
  name: string;
  totalBytes: number;
  usedBytes: number;
  freeBytes: number;
  index?: number;
  /** AMD APUs: the BIOS carve-out and the GTT share that together make `totalBytes`. */
  vramBytes?: number;
  gttBytes?: number;
  source: string;
}

/** Absent fields = not measurable here (never a stand-in 0). */
export interface LiveMemory {
  /** The pool models are loaded into: summed VRAM of discrete GPUs, else system (unified) memory. */
  totalBytes: number;
  availableBytes: number;
  /** Used in the pool by everything (no engine subtracted: `budgetNow` does that). */
  usedByOthersBytes?: number;
  swapUsedBytes?: number;
  swapTotalBytes?: number;
  gpus?: LiveGpu[];
  /** macOS: the GPU wired-memory limit in force (set, or the default share when `iogpu.wired_limit_mb` is 0). */
  wiredLimitBytes?: number;
  /** true when `iogpu.wired_limit_mb` is set (> 0), false when the macOS default applies. */
  wiredLimitSet?: boolean;
  /** Measured streaming-read bandwidth of system memory (CPU profile / offload). */
  cpuBandwidthGBps?: number;
  /** How and when it was measured. */
  cpuBandwidthSource?: string;
  /** Which pool: discrete GPU memory, an APU's carve-out + GTT, or system memory. */
  pool: 'gpu' | 'apu' | 'system';
  /** System RAM when the pool is a discrete GPU's (offloaded layers and the OS live there). */
  system?: { totalBytes: number; availableBytes: number };
  /** Where each number came from, e.g. `nvidia-smi; /proc/meminfo`. */
  source: string;
  /** ISO time of the reading. */
  at: string;
  /** Tools that failed or answered garbage (each also logged). */
  notes?: string[];
}

/** The macOS default GPU wired limit when `iogpu.wired_limit_mb` is 0. */
export function defaultWiredLimitBytes(totalBytes: number): number {
  return Math.floor(totalBytes * appleUsableFraction(totalBytes));
}

/** An OS reserve to leave when raising the wired limit: 8 GB on ≤ 64 GB machines, 12 GB to 128 GB, 16 GB above. */
export function safeWiredLimitMb(totalBytes: number): number {
  const reserve = totalBytes <= 64 * GiB ? 8 * GiB : totalBytes <= 128 * GiB ? 12 * GiB : 16 * GiB;
  return Math.max(0, Math.floor((totalBytes - reserve) / (1024 * 1024)));
}

export interface WiredAdvice {
  /** The limit now and what it is (set, or the default share). */
  currentBytes: number;
  currentIsDefault: boolean;
  safeMb: number;
  command: string;
  message: string;
}

/**
 * Apple: a model that needs more than the GPU may wire now but fits under a safe raised limit → the exact command.
 * Undefined when it fits already, or would not fit even with the OS reserve kept.
 */
export function wiredLimitAdvice(totalBytes: number, neededBytes: number, currentLimitBytes?: number): WiredAdvice | undefined {
  const current = currentLimitBytes && currentLimitBytes > 0 ? currentLimitBytes : defaultWiredLimitBytes(totalBytes);
  const safeMb = safeWiredLimitMb(totalBytes);
  const safeBytes = safeMb * 1024 * 1024;
  if (neededBytes <= current || neededBytes > safeBytes || safeBytes <= current) return undefined;
  const isDefault = !(currentLimitBytes && currentLimitBytes > 0);
  const command = `sudo sysctl iogpu.wired_limit_mb=${safeMb}`;
  const gb = (b: number) => `${(b / GiB).toFixed(1)} GB`;
  return {
    currentBytes: current,
    currentIsDefault: isDefault,
    safeMb,
    command,
    message:
      `needs ${gb(neededBytes)}, above the ${isDefault ? 'default ' : ''}GPU limit of ${gb(current)}; it fits if you raise the limit: ` +
      `\`${command}\` (leaves ${gb(totalBytes - safeBytes)} for macOS; resets on reboot)`,
  };
}

/** What the engines, other processes and the usable limit leave free, each with its source. */
export interface Budget {
  enginesBytes: number;
  /** Taken by other processes now; undefined without a live reading. */
  othersBytes?: number;
  freeBytes: number;
  usableBytes: number;
  sources: { engines: string; others: string; free: string; usable: string };
}

/** The usable limit: the wired limit on a Mac (when read), else the profile's usable share. */
export function usableNow(hw: HardwareSpec, live?: LiveMemory, overridden = false): { bytes: number; source: string } {
  if (!overridden && hw.kind === 'apple' && live?.wiredLimitBytes) {
    return { bytes: live.wiredLimitBytes, source: live.wiredLimitSet ? 'iogpu.wired_limit_mb' : 'macOS default GPU limit (iogpu.wired_limit_mb = 0)' };
  }
  // An APU (Strix Halo): the BIOS carve-out plus the GTT size is exactly what a GPU backend may allocate.
  if (!overridden && live?.pool === 'apu' && live.totalBytes > 0) return { bytes: live.totalBytes, source: 'amdgpu VRAM carve-out + GTT' };
  return { bytes: usableBytes(hw), source: overridden ? 'your capacity setting' : `profile ${hw.id} (${Math.round(hw.usableFraction * 100)} %)` };
}

/**
 * The budget for this machine now. `enginesBytes` are the local engines' models; whatever else the pool holds
 * is other processes. Free = the smaller of (usable − engines − others) and what the OS says is available.
 */
export function budgetNow(hw: HardwareSpec, enginesBytes: number, live?: LiveMemory, opts: { overridden?: boolean; enginesSource?: string } = {}): Budget {
  const usable = usableNow(hw, live, opts.overridden);
  const engines = Math.max(0, enginesBytes);
  const sources = { engines: opts.enginesSource ?? 'loaded models (engine-reported or estimated)', usable: usable.source, others: '', free: '' };
  if (!live || live.usedByOthersBytes === undefined) {
    return { enginesBytes: engines, freeBytes: Math.max(0, usable.bytes - engines), usableBytes: usable.bytes, sources: { ...sources, free: 'usable − engines (no live reading)' } };
  }
  // Engine memory is part of what the OS counts as used; with mmap'd weights some of it may count as cache: clamp.
  const others = Math.max(0, live.usedByOthersBytes - engines);
  // Apple: the wired limit caps GPU memory only; other apps' memory is not GPU-wired, so it counts once, through
  // what the OS has available. Elsewhere the usable share already reserves for the OS, and others eat into it.
  const apple = hw.kind === 'apple';
  const free = Math.max(0, Math.min(usable.bytes - engines - (apple ? 0 : others), live.availableBytes));
  const how = apple ? 'min(GPU limit − engines, available)' : 'min(usable − engines − others, available)';
  return { enginesBytes: engines, othersBytes: others, freeBytes: free, usableBytes: usable.bytes, sources: { ...sources, others: `${live.source}: used − engines`, free: `${live.source}: ${how}` } };
}

/** Free now for a model that is NOT loaded yet (fit check): all used memory belongs to others. */
export function freeForNewModel(hw: HardwareSpec, live: LiveMemory, overridden = false): number {
  return budgetNow(hw, 0, live, { overridden }).freeBytes;
}

/** Swap grew by at least this much while a model was loaded: worth saying (decode speed dies in swap). */
export const SWAP_GROWTH_BYTES = 256 * 1024 * 1024;

/**
 * The detected profile adjusted by what was read live: a raised Apple wired limit becomes the usable share, and
 * a measured CPU bandwidth replaces the assumed one on CPU profiles (the speed model streams at it).
 */
export function profileWithLive(hw: HardwareSpec, live?: LiveMemory): HardwareSpec {
  let out = hw;
  if (hw.kind === 'apple' && live?.wiredLimitSet && live.wiredLimitBytes && hw.capacityBytes > 0) {
    const f = Math.min(1, live.wiredLimitBytes / hw.capacityBytes);
    out = { ...out, usableFraction: f, source: `${out.source ?? ''}; GPU limit raised: iogpu.wired_limit_mb = ${Math.round(live.wiredLimitBytes / 2 ** 20)}` };
  }
  if (hw.kind === 'cpu' && live?.cpuBandwidthGBps) {
    // The measured streaming peak replaces the assumed one: the CPU η in speed.ts is fitted against exactly this
    // (the groundtruth VM's measured peak), so decode = η × measured.
    const name = out.name.replace(/\s*\(\d+ GB\)$/, '');
    out = {
      ...out,
      bandwidthGBps: live.cpuBandwidthGBps,
      measuredBandwidthGBps: live.cpuBandwidthGBps,
      name: `${name} (${Math.round(out.capacityBytes / GiB)} GB, ${live.cpuBandwidthGBps} GB/s measured)`,
      source: (out.source ?? '').replace(/; bandwidth assumed [^;]*/, '') + `; streaming-read bandwidth measured on this machine: ${live.cpuBandwidthGBps} GB/s`,
    };
  }
  return out;
}
