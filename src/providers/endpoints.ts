// Which endpoints to probe: every engine's default loopback port, plus endpoints from options,
// settings and the environment. Pure: the environment is passed in.
import type { EngineKind } from './types';

export type EndpointSource = 'default' | 'env' | 'option' | 'settings';

export interface EndpointConfig {
  /** Normalised base URL without trailing slash, e.g. `http://127.0.0.1:11434`. */
  url: string;
  source: EndpointSource;
  /** Hardware profile id of the machine serving it (`URL#profile-id`); a LAN box is never the laptop. */
  hardware?: string;
  /** Bearer key (Jan requires one; LM Studio and TabbyAPI may). */
  apiKey?: string;
}

/** Default ports on loopback. 8080 is shared by llama.cpp, MLX-LM and LocalAI. */
export const DEFAULT_PORTS: ReadonlyArray<{ port: number; engines: EngineKind[] }> = [
  { port: 11434, engines: ['ollama'] },
  { port: 8080, engines: ['llama.cpp', 'mlx-lm', 'localai'] },
  { port: 9931, engines: ['llama.cpp'] },
  { port: 1234, engines: ['lmstudio'] },
  { port: 8000, engines: ['vllm'] },
  { port: 30000, engines: ['sglang'] },
  { port: 52415, engines: ['exo'] },
  { port: 5001, engines: ['koboldcpp'] },
  { port: 5000, engines: ['tabbyapi'] },
  { port: 1337, engines: ['jan'] },
];

export class EndpointSyntaxError extends Error {
  override readonly name = 'EndpointSyntaxError';
}

/**
 * Parses `host:port`, `:port`, `http://host:port/base` or any of those with `#hardware-id`.
 * Wildcard binds (`0.0.0.0`, `::`) mean "this machine" → 127.0.0.1. A trailing `/v1` (an OpenAI
 * base URL pasted as-is) is dropped.
 */
export function parseEndpoint(raw: string, source: EndpointSource, defaultPort?: number): EndpointConfig {
  const text = raw.trim();
  const hash = text.indexOf('#');
  const addr = (hash >= 0 ? text.slice(0, hash) : text).trim();
  const hardware = hash >= 0 ? text.slice(hash + 1).trim() || undefined : undefined;
  if (!addr) throw new EndpointSyntaxError(`empty endpoint '${raw}'`);
  let withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(addr) ? addr : `http://${addr.startsWith(':') ? `127.0.0.1${addr}` : addr}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new EndpointSyntaxError(`invalid endpoint '${raw}' (expected e.g. http://127.0.0.1:8080)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new EndpointSyntaxError(`invalid endpoint '${raw}': only http and https are supported`);
  if (u.username || u.password) throw new EndpointSyntaxError(`invalid endpoint '${raw}': put credentials in the API key setting, not the URL`);
  if (u.hostname === '0.0.0.0' || u.hostname === '[::]') u.hostname = '127.0.0.1';
  if (!u.port && defaultPort && !/^[a-z]+:\/\/[^/]*:\d+/i.test(withScheme)) u.port = String(defaultPort);
  const path = u.pathname.replace(/\/+$/, '').replace(/\/v1$/, '');
  withScheme = `${u.protocol}//${u.host}${path}`;
  return { url: withScheme, source, ...(hardware ? { hardware } : {}) };
}

export function defaultEndpoints(host = '127.0.0.1'): EndpointConfig[] {
  return DEFAULT_PORTS.map(({ port }) => ({ url: `http://${host}:${port}`, source: 'default' as const }));
}

/**
 * Endpoints named by the environment: `HEADROOM_ENDPOINTS` (comma-separated), `OLLAMA_HOST`
 * (Ollama's own variable, default port 11434) and llama-server's `LLAMA_ARG_HOST`/`LLAMA_ARG_PORT`.
 * Unparseable entries are returned as errors, not thrown, so one typo does not hide the rest.
 */
export function endpointsFromEnv(env: Record<string, string | undefined>): { endpoints: EndpointConfig[]; errors: string[] } {
  const endpoints: EndpointConfig[] = [];
  const errors: string[] = [];
  const add = (raw: string, defaultPort?: number, name = 'HEADROOM_ENDPOINTS'): void => {
    try {
      endpoints.push(parseEndpoint(raw, 'env', defaultPort));
    } catch (err) {
      errors.push(`${name}: ${(err as Error).message}`);
    }
  };
  for (const part of (env.HEADROOM_ENDPOINTS ?? '').split(',')) if (part.trim()) add(part);
  if (env.OLLAMA_HOST?.trim()) add(env.OLLAMA_HOST, 11434, 'OLLAMA_HOST');
  if (env.LLAMA_ARG_PORT?.trim() || env.LLAMA_ARG_HOST?.trim()) {
    add(`${env.LLAMA_ARG_HOST?.trim() || '127.0.0.1'}:${env.LLAMA_ARG_PORT?.trim() || '8080'}`, undefined, 'LLAMA_ARG_HOST/PORT');
  }
  const key = env.HEADROOM_API_KEY?.trim();
  if (key) for (const e of endpoints) e.apiKey = key;
  return { endpoints, errors };
}

/** Defaults + extra endpoints, de-duplicated by URL; the more explicit source wins (option > settings > env > default). */
export function mergeEndpoints(...lists: EndpointConfig[][]): EndpointConfig[] {
  const rank: Record<EndpointSource, number> = { default: 0, env: 1, settings: 2, option: 3 };
  const byUrl = new Map<string, EndpointConfig>();
  for (const e of lists.flat()) {
    const prev = byUrl.get(e.url);
    if (!prev) byUrl.set(e.url, { ...e });
    else if (rank[e.source] >= rank[prev.source]) byUrl.set(e.url, { ...prev, ...e, hardware: e.hardware ?? prev.hardware, apiKey: e.apiKey ?? prev.apiKey });
  }
  return [...byUrl.values()];
}
