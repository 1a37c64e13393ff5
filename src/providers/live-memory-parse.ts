// Parsers for the tools and files that say how much memory is in use right now: pure functions over
// the text, so tests run them on captured output. Anything unexpected yields undefined (= not found),
// never a throw. The I/O (spawn with timeout, capped reads) lives in live-memory.ts.

const MiB = 1024 * 1024;
/** Larger than any real machine: a value above it is garbage, not memory. */
const MAX_BYTES = 2 ** 53 / 2;

const plausible = (n: number | undefined): n is number => n !== undefined && Number.isFinite(n) && n >= 0 && n < MAX_BYTES;

export interface SmiGpu {
  index: number;
  name: string;
  /** Undefined where nvidia-smi prints `[N/A]` (GB10 / DGX Spark: memory is the system's). */
  totalBytes?: number;
  usedBytes?: number;
  freeBytes?: number;
}

/** `nvidia-smi --query-gpu=index,name,memory.total,memory.used,memory.free --format=csv,noheader,nounits` (MiB). */
export function parseNvidiaSmiMemory(out: string): SmiGpu[] {
  const gpus: SmiGpu[] = [];
  for (const raw of out.split(/\r?\n/).slice(0, 64)) {
    const line = raw.trim();
    if (!line) continue;
    // A GPU name may contain commas in theory: the three numbers are the LAST three fields.
    const parts = line.split(',').map((s) => s.trim());
    if (parts.length < 5) continue;
    const index = Number(parts[0]);
    const name = parts.slice(1, parts.length - 3).join(',').slice(0, 120);
    if (!Number.isInteger(index) || index < 0 || index > 255 || !name) continue;
    const mib = (s: string): number | undefined => {
      if (!/^\d+(\.\d+)?$/.test(s)) return undefined; // `[N/A]`, `[Not Supported]`, garbage
      const b = Number(s) * MiB;
      return plausible(b) ? b : undefined;
    };
    const [total, used, free] = parts.slice(-3).map(mib);
    gpus.push({ index, name, ...(total !== undefined ? { totalBytes: total } : {}), ...(used !== undefined ? { usedBytes: used } : {}), ...(free !== undefined ? { freeBytes: free } : {}) });
    if (gpus.length >= 16) break;
  }
  return gpus;
}

export interface Meminfo {
  totalBytes: number;
  /** `MemAvailable`: what can be allocated without swapping (free + reclaimable cache). */
  availableBytes: number;
  swapTotalBytes?: number;
  swapFreeBytes?: number;
}

/** Linux `/proc/meminfo` (values in kB, which the kernel means as KiB). */
export function parseMeminfo(text: string): Meminfo | undefined {
  const kv = new Map<string, number>();
  for (const line of text.split('\n').slice(0, 200)) {
    const m = /^([A-Za-z0-9_()]+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line.trim());
    if (m) kv.set(m[1]!, Number(m[2]) * 1024);
  }
  const total = kv.get('MemTotal');
  // Kernels before 3.14 have no MemAvailable: free + page cache is the old approximation.
  const avail = kv.get('MemAvailable') ?? (kv.has('MemFree') ? kv.get('MemFree')! + (kv.get('Cached') ?? 0) + (kv.get('Buffers') ?? 0) : undefined);
  if (!plausible(total) || total === 0 || !plausible(avail) || avail > total) return undefined;
  const st = kv.get('SwapTotal');
  const sf = kv.get('SwapFree');
  return { totalBytes: total, availableBytes: avail, ...(plausible(st) && plausible(sf) && sf <= st ? { swapTotalBytes: st, swapFreeBytes: sf } : {}) };
}

/** One number per file, as sysfs writes them (`mem_info_vram_total` is bytes). */
export function parseSysfsNumber(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (!/^\d{1,17}$/.test(t)) return undefined;
  const n = Number(t);
  return plausible(n) ? n : undefined;
}

export interface AmdGpuMemory {
  card: string;
  vramTotalBytes: number;
  vramUsedBytes: number;
  gttTotalBytes?: number;
  gttUsedBytes?: number;
}

/** amdgpu sysfs: `cardN/device/mem_info_{vram,gtt}_{total,used}`; a card without VRAM totals is not an amdgpu. */
export function amdFromSysfs(card: string, files: Record<string, string | undefined>): AmdGpuMemory | undefined {
  const vt = parseSysfsNumber(files.mem_info_vram_total);
  const vu = parseSysfsNumber(files.mem_info_vram_used);
  if (vt === undefined || vu === undefined || vt === 0 || vu > vt) return undefined;
  const gt = parseSysfsNumber(files.mem_info_gtt_total);
  const gu = parseSysfsNumber(files.mem_info_gtt_used);
  const gtt = gt !== undefined && gu !== undefined && gu <= gt ? { gttTotalBytes: gt, gttUsedBytes: gu } : {};
  return { card, vramTotalBytes: vt, vramUsedBytes: vu, ...gtt };
}

/**
 * `rocm-smi --showmeminfo vram gtt --json`: `{"card0": {"VRAM Total Memory (B)": "…", "VRAM Total Used Memory (B)": "…",
 * "GTT Total Memory (B)": "…", "GTT Total Used Memory (B)": "…"}}` (values are decimal strings).
 */
