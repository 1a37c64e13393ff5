// TabbyAPI (port 5000, ExLlamaV2/V3). `/.well-known/serviceinfo` names it and needs no key; it also
// serves a llama.cpp-shaped `/props` and a KoboldCpp `/api/extra/version`, so it must be checked first.
import { z } from 'zod';
import { getJsonVia, optional, tryJson } from './context';
import { estimated, maybe, reported } from './facts';
import { quantFromName } from './quant';
import { count, openAiModels, tokens } from './schemas';
import type { EngineProvider, EngineSnapshot, LoadedModel } from './types';

const serviceInfo = z.looseObject({ software: z.looseObject({ name: z.string() }) });
const card = z.looseObject({
  id: z.string(),
  owned_by: z.string().optional(),
  parameters: z
    .looseObject({
      max_seq_len: tokens.nullable().optional(),
      cache_size: tokens.nullable().optional(),
      cache_mode: z.string().nullable().optional(),
      max_batch_size: count.nullable().optional(),
    })
    .nullable()
    .optional(),
});
const props = z.looseObject({ total_slots: count, default_generation_settings: z.looseObject({ n_ctx: tokens }) });
const koboldModel = z.object({ result: z.string() });

export const tabbyapi: EngineProvider = {
  kind: 'tabbyapi',
  async probe(endpoint, ctx) {
    const [info, list] = await Promise.all([tryJson(ctx, endpoint, '/.well-known/serviceinfo', serviceInfo), tryJson(ctx, endpoint, '/v1/models', openAiModels)]);
    if (info?.software.name === 'TabbyAPI') return { engine: 'tabbyapi', evidence: 'GET /.well-known/serviceinfo software.name "TabbyAPI"' };
    if (list?.data.some((m) => m.owned_by === 'tabbyAPI')) return { engine: 'tabbyapi', evidence: 'GET /v1/models owned_by "tabbyAPI"' };
    return undefined;
  },
  async snapshot(endpoint, ctx): Promise<EngineSnapshot> {
    const notes: string[] = [];
    const c = await optional(notes, '/v1/model', getJsonVia(ctx, endpoint, '/v1/model', card));
    // Without an API key /v1/model is refused; the llama.cpp- and Kobold-shaped routes still tell a little.
    const [p, km] = c
      ? [undefined, undefined]
      : await Promise.all([optional(notes, '/props', getJsonVia(ctx, endpoint, '/props', props)), optional(notes, '/api/v1/model', getJsonVia(ctx, endpoint, '/api/v1/model', koboldModel))]);
    const name = c?.id ?? km?.result.replace(/^[^/]*\//, '');
    if (!name) {
      notes.push('no model loaded, or the API key is missing (set it for this endpoint)');
      return { engine: 'tabbyapi', endpoint, models: [], loaded: [], notes };
    }
    const params = c?.parameters ?? undefined;
    const quant = quantFromName(name);
    const loaded: LoadedModel = {
      name,
      format: /exl3/i.test(name) ? 'exl3' : 'exl2',
      quant: quant ? estimated(quant, 'parsed from the model name') : undefined,
      contextPerSlot: params?.max_seq_len != null ? reported(params.max_seq_len, 'GET /v1/model parameters.max_seq_len') : maybe(p?.default_generation_settings.n_ctx, 'GET /props default_generation_settings.n_ctx'),
      contextTotal: maybe(params?.cache_size, 'GET /v1/model parameters.cache_size'),
      parallel: params?.max_batch_size != null ? reported(params.max_batch_size, 'GET /v1/model parameters.max_batch_size') : maybe(p?.total_slots, 'GET /props total_slots'),
      kvCacheType: maybe(params?.cache_mode, 'GET /v1/model parameters.cache_mode'),
    };
    return {
      engine: 'tabbyapi',
      endpoint,
      models: [{ name, loaded: true, contextLength: loaded.contextPerSlot?.value, quant }],
      loaded: [loaded],
      notes,
    };
  },
};
