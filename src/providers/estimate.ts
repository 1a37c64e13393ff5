// Joins what an engine reports about a loaded model with the estimator: builds the model spec from
// the best source available (the GGUF file itself, the engine's GGUF-keyed metadata, else the
// catalog), then the memory breakdown for the engine's configured context and slots.
// Reads files (the GGUF header) but never the network; every number keeps its provenance.
import { isAbsolute } from 'node:path';
import { specFromGgufMetadata } from '../estimator/gguf-spec';
import { defaultContextOptions, estimateMemory } from '../estimator/memory';
import { resolveModelName } from '../estimator/model-names';
import type { KvType, MemoryBreakdown, ModelSpec, Provenance, WeightsInfo } from '../estimator/types';
import { quantLabelFromTensors, weightsForQuant, weightsFromTensors } from '../estimator/weights';
import { readGgufHeader } from '../gguf/read';
import type { Fact, LoadedModel } from './types';

export interface LoadedEstimate {
  spec?: { id: string; arch: string; source: Provenance; via: string };
  /** The full architecture behind `spec`, for speed predictions (status calibrates them with bench results). */
  modelSpec?: ModelSpec;
  weights?: { quant: string; totalBytes: number; activeBytes: number; source: Provenance; via: string };
  /** The estimator's breakdown for the engine's configured context × slots. */
  memory?: MemoryBreakdown & { source: 'estimated' };
  context?: { perSeq: number; parallel: number; kvUnified: boolean; kvType: KvType };
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

function hasArchKeys(meta: Record<string, unknown> | undefined): meta is Record<string, unknown> {
  const arch = meta?.['general.architecture'];
  return typeof arch === 'string' && typeof meta?.[`${arch}.block_count`] === 'number';
}

async function specFromFile(path: string, name: string): Promise<{ spec: ModelSpec; weights: WeightsInfo } | undefined> {
  const h = await readGgufHeader(path);
  const spec = specFromGgufMetadata(h.metadata, h.tensors, name);
  const ft = h.metadata['general.file_type'];
  const w = weightsFromTensors(spec, quantLabelFromTensors(h.tensors, typeof ft === 'number' ? ft : undefined));
  return { spec, weights: w };
}

/**
 * @param local the engine runs on this machine, so its model path can be read here.
 */
export async function estimateLoaded(m: LoadedModel, opts: { local: boolean }): Promise<LoadedEstimate> {
  const problems: string[] = [];
  let spec: ModelSpec | undefined;
  let specVia = '';
  let weights: LoadedEstimate['weights'];

  if (m.modelPath && opts.local) {
    try {
      const got = await specFromFile(m.modelPath, m.name);
      if (got) {
        spec = got.spec;
        specVia = `GGUF header of ${m.modelPath}`;
        weights = { ...got.weights, via: 'GGUF tensor table' };
      }
    } catch (err) {
      problems.push(`model file ${m.modelPath}${isAbsolute(m.modelPath) ? '' : ' (relative to the engine\'s directory)'} not readable here: ${(err as Error).message}`);
    }
  }
  if (!spec && hasArchKeys(m.metadata)) {
    try {
      spec = specFromGgufMetadata(m.metadata, undefined, m.name);
      spec.source = 'engine';
      specVia = 'engine metadata (GGUF keys)';
    } catch (err) {
      problems.push(`engine metadata incomplete: ${(err as Error).message}`);
    }
  }
  if (!spec) {
    for (const candidate of [m.repoId, m.name].filter((x): x is string => !!x)) {
      try {
        const r = resolveModelName(candidate);
        if (r.model.spec) {
          spec = r.model.spec;
          specVia = `catalog entry ${r.model.id}`;
          break;
        }
      } catch {
        /* try the next name */
      }
    }
    if (!spec) problems.push(`no architecture for '${m.name}': not in the engine's answers, its file or the catalog`);
  }

  const quant = m.quant?.value;
  if (spec && !weights) {
    let fromQuant: WeightsInfo | undefined;
    if (quant) {
      try {
        fromQuant = weightsForQuant(spec, quant);
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    const reportedBytes: Fact<number> | undefined = m.weightsBytes;
    if (reportedBytes) {
      // The engine's byte count beats a recipe; keep the recipe's active/total ratio for speed.
      const ratio = fromQuant ? fromQuant.activeBytes / fromQuant.totalBytes : spec.activeParams / spec.totalParams;
      weights = { quant: quant ?? '?', totalBytes: reportedBytes.value, activeBytes: Math.round(reportedBytes.value * ratio), source: reportedBytes.source, via: reportedBytes.via };
    } else if (fromQuant) {
      weights = { ...fromQuant, via: `${quant} recipe applied to the spec` };
    } else problems.push('weights unknown: no quant or size reported');
  }

  const result: LoadedEstimate = { problems };
  if (spec) {
    result.spec = { id: spec.id, arch: spec.arch, source: spec.source, via: specVia };
    result.modelSpec = spec;
  }
  if (weights) result.weights = weights;
  const perSeq = m.contextPerSlot?.value;
  if (spec && weights && perSeq && perSeq > 0) {
    const parallel = Math.max(1, m.parallel?.value ?? 1);
    // One shared cache when the engine's total equals one slot's context (llama.cpp auto -np).
    // The estimator sizes ctxPerSeq × parallel cells. An engine-stated total wins: a unified cache
    // (llama.cpp auto -np) holds only one slot's context, a vLLM/SGLang pool holds its token capacity.
    const cells = m.contextTotal?.value ?? perSeq * parallel;
    const kvUnified = parallel > 1 && cells === perSeq;
    const kvType = kvTypeOf(m.kvCacheType?.value);
    const ctx = defaultContextOptions({ ctxPerSeq: Math.ceil(cells / parallel), parallel, kvUnified, kvTypeK: kvType, kvTypeV: kvType });
    result.context = { perSeq, parallel, kvUnified, kvType };
    result.memory = { ...estimateMemory(spec, weights, ctx), source: 'estimated' };
  } else if (spec && weights) {
    problems.push('configured context not reported: memory estimate needs it');
  }
  return result;
}
