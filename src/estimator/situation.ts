// From what an engine reports about a loaded model (name, quant, GGUF keys, placement, context, a measured
// decode rate) to the verdict's Situation: the estimator fills in the spec, bytes per token, the ceiling
// and the speed a healthy stack would reach. Engine-reported numbers win over estimates where both exist.
import type { HardwareSpec } from './hardware';
import type { KvType, ModelSpec, WeightsInfo } from './types';
import { diagnose, type Situation, type Verdict } from './verdict';
import { resolveModelName } from './model-names';
import { specFromGgufMetadata } from './gguf-spec';
import { weightsForQuant } from './weights';
import { parseQuant } from './quant-recipes';
import { defaultContextOptions, estimateMemory } from './memory';
import { estimateSpeed } from './speed';

const KV_TYPES: readonly KvType[] = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'iq4_nl'];

/** Plain facts, as providers report them (unwrap `Fact<T>` values before passing them in). */
export interface EngineFacts {
  engine: string;
  /** Model name as the engine lists it (`qwen3:30b-a3b`, a GGUF file name, an HF id). */
  model: string;
  quant?: string;
  /** GGUF-keyed metadata (Ollama `/api/show` model_info). */
  metadata?: Record<string, unknown>;
  /** Weight bytes the engine reports (file size). */
  weightsBytes?: number;
  /** Everything resident, and the part on the accelerator (Ollama `/api/ps` size, size_vram). */
  residentBytes?: number;
  acceleratorBytes?: number;
  placementVia?: string;
  ctxPerSeq?: number;
  parallel?: number;
  kvType?: string;
  measuredTokPerSec?: number;
  /** Tokens in context when the speed was measured. */
  measuredDepth?: number;
  measuredVia?: string;
  promptTokens?: number[];
  flashAttention?: boolean;
  backend?: Situation['backend'];
  powerMode?: Situation['powerMode'];
}

export interface BuiltSituation {
  situation: Situation;
  /** Where the architecture came from. */
  modelSource: 'catalog' | 'gguf-metadata' | 'unknown';
  notes: string[];
}

function specFor(f: EngineFacts, notes: string[]): { spec?: ModelSpec; source: BuiltSituation['modelSource']; quant?: string } {
  try {
    const r = resolveModelName(f.model);
    if (r.model.spec) return { spec: r.model.spec, source: 'catalog', ...(r.quant ? { quant: r.quant } : {}) };
  } catch {
    // not in the catalog: fall through to the engine's metadata
  }
  if (f.metadata && typeof f.metadata['general.architecture'] === 'string') {
    try {
      const spec = specFromGgufMetadata(f.metadata, undefined, f.model);
      if (spec.nLayers > 0 && spec.hiddenSize > 0) return { spec, source: 'gguf-metadata' };
    } catch (err) {
      notes.push(`model metadata not understood: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  notes.push(`${f.model}: architecture unknown (not in the catalog, no usable metadata): only engine-reported facts are judged`);
  return { source: 'unknown' };
}

/** Our weight estimate, rescaled to the engine's reported size when that is known (the file is the truth). */
function weightsFor(spec: ModelSpec, quant: string, reported: number | undefined, notes: string[]): WeightsInfo | undefined {
  let w: WeightsInfo;
  try {
    w = weightsForQuant(spec, quant);
  } catch {
    notes.push(`cannot size ${spec.id} at ${quant}`);
    return undefined;
  }
  if (reported && reported > 0 && w.totalBytes > 0) {
    const k = reported / w.totalBytes;
    if (Math.abs(k - 1) > 0.05) notes.push(`weights: engine reports ${(reported / 1e9).toFixed(2)} GB vs our ${(w.totalBytes / 1e9).toFixed(2)} GB estimate; using the engine's`);
    return { ...w, totalBytes: reported, activeBytes: Math.round(w.activeBytes * k), source: 'engine' };
  }
  return w;
}

export function buildSituation(f: EngineFacts, hw: HardwareSpec): BuiltSituation {
  const notes: string[] = [];
  const { spec, source, quant: nameQuant } = specFor(f, notes);
  const kv = (f.kvType ?? 'f16').toLowerCase() as KvType;
  const kvType: KvType = KV_TYPES.includes(kv) ? kv : 'f16';
  const situation: Situation = {
    engine: f.engine,
    hardware: hw,
    model: { id: spec?.id ?? f.model, ...(spec ? { totalParams: spec.totalParams, activeParams: spec.activeParams } : {}) },
    ...(f.residentBytes !== undefined && f.acceleratorBytes !== undefined ? { offload: { residentBytes: f.residentBytes, acceleratorBytes: f.acceleratorBytes, via: f.placementVia ?? `${f.engine} placement` } } : {}),
    ...(f.flashAttention !== undefined ? { flashAttention: f.flashAttention } : {}),
    ...(f.backend ? { backend: f.backend } : {}),
    ...(f.powerMode ? { powerMode: f.powerMode } : {}),
  };
  const quant = f.quant && parseQuant(f.quant) ? f.quant : nameQuant;
  const weights = spec && quant ? weightsFor(spec, quant, f.weightsBytes, notes) : undefined;
  if (spec && !quant) notes.push('quantization unknown: bytes per token not estimated');
  const parallel = Math.max(1, f.parallel ?? 1);
  if (spec && weights) {
    situation.weights = weights;
    const ctxPerSeq = f.ctxPerSeq && f.ctxPerSeq > 0 ? f.ctxPerSeq : 4096;
    const memory = estimateMemory(spec, weights, defaultContextOptions({ ctxPerSeq, parallel, kvTypeK: kvType, kvTypeV: kvType, flashAttention: f.flashAttention ?? true }));
    // The engine's resident total, where reported, replaces our sum (its parts stay our estimate).
    situation.memory = f.residentBytes ? { ...memory, totalBytes: f.residentBytes } : memory;
    const depth = Math.max(0, f.measuredDepth ?? 0);
    const speed = estimateSpeed(spec, weights, hw, { depth, kvTypeK: kvType, kvTypeV: kvType });
    situation.speed = {
      ceilingTokPerSec: speed.ceilingTokPerSec,
      predictedTokPerSec: speed.decodeTokPerSec,
      ...(speed.decodeRange ? { predictedRange: { low: speed.decodeRange.low, high: speed.decodeRange.high } } : {}),
      bytesPerToken: speed.bytesPerToken,
      depth,
      ...(f.measuredTokPerSec !== undefined ? { measuredTokPerSec: f.measuredTokPerSec } : {}),
      ...(f.measuredVia ? { via: f.measuredVia } : {}),
    };
    if (f.ctxPerSeq) situation.window = { ctxPerSeq: f.ctxPerSeq, parallel, kvBytesPerToken: memory.kvBytesPerToken, ...(f.promptTokens ? { promptTokens: f.promptTokens } : {}) };
  } else if (f.ctxPerSeq) {
    situation.window = { ctxPerSeq: f.ctxPerSeq, parallel, ...(f.promptTokens ? { promptTokens: f.promptTokens } : {}) };
  }
  return { situation, modelSource: source, notes };
}

/** One call for views and the CLI: engine facts + hardware → verdict, with how the inputs were resolved. */
export function diagnoseEngine(f: EngineFacts, hw: HardwareSpec): Verdict & { modelSource: BuiltSituation['modelSource']; notes: string[] } {
  const b = buildSituation(f, hw);
  return { ...diagnose(b.situation), modelSource: b.modelSource, notes: b.notes };
}
