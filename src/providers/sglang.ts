// SGLang (port 30000). `/get_model_info` identifies it; `/get_server_info` carries the server args,
// the KV pool size in tokens and per-rank memory use; `/metrics` (with --enable-metrics) the live KV use.
import { z } from 'zod';
import { getJsonVia, joinUrl, optional, tryJson } from './context';
import { estimated, maybe, reported } from './facts';
import { servedQuantFromRepo } from './quant';
import { getText } from './http';
import { metricValue, parsePrometheus } from './prometheus';
import { count, tokens } from './schemas';
import type { EngineProvider, EngineSnapshot, Fact, LoadedModel } from './types';

const modelInfo = z.looseObject({ model_path: z.string(), is_generation: z.boolean().optional() });
const gib = z.number().finite().min(0).max(1e6);
const serverInfo = z.looseObject({
  model_path: z.string().optional(),
  served_model_name: z.string().nullable().optional(),
  context_length: tokens.nullable().optional(),
  kv_cache_dtype: z.string().nullable().optional(),
  quantization: z.string().nullable().optional(),
  max_running_requests: count.nullable().optional(),
  max_total_num_tokens: tokens.optional(),
  internal_states: z.array(z.looseObject({ memory_usage: z.looseObject({ weight: gib.optional(), kvcache: gib.optional() }).optional() })).optional(),
  version: z.string().optional(),
});
const models = z.object({ data: z.array(z.looseObject({ id: z.string(), owned_by: z.string().nullable().optional(), max_model_len: tokens.nullable().optional() })) });

/** SGLang reports memory in GiB (bytes / 2^30, rounded to 0.01). */
const GIB = 2 ** 30;

export const sglang: EngineProvider = {
  kind: 'sglang',
  async probe(endpoint, ctx) {
    const [info, list] = await Promise.all([tryJson(ctx, endpoint, '/get_model_info', modelInfo), tryJson(ctx, endpoint, '/v1/models', models)]);
    if (info && info.is_generation !== undefined) return { engine: 'sglang', evidence: 'GET /get_model_info has model_path and is_generation' };
    if (list?.data.some((m) => m.owned_by === 'sglang')) return { engine: 'sglang', evidence: 'GET /v1/models owned_by "sglang"' };
    return undefined;
  },

  async snapshot(endpoint, ctx): Promise<EngineSnapshot> {
    const notes: string[] = [];
    const [info, server, list, metricsRes] = await Promise.all([
      getJsonVia(ctx, endpoint, '/get_model_info', modelInfo),
      optional(notes, '/get_server_info', getJsonVia(ctx, endpoint, '/get_server_info', serverInfo)),
      optional(notes, '/v1/models', getJsonVia(ctx, endpoint, '/v1/models', models)),
      optional(notes, '/metrics (needs --enable-metrics)', getText(joinUrl(endpoint, '/metrics'), ctx.http)),
    ]);
    const samples = metricsRes ? parsePrometheus(metricsRes.body).samples : undefined;
    const usage = samples ? metricValue(samples, 'sglang:token_usage') : undefined;
    const usedTokens = samples ? metricValue(samples, 'sglang:num_used_tokens') : undefined;
    const kvUsage: Fact<number> | undefined = usage !== undefined && usage >= 0 && usage <= 1 ? reported(usage, 'GET /metrics sglang:token_usage') : undefined;
    const mem = server?.internal_states?.[0]?.memory_usage;
    const name = server?.served_model_name || list?.data[0]?.id || info.model_path;
    const ctxLen = server?.context_length ?? list?.data[0]?.max_model_len ?? undefined;
    const loaded: LoadedModel = {
      name,
      repoId: info.model_path,
      quant: server?.quantization
        ? reported(server.quantization, 'GET /get_server_info quantization')
        : estimated(servedQuantFromRepo(info.model_path), 'no quantization in server args: from the repo id, else BF16'),
      kvCacheType: maybe(server?.kv_cache_dtype, 'GET /get_server_info kv_cache_dtype'),
      weightsBytes: mem?.weight !== undefined ? reported(Math.round(mem.weight * GIB), 'GET /get_server_info internal_states[0].memory_usage.weight (GiB)') : undefined,
      kvCacheBytes: mem?.kvcache !== undefined ? reported(Math.round(mem.kvcache * GIB), 'GET /get_server_info internal_states[0].memory_usage.kvcache (GiB)') : undefined,
      contextPerSlot: ctxLen !== undefined ? reported(ctxLen, server?.context_length != null ? 'GET /get_server_info context_length' : 'GET /v1/models max_model_len') : undefined,
      contextUsed: usedTokens !== undefined && usedTokens >= 0 ? reported(Math.round(usedTokens), 'GET /metrics sglang:num_used_tokens') : undefined,
      contextTotal: maybe(server?.max_total_num_tokens, 'GET /get_server_info max_total_num_tokens (KV pool)'),
    };
    return {
      engine: 'sglang',
      version: server?.version,
      endpoint,
      models: [{ name, loaded: true, contextLength: ctxLen }],
      loaded: [loaded],
      kvUsage,
      kvCapacityTokens: maybe(server?.max_total_num_tokens, 'GET /get_server_info max_total_num_tokens'),
      metrics: samples,
      notes,
    };
  },
};
