// Incremental line splitter over raw bytes. Engines stream bytes, and a chunk boundary can fall anywhere:
// inside a multi-byte UTF-8 character, between the CR and LF of a CRLF, or mid-line. This class hides all of
// that and hands out whole lines. It is a side-channel reader, so its memory is capped: a line longer than
// `maxLineChars` is dropped (and counted) instead of growing without bound.

export interface LineSplitterOptions {
  /** Longest line kept, in UTF-16 code units; longer lines are discarded whole. Default 1 MiB. */
  maxLineChars?: number;
  /** Treat a lone CR as a line end (SSE does; NDJSON does not). Default true. */
  crIsNewline?: boolean;
}

export class LineSplitter {
  // The BOM is stripped here, not by the decoder: not every chunk goes through the decoder (see push).
  private readonly decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  private readonly maxLineChars: number;
  private readonly crIsNewline: boolean;
  private partial = '';
  /** True while discarding the rest of an over-long line. */
  private skipping = false;
  /** The previous chunk ended in CR: a leading LF in the next chunk belongs to that line end. */
  private pendingCr = false;
  /** The decoder may hold the start of a multi-byte character from the previous chunk. */
  private decoderPending = false;
  /** No text decoded yet: a leading BOM is dropped, as TextDecoder does at the start of a stream. */
  private atStart = true;
  /** Lines discarded because they exceeded the cap. */
  droppedLines = 0;

  constructor(opts: LineSplitterOptions = {}) {
    this.maxLineChars = opts.maxLineChars ?? 1 << 20;
    this.crIsNewline = opts.crIsNewline ?? true;
  }

  /** Feeds bytes; returns the lines completed by them (without their line ends). */
  push(chunk: Uint8Array): string[] {
    // Engines' chunks nearly always end on an ASCII byte (a newline): then nothing is left half-decoded and the
    // plain one-shot decode (~3× cheaper than the streaming TextDecoder) gives the same text.
    const n = chunk.byteLength;
    if (n === 0) return [];
    if (!this.decoderPending && chunk[n - 1]! < 0x80) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, n);
      return this.split(this.dropBom(buf.toString('utf8')), false);
    }
    this.decoderPending = chunk[n - 1]! >= 0x80;
    return this.split(this.dropBom(this.decoder.decode(chunk, { stream: true })), false);
  }

  /** Ends the stream: returns the final unterminated line, if any. */
  end(): string[] {
    const lines = this.split(this.dropBom(this.decoder.decode()), true);
    this.decoderPending = false;
    this.atStart = true;
    return lines;
  }

  private dropBom(text: string): string {
    if (!this.atStart || text.length === 0) return text;
    this.atStart = false;
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  }

  private split(text: string, final: boolean): string[] {
    const out: string[] = [];
    let i = 0;
    if (this.pendingCr && text.length > 0) {
      if (text.charCodeAt(0) === 10) i = 1;
      this.pendingCr = false;
    }
    const n = text.length;
    // Next CR at or after i (n when none): searched again only once passed, not per line.
    let cr = this.crIsNewline ? -1 : n;
    while (i < n) {
      // Find the next LF (or CR when it counts as a line end).
      let j = text.indexOf('\n', i);
      if (cr < i) {
        cr = text.indexOf('\r', i);
        if (cr === -1) cr = n;
      }
      if (cr < n && (j === -1 || cr < j)) j = cr;
      if (j === -1) {
        this.append(text.slice(i));
        break;
      }
      this.append(text.slice(i, j));
      let line = this.partial;
      this.partial = '';
      if (!this.crIsNewline && line.endsWith('\r')) line = line.slice(0, -1);
      if (this.skipping) this.skipping = false;
      else out.push(line);
      if (text.charCodeAt(j) === 13) {
        if (j + 1 < n) i = text.charCodeAt(j + 1) === 10 ? j + 2 : j + 1;
        else {
          this.pendingCr = true;
          i = n;
        }
      } else i = j + 1;
    }
    if (final) {
      if (!this.skipping && this.partial.length > 0) out.push(this.partial);
      this.partial = '';
      this.skipping = false;
      this.pendingCr = false;
    }
    return out;
  }

  private append(s: string): void {
    if (this.skipping || s.length === 0) return;
    if (this.partial.length + s.length > this.maxLineChars) {
      this.partial = '';
      this.skipping = true;
      this.droppedLines++;
      return;
    }
    this.partial += s;
  }
}
