// Server-sent events decoder (WHATWG "event stream interpretation"), incremental and byte-safe.
// OpenAI-compatible engines (llama.cpp, vLLM, LM Studio, Ollama /v1) stream `data: {json}` events this way.
import { LineSplitter } from './lines';

export interface SseEvent {
  /** `event:` field; undefined means the default "message". */
  event?: string;
  /** `data:` lines joined with LF. */
  data: string;
  id?: string;
}

export interface SseDecoderOptions {
  /** Cap on one event's data, in UTF-16 code units; bigger events are dropped. Default 4 MiB. */
  maxEventChars?: number;
}

export class SseDecoder {
  private readonly lines: LineSplitter;
  private readonly maxEventChars: number;
  private data: string[] = [];
  private dataChars = 0;
  private event: string | undefined;
  private id: string | undefined;
  private overflow = false;
  /** Events discarded because they exceeded the cap. */
  droppedEvents = 0;

  constructor(opts: SseDecoderOptions = {}) {
    this.maxEventChars = opts.maxEventChars ?? 4 << 20;
    this.lines = new LineSplitter({ maxLineChars: this.maxEventChars, crIsNewline: true });
  }

  push(chunk: Uint8Array): SseEvent[] {
    return this.feed(this.lines.push(chunk));
  }

  /** End of stream. Per the spec an event without its terminating blank line is discarded. */
  end(): SseEvent[] {
    this.feed(this.lines.end());
    this.reset();
    return [];
  }

  get droppedLines(): number {
    return this.lines.droppedLines;
  }

  private feed(lines: string[]): SseEvent[] {
    const out: SseEvent[] = [];
    for (const line of lines) {
      if (line === '') {
        if (this.overflow) this.droppedEvents++;
        else if (this.data.length > 0) {
          const ev: SseEvent = { data: this.data.join('\n') };
          if (this.event !== undefined) ev.event = this.event;
          if (this.id !== undefined) ev.id = this.id;
          out.push(ev);
        }
        this.reset();
        continue;
      }
      if (line.charCodeAt(0) === 58) continue; // ':' comment / keep-alive
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.charCodeAt(0) === 32) value = value.slice(1);
      if (field === 'data') {
        this.dataChars += value.length + 1;
        if (this.dataChars > this.maxEventChars) this.overflow = true;
        else this.data.push(value);
      } else if (field === 'event') this.event = value;
      else if (field === 'id' && !value.includes('\0')) this.id = value;
      // `retry:` and unknown fields are ignored, as the spec says.
    }
    return out;
  }

  private reset(): void {
    this.data = [];
    this.dataChars = 0;
    this.event = undefined;
    this.id = undefined;
    this.overflow = false;
  }
}
