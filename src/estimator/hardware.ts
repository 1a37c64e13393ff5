// Hardware profiles: how much memory an accelerator can give a model and how fast it can stream it.
// Pure data + lookups; detecting the local machine lives in src/providers/local-hardware.ts.
import type { HardwareProfile } from './types';
import { cpuFeaturesFromFlags, type CpuBufferFeatures } from './cpu-buffers';

const GiB = 1024 ** 3;

/** A profile plus the dense FP16/BF16 compute used for prefill estimates. */
export interface HardwareSpec extends HardwareProfile {
  /** Dense FP16/BF16 throughput in TFLOPS (tensor/matrix units where the stack uses them). */
  fp16Tflops: number;
  /** How the weights are streamed: decides the stack-efficiency factor in speed.ts. */
  backend: 'metal' | 'cuda' | 'vulkan' | 'cpu';
  /** CPU backend: which weights llama.cpp copies into CPU_REPACK / AMX buffers (DEFAULT_CPU_FEATURES when unknown). */
  cpuFeatures?: CpuBufferFeatures;
  /** GPU dies joined by a die-to-die link (Apple Ultra = 2 Max dies over UltraFusion); absent = 1. */
  dies?: number;
}

/** Share of unified memory macOS lets the GPU wire by default (`recommendedMaxWorkingSetSize`). */
export function appleUsableFraction(capacityBytes: number): number {
  // ~2/3 on machines up to 36 GB, ~3/4 above; `sudo sysctl iogpu.wired_limit_mb=N` raises it.
  return capacityBytes <= 36 * GiB ? 2 / 3 : 0.75;
}

/** NVIDIA discrete GPUs: all VRAM except the CUDA context / driver reserve (~0.5–1 GiB). */
export function nvidiaUsableFraction(capacityBytes: number, reserveBytes = 0.8 * GiB): number {
  return Math.max(0, (capacityBytes - reserveBytes) / capacityBytes);
}

interface Row {
  id: string;
  name: string;
  gb: number;
  bw: number;
  measured?: number;
  tflops: number;
  kind: HardwareProfile['kind'];
  backend: HardwareSpec['backend'];
  unified: boolean;
  usable?: number;
  dies?: number;
  source: string;
}

