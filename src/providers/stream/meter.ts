// Watches one response body go by and reports usage, timings and engine errors from it. Picks the decoder by
// content type (SSE, NDJSON or a whole JSON body). Time comes in as arguments, so this stays deterministic.
import { extractEngineError, type EngineError } from './engine-error';
import { LineSplitter } from './lines';
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

// Objects that may carry usage, timings, a final flag or an error (non-null values only).
const USAGE_RE = /"(?:usage|timings|stats|generation_stats|model_info|eval_count|prompt_eval_count|error)"\s*:\s*[^n\s]|"(?:done|stop)"\s*:\s*true|"finish_reason"\s*:\s*"|"object"\s*:\s*"error"/;
// Generated output: a non-empty text field or a tool call.
const TOKEN_RE = /"(?:content|text|response|thinking|reasoning_content|reasoning|partial_json)"\s*:\s*"[^"]|"tool_calls"\s*:\s*\[\s*\{/;
const MODEL_RE = /"model"\s*:\s*"([^"\\]{1,256})"/;

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
  private readonly nd?: LineSplitter;
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
    else if (this.format === 'ndjson') this.nd = new LineSplitter({ maxLineChars: 4 << 20, crIsNewline: false });
  }

  push(chunk: Uint8Array, now: number): void {
    if (this.sse) {
      for (const ev of this.sse.push(chunk)) this.onText(ev.data, now);
    } else if (this.nd) {
      for (const line of this.nd.push(chunk)) this.onText(line, now);
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
    if (this.nd) for (const line of this.nd.end()) this.onText(line, now);
    if (this.format === 'json' && !this.jsonOverflow && this.jsonBytes > 0) {
      try {
        const o: unknown = JSON.parse(Buffer.concat(this.json).toString('utf8'));
        this.onObject(o, now, false);
      } catch {
        this.bad++;
      }
      this.json = [];
    }
    const bad = this.bad + (this.sse ? this.sse.droppedEvents + this.sse.droppedLines : 0) + (this.nd ? this.nd.droppedLines : 0);
    const r: MeterResult = { format: this.format, usage: this.usage, tokenEvents: this.tokenEvents, badObjects: bad };
    if (this.error) r.error = this.error;
    if (this.firstTokenAt !== undefined) r.firstTokenAt = this.firstTokenAt;
    if (this.lastTokenAt !== undefined) r.lastTokenAt = this.lastTokenAt;
    return r;
  }

  /**
   * One SSE event's data or one NDJSON line. Most are plain token deltas: those are recognised by pattern and
   * never parsed (this runs per token on the proxy's hot path). JSON string escaping guarantees the patterns
   * can't match inside generated text (a quote there is always `\"`).
   */
  private onText(data: string, now: number): void {
    if (data.length === 0 || data === '[DONE]') return;
    if (!USAGE_RE.test(data)) {
      if (TOKEN_RE.test(data)) {
        this.tokenEvents++;
        this.firstTokenAt ??= now;
        this.lastTokenAt = now;
      }
      if (this.usage.model === undefined) {
        const m = MODEL_RE.exec(data);
        if (m) this.usage = { ...this.usage, model: m[1]! };
      }
      return;
    }
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
    const r = o as Record<string, unknown>;
    // Cheap key checks first: most stream objects are plain token deltas, and schema validation is kept for
    // the few that can carry errors or usage (this runs once per token on the proxy's hot path).
    if (r.error !== undefined || r.object === 'error') {
      const err = extractEngineError(o);
      if (err) {
        this.error = err;
        return;
      }
    }
    if (streaming && carriesToken(r)) {
      this.tokenEvents++;
      this.firstTokenAt ??= now;
      this.lastTokenAt = now;
    }
    if (!streaming || mayCarryUsage(r)) {
      const u = extractUsage(o);
      if (u) this.usage = mergeUsage(this.usage, u);
    } else if (this.usage.model === undefined && typeof r.model === 'string') this.usage = { ...this.usage, model: r.model };
  }
}

/** Stream objects worth a full usage parse: finals and anything with usage/timing fields. */
function mayCarryUsage(r: Record<string, unknown>): boolean {
  return (
    (r.usage !== undefined && r.usage !== null) ||
    r.timings !== undefined ||
    r.stats !== undefined ||
    r.generation_stats !== undefined ||
    r.done === true ||
    r.stop === true ||
    r.eval_count !== undefined ||
    r.prompt_eval_count !== undefined ||
    r.model_info !== undefined ||
    (Array.isArray(r.choices) && (r.choices as { finish_reason?: unknown }[]).some((c) => c && typeof c === 'object' && c.finish_reason))
  );
}
