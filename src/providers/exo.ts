// exo (port 52415): a cluster; `/v1/models` entries carry `owned_by:"exo"`, context and storage size.
import { z } from 'zod';
import { getJsonVia, tryJson } from './context';
import { tokens } from './schemas';
import type { EngineProvider, EngineSnapshot } from './types';

const models = z.object({
  data: z.array(
    z.looseObject({
      id: z.string(),
      owned_by: z.string().nullable().optional(),
      context_length: tokens.nullable().optional(),
      storage_size_megabytes: z.number().finite().min(0).max(1e9).nullable().optional(),
      quantization: z.string().nullable().optional(),
      family: z.string().nullable().optional(),
    }),
  ),
});

export const exo: EngineProvider = {
  kind: 'exo',
  async probe(endpoint, ctx) {
    const list = await tryJson(ctx, endpoint, '/v1/models', models);
    return list?.data.some((m) => m.owned_by === 'exo') ? { engine: 'exo', evidence: 'GET /v1/models owned_by "exo"' } : undefined;
  },
  async snapshot(endpoint, ctx): Promise<EngineSnapshot> {
    const list = await getJsonVia(ctx, endpoint, '/v1/models', models);
    return {
      engine: 'exo',
      endpoint,
      models: list.data.map((m) => ({
        name: m.id,
        loaded: false,
        contextLength: m.context_length ?? undefined,
        quant: m.quantization ?? undefined,
        sizeBytes: m.storage_size_megabytes != null ? Math.round(m.storage_size_megabytes * 1024 * 1024) : undefined,
        arch: m.family ?? undefined,
        format: 'mlx',
      })),
      loaded: [],
      notes: ['exo lists its model catalogue; running instances (GET /state) are not read yet'],
    };
  },
};
