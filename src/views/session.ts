// The live picture behind every view: detection → estimates → live speed, context tracking, horizons and
// warnings with hysteresis. No `vscode`: the extension owns the timers and presentation; tests drive it
// against real HTTP servers on 127.0.0.1.
import { isAbsolute } from 'node:path';
import type { HeadroomConfig } from '../config';
import { growthPerTurn, newTrack, observeTurn, contextTokens, type ContextTrack } from '../estimator/context-tracker';
import { DEFAULT_HARDWARE_ID, findHardware, usableBytes, withCapacityOverride, type DetectedHardware, type HardwareSpec } from '../estimator/hardware';
import { computeHorizon, maxFittingWindow } from '../estimator/horizon';
import { updateLiveSpeed, isStale, type LiveSpeed, type SpeedSample, type CounterSnapshot, speedFromCounters } from '../estimator/live-speed';
import { contextConditions, slowDecodeCondition, truncationCondition } from '../estimator/warning-rules';
import { emptyBook, stepWarnings, type Condition, type Warning, type WarningBook } from '../estimator/warnings';
import { detect as detectEngines, type Detection, type DetectOptions } from '../providers/detect';
import { defaultEndpoints, endpointsFromEnv, mergeEndpoints, parseEndpoint, type EndpointConfig } from '../providers/endpoints';
import type { MeterRecord } from '../providers/proxy/record';
import { sameServer } from '../connect/urls';
import { countersFromMetrics, gaugeSpeed } from '../providers/stream/metrics-counters';
import { deriveAlerts } from './alerts';
import { assemble, hardwareView, modelKey, type Assembled, type LiveReading } from './assemble';
import type { GgufFile } from '../providers/estimate';
import type { BenchResult } from '../estimator/bench-result';
import type { AlertView, DashboardState, HardwareView, HorizonView } from './model';
import type { SpeedPoint } from './protocol';
import type { LiveMemory } from '../estimator/live';

function isLoopbackUrl(url: string): boolean {
  try {
    const h = new URL(url).hostname;
    return h === 'localhost' || h === '[::1]' || h.startsWith('127.');
  } catch {
    return false;
  }
}

export type LogFn = (level: 'info' | 'warn' | 'debug', message: string) => void;

export interface SessionDeps {
  config: () => HeadroomConfig;
  env?: Record<string, string | undefined>;
  log?: LogFn;
  detect?: (endpoints: EndpointConfig[], opts: DetectOptions) => Promise<Detection[]>;
  /** Detects this machine (sysctl / nvidia-smi); called at most once per session. */
  localHardware?: () => Promise<DetectedHardware>;
  /** This machine's memory now (a LiveMemoryProbe: cheap reads, slow tools at most every 30 s). */
  liveMemory?: () => Promise<LiveMemory | undefined>;
  /** Deadline for one live reading (default 3 s): past it the poll goes on with the previous reading. */
  liveMemoryTimeoutMs?: number;
  /** Streaming-read bandwidth of system memory, GB/s (measured once, cached): for partially offloaded models. */
  cpuBandwidth?: () => Promise<number | undefined>;
  now?: () => number;
}

const HISTORY_POINTS = 600;

/** Built-in warnings and instant alerts share a vocabulary: map the book's warnings onto AlertViews. */
function toAlert(w: Warning): AlertView | undefined {
  if (w.severity === 'info' && w.kind !== 'slow-decode') return undefined;
  return { modelKey: w.modelKey, kind: w.kind, severity: w.severity === 'error' ? 'error' : 'warning', message: w.message };
}

