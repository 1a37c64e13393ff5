// `headroom status`: per running engine, each loaded model with the estimator's memory breakdown,
// configured vs used context, the engine's own memory split, and where every number came from.
import { parseFlags, intFlag } from './args';
import { renderPairs } from './table';
import { gatherEndpoints, reportable } from './detect';
import { resolveHardwareFlag } from './hardware';
import { detect, type Detection } from '../providers/detect';
import { cpuShareOf, estimateLoaded, loadedFigures, readLocalGguf, type LoadedEstimate, type LoadedFigures } from '../providers/estimate';
import { maxFittingWindow } from '../estimator/horizon';
import { cpuBandwidth } from '../providers/cpu-bandwidth';
import type { MemoryBreakdown, Provenance } from '../estimator/types';
import { budgetNow, type LiveMemory } from '../estimator/live';
import type { Fact, LoadedModel } from '../providers/types';
import { formatBytes, formatTokens } from '../estimator/format';
import { usableBytes, type HardwareSpec } from '../estimator/hardware';
import type { BenchResult } from '../estimator/bench-result';
import { BenchStoreError, defaultBenchStorePath, loadBenchStore } from '../providers/bench-store';
import { predictedSpeed, predictedSpeedPairs, servingEngineOf, statusSpeed, statusSpeedPairs, type PredictedSpeedJson, type StatusSpeedJson } from './status-speed';
import { homedir } from 'node:os';

export const STATUS_USAGE = `usage: headroom status [--endpoint URL ...] [--hardware ID] [--json]

  --endpoint URL    also probe this endpoint (repeatable); URL#hardware-id names the machine it runs on
  --hardware ID     hardware profile for every endpoint (default: the endpoint's #id, else this machine for loopback)
  --no-defaults     probe only the given endpoints
  --timeout MS      per-request probe deadline (default 1200)
  --store FILE      bench results to compare decode with (default: where \`headroom bench\` saves them,
                    $HEADROOM_BENCH_STORE or ~/.local/state/headroom/bench-results.json)
  --json            machine-readable output`;

function isLoopback(url: string): boolean {
  const h = new URL(url).hostname;
  return h === 'localhost' || h === '[::1]' || h.startsWith('127.');
}

type Src = { value: number | string; source: string; via: string } | null;
const fact = (f: Fact<number> | Fact<string> | undefined): Src => (f ? { value: f.value, source: f.source, via: f.via } : null);

export interface StatusModelJson {
  name: string;
  quant: Src;
  spec: { id: string; arch: string; source: Provenance; via: string } | null;
  weights: { quant: string; totalBytes: number; activeBytes: number; source: Provenance; via: string } | null;
  memory: (MemoryBreakdown & { source: 'estimated' }) | null;
  /** What the status bar shows for this model (same module, same numbers): weights, KV, overhead, total, predicted decode. */
  figures: LoadedFigures;
  engineMemory: { residentBytes: Src; acceleratorBytes: Src; cpuBytes: Src; kvCacheBytes: Src };
  /** Estimate vs what the engine says is resident (Ollama `size`): how far to trust the estimate here. */
  check: { engineBytes: number; estimatedBytes: number; diffPct: number } | null;
  context: { perSlot: Src; total: Src; used: Src; trained: Src; parallel: Src; kvType: string | null };
  modelPath: string | null;
  /** Measured (headroom bench / Measure Speed on this endpoint, model, quant and hardware) vs predicted decode. */
  speed: StatusSpeedJson | null;
  /** The speed model's decode at the context in use, for this engine, with its error band (null when unknown). */
  predicted: PredictedSpeedJson | null;
  /** With what other processes and models hold now: the largest context per slot that still fits (this machine). */
  limitNow: { maxContextPerSlot: number; otherResidentBytes: number } | null;
  problems: string[];
}

export interface StatusBudgetJson {
  enginesBytes: number;
  /** Absent when not measurable (a remote endpoint, or no live reading). */
  othersBytes?: number;
  freeBytes: number;
  usableBytes: number;
  swapUsedBytes?: number;
  /** System RAM streaming-read bandwidth measured here (a CPU profile, or a model partly offloaded). */
  cpuBandwidthGBps?: number;
  sources: { engines: string; others: string; free: string; usable: string };
  at?: string;
}

export interface StatusJson {
  endpoint: string;
  engine: string;
  version: string | null;
  hardware: { id: string; usableBytes: number; source: string } | null;
  kvUsage: Src;
  kvCapacityTokens: Src;
  /** This engine's models, other processes (live, this machine only), free now and the usable limit. */
  budget: StatusBudgetJson | null;
  models: StatusModelJson[];
  notes: string[];
  error: Detection['error'] | null;
}