export function parseRocmSmiJson(text: string): AmdGpuMemory[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return [];
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return [];
  const out: AmdGpuMemory[] = [];
  for (const [card, v] of Object.entries(doc as Record<string, unknown>).slice(0, 16)) {
    if (!/^card\d+$/.test(card) || !v || typeof v !== 'object') continue;
    const rec = v as Record<string, unknown>;
    const num = (k: string) => (typeof rec[k] === 'string' || typeof rec[k] === 'number' ? parseSysfsNumber(String(rec[k])) : undefined);
    const g = amdFromSysfs(card, {
      mem_info_vram_total: rec['VRAM Total Memory (B)'] !== undefined ? String(num('VRAM Total Memory (B)') ?? '') : undefined,
      mem_info_vram_used: rec['VRAM Total Used Memory (B)'] !== undefined ? String(num('VRAM Total Used Memory (B)') ?? '') : undefined,
      mem_info_gtt_total: rec['GTT Total Memory (B)'] !== undefined ? String(num('GTT Total Memory (B)') ?? '') : undefined,
      mem_info_gtt_used: rec['GTT Total Used Memory (B)'] !== undefined ? String(num('GTT Total Used Memory (B)') ?? '') : undefined,
    });
    if (g) out.push(g);
  }
  return out;
}

export interface VmStat {
  pageSize: number;
  free: number;
  active: number;
  inactive: number;
  speculative: number;
  wired: number;
  /** "Pages occupied by compressor": physical pages holding compressed memory. */
  compressed: number;
  purgeable?: number;
  anonymous?: number;
}

/** macOS `vm_stat`: `Mach Virtual Memory Statistics: (page size of 16384 bytes)` then `Pages free:  12345.` lines. */
export function parseVmStat(text: string): VmStat | undefined {
  const ps = /page size of (\d+) bytes/.exec(text);
  const pageSize = ps ? Number(ps[1]) : NaN;
  if (!(pageSize === 4096 || pageSize === 16384)) return undefined;
  const kv = new Map<string, number>();
  for (const line of text.split('\n').slice(0, 100)) {
    const m = /^"?([A-Za-z][A-Za-z \-()]+?)"?:\s+(\d+)\.?\s*$/.exec(line.trim());
    if (m) kv.set(m[1]!.toLowerCase(), Number(m[2]));
  }
  const get = (k: string) => kv.get(k);
  const free = get('pages free');
  const active = get('pages active');
  const inactive = get('pages inactive');
  const wired = get('pages wired down');
  if ([free, active, inactive, wired].some((v) => v === undefined || !plausible(v * pageSize))) return undefined;
  const opt = (k: string) => {
    const v = get(k);
    return v !== undefined && plausible(v * pageSize) ? v : undefined;
  };
  const purgeable = opt('pages purgeable');
  const anonymous = opt('anonymous pages');
  return {
    pageSize,
    free: free!,
    active: active!,
    inactive: inactive!,
    speculative: opt('pages speculative') ?? 0,
    wired: wired!,
    compressed: opt('pages occupied by compressor') ?? 0,
    ...(purgeable !== undefined ? { purgeable } : {}),
    ...(anonymous !== undefined ? { anonymous } : {}),
  };
}

/**
 * Available memory on macOS from vm_stat, the way Activity Monitor counts "Memory Used" (app memory + wired +
 * compressed): available = total − used. Without the anonymous-page count (older macOS): free + inactive + speculative.
 */
export function macAvailableBytes(vm: VmStat, totalBytes: number): number {
  const p = vm.pageSize;
  if (vm.anonymous !== undefined) {
    const app = Math.max(0, vm.anonymous - (vm.purgeable ?? 0));
    const used = (app + vm.wired + vm.compressed) * p;
    return Math.max(0, Math.min(totalBytes, totalBytes - used));
  }
  return Math.min(totalBytes, (vm.free + vm.inactive + vm.speculative) * p);
}

/** macOS `sysctl -n vm.swapusage`: `total = 2048.00M  used = 1034.75M  free = 1013.25M  (encrypted)`. */
export function parseSwapUsage(text: string): { totalBytes: number; usedBytes: number } | undefined {
  const unit = (n: string, u: string) => Number(n) * (u === 'G' ? 1024 * MiB : u === 'K' ? 1024 : MiB);
  const t = /total = ([\d.]+)([KMG])/.exec(text);
  const u = /used = ([\d.]+)([KMG])/.exec(text);
  if (!t || !u) return undefined;
  const total = unit(t[1]!, t[2]!);
  const used = unit(u[1]!, u[2]!);
  return plausible(total) && plausible(used) && used <= total * 1.001 ? { totalBytes: Math.round(total), usedBytes: Math.round(used) } : undefined;
}

/** `sysctl -n hw.memsize` / `iogpu.wired_limit_mb`: one non-negative integer. */
export function parseSysctlInt(text: string | undefined): number | undefined {
  return parseSysfsNumber(text);
}
