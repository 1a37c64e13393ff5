// Read a GGUF header from disk: only the bytes up to where tensor data begins, never the weights.
// Starts with a small read and grows it geometrically until the parser stops asking for more,
// so a 40 GB file costs a few MiB of I/O and a header-only (truncated) file reads the same.
import { open, readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { GgufError, NeedMoreBytes, parseGgufHeader, type GgufTensorEntry } from './parse';

export { GgufError } from './parse';

export interface ReadGgufOptions {
  /** Refuse headers larger than this (default 256 MiB; real ones are a few MiB). */
  maxBytes?: number;
  /** Arrays longer than this are summarised (default 1024). */
  maxArrayItems?: number;
}

export interface GgufFileHeader {
  version: number;
  metadata: Record<string, unknown>;
  tensors: GgufTensorEntry[];
  tensorDataOffset: number;
  /** Size of the file on disk (for a header-only file, less than the real model file). */
  fileBytes: number;
}

const FIRST_READ = 1 << 20;

export async function readGgufHeader(path: string, opts: ReadGgufOptions = {}): Promise<GgufFileHeader> {
  const maxBytes = opts.maxBytes ?? 256 * 1024 * 1024;
  if (path.endsWith('.gz')) return readGzipped(path, maxBytes, opts.maxArrayItems);
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw new GgufError('io', `cannot open ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new GgufError('io', `${path} is not a regular file`);
    const fileBytes = st.size;
    const available = Math.min(fileBytes, maxBytes);
    let want = Math.min(FIRST_READ, available);
    for (;;) {
      const buf = new Uint8Array(want);
      const { bytesRead } = await fh.read(buf, 0, want, 0);
      const bytes = buf.subarray(0, bytesRead);
      try {
        const h = parseGgufHeader(bytes, { available: Math.min(available, bytesRead < want ? bytesRead : available), maxArrayItems: opts.maxArrayItems });
        return { ...h, fileBytes };
      } catch (err) {
        if (err instanceof NeedMoreBytes && bytesRead === want && want < available) {
          want = Math.min(available, Math.max(err.atLeast, want * 4));
          continue;
        }
        if (err instanceof GgufError && err.code === 'truncated' && available < fileBytes) {
          throw new GgufError('too-large', `GGUF header of ${path} exceeds the ${maxBytes}-byte limit`);
        }
        if (err instanceof GgufError) throw new GgufError(err.code, `${path}: ${err.message}`);
        throw err;
      }
    }
  } finally {
    await fh.close();
  }
}

/** A gzipped header (how header-only files are shipped): inflate at most maxBytes, then parse. */
async function readGzipped(path: string, maxBytes: number, maxArrayItems: number | undefined): Promise<GgufFileHeader> {
  let bytes: Uint8Array;
  try {
    bytes = gunzipSync(await readFile(path), { maxOutputLength: maxBytes });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new GgufError('too-large', `${path}: inflated header exceeds the ${maxBytes}-byte limit`);
    }
    throw new GgufError('io', `cannot read ${path}: ${e.code ?? e.message}`);
  }
  try {
    return { ...parseGgufHeader(bytes, { maxArrayItems }), fileBytes: bytes.length };
  } catch (err) {
    if (err instanceof GgufError) throw new GgufError(err.code, `${path}: ${err.message}`);
    throw err;
  }
}
