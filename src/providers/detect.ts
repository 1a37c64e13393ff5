// Detection: probe many endpoints in parallel, tell engines apart by response shape (API.md §1),
// then read a snapshot from each one found. One endpoint failing never affects another.
import type { Dispatcher } from 'undici';
import { createContext, PROBE_DEFAULTS, SNAPSHOT_DEFAULTS, type ResponseCache } from './context';
import { ProviderError, type ProviderErrorKind } from './errors';
import type { RawResponse } from './http';
import type { EndpointConfig, EndpointSource } from './endpoints';
import { exo } from './exo';
import { jan } from './jan';
import { koboldcpp } from './koboldcpp';
import { llamacpp } from './llamacpp';
import { lmstudio } from './lmstudio';
import { localai } from './localai';
import { mlxlm } from './mlxlm';
import { ollama } from './ollama';
import { openAiCompatible } from './openai-compatible';
import { sglang } from './sglang';
import { tabbyapi } from './tabbyapi';
import type { EngineKind, EngineProvider, EngineSnapshot } from './types';
import { vllm } from './vllm';

/**
 * Most specific first: impersonators are ruled in before the engines they imitate (LocalAI before
 * Ollama, TabbyAPI before llama.cpp and KoboldCpp), the generic fallbacks come last.
 */
export const PROVIDERS: readonly EngineProvider[] = [localai, ollama, tabbyapi, llamacpp, koboldcpp, lmstudio, sglang, vllm, exo, mlxlm, jan, openAiCompatible];

export function providerFor(kind: EngineKind): EngineProvider {
  const p = PROVIDERS.find((x) => x.kind === kind);
  if (!p) throw new Error(`no provider for ${kind}`);
  return p;
}

export interface DetectOptions {
  dispatcher?: Dispatcher;
  signal?: AbortSignal;
  probeTimeoutMs?: number;
  snapshotTimeoutMs?: number;
  maxBytes?: number;
  /** Read a full snapshot of each engine found (default true). */
  snapshot?: boolean;
}

export interface DetectedError {
  kind: ProviderErrorKind;
  path: string;
  status?: number;
  message: string;
}

export interface Detection {
  endpoint: string;
  source: EndpointSource;
  hardware?: string;
  /** Set when the endpoint was identified. */
  engine?: EngineKind;
  version?: string;
  evidence?: string;
  snapshot?: EngineSnapshot;
  /** Why the endpoint was not identified, or why its snapshot failed. */
  error?: DetectedError;
  /** Wall time for this endpoint, ms. */
  ms: number;
}

function asDetectedError(err: unknown): DetectedError {
  if (err instanceof ProviderError) {
    const message = err.message.slice(`${err.endpoint}${err.path}: `.length) || err.message;
    return { kind: err.kind, path: err.path, ...(err.status !== undefined ? { status: err.status } : {}), message };
  }
  return { kind: 'schema', path: '', message: err instanceof Error ? err.message : String(err) };
}

/**
 * Why nothing matched: a transport failure on some probe, else a 2xx body that is not JSON where
 * JSON was due, else "answers, but like no known engine".
 */
async function explainMiss(cache: ResponseCache): Promise<DetectedError> {
  const settled = await Promise.all([...cache.entries()].map(async ([url, p]) => ({ url, res: await p.catch((e: unknown) => e) })));
  const transport = settled.find((x) => x.res instanceof ProviderError);
  if (transport) return asDetectedError(transport.res);
  for (const { url, res } of settled) {
    const r = res as RawResponse;
    if (r.status < 200 || r.status > 299 || !/json/i.test(r.headers['content-type'] ?? '')) continue;
    try {
      JSON.parse(r.body);
    } catch (err) {
      return { kind: 'bad-json', path: new URL(url).pathname, status: r.status, message: `response is not valid JSON (${(err as Error).message})` };
    }
  }
  return { kind: 'schema', path: '', message: 'answers HTTP, but not like any known engine' };
}

