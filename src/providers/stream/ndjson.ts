// Newline-delimited JSON decoder (Ollama's native streaming format), incremental and byte-safe.
// Garbage lines are counted, not thrown: a metering side-reader must never break the stream it watches.
import { LineSplitter } from './lines';

export interface NdjsonDecoderOptions {
  /** Longest line parsed, in UTF-16 code units. Default 4 MiB. */
  maxLineChars?: number;
}

export class NdjsonDecoder {
  private readonly lines: LineSplitter;
  /** Lines that were not valid JSON. */
  badLines = 0;

  constructor(opts: NdjsonDecoderOptions = {}) {
    this.lines = new LineSplitter({ maxLineChars: opts.maxLineChars ?? 4 << 20, crIsNewline: false });
  }

  push(chunk: Uint8Array): unknown[] {
    return this.parse(this.lines.push(chunk));
  }

  /** End of stream: a final line without a trailing newline still counts. */
  end(): unknown[] {
    return this.parse(this.lines.end());
  }

  get droppedLines(): number {
    return this.lines.droppedLines;
  }

  private parse(lines: string[]): unknown[] {
    const out: unknown[] = [];
    for (const line of lines) {
      if (line.trim() === '') continue;
      try {
        out.push(JSON.parse(line));
      } catch {
        this.badLines++;
      }
    }
    return out;
  }
}
