// The published single-stream decode runs (test/fixtures/research/speed-published.csv, each row with its
// source) turned into speed-model inputs: which profile the hardware
// is, which catalog model (or a same-shape stand-in), which quant, which engine and API. The mapping is a
// list of rules on the row's own words, never a per-row number. Rows the product does not model (engines
// we do not support, a tuned private fork, a layer split over two GPUs) stay in the file and are marked excluded
// with the reason. Runs whose engine build can be dated against its first support for the architecture (or chip)
// carry how many days in it was (launchBuildOf): the model has a fitted launch factor that fades with those days.
// The older calibration rows (speed-calibration.csv, XiongjieDai validation rows) join as extra dense data.
import { readFileSync } from 'node:fs';
import { findCatalogModel } from '../../src/estimator/catalog';
import { findHardware, type HardwareSpec } from '../../src/estimator/hardware';
import { weightsForQuant } from '../../src/estimator/weights';
import type { ServingEngine } from '../../src/estimator/engine';
import type { ModelSpec } from '../../src/estimator/types';
import { workloadFor, modelKindOf, type SpeedApi, type Workload } from '../../src/estimator/speed-model';
import { parseCsv, CALIBRATION_CSV } from './speed-calibration';
import { validationRows, PREFILL_ROWS } from './speed-validation';
import { DATA } from './data';
import { inLaunchWindow, launchWindowOf, llamaCppBuildOf } from '../../src/estimator/engine-builds';

export const PUBLISHED_CSV = `${DATA}/research/speed-published.csv`;

export type ModelKind = 'dense' | 'moe' | 'hybrid';

export interface SpeedRow {
  label: string;
  /** Model lineage: the unit left out together in cross-validation (a family's quants and sizes share kernels). */
  family: string;
  kind: ModelKind;
  hw: HardwareSpec;
  api: SpeedApi;
  engine: ServingEngine;
  spec: ModelSpec;
  quant: string;
  depth: number;
  measured: number;
  prefillMeasured?: number;
  workload: Workload;
  /** CPU side of a partial offload (experts of `cpuExpertShare` of the MoE layers on the CPU). */
  offload?: { cpu: HardwareSpec; cpuExpertShare: number };
  origin: 'published' | 'calibration';
  /** Days the engine build was into its support for this architecture or chip, and why we know (words). */
  launch?: { days: number; why: string };
  excluded?: string;
  note: string;
}

const GiB = 1024 ** 3;

// Hardware words → profile id (first match wins). Capacity does not enter speed, so a 256 GB M3 Ultra with the
// 80-core GPU uses the 512 GB profile's bandwidth and compute.
const HW: [RegExp, string][] = [
  [/^2x Xeon Gold 6138/i, 'xeon-6138-2s'],
  [/M3 Ultra.*60-core/i, 'm3-ultra-60c-256'],
  [/M3 Ultra/i, 'm3-ultra-512'],
  [/M1 Ultra/i, 'm1-ultra-128'],
  [/M2 Ultra/i, 'm2-ultra-192'],
  [/M2 Max/i, 'm2-max-64'],
  [/M3 Max/i, 'm3-max-128'],
  [/M4 Pro.*16-core/i, 'm4-pro-16c-48'],
  [/M4 Pro/i, 'm4-pro-64'],
  [/M4 Max/i, 'm4-max-128'],
  [/M5 Max/i, 'm5-max-128'],
  [/DGX Spark|GB10/i, 'dgx-spark-128'],
  [/RTX PRO 6000/i, 'rtx-pro-6000'],
  [/RTX 4080/i, 'rtx-4080'],
  [/RTX 4090/i, 'rtx-4090'],
  [/RTX 3090/i, 'rtx-3090'],
  [/Strix Halo/i, 'strix-halo-128'],
  [/W7800/i, 'w7800-48'],
  [/B200/i, 'b200-180'],
  [/i9-14900K/i, 'rtx-4060-8'],
  [/Ryzen 9 7950X CPU-only/i, 'cpu-ddr5'],
  [/EPYC/i, 'cpu-ddr5'],
];

// Models absent from the catalog (or without a complete spec there): same-architecture shapes from their
// config.json, cited. Only what speed needs: layers, experts, attention layout, parameter counts.
function stand(base: string, patch: Partial<ModelSpec>): ModelSpec {
  return { ...findCatalogModel(base)!.spec!, ...patch };
}
/** Nemotron-H block layout: Mamba-2 and MoE blocks alternate (Mamba first) around the attention blocks. */
function nemotronMoeLayers(n: number, attention: number[]): boolean[] {
  let k = 0;
  return Array.from({ length: n }, (_, i) => (attention.includes(i) ? false : k++ % 2 === 1));
}

