// CPU feature flags from Linux /proc/cpuinfo: the first `flags` (x86) or `Features` (ARM) line. They decide which
// weights llama.cpp's CPU backend repacks (estimator/cpu-buffers.ts). A missing or odd file means "unknown".
import { open } from 'node:fs/promises';

const MAX_BYTES = 256 * 1024;

/** The flag words of the first CPU, or undefined when the file is missing, unreadable or has no flags line. */
export function parseCpuFlags(cpuinfo: string): string[] | undefined {
  const m = /^(?:flags|Features)\s*:\s*(.*)$/m.exec(cpuinfo);
  const words = m?.[1]?.trim().split(/\s+/).filter((w) => /^[a-z0-9_]{1,32}$/.test(w)).slice(0, 512);
  return words && words.length > 0 ? words : undefined;
}

export async function readCpuFlags(path = '/proc/cpuinfo'): Promise<string[] | undefined> {
  try {
    const fh = await open(path, 'r');
    try {
      // /proc files report size 0: read a bounded prefix (the first CPU's block is well under this).
      const buf = Buffer.alloc(MAX_BYTES);
      const { bytesRead } = await fh.read(buf, 0, MAX_BYTES, 0);
      return parseCpuFlags(buf.subarray(0, bytesRead).toString('utf8'));
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
}
