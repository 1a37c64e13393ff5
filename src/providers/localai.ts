// LocalAI (port 8080). Its public `/.well-known/localai.json` is the fingerprint: it also answers
// Ollama's `/api/version` (a fixed 0.9.0) and emulates `/api/ps`, so it must be ruled in before Ollama.
import { z } from 'zod';
import { getJsonVia, optional, tryJson } from './context';
import { openAiModels } from './schemas';
import type { EngineProvider, EngineSnapshot, ProviderContext } from './types';

const wellKnown = z.looseObject({ version: z.string().optional(), endpoints: z.record(z.string(), z.unknown()).optional() });
const version = z.object({ version: z.string().min(1).max(100) });
const system = z.looseObject({ loaded_models: z.array(z.looseObject({ id: z.string(), backend: z.string().optional() })).nullable().optional() });

/** LocalAI's discovery document, or undefined when the endpoint is not LocalAI. */
export async function localAiDiscovery(ctx: ProviderContext, endpoint: string): Promise<z.infer<typeof wellKnown> | undefined> {
  const w = await tryJson(ctx, endpoint, '/.well-known/localai.json', wellKnown);
  return w && (w.version !== undefined || w.endpoints !== undefined) ? w : undefined;
}

export const localai: EngineProvider = {
  kind: 'localai',
  async probe(endpoint, ctx) {
    const w = await localAiDiscovery(ctx, endpoint);
    return w ? { engine: 'localai', version: w.version, evidence: 'GET /.well-known/localai.json' } : undefined;
  },
  async snapshot(endpoint, ctx): Promise<EngineSnapshot> {
    const notes: string[] = [];
    const [v, sys, list] = await Promise.all([
      optional(notes, '/version', getJsonVia(ctx, endpoint, '/version', version)),
      optional(notes, '/system (admin)', getJsonVia(ctx, endpoint, '/system', system)),
      optional(notes, '/v1/models', getJsonVia(ctx, endpoint, '/v1/models', openAiModels)),
    ]);
    const running = sys?.loaded_models ?? [];
    const names = new Set([...(list?.data.map((m) => m.id) ?? []), ...running.map((m) => m.id)]);
    return {
      engine: 'localai',
      version: v?.version,
      endpoint,
      models: [...names].map((name) => ({ name, loaded: running.some((m) => m.id === name) })),
      loaded: running.map((m) => ({ name: m.id, format: m.backend })),
      notes,
    };
  },
};
