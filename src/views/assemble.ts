// Detections + estimates + live readings → the DashboardState every view renders. Pure: everything that
// changes over time (live speed, horizons, the chosen model) comes in as arguments.
import { findHardware, usableBytes, type HardwareSpec } from '../estimator/hardware';
import type { Detection } from '../providers/detect';
import type { EngineSnapshot, LoadedModel } from '../providers/types';
import { deriveAlerts, type AlertThresholds } from './alerts';
import { estimateLoaded, loadedFigures, type GgufFile, type LoadedEstimate } from '../providers/estimate';
import type { AlertView, BudgetView, DashboardState, HardwareView, HorizonView, ModelView, Sourced } from './model';
import { budgetNow, type LiveMemory } from '../estimator/live';
import type { BenchResult } from '../estimator/bench-result';
import { benchDecode, benchKeyForLoaded } from './measured';

export function modelKey(endpoint: string, name: string): string {
  return `${endpoint}|${name}`;
}

export interface LiveReading {
  decodeTokPerSec: number;
  source: 'engine' | 'measured';
}

export interface AssembleInput {
  detections: readonly Detection[];
  /** This machine's profile (already with any capacity override). */
  hardware: HardwareSpec;
  chosenBy: HardwareView['chosenBy'];
  capacityOverridden?: boolean;
  /** Live decode per model key. */
  live?: ReadonlyMap<string, LiveReading>;
  horizons?: ReadonlyMap<string, HorizonView>;
  /** Warnings from the hysteresis book; when absent, instant alerts are derived here. */
  alerts?: AlertView[];
  thresholds: AlertThresholds;
  activeKey?: string;
  /** GGUF headers of local engines' model files, by model path. */
  files?: ReadonlyMap<string, GgufFile>;
  /** Stored Measure Speed / `headroom bench` results: calibrate decode for the stacks they measured. */
  bench?: readonly BenchResult[];
  /** This machine's memory now (providers/live-memory.ts), and swap growth since models were loaded. */
  memory?: LiveMemory;
  swapGrowthBytes?: number;
  /** Tokens in context per model key as the metering proxy counted them (the agent's last prompt + output). */
  metered?: ReadonlyMap<string, number | undefined>;
}

export interface Assembled {
  state: DashboardState;
  /** Per model key: the estimate behind the numbers (for the panel, horizons and warnings). */
  estimates: Map<string, { estimate?: LoadedEstimate; loaded: LoadedModel; snapshot: EngineSnapshot; hardware: HardwareSpec }>;
}

export function hardwareView(hw: HardwareSpec, chosenBy: HardwareView['chosenBy'], overridden = false): HardwareView {
  return { id: hw.id, name: hw.name, capacityBytes: hw.capacityBytes, usableBytes: usableBytes(hw), bandwidthGBps: hw.bandwidthGBps, chosenBy, ...(overridden ? { capacityOverridden: true } : {}) };
}

const sourced = (value: number, source: Sourced['source']): Sourced => ({ value, source });

/** Tokens in the KV now: the engine's figure, else the fullest slot. */
function usedTokens(lm: LoadedModel, snap: EngineSnapshot): Sourced | undefined {
  if (lm.contextUsed) return sourced(lm.contextUsed.value, lm.contextUsed.source);
  const inUse = (snap.slots ?? []).map((s) => s.tokensInUse).filter((t): t is number => t !== undefined);
  return inUse.length ? sourced(Math.max(...inUse), 'engine') : undefined;
}

/** llama.cpp names a model by its file path: show the file name (the key keeps the full id). */
export function displayName(name: string): string {
  return /[\\/]/.test(name) && /\.gguf$/i.test(name) ? name.split(/[\\/]/).pop()! : name;
}