// Bandwidth: vendor spec sheets (Apple newsroom/tech specs, NVIDIA datasheets, AMD), as listed in the issue.
// TFLOPS: dense FP16 (GPU ALUs for Apple: cores × 128 FP32 lanes × 2 × clock; tensor cores, FP32 accumulate, for NVIDIA).
const ROWS: Row[] = [
  { id: 'm5-max-128', name: 'Apple M5 Max (128 GB)', gb: 128, bw: 614, tflops: 60, kind: 'apple', backend: 'metal', unified: true, source: 'Apple M5 Max spec: 614 GB/s (seeds quote 460–614); TFLOPS approximate (GPU neural accelerators)' },
  { id: 'm4-max-128', name: 'Apple M4 Max (128 GB)', gb: 128, bw: 546, tflops: 16.1, kind: 'apple', backend: 'metal', unified: true, source: 'Apple M4 Max tech specs: 546 GB/s, 40-core GPU' },
  { id: 'm4-pro-48', name: 'Apple M4 Pro (48 GB)', gb: 48, bw: 273, tflops: 8.1, kind: 'apple', backend: 'metal', unified: true, source: 'Apple M4 Pro tech specs: 273 GB/s, 20-core GPU' },
  { id: 'm4-pro-64', name: 'Apple M4 Pro (64 GB)', gb: 64, bw: 273, tflops: 8.1, kind: 'apple', backend: 'metal', unified: true, source: 'Apple M4 Pro tech specs: 273 GB/s, 20-core GPU' },
  { id: 'm3-ultra-512', name: 'Apple M3 Ultra (512 GB)', gb: 512, bw: 819, tflops: 28.7, kind: 'apple', backend: 'metal', unified: true, dies: 2, source: 'Apple M3 Ultra tech specs: 819 GB/s, 80-core GPU' },
  { id: 'm3-max-128', name: 'Apple M3 Max (128 GB)', gb: 128, bw: 400, tflops: 14.2, kind: 'apple', backend: 'metal', unified: true, source: 'Apple M3 Max tech specs: 400 GB/s, 40-core GPU' },
  { id: 'm2-ultra-192', name: 'Apple M2 Ultra (192 GB)', gb: 192, bw: 800, tflops: 27.2, kind: 'apple', backend: 'metal', unified: true, dies: 2, source: 'Apple M2 Ultra tech specs: 800 GB/s, 76-core GPU' },
  { id: 'm1-max-64', name: 'Apple M1 Max (64 GB)', gb: 64, bw: 400, tflops: 10.4, kind: 'apple', backend: 'metal', unified: true, source: 'Apple M1 Max tech specs: 400 GB/s, 32-core GPU' },
  { id: 'strix-halo-128', name: 'AMD Ryzen AI Max+ 395 "Strix Halo" (128 GB)', gb: 128, bw: 256, measured: 215, tflops: 59, kind: 'amd', backend: 'vulkan', unified: true, usable: 0.75, source: 'AMD: LPDDR5X-8000 256-bit = 256 GB/s peak, ~215 measured (kyuz0/amd-strix-halo-toolboxes); GPU share set by BIOS/GTT (amdgpu.gttsize), 96 of 128 GB typical' },
  { id: 'dgx-spark-128', name: 'NVIDIA DGX Spark GB10 (128 GB)', gb: 128, bw: 273, tflops: 62, kind: 'nvidia', backend: 'cuda', unified: true, usable: 0.92, source: 'NVIDIA DGX Spark datasheet: 273 GB/s LPDDR5x, unified with the OS (nvidia-smi reports no memory usage)' },
  { id: 'rtx-5090', name: 'NVIDIA GeForce RTX 5090 (32 GB)', gb: 32, bw: 1792, tflops: 209, kind: 'nvidia', backend: 'cuda', unified: false, source: 'NVIDIA RTX 5090 spec: 32 GB GDDR7, 1792 GB/s' },
  { id: 'rtx-pro-6000', name: 'NVIDIA RTX PRO 6000 Blackwell (96 GB)', gb: 96, bw: 1792, tflops: 250, kind: 'nvidia', backend: 'cuda', unified: false, source: 'NVIDIA RTX PRO 6000 Blackwell datasheet: 96 GB GDDR7, 1792 GB/s' },
  { id: 'rtx-4090', name: 'NVIDIA GeForce RTX 4090 (24 GB)', gb: 24, bw: 1008, tflops: 165, kind: 'nvidia', backend: 'cuda', unified: false, source: 'NVIDIA RTX 4090 spec: 24 GB GDDR6X, 1008 GB/s' },
  { id: 'rtx-3090', name: 'NVIDIA GeForce RTX 3090 (24 GB)', gb: 24, bw: 936, tflops: 71, kind: 'nvidia', backend: 'cuda', unified: false, source: 'NVIDIA RTX 3090 spec: 24 GB GDDR6X, 936 GB/s' },
  { id: 'h100-sxm-80', name: 'NVIDIA H100 SXM (80 GB)', gb: 80, bw: 3350, tflops: 989, kind: 'nvidia', backend: 'cuda', unified: false, source: 'NVIDIA H100 datasheet: 80 GB HBM3, 3.35 TB/s, 989 TFLOPS BF16 dense' },
  { id: 'h200-141', name: 'NVIDIA H200 (141 GB)', gb: 141, bw: 4800, tflops: 989, kind: 'nvidia', backend: 'cuda', unified: false, source: 'NVIDIA H200 datasheet: 141 GB HBM3e, 4.8 TB/s' },
  // Profiles for the machines the published speed table names (test/fixtures/research/speed-published.csv).
  { id: 'm1-ultra-128', name: 'Apple M1 Ultra (128 GB)', gb: 128, bw: 800, tflops: 21.2, kind: 'apple', backend: 'metal', unified: true, dies: 2, source: 'Apple M1 Ultra tech specs: 800 GB/s, 64-core GPU, 21 TFLOPS FP32 (Apple ALUs run FP16 at the same rate)' },
  { id: 'm2-max-64', name: 'Apple M2 Max (64 GB)', gb: 64, bw: 400, tflops: 13.6, kind: 'apple', backend: 'metal', unified: true, source: 'Apple M2 Max tech specs: 400 GB/s, 38-core GPU (13.6 TFLOPS FP32)' },
  { id: 'm3-ultra-60c-256', name: 'Apple M3 Ultra 60-core GPU (256 GB)', gb: 256, bw: 819, tflops: 21.5, kind: 'apple', backend: 'metal', unified: true, dies: 2, source: 'Apple M3 Ultra tech specs: 819 GB/s; base 60-core GPU (= 80-core figure × 60/80)' },
  { id: 'm4-pro-16c-48', name: 'Apple M4 Pro 16-core GPU (48 GB)', gb: 48, bw: 273, tflops: 6.5, kind: 'apple', backend: 'metal', unified: true, source: 'Apple M4 Pro tech specs: 273 GB/s; binned 16-core GPU (= 20-core figure × 16/20)' },
  { id: 'w7800-48', name: 'AMD Radeon PRO W7800 (48 GB)', gb: 48, bw: 864, tflops: 90.5, kind: 'amd', backend: 'vulkan', unified: false, usable: 0.95, source: 'AMD Radeon PRO W7800 spec: 48 GB GDDR6, 864 GB/s, 90.5 TFLOPS FP16 (70 CUs)' },
  { id: 'b200-180', name: 'NVIDIA B200 (180 GB)', gb: 180, bw: 8000, tflops: 2250, kind: 'nvidia', backend: 'cuda', unified: false, source: 'NVIDIA DGX B200 datasheet: 8 TB/s HBM3e per GPU, 2.25 PFLOPS FP16/BF16 dense per GPU (4.5 sparse)' },
  { id: 'rtx-4080', name: 'NVIDIA GeForce RTX 4080 (16 GB)', gb: 16, bw: 717, tflops: 97.5, kind: 'nvidia', backend: 'cuda', unified: false, source: 'NVIDIA RTX 4080 spec / Ada whitepaper: 16 GB GDDR6X, 716.8 GB/s, 97.5 TFLOPS FP16 tensor dense' },
  { id: 'rtx-4060-8', name: 'NVIDIA GeForce RTX 4060 (8 GB)', gb: 8, bw: 272, tflops: 30, kind: 'nvidia', backend: 'cuda', unified: false, source: 'NVIDIA RTX 4060 spec: 8 GB GDDR6, 272 GB/s; ~30 TFLOPS FP16 tensor dense (Ada, 96 tensor cores)' },
  { id: 'xeon-6138-2s', name: '2× Xeon Gold 6138, 12-channel DDR4-2666 (CPU only)', gb: 384, bw: 128, tflops: 5.1, kind: 'cpu', backend: 'cpu', unified: true, usable: 0.85, source: 'Intel ARK: 6 channels DDR4-2666 per socket = 128 GB/s; 2 sockets (256 GB/s total) but llama.cpp places the weights on one NUMA node (first touch), so decode streams one socket\'s 128 GB/s; 2 × 20 cores AVX-512 ≈ 5 TFLOPS FP32' },
  { id: 'cpu-ddr5', name: 'Desktop CPU, dual-channel DDR5 (64 GB)', gb: 64, bw: 85, tflops: 1.5, kind: 'cpu', backend: 'cpu', unified: true, usable: 0.85, source: 'dual-channel DDR5-5600 = 89.6 GB/s peak, ~80–90 in practice; OS and apps keep ~15 %' },
];

