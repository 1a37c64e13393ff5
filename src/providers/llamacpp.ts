// llama.cpp `llama-server` (ports 8080 and, in newer builds, 9931). Identity: `Server: llama.cpp`
// plus a `/props` with slots and build info. Per-slot context use comes from `/slots`.
import { z } from 'zod';
import { getJsonVia, joinUrl, optional, tryJson } from './context';
import { maybe, reported } from './facts';
import { getText } from './http';
import { parsePrometheus } from './prometheus';
import { normalizeQuant } from './quant';
import { bytes, count, openAiModels, tokens } from './schemas';
import type { EngineProvider, EngineSnapshot, LoadedModel, ProviderContext, SlotInfo } from './types';

export const llamaProps = z.looseObject({
  default_generation_settings: z.looseObject({ n_ctx: tokens }),
  total_slots: count.optional(),
  role: z.string().optional(),
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

/** Router `/models`: every model in the models dir with its state and (when loaded) meta. */
const routerModels = z.object({
  data: z.array(
    z.looseObject({
      id: z.string(),
      status: z.looseObject({ value: z.string(), args: z.array(z.string()).nullable().optional() }).nullable().optional(),
      meta,
    }),
  ),
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
    const props = await getJsonVia(ctx, endpoint, '/props', llamaProps);
    const server = (await ctx.get(endpoint, '/props')).headers['server'];
    if (isRouter(props)) return routerSnapshot(endpoint, ctx, props, server, notes);
    const [list, slotList, metricsRes] = await Promise.all([
      optional(notes, '/v1/models', getJsonVia(ctx, endpoint, '/v1/models', models)),
      optional(notes, '/slots', getJsonVia(ctx, endpoint, '/slots', slots)),
      optional(notes, '/metrics', getText(joinUrl(endpoint, '/metrics'), ctx.http)),
    ]);
    if (props.endpoint_slots === false) notes.push('per-slot context use unavailable: start llama-server without --no-slots');
    if (props.endpoint_metrics === false) notes.push('throughput counters unavailable: start llama-server with --metrics');
    const { loaded, slots: slotInfo } = instance(props, list?.data[0]?.meta ?? undefined, slotList, '', undefined);
    return {
      engine: 'llama.cpp',
      version: props.build_info,
      endpoint,
      server,
      models: [{ name: loaded.name, loaded: true, contextLength: loaded.contextPerSlot?.value, quant: loaded.quant?.value, sizeBytes: loaded.weightsBytes?.value, format: 'gguf' }],
      loaded: [loaded],
      slots: slotInfo,
      metrics: metricsRes ? parsePrometheus(metricsRes.body).samples : undefined,
      notes,
    };
  },
};

type Props = z.infer<typeof llamaProps>;
type Meta = z.infer<typeof meta>;

/** Router mode (`llama-server --models-dir`): the parent answers for many child servers. */
function isRouter(p: Props): boolean {
  return p.role === 'router' || (p.default_generation_settings.n_ctx === 0 && p.model_path === 'none');
}

/**
 * Whether slots share one KV cache. Router children expose their command line, which settles it;
 * otherwise llama-server's automatic -np (4) implies a unified cache and an explicit -np does not.
 */
function unifiedKv(nSlots: number, args: string[] | undefined): { unified: boolean; via: string; source: 'engine' | 'estimated' } {
  if (args) {
    if (args.includes('--kv-unified') || args.includes('-kvu')) return { unified: true, via: 'router status.args has --kv-unified', source: 'engine' };
    if (args.includes('--parallel') || args.includes('-np')) return { unified: false, via: 'router status.args: explicit --parallel, no --kv-unified', source: 'engine' };
  }
  return nSlots === 4
    ? { unified: true, via: '4 slots: assumed llama-server auto -np with a unified KV cache', source: 'estimated' }
    : { unified: false, via: 'explicit -np: one KV cache per slot', source: 'estimated' };
}

/** One llama-server instance (the server itself, or a router child addressed by `?model=`). */
function instance(props: Props, m: Meta | undefined, slotList: z.infer<typeof slots> | undefined, query: string, args: string[] | undefined): { loaded: LoadedModel; slots?: SlotInfo[] } {
  const name = props.model_alias || (props.model_path ? basename(props.model_path) : 'model');
  const ftype = props.model_ftype ?? m?.ftype;
  const slotInfo: SlotInfo[] | undefined = slotList?.map((sl) => ({
    id: sl.id,
    nCtx: sl.n_ctx,
    processing: sl.is_processing ?? false,
    tokensInUse: sl.n_prompt_tokens,
    ...(query ? { model: name } : {}),
  }));
  const used = slotInfo?.some((x) => x.tokensInUse !== undefined) ? slotInfo.reduce((a, x) => a + (x.tokensInUse ?? 0), 0) : undefined;
  const nSlots = props.total_slots ?? 1;
  const perSlot = props.default_generation_settings.n_ctx;
  const kv = unifiedKv(nSlots, args);
  const total = nSlots === 1 || kv.unified ? perSlot : perSlot * nSlots;
  const loaded: LoadedModel = {
    name,
    quant: ftype ? reported(normalizeQuant(ftype), props.model_ftype ? `GET /props${query} model_ftype` : 'GET /v1/models meta.ftype') : undefined,
    format: 'gguf',
    weightsBytes: maybe(m?.size, 'GET /v1/models meta.size'),
    contextPerSlot: reported(perSlot, `GET /props${query} default_generation_settings.n_ctx`),
    contextTotal: nSlots > 1 ? { value: total, source: kv.source, via: kv.via } : reported(perSlot, `GET /props${query} default_generation_settings.n_ctx`),
    contextUsed: used !== undefined ? reported(used, `GET /slots${query} Σ n_prompt_tokens`) : undefined,
    contextTrain: maybe(m?.n_ctx_train, 'GET /v1/models meta.n_ctx_train'),
    parallel: reported(nSlots, `GET /props${query} total_slots`),
    paramCount: maybe(m?.n_params, 'GET /v1/models meta.n_params'),
    modelPath: props.model_path,
  };
  return { loaded, slots: slotInfo };
}

async function routerSnapshot(endpoint: string, ctx: ProviderContext, props: Props, server: string | undefined, notes: string[]): Promise<EngineSnapshot> {
  const list = await getJsonVia(ctx, endpoint, '/models', routerModels);
  const live = list.data.filter((e) => e.status?.value === 'loaded');
  const parts = await Promise.all(
    live.map(async (e) => {
      const query = `?model=${encodeURIComponent(e.id)}`;
      const [p, sl] = await Promise.all([
        optional(notes, `/props${query}`, getJsonVia(ctx, endpoint, `/props${query}`, llamaProps)),
        optional(notes, `/slots${query}`, getJsonVia(ctx, endpoint, `/slots${query}`, slots)),
      ]);
      return p ? instance(p, e.meta ?? undefined, sl, query, e.status?.args ?? undefined) : undefined;
    }),
  );
  const done = parts.filter((x): x is NonNullable<typeof x> => x !== undefined);
  return {
    engine: 'llama.cpp',
    version: props.build_info,
    endpoint,
    server,
    models: list.data.map((e) => ({
      name: e.id,
      loaded: e.status?.value === 'loaded',
      contextLength: e.meta?.n_ctx,
      quant: e.meta?.ftype ? normalizeQuant(e.meta.ftype) : undefined,
      sizeBytes: e.meta?.size,
      format: 'gguf',
    })),
    loaded: done.map((x) => x.loaded),
    slots: done.some((x) => x.slots) ? done.flatMap((x) => x.slots ?? []) : undefined,
    notes: [`router mode: ${live.length} of ${list.data.length} model(s) loaded`, ...notes],
  };
}
