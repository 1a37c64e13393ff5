// Hardware profiles: how much memory an accelerator can give a model and how fast it can stream it.
// Pure data + lookups; detecting the local machine lives in src/providers/local-hardware.ts.
import type { HardwareProfile } from './types';

const GiB = 1024 ** 3;

/** A profile plus the dense FP16/BF16 compute used for prefill estimates. */
export interface HardwareSpec extends HardwareProfile {
  /** Dense FP16/BF16 throughput in TFLOPS (tensor/matrix units where the stack uses them). */
  fp16Tflops: number;
  /** How the weights are streamed: decides the stack-efficiency factor in speed.ts. */
  backend: 'metal' | 'cuda' | 'vulkan' | 'cpu';
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
  source: string;
}

// Bandwidth: vendor spec sheets (Apple newsroom/tech specs, NVIDIA datasheets, AMD), as listed in the issue.
// TFLOPS: dense FP16 (GPU ALUs for Apple: cores × 128 FP32 lanes × 2 × clock; tensor cores, FP32 accumulate, for NVIDIA).
const ROWS: Row[] = [
  { id: 'm5-max-128', name: 'Apple M5 Max (128 GB)', gb: 128, bw: 614, tflops: 60, kind: 'apple', backend: 'metal', unified: true, source: 'Apple M5 Max spec: 614 GB/s (seeds quote 460–614); TFLOPS approximate (GPU neural accelerators)' },
  { id: 'm4-max-128', name: 'Apple M4 Max (128 GB)', gb: 128, bw: 546, tflops: 16.1, kind: 'apple', backend: 'metal', unified: true, source: 'Apple M4 Max tech specs: 546 GB/s, 40-core GPU' },
  { id: 'm4-pro-48', name: 'Apple M4 Pro (48 GB)', gb: 48, bw: 273, tflops: 8.1, kind: 'apple', backend: 'metal', unified: true, source: 'Apple M4 Pro tech specs: 273 GB/s, 20-core GPU' },
  { id: 'm4-pro-64', name: 'Apple M4 Pro (64 GB)', gb: 64, bw: 273, tflops: 8.1, kind: 'apple', backend: 'metal', unified: true, source: 'Apple M4 Pro tech specs: 273 GB/s, 20-core GPU' },
  { id: 'm3-ultra-512', name: 'Apple M3 Ultra (512 GB)', gb: 512, bw: 819, tflops: 28.7, kind: 'apple', backend: 'metal', unified: true, source: 'Apple M3 Ultra tech specs: 819 GB/s, 80-core GPU' },
  { id: 'm3-max-128', name: 'Apple M3 Max (128 GB)', gb: 128, bw: 400, tflops: 14.2, kind: 'apple', backend: 'metal', unified: true, source: 'Apple M3 Max tech specs: 400 GB/s, 40-core GPU' },
  { id: 'm2-ultra-192', name: 'Apple M2 Ultra (192 GB)', gb: 192, bw: 800, tflops: 27.2, kind: 'apple', backend: 'metal', unified: true, source: 'Apple M2 Ultra tech specs: 800 GB/s, 76-core GPU' },
  { id: 'm1-max-64', name: 'Apple M1 Max (64 GB)', gb: 64, bw: 400, tflops: 10.4, kind: 'apple', backend: 'metal', unified: true, source: 'Apple M1 Max tech specs: 400 GB/s, 32-core GPU' },
  { id: 'strix-halo-128', name: 'AMD Ryzen AI Max+ 395 "Strix Halo" (128 GB)', gb: 128, bw: 256, measured: 215, tflops: 59, kind: 'amd', backend: 'vulkan', unified: true, usable: 0.75, source: 'AMD: LPDDR5X-8000 256-bit = 256 GB/s peak, ~215 measured (kyuz0/amd-strix-halo-toolboxes); GPU share set by BIOS/GTT (amdgpu.gttsize), 96 of 128 GB typical' },
  { id: 'dgx-spark-128', name: 'NVIDIA DGX Spark GB10 (128 GB)', gb: 128, bw: 273, tflops: 62, kind: 'nvidia', backend: 'cuda', unified: true, usable: 0.92, source: 'NVIDIA DGX Spark datasheet: 273 GB/s LPDDR5x, unified with the OS (nvidia-smi reports no memory usage)' },
  { id: 'rtx-5090', name: 'NVIDIA GeForce RTX 5090 (32 GB)', gb: 32, bw: 1792, tflops: 209, kind: 'nvidia', backend: 'cuda', unified: false, source: 'NVIDIA RTX 5090 spec: 32 GB GDDR7, 1792 GB/s' },
  { id: 'rtx-pro-6000', name: 'NVIDIA RTX PRO 6000 Blackwell (96 GB)', gb: 96, bw: 1792, tflops: 250, kind: 'nvidia', backend: 'cuda', unified: false, source: 'NVIDIA RTX PRO 6000 Blackwell datasheet: 96 GB GDDR7, 1792 GB/s' },
  { id: 'rtx-4090', name: 'NVIDIA GeForce RTX 4090 (24 GB)', gb: 24, bw: 1008, tflops: 165, kind: 'nvidia', backend: 'cuda', unified: false, source: 'NVIDIA RTX 4090 spec: 24 GB GDDR6X, 1008 GB/s' },
  { id: 'rtx-3090', name: 'NVIDIA GeForce RTX 3090 (24 GB)', gb: 24, bw: 936, tflops: 71, kind: 'nvidia', backend: 'cuda', unified: false, source: 'NVIDIA RTX 3090 spec: 24 GB GDDR6X, 936 GB/s' },
  { id: 'h100-sxm-80', name: 'NVIDIA H100 SXM (80 GB)', gb: 80, bw: 3350, tflops: 989, kind: 'nvidia', backend: 'cuda', unified: false, source: 'NVIDIA H100 datasheet: 80 GB HBM3, 3.35 TB/s, 989 TFLOPS BF16 dense' },
  { id: 'h200-141', name: 'NVIDIA H200 (141 GB)', gb: 141, bw: 4800, tflops: 989, kind: 'nvidia', backend: 'cuda', unified: false, source: 'NVIDIA H200 datasheet: 141 GB HBM3e, 4.8 TB/s' },
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