const INLINE: Record<string, () => ModelSpec> = {
  // Qwen/Qwen2.5-72B-Instruct config.json: 80 layers, hidden 8192, 64 heads / 8 KV, ffn 29568, vocab 152064.
  'qwen2.5-72b': () => stand('meta-llama/Llama-3.1-70B-Instruct', { id: 'Qwen/Qwen2.5-72B-Instruct', name: 'Qwen2.5 72B', arch: 'qwen2', ffnSize: 29568, vocabSize: 152064, totalParams: 72.7e9, activeParams: 72.7e9 }),
  // meta-llama/Llama-4-Scout-17B-16E config.json: 48 layers, hidden 5120, 40 heads / 8 KV, 16 experts top-1 + shared,
  // expert ffn 8192, vocab 202048; chunked attention (8192) on 3 of 4 layers.
  'llama4-scout': () => {
    const n = 48;
    return {
      ...findCatalogModel('meta-llama/Llama-3.1-8B-Instruct')!.spec!,
      id: 'meta-llama/Llama-4-Scout-17B-16E-Instruct', name: 'Llama 4 Scout', arch: 'llama4', totalParams: 109e9, activeParams: 17e9,
      nLayers: n, hiddenSize: 5120, nHeads: 40, nKvHeadsPerLayer: new Array<number>(n).fill(8), headDimK: 128, headDimV: 128, vocabSize: 202048,
      ffnSize: 16384, slidingWindow: 8192, swaLayers: Array.from({ length: n }, (_, i) => i % 4 !== 3),
      moe: { nExperts: 16, nExpertsUsed: 1, nSharedExperts: 1, nDenseLeadingLayers: 0, expertFfnSize: 8192, sharedExpertFfnSize: 8192 },
    };
  },
  // nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B config.json: 52 blocks (23 Mamba-2, 23 MoE, 6 attention with 2 KV heads × 128),
  // hidden 2688, 128 experts top-6 + 1 shared, vocab 131072; 31.6B total, 3.2B active per token (3.5–3.6B counting the
  // embedding table, of which a token reads one row: NVIDIA's model card). Mamba-2 and MoE blocks alternate between
  // the attention blocks (only their counts enter the speed model).
  'nemotron3-nano': () => {
    const n = 52;
    const attention = [5, 12, 19, 26, 33, 42];
    return {
      ...findCatalogModel('Qwen/Qwen3-30B-A3B')!.spec!,
      id: 'nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B', name: 'Nemotron 3 Nano 30B-A3B', arch: 'nemotron_h_moe', totalParams: 31.6e9, activeParams: 3.2e9,
      nLayers: n, hiddenSize: 2688, nHeads: 32, nKvHeadsPerLayer: Array.from({ length: n }, (_, i) => (attention.includes(i) ? 2 : 0)),
      headDimK: 128, headDimV: 128, vocabSize: 131072, recurrentStateBytesPerSeq: 23 * 64 * 128 * 64 * 4,
      moe: { nExperts: 128, nExpertsUsed: 6, nSharedExperts: 1, nDenseLeadingLayers: 0, expertFfnSize: 1856, sharedExpertFfnSize: 3712, layers: nemotronMoeLayers(n, attention) },
    };
  },
  // google/gemma-4 (catalog: 30 layers, hidden 2816, 8 KV heads; 26B total / 4B active, top-8 routing assumed).
  'gemma4-26b-a4b': () => stand('google/gemma-3-27b-it', {
    id: 'google/gemma-4-26b-a4b-it', name: 'Gemma 4 26B-A4B', arch: 'gemma4', totalParams: 26e9, activeParams: 4e9, nLayers: 30, hiddenSize: 2816,
    nKvHeadsPerLayer: new Array<number>(30).fill(8), swaLayers: Array.from({ length: 30 }, (_, i) => i % 6 !== 5),
    moe: { nExperts: 128, nExpertsUsed: 8, nSharedExperts: 1, nDenseLeadingLayers: 0 },
  }),
  // google/gemma-4-31b (catalog: 60 layers, hidden 5376, 16 KV heads; dense).
  'gemma4-31b': () => stand('google/gemma-3-27b-it', {
    id: 'google/gemma-4-31b-it', name: 'Gemma 4 31B', arch: 'gemma4', totalParams: 31e9, activeParams: 31e9, nLayers: 60, hiddenSize: 5376,
    nKvHeadsPerLayer: new Array<number>(60).fill(16), swaLayers: Array.from({ length: 60 }, (_, i) => i % 6 !== 5),
  }),
};

