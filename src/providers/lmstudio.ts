// LM Studio (port 1234). REST v1 (0.4+) lists loaded instances with their load config; the older v0
// "beta" REST marks loaded models with `state` and (undocumented) `loaded_context_length`.
import { z } from 'zod';
import { getJsonVia, tryJson } from './context';
import { estimated, maybe } from './facts';
import { bytes, count, tokens } from './schemas';
import type { EngineProvider, EngineSnapshot, LoadedModel, ModelEntry } from './types';

const v0Models = z.object({
  data: z.array(
    z.looseObject({
      id: z.string(),
      type: z.string().optional(),
      arch: z.string().optional(),
      compatibility_type: z.string(),
      quantization: z.string().optional(),
      state: z.string(),
      max_context_length: tokens.optional(),
      loaded_context_length: tokens.optional(),
    }),
  ),
});

const v1Models = z.object({
  models: z.array(
    z.looseObject({
      type: z.string().optional(),
      key: z.string(),
      display_name: z.string().optional(),
      architecture: z.string().nullable().optional(),
      quantization: z.looseObject({ name: z.string().optional(), bits_per_weight: z.number().optional() }).nullable().optional(),
      size_bytes: bytes.optional(),
      params_string: z.string().nullable().optional(),
      loaded_instances: z
        .array(
          z.looseObject({
            id: z.string(),
            config: z
              .looseObject({
                context_length: tokens.optional(),
                parallel: count.optional(),
                flash_attention: z.boolean().optional(),
                offload_kv_cache_to_gpu: z.boolean().optional(),
              })
              .optional(),
          }),
        )
        .optional(),
      max_context_length: tokens.optional(),
      format: z.string().nullable().optional(),
    }),
  ),
});

function fromV1(list: z.infer<typeof v1Models>): { models: ModelEntry[]; loaded: LoadedModel[] } {
  const models: ModelEntry[] = [];
  const loaded: LoadedModel[] = [];
  for (const m of list.models) {
    const instances = m.loaded_instances ?? [];
    const quant = m.quantization?.name;
    models.push({
      name: m.key,
      loaded: instances.length > 0,
      contextLength: instances[0]?.config?.context_length ?? m.max_context_length,
      quant,
      sizeBytes: m.size_bytes,
      arch: m.architecture ?? undefined,
      format: m.format ?? undefined,
    });
    for (const inst of instances) {
      loaded.push({
        name: inst.id,
        quant: maybe(quant, 'GET /api/v1/models quantization.name'),
        format: m.format ?? undefined,
        arch: m.architecture ?? undefined,
        weightsBytes: maybe(m.size_bytes, 'GET /api/v1/models size_bytes'),
        contextPerSlot: maybe(inst.config?.context_length, 'GET /api/v1/models loaded_instances[].config.context_length'),
        contextTrain: maybe(m.max_context_length, 'GET /api/v1/models max_context_length'),
        parallel: maybe(inst.config?.parallel, 'GET /api/v1/models loaded_instances[].config.parallel'),
        // Not documented: assumed one KV cache shared by the concurrent predictions (llama.cpp unified KV).
        contextTotal:
          inst.config?.context_length !== undefined
            ? estimated(inst.config.context_length, 'config.context_length, assumed shared by all parallel predictions')
            : undefined,
      });
    }
  }
  return { models, loaded };
}

function fromV0(list: z.infer<typeof v0Models>): { models: ModelEntry[]; loaded: LoadedModel[] } {
  const models: ModelEntry[] = list.data.map((m) => ({
    name: m.id,
    loaded: m.state === 'loaded',
    contextLength: m.loaded_context_length ?? m.max_context_length,
    quant: m.quantization,
    arch: m.arch,
    format: m.compatibility_type,
  }));
  const loaded: LoadedModel[] = list.data
    .filter((m) => m.state === 'loaded')
    .map((m) => ({
      name: m.id,
      quant: maybe(m.quantization, 'GET /api/v0/models quantization'),
      format: m.compatibility_type,
      arch: m.arch,
      contextPerSlot: maybe(m.loaded_context_length, 'GET /api/v0/models loaded_context_length'),
      contextTrain: maybe(m.max_context_length, 'GET /api/v0/models max_context_length'),
    }));
  return { models, loaded };
}

export const lmstudio: EngineProvider = {
  kind: 'lmstudio',
  async probe(endpoint, ctx) {
    const [v1, v0] = await Promise.all([tryJson(ctx, endpoint, '/api/v1/models', v1Models), tryJson(ctx, endpoint, '/api/v0/models', v0Models)]);
    if (v1) return { engine: 'lmstudio', evidence: 'GET /api/v1/models lists models with loaded_instances' };
    if (v0) return { engine: 'lmstudio', evidence: 'GET /api/v0/models lists models with compatibility_type and state' };
    return undefined;
  },

  async snapshot(endpoint, ctx): Promise<EngineSnapshot> {
    // REST v1 (0.4+) carries the load config; older apps only have v0, which is not worth a note.
    const v1 = await tryJson(ctx, endpoint, '/api/v1/models', v1Models);
    const view = v1 ? fromV1(v1) : fromV0(await getJsonVia(ctx, endpoint, '/api/v0/models', v0Models));
    const notes = v1 ? [] : ['LM Studio < 0.4 (REST v0): parallel slots and load config not reported'];
    return { engine: 'lmstudio', endpoint, ...view, notes };
  },
};
