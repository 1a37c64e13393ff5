// What the panel shows: a loaded model (live, follows the engine) or the result of Check Model Fit.
// Pure: builds the FitTarget from what the Session knows about a loaded model.
import { formatTokens } from '../estimator/format';
import type { HardwareSpec } from '../estimator/hardware';
import { diagnose } from '../estimator/verdict';
import type { EngineSnapshot, LoadedModel } from '../providers/types';
import type { LoadedEstimate } from '../providers/estimate';
import { nowFor, type FitTarget } from './fit-check';
import { canLoad } from './load-model';
import type { DashboardState } from './model';
import type { SpeedPoint } from './protocol';

export type PanelSubject = { kind: 'loaded'; key: string } | { kind: 'fit'; target: FitTarget };

export interface LoadedDetails {
  estimate?: LoadedEstimate;
  loaded: LoadedModel;
  snapshot: EngineSnapshot;
  hardware: HardwareSpec;
}

/** The FitTarget for a loaded model, or a reason it cannot be charted. */
export function targetForLoaded(key: string, state: DashboardState, d: LoadedDetails | undefined, history: SpeedPoint[]): FitTarget | { error: string } {
  const view = state.models.find((m) => m.key === key);
  if (!view || !d) return { error: 'That model is no longer loaded.' };
  const e = d.estimate;
  if (!e) return { error: `Headroom has no architecture data for ${view.name} (the engine gave no metadata and the catalog has no match), so it cannot chart memory against context. Use Check Model Fit with the catalog model it is based on.` };
  const used = view.context.used?.value;
  const others = state.models
    .filter((m) => m.key !== key)
    .map((m) => ({ key: m.key, name: m.name, totalBytes: m.memory.total.value, fits: m.memory.total.value <= state.hardware.usableBytes }));
  const target: FitTarget = {
    modelId: view.name,
    title: view.name,
    spec: e.spec,
    quant: e.quant,
    weights: e.weights,
    ctx: e.ctx,
    contextMax: e.contextMax,
    engine: view.engine,
    ...(canLoad(view.engine) ? { reloadKey: key } : {}),
    ...(used ? { depth: used } : {}),
    engineFacts: { ...(d.loaded.residentBytes ? { residentBytes: d.loaded.residentBytes.value } : {}), ...(d.loaded.cpuBytes ? { cpuBytes: d.loaded.cpuBytes.value } : {}) },
    live: { history, ...(view.speed.decode ? { decodeTokPerSec: view.speed.decode.value, source: view.speed.decode.source } : {}) },
    ...(view.speed.bench ? { measured: view.speed.bench } : {}),
    others,
    ...(view.hardwareId === state.hardware.id && nowFor(state, true) ? { now: nowFor(state, true)! } : {}),
  };
  try {
    target.verdict = diagnose({
      engine: view.engine,
      hardware: d.hardware,
      model: { id: view.name, totalParams: e.spec.totalParams, activeParams: e.spec.activeParams },
      weights: e.weights,
      memory: e.memory,
      ...(d.loaded.residentBytes && d.loaded.acceleratorBytes ? { offload: { residentBytes: d.loaded.residentBytes.value, acceleratorBytes: d.loaded.acceleratorBytes.value, via: d.loaded.acceleratorBytes.via } } : {}),
      speed: {
        // A live reading, else a Measure Speed run at this depth: either is a measurement of this stack.
        ...(view.speed.decode ? { measuredTokPerSec: view.speed.decode.value } : view.speed.bench?.source === 'measured' ? { measuredTokPerSec: view.speed.bench.tokPerSec } : {}),
        ...(view.speed.ceiling ? { ceilingTokPerSec: view.speed.ceiling } : {}),
        ...(view.speed.predicted ? { predictedTokPerSec: view.speed.predicted, ...(view.speed.predictedRange ? { predictedRange: view.speed.predictedRange } : {}) } : {}),
        depth: used ?? 0,
      },
      window: { ctxPerSeq: e.ctx.ctxPerSeq, parallel: e.ctx.parallel },
      // The offloaded share streams from system RAM: at the bandwidth measured on this machine when there is one.
      ...(view.hardwareId === state.hardware.id && state.budget?.cpuBandwidthGBps ? { hostBandwidthGBps: state.budget.cpuBandwidthGBps } : {}),
    });
  } catch {
    // A verdict is a bonus; the chart and the table stand on their own.
  }
  return target;
}

/** The empty-state message for the panel. */
export function emptyMessage(state: DashboardState): string {
  if (state.phase === 'detecting') return 'Looking for local LLM engines…';
  if (state.phase === 'idle') return 'No local LLM engine is running. Check how a model would fit this machine, or start Ollama, llama.cpp, LM Studio or another engine and detect again.';
  if (state.models.length === 0) return `${state.engines.map((e) => e.engine).join(', ')} ${state.engines.length > 1 ? 'are' : 'is'} running with no model loaded. Check how a model would fit, or choose one to load.`;
  return `Choose a model to inspect (${state.models.length} loaded, ${formatTokens(state.models.reduce((s, m) => s + (m.context.configured?.value ?? 0), 0))} tokens of context configured).`;
}
