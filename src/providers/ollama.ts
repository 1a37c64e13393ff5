// Ollama (default port 11434). Loaded models, memory split and context come from `/api/ps`;
// architecture from `/api/show` `model_info`, whose keys are the GGUF metadata keys.
import { z } from 'zod';
import { getJsonVia, optional, postJsonVia, tryJson } from './context';
import { estimated, maybe, reported } from './facts';
import { localAiDiscovery } from './localai';
import { fileTypeName } from './quant';
import { bytes, tokens } from './schemas';
import type { EngineProvider, EngineSnapshot, LoadedModel, ModelEntry } from './types';

const version = z.object({ version: z.string().min(1).max(100) });

const details = z
  .looseObject({
    format: z.string().optional(),
    family: z.string().optional(),
    parameter_size: z.string().optional(),
    quantization_level: z.string().optional(),
  })
  .optional();

const ps = z.object({
  models: z.array(
    z.looseObject({
      name: z.string(),
      model: z.string().optional(),
      size: bytes,
      size_vram: bytes.optional(),
      details,
      expires_at: z.string().optional(),
      context_length: tokens.optional(),
    }),
  ),
});

const tags = z.object({
  models: z.array(z.looseObject({ name: z.string(), model: z.string().optional(), size: bytes.optional(), details })),
});

const show = z.looseObject({
  modelfile: z.string().optional(),
  parameters: z.string().optional(),
  details,
  model_info: z.record(z.string(), z.unknown()).optional(),
});

/** Keeps scalar GGUF keys; drops tokenizer arrays and the nulls non-verbose `/api/show` sends. */
function scalarMetadata(info: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(info)) {
    if (v === null || (Array.isArray(v) && v.length > 64)) continue;
    out[k] = v;
  }
  return out;
}

/** The blob path from the Modelfile's `FROM /…/blobs/sha256-…` line (absolute paths only). */
export function modelPathFromModelfile(modelfile: string): string | undefined {
  for (const line of modelfile.split('\n')) {
    const m = /^FROM\s+(\S.*)$/.exec(line.trim());
    if (m && (m[1]!.startsWith('/') || /^[A-Za-z]:\\/.test(m[1]!))) return m[1]!.trim();
  }
  return undefined;
}

export const ollama: EngineProvider = {
  kind: 'ollama',
  async probe(endpoint, ctx) {
    // LocalAI answers /api/version with a fixed 0.9.0 and emulates /api/ps: rule it out by its own well-known file.
    // /api/ps only has to be a `models` object here: a wrong shape inside is the snapshot's error to report.
    const [v, p, localai] = await Promise.all([
      tryJson(ctx, endpoint, '/api/version', version),
      tryJson(ctx, endpoint, '/api/ps', z.looseObject({ models: z.unknown() }).refine((x) => x.models !== undefined && x.models !== null)),
      localAiDiscovery(ctx, endpoint),
    ]);
    if (!v || !p || localai) return undefined;
    return { engine: 'ollama', version: v.version, evidence: 'GET /api/version and GET /api/ps answer in Ollama shape' };
  },

  async snapshot(endpoint, ctx): Promise<EngineSnapshot> {
    const notes: string[] = [];
    const [v, running, installed] = await Promise.all([
      optional(notes, 'version', getJsonVia(ctx, endpoint, '/api/version', version)),
      getJsonVia(ctx, endpoint, '/api/ps', ps),
      optional(notes, 'installed models', getJsonVia(ctx, endpoint, '/api/tags', tags)),
    ]);
    const loaded = await Promise.all(
      running.models.map(async (m): Promise<LoadedModel> => {
        const info = await optional(notes, `model info for ${m.name}`, postJsonVia(ctx, endpoint, '/api/show', { model: m.name }, show));
        const meta = info?.model_info ? scalarMetadata(info.model_info) : undefined;
        const arch = typeof meta?.['general.architecture'] === 'string' ? (meta['general.architecture'] as string) : undefined;
        const ft = meta?.['general.file_type'];
        const quant = m.details?.quantization_level || (typeof ft === 'number' ? fileTypeName(ft) : undefined);
        const onDisk = installed?.models.find((t) => t.name === m.name || t.model === m.model)?.size;
        const train = arch ? meta?.[`${arch}.context_length`] : undefined;
        const params = meta?.['general.parameter_count'];
        const out: LoadedModel = {
          name: m.name,
          quant: quant ? reported(quant, m.details?.quantization_level ? 'GET /api/ps details.quantization_level' : 'POST /api/show general.file_type') : undefined,
          format: m.details?.format,
          arch: arch ?? m.details?.family,
          weightsBytes: maybe(onDisk, 'GET /api/tags size (file on disk)'),
          residentBytes: reported(m.size, 'GET /api/ps size (weights + KV + buffers)'),
          contextPerSlot: maybe(m.context_length, 'GET /api/ps context_length'),
          contextTrain: typeof train === 'number' ? reported(train, `POST /api/show ${arch}.context_length`) : undefined,
          paramCount: typeof params === 'number' ? reported(params, 'POST /api/show general.parameter_count') : undefined,
          metadata: meta,
          modelPath: info?.modelfile ? modelPathFromModelfile(info.modelfile) : undefined,
        };
        if (m.size_vram !== undefined) {
          // A server that reports more VRAM than total is wrong about one of them; trust neither blindly.
          if (m.size_vram > m.size) notes.push(`${m.name}: size_vram ${m.size_vram} exceeds size ${m.size}; offload split unknown`);
          else {
            out.acceleratorBytes = reported(m.size_vram, 'GET /api/ps size_vram');
            out.cpuBytes = reported(m.size - m.size_vram, 'GET /api/ps size - size_vram');
          }
        }
        if (out.contextPerSlot === undefined) {
          const num = /^num_ctx\s+(\d+)/m.exec(info?.parameters ?? '')?.[1];
          if (num) out.contextPerSlot = estimated(Number(num), 'Modelfile PARAMETER num_ctx (Ollama < 0.9.7 does not report the live value)');
        }
        return out;
      }),
    );
    const models: ModelEntry[] = (installed?.models ?? []).map((t) => {
      const live = running.models.find((m) => m.name === t.name);
      return {
        name: t.name,
        loaded: live !== undefined,
        contextLength: live?.context_length,
        quant: t.details?.quantization_level,
        sizeBytes: t.size,
        format: t.details?.format,
        arch: t.details?.family,
      };
    });
    // Running models not listed by /api/tags (cloud or just-deleted) still count.
    for (const m of running.models) {
      if (!models.some((e) => e.name === m.name)) models.push({ name: m.name, loaded: true, contextLength: m.context_length, quant: m.details?.quantization_level, sizeBytes: m.size });
    }
    return { engine: 'ollama', version: v?.version, endpoint, models, loaded, notes };
  },
};
