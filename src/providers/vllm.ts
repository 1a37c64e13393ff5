// vLLM (port 8000). `/v1/models` carries `owned_by:"vllm"` and `max_model_len`; the KV pool's use
// comes from `/metrics` (always on): `vllm:kv_cache_usage_perc` is a 0–1 fraction despite its name.
import { z } from 'zod';
import { getJsonVia, joinUrl, optional, tryJson } from './context';
import { estimated, maybe, reported } from './facts';
import { getText } from './http';
import { metricLabels, metricValue, parsePrometheus } from './prometheus';
import { servedQuantFromRepo } from './quant';
import { tokens } from './schemas';
import type { EngineProvider, EngineSnapshot, Fact } from './types';

const models = z.object({
  data: z.array(z.looseObject({ id: z.string(), owned_by: z.string().nullable().optional(), root: z.string().nullable().optional(), max_model_len: tokens.nullable().optional() })),
});
const version = z.object({ version: z.string().min(1).max(100) });

export const vllm: EngineProvider = {
  kind: 'vllm',
  async probe(endpoint, ctx) {
    const [list, v] = await Promise.all([tryJson(ctx, endpoint, '/v1/models', models), tryJson(ctx, endpoint, '/version', version)]);
    if (!list?.data.some((m) => m.owned_by === 'vllm')) return undefined;
    return { engine: 'vllm', version: v?.version, evidence: 'GET /v1/models owned_by "vllm"' };
  },

  async snapshot(endpoint, ctx): Promise<EngineSnapshot> {
    const notes: string[] = [];
    const [list, v, metricsRes] = await Promise.all([
      getJsonVia(ctx, endpoint, '/v1/models', models),
      optional(notes, 'version', getJsonVia(ctx, endpoint, '/version', version)),
      optional(notes, '/metrics', getText(joinUrl(endpoint, '/metrics'), ctx.http)),
    ]);
    const samples = metricsRes ? parsePrometheus(metricsRes.body).samples : undefined;
    let kvUsage: Fact<number> | undefined;
    let kvCapacityTokens: Fact<number> | undefined;
    let kvCacheType: Fact<string> | undefined;
    if (samples) {
      const cur = metricValue(samples, 'vllm:kv_cache_usage_perc');
      const legacy = metricValue(samples, 'vllm:gpu_cache_usage_perc');
      const usage = cur ?? legacy;
      if (usage !== undefined && usage >= 0 && usage <= 1) kvUsage = reported(usage, cur !== undefined ? 'GET /metrics vllm:kv_cache_usage_perc' : 'GET /metrics vllm:gpu_cache_usage_perc');
      const info = metricLabels(samples, 'vllm:cache_config_info');
      const blocks = Number(info?.['num_gpu_blocks']);
      const blockSize = Number(info?.['block_size']);
      // `auto` = the model dtype (BF16/FP16): 2 bytes per element, like f16.
      if (info?.['cache_dtype']) kvCacheType = reported(info['cache_dtype'], 'GET /metrics vllm:cache_config_info cache_dtype');
      if (Number.isFinite(blocks) && Number.isFinite(blockSize) && blocks > 0 && blockSize > 0) {
        kvCapacityTokens = reported(blocks * blockSize, 'GET /metrics vllm:cache_config_info num_gpu_blocks × block_size');
      }
    }
    // vLLM serves the models it has loaded; the KV pool is shared by all running requests.
    const loaded = list.data.map((m) => ({
      name: m.id,
      repoId: m.root ?? undefined,
      quant: estimated(servedQuantFromRepo(m.root ?? m.id), 'vLLM does not report it: from the repo id, else the BF16 checkpoint default'),
      contextPerSlot: maybe(m.max_model_len, 'GET /v1/models max_model_len'),
      contextTotal: kvCapacityTokens,
      kvCacheType,
      contextUsed: kvUsage && kvCapacityTokens ? estimated(Math.round(kvUsage.value * kvCapacityTokens.value), 'kv_cache_usage_perc × KV pool tokens') : undefined,
    }));
    return {
      engine: 'vllm',
      version: v?.version,
      endpoint,
      models: list.data.map((m) => ({ name: m.id, loaded: true, contextLength: m.max_model_len ?? undefined })),
      loaded,
      kvUsage,
      kvCapacityTokens,
      metrics: samples,
      notes,
    };
  },
};
