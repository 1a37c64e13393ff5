// Which bottleneck is the user buying? capacity (won't fit, spills to CPU, window too small for the agent),
// bandwidth (decode near what memory bandwidth allows: only fewer bytes per token help), or stack (well
// below that bound: the engine/config leaves speed on the table). Pure: a situation in, plain data out,
// every conclusion carrying the numbers it rests on so the panel can show them.
import type { HardwareProfile, MemoryBreakdown, WeightsInfo } from './types';
import { matchingEvidence } from './stack-evidence';

export type Bottleneck = 'capacity' | 'bandwidth' | 'stack' | 'unknown';
export type Confidence = 'high' | 'medium' | 'low';

export type FindingCode =
  | 'does-not-fit'
  | 'cpu-offload'
  | 'window-too-small'
  | 'window-below-agent-baseline'
  | 'near-ceiling'
  | 'bandwidth-with-overhead'
  | 'below-ceiling'
  | 'predicted-bandwidth'
  | 'moe-fixed-cost'
  | 'flash-attention-off'
  | 'cpu-backend'
  | 'cited-stack-gap';

export interface Finding {
  bottleneck: Bottleneck;
  code: FindingCode;
  summary: string;
  /** The numbers this conclusion rests on (bytes, tok/s, tokens, ratios). */
  numbers: Record<string, number>;
  fixes: string[];
  confidence: Confidence;
  citations: string[];
}

export interface Verdict {
  bottleneck: Bottleneck;
  headline: string;
  confidence: Confidence;
  /** measured = a decode speed was measured; engine = placement read from the engine; predicted = estimates only. */
  basis: 'measured' | 'engine' | 'predicted';
  findings: Finding[];
}

export interface Situation {
  /** Engine kind as providers name it: `ollama`, `llama.cpp`, `lmstudio`, `vllm`, `mlx-lm`, `exo` ... */
  engine: string;
  hardware: HardwareProfile;
  model: { id: string; totalParams?: number; activeParams?: number };
  weights?: WeightsInfo;
  /** Predicted (or engine-reported) memory for the configured context. */
  memory?: MemoryBreakdown;
  /** Engine-reported placement, e.g. Ollama `/api/ps`: `size` = resident, `size_vram` = on the accelerator. */
  offload?: { residentBytes: number; acceleratorBytes: number; via: string };
  speed?: {
    measuredTokPerSec?: number;
    /** Bandwidth ÷ bytes per token at the measured depth. */
    ceilingTokPerSec?: number;
    /** The speed model's expectation for a healthy stack (η and fixed cost included). */
    predictedTokPerSec?: number;
    /** Its cross-validated band (speed-band.ts). */
    predictedRange?: { low: number; high: number };
    bytesPerToken?: number;
    depth?: number;
    via?: string;
  };
  window?: {
    /** Tokens one sequence can hold (Ollama `context_length`, llama.cpp `n_ctx` ÷ slots). */
    ctxPerSeq: number;
    /** Prompt sizes the agent actually sent (tokens), newest last. */
    promptTokens?: number[];
    /** Tokens kept free for the reply. */
    reserveOutputTokens?: number;
    /** KV bytes per extra token of window (× parallel slots), to price a bigger window. */
    kvBytesPerToken?: number;
    parallel?: number;
  };
  flashAttention?: boolean;
  backend?: 'metal' | 'cuda' | 'vulkan' | 'rocm' | 'sycl' | 'cpu';
  powerMode?: 'low' | 'automatic' | 'high';
  /** Bandwidth of the host RAM a CPU-offloaded part streams from, GB/s (default: a dual-channel DDR5 desktop). */
  hostBandwidthGBps?: number;
}

/** ≥ this share of the ceiling: the GPU is waiting on memory; the stack has little left to give. */
export const BANDWIDTH_BOUND_SHARE = 0.7;
/** Below this share: well below what healthy stacks reach (η ≈ 0.6–0.88 for dense models, anchors §0.5). */
export const STACK_BOUND_SHARE = 0.5;
/** Agent harness system prompts alone: Cline ~15k tokens; 15–25k is typical (anchors P1). */
export const AGENT_BASELINE_PROMPT_TOKENS = 15_000;
const AGENT_BASELINE_CITATION = 'cline/cline#1507 (Cline system prompt ~15k tokens); research/anchors.md P1';
const DEFAULT_HOST_BW_GBPS = 85;
const DEFAULT_RESERVE_OUTPUT = 4096;