export class Session {
  private assembled: Assembled | undefined;
  private current: DashboardState;
  private hw: { spec: HardwareSpec; view: HardwareView } | undefined;
  private local: Promise<DetectedHardware | undefined> | undefined;
  private readonly counters = new Map<string, CounterSnapshot>();
  private readonly speeds = new Map<string, LiveSpeed>();
  private readonly histories = new Map<string, SpeedPoint[]>();
  private readonly tracks = new Map<string, ContextTrack>();
  private readonly truncations = new Map<string, MeterRecord>();
  /** Model keys the metering proxy has seen requests for. */
  private readonly meteredKeys = new Set<string>();
  /** GGUF headers of local model files (null: tried and failed — not retried). */
  private readonly files = new Map<string, GgufFile | null>();
  /** Stored Measure Speed / `headroom bench` results (the controller loads and saves the file). */
  private benchResults: readonly BenchResult[] = [];
  private book: WarningBook = emptyBook();
  private liveMem: LiveMemory | undefined;
  private cpuGBps: number | undefined;
  private cpuGBpsAsked = false;
  /** Lowest swap use seen since models were loaded on this machine (undefined while none is). */
  private swapBaseline: number | undefined;
  private activeKeyValue: string | undefined;
  private readonly stateListeners = new Set<(s: DashboardState) => void>();
  private readonly warningListeners = new Set<(w: Warning[]) => void>();
  private readonly speedListeners = new Set<(key: string, p: SpeedPoint) => void>();

  constructor(private readonly deps: SessionDeps) {
    const spec = findHardware(DEFAULT_HARDWARE_ID)!;
    this.current = { phase: 'detecting', hardware: hardwareView(spec, 'default'), engines: [], models: [], alerts: [] };
  }

  get state(): DashboardState {
    return this.current;
  }

  get activeKey(): string | undefined {
    return this.activeKeyValue;
  }

  /** The estimate, loaded-model facts and hardware behind a model key (for the panel). */
  details(key: string) {
    return this.assembled?.estimates.get(key);
  }

  history(key: string): SpeedPoint[] {
    return this.histories.get(key) ?? [];
  }

  hardwareSpec(): HardwareSpec {
    return this.hw?.spec ?? findHardware(DEFAULT_HARDWARE_ID)!;
  }

  /** The last detection results (for the quick-picks: installed models per engine). */
  get detections(): readonly Detection[] {
    return this.lastDetections;
  }
  private lastDetections: Detection[] = [];
  private refreshed = false;

  onState(l: (s: DashboardState) => void): { dispose(): void } {
    this.stateListeners.add(l);
    return { dispose: () => this.stateListeners.delete(l) };
  }

  /** Called with warnings that are NEW this step (a new episode or an escalation): notify on these only. */
  onWarnings(l: (w: Warning[]) => void): { dispose(): void } {
    this.warningListeners.add(l);
    return { dispose: () => this.warningListeners.delete(l) };
  }

  onSpeed(l: (key: string, p: SpeedPoint) => void): { dispose(): void } {
    this.speedListeners.add(l);
    return { dispose: () => this.speedListeners.delete(l) };
  }

  setActive(key: string | undefined): void {
    this.activeKeyValue = key;
    this.rebuild();
  }

  /** Settings changed: the hardware choice may differ; recompute with the last detections. */
  configChanged(): void {
    this.hw = undefined;
  }

  /** Endpoints to probe: defaults (if auto-detect), the environment, and the settings. */
  endpoints(): EndpointConfig[] {
    const cfg = this.deps.config();
    const env = endpointsFromEnv(this.deps.env ?? {});
    for (const e of env.errors) this.log('warn', e);
    const fromSettings: EndpointConfig[] = [];
    for (const e of cfg.endpoints) {
      try {
        fromSettings.push(parseEndpoint(e.hardwareProfile ? `${e.url}#${e.hardwareProfile}` : e.url, 'settings'));
      } catch (err) {
        this.log('warn', `headroom.endpoints: ${(err as Error).message}`);
      }
    }
    return mergeEndpoints(cfg.autoDetect ? defaultEndpoints() : [], env.endpoints, fromSettings);
  }

