// ONE estimate of a loaded model, shared by `headroom status` and the editor (issue 12): from what an engine
// reports (+ the model's GGUF header when the engine is local) to spec, weights, memory and speed, each with
// its provenance. Spec: the GGUF header, else the engine's GGUF-keyed metadata (Ollama /api/show), else the
// catalog by repo id / name / file name. Weights: exact from the tensor table, else the engine's byte count (with
// the recipe's active/total ratio for speed), else the quant recipe. KV and buffers: always ours.
// Pure except `readLocalGguf` (reads the header, never the network). No `vscode`.
import { isAbsolute } from 'node:path';
import { defaultQuantFor } from '../estimator/quant-recipes';
import { specFromGgufMetadata } from '../estimator/gguf-spec';
import { findHardware, type HardwareSpec } from '../estimator/hardware';
import { servingEngineFor } from '../estimator/speed-model';
import { defaultContextOptions, estimateMemory } from '../estimator/memory';
import { resolveModelName } from '../estimator/model-names';
import { estimateSpeed } from '../estimator/speed';
import type { ContextOptions, KvType, MemoryBreakdown, ModelSpec, Provenance, SpeedEstimate, SpeedRange, TensorInfo, WeightsInfo } from '../estimator/types';
import { quantLabelFromTensors, weightsForQuant, weightsFromTensors } from '../estimator/weights';
import type { LoadedModel } from './types';

/** A GGUF header read from the model's file (local engines only). */
export interface GgufFile {
  metadata: Record<string, unknown>;
  tensors: TensorInfo[];
}

export interface LoadedEstimate {
  spec: ModelSpec;
  /** Where the spec came from: the model file, the engine's metadata or the catalog. */
  specSource: 'gguf' | 'engine' | 'catalog';
  /** The same, for humans: `GGUF header of /m/x.gguf`, `engine metadata (GGUF keys)`, `catalog entry …`. */
  specVia: string;
  quant: string;
  weights: WeightsInfo & { via: string };
  ctx: ContextOptions;
  context: { perSeq: number; parallel: number; kvUnified: boolean; kvType: KvType; /** the engine did not say: 4096 (or trained) assumed */ assumed: boolean };
  memory: MemoryBreakdown;
  /** Catalog's extended max context, when known (else the trained context). */
  contextMax: number;
}

export interface LoadedResult {
  estimate?: LoadedEstimate;
  /** Why no estimate (or a weaker one) was possible. */
  problems: string[];
}

/** Engine KV labels → llama.cpp cache types; FP8 and ExLlama Q8 are ~1 byte/elem like q8_0. */
export function kvTypeOf(label: string | undefined): KvType {
  const l = (label ?? '').toLowerCase();
  if (/^(q8_0|q8|fp8.*|int8)$/.test(l)) return 'q8_0';
  if (/^(q4_0|q4|int4)$/.test(l)) return 'q4_0';
  if (['f32', 'bf16', 'q4_1', 'q5_0', 'q5_1', 'iq4_nl'].includes(l)) return l as KvType;
  return 'f16';
}

/** The model file's header, for a local engine that names an absolute path; a problem line when unreadable. */
export async function readLocalGguf(lm: LoadedModel, local: boolean): Promise<{ file?: GgufFile; problem?: string }> {
  if (!lm.modelPath || !local) return {};
  try {
    const { readGgufHeader } = await import('../gguf/read.js');
    const h = await readGgufHeader(lm.modelPath);
    return { file: { metadata: h.metadata, tensors: h.tensors } };
  } catch (err) {
    return { problem: `model file ${lm.modelPath}${isAbsolute(lm.modelPath) ? '' : " (relative to the engine's directory)"} not readable here: ${(err as Error).message}` };
  }
}

type Found = { spec: ModelSpec; source: LoadedEstimate['specSource']; via: string; quant?: string; contextMax?: number };

