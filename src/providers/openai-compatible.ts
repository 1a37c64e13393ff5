// Generic OpenAI-compatible server: only `GET /v1/models` is known. Also the shared reader other
// providers use for their own `/v1/models`.
import { getJsonVia, tryJson } from './context';
import { openAiModels, type OpenAiModels } from './schemas';
import type { EngineProvider, EngineSnapshot, ProviderContext } from './types';

export async function listOpenAiModels(ctx: ProviderContext, endpoint: string): Promise<OpenAiModels> {
  return getJsonVia(ctx, endpoint, '/v1/models', openAiModels);
}

/** `owned_by` values of `/v1/models`, or undefined when the endpoint has no valid list. */
export async function ownersOf(ctx: ProviderContext, endpoint: string): Promise<Set<string | null | undefined> | undefined> {
  const list = await tryJson(ctx, endpoint, '/v1/models', openAiModels);
  return list ? new Set(list.data.map((m) => m.owned_by)) : undefined;
}

export const openAiCompatible: EngineProvider = {
  kind: 'openai-compatible',
  async probe(endpoint, ctx) {
    const list = await tryJson(ctx, endpoint, '/v1/models', openAiModels);
    return list ? { engine: 'openai-compatible', evidence: `GET /v1/models lists ${list.data.length} model(s)` } : undefined;
  },
  async snapshot(endpoint, ctx): Promise<EngineSnapshot> {
    const list = await listOpenAiModels(ctx, endpoint);
    return {
      engine: 'openai-compatible',
      endpoint,
      models: list.data.map((m) => ({ name: m.id, loaded: false })),
      loaded: [],
      notes: ['generic OpenAI-compatible server: which model is loaded and its context are not exposed'],
    };
  },
};