// Model words → [family, catalog id or inline key]. Families group a lineage's sizes and quants.
const MODEL: [RegExp, string, string][] = [
  [/DeepSeek-V4-Flash/i, 'deepseek-v4', 'deepseek-ai/DeepSeek-V4-Flash'],
  [/DeepSeek-R1-Distill-Qwen-14B/i, 'qwen2.5', 'Qwen/Qwen2.5-Coder-14B-Instruct'],
  [/DeepSeek-R1/i, 'deepseek-v3', 'deepseek-ai/DeepSeek-R1'],
  [/Qwen2\.5-Coder-7B/i, 'qwen2.5', 'Qwen/Qwen2.5-Coder-7B-Instruct'],
  [/Qwen2\.5-72B/i, 'qwen2.5', 'qwen2.5-72b'],
  [/gemma-3-27b/i, 'gemma3', 'google/gemma-3-27b-it'],
  [/gemma-3-12b/i, 'gemma3', 'google/gemma-3-12b-it'],
  [/gemma-4-31b/i, 'gemma4', 'gemma4-31b'],
  [/Gemma-4-26B-A4B/i, 'gemma4', 'gemma4-26b-a4b'],
  [/Llama-3\.1-8B|Llama 3\.x 8B/i, 'llama3', 'meta-llama/Llama-3.1-8B-Instruct'],
  [/Llama-4-Scout/i, 'llama4', 'llama4-scout'],
  [/Qwen3-8B/i, 'qwen3-dense', 'Qwen/Qwen3-8B'],
  [/Qwen3-4B/i, 'qwen3-dense', 'Qwen/Qwen3-4B'],
  [/Llama-3\.3-70B/i, 'llama3', 'meta-llama/Llama-3.3-70B-Instruct'],
  [/Qwen3-32B/i, 'qwen3-dense', 'Qwen/Qwen3-32B'],
  [/Qwen3\.6-27B/i, 'qwen3.6', 'Qwen/Qwen3.6-27B'],
  [/Qwen3\.6-35B-A3B/i, 'qwen3.6', 'Qwen/Qwen3.6-35B-A3B'],
  [/Qwen3-Coder-Next|Qwen3-Next/i, 'qwen3-next', 'Qwen/Qwen3-Next-80B-A3B-Instruct'],
  [/Qwen3-235B/i, 'qwen3-moe', 'Qwen/Qwen3-235B-A22B'],
  [/Qwen3(-Coder)?-30B-A3B/i, 'qwen3-moe', 'Qwen/Qwen3-30B-A3B'],
  [/GLM-4\.5-Air/i, 'glm4.5', 'zai-org/GLM-4.5-Air'],
  [/GLM-4\.7-Flash/i, 'glm4.7-flash', 'zai-org/GLM-4.7-Flash'],
  [/gpt-oss-120b/i, 'gpt-oss', 'openai/gpt-oss-120b'],
  [/gpt-oss-20b/i, 'gpt-oss', 'openai/gpt-oss-20b'],
  [/Kimi-K2/i, 'kimi-k2', 'moonshotai/Kimi-K2-Instruct'],
  [/MiniMax-M2/i, 'minimax-m2', 'MiniMaxAI/MiniMax-M2'],
  [/Nemotron-3-Nano/i, 'nemotron3', 'nemotron3-nano'],
  [/Nemotron-3-Super/i, 'nemotron3', 'nemotron3-nano'],
];

