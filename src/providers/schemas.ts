// zod building blocks shared by the engine schemas. Engines drift, so fields are optional and
// objects pass unknown keys through; numbers are bounded so absurd values fail validation loudly.
import { z } from 'zod';

/** Bytes: up to 1 PB. */
export const bytes = z.number().finite().min(0).max(1e15);
/** Token counts and context lengths: up to 1e9 tokens. */
export const tokens = z.number().int().min(0).max(1e9);
/** Small non-negative counts (slots, layers, heads). */
export const count = z.number().int().min(0).max(1e6);
export const ratio = z.number().finite().min(0).max(1);

/** OpenAI `GET /v1/models`: the shape every engine shares. */
export const openAiModels = z.object({
  object: z.string().optional(),
  data: z.array(
    z.looseObject({
      id: z.string(),
      object: z.string().optional(),
      owned_by: z.string().nullable().optional(),
      created: z.number().optional(),
    }),
  ),
});
export type OpenAiModels = z.infer<typeof openAiModels>;