  /** Resolves the hardware profile: setting → detected → default; then the capacity override. */
  async resolveHardware(): Promise<{ spec: HardwareSpec; view: HardwareView }> {
    if (this.hw) return this.hw;
    const cfg = this.deps.config();
    let spec: HardwareSpec | undefined;
    let chosenBy: HardwareView['chosenBy'] = 'default';
    if (cfg.hardwareProfile !== 'auto') {
      spec = findHardware(cfg.hardwareProfile);
      if (spec) chosenBy = 'setting';
      else this.log('warn', `headroom.hardwareProfile: unknown profile '${cfg.hardwareProfile}'; detecting this machine instead`);
    }
    if (!spec && this.deps.localHardware) {
      this.local ??= this.deps.localHardware().catch((err: unknown) => {
        this.log('warn', `hardware detection failed: ${err instanceof Error ? err.message : String(err)}`);
        return undefined;
      });
      const d = await this.local;
      if (d) {
        spec = d.profile;
        chosenBy = 'detected';
        this.log('info', `hardware: ${d.detail}`);
      }
    }
    spec ??= findHardware(DEFAULT_HARDWARE_ID)!;
    const overridden = cfg.capacityGB > 0;
    if (overridden) spec = withCapacityOverride(spec, cfg.capacityGB);
    this.hw = { spec, view: hardwareView(spec, chosenBy, overridden) };
    return this.hw;
  }

  /** One poll: detect, fold in live readings, step the warnings, publish. Resolves true when any engine answered. */
  async refresh(signal?: AbortSignal): Promise<boolean> {
    const endpoints = this.endpoints();
    const detect = this.deps.detect ?? detectEngines;
    const [detections, , mem] = await Promise.all([detect(endpoints, { signal }), this.resolveHardware(), this.readLiveMemory()]);
    if (signal?.aborted) return false;
    this.liveMem = mem && this.cpuGBps ? { ...mem, cpuBandwidthGBps: this.cpuGBps } : mem;
    this.trackSwap(detections, mem);
    this.measureCpuIfOffloaded(detections);
    this.lastDetections = detections;
    this.refreshed = true;
    const now = this.now();
    for (const d of detections) {
      if (d.error && d.source !== 'default') this.log('debug', `${d.endpoint}: ${d.error.kind} ${d.error.path} ${d.error.message}`);
      const snap = d.snapshot;
      if (!snap?.metrics) continue;
      for (const lm of snap.loaded) {
        const key = modelKey(snap.endpoint, lm.name);
        const multi = snap.loaded.length > 1 ? lm.name : undefined;
        const cur = countersFromMetrics(snap.metrics, now, multi);
        const prev = this.counters.get(key);
        if (cur) this.counters.set(key, cur);
        const sample = (prev && cur ? speedFromCounters(prev, cur) : undefined) ?? gaugeSpeed(snap.metrics, now, multi);
        if (sample) this.addSpeed(key, sample);
      }
    }
    await this.readModelFiles(detections);
    this.rebuild(detections);
    return detections.some((d) => d.engine !== undefined);
  }

