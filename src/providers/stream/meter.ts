// Watches one response body go by and reports usage, timings and engine errors from it. Picks the decoder by
// content type (SSE, NDJSON or a whole JSON body). Time comes in as arguments, so this stays deterministic.
import { extractEngineError, type EngineError } from './engine-error';
import { NdjsonDecoder } from './ndjson';
import { SseDecoder } from './sse';
import { extractUsage, mergeUsage, type UsagePatch } from './usage';

export type BodyFormat = 'sse' | 'ndjson' | 'json' | 'other';

export function bodyFormat(contentType: string | undefined): BodyFormat {
  const ct = (contentType ?? '').toLowerCase();
  if (ct.includes('text/event-stream')) return 'sse';
  if (ct.includes('ndjson') || ct.includes('jsonl') || ct.includes('json-seq')) return 'ndjson';
  if (ct.includes('json')) return 'json';
  return 'other';
}

export interface MeterResult {
  format: BodyFormat;
  usage: UsagePatch;
  error?: EngineError;
  /** When the first generated token (text, reasoning or tool call) went by, in the caller's clock. */
  firstTokenAt?: number;
  lastTokenAt?: number;
  /** Stream objects that carried generated output: a token count when the engine reports none. */
  tokenEvents: number;
  /** Objects that could not be decoded (garbage lines / events). */
  badObjects: number;
}

export interface ResponseMeterOptions {
  /** Cap on a whole (non-streaming) JSON body kept for parsing. Default 8 MiB. */
  maxJsonBytes?: number;
}

/** Non-empty string, without copying it anywhere. */
function has(v: unknown): boolean {
  return (typeof v === 'string' && v.length > 0) || (Array.isArray(v) && v.length > 0);
}

/** True when a stream object carries generated output. Only lengths are inspected. */
function carriesToken(o: Record<string, unknown>): boolean {
  if (has(o.response) || has(o.content) || has(o.thinking)) return true;
  const m = o.message as Record<string, unknown> | undefined;
  if (m && typeof m === 'object' && (has(m.content) || has(m.thinking) || has(m.tool_calls))) return true;
  const choices = o.choices;
  if (Array.isArray(choices)) {
    for (const c of choices as Record<string, unknown>[]) {
      if (!c || typeof c !== 'object') continue;
      if (has(c.text)) return true;
      const d = c.delta as Record<string, unknown> | undefined;
      if (d && typeof d === 'object' && (has(d.content) || has(d.reasoning_content) || has(d.reasoning) || has(d.tool_calls))) return true;
    }
  }
  // Anthropic-style `content_block_delta`.
  const delta = o.delta as Record<string, unknown> | undefined;
  return !!delta && typeof delta === 'object' && (has(delta.text) || has(delta.partial_json) || has(delta.thinking));
}

export class ResponseMeter {
  readonly format: BodyFormat;
  private readonly sse?: SseDecoder;
  private readonly nd?: NdjsonDecoder;
  private readonly maxJsonBytes: number;
  private json: Buffer[] = [];
  private jsonBytes = 0;
  private jsonOverflow = false;
  private usage: UsagePatch = {};
  private error?: EngineError;
  private firstTokenAt?: number;
  private lastTokenAt?: number;
  private tokenEvents = 0;
  private bad = 0;

  constructor(contentType: string | undefined, opts: ResponseMeterOptions = {}) {
    this.format = bodyFormat(contentType);
    this.maxJsonBytes = opts.maxJsonBytes ?? 8 << 20;
    if (this.format === 'sse') this.sse = new SseDecoder();
    else if (this.format === 'ndjson') this.nd = new NdjsonDecoder();
  }

  push(chunk: Uint8Array, now: number): void {
    if (this.sse) {
      for (const ev of this.sse.push(chunk)) this.onSse(ev.data, now);
    } else if (this.nd) {
      for (const o of this.nd.push(chunk)) this.onObject(o, now);
    } else if (this.format === 'json' && !this.jsonOverflow) {
      this.jsonBytes += chunk.byteLength;
      if (this.jsonBytes > this.maxJsonBytes) {
        this.jsonOverflow = true;
        this.json = [];
      } else this.json.push(Buffer.from(chunk));
    }
  }

  end(now: number): MeterResult {
    if (this.sse) this.sse.end();
    if (this.nd) for (const o of this.nd.end()) this.onObject(o, now);
    if (this.format === 'json' && !this.jsonOverflow && this.jsonBytes > 0) {
      try {
        const o: unknown = JSON.parse(Buffer.concat(this.json).toString('utf8'));
        this.onObject(o, now, false);
      } catch {
        this.bad++;
      }
      this.json = [];
    }
    const bad = this.bad + (this.sse ? this.sse.droppedEvents + this.sse.droppedLines : 0) + (this.nd ? this.nd.badLines + this.nd.droppedLines : 0);
    const r: MeterResult = { format: this.format, usage: this.usage, tokenEvents: this.tokenEvents, badObjects: bad };
    if (this.error) r.error = this.error;
    if (this.firstTokenAt !== undefined) r.firstTokenAt = this.firstTokenAt;
    if (this.lastTokenAt !== undefined) r.lastTokenAt = this.lastTokenAt;
    return r;
  }

  private onSse(data: string, now: number): void {
    if (data === '[DONE]') return;
    let o: unknown;
    try {
      o = JSON.parse(data);
    } catch {
      this.bad++;
      return;
    }
    this.onObject(o, now);
  }

  private onObject(o: unknown, now: number, streaming = true): void {
    if (o === null || typeof o !== 'object') return;
    const err = extractEngineError(o);
    if (err) {
      this.error = err;
      return;
    }
    if (streaming && carriesToken(o as Record<string, unknown>)) {
      this.tokenEvents++;
      this.firstTokenAt ??= now;
      this.lastTokenAt = now;
    }
    const u = extractUsage(o);
    if (u) this.usage = mergeUsage(this.usage, u);
  }
}
