// Engine Prometheus samples → the estimator's CounterSnapshot (llama.cpp, vLLM, SGLang), and the
// /slots progress, and the per-response usage the proxy sees → a SpeedSample. Glue between provider data and estimator/live-speed.
import { z } from 'zod';
import type { PromSample } from '../prometheus';
import type { CounterSnapshot, SlotSnapshot, SpeedSample } from '../../estimator/live-speed';
import type { UsagePatch } from './usage';

function sum(samples: PromSample[], name: string, model?: string): number | undefined {
  let total: number | undefined;
  for (const s of samples) {
    if (s.name !== name || !Number.isFinite(s.value)) continue;
    if (model !== undefined && s.labels.model_name !== undefined && s.labels.model_name !== model) continue;
    total = (total ?? 0) + s.value;
  }
  return total;
}

/** Counters for one engine (and, for multi-model vLLM/SGLang, one `model_name`). Undefined when none are exposed. */
export function countersFromMetrics(samples: PromSample[], at: number, model?: string): CounterSnapshot | undefined {
  const snap: CounterSnapshot = { at };
  const put = (k: keyof Omit<CounterSnapshot, 'at'>, v: number | undefined) => {
    if (v !== undefined) snap[k] = v;
  };
  if (samples.some((s) => s.name.startsWith('llamacpp:'))) {
    put('decodeTokens', sum(samples, 'llamacpp:tokens_predicted_total'));
    put('decodeSeconds', sum(samples, 'llamacpp:tokens_predicted_seconds_total'));
    put('prefillTokens', sum(samples, 'llamacpp:prompt_tokens_total'));
    put('prefillSeconds', sum(samples, 'llamacpp:prompt_seconds_total'));
  } else if (samples.some((s) => s.name.startsWith('vllm:'))) {
    // Histogram sums give per-request busy time where the build exports them; else totals over wall clock.
    const decSec = sum(samples, 'vllm:request_decode_time_seconds_sum', model);
    put('decodeTokens', decSec !== undefined ? sum(samples, 'vllm:request_generation_tokens_sum', model) : sum(samples, 'vllm:generation_tokens_total', model));
    put('decodeSeconds', decSec);
    const preSec = sum(samples, 'vllm:request_prefill_time_seconds_sum', model);
    put('prefillTokens', preSec !== undefined ? sum(samples, 'vllm:request_prompt_tokens_sum', model) : sum(samples, 'vllm:prompt_tokens_total', model));
    put('prefillSeconds', preSec);
    put('requests', sum(samples, 'vllm:request_success_total', model));
  } else if (samples.some((s) => s.name.startsWith('sglang:'))) {
    put('decodeTokens', sum(samples, 'sglang:generation_tokens_total', model));
    put('prefillTokens', sum(samples, 'sglang:prompt_tokens_total', model));
  }
  return Object.keys(snap).length > 1 ? snap : undefined;
}

/** SGLang publishes its own recent decode throughput gauge. */
export function gaugeSpeed(samples: PromSample[], at: number, model?: string): SpeedSample | undefined {
  const v = sum(samples, 'sglang:gen_throughput', model);
  return v !== undefined && v > 0 ? { at, decodeTokPerSec: v, source: 'metrics' } : undefined;
}

/** A response's usage (engine timings or proxy-timed) as a live-speed sample. */
export function sampleFromUsage(u: Pick<UsagePatch, 'decodeTokPerSec' | 'prefillTokPerSec' | 'ttftMs' | 'outputTokens'>, at: number, source: 'timings' | 'proxy'): SpeedSample {
  const s: SpeedSample = { at, source };
  if (u.decodeTokPerSec !== undefined) s.decodeTokPerSec = u.decodeTokPerSec;
  if (u.prefillTokPerSec !== undefined) s.prefillTokPerSec = u.prefillTokPerSec;
  if (u.ttftMs !== undefined) s.ttftMs = u.ttftMs;
  if (u.outputTokens !== undefined) s.decodeTokens = u.outputTokens;
  return s;
}

const count = z.number().int().nonnegative();
const nextToken = z.object({ n_decoded: count.optional() });
const slot = z.object({
  id: count,
  id_task: z.number().int().optional(),
  is_processing: z.boolean(),
  // Newer builds send an array, older ones an object.
  next_token: z.union([z.array(nextToken), nextToken]).optional(),
});

/** llama.cpp `GET /slots` body → per-slot progress. Malformed entries are skipped; a non-array gives undefined. */
export function slotSnapshot(body: unknown, at: number): SlotSnapshot | undefined {
  if (!Array.isArray(body)) return undefined;
  const slots: SlotSnapshot['slots'] = [];
  for (const raw of body.slice(0, 1024)) {
    const r = slot.safeParse(raw);
    if (!r.success) continue;
    const nt = Array.isArray(r.data.next_token) ? r.data.next_token[0] : r.data.next_token;
    const s: SlotSnapshot['slots'][number] = { id: r.data.id, processing: r.data.is_processing };
    if (r.data.id_task !== undefined) s.task = r.data.id_task;
    if (nt?.n_decoded !== undefined) s.decoded = nt.n_decoded;
    slots.push(s);
  }
  return { at, slots };
}
