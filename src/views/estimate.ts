// From what an engine reports about a loaded model to Headroom's memory and speed estimate. Pure.
// Spec: the engine's GGUF-keyed metadata (Ollama /api/show) if present, else the catalog by name.
// Weights: the engine's byte count where it gives one, else the quant recipe. KV and buffers: always ours.
import { resolveModelName } from '../estimator/model-names';
import { specFromGgufMetadata } from '../estimator/gguf-spec';
import type { HardwareSpec } from '../estimator/hardware';
import { defaultContextOptions, estimateMemory } from '../estimator/memory';
import { estimateSpeed } from '../estimator/speed';
import type { ContextOptions, KvType, MemoryBreakdown, ModelSpec, Provenance, SpeedEstimate, WeightsInfo } from '../estimator/types';
import { weightsForQuant } from '../estimator/weights';
import type { LoadedModel } from '../providers/types';

const KV_TYPES: readonly KvType[] = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'iq4_nl'];

export interface LoadedEstimate {
  spec: ModelSpec;
  /** Where the spec came from: the engine's metadata or the catalog. */
  specSource: 'engine' | 'catalog';
  quant: string;
  weights: WeightsInfo;
  ctx: ContextOptions;
  memory: MemoryBreakdown;
  /** Catalog's extended max context, when known (else the trained context). */
  contextMax: number;
}

/** Ollama reports `Q8` / `q8_0` / `F16`; llama.cpp wants `q8_0` / `f16`. */
export function kvTypeOf(label: string | undefined): KvType | undefined {
  if (!label) return undefined;
  const l = label.trim().toLowerCase();
  if ((KV_TYPES as readonly string[]).includes(l)) return l as KvType;
  if (l === 'q8') return 'q8_0';
  if (l === 'q4') return 'q4_0';
  return undefined;
}

function specFor(lm: LoadedModel): { spec: ModelSpec; source: 'engine' | 'catalog'; quant?: string; contextMax?: number } | undefined {
  if (lm.metadata && Object.keys(lm.metadata).length > 0) {
    try {
      return { spec: specFromGgufMetadata(lm.metadata, undefined, lm.name), source: 'engine' };
    } catch {
      // Partial metadata (e.g. an encoder): fall through to the catalog.
    }
  }
  for (const name of [lm.repoId, lm.name, lm.modelPath?.split(/[\\/]/).pop()]) {
    if (!name) continue;
    try {
      const r = resolveModelName(name);
      if (r.model.spec) return { spec: r.model.spec, source: 'catalog', quant: r.quant, contextMax: r.model.contextMax };
    } catch {
      // Unknown name: try the next.
    }
  }
  return undefined;
}

/** Estimate for one loaded model, or undefined when neither the engine nor the catalog describes its shape. */
export function estimateLoaded(lm: LoadedModel): LoadedEstimate | undefined {
  const found = specFor(lm);
  if (!found) return undefined;
  const { spec } = found;
  const quant = lm.quant?.value ?? found.quant ?? 'Q4_K_M';
  let weights: WeightsInfo;
  try {
    weights = weightsForQuant(spec, quant);
  } catch {
    weights = weightsForQuant(spec, 'Q4_K_M');
  }
  if (lm.weightsBytes && lm.weightsBytes.value > 0) {
    // The engine's byte count is the truth for capacity; active bytes keep our dense/expert ratio.
    const ratio = weights.totalBytes > 0 ? weights.activeBytes / weights.totalBytes : 1;
    weights = { quant, totalBytes: lm.weightsBytes.value, activeBytes: Math.round(lm.weightsBytes.value * ratio), source: 'engine' };
  }
  const kv = kvTypeOf(lm.kvCacheType?.value);
  const ctx = defaultContextOptions({
    ctxPerSeq: lm.contextPerSlot?.value ?? Math.min(4096, spec.contextTrain),
    parallel: Math.max(1, lm.parallel?.value ?? 1),
    ...(kv ? { kvTypeK: kv, kvTypeV: kv } : {}),
  });
  return {
    spec,
    specSource: found.source,
    quant,
    weights,
    ctx,
    memory: estimateMemory(spec, weights, ctx),
    contextMax: found.contextMax ?? lm.contextTrain?.value ?? spec.contextTrain,
  };
}

export function speedAt(e: LoadedEstimate, hw: HardwareSpec, depth: number): SpeedEstimate {
  return estimateSpeed(e.spec, e.weights, hw, { depth, kvTypeK: e.ctx.kvTypeK, kvTypeV: e.ctx.kvTypeV });
}

/** Provenance for a figure that came from a Fact when present, else from our estimate. */
export function provenance(fromEngine: boolean, fallback: Provenance = 'estimated'): Provenance {
  return fromEngine ? 'engine' : fallback;
}