// Quant words → a quant the weights model knows. Unsloth "UD-Qn_K_XL" dynamic quants are Qn_K_M-like mixes;
// where the row states the file size, the weights are scaled to it (see sizeFromNote).
function quantOf(q: string, model: string, engine: string): string {
  if (/MXFP4/i.test(q)) return /gemma-4/i.test(model) ? 'MLX-4bit' : 'MXFP4';
  if (/experts MXFP4/i.test(q)) return 'MXFP4';
  if (/MLX 9-bit/i.test(q)) return 'MLX-8bit';
  if (/MLX mixed 3\.33/i.test(q)) return 'MLX-3bit';
  if (/^MLX-(\d)bit|MLX (\d)-?bit/i.test(q)) return `MLX-${/(\d)-?bit/i.exec(q)![1]}bit`;
  if (/GPTQ/i.test(q)) return 'GPTQ';
  if (/FP8/i.test(q)) return 'FP8';
  if (/^FP16$|^F16$/i.test(q)) return 'F16';
  if (/^BF16$/i.test(q)) return 'BF16';
  if (/IQ4_XS experts/i.test(q)) return 'IQ4_XS';
  if (/IQ2_XXS experts/i.test(q)) return 'IQ2_XXS';
  if (/Q2_K_M/i.test(q)) return 'Q2_K';
  const ud = /UD-(Q\d)_K_XL/i.exec(q);
  if (ud) return ud[1] === 'Q8' ? 'Q8_0' : ud[1] === 'Q6' ? 'Q6_K' : `${ud[1]}_K_M`;
  const k = /UD-(Q\d_K_S)/i.exec(q);
  if (k) return k[1]!;
  if (/^Q4 /i.test(q) || /unstated/i.test(q)) return /MLX/i.test(engine) ? 'MLX-4bit' : 'Q4_K_M';
  return q.trim();
}

/** File or memory size the row states (GiB, or "~N GB"), to anchor the weights of a dynamic quant. */
function sizeFromNote(note: string, quant: string): number | undefined {
  const gib = /(\d+(?:\.\d+)?) GiB/.exec(`${quant} ${note}`);
  if (gib) return Number(gib[1]) * GiB;
  const gb = /~(\d+(?:\.\d+)?)\s?GB/.exec(quant);
  if (gb) return Number(gb[1]) * 1e9;
  // "…; 23.98 GB" is the weights; "peak 17.3 GB" is peak memory (weights + KV + buffers) and is not used.
  const plain = /(?:^|; )(\d+(?:\.\d+)?) GB(?:;|$)/.exec(note);
  if (plain) return Number(plain[1]) * 1e9;
  return undefined;
}

function engineOf(e: string): { engine: ServingEngine; api?: SpeedApi; excluded?: string } {
  if (/ktransformers/i.test(e)) return { engine: 'llama.cpp', excluded: 'ktransformers (CPU experts + GPU attention engine we do not model)' };
  if (/ds4/i.test(e)) return { engine: 'llama.cpp', excluded: 'ds4 (antirez single-model engine we do not model)' };
  if (/MLX-Swift/i.test(e)) return { engine: 'mlx-lm', excluded: 'MLX-Swift app with unfused MoE (the note calls it pathological)' };
  if (/layer split \d GPUs/i.test(e)) return { engine: 'llama.cpp', excluded: 'multi-GPU layer split (Headroom predicts one device; a split adds per-token hops it does not model)' };
  if (/vLLM custom fork/i.test(e)) return { engine: 'vllm', excluded: 'private tuned vLLM fork (upstream vLLM rows kept)' };
  if (/vLLM/i.test(e)) return { engine: 'vllm', api: 'cuda' };
  if (/MLX/i.test(e)) return { engine: 'mlx-lm', api: 'metal' };
  const engine: ServingEngine = /LM Studio/i.test(e) ? 'lmstudio' : 'llama.cpp';
  if (/CUDA/i.test(e)) return { engine, api: 'cuda' };
  if (/Vulkan/i.test(e)) return { engine, api: 'vulkan' };
  if (/ROCm|HIP/i.test(e)) return { engine, api: 'rocm' };
  if (/CPU/i.test(e)) return { engine, api: 'cpu' };
  return { engine, api: 'metal' };
}

export const kindOf = modelKindOf;

/**
 * How far into its support for the model's architecture (or the box's chip) the run's engine build was: the
 * source says it was a launch build (a first-support build, early kernels, an engine "slower … at the time": day 0),
 * or the run's llama.cpp build, MLX-LM version or date is dated against the engine's first support
 * (engine-builds.ts). Rules on the row's words, never on its number. Undefined when it cannot be dated.
 */