const GB = 1e9;
const gb = (b: number) => `${(b / GB).toFixed(1)} GB`;
const pct = (x: number) => `${Math.round(x * 100)} %`;
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

function usable(hw: HardwareProfile): number {
  return hw.capacityBytes * hw.usableFraction;
}

/**
 * macOS lets the GPU wire only ~75 % of unified memory by default; `iogpu.wired_limit_mb` raises it
 * (anchors §5). Offered when the model fits under the physical memory minus ~8 GiB for the system.
 */
function wiredLimitFix(hw: HardwareProfile, totalBytes: number): string[] {
  const reserve = 8 * 1024 ** 3;
  if (hw.kind !== 'apple' || totalBytes > hw.capacityBytes - reserve) return [];
  const mb = Math.ceil((totalBytes + 1024 ** 3) / 1024 ** 2 / 1024) * 1024;
  return [`or let the GPU wire more of the unified memory: sudo sysctl iogpu.wired_limit_mb=${mb} (leave the system ≥ 8 GB)`];
}

function capacityFindings(s: Situation): Finding[] {
  const out: Finding[] = [];
  const cap = usable(s.hardware);
  if (s.memory && s.memory.totalBytes > cap) {
    const over = s.memory.totalBytes - cap;
    out.push({
      bottleneck: 'capacity',
      code: 'does-not-fit',
      summary: `needs ${gb(s.memory.totalBytes)} but ${s.hardware.name} gives a model ${gb(cap)}: ${gb(over)} over`,
      numbers: { totalBytes: s.memory.totalBytes, usableBytes: Math.round(cap), overBytes: Math.round(over), weightsBytes: s.memory.weightsBytes, kvBytes: s.memory.kvBytes },
      fixes: [
        s.memory.kvBytes > over ? `shrink the KV cache: quantize it (q8_0 ≈ half of f16) or cap the context — KV is ${gb(s.memory.kvBytes)}` : 'a lower quant or a smaller / MoE model: the weights alone do not fit',
        ...wiredLimitFix(s.hardware, s.memory.totalBytes),
        'or hardware with more memory',
      ],
      confidence: s.memory.totalBytes > cap * 1.1 ? 'high' : 'medium',
      citations: [],
    });
  }
  if (s.offload && s.offload.residentBytes > 0 && s.offload.acceleratorBytes < s.offload.residentBytes) {
    const cpuBytes = s.offload.residentBytes - s.offload.acceleratorBytes;
    const cpuShare = cpuBytes / s.offload.residentBytes;
    const numbers: Record<string, number> = { residentBytes: s.offload.residentBytes, acceleratorBytes: s.offload.acceleratorBytes, cpuBytes, cpuShare: round(cpuShare, 4) };
    let cost = '';
    if (!s.hardware.unifiedMemory) {
      // Per token the GPU part streams at GPU bandwidth, the CPU part at host RAM bandwidth, one after the other.
      const host = s.hostBandwidthGBps ?? DEFAULT_HOST_BW_GBPS;
      const slowdown = ((1 - cpuShare) / s.hardware.bandwidthGBps + cpuShare / host) / (1 / s.hardware.bandwidthGBps);
      numbers.hostBandwidthGBps = host;
      numbers.predictedSlowdown = round(slowdown, 2);
      cost = `; the CPU part streams at ~${host} GB/s vs ${s.hardware.bandwidthGBps} GB/s, so decode runs ~${slowdown.toFixed(1)}× slower than fully on the GPU`;
    }
    out.push({
      bottleneck: 'capacity',
      code: 'cpu-offload',
      summary: `${pct(cpuShare)} of the model (${gb(cpuBytes)}) sits in system RAM, not on the accelerator${cost}`,
      numbers,
      fixes:
        s.engine === 'ollama'
          ? ['lower the context (OLLAMA_CONTEXT_LENGTH, or PARAMETER num_ctx in a Modelfile) or quantize the KV cache (OLLAMA_KV_CACHE_TYPE=q8_0 with OLLAMA_FLASH_ATTENTION=1) so everything fits on the accelerator', 'or a lower quant / smaller model']
          : s.engine === 'llama.cpp'
            ? ['lower the context (-c) or quantize the KV cache (-ctk q8_0 -ctv q8_0 -fa on) so everything fits on the accelerator', 'or a lower quant / smaller model; --n-cpu-moe keeps only MoE experts on CPU, the least bad split']
            : ['lower the context or quantize the KV cache in the engine settings so everything fits on the accelerator', 'or a lower quant / smaller model'],
      confidence: 'high',
      citations: [s.offload.via],
    });
  }
  const w = s.window;
  if (w && w.ctxPerSeq > 0) {
    const prompts = (w.promptTokens ?? []).filter((n) => Number.isFinite(n) && n > 0);
    const reserve = w.reserveOutputTokens ?? DEFAULT_RESERVE_OUTPUT;
    const largest = prompts.length ? Math.max(...prompts) : 0;
    const priceNote = (needed: number): { fix: string; numbers: Record<string, number> } => {
      const numbers: Record<string, number> = { neededCtx: needed };
      const how = s.engine === 'ollama' ? ` (OLLAMA_CONTEXT_LENGTH=${needed}, or num_ctx ${needed} on /api/*; /v1 ignores num_ctx)` : s.engine === 'llama.cpp' ? ` (-c ${needed} per slot)` : s.engine === 'lmstudio' ? ` (lms load <model> --context-length ${needed})` : s.engine === 'vllm' ? ` (--max-model-len ${needed})` : '';
      if (!w.kvBytesPerToken) return { fix: `raise the window to ≥ ${needed} tokens${how}`, numbers };
      const extra = w.kvBytesPerToken * (needed - w.ctxPerSeq) * (w.parallel ?? 1);
      numbers.extraKvBytes = Math.round(extra);
      let fit = '';
      if (s.memory) {
        const after = s.memory.totalBytes + extra;
        numbers.totalAfterBytes = Math.round(after);
        fit = after <= usable(s.hardware) ? ', which still fits' : `, which would not fit (${gb(after)} > ${gb(usable(s.hardware))}): quantize the KV cache too`;
      }
      return { fix: `raise the window to ≥ ${needed} tokens${how} (+${gb(extra)} of KV cache${fit})`, numbers };
    };
    if (largest + reserve > w.ctxPerSeq && largest > 0) {
      const needed = roundUpCtx(largest + reserve);
      const p = priceNote(needed);
      const truncates = largest > w.ctxPerSeq;
      out.push({
        bottleneck: 'capacity',
        code: 'window-too-small',
        summary: truncates
          ? `the agent sent ${largest} tokens into a ${w.ctxPerSeq}-token window: the engine truncates (Ollama silently) or rejects it`
          : `the agent's ${largest}-token prompts leave less than ${reserve} tokens for the reply in a ${w.ctxPerSeq}-token window`,
        numbers: { ctxPerSeq: w.ctxPerSeq, largestPromptTokens: largest, reserveOutputTokens: reserve, ...p.numbers },
        fixes: [p.fix, 'or a smaller agent system prompt / fewer tools'],
        confidence: 'high',
        citations: ['research/anchors.md P1 (silent truncation)'],
      });
    } else if (prompts.length === 0 && w.ctxPerSeq < AGENT_BASELINE_PROMPT_TOKENS + reserve) {
      const needed = roundUpCtx(AGENT_BASELINE_PROMPT_TOKENS + reserve);
      const p = priceNote(needed);
      out.push({
        bottleneck: 'capacity',
        code: 'window-below-agent-baseline',
        summary: `a ${w.ctxPerSeq}-token window is below what coding agents need: their system prompts alone are ~${AGENT_BASELINE_PROMPT_TOKENS} tokens`,
        numbers: { ctxPerSeq: w.ctxPerSeq, agentBaselineTokens: AGENT_BASELINE_PROMPT_TOKENS, reserveOutputTokens: reserve, ...p.numbers },
        fixes: [p.fix],
        confidence: 'medium',
        citations: [AGENT_BASELINE_CITATION],
      });
    }
  }
  return out;
}

