// Jan (port 1337): only an OpenAI-compatible `/v1/*`, and an API key is mandatory. Nothing in its
// answers names it, so it is recognised by its port once no other engine matched.
import { listOpenAiModels } from './openai-compatible';
import { ProviderError } from './errors';
import type { EngineProvider, EngineSnapshot } from './types';

export const JAN_PORT = 1337;

function port(endpoint: string): number | undefined {
  try {
    const u = new URL(endpoint);
    return u.port ? Number(u.port) : undefined;
  } catch {
    return undefined;
  }
}

export const jan: EngineProvider = {
  kind: 'jan',
  async probe(endpoint, ctx) {
    if (port(endpoint) !== JAN_PORT) return undefined;
    const res = await ctx.get(endpoint, '/v1/models').catch(() => undefined);
    if (!res) return undefined;
    if (res.status === 401 || res.status === 403) return { engine: 'jan', evidence: `port ${JAN_PORT} and /v1/models asks for an API key` };
    try {
      await listOpenAiModels(ctx, endpoint);
      return { engine: 'jan', evidence: `port ${JAN_PORT} and an OpenAI-compatible /v1/models` };
    } catch {
      return undefined;
    }
  },
  async snapshot(endpoint, ctx): Promise<EngineSnapshot> {
    try {
      const list = await listOpenAiModels(ctx, endpoint);
      return {
        engine: 'jan',
        endpoint,
        models: list.data.map((m) => ({ name: m.id, loaded: false })),
        loaded: [],
        notes: ['Jan does not say which model is loaded or its context over HTTP'],
      };
    } catch (err) {
      if (err instanceof ProviderError && (err.status === 401 || err.status === 403)) {
        return { engine: 'jan', endpoint, models: [], loaded: [], notes: ['Jan requires an API key: set one for this endpoint (e.g. HEADROOM_API_KEY)'] };
      }
      throw err;
    }
  },
};
