// Builds the ProviderContext of one detection run, and the small JSON helpers providers share.
import type { z } from 'zod';
import { ProviderError } from './errors';
import { decodeJson, fetchText, type HttpOptions, type RawResponse } from './http';
import type { ProviderContext } from './types';

/** Probes answer fast or not at all: connection refused is instant, a live engine answers in ms. */
export const PROBE_DEFAULTS: HttpOptions = { timeoutMs: 1200, maxBytes: 2 * 1024 * 1024 };
/** Snapshot bodies can be larger (`/api/tags` with hundreds of models, `/props` chat templates). */
export const SNAPSHOT_DEFAULTS: HttpOptions = { timeoutMs: 4000, maxBytes: 8 * 1024 * 1024 };

export function joinUrl(endpoint: string, path: string): string {
  return endpoint.replace(/\/+$/, '') + path;
}

export type ResponseCache = Map<string, Promise<RawResponse>>;

/** `cache` lets a snapshot reuse the responses its probe already fetched. */
export function createContext(http: Partial<HttpOptions> = {}, cache: ResponseCache = new Map()): ProviderContext {
  const opts: HttpOptions = { ...PROBE_DEFAULTS, ...http };
  return {
    http: opts,
    get(endpoint, path) {
      const url = joinUrl(endpoint, path);
      let hit = cache.get(url);
      if (!hit) {
        hit = fetchText(url, { ...opts, method: 'GET' });
        // Callers may drop a failed probe; keep the rejection from being reported as unhandled.
        hit.catch(() => undefined);
        cache.set(url, hit);
      }
      return hit;
    },
    post(endpoint, path, json) {
      return fetchText(joinUrl(endpoint, path), { ...opts, method: 'POST', json });
    },
  };
}

/** GET + status check + JSON + schema. Throws ProviderError. */
export async function getJsonVia<S extends z.ZodType>(ctx: ProviderContext, endpoint: string, path: string, schema: S): Promise<z.infer<S>> {
  return decodeJson(await ctx.get(endpoint, path), schema, joinUrl(endpoint, path));
}

export async function postJsonVia<S extends z.ZodType>(ctx: ProviderContext, endpoint: string, path: string, body: unknown, schema: S): Promise<z.infer<S>> {
  return decodeJson(await ctx.post(endpoint, path, body), schema, joinUrl(endpoint, path));
}

/** Same, but any ProviderError becomes undefined: for probes, where "no" is an answer. */
export async function tryJson<S extends z.ZodType>(ctx: ProviderContext, endpoint: string, path: string, schema: S): Promise<z.infer<S> | undefined> {
  try {
    return await getJsonVia(ctx, endpoint, path, schema);
  } catch (err) {
    if (err instanceof ProviderError) return undefined;
    throw err;
  }
}

/**
 * For optional parts of a snapshot: a failure becomes a note ("/slots: HTTP 501 ...") instead of
 * failing the whole snapshot.
 */
export async function optional<T>(notes: string[], what: string, p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (!(err instanceof ProviderError)) throw err;
    notes.push(`${what}: ${err.message.slice(`${err.endpoint}${err.path}: `.length)}`);
    return undefined;
  }
}