export function launchBuildOf(text: string, engine: ServingEngine, arch: string): { days: number; why: string } | undefined {
  if (/first \w+ support build|early unoptimi[sz]ed/i.test(text)) return { days: 0, why: 'first-support build the source calls early/unoptimised' };
  if (/slower than llama\.cpp on \w+ at the time/i.test(text)) return { days: 0, why: 'engine build the source calls slower on this box at the time (age unknown: taken as launch day)' };
  const version = /mlx-lm (\d+\.\d+\.\d+)/i.exec(text)?.[1];
  const build = engine === 'mlx-lm' ? undefined : llamaCppBuildOf(text);
  const date = /\b(20\d\d-\d\d-\d\d)\b/.exec(text)?.[1];
  const c = launchWindowOf(engine, arch, { ...(build ? { build } : {}), ...(version ? { version } : {}), ...(date ? { date } : {}) });
  // Past the launch window a build counts as mature: persistent gaps are the stack × architecture maturity factor.
  if (!inLaunchWindow(c)) return undefined;
  return { days: c!.days, why: `${c!.days} days after ${engine} first ran ${arch} (${c!.support.source.split(':')[0]})` };
}

function specFor(key: string): ModelSpec {
  return INLINE[key]?.() ?? findCatalogModel(key)!.spec!;
}

function build(p: {
  label: string; family: string; hwId: string; api: SpeedApi; engine: ServingEngine; specKey: string; quant: string; depth: number;
  measured: number; prefill?: number; sizeBytes?: number; origin: SpeedRow['origin']; excluded?: string; note: string; offload?: SpeedRow['offload']; launch?: SpeedRow['launch'];
}): SpeedRow {
  const spec = specFor(p.specKey);
  const hw = findHardware(p.hwId);
  if (!hw) throw new Error(`no profile ${p.hwId}`);
  let w = weightsForQuant(spec, p.quant);
  if (p.sizeBytes) {
    const k = p.sizeBytes / w.totalBytes;
    w = { ...w, totalBytes: p.sizeBytes, activeBytes: Math.round(w.activeBytes * k), expertBytes: Math.round(w.expertBytes * k), tokenEmbdBytes: Math.round(w.tokenEmbdBytes * k) };
  }
  // Stand-in shapes do not lay out hybrid blocks exactly: the active share follows the published parameter counts.
  if (INLINE[p.specKey] && spec.moe) {
    const active = Math.round((w.totalBytes * spec.activeParams) / spec.totalParams);
    const share = spec.moe.nExpertsUsed / spec.moe.nExperts;
    w = { ...w, activeBytes: active, expertBytes: Math.round(((w.totalBytes - active) / (1 - share)) ) };
  }
  const row: SpeedRow = {
    label: p.label, family: p.family, kind: kindOf(spec), hw, api: p.api, engine: p.engine, spec, quant: p.quant, depth: p.depth,
    measured: p.measured, workload: workloadFor(spec, w, { depth: p.depth }), origin: p.origin, note: p.note,
  };
  if (p.prefill) row.prefillMeasured = p.prefill;
  if (p.excluded) row.excluded = p.excluded;
  if (p.launch) row.launch = p.launch;
  if (p.offload) row.offload = p.offload;
  return row;
}

export function publishedRows(): SpeedRow[] {
  const raw = parseCsv(readFileSync(PUBLISHED_CSV, 'utf8'));
  // A file size stated on one row holds for the same model and quant at another depth (same file).
  const sizes = new Map<string, number>();
  for (const r of raw) {
    const m = MODEL.find(([re]) => re.test(r.model!));
    const size = /MLX mixed 3\.33/.test(r.quant!) ? 428.7e9 : sizeFromNote(r.note ?? '', r.quant!);
    const key = `${m?.[2]}|${quantOf(r.quant!, r.model!, r.engine!)}|${r.model}`;
    if (size && !sizes.has(key)) sizes.set(key, size);
  }
  // A build stated on one row holds for the other rows of the same run (same source, engine, box and model).
  const runKey = (r: Record<string, string | undefined>) => `${r.source}|${r.engine}|${r.hardware}|${r.model}`;
  const launches = new Map<string, NonNullable<SpeedRow['launch']>>();
  for (const r of raw) {
    const m = MODEL.find(([re]) => re.test(r.model!));
    if (!m) continue;
    const l = launchBuildOf(`${r.engine} ${r.source} ${r.note ?? ''}`, engineOf(r.engine!).engine, specFor(m[2]).arch);
    if (l) launches.set(runKey(r), l);
  }
  return raw.map((r, i) => {
    const hwId = HW.find(([re]) => re.test(r.hardware!))?.[1];
    const m = MODEL.find(([re]) => re.test(r.model!));
    if (!hwId || !m) throw new Error(`row ${i}: unmapped ${r.hardware} / ${r.model}`);
    const e = engineOf(r.engine!);
    const quant = quantOf(r.quant!, r.model!, r.engine!);
    const note = r.note ?? '';
    let offload: SpeedRow['offload'];
    let api = e.api ?? 'cpu';
    // Partial offload: experts of some MoE layers on the CPU (system RAM), the rest on the GPU.
    if (/n-cpu-moe 36/.test(r.engine!)) offload = { cpu: findHardware('cpu-ddr5')!, cpuExpertShare: 1 };
    const ot = /last (\d+) layers' experts on CPU/.exec(r.engine!);
    if (ot) offload = { cpu: findHardware('cpu-ddr5')!, cpuExpertShare: Number(ot[1]) / 48 };
    const sizeBytes = sizes.get(`${m[2]}|${quant}|${r.model}`);
    const launch = launches.get(runKey(r));
    return build({
      label: `${hwId} ${m[2].split('/').pop()} ${quant} ${e.engine}/${api} @${r.depth}`,
      family: m[1], hwId, api, engine: e.engine, specKey: m[2], quant, depth: Number(r.depth), measured: Number(r.decode_tok_s),
      ...(r.prefill_tok_s ? { prefill: Number(r.prefill_tok_s) } : {}), ...(sizeBytes ? { sizeBytes } : {}), origin: 'published',
      ...(e.excluded ? { excluded: e.excluded } : {}), note: `${r.source}; ${note}`, ...(offload ? { offload } : {}), ...(launch ? { launch } : {}),
    });
  });
}

