// Helpers for feeding recorded streams to decoders in arbitrary pieces.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DATA } from '../../support/data';

export const FIXTURES = `${DATA}/engines`;

export function fixture(rel: string): Buffer {
  return readFileSync(join(FIXTURES, rel));
}

/** Cuts `buf` at the given sorted offsets. */
export function cut(buf: Uint8Array, offsets: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const o of offsets) {
    out.push(buf.subarray(prev, o));
    prev = o;
  }
  out.push(buf.subarray(prev));
  return out;
}