  /** A failed or missing reading never blocks the poll: the budget falls back to the profile. */
  private async readLiveMemory(): Promise<LiveMemory | undefined> {
    if (!this.deps.liveMemory) return undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const late = Symbol('late');
      const ms = this.deps.liveMemoryTimeoutMs ?? 3000;
      const r = await Promise.race([this.deps.liveMemory(), new Promise<typeof late>((res) => (timer = setTimeout(() => res(late), ms)))]);
      if (r !== late) return r;
      this.log('warn', `live memory reading took over ${ms} ms; keeping the previous one`);
      return this.liveMem;
    } catch (err) {
      this.log('warn', `live memory reading failed: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Swap that grows while a model is loaded is where decode speed dies: remember the lowest level since loading. */
  private trackSwap(detections: readonly Detection[], mem: LiveMemory | undefined): void {
    const loaded = detections.some((d) => isLoopbackUrl(d.endpoint) && (d.snapshot?.loaded.length ?? 0) > 0);
    if (!loaded || mem?.swapUsedBytes === undefined) {
      this.swapBaseline = undefined;
      return;
    }
    const before = this.swapBaseline;
    this.swapBaseline = Math.min(before ?? mem.swapUsedBytes, mem.swapUsedBytes);
    if (before === undefined) this.log('info', `swap in use when models are loaded: ${Math.round(mem.swapUsedBytes / 2 ** 20)} MiB (${mem.source})`);
  }

  /** A local model partly in system RAM: measure CPU bandwidth once, in the background, then re-assemble. */
  private measureCpuIfOffloaded(detections: readonly Detection[]): void {
    if (this.cpuGBpsAsked || !this.deps.cpuBandwidth) return;
    const offloaded = detections.some((d) => isLoopbackUrl(d.endpoint) && d.snapshot?.loaded.some((m) => (m.cpuBytes?.value ?? 0) > 0));
    if (!offloaded) return;
    this.cpuGBpsAsked = true;
    void this.deps
      .cpuBandwidth()
      .then((gbps) => {
        if (!gbps) return;
        this.cpuGBps = gbps;
        this.log('info', `system memory streams at ${gbps} GB/s (measured): used for the offloaded share's decode`);
        if (this.liveMem) this.liveMem = { ...this.liveMem, cpuBandwidthGBps: gbps };
        this.rebuild();
      })
      .catch((err: unknown) => this.log('warn', `CPU bandwidth measurement failed: ${err instanceof Error ? err.message : String(err)}`));
  }

  private swapGrowth(): number | undefined {
    const now = this.liveMem?.swapUsedBytes;
    return this.swapBaseline !== undefined && now !== undefined ? Math.max(0, now - this.swapBaseline) : undefined;
  }

  /**
   * Local engines name their model file (llama.cpp `model_path`): its header gives the exact architecture and
   * tensor table. Read once per path, header only (bounded), never for remote endpoints.
   */
  private async readModelFiles(detections: readonly Detection[]): Promise<void> {
    const wanted: string[] = [];
    for (const d of detections) {
      if (!d.snapshot || !isLoopbackUrl(d.endpoint)) continue;
      for (const lm of d.snapshot.loaded) if (lm.modelPath && isAbsolute(lm.modelPath) && !this.files.has(lm.modelPath)) wanted.push(lm.modelPath);
    }
    if (wanted.length === 0) return;
    const { readGgufHeader } = await import('../gguf/read.js');
    await Promise.all(
      wanted.map(async (path) => {
        try {
          const h = await readGgufHeader(path);
          this.files.set(path, { metadata: h.metadata, tensors: h.tensors });
          this.log('info', `read the GGUF header of ${path} (${h.tensors.length} tensors)`);
        } catch (err) {
          this.files.set(path, null);
          this.log('info', `model file ${path} not readable here (${err instanceof Error ? err.message : String(err)}); using the engine's numbers`);
        }
      }),
    );
  }

  private fileMap(): Map<string, GgufFile> {
    const out = new Map<string, GgufFile>();
    for (const [k, v] of this.files) if (v) out.set(k, v);
    return out;
  }

  /** A request the metering proxy saw (numbers only): live speed, context growth, truncation. */
  ingestProxyRecord(r: MeterRecord, alsoAt?: string): void {
    if (!r.model) return;
    // Front door: the proxy listens where the engine used to be, so detection sees the engine at the proxy's
    // address (`alsoAt`) while records name the engine's new one.
    const key = this.resolveKey(r.target, r.model, alsoAt);
    this.meteredKeys.add(key);
    const at = r.at;
    if (r.decodeTokPerSec || r.prefillTokPerSec) {
      this.addSpeed(key, { at, source: r.speedSource === 'engine' ? 'timings' : 'proxy', ...(r.decodeTokPerSec ? { decodeTokPerSec: r.decodeTokPerSec } : {}), ...(r.prefillTokPerSec ? { prefillTokPerSec: r.prefillTokPerSec } : {}), ...(r.outputTokens ? { decodeTokens: r.outputTokens } : {}) });
    }
    const prompt = r.promptTokens ?? r.estimatedPromptTokens;
    if (prompt !== undefined) this.tracks.set(key, observeTurn(this.tracks.get(key) ?? newTrack(), { at, promptTokens: prompt, ...(r.outputTokens !== undefined ? { outputTokens: r.outputTokens } : {}) }));
    if (r.truncated || this.truncations.has(key)) this.truncations.set(key, r);
    this.rebuild();
  }

  /** Runs of "Measure Speed" (engine timings or client-timed): folded into the live speed and its history. */
  ingestBench(key: string, runs: readonly { decodeTokPerSec?: number; prefillTokPerSec?: number; outputTokens: number; timing: 'engine' | 'client' }[], at = this.now()): void {
    for (const r of runs) {
      if (!r.decodeTokPerSec && !r.prefillTokPerSec) continue;
      this.addSpeed(key, { at, source: r.timing === 'engine' ? 'timings' : 'proxy', decodeTokens: r.outputTokens, ...(r.decodeTokPerSec ? { decodeTokPerSec: r.decodeTokPerSec } : {}), ...(r.prefillTokPerSec ? { prefillTokPerSec: r.prefillTokPerSec } : {}) });
    }
    this.rebuild();
  }

  /** The stored measurements (after loading the store, or saving a new run): decode for those stacks is calibrated. */
  setBenchResults(results: readonly BenchResult[]): void {
    this.benchResults = results;
    this.rebuild();
  }

  /** The model key a proxy event names (a detected model when one matches). */
  modelKeyFor(endpoint: string, model: string): string {
    return this.resolveKey(endpoint, model);
  }

  private resolveKey(endpoint: string, model: string, alsoAt?: string): string {
    const bare = (n: string) => n.replace(/:latest$/, '');
    const at = [endpoint, ...(alsoAt ? [alsoAt] : [])].map((e) => e.replace(/\/+$/, ''));
    const m = this.current.models.find((x) => at.some((e) => e === x.endpoint || sameServer(e, x.endpoint)) && bare(x.name) === bare(model));
    if (m) return m.key;
    // Not detected yet (e.g. the engine just moved behind a front-door proxy): key it where detection will find it.
    const viaProxy = alsoAt !== undefined && this.endpoints().some((e) => sameServer(e.url, alsoAt));
    return modelKey((viaProxy ? alsoAt : endpoint).replace(/\/+$/, ''), model);
  }

  private addSpeed(key: string, s: SpeedSample): void {
    const next = updateLiveSpeed(this.speeds.get(key), s);
    this.speeds.set(key, next);
    if (s.decodeTokPerSec) {
      const p: SpeedPoint = { t: s.at, tokPerSec: s.decodeTokPerSec };
      this.histories.set(key, [...(this.histories.get(key) ?? []), p].slice(-HISTORY_POINTS));
      for (const l of this.speedListeners) l(key, p);
    }
  }

  private live(now: number): Map<string, LiveReading> {
    const out = new Map<string, LiveReading>();
    for (const [k, s] of this.speeds) {
      if (s.decodeTokPerSec === undefined || isStale(s, now)) continue;
      out.set(k, { decodeTokPerSec: s.decodeTokPerSec, source: s.source === 'proxy' ? 'measured' : 'engine' });
    }
    return out;
  }

  /** Re-assembles the dashboard from the last detections and the current live data. */
  private rebuild(detections: readonly Detection[] = this.lastDetections): void {
    const hw = this.hw ?? { spec: findHardware(DEFAULT_HARDWARE_ID)!, view: hardwareView(findHardware(DEFAULT_HARDWARE_ID)!, 'default') };
    const cfg = this.deps.config();
    const now = this.now();
    const thresholds = cfg.warnings;
    const files = this.fileMap();
    const machine = { ...(this.liveMem ? { memory: this.liveMem } : {}), ...(this.swapGrowth() !== undefined ? { swapGrowthBytes: this.swapGrowth()! } : {}) };
    const metered = new Map([...this.tracks].map(([k, t]) => [k, contextTokens(t)] as const));
    for (const k of this.meteredKeys) if (!metered.has(k)) metered.set(k, undefined);
    const first = assemble({ detections, hardware: hw.spec, chosenBy: hw.view.chosenBy, capacityOverridden: hw.view.capacityOverridden, live: this.live(now), thresholds, activeKey: this.activeKeyValue, files, bench: this.benchResults, metered, ...machine });
    // Horizons need every model's memory (other residents stay loaded while one grows): second pass.
    const horizons = new Map<string, HorizonView>();
    const conditions: Condition[] = [];
    for (const m of first.state.models) {
      const det = first.estimates.get(m.key);
      const used = contextTokens(this.tracks.get(m.key) ?? newTrack()) ?? m.context.used?.value;
      const window = m.context.configured?.value;
      const name = m.name;
      if (det?.estimate && used !== undefined && window) {
        // Other models stay resident, and on this machine other processes hold what the live reading says now.
        const onThisMachine = m.hardwareId === first.state.hardware.id;
        const processes = onThisMachine ? (first.state.budget?.othersBytes ?? 0) : 0;
        const others = first.state.models.filter((o) => o.key !== m.key && o.hardwareId === m.hardwareId).reduce((s, o) => s + o.memory.total.value, 0) + processes;
        const usable = onThisMachine && first.state.budget ? first.state.budget.usableBytes : usableBytes(det.hardware);
        const maxWin = maxFittingWindow({ spec: det.estimate.spec, weights: det.estimate.weights, ctx: det.estimate.ctx, usableBytes: usable, otherResidentBytes: others });
        const growth = growthPerTurn(this.tracks.get(m.key) ?? newTrack());
        const h = computeHorizon({ usedTokens: used, window, maxFittingWindow: maxWin, ...(growth !== undefined ? { growthPerTurn: growth } : {}) });
        horizons.set(m.key, { limit: h.limit, tokensLeft: h.tokensLeft, ...(h.turnsLeft !== undefined ? { turnsLeft: h.turnsLeft } : {}), ...(h.growthPerTurn !== undefined ? { growthPerTurn: h.growthPerTurn } : {}) });
        conditions.push(...contextConditions(m.key, name, h, { contextFraction: thresholds.contextFraction, turnsLeft: thresholds.turnsLeft, engine: m.engine }));
      }
      if (m.speed.decode) conditions.push(slowDecodeCondition(m.key, name, m.speed.decode.value, m.speed.ceiling));
      const trunc = this.truncations.get(m.key);
      if (trunc) conditions.push(truncationCondition(m.key, name, { truncated: trunc.truncated, ...(trunc.truncation ?? {}) }, m.engine));
    }
    const step = stepWarnings(this.book, conditions, now);
    this.book = step.book;
    const instant = deriveAlerts(first.state, thresholds).filter((a) => a.kind === 'offload' || a.kind === 'over-capacity' || a.kind === 'swap');
    const alerts = [...instant, ...step.active.map(toAlert).filter((a): a is AlertView => a !== undefined)];
    this.assembled = assemble({ detections, hardware: hw.spec, chosenBy: hw.view.chosenBy, capacityOverridden: hw.view.capacityOverridden, live: this.live(now), horizons, alerts, thresholds, activeKey: this.activeKeyValue, files, bench: this.benchResults, metered, ...machine });
    // Until the first detection settles the status bar keeps its spinner.
    this.current = this.refreshed ? this.assembled.state : { ...this.assembled.state, phase: 'detecting' };
    for (const l of this.stateListeners) l(this.current);
    const raised = cfg.warnings.enabled ? step.raised : [];
    if (raised.length) for (const l of this.warningListeners) l(raised);
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  private log(level: 'info' | 'warn' | 'debug', msg: string): void {
    this.deps.log?.(level, msg);
  }
}
