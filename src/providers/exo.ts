// exo (port 52415): a cluster; `/v1/models` entries carry `owned_by:"exo"`, context and storage size.
import { z } from 'zod';
import { getJsonVia, optional, tryJson } from './context';
import { readExoTopology } from './exo-cluster';
import { maybe, reported } from './facts';
import { tokens } from './schemas';
import type { EngineProvider, EngineSnapshot, LoadedModel } from './types';

const models = z.object({
  data: z.array(
    z.looseObject({
      id: z.string(),
      owned_by: z.string().nullable().optional(),
      context_length: tokens.nullable().optional(),
      hugging_face_id: z.string().nullable().optional(),
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
    const notes: string[] = [];
    const [list, topo] = await Promise.all([getJsonVia(ctx, endpoint, '/v1/models', models), optional(notes, 'cluster state (GET /state)', readExoTopology(endpoint, ctx))]);
    // Running instances are sharded over nodes: one loaded model per distinct model id.
    const running = [...new Set((topo?.shards ?? []).map((s) => s.modelId))];
    const loaded: LoadedModel[] = running.map((id) => {
      const card = list.data.find((m) => m.id === id || m.hugging_face_id === id);
      const shards = topo!.shards.filter((s) => s.modelId === id);
      const nodes = new Set(shards.map((s) => s.nodeId)).size;
      notes.push(`${id}: ${shards[0]?.sharding ?? 'other'} sharding over ${nodes} node(s)`);
      return {
        name: id,
        format: 'mlx',
        quant: maybe(card?.quantization, 'GET /v1/models quantization'),
        contextTrain: maybe(card?.context_length, 'GET /v1/models context_length'),
        weightsBytes: card?.storage_size_megabytes != null ? reported(Math.round(card.storage_size_megabytes * 1024 * 1024), 'GET /v1/models storage_size_megabytes') : undefined,
        arch: card?.family ?? undefined,
      };
    });
    for (const n of topo?.notes ?? []) notes.push(n);
    return {
      engine: 'exo',
      endpoint,
      models: list.data.map((m) => ({
        name: m.id,
        loaded: running.includes(m.id) || (m.hugging_face_id != null && running.includes(m.hugging_face_id)),
        contextLength: m.context_length ?? undefined,
        quant: m.quantization ?? undefined,
        sizeBytes: m.storage_size_megabytes != null ? Math.round(m.storage_size_megabytes * 1024 * 1024) : undefined,
        arch: m.family ?? undefined,
        format: 'mlx',
      })),
      loaded,
      notes,
    };
  },
};