function toSpec(r: Row): HardwareSpec {
  const capacityBytes = r.gb * GiB;
  const usableFraction =
    r.usable ?? (r.kind === 'apple' ? appleUsableFraction(capacityBytes) : r.kind === 'nvidia' && !r.unified ? nvidiaUsableFraction(capacityBytes) : 0.9);
  return {
    id: r.id,
    name: r.name,
    capacityBytes,
    usableFraction,
    bandwidthGBps: r.bw,
    ...(r.measured !== undefined ? { measuredBandwidthGBps: r.measured } : {}),
    unifiedMemory: r.unified,
    kind: r.kind,
    source: r.source,
    fp16Tflops: r.tflops,
    backend: r.backend,
    ...(r.dies ? { dies: r.dies } : {}),
  };
}

export const HARDWARE_PROFILES: readonly HardwareSpec[] = ROWS.map(toSpec);

/** What the user sees when nothing is known about their machine: the seeds' reference box. */
export const DEFAULT_HARDWARE_ID = 'm5-max-128';

export function findHardware(id: string): HardwareSpec | undefined {
  const key = id.trim().toLowerCase();
  return HARDWARE_PROFILES.find((p) => p.id === key);
}

/** Bytes a model may occupy on this hardware. */
export function usableBytes(hw: HardwareProfile): number {
  return Math.floor(hw.capacityBytes * hw.usableFraction);
}

/**
 * `--capacity-gb N`: the memory the accelerator sees (GiB, like the profiles), e.g. a 48 GB Mac or a 16 GB GPU.
 * The usable share follows the same rule as the profile's kind (Apple ~75 %, NVIDIA minus the driver reserve).
 */
export function withCapacityOverride(hw: HardwareSpec, capacityGb: number): HardwareSpec {
  const capacityBytes = Math.round(capacityGb * GiB);
  const usableFraction =
    hw.kind === 'apple' ? appleUsableFraction(capacityBytes) : hw.kind === 'nvidia' && !hw.unifiedMemory ? nvidiaUsableFraction(capacityBytes) : hw.usableFraction;
  return { ...hw, capacityBytes, usableFraction, source: `${hw.source ?? ''}; capacity overridden to ${capacityGb} GB` };
}

