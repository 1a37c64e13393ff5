// MLX-LM `mlx_lm.server` (port 8080, shared with llama.cpp and LocalAI). Its `/health` body equals
// llama.cpp's, so identity is the absence of llama.cpp's marks plus a `/v1/models` without `owned_by`.
import { z } from 'zod';
import { listOpenAiModels } from './openai-compatible';
import { tryJson } from './context';
import { openAiModels } from './schemas';
import type { EngineProvider, EngineSnapshot } from './types';

const health = z.object({ status: z.literal('ok') });

export const mlxlm: EngineProvider = {
  kind: 'mlx-lm',
  async probe(endpoint, ctx) {
    const [h, list] = await Promise.all([tryJson(ctx, endpoint, '/health', health), tryJson(ctx, endpoint, '/v1/models', openAiModels)]);
    if (!h || !list || list.data.some((m) => m.owned_by !== undefined)) return undefined;
    const server = (await ctx.get(endpoint, '/health')).headers['server'] ?? '';
    if (/llama\.cpp/i.test(server)) return undefined;
    return { engine: 'mlx-lm', evidence: `GET /health ok, /v1/models without owned_by${server ? `, Server: ${server}` : ''}` };
  },
  async snapshot(endpoint, ctx): Promise<EngineSnapshot> {
    const list = await listOpenAiModels(ctx, endpoint);
    return {
      engine: 'mlx-lm',
      endpoint,
      server: (await ctx.get(endpoint, '/v1/models')).headers['server'],
      // /v1/models scans the local Hugging Face cache: these are available, not necessarily loaded.
      models: list.data.map((m) => ({ name: m.id, loaded: false })),
      loaded: [],
      notes: ['MLX-LM does not report the loaded model, its context or memory over HTTP; models load per request'],
    };
  },
};