/** Live memory counts only for the machine this CLI runs on; other engines there are "other processes". */
function budgetJson(hw: HardwareSpec, models: StatusModelJson[], live: LiveMemory | undefined): StatusBudgetJson {
  const engines = models.reduce((s, m) => s + m.figures.total.value, 0);
  const b = budgetNow(hw, engines, live, { enginesSource: "this engine's loaded models (engine-reported or estimated)" });
  return {
    enginesBytes: Math.round(b.enginesBytes),
    ...(b.othersBytes !== undefined ? { othersBytes: Math.round(b.othersBytes) } : {}),
    freeBytes: Math.round(b.freeBytes),
    usableBytes: Math.round(b.usableBytes),
    ...(live?.swapUsedBytes !== undefined ? { swapUsedBytes: live.swapUsedBytes } : {}),
    ...(live?.cpuBandwidthGBps ? { cpuBandwidthGBps: live.cpuBandwidthGBps } : {}),
    sources: b.sources,
    ...(live ? { at: live.at } : {}),
  };
}

/** The budget for humans, plus how far the KV cache can grow with what others hold now. */
function budgetLines(b: StatusBudgetJson, models: StatusModelJson[]): string[] {
  const out = [
    `  memory now: this engine ${formatBytes(b.enginesBytes)}${b.othersBytes !== undefined ? ` · other processes ${formatBytes(b.othersBytes)} (${b.sources.others})` : ''} · free ${formatBytes(b.freeBytes)} · usable limit ${formatBytes(b.usableBytes)} (${b.sources.usable})`,
  ];
  if (b.swapUsedBytes && models.length) out.push(`  swap in use: ${formatBytes(b.swapUsedBytes)} — if it grows while the model runs, decode slows to disk speed`);
  return out;
}

async function modelStatus(m: LoadedModel, local: boolean, endpoint: string, hw: HardwareSpec | undefined, store: readonly BenchResult[], engineKind: string, engineVersion: string | undefined, cpuGBps?: number): Promise<StatusModelJson & { estimate?: LoadedEstimate }> {
  const header = await readLocalGguf(m, local);
  const r = estimateLoaded(m, header.file);
  const e = r.estimate;
  const problems = [...(header.problem ? [header.problem] : []), ...r.problems];
  const engine = servingEngineOf(engineKind);
  const key = { endpoint, model: m.name, ...(m.quant ? { quant: m.quant.value } : {}), ...(hw ? { hardwareId: hw.id } : {}) };
  return {
    name: m.name,
    quant: fact(m.quant),
    spec: e ? { id: e.spec.id, arch: e.spec.arch, source: e.spec.source, via: e.specVia } : null,
    weights: e ? { quant: e.weights.quant, totalBytes: e.weights.totalBytes, activeBytes: e.weights.activeBytes, source: e.weights.source, via: e.weights.via } : null,
    memory: e ? { ...e.memory, source: 'estimated' } : null,
    figures: loadedFigures(m, e, hw, m.contextUsed?.value ?? 0, { kind: engineKind, version: engineVersion }, cpuGBps),
    engineMemory: { residentBytes: fact(m.residentBytes), acceleratorBytes: fact(m.acceleratorBytes), cpuBytes: fact(m.cpuBytes), kvCacheBytes: fact(m.kvCacheBytes) },
    check:
      m.residentBytes && e
        ? { engineBytes: m.residentBytes.value, estimatedBytes: e.memory.totalBytes, diffPct: Math.round(((e.memory.totalBytes - m.residentBytes.value) / m.residentBytes.value) * 1000) / 10 }
        : null,
    context: { perSlot: fact(m.contextPerSlot), total: fact(m.contextTotal), used: fact(m.contextUsed), trained: fact(m.contextTrain), parallel: fact(m.parallel), kvType: e?.context.kvType ?? null },
    modelPath: m.modelPath ?? null,
    speed: statusSpeed(store, key, e, hw, m.contextUsed?.value ?? 0, engine),
    predicted: predictedSpeed(e, hw, m.contextUsed?.value ?? 0, engine, cpuShareOf(m), cpuGBps, engineVersion),
    limitNow: null,
    problems,
    ...(e ? { estimate: e } : {}),
  };
}

const tag = (s: Src): string => (s ? (s.source === 'engine' ? 'engine' : s.source) : '');
const bytes = (s: Src): string => (s && typeof s.value === 'number' ? `${formatBytes(s.value)} (${tag(s)})` : '—');

