// `headroom fit`: memory, fit, max context, decode speed and suggestions for one model on one machine.
// Stable contract (issue 2): flags and JSON field names are relied on by later issues and by users.
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { intFlag, numFlag, parseFlags } from './args';
import { CliError } from './errors';
import { renderPairs } from './table';
import { resolveHardwareFlag } from './hardware';
import type { CatalogModel } from '../estimator/catalog';
import { evaluate, type Evaluation } from '../estimator/fit';
import { formatBytes, formatParams, formatTokens, formatTokPerSec, formatTokPerSecRange, speedWord } from '../estimator/format';
import { DEFAULT_ENGINE, SERVING_ENGINES, parseServingEngine, type ServingEngine } from '../estimator/engine';
import type { SpeedRange } from '../estimator/types';
import { usableBytes, type HardwareSpec } from '../estimator/hardware';
import { budgetNow, wiredLimitAdvice, type LiveMemory, type WiredAdvice } from '../estimator/live';
import { defaultContextOptions } from '../estimator/memory';
import { resolveModelName, UnknownModelError } from '../estimator/model-names';
import { KNOWN_QUANTS, parseQuant } from '../estimator/quant-recipes';
import { suggest, type Suggestion } from '../estimator/suggestions';
import type { KvType, ModelSpec, WeightsInfo } from '../estimator/types';
import { quantLabelFromTensors, weightsForQuant, weightsFromTensors } from '../estimator/weights';
import { specFromGgufMetadata } from '../estimator/gguf-spec';
import { GgufError, readGgufHeader } from '../gguf/read';
import { engineCommand, keepsWeights, type EngineCommand } from '../estimator/engine-commands';

const KV_TYPES: readonly KvType[] = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'iq4_nl'];

export const FIT_USAGE = `usage: headroom fit --model <catalog id | short name | path.gguf> [options]

  --model M         HF repo id (Qwen/Qwen3-30B-A3B), Ollama tag (qwen3:30b-a3b), GGUF file name or path
  --quant Q         Q4_K_M (default), Q8_0, IQ4_XS, MXFP4, F16, MLX-4bit, AWQ, ... (a .gguf path: its own tensors)
  --ctx N           tokens per sequence (default 32768; 32k and 1M style accepted)
  --kv-type T       KV cache type for K and V: f16 (default), q8_0, q4_0, ...
  --parallel N      parallel sequences / slots (default 1)
  --depth N         tokens already in context when decoding (default 0)
  --engine E        ollama | llama.cpp (default) | lmstudio | vllm | mlx-lm (Apple only): the engine whose kernels
                    the speed is predicted for and whose words the suggestions' commands use
  --engine-version V  that engine's build (llama.cpp b7189, MLX-LM 0.28.1): the first weeks of an engine's
                    support for a new architecture decode slower, and the prediction says so
  --kernel-maturity F  override the fitted kernel-maturity factor (0.05–1; 1 = this engine's kernels for the
                    architecture are as good as for standard attention)
  --hardware ID     hardware profile (default m5-max-128; 'local' = this machine; see \`headroom hardware\`)
  --capacity-gb N   memory the accelerator has, overriding the profile's
  --json            machine-readable output`;

/** A model ready to evaluate: spec, weights, and where it came from. */
export interface ModelInput {
  spec: ModelSpec;
  weights: WeightsInfo;
  quant: string;
  contextMax: number;
  source: 'catalog' | 'gguf';
  catalog?: CatalogModel;
}

export { defaultQuantFor } from '../estimator/quant-recipes';
import { defaultQuantFor } from '../estimator/quant-recipes';

function checkQuant(q: string): string {
  const info = parseQuant(q);
  if (!info) throw new CliError(`unknown quant '${q}' (known: ${KNOWN_QUANTS.filter((k) => !/^(TQ|IQ1|IQ2_XXS)/.test(k)).join(', ')})`);
  return info.name;
}