/** Probes one endpoint and, when identified, reads its snapshot. Never rejects. */
export async function detectEndpoint(cfg: EndpointConfig, opts: DetectOptions = {}): Promise<Detection> {
  const t0 = performance.now();
  const base: Detection = { endpoint: cfg.url, source: cfg.source, ...(cfg.hardware ? { hardware: cfg.hardware } : {}), ms: 0 };
  const done = (d: Partial<Detection>): Detection => ({ ...base, ...d, ms: Math.round((performance.now() - t0) * 10) / 10 });
  const headers = cfg.apiKey ? { authorization: `Bearer ${cfg.apiKey}` } : undefined;
  const cache: ResponseCache = new Map();
  const common = { dispatcher: opts.dispatcher, signal: opts.signal, headers };
  const probeCtx = createContext({ ...common, timeoutMs: opts.probeTimeoutMs ?? PROBE_DEFAULTS.timeoutMs, maxBytes: opts.maxBytes ?? PROBE_DEFAULTS.maxBytes }, cache);
  try {
    // Nearly every engine serves /v1/models (or refuses it with 401): one request tells a live
    // server from a closed port, so idle ports cost a single refused connection.
    await probeCtx.get(cfg.url, '/v1/models');
  } catch (err) {
    return done({ error: asDetectedError(err) });
  }
  const results = await Promise.all(PROVIDERS.map((p) => p.probe(cfg.url, probeCtx).catch(() => undefined)));
  const hit = results.find((r) => r !== undefined);
  if (!hit) return done({ error: await explainMiss(cache) });
  const found: Partial<Detection> = { engine: hit.engine, version: hit.version, evidence: hit.evidence };
  if (opts.snapshot === false) return done(found);
  // Reuse the probes' answers, but not their failures: a path that missed the short probe deadline
  // gets the snapshot's longer one.
  const answered: ResponseCache = new Map();
  await Promise.all([...cache].map(([url, p]) => p.then(() => answered.set(url, p), () => undefined)));
  const snapCtx = createContext({ ...common, timeoutMs: opts.snapshotTimeoutMs ?? SNAPSHOT_DEFAULTS.timeoutMs, maxBytes: opts.maxBytes ?? SNAPSHOT_DEFAULTS.maxBytes }, answered);
  try {
    const snap = await providerFor(hit.engine).snapshot(cfg.url, snapCtx);
    if (cfg.hardware) snap.hardwareProfileId = cfg.hardware;
    return done({ ...found, version: snap.version ?? hit.version, snapshot: snap });
  } catch (err) {
    return done({ ...found, error: asDetectedError(err) });
  }
}

/** Probes all endpoints concurrently; results keep the input order. */
export async function detect(endpoints: EndpointConfig[], opts: DetectOptions = {}): Promise<Detection[]> {
  return Promise.all(endpoints.map((e) => detectEndpoint(e, opts)));
}

/**
 * Re-reads an engine already identified, without probing again: what a poller should call every few
 * seconds (probing costs a dozen requests; a snapshot only the ones the engine needs). Never rejects.
 */
export async function refreshEndpoint(cfg: EndpointConfig, engine: EngineKind, opts: DetectOptions = {}): Promise<Detection> {
  const t0 = performance.now();
  const headers = cfg.apiKey ? { authorization: `Bearer ${cfg.apiKey}` } : undefined;
  const ctx = createContext({
    dispatcher: opts.dispatcher,
    signal: opts.signal,
    headers,
    timeoutMs: opts.snapshotTimeoutMs ?? SNAPSHOT_DEFAULTS.timeoutMs,
    maxBytes: opts.maxBytes ?? SNAPSHOT_DEFAULTS.maxBytes,
  });
  const base: Detection = { endpoint: cfg.url, source: cfg.source, ...(cfg.hardware ? { hardware: cfg.hardware } : {}), engine, ms: 0 };
  try {
    const snap = await providerFor(engine).snapshot(cfg.url, ctx);
    if (cfg.hardware) snap.hardwareProfileId = cfg.hardware;
    return { ...base, version: snap.version, snapshot: snap, ms: Math.round((performance.now() - t0) * 10) / 10 };
  } catch (err) {
    return { ...base, error: asDetectedError(err), ms: Math.round((performance.now() - t0) * 10) / 10 };
  }
}

