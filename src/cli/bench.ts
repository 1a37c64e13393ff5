// `headroom bench`: measure a running engine's prefill and decode speed at a few context depths and rate
// decode against the bandwidth roofline of the hardware it runs on.
import { homedir } from 'node:os';
import { basename, isAbsolute } from 'node:path';
import { addResult, benchRows, calibrate, type BenchResult, type BenchRow, type Calibration } from '../estimator/bench-result';
import { formatBytes, formatTokPerSec, speedWord } from '../estimator/format';
import { specFromGgufMetadata } from '../estimator/gguf-spec';
import { findHardware, HARDWARE_PROFILES, type HardwareSpec } from '../estimator/hardware';
import { estimateSpeed } from '../estimator/speed';
import { servingEngineFor } from '../estimator/speed-model';
import { quantLabelFromTensors, weightsFromTensors } from '../estimator/weights';
import { readGgufHeader } from '../gguf/read';
import { BenchError, DEFAULT_DEPTHS, runBench, type BenchEngine, type BenchMeasurement } from '../providers/bench';
import { BenchStoreError, defaultBenchStorePath, loadBenchStore, saveBenchStore } from '../providers/bench-store';
import { detect, detectEndpoint } from '../providers/detect';
import { defaultEndpoints, endpointsFromEnv, EndpointSyntaxError, mergeEndpoints, parseEndpoint, type EndpointConfig } from '../providers/endpoints';
import { detectLocalHardware } from '../providers/local-hardware';
import type { EngineKind } from '../providers/types';
import { isLoopbackHost } from '../providers/proxy/loopback';
import { intFlag, numFlag, parseFlags } from './args';
import { CliError } from './errors';
import { renderTable } from './table';

const HELP = `usage: headroom bench [--endpoint URL] [--model M] [--json]

Runs a short fixed generation at near-empty, ~8k and ~32k tokens of context (capped by the engine's
context) and reports prefill tok/s (compute-bound), decode tok/s (bandwidth-bound), time to first token
and stack efficiency (measured decode ÷ the bandwidth ceiling).

options:
  --endpoint URL        engine to measure (host:port or URL, \`#hardware-id\` suffix allowed;
                        default: the first engine found on the default ports / HEADROOM_ENDPOINTS)
  --model M             model to run (default: the loaded one)
  --engine E            llama.cpp | ollama | lmstudio | openai-compatible (default: detected)
  --tokens N            tokens generated per depth (default 64)
  --depths A,B,C        prompt depths in tokens (default 0,8192,32768; 8k/32k suffixes ok)
  --ctx N               context per sequence, when the engine does not report it
  --hardware ID         hardware profile the engine runs on (for the ceiling); see \`headroom hardware\`
  --bandwidth-gbps N    memory bandwidth for the ceiling, overriding the profile
  --timeout S           give up after S seconds (default 600)
  --store FILE          where results are kept for calibration
                        (default $HEADROOM_BENCH_STORE or ~/.local/state/headroom/bench-results.json)
  --no-save             measure only; do not store the result
  --json                print the result as JSON
`;

const ENGINES: BenchEngine[] = ['llama.cpp', 'ollama', 'lmstudio', 'openai-compatible'];

/** How the bench talks to a detected engine: the three with their own timings, the rest via /v1/completions. */
function benchEngineFor(kind: EngineKind): BenchEngine {
  return kind === 'llama.cpp' || kind === 'ollama' || kind === 'lmstudio' ? kind : 'openai-compatible';
}

interface Picked {
  cfg: EndpointConfig;
  engine?: BenchEngine;
  note?: string;
}