/** Round a context up to the next multiple of 4096 (what users type and engines pad toward). */
export function roundUpCtx(tokens: number): number {
  return Math.ceil(tokens / 4096) * 4096;
}

function activeRatio(s: Situation): number | undefined {
  const { totalParams, activeParams } = s.model;
  return totalParams && activeParams ? activeParams / totalParams : undefined;
}

function stackCauseFindings(s: Situation, share: number | undefined): Finding[] {
  const out: Finding[] = [];
  if (s.flashAttention === false) {
    out.push({
      bottleneck: 'stack',
      code: 'flash-attention-off',
      summary: 'flash attention is off: attention over a long context reads and writes more, and quantized KV needs it',
      numbers: s.speed?.depth !== undefined ? { depth: s.speed.depth } : {},
      fixes: [s.engine === 'ollama' ? 'set OLLAMA_FLASH_ATTENTION=1' : s.engine === 'llama.cpp' ? 'start llama-server with -fa on' : 'enable flash attention in the engine settings'],
      confidence: 'medium',
      citations: [],
    });
  }
  if (s.backend === 'cpu' && s.hardware.kind !== 'cpu') {
    out.push({
      bottleneck: 'stack',
      code: 'cpu-backend',
      summary: `the engine runs on the CPU backend although ${s.hardware.name} has a GPU`,
      numbers: { bandwidthGBps: s.hardware.bandwidthGBps },
      fixes: ['install the GPU build of the engine (CUDA / Metal / Vulkan) and check it detects the device'],
      confidence: 'high',
      citations: ['ollama/ollama#7323, #9068 (reports of "100% GPU" while running on CPU)'],
    });
  }
  for (const e of matchingEvidence({ engine: s.engine, hardware: s.hardware, activeRatio: activeRatio(s), ...(s.powerMode ? { powerMode: s.powerMode } : {}) })) {
    out.push({
      bottleneck: 'stack',
      code: 'cited-stack-gap',
      summary: e.claim,
      numbers: { ...e.numbers, ...(share !== undefined ? { shareOfCeiling: round(share, 3) } : {}) },
      fixes: [e.fix],
      confidence: e.id === 'macos-low-power' && s.powerMode === undefined ? 'low' : 'medium',
      citations: [e.citation],
    });
  }
  return out;
}