function specFor(lm: LoadedModel, file: GgufFile | undefined, problems: string[]): Found | undefined {
  if (file) {
    try {
      return { spec: specFromGgufMetadata(file.metadata, file.tensors, lm.name), source: 'gguf', via: `GGUF header of ${lm.modelPath ?? lm.name}` };
    } catch (err) {
      problems.push(`model file header not usable: ${(err as Error).message}`);
    }
  }
  if (lm.metadata && Object.keys(lm.metadata).length > 0) {
    try {
      const spec = specFromGgufMetadata(lm.metadata, undefined, lm.name);
      spec.source = 'engine';
      return { spec, source: 'engine', via: 'engine metadata (GGUF keys)' };
    } catch (err) {
      // Partial metadata (e.g. an encoder): fall through to the catalog.
      problems.push(`engine metadata incomplete: ${(err as Error).message}`);
    }
  }
  for (const name of [lm.repoId, lm.name, lm.modelPath?.split(/[\\/]/).pop()]) {
    if (!name) continue;
    try {
      const r = resolveModelName(name);
      if (r.model.spec) return { spec: r.model.spec, source: 'catalog', via: `catalog entry ${r.model.id}`, ...(r.quant ? { quant: r.quant } : {}), contextMax: r.model.contextMax };
    } catch {
      // Unknown name: try the next.
    }
  }
  problems.push(`no architecture for '${lm.name}': not in the engine's answers, its file or the catalog`);
  return undefined;
}

/** Estimate for one loaded model; `estimate` is absent when neither file, engine nor catalog describes its shape. */
export function estimateLoaded(lm: LoadedModel, file?: GgufFile): LoadedResult {
  const problems: string[] = [];
  const found = specFor(lm, file, problems);
  if (!found) return { problems };
  const { spec } = found;
  let quant: string;
  let weights: LoadedEstimate['weights'];
  if (found.source === 'gguf' && file) {
    const ft = file.metadata['general.file_type'];
    const w = weightsFromTensors(spec, quantLabelFromTensors(file.tensors, typeof ft === 'number' ? ft : undefined));
    quant = w.quant;
    weights = { ...w, via: 'GGUF tensor table' };
  } else {
    quant = lm.quant?.value ?? found.quant ?? defaultQuantFor(spec);
    let recipe: WeightsInfo;
    let via = `${quant} recipe applied to the spec`;
    try {
      recipe = weightsForQuant(spec, quant);
    } catch (err) {
      problems.push((err as Error).message);
      recipe = weightsForQuant(spec, defaultQuantFor(spec));
      via = `${recipe.quant} recipe (the engine's '${quant}' is unknown)`;
    }
    if (!lm.quant && !found.quant) problems.push(`quant not reported: ${recipe.quant} assumed`);
    weights = { ...recipe, via };
    if (lm.weightsBytes && lm.weightsBytes.value > 0) {
      // The engine's byte count is the truth for capacity; active bytes keep the recipe's dense/expert ratio.
      const ratio = recipe.totalBytes > 0 ? recipe.activeBytes / recipe.totalBytes : 1;
      weights = { quant, totalBytes: lm.weightsBytes.value, activeBytes: Math.round(lm.weightsBytes.value * ratio), source: lm.weightsBytes.source, via: lm.weightsBytes.via };
    }
  }
  // Ollama `q8_0`, vLLM `fp8` → ~1 byte per element, unknown → f16.
  const kvType = kvTypeOf(lm.kvCacheType?.value);
  const assumed = !lm.contextPerSlot || lm.contextPerSlot.value <= 0;
  if (assumed) problems.push(`configured context not reported: ${Math.min(4096, spec.contextTrain)} tokens assumed for the KV estimate`);
  const perSeq = assumed ? Math.min(4096, spec.contextTrain) : lm.contextPerSlot!.value;
  const parallel = Math.max(1, lm.parallel?.value ?? 1);
  // An engine-stated total wins: llama.cpp's auto -np shares ONE slot-sized cache (unified), a vLLM/SGLang pool
  // holds its token capacity. The estimator allocates ctxPerSeq × parallel cells in both layouts.
  const cells = lm.contextTotal?.value ?? perSeq * parallel;
  const kvUnified = parallel > 1 && cells === perSeq;
  const ctx = defaultContextOptions({ ctxPerSeq: Math.ceil(cells / parallel), parallel, kvUnified, kvTypeK: kvType, kvTypeV: kvType });
  return {
    estimate: {
      spec,
      specSource: found.source,
      specVia: found.via,
      quant,
      weights,
      ctx,
      context: { perSeq, parallel, kvUnified, kvType, assumed },
      memory: estimateMemory(spec, weights, ctx),
      contextMax: found.contextMax ?? lm.contextTrain?.value ?? spec.contextTrain,
    },
    problems,
  };
}