function weightsOrError(spec: ModelSpec, quant: string): WeightsInfo {
  try {
    return weightsForQuant(spec, quant);
  } catch (err) {
    throw new CliError(`cannot size ${spec.id} at ${quant}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** A catalog model (by any accepted name) or a GGUF file on disk (header only). */
export async function resolveModelInput(model: string, quantFlag: string | undefined): Promise<ModelInput> {
  if (/\.gguf(\.gz)?$/i.test(model) && existsSync(model)) {
    let header;
    try {
      header = await readGgufHeader(model);
    } catch (err) {
      if (err instanceof GgufError) throw new CliError(`cannot read GGUF: ${err.message}`);
      throw err;
    }
    let spec: ModelSpec;
    try {
      spec = specFromGgufMetadata(header.metadata, header.tensors, basename(model).replace(/(\.header)?\.gguf(\.gz)?$/i, ''));
    } catch (err) {
      throw new CliError(`unsupported GGUF ${basename(model)}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const fileType = typeof header.metadata['general.file_type'] === 'number' ? (header.metadata['general.file_type'] as number) : undefined;
    const own = quantLabelFromTensors(header.tensors, fileType);
    // With --quant, the same tensor table re-quantized by llama.cpp's recipe ("what if I used Q3_K_M?").
    const quant = quantFlag ? checkQuant(quantFlag) : own;
    const weights = quantFlag && quant !== own ? weightsOrError(spec, quant) : weightsFromTensors(spec, own);
    return { spec, weights, quant, contextMax: spec.contextTrain, source: 'gguf' };
  }
  let resolved;
  try {
    resolved = resolveModelName(model);
  } catch (err) {
    if (err instanceof UnknownModelError) {
      const fileHint = /\.gguf$/i.test(model) ? ` (no such file '${model}', and not a catalog name)` : '';
      throw new CliError(err.message + fileHint);
    }
    throw err;
  }
  const cat = resolved.model;
  if (!cat.spec) {
    throw new CliError(`the catalog entry for ${cat.id} is too incomplete to estimate (missing: ${cat.missing.join(', ')}); pass a .gguf file instead`);
  }
  const quant = checkQuant(quantFlag ?? resolved.quant ?? defaultQuantFor(cat.spec));
  return { spec: cat.spec, weights: weightsOrError(cat.spec, quant), quant, contextMax: cat.contextMax, source: 'catalog', catalog: cat };
}

export interface FitReport {
  model: { id: string; name: string; arch: string; quant: string; totalParams: number; activeParams: number; source: string };
  hardware: { id: string; name: string; capacityBytes: number; usableBytes: number; bandwidthGBps: number };
  context: { requested: number; allocated: number; parallel: number; kvType: KvType; modelMax: number };
  memory: { weightsBytes: number; kvBytes: number; computeBytes: number; otherBytes: number; repackBytes?: number; totalBytes: number };
  fits: boolean;
  headroomBytes: number;
  maxContext: number;
  engine: ServingEngine;
  speed: {
    decodeTokPerSec: number; ceilingTokPerSec: number; bytesPerToken: number; depth: number; prefillTokPerSec: number; regime: string;
    decodeRange?: SpeedRange; prefillRange?: SpeedRange; stack?: string; maturityNote?: string;
  };
  suggestions: (Suggestion & EngineCommand)[];
  warnings: string[];
  /** With the memory free on this machine right now (`--hardware local` only; null elsewhere). `fits` = an idle machine. */
  fitsNow?: boolean | null;
  now?: { freeBytes: number; othersBytes: number; source: string; at: string } | null;
  /** Apple: fits only above the GPU wired limit in force → the command that raises it (resets on reboot). */
  wiredLimit?: WiredAdvice | null;
}

/** Each suggestion with its command in the engine's words (null + note when none can be given). */
export function withCommands(suggestions: Suggestion[], engine: ServingEngine, current: { modelId: string; quant: string }): (Suggestion & EngineCommand)[] {
  return suggestions.map((s) => ({ ...s, ...engineCommand(s, { engine, sameWeights: keepsWeights(s.kind, s.modelId, s.quant, current) }, s.kind) }));
}

const round2 = (x: number) => Math.round(x * 100) / 100;

const roundRange = (x: SpeedRange | undefined) => (x ? { low: round2(x.low), high: round2(x.high), basis: x.basis } : undefined);

export function buildReport(input: ModelInput, hw: HardwareSpec, e: Evaluation, suggestions: Suggestion[], depth: number, warnings: string[], engine: ServingEngine = DEFAULT_ENGINE): FitReport {
  const r = Math.round;
  return {
    model: { id: input.spec.id, name: input.spec.name, arch: input.spec.arch, quant: input.quant, totalParams: r(input.spec.totalParams), activeParams: r(input.spec.activeParams), source: input.source },
    hardware: { id: hw.id, name: hw.name, capacityBytes: r(hw.capacityBytes), usableBytes: usableBytes(hw), bandwidthGBps: hw.bandwidthGBps },
    context: { requested: e.ctx.ctxPerSeq, allocated: e.memory.allocatedCtx, parallel: e.ctx.parallel, kvType: e.ctx.kvTypeK, modelMax: input.contextMax },
    memory: { weightsBytes: r(e.memory.weightsBytes), kvBytes: r(e.memory.kvBytes), computeBytes: r(e.memory.computeBytes), otherBytes: r(e.memory.otherBytes), ...(e.memory.repackBytes !== undefined ? { repackBytes: r(e.memory.repackBytes) } : {}), totalBytes: r(e.memory.totalBytes) },
    fits: e.fits,
    headroomBytes: r(e.headroomBytes),
    maxContext: e.maxContext,
    engine,
    speed: {
      decodeTokPerSec: round2(e.speed.decodeTokPerSec),
      ceilingTokPerSec: round2(e.speed.ceilingTokPerSec),
      bytesPerToken: r(e.speed.bytesPerToken),
      depth,
      prefillTokPerSec: round2(e.speed.prefillTokPerSec ?? 0),
      regime: 'decode is bandwidth-bound; prefill is compute-bound',
      ...(e.speed.decodeRange ? { decodeRange: roundRange(e.speed.decodeRange) } : {}),
      ...(e.speed.prefillRange ? { prefillRange: roundRange(e.speed.prefillRange) } : {}),
      ...(e.speed.stack ? { stack: e.speed.stack } : {}),
      ...(e.speed.maturityNote ? { maturityNote: e.speed.maturityNote } : {}),
    },
    suggestions: withCommands(suggestions, engine, { modelId: input.spec.id, quant: input.quant }).map((s) => ({ ...s, totalBytes: r(s.totalBytes), headroomBytes: r(s.headroomBytes), decodeTokPerSec: round2(s.decodeTokPerSec) })),
    warnings,
  };
}

export function renderReport(rep: FitReport): string {
  const m = rep.memory;
  const params = rep.model.activeParams < rep.model.totalParams ? `${formatParams(rep.model.totalParams)} total / ${formatParams(rep.model.activeParams)} active (MoE)` : `${formatParams(rep.model.totalParams)} dense`;
  const slots = `${rep.context.parallel} slot${rep.context.parallel > 1 ? 's' : ''}`;
  const fitLine = rep.fits
    ? `fits — ${formatBytes(rep.headroomBytes)} to spare of ${formatBytes(rep.hardware.usableBytes)} usable`
    : `DOES NOT FIT — ${formatBytes(-rep.headroomBytes)} over the ${formatBytes(rep.hardware.usableBytes)} usable`;
  const maxCtx = rep.maxContext > 0 ? `${formatTokens(rep.maxContext)} tokens per sequence (model max ${formatTokens(rep.context.modelMax)})` : 'none — the weights alone do not fit';
  const s = rep.speed;
  const lines = [
    `${rep.model.name} · ${rep.model.quant} · ${params} · source: ${rep.model.source}`,
    `on ${rep.hardware.name}: ${formatBytes(rep.hardware.capacityBytes)}, ${formatBytes(rep.hardware.usableBytes)} usable, ${rep.hardware.bandwidthGBps} GB/s`,
    '',
    renderPairs([
      ['context', `${formatTokens(rep.context.requested)} tokens × ${slots}, KV ${rep.context.kvType} (allocates ${formatTokens(rep.context.allocated)} cells)`],
      ['memory', `weights ${formatBytes(m.weightsBytes)} + KV ${formatBytes(m.kvBytes)} + compute ${formatBytes(m.computeBytes)} + other ${formatBytes(m.otherBytes)}${m.repackBytes ? ` + CPU repack ${formatBytes(m.repackBytes)}` : ''} = ${formatBytes(m.totalBytes)}`],
      ['fit', fitLine],
      ['max context', maxCtx],
      ['decode', `${formatTokPerSecRange(s.decodeTokPerSec, s.decodeRange)} (${speedWord(s.decodeTokPerSec)}) at depth ${formatTokens(s.depth)} on ${rep.engine} — bandwidth-bound: ${formatBytes(s.bytesPerToken)} read per token, ceiling ${formatTokPerSec(s.ceilingTokPerSec)}`],
      ...(s.decodeRange ? [['band', s.decodeRange.basis] as [string, string]] : []),
      ...(s.maturityNote ? [['kernels', s.maturityNote] as [string, string]] : []),
      ['prefill', `${formatTokPerSecRange(s.prefillTokPerSec, s.prefillRange)} (compute-bound estimate)`],
    ]),
  ];
  if (rep.fitsNow !== undefined && rep.fitsNow !== null && rep.now) {
    lines.push(
      rep.fitsNow
        ? `now: fits now — ${formatBytes(rep.now.freeBytes)} free with ${formatBytes(rep.now.othersBytes)} taken by other processes (${rep.now.source})`
        : `now: does NOT fit now — ${formatBytes(rep.now.othersBytes)} taken by other processes leaves ${formatBytes(rep.now.freeBytes)}${rep.fits ? '; fits on an idle machine' : ''} (${rep.now.source})`,
    );
  }
  if (rep.wiredLimit) lines.push(`GPU limit: ${rep.wiredLimit.message}`);
  for (const w of rep.warnings) lines.push(`warning: ${w}`);
  if (rep.suggestions.length) {
    lines.push('', rep.fits ? 'suggestions (it fits, but decode is slow):' : 'suggestions:');
    rep.suggestions.forEach((x, i) => {
      lines.push(`${String(i + 1).padStart(2)}. ${x.title}`);
      lines.push(`    ${formatBytes(x.totalBytes)}, ${x.fits ? 'fits' : 'still does not fit'}, ${formatTokPerSec(x.decodeTokPerSec)} decode — ${x.cost}`);
      lines.push(x.command ? `    $ ${x.command}` : `    (no command: ${x.commandNote})`);
    });
  }
  return lines.join('\n');
}

/** `fitsNow` with today's free memory, and the Apple wired-limit advice (issue 12). */
export function nowFields(hw: HardwareSpec, totalBytes: number, live: LiveMemory | undefined, overridden: boolean): Pick<FitReport, 'fitsNow' | 'now' | 'wiredLimit'> {
  const out: Pick<FitReport, 'fitsNow' | 'now' | 'wiredLimit'> = { fitsNow: null, now: null, wiredLimit: null };
  if (live) {
    const b = budgetNow(hw, 0, live, { overridden });
    out.fitsNow = totalBytes <= b.freeBytes;
    out.now = { freeBytes: Math.round(b.freeBytes), othersBytes: Math.round(b.othersBytes ?? 0), source: live.source, at: live.at };
  }
  if (hw.kind === 'apple' && !overridden) out.wiredLimit = wiredLimitAdvice(hw.capacityBytes, totalBytes, live?.wiredLimitBytes) ?? null;
  return out;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    model: { type: 'string', short: 'm' },
    quant: { type: 'string', short: 'q' },
    ctx: { type: 'string', short: 'c' },
    'kv-type': { type: 'string' },
    parallel: { type: 'string' },
    depth: { type: 'string' },
    hardware: { type: 'string' },
    'capacity-gb': { type: 'string' },
    engine: { type: 'string' },
    'engine-version': { type: 'string' },
    'kernel-maturity': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(FIT_USAGE + '\n');
    return 0;
  }
  if (!values.model) throw new CliError('--model is required (e.g. --model qwen3:30b-a3b); see `headroom fit --help`');
  const kvType = (values['kv-type'] ?? 'f16').toLowerCase() as KvType;
  if (!KV_TYPES.includes(kvType)) throw new CliError(`--kv-type must be one of ${KV_TYPES.join(', ')}, got '${values['kv-type']}'`);
  const ctxPerSeq = intFlag('ctx', values.ctx, 32768, 256, 16 * 1024 * 1024);
  const parallel = intFlag('parallel', values.parallel, 1, 1, 256);
  const depth = intFlag('depth', values.depth, 0, 0, 16 * 1024 * 1024);
  if (depth > ctxPerSeq) throw new CliError(`--depth (${depth}) cannot exceed --ctx (${ctxPerSeq})`);
  const capacityGb = numFlag('capacity-gb', values['capacity-gb'], 0.5, 65536);
  const { hw, live } = await resolveHardwareFlag(values.hardware, capacityGb, 'm5-max-128');
  const engine = values.engine === undefined ? DEFAULT_ENGINE : parseServingEngine(values.engine);
  if (!engine) throw new CliError(`--engine must be one of ${SERVING_ENGINES.join(', ')}, got '${values.engine}'`);
  if (engine === 'mlx-lm' && hw.kind !== 'apple') throw new CliError(`--engine mlx-lm runs only on Apple silicon; ${hw.name} is not`);
  const engineVersion = values['engine-version']?.trim();
  if (engineVersion !== undefined && !/^[\w.+-]{1,40}$/.test(engineVersion)) throw new CliError(`--engine-version must be a build or version like b7189 or 0.28.1, got '${values['engine-version']}'`);

  const maturity = numFlag('kernel-maturity', values['kernel-maturity'], 0.05, 1);

  const input = await resolveModelInput(values.model, values.quant);
  const warnings: string[] = [];
  if (ctxPerSeq > input.contextMax) warnings.push(`--ctx ${ctxPerSeq} exceeds the model's ${input.contextMax}-token maximum: quality degrades past it`);
  if (kvType.startsWith('q') || kvType === 'iq4_nl') warnings.push(`quantized KV cache (${kvType}) needs flash attention (${engine === 'ollama' ? 'OLLAMA_FLASH_ATTENTION=1' : engine === 'llama.cpp' ? '-fa on' : 'enable it in the engine'})`);
  const ctx = defaultContextOptions({ ctxPerSeq, parallel, kvTypeK: kvType, kvTypeV: kvType });
  const e = evaluate(input.spec, input.weights, hw, ctx, { depth, contextMax: input.contextMax, engine, ...(engineVersion ? { engineVersion } : {}), ...(maturity !== undefined ? { maturity } : {}) });
  const suggestions = suggest({ current: e, hw, quant: input.quant, depth, contextMax: input.contextMax });
  const rep: FitReport = { ...buildReport(input, hw, e, suggestions, depth, warnings, engine), ...nowFields(hw, e.memory.totalBytes, live, capacityGb !== undefined) };
  process.stdout.write((values.json ? JSON.stringify(rep, null, 2) : renderReport(rep)) + '\n');
  return 0;
}