function renderModel(m: StatusModelJson, hw: StatusJson['hardware'], budget: StatusBudgetJson | null): string {
  const pairs: [string, string][] = [];
  pairs.push(['quant', m.quant ? `${m.quant.value} (${tag(m.quant)}: ${m.quant.via})` : '—']);
  pairs.push(['architecture', m.spec ? `${m.spec.arch} from ${m.spec.via}` : '—']);
  const c = m.context;
  const per = c.perSlot && typeof c.perSlot.value === 'number' ? formatTokens(c.perSlot.value) : '?';
  const slots = c.parallel && typeof c.parallel.value === 'number' ? c.parallel.value : 1;
  pairs.push(['context', `${per} per slot × ${slots} slot(s)${c.perSlot ? ` (${tag(c.perSlot)}: ${c.perSlot.via})` : ''}`]);
  if (c.used && typeof c.used.value === 'number') pairs.push(['context in use', `${formatTokens(c.used.value)} tokens (${tag(c.used)}: ${c.used.via})`]);
  if (c.trained && typeof c.trained.value === 'number') pairs.push(['trained context', formatTokens(c.trained.value)]);
  if (m.memory) {
    const mem = m.memory;
    pairs.push([
      'memory (estimated)',
      `${formatBytes(mem.totalBytes)} = weights ${formatBytes(mem.weightsBytes)} + KV ${formatBytes(mem.kvBytes)} (${c.kvType ?? 'f16'}) + compute ${formatBytes(mem.computeBytes)} + other ${formatBytes(mem.otherBytes)}`,
    ]);
    if (m.weights) pairs.push(['weights from', `${m.weights.via} (${m.weights.source})`]);
    if (hw) pairs.push(['headroom', `${formatBytes(hw.usableBytes - mem.totalBytes)} of ${formatBytes(hw.usableBytes)} usable on ${hw.id}`]);
  }
  const em = m.engineMemory;
  if (em.residentBytes) pairs.push(['engine reports', `resident ${bytes(em.residentBytes)}${m.check ? ` — estimate ${m.check.diffPct >= 0 ? '+' : ''}${m.check.diffPct}% vs engine` : ''}`]);
  if (em.kvCacheBytes) pairs.push(['engine KV pool', bytes(em.kvCacheBytes)]);
  if (em.acceleratorBytes && em.cpuBytes && typeof em.cpuBytes.value === 'number') {
    const ram = budget?.cpuBandwidthGBps ? `: ${budget.cpuBandwidthGBps} GB/s measured here` : '';
    const split = em.cpuBytes.value > 0 ? `PARTIAL OFFLOAD: ${formatBytes(em.cpuBytes.value)} in system RAM (decode slows to RAM bandwidth${ram})` : 'fully in accelerator memory';
    pairs.push(['offload', `${formatBytes(em.acceleratorBytes.value as number)} accelerator / ${formatBytes(em.cpuBytes.value)} CPU — ${split}`]);
  }
  if (m.limitNow) {
    const l = m.limitNow;
    pairs.push(['context limit now', l.maxContextPerSlot > 0 ? `${formatBytes(l.otherResidentBytes)} taken by other processes and models; the KV cache reaches the limit at ~${formatTokens(l.maxContextPerSlot)} tokens per slot` : `${formatBytes(l.otherResidentBytes)} taken by other processes and models: not even a 256-token context fits now`]);
  }
  if (m.modelPath) pairs.push(['model file', m.modelPath]);
  if (m.speed) pairs.push(...statusSpeedPairs(m.speed));
  else if (m.predicted) pairs.push(...predictedSpeedPairs(m.predicted));
  for (const p of m.problems) pairs.push(['note', p]);
  return renderPairs(pairs)
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    endpoint: { type: 'string', multiple: true },
    hardware: { type: 'string' },
    'no-defaults': { type: 'boolean' },
    timeout: { type: 'string' },
    store: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(STATUS_USAGE + '\n');
    return 0;
  }
  const timeout = intFlag('timeout', values.timeout, 1200, 50, 60_000);
  const { endpoints, warnings } = gatherEndpoints(values.endpoint ?? [], process.env, !values['no-defaults']);
  for (const w of warnings) process.stderr.write(`headroom: ${w}\n`);
  // A store that cannot be read costs the measured-speed lines, never the status itself.
  let store: BenchResult[] = [];
  try {
    store = await loadBenchStore(values.store ?? defaultBenchStorePath(process.env, homedir()));
  } catch (err) {
    if (!(err instanceof BenchStoreError)) throw err;
    process.stderr.write(`headroom: note: bench store ${err.message}; measured speeds not shown\n`);
  }
  const forced = values.hardware ? (await resolveHardwareFlag(values.hardware, undefined, 'local')).hw : undefined;
  const found = await detect(endpoints, { probeTimeoutMs: timeout, snapshotTimeoutMs: Math.max(timeout, 4000) });
  const { hits, misses } = reportable(found);
  for (const m of misses) process.stderr.write(`headroom: ${m.endpoint}: ${m.error ? `${m.error.kind}: ${m.error.message}` : 'no engine found'}\n`);

  let localHw: HardwareSpec | undefined;
  let localLive: LiveMemory | undefined;
  const out: StatusJson[] = [];
  for (const d of hits) {
    const local = isLoopback(d.endpoint);
    let hw: HardwareSpec | undefined = forced;
    let hwSource = forced ? '--hardware' : '';
    if (!hw && d.hardware) {
      hw = (
        await resolveHardwareFlag(d.hardware, undefined, 'local').catch((err: unknown) => {
          process.stderr.write(`headroom: ${d.endpoint}#${d.hardware}: ${(err as Error).message}\n`);
          return undefined;
        })
      )?.hw;
      hwSource = 'endpoint #id';
    }
    if (!hw && local) {
      if (!localHw) {
        const r = await resolveHardwareFlag('local', undefined, 'local');
        localHw = r.hw;
        localLive = r.live;
      }
      hw = localHw;
      hwSource = 'this machine';
    }
    const snap = d.snapshot;
    const here = hwSource === 'this machine' ? localLive : undefined;
    // A model partly in system RAM decodes that share at CPU memory speed: measure it once (cached) on this machine.
    if (here && !here.cpuBandwidthGBps && snap?.loaded.some((m) => (m.cpuBytes?.value ?? 0) > 0)) {
      const bw = await cpuBandwidth({ log: (msg) => process.stderr.write(`headroom: ${msg}\n`) });
      if (bw) here.cpuBandwidthGBps = bw.gbps;
    }
    const withEstimates = snap ? await Promise.all(snap.loaded.map((m) => modelStatus(m, local, d.endpoint, hw, store, d.engine!, d.version, here?.cpuBandwidthGBps))) : [];
    const models: StatusModelJson[] = withEstimates.map(({ estimate: _e, ...json }) => json);
    const budget = hw ? budgetJson(hw, models, hwSource === 'this machine' ? localLive : undefined) : null;
    if (budget?.othersBytes !== undefined) {
      // The KV horizon counts what others hold now: other processes plus this engine's other models.
      withEstimates.forEach((m, i) => {
        if (!m.estimate) return;
        const otherResidentBytes = budget.othersBytes! + budget.enginesBytes - m.figures.total.value;
        const e = m.estimate;
        models[i]!.limitNow = { maxContextPerSlot: maxFittingWindow({ spec: e.spec, weights: e.weights, ctx: e.ctx, usableBytes: budget.usableBytes, otherResidentBytes }), otherResidentBytes: Math.round(otherResidentBytes) };
      });
    }
    out.push({
      endpoint: d.endpoint,
      engine: d.engine!,
      version: d.version ?? null,
      hardware: hw ? { id: hw.id, usableBytes: usableBytes(hw), source: hwSource } : null,
      kvUsage: fact(snap?.kvUsage),
      kvCapacityTokens: fact(snap?.kvCapacityTokens),
      budget,
      models,
      notes: snap?.notes ?? [],
      error: d.error ?? null,
    });
  }

  if (values.json) {
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return misses.length ? 1 : 0;
  }
  if (out.length === 0) process.stdout.write('No engine found. Try `headroom detect --endpoint URL`.\n');
  for (const e of out) {
    process.stdout.write(`${e.endpoint}  ${e.engine}${e.version ? ` ${e.version}` : ''}${e.hardware ? `  [${e.hardware.id}, ${e.hardware.source}]` : '  [hardware unknown: add #profile-id to the endpoint]'}\n`);
    if (e.error) process.stdout.write(`  error: ${e.error.kind} ${e.error.path}: ${e.error.message}\n`);
    if (e.kvUsage && typeof e.kvUsage.value === 'number') {
      const cap = e.kvCapacityTokens && typeof e.kvCapacityTokens.value === 'number' ? ` of ${formatTokens(e.kvCapacityTokens.value)} tokens` : '';
      process.stdout.write(`  KV pool in use: ${(e.kvUsage.value * 100).toFixed(1)}%${cap} (engine)\n`);
    }
    if (e.budget) process.stdout.write(budgetLines(e.budget, e.models).join('\n') + '\n');
    if (e.models.length === 0 && !e.error) process.stdout.write('  no model loaded\n');
    for (const m of e.models) process.stdout.write(`  ${m.name}\n${renderModel(m, e.hardware, e.budget)}\n`);
    for (const n of e.notes) process.stdout.write(`  note: ${n}\n`);
  }
  return misses.length ? 1 : 0;
}
