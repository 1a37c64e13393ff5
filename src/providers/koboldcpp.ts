// KoboldCpp (port 5001). Real KoboldCpp's `/api/extra/version` carries capability booleans; TabbyAPI
// impersonates it with only `{result, version}`, so those booleans are the fingerprint.
import { z } from 'zod';
import { getJsonVia, optional, tryJson } from './context';
import { estimated, maybe } from './facts';
import { quantFromName } from './quant';
import { tokens } from './schemas';
import type { EngineProvider, EngineSnapshot, LoadedModel } from './types';

const version = z.looseObject({ result: z.literal('KoboldCpp'), version: z.string().max(100), protected: z.boolean().optional(), txt2img: z.boolean().optional() });
const model = z.object({ result: z.string() });
const value = z.object({ value: tokens });
const perf = z.looseObject({ last_input_count: tokens.optional(), last_token_count: tokens.optional(), idle: z.number().optional(), queue: z.number().optional() });

export const koboldcpp: EngineProvider = {
  kind: 'koboldcpp',
  async probe(endpoint, ctx) {
    const v = await tryJson(ctx, endpoint, '/api/extra/version', version);
    if (!v || (v.protected === undefined && v.txt2img === undefined)) return undefined;
    return { engine: 'koboldcpp', version: v.version, evidence: 'GET /api/extra/version: KoboldCpp with capability flags' };
  },
  async snapshot(endpoint, ctx): Promise<EngineSnapshot> {
    const notes: string[] = [];
    const [v, m, maxCtx, p] = await Promise.all([
      getJsonVia(ctx, endpoint, '/api/extra/version', version),
      getJsonVia(ctx, endpoint, '/api/v1/model', model),
      optional(notes, 'context size', getJsonVia(ctx, endpoint, '/api/extra/true_max_context_length', value)),
      optional(notes, '/api/extra/perf', getJsonVia(ctx, endpoint, '/api/extra/perf', perf)),
    ]);
    const name = m.result.replace(/^koboldcpp\//, '');
    if (name === 'protected-model') notes.push('model name hidden: KoboldCpp is password-protected');
    const quant = quantFromName(name);
    const lastCtx = p?.last_input_count !== undefined && p.last_token_count !== undefined ? p.last_input_count + p.last_token_count : undefined;
    const loaded: LoadedModel = {
      name,
      format: 'gguf',
      quant: quant ? estimated(quant, 'parsed from the model name') : undefined,
      contextPerSlot: maybe(maxCtx?.value, 'GET /api/extra/true_max_context_length'),
      contextUsed: lastCtx !== undefined ? estimated(lastCtx, 'last request: GET /api/extra/perf last_input_count + last_token_count') : undefined,
    };
    return {
      engine: 'koboldcpp',
      version: v.version,
      endpoint,
      models: [{ name, loaded: true, contextLength: maxCtx?.value, quant }],
      loaded: [loaded],
      notes,
    };
  },
};
