// llama.cpp `llama-server` (ports 8080 and, in newer builds, 9931). Identity: `Server: llama.cpp`
// plus a `/props` with slots and build info. Per-slot context use comes from `/slots`.
import { z } from 'zod';
import { getJsonVia, joinUrl, optional, tryJson } from './context';
import { estimated, maybe, reported } from './facts';
import { getText } from './http';
import { parsePrometheus } from './prometheus';
import { normalizeQuant } from './quant';
import { bytes, count, openAiModels, tokens } from './schemas';
import type { EngineProvider, EngineSnapshot, LoadedModel, SlotInfo } from './types';

export const llamaProps = z.looseObject({
  default_generation_settings: z.looseObject({ n_ctx: tokens }),
  total_slots: count,
  model_path: z.string().optional(),
  model_alias: z.string().optional(),
  model_ftype: z.string().optional(),
  build_info: z.string().optional(),
  endpoint_slots: z.boolean().optional(),
  endpoint_metrics: z.boolean().optional(),
  is_sleeping: z.boolean().optional(),
});

const meta = z
  .looseObject({
    n_vocab: count.max(1e7).optional(),
    n_ctx: tokens.optional(),
    n_ctx_train: tokens.optional(),
    n_embd: count.optional(),
    n_params: z.number().int().min(0).max(1e14).optional(),
    size: bytes.optional(),
    ftype: z.string().optional(),
  })
  .optional();

const models = openAiModels.extend({
  data: z.array(z.looseObject({ id: z.string(), owned_by: z.string().nullable().optional(), meta })),
});

const slots = z.array(
  z.looseObject({
    id: count,
    n_ctx: tokens,
    is_processing: z.boolean().optional(),
    n_prompt_tokens: tokens.optional(),
  }),
);

function isLlamaServer(headers: Record<string, string>): boolean {
  return /^llama\.cpp\b/i.test(headers['server'] ?? '');
}

function basename(p: string): string {
  return p.split(/[\\/]/).pop() ?? p;
}

export const llamacpp: EngineProvider = {
  kind: 'llama.cpp',
  async probe(endpoint, ctx) {
    const res = await ctx.get(endpoint, '/props').catch(() => undefined);
    if (!res) return undefined;
    const props = await tryJson(ctx, endpoint, '/props', llamaProps);
    // The Server header is the strong mark: with it, a /props JSON object of the wrong shape still
    // means llama.cpp (the snapshot then reports which field is off). Without it, TabbyAPI's
    // llama.cpp-shaped /props must not match, so ask for llama.cpp's build info too.
    if (isLlamaServer(res.headers) && res.status === 200 && /^\s*\{/.test(res.body)) {
      return { engine: 'llama.cpp', version: props?.build_info, evidence: 'Server: llama.cpp header and GET /props' };
    }
    if (props?.build_info && props.model_path) return { engine: 'llama.cpp', version: props.build_info, evidence: 'GET /props with build_info, model_path and slots' };
    return undefined;
  },

  async snapshot(endpoint, ctx): Promise<EngineSnapshot> {
    const notes: string[] = [];
    const [props, list, slotList, metricsRes] = await Promise.all([
      getJsonVia(ctx, endpoint, '/props', llamaProps),
      optional(notes, '/v1/models', getJsonVia(ctx, endpoint, '/v1/models', models)),
      optional(notes, '/slots', getJsonVia(ctx, endpoint, '/slots', slots)),
      optional(notes, '/metrics', getText(joinUrl(endpoint, '/metrics'), ctx.http)),
    ]);
    const server = (await ctx.get(endpoint, '/props')).headers['server'];
    if (props.endpoint_slots === false) notes.push('per-slot context use unavailable: start llama-server without --no-slots');
    if (props.endpoint_metrics === false) notes.push('throughput counters unavailable: start llama-server with --metrics');
    if (props.default_generation_settings.n_ctx === 0) notes.push('router mode: per-model context is at /props?model=<id>');

    const entry = list?.data[0];
    const m = entry?.meta ?? undefined;
    const name = props.model_alias || entry?.id || (props.model_path ? basename(props.model_path) : 'model');
    const ftype = props.model_ftype ?? m?.ftype;
    const slotInfo: SlotInfo[] | undefined = slotList?.map((s) => ({
      id: s.id,
      nCtx: s.n_ctx,
      processing: s.is_processing ?? false,
      tokensInUse: s.n_prompt_tokens,
    }));
    const used = slotInfo?.some((s) => s.tokensInUse !== undefined) ? slotInfo.reduce((a, s) => a + (s.tokensInUse ?? 0), 0) : undefined;
    const nSlots = props.total_slots;
    const perSlot = props.default_generation_settings.n_ctx;
    const loaded: LoadedModel = {
      name,
      quant: ftype ? reported(normalizeQuant(ftype), props.model_ftype ? 'GET /props model_ftype' : 'GET /v1/models meta.ftype') : undefined,
      format: 'gguf',
      weightsBytes: maybe(m?.size, 'GET /v1/models meta.size'),
      contextPerSlot: reported(perSlot, 'GET /props default_generation_settings.n_ctx'),
      // Slots each own n_ctx cells unless the KV cache is unified; llama-server's automatic -np (4)
      // turns unification on, an explicit -np leaves it off. HTTP does not say which.
      contextTotal:
        nSlots > 1
          ? estimated(nSlots === 4 ? perSlot : perSlot * nSlots, nSlots === 4 ? 'n_ctx (4 slots: assumed llama-server auto -np with a unified KV cache)' : 'n_ctx × total_slots (explicit -np: one KV cache per slot)')
          : reported(perSlot, 'GET /props default_generation_settings.n_ctx'),
      contextUsed: used !== undefined ? reported(used, 'GET /slots Σ n_prompt_tokens') : undefined,
      contextTrain: maybe(m?.n_ctx_train, 'GET /v1/models meta.n_ctx_train'),
      parallel: reported(nSlots, 'GET /props total_slots'),
      paramCount: maybe(m?.n_params, 'GET /v1/models meta.n_params'),
      modelPath: props.model_path,
    };
    return {
      engine: 'llama.cpp',
      version: props.build_info,
      endpoint,
      server,
      models: [{ name, loaded: true, contextLength: perSlot, quant: loaded.quant?.value, sizeBytes: m?.size, format: 'gguf' }],
      loaded: [loaded],
      slots: slotInfo,
      metrics: metricsRes ? parsePrometheus(metricsRes.body).samples : undefined,
      notes,
    };
  },
};