/**
 * The speed model for a loaded model at `depth`, for the engine serving it (its kernels) and, when the engine
 * keeps part of the model in system RAM, that share decoding at the CPU's bandwidth.
 */
/** The engine serving a model: its kind, and its own version string when it reports one (a launch build decodes slower). */
export type EngineRef = string | { kind: string; version?: string | undefined };

export function speedAt(e: LoadedEstimate, hw: HardwareSpec, depth: number, engineRef?: EngineRef, cpuShare?: number, cpuGBps?: number): SpeedEstimate {
  const engine = typeof engineRef === 'string' ? engineRef : engineRef?.kind;
  const version = typeof engineRef === 'string' ? undefined : engineRef?.version;
  const share = cpuShare !== undefined && cpuShare > 0.001 && hw.backend !== 'cpu' ? Math.min(1, cpuShare) : 0;
  // The offloaded share streams from system RAM: this machine's measured bandwidth when known, else a desktop's.
  const desktop = findHardware('cpu-ddr5')!;
  const cpu = cpuGBps && cpuGBps > 0 ? { ...desktop, bandwidthGBps: cpuGBps, measuredBandwidthGBps: cpuGBps } : desktop;
  return estimateSpeed(e.spec, e.weights, hw, {
    depth,
    kvTypeK: e.ctx.kvTypeK,
    kvTypeV: e.ctx.kvTypeV,
    ...(engine ? { engine: servingEngineFor(engine) } : {}),
    ...(version ? { engineVersion: version } : {}),
    ...(share > 0 ? { offload: { cpu, layerShare: share } } : {}),
  });
}

/** The engine's CPU share of a loaded model (Ollama: size − size_vram over size), when it reports one. */
export function cpuShareOf(lm: LoadedModel): number | undefined {
  return lm.cpuBytes && lm.residentBytes && lm.residentBytes.value > 0 ? lm.cpuBytes.value / lm.residentBytes.value : undefined;
}

export interface Figure {
  value: number;
  source: Provenance;
}

/** The numbers both the status bar and `headroom status` show for a loaded model, with where each came from. */
export interface LoadedFigures {
  weights: Figure;
  kv: Figure;
  /** Compute buffers, output buffer, recurrent state. */
  overhead: Figure;
  /** The engine's resident size when it reports one, else weights + KV + overhead. */
  total: Figure;
  /** Predicted decode at `depth` and the bandwidth ceiling (no hardware or no estimate: absent). */
  decode?: { predictedTokPerSec: number; ceilingTokPerSec: number; depth: number; range?: SpeedRange; /** Kernel maturity / launch build, in words, when it lowers the prediction. */ kernels?: string };
}

/** `engine`: the serving engine's kind (its kernels decide the speed); the CPU share comes from the model itself. */
export function loadedFigures(lm: LoadedModel, e: LoadedEstimate | undefined, hw: HardwareSpec | undefined, depth: number, engine?: EngineRef, cpuGBps?: number): LoadedFigures {
  const weights: Figure = e ? { value: e.weights.totalBytes, source: e.weights.source } : { value: lm.weightsBytes?.value ?? lm.residentBytes?.value ?? 0, source: lm.weightsBytes?.source ?? 'estimated' };
  const kv: Figure = { value: e?.memory.kvBytes ?? 0, source: 'estimated' };
  const overhead: Figure = { value: e ? e.memory.computeBytes + e.memory.otherBytes : 0, source: 'estimated' };
  const total: Figure = lm.residentBytes ? { value: lm.residentBytes.value, source: lm.residentBytes.source } : { value: weights.value + kv.value + overhead.value, source: 'estimated' };
  const out: LoadedFigures = { weights, kv, overhead, total };
  if (e && hw) {
    const s = speedAt(e, hw, depth, engine, cpuShareOf(lm), cpuGBps);
    out.decode = { predictedTokPerSec: s.decodeTokPerSec, ceilingTokPerSec: s.ceilingTokPerSec, depth, ...(s.decodeRange ? { range: s.decodeRange } : {}), ...(s.maturityNote ? { kernels: s.maturityNote } : {}) };
  }
  return out;
}