/** The earlier llama.cpp calibration and validation rows that the published table does not repeat. */
export function calibrationSpeedRows(published: SpeedRow[]): SpeedRow[] {
  const cal = parseCsv(readFileSync(CALIBRATION_CSV, 'utf8'));
  const id = (hw: string, spec: ModelSpec, quant: string, depth: number) => `${hw}|${spec.arch}|${spec.totalParams}|${quant}|${depth}`;
  const seen = new Set(published.map((r) => id(r.hw.id, r.spec, r.quant, r.depth)));
  const out: SpeedRow[] = [];
  const fam = (id: string) => MODEL.find(([re]) => re.test(id))?.[1] ?? id;
  for (const r of cal) {
    const api: SpeedApi = /CUDA/.test(r.engine!) ? 'cuda' : /Vulkan/.test(r.engine!) ? 'vulkan' : 'metal';
    const spec = findCatalogModel(r.model!)!.spec!;
    if (seen.has(id(r.hardware!, spec, r.quant!, Number(r.depth)))) continue;
    out.push(build({ label: `${r.hardware} ${spec.id.split('/')[1]} ${r.quant} llama.cpp/${api} @${r.depth}`, family: fam(r.model!), hwId: r.hardware!, api, engine: 'llama.cpp', specKey: r.model!, quant: r.quant!, depth: Number(r.depth), measured: Number(r.decode_tok_s), origin: 'calibration', note: r.source ?? '' }));
  }
  for (const v of validationRows()) {
    out.push(build({ label: `${v.hardware.id} ${v.spec.id.split('/')[1]} ${v.quant} llama.cpp/metal-or-cuda @${v.depth}`, family: 'llama3', hwId: v.hardware.id, api: v.hardware.backend === 'cuda' ? 'cuda' : 'metal', engine: 'llama.cpp', specKey: v.spec.id, quant: v.quant, depth: v.depth, measured: v.measured, origin: 'calibration', note: `XiongjieDai/GPU-Benchmarks-on-LLM-Inference ${v.note}` }));
  }
  return out;
}

/** XiongjieDai's pp512 runs (llama.cpp, dense Llama 3): prompt processing only (their decode rows are above). */
export function prefillCalibrationRows(): SpeedRow[] {
  return PREFILL_ROWS.map(([hwId, id, quant, tps]) => {
    const hw = findHardware(hwId)!;
    const api: SpeedApi = hw.backend === 'cuda' ? 'cuda' : 'metal';
    return build({ label: `${hwId} ${id.split('/')[1]} ${quant} pp512`, family: 'llama3', hwId, api, engine: 'llama.cpp', specKey: id, quant, depth: 0, measured: NaN, prefill: tps, origin: 'calibration', note: 'XiongjieDai/GPU-Benchmarks-on-LLM-Inference pp512' });
  });
}

/** Every row the fit may use: published (minus excluded) plus the earlier calibration rows. */
export function allSpeedRows(): SpeedRow[] {
  const pub = publishedRows();
  return [...pub, ...calibrationSpeedRows(pub)];
}