function speedFindings(s: Situation): Finding[] {
  const sp = s.speed;
  if (!sp?.ceilingTokPerSec || !(sp.ceilingTokPerSec > 0)) return [];
  const base: Record<string, number> = { ceilingTokPerSec: round(sp.ceilingTokPerSec) };
  if (sp.bytesPerToken) base.bytesPerToken = Math.round(sp.bytesPerToken);
  base.bandwidthGBps = s.hardware.bandwidthGBps;
  if (sp.depth !== undefined) base.depth = sp.depth;
  const fewerBytes = [
    'a lower quant (fewer bytes per token)',
    'an MoE model (reads only its active experts per token)',
    'a smaller model, or hardware with more memory bandwidth',
  ];
  if (sp.measuredTokPerSec === undefined || !(sp.measuredTokPerSec > 0)) {
    return [{
      bottleneck: 'bandwidth',
      code: 'predicted-bandwidth',
      summary: `it fits, so decode is bounded by memory bandwidth: at most ${sp.ceilingTokPerSec.toFixed(1)} tok/s here${sp.predictedTokPerSec ? `, ~${sp.predictedTokPerSec.toFixed(1)} expected${sp.predictedRange ? ` (${sp.predictedRange.low.toFixed(1)}–${sp.predictedRange.high.toFixed(1)})` : ''}` : ''} (measure to confirm)`,
      numbers: { ...base, ...(sp.predictedTokPerSec ? { predictedTokPerSec: round(sp.predictedTokPerSec) } : {}) },
      fixes: fewerBytes,
      confidence: 'low',
      citations: [],
    }];
  }
  const measured = sp.measuredTokPerSec;
  const share = measured / sp.ceilingTokPerSec;
  const numbers = { ...base, measuredTokPerSec: round(measured), shareOfCeiling: round(share, 3), ...(sp.predictedTokPerSec ? { predictedTokPerSec: round(sp.predictedTokPerSec) } : {}) };
  const via = sp.via ? [sp.via] : [];
  if (share >= BANDWIDTH_BOUND_SHARE) {
    return [{
      bottleneck: 'bandwidth',
      code: 'near-ceiling',
      summary: `decode runs at ${pct(share)} of the bandwidth ceiling (${measured.toFixed(1)} of ${sp.ceilingTokPerSec.toFixed(1)} tok/s): the GPU is waiting on memory, the stack has little left to give`,
      numbers,
      fixes: fewerBytes,
      confidence: share > 1.05 ? 'low' : 'high', // above the ceiling means our byte count is off
      citations: via,
    }];
  }
  if (share >= STACK_BOUND_SHARE) {
    return [{
      bottleneck: 'bandwidth',
      code: 'bandwidth-with-overhead',
      summary: `decode runs at ${pct(share)} of the bandwidth ceiling: within the range healthy stacks reach (60–88 % for dense models), so bandwidth is the main limit`,
      numbers,
      fixes: fewerBytes,
      confidence: 'medium',
      citations: [...via, 'research/anchors.md §0.5 (η ≈ 0.6–0.88 dense)'],
    }];
  }
  const out: Finding[] = [];
  const ratio = activeRatio(s);
  const expected = sp.predictedTokPerSec && measured >= 0.8 * sp.predictedTokPerSec;
  if (ratio !== undefined && ratio < 0.25 && expected) {
    out.push({
      bottleneck: 'stack',
      code: 'moe-fixed-cost',
      summary: `decode runs at ${pct(share)} of the bandwidth ceiling, as expected for a small-active MoE: a fixed per-token cost (routing, kernel launches, ~3–9 ms) outweighs its few bytes`,
      numbers,
      fixes: ['an engine with lower per-token overhead for MoE (see below), or accept: the model is already fast for its size'],
      confidence: 'medium',
      citations: [...via, 'research/anchors.md §4b (fixed per-token cost of ~3B-active MoE)'],
    });
  } else {
    out.push({
      bottleneck: 'stack',
      code: 'below-ceiling',
      summary: `decode runs at only ${pct(share)} of the bandwidth ceiling (${measured.toFixed(1)} of ${sp.ceilingTokPerSec.toFixed(1)} tok/s): the hardware could do more; the stack is the limit`,
      numbers,
      fixes: ['check the likely causes below; a different engine or build is the usual remedy'],
      confidence: 'medium',
      citations: via,
    });
  }
  return out.concat(stackCauseFindings(s, share));
}