/** Bandwidth the speed model streams at: the measured figure where one is published, else the peak. */
export function effectiveBandwidthGBps(hw: HardwareProfile): number {
  return hw.measuredBandwidthGBps ?? hw.bandwidthGBps;
}

/** What local detection found (src/providers/local-hardware.ts gathers it; this file only interprets it). */
export interface HardwareFacts {
  platform: string;
  arch?: string;
  totalMemBytes: number;
  cpuModel?: string;
  /** `machdep.cpu.brand_string` on macOS, e.g. `Apple M4 Max`. */
  appleChip?: string;
  gpus?: { name: string; vramBytes?: number }[];
  /** CPU feature flags (Linux /proc/cpuinfo `flags` / `Features`): decide llama.cpp's CPU repack buffers. */
  cpuFlags?: string[];
}

// Unified-memory bandwidth by Apple chip (Apple tech specs; the binned M3 Max / M4 Max variants are lower).
const APPLE_BW: Record<string, number> = {
  m1: 68, 'm1 pro': 200, 'm1 max': 400, 'm1 ultra': 800,
  m2: 100, 'm2 pro': 200, 'm2 max': 400, 'm2 ultra': 800,
  m3: 100, 'm3 pro': 150, 'm3 max': 400, 'm3 ultra': 819,
  m4: 120, 'm4 pro': 273, 'm4 max': 546,
  m5: 153, 'm5 max': 614,
};

// NVIDIA cards seen locally that have no full profile: bandwidth (GB/s) and dense FP16 tensor TFLOPS (spec sheets).
const NVIDIA_BW: [RegExp, string | undefined, number, number][] = [
  [/GB10\b/i, 'dgx-spark-128', 273, 62],
  [/RTX PRO 6000/i, 'rtx-pro-6000', 1792, 250],
  [/RTX 5090/i, 'rtx-5090', 1792, 209],
  [/RTX 4090/i, 'rtx-4090', 1008, 165],
  [/RTX 3090/i, 'rtx-3090', 936, 71],
  [/H200/i, 'h200-141', 4800, 989],
  [/H100/i, 'h100-sxm-80', 3350, 989],
  [/RTX 5080/i, undefined, 960, 113],
  [/RTX 4080/i, 'rtx-4080', 717, 97.5],
  [/RTX 4070 Ti/i, undefined, 504, 80],
  [/RTX 3080/i, undefined, 760, 60],
  [/RTX 4060 Ti/i, undefined, 288, 44],
  [/RTX 4060/i, 'rtx-4060-8', 272, 30],
  [/B200/i, 'b200-180', 8000, 2250],
  [/A100/i, undefined, 2039, 312],
  [/L40S/i, undefined, 864, 362],
  [/RTX A6000/i, undefined, 768, 155],
];

export interface DetectedHardware {
  profile: HardwareSpec;
  /** One line for humans: what was found and how it was mapped. */
  detail: string;
  /** true when it maps onto a built-in profile unchanged. */
  exact: boolean;
}

function custom(base: Partial<HardwareSpec> & Pick<HardwareSpec, 'id' | 'name' | 'capacityBytes' | 'bandwidthGBps' | 'kind' | 'backend' | 'fp16Tflops'>): HardwareSpec {
  const usableFraction =
    base.usableFraction ??
    (base.kind === 'apple' ? appleUsableFraction(base.capacityBytes) : base.kind === 'nvidia' && !base.unifiedMemory ? nvidiaUsableFraction(base.capacityBytes) : 0.85);
  return { unifiedMemory: true, source: 'detected on this machine', ...base, usableFraction };
}