function modelView(lm: LoadedModel, snap: EngineSnapshot, hw: HardwareSpec, est: LoadedEstimate | undefined, live: LiveReading | undefined, horizon: HorizonView | undefined, bench: readonly BenchResult[], metered?: ReadonlyMap<string, number | undefined>, cpuGBps?: number): ModelView {
  const key = modelKey(snap.endpoint, lm.name);
  // Engines without token counts (Ollama): the proxy's count of the agent's context is the only one there is.
  const proxied = metered?.get(key);
  const used = usedTokens(lm, snap) ?? (proxied !== undefined ? sourced(proxied, 'measured') : undefined);
  // The same figures `headroom status` prints (providers/estimate.ts): one estimate for CLI and editor.
  const engine = { kind: snap.engine, version: snap.version };
  const f = loadedFigures(lm, est, hw, used?.value ?? 0, engine, cpuGBps);
  const weights = sourced(f.weights.value, f.weights.source);
  const kv = sourced(f.kv.value, f.kv.source);
  const overhead = sourced(f.overhead.value, f.overhead.source);
  const total = sourced(f.total.value, f.total.source);
  const speed: ModelView['speed'] = {};
  if (live) speed.decode = sourced(live.decodeTokPerSec, live.source);
  if (f.decode) {
    speed.predicted = f.decode.predictedTokPerSec;
    speed.ceiling = f.decode.ceilingTokPerSec;
    if (f.decode.range) speed.predictedRange = f.decode.range;
    if (f.decode.kernels) speed.kernels = f.decode.kernels;
  }
  if (bench.length) {
    const b = benchDecode(bench, benchKeyForLoaded(snap.endpoint, lm, hw.id), est ? (d) => loadedFigures(lm, est, hw, d, engine, cpuGBps).decode?.predictedTokPerSec : undefined, used?.value ?? 0);
    if (b) speed.bench = b;
  }
  const configured = lm.contextPerSlot ? sourced(lm.contextPerSlot.value, lm.contextPerSlot.source) : undefined;
  return {
    key,
    name: displayName(lm.name),
    engine: snap.engine,
    endpoint: snap.endpoint,
    hardwareId: hw.id,
    ...(lm.quant || est ? { quant: lm.quant?.value ?? est!.quant } : {}),
    memory: { weights, kv, overhead, total },
    ...(lm.cpuBytes && lm.cpuBytes.value > 0 ? { cpuBytes: sourced(lm.cpuBytes.value, lm.cpuBytes.source) } : {}),
    context: {
      ...(configured ? { configured } : {}),
      ...(used ? { used } : {}),
      parallel: lm.parallel?.value ?? est?.ctx.parallel ?? 1,
      ...(lm.contextTrain || est ? { trained: lm.contextTrain?.value ?? est!.spec.contextTrain } : {}),
    },
    ...(horizon ? { horizon } : {}),
    ...(est ? {} : { shapeUnknown: true }),
    ...(metered?.has(key) ? { metered: true } : {}),
    speed,
  };
}

/** Engines on this machine, other processes, free and the usable limit (budgetNow does the math). */
export function budgetView(i: Pick<AssembleInput, 'hardware' | 'memory' | 'capacityOverridden' | 'swapGrowthBytes'>, models: readonly ModelView[], hardware: HardwareView): BudgetView {
  const engines = models.filter((m) => m.hardwareId === hardware.id).reduce((s, m) => s + m.memory.total.value, 0);
  const b = budgetNow(i.hardware, engines, i.memory, { overridden: i.capacityOverridden ?? false, enginesSource: 'loaded models (engine-reported or estimated)' });
  return {
    enginesBytes: b.enginesBytes,
    ...(b.othersBytes !== undefined ? { othersBytes: b.othersBytes } : {}),
    freeBytes: b.freeBytes,
    usableBytes: b.usableBytes,
    sources: b.sources,
    ...(i.memory?.swapUsedBytes !== undefined ? { swapUsedBytes: i.memory.swapUsedBytes } : {}),
    ...(i.swapGrowthBytes !== undefined ? { swapGrowthBytes: i.swapGrowthBytes } : {}),
    ...(i.memory ? { at: i.memory.at } : {}),
    ...(i.memory?.cpuBandwidthGBps ? { cpuBandwidthGBps: i.memory.cpuBandwidthGBps } : {}),
    ...(i.memory?.wiredLimitSet && i.memory.wiredLimitBytes ? { wiredLimitBytes: i.memory.wiredLimitBytes } : {}),
  };
}

export function assemble(i: AssembleInput): Assembled {
  const estimates: Assembled['estimates'] = new Map();
  const models: ModelView[] = [];
  const engines: DashboardState['engines'] = [];
  for (const d of i.detections) {
    const snap = d.snapshot;
    if (!d.engine || !snap) continue;
    engines.push({ endpoint: d.endpoint, engine: d.engine, ...(d.version ? { version: d.version } : {}), ...(snap.notes.length ? { notes: snap.notes } : {}) });
    const hw = (snap.hardwareProfileId && findHardware(snap.hardwareProfileId)) || i.hardware;
    for (const lm of snap.loaded) {
      const key = modelKey(snap.endpoint, lm.name);
      let est: LoadedEstimate | undefined;
      try {
        est = estimateLoaded(lm, lm.modelPath ? i.files?.get(lm.modelPath) : undefined).estimate;
      } catch {
        est = undefined; // an odd spec must not take the status bar down; the engine's own numbers still show
      }
      estimates.set(key, { estimate: est, loaded: lm, snapshot: snap, hardware: hw });
      models.push(modelView(lm, snap, hw, est, i.live?.get(key), i.horizons?.get(key), i.bench ?? [], i.metered, i.memory?.cpuBandwidthGBps));
    }
  }
  const hardware = hardwareView(i.hardware, i.chosenBy, i.capacityOverridden);
  const phase: DashboardState['phase'] = engines.length === 0 ? 'idle' : 'ready';
  const budget = budgetView(i, models, hardware);
  const base = { models, hardware, budget };
  const state: DashboardState = {
    phase,
    hardware,
    budget,
    engines,
    models,
    alerts: i.alerts ?? deriveAlerts(base, i.thresholds),
    ...(i.activeKey && models.some((m) => m.key === i.activeKey) ? { activeKey: i.activeKey } : {}),
    probed: i.detections.map((d) => d.endpoint),
  };
  return { state, estimates };
}