/** The named endpoint (identified by detection), or the first engine answering on the default ports / env. */
async function pickEndpoint(raw: string | undefined): Promise<Picked> {
  if (raw !== undefined) {
    let cfg: EndpointConfig;
    try {
      cfg = parseEndpoint(raw, 'option');
    } catch (err) {
      if (err instanceof EndpointSyntaxError) throw new CliError(`--endpoint: ${err.message}`);
      throw err;
    }
    const key = process.env.HEADROOM_API_KEY?.trim();
    if (key) cfg.apiKey = key;
    const d = await detectEndpoint(cfg, { snapshot: false });
    return { cfg, ...(d.engine ? { engine: benchEngineFor(d.engine) } : {}) };
  }
  const env = endpointsFromEnv(process.env);
  const found = (await detect(mergeEndpoints(defaultEndpoints(), env.endpoints), { snapshot: false })).filter((d) => d.engine);
  // Endpoints the user named (env) before the default ports.
  found.sort((a, b) => Number(a.source === 'default') - Number(b.source === 'default'));
  const first = found[0];
  if (!first) throw new CliError('no running engine found on the default ports or HEADROOM_ENDPOINTS; pass --endpoint URL');
  const cfg: EndpointConfig = { url: first.endpoint, source: first.source, ...(first.hardware ? { hardware: first.hardware } : {}) };
  const apiKey = env.endpoints.find((e) => e.url === first.endpoint)?.apiKey;
  if (apiKey) cfg.apiKey = apiKey;
  const others = found.slice(1).map((d) => `${d.engine} at ${d.endpoint}`);
  return { cfg, engine: benchEngineFor(first.engine!), ...(others.length ? { note: `also running: ${others.join(', ')} (pick with --endpoint)` } : {}) };
}

function parseDepths(raw: string | undefined): number[] | undefined {
  if (raw === undefined) return undefined;
  const parts = raw.split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0 || parts.length > 6) throw new CliError(`--depths expects 1 to 6 comma-separated token counts, got '${raw}'`);
  return parts.map((p) => (p === '0' ? 0 : intFlag('depths', p, 0, 0, 1 << 22)));
}

/** What the measurement is compared with: the roofline, and the speed model's prediction when the GGUF is readable. */
interface Roofline {
  ceilingAt: (depth: number) => number | undefined;
  predictedAt?: (depth: number) => number | undefined;
  /** One line saying how the ceiling was computed. */
  how: string;
}

/**
 * Best roofline available: with the model file readable here (local llama.cpp), the estimator's own speed
 * model (active weights + KV read at each depth); else weights only (optimistic deep in context); else none.
 */
async function roofline(m: BenchMeasurement, hw: HardwareSpec | undefined, notes: string[]): Promise<Roofline | undefined> {
  if (!hw) return undefined;
  const bw = `${hw.bandwidthGBps} GB/s (${hw.name})`;
  if (m.modelPath && isAbsolute(m.modelPath) && isLoopbackHost(new URL(m.endpoint).host)) {
    try {
      const h = await readGgufHeader(m.modelPath);
      const spec = specFromGgufMetadata(h.metadata, h.tensors, m.model);
      const ft = h.metadata['general.file_type'];
      const weights = weightsFromTensors(spec, quantLabelFromTensors(h.tensors, typeof ft === 'number' ? ft : undefined));
      return {
        ceilingAt: (d) => estimateSpeed(spec, weights, hw, { depth: d, engine: servingEngineFor(m.engine) }).ceilingTokPerSec,
        predictedAt: (d) => estimateSpeed(spec, weights, hw, { depth: d, engine: servingEngineFor(m.engine) }).decodeTokPerSec,
        how: `Ceiling = ${bw} ÷ bytes read per token (${formatBytes(weights.activeBytes)} active weights + KV at each depth, from the GGUF).`,
      };
    } catch (err) {
      notes.push(`could not read ${m.modelPath} for the speed model (${err instanceof Error ? err.message : String(err)}); ceiling from weights only`);
    }
  }
  if (!m.weightsBytes) return undefined;
  const ceiling = (hw.bandwidthGBps * 1e9) / m.weightsBytes;
  return { ceilingAt: () => ceiling, how: `Ceiling = ${bw} ÷ ${formatBytes(m.weightsBytes)} of weights per token; KV reads not counted, so it is optimistic at depth.` };
}

function fmtMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  return ms >= 10_000 ? `${(ms / 1000).toFixed(0)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

function pct(x: number): string {
  return x < 0.1 ? `${(x * 100).toFixed(1)}%` : `${Math.round(x * 100)}%`;
}

function render(m: BenchMeasurement, rows: BenchRow[], roof: Roofline | undefined, cal: Calibration | undefined, notes: string[]): string {
  const head = [
    `${m.engine} at ${m.endpoint}: ${basename(m.model)}${m.quant ? ` (${m.quant})` : ''}${m.weightsBytes ? `, ${formatBytes(m.weightsBytes)} of weights` : ''}${m.nCtx ? `, context ${m.nCtx}/sequence` : ''}`,
  ];
  const table = renderTable(
    [
      { header: 'depth', align: 'right' },
      { header: 'prompt tok', align: 'right' },
      { header: 'prefill', align: 'right' },
      { header: 'TTFT', align: 'right' },
      { header: 'decode', align: 'right' },
      { header: 'feels' },
      { header: 'ceiling', align: 'right' },
      { header: 'efficiency', align: 'right' },
    ],
    rows.map((r) => [
      String(r.targetDepth),
      String(r.promptTokens),
      r.prefillTokPerSec ? formatTokPerSec(r.prefillTokPerSec) : '—',
      fmtMs(r.ttftMs),
      r.decodeTokPerSec ? formatTokPerSec(r.decodeTokPerSec) : '—',
      r.decodeTokPerSec ? speedWord(r.decodeTokPerSec) : '',
      r.ceilingTokPerSec ? formatTokPerSec(r.ceilingTokPerSec) : '—',
      r.efficiency !== undefined ? pct(r.efficiency) : '—',
    ]),
  );
  const timing = rows.every((r) => r.timing === 'engine') ? "rates from the engine's own timings" : 'some rates timed client-side from the stream';
  const foot = [
    `Prefill is compute-bound; decode is bandwidth-bound (${m.runs[0]?.outputTokens ?? '?'} tokens per depth; ${timing}).`,
    roof ? roof.how : 'No ceiling: pass --hardware ID or --bandwidth-gbps N (and the engine must report its weight size).',
    ...(cal ? [`Speed model vs measured decode: ×${cal.factor.toFixed(2)} calibration factor (${cal.points.map((p) => `${formatTokPerSec(p.predicted)} predicted at ${p.depth}`).join(', ')}).`] : []),
    ...notes.map((n) => `note: ${n}`),
  ];
  return [...head, '', table, '', ...foot].join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    endpoint: { type: 'string' },
    model: { type: 'string' },
    engine: { type: 'string' },
    tokens: { type: 'string' },
    depths: { type: 'string' },
    ctx: { type: 'string' },
    hardware: { type: 'string' },
    'bandwidth-gbps': { type: 'string' },
    timeout: { type: 'string' },
    store: { type: 'string' },
    'no-save': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.engine !== undefined && !ENGINES.includes(values.engine as BenchEngine)) {
    throw new CliError(`--engine must be one of ${ENGINES.join(', ')}, got '${values.engine}'`);
  }
  const hwFlag = values.hardware;
  let hw: HardwareSpec | undefined;
  if (hwFlag !== undefined) {
    hw = findHardware(hwFlag);
    if (!hw) throw new CliError(`unknown --hardware '${hwFlag}' (known: ${HARDWARE_PROFILES.map((h) => h.id).join(', ')})`);
  }
  const bw = numFlag('bandwidth-gbps', values['bandwidth-gbps'], 1, 100_000);
  // Every flag is checked before any network traffic.
  const outputTokens = intFlag('tokens', values.tokens, 64, 2, 1024);
  const depths = parseDepths(values.depths) ?? DEFAULT_DEPTHS;
  const nCtx = values.ctx !== undefined ? intFlag('ctx', values.ctx, 0, 64, 1 << 24) : undefined;
  const timeoutMs = intFlag('timeout', values.timeout, 600, 1, 86_400) * 1000;
  const storePath = values.store ?? defaultBenchStorePath(process.env, homedir());
  // Read the store before measuring: a damaged file is reported now, not after minutes of benchmarking.
  const save = values['no-save'] !== true;
  let store: BenchResult[] = [];
  if (save) {
    try {
      store = await loadBenchStore(storePath);
    } catch (err) {
      if (err instanceof BenchStoreError) throw new CliError(`bench store ${err.message} (or pass --no-save)`);
      throw err;
    }
  }

  // Ctrl-C cancels the in-flight request instead of leaving the engine generating for nobody.
  const ctl = new AbortController();
  const onSigint = () => ctl.abort();
  process.once('SIGINT', onSigint);
  const picked = await pickEndpoint(values.endpoint);
  if (!hw && picked.cfg.hardware) {
    hw = findHardware(picked.cfg.hardware);
    if (!hw) throw new CliError(`unknown hardware '#${picked.cfg.hardware}' on the endpoint (known: ${HARDWARE_PROFILES.map((h) => h.id).join(', ')})`);
  }
  const engine = (values.engine as BenchEngine | undefined) ?? picked.engine;
  let m: BenchMeasurement;
  try {
    m = await runBench({
      endpoint: picked.cfg.url,
      ...(picked.cfg.apiKey ? { apiKey: picked.cfg.apiKey } : {}),
      ...(values.model !== undefined ? { model: values.model } : {}),
      ...(engine ? { engine } : {}),
      outputTokens,
      depths,
      ...(nCtx !== undefined ? { nCtx } : {}),
      timeoutMs,
      signal: ctl.signal,
      onRun: ({ index, total, targetDepth }) => {
        if (!values.json) process.stderr.write(`bench: run ${index + 1}/${total} at depth ${targetDepth}...\n`);
      },
    });
  } catch (err) {
    if (err instanceof BenchError) throw new CliError(`bench failed (${err.kind}): ${err.message}`, 1);
    throw err;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }

  // An engine on this machine runs on this machine's hardware; a remote one needs --hardware.
  const notes = [...m.notes, ...(picked.note ? [picked.note] : [])];
  if (!hw && isLoopbackHost(new URL(m.endpoint).host)) hw = (await detectLocalHardware()).profile;
  if (hw && bw) hw = { ...hw, bandwidthGBps: bw, name: `${hw.name}, bandwidth set to ${bw} GB/s` };
  const roof = await roofline(m, hw, notes);

  const result: BenchResult = {
    key: { endpoint: m.endpoint, model: m.model, ...(m.quant ? { quant: m.quant } : {}), ...(hw ? { hardwareId: hw.id } : {}) },
    engine: m.engine,
    measuredAt: new Date().toISOString(),
    runs: m.runs,
    ...(m.nCtx ? { nCtx: m.nCtx } : {}),
  };
  // Only a complete measurement gets here: runBench rejects on cancel, timeout or a dead engine.
  if (save) {
    await saveBenchStore(storePath, addResult(store, result));
    notes.push(`saved to ${storePath}`);
  }
  const rows = benchRows(result, roof?.ceilingAt);
  const cal = roof?.predictedAt ? calibrate(result, roof.predictedAt) : undefined;
  if (values.json) {
    const out = { result, rows, calibration: cal ?? null, hardware: hw ? { id: hw.id, name: hw.name, bandwidthGBps: hw.bandwidthGBps } : null, ceiling: roof?.how ?? null, notes };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } else {
    process.stdout.write(render(m, rows, roof, cal, notes) + '\n');
  }
  return 0;
}
