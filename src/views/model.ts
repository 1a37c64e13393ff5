// View models: the plain data the status bar, tooltip, warnings and panel render. Pure (no `vscode`).
// Providers and the estimator fill these in (src/views/assemble.ts); views only format them.
import type { Provenance, SpeedRange } from '../estimator/types';
import type { BenchDecode } from './measured';

/** A number and where it came from, so the UI can say "engine-reported" vs "estimated". */
export interface Sourced {
  value: number;
  source: Provenance;
}

export interface HardwareView {
  id: string;
  name: string;
  capacityBytes: number;
  usableBytes: number;
  bandwidthGBps: number;
  /** How the profile was chosen: detected on this machine, the user's setting, an endpoint's setting, or the fallback. */
  chosenBy: 'detected' | 'setting' | 'endpoint' | 'default';
  /** True when `headroom.capacityGB` overrides the profile's usable memory. */
  capacityOverridden?: boolean;
}

/** Tokens and turns left before something gives, and what gives first. */
export interface HorizonView {
  /** `window`: the engine's configured context truncates; `memory`: a bigger window would not fit. */
  limit: 'window' | 'memory';
  tokensLeft: number;
  /** Agent turns left at the recent growth per turn; undefined when growth is unknown (one turn seen). */
  turnsLeft?: number;
  /** Median prompt growth per turn, tokens. */
  growthPerTurn?: number;
}

export interface ModelView {
  /** Stable key `<endpoint>|<model>` for warnings, snooze and the active-model choice. */
  key: string;
  name: string;
  engine: string;
  endpoint: string;
  /** Hardware profile this model's memory counts against. */
  hardwareId: string;
  quant?: string;
  memory: {
    weights: Sourced;
    kv: Sourced;
    /** Compute buffers, output buffer, recurrent state. */
    overhead: Sourced;
    total: Sourced;
  };
  /** Bytes the engine left in system RAM (partial offload): decode drops to CPU memory speed. */
  cpuBytes?: Sourced;
  context: {
    /** Tokens one slot can hold. */
    configured?: Sourced;
    /** Tokens in the KV cache now (largest slot). */
    used?: Sourced;
    parallel: number;
    /** Trained context of the model. */
    trained?: number;
  };
  horizon?: HorizonView;
  /** Neither the engine nor the catalog describes the architecture: KV and buffers are not estimated. */
  shapeUnknown?: boolean;
  /** The metering proxy has seen requests for this model (so its context use is visible). */
  metered?: boolean;
  speed: {
    /** Live decode tok/s (engine metrics, response timings or the proxy). */
    decode?: Sourced;
    /** Predicted decode tok/s at the current depth. */
    predicted?: number;
    /** Its cross-validated error band (speed-band.ts): "≈ 45 tok/s (30–55)". */
    predictedRange?: SpeedRange;
    /** Bandwidth ÷ bytes per token: the ceiling no stack beats. */
    ceiling?: number;
    /** Why the prediction sits below the stack's usual share: immature kernels or a launch build, in words. */
    kernels?: string;
    /** Decode at the current depth from Measure Speed / `headroom bench` of this exact stack (measured, or the prediction calibrated by it). */
    bench?: BenchDecode;
  };
}

export interface EngineView {
  endpoint: string;
  engine: string;
  version?: string;
  /** Non-fatal gaps the provider reported (e.g. "/slots disabled"). */
  notes?: string[];
}

export type AlertKind = 'truncation' | 'truncated' | 'oom' | 'offload' | 'over-capacity' | 'slow-decode' | 'swap';

/** One active warning, as data (the metering engineer's warnings feed these). */
export interface AlertView {
  modelKey: string;
  kind: AlertKind;
  severity: 'warning' | 'error';
  message: string;
}

/** This machine's memory now (issue 12): engines, other processes, free, the usable limit — each with its source. */
export interface BudgetView {
  enginesBytes: number;
  /** Absent without a live reading. */
  othersBytes?: number;
  freeBytes: number;
  usableBytes: number;
  sources: { engines: string; others: string; free: string; usable: string };
  swapUsedBytes?: number;
  /** Swap growth since models were loaded (≥ 0). */
  swapGrowthBytes?: number;
  /** The reading's time (ISO). */
  at?: string;
  /** System memory's streaming-read bandwidth, measured here (GB/s): what a CPU-offloaded share decodes at. */
  cpuBandwidthGBps?: number;
  /** macOS: `iogpu.wired_limit_mb` when set (> 0); absent at the default share. */
  wiredLimitBytes?: number;
}

export interface DashboardState {
  /** `detecting` before the first detection settles; `idle` = nothing answered. */
  phase: 'detecting' | 'ready' | 'idle';
  hardware: HardwareView;
  /** This machine's budget now (live reading when available). */
  budget?: BudgetView;
  engines: EngineView[];
  models: ModelView[];
  alerts: AlertView[];
  /** Key of the model the user chose with "Choose Model", if any. */
  activeKey?: string;
  /** Endpoints probed in the last detection (for the "no engine" message). */
  probed?: string[];
}