export function diagnose(s: Situation): Verdict {
  const capacity = capacityFindings(s);
  const speed = speedFindings(s);
  // Config problems worth naming even without a measurement (they cost speed at any share).
  const configOnly = speed.length === 0 || speed[0]!.code === 'predicted-bandwidth' || speed[0]!.bottleneck === 'bandwidth'
    ? stackCauseFindings(s, undefined).filter((f) => f.code !== 'cited-stack-gap')
    : [];
  const findings = [...capacity, ...speed, ...configOnly];
  const basis: Verdict['basis'] = s.speed?.measuredTokPerSec ? 'measured' : s.offload ? 'engine' : 'predicted';
  if (findings.length === 0) {
    return { bottleneck: 'unknown', headline: 'not enough information: no memory estimate, placement or speed measurement', confidence: 'low', basis, findings };
  }
  // The headline is the most basic constraint: capacity first, then what the speed says, then config alone.
  const primary = capacity[0] ?? speed[0] ?? configOnly[0]!;
  const label = primary.bottleneck === 'capacity' ? 'Capacity-bound' : primary.bottleneck === 'bandwidth' ? 'Bandwidth-bound' : primary.bottleneck === 'stack' ? 'Stack-bound' : 'Unknown';
  return { bottleneck: primary.bottleneck, headline: `${label}: ${primary.summary}`, confidence: primary.confidence, basis, findings };
}