/** Map what was detected onto the closest profile, or build a custom one with the detected capacity. */
export function hardwareFromFacts(f: HardwareFacts): DetectedHardware {
  const gib = (b: number) => Math.round(b / GiB);
  const nvidia = f.gpus?.find((g) => /nvidia|geforce|rtx|gb10|h100|h200|b200|a100|l40/i.test(g.name));
  if (nvidia) {
    const hit = NVIDIA_BW.find(([re]) => re.test(nvidia.name));
    const known = hit?.[1] ? findHardware(hit[1]) : undefined;
    // GB10 (DGX Spark) shares system memory and nvidia-smi reports no VRAM: the OS total is the capacity.
    const unified = /GB10/i.test(nvidia.name);
    const cap = unified ? f.totalMemBytes : nvidia.vramBytes;
    if (known && cap && Math.abs(gib(cap) - gib(known.capacityBytes)) <= 2) {
      return { profile: known, detail: `${nvidia.name}, ${gib(cap)} GB → ${known.id}`, exact: true };
    }
    if (cap) {
      const bw = hit?.[2];
      return {
        profile: custom({
          id: 'local-nvidia', name: `${nvidia.name} (${gib(cap)} GB)`, capacityBytes: cap, bandwidthGBps: bw ?? 448,
          fp16Tflops: hit?.[3] ?? 40, kind: 'nvidia', backend: 'cuda', unifiedMemory: unified,
          source: bw ? `detected: ${nvidia.name} ${gib(cap)} GB (bandwidth from spec sheet)` : `detected: ${nvidia.name} ${gib(cap)} GB; bandwidth unknown, 448 GB/s assumed`,
        }),
        detail: `${nvidia.name}, ${gib(cap)} GB${bw ? '' : ' (bandwidth assumed)'}`,
        exact: false,
      };
    }
  }
  const chip = /apple (m\d)(?: (pro|max|ultra))?/i.exec(f.appleChip ?? f.cpuModel ?? '');
  if (chip) {
    const key = `${chip[1]!.toLowerCase()}${chip[2] ? ' ' + chip[2].toLowerCase() : ''}`;
    const idPrefix = key.replace(' ', '-');
    const sameChip = HARDWARE_PROFILES.filter((p) => p.id.startsWith(idPrefix + '-'));
    const exact = sameChip.find((p) => gib(p.capacityBytes) === gib(f.totalMemBytes));
    if (exact) return { profile: exact, detail: `${f.appleChip ?? f.cpuModel}, ${gib(f.totalMemBytes)} GB → ${exact.id}`, exact: true };
    const bw = APPLE_BW[key] ?? sameChip[0]?.bandwidthGBps ?? 100;
    const tflops = sameChip[0]?.fp16Tflops ?? (chip[2] === 'ultra' ? 27 : chip[2] === 'max' ? 14 : chip[2] === 'pro' ? 7 : 3.5);
    return {
      profile: custom({
        id: `local-${idPrefix}-${gib(f.totalMemBytes)}`, name: `Apple ${key.toUpperCase().replace(' ', ' ')} (${gib(f.totalMemBytes)} GB)`,
        capacityBytes: f.totalMemBytes, bandwidthGBps: bw, fp16Tflops: tflops, kind: 'apple', backend: 'metal',
        // An Ultra is two Max dies over UltraFusion (Apple): the speed model's expert gather knows it.
        ...(chip[2]?.toLowerCase() === 'ultra' ? { dies: 2 } : {}),
        source: `detected: ${f.appleChip ?? f.cpuModel}; bandwidth from Apple tech specs`,
      }),
      detail: `${f.appleChip ?? f.cpuModel}, ${gib(f.totalMemBytes)} GB (custom profile, ${bw} GB/s)`,
      exact: false,
    };
  }
  if (/Ryzen AI Max/i.test(f.cpuModel ?? '')) {
    const p = findHardware('strix-halo-128')!;
    if (Math.abs(gib(f.totalMemBytes) - 128) <= 8) return { profile: p, detail: `${f.cpuModel} → ${p.id}`, exact: true };
    return { profile: { ...p, id: 'local-strix-halo', capacityBytes: f.totalMemBytes, source: `detected: ${f.cpuModel}` }, detail: `${f.cpuModel}, ${gib(f.totalMemBytes)} GB`, exact: false };
  }
  const cpu = findHardware('cpu-ddr5')!;
  return {
    profile: {
      ...cpu, id: 'local-cpu', name: `CPU only: ${f.cpuModel ?? f.arch ?? 'unknown'} (${gib(f.totalMemBytes)} GB)`,
      capacityBytes: f.totalMemBytes, source: `detected: no GPU; ${gib(f.totalMemBytes)} GB system memory; bandwidth assumed ${cpu.bandwidthGBps} GB/s (dual-channel DDR5)`,
      // AMX counted when the CPU has it: llama.cpp's own x86 builds include an AMX variant (Linux ≥ 5.16 grants it).
      ...(f.cpuFlags ? { cpuFeatures: cpuFeaturesFromFlags(f.cpuFlags, { amxUsable: true }) } : {}),
    },
    detail: `no GPU found; ${f.cpuModel ?? 'CPU'}, ${gib(f.totalMemBytes)} GB (CPU profile, bandwidth assumed)`,
    exact: false,
  };
}
