// Where `headroom bench` keeps its results, so later predictions for the same stack can calibrate.
// One small JSON file; read with a size cap and validated (a hand-edited or truncated file is a typed
// error, never a crash), written atomically (temp file + rename) so a crash mid-write loses nothing.
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { addResult, type BenchResult } from '../estimator/bench-result';

const MAX_BYTES = 4 << 20;

export class BenchStoreError extends Error {
  override readonly name = 'BenchStoreError';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

/** `HEADROOM_BENCH_STORE`, else `$XDG_STATE_HOME/headroom/bench-results.json` (default `~/.local/state`). */
export function defaultBenchStorePath(env: Record<string, string | undefined>, home: string): string {
  if (env.HEADROOM_BENCH_STORE?.trim()) return env.HEADROOM_BENCH_STORE.trim();
  const state = env.XDG_STATE_HOME?.trim() || join(home, '.local', 'state');
  return join(state, 'headroom', 'bench-results.json');
}

const rate = z.number().positive().finite();
const runSchema = z.object({
  targetDepth: z.number().int().nonnegative(),
  promptTokens: z.number().int().nonnegative(),
  cachedTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  prefillTokPerSec: rate.optional(),
  decodeTokPerSec: rate.optional(),
  ttftMs: z.number().nonnegative().finite().optional(),
  wallMs: z.number().nonnegative().finite(),
  timing: z.enum(['engine', 'client']),
});
const resultSchema = z.object({
  key: z.object({ endpoint: z.string().max(2048), model: z.string().max(2048), quant: z.string().max(64).optional(), hardwareId: z.string().max(256).optional() }),
  engine: z.string().max(64),
  measuredAt: z.string().max(64),
  nCtx: z.number().int().positive().optional(),
  runs: z.array(runSchema).max(16),
});
const storeSchema = z.object({ version: z.literal(1), results: z.array(resultSchema).max(10_000) });

/** Past results; a missing file is an empty store. */
export async function loadBenchStore(path: string): Promise<BenchResult[]> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new BenchStoreError(path, `cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  if (size > MAX_BYTES) throw new BenchStoreError(path, `${size} bytes is larger than a bench store can be (${MAX_BYTES}); move it aside`);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new BenchStoreError(path, `cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new BenchStoreError(path, `not valid JSON (${err instanceof Error ? err.message : String(err)}); move it aside`);
  }
  const r = storeSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new BenchStoreError(path, `unexpected content at ${i.path.join('.') || '(root)'}: ${i.message}; move it aside`);
  }
  return r.data.results;
}

export async function saveBenchStore(path: string, results: readonly BenchResult[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify({ version: 1, results }, null, 1) + '\n');
  await rename(tmp, path);
}

/**
 * Adds one complete result to the store at `path` (newest 5 per stack kept, see addResult) and returns the
 * whole store. Re-reads the file first, so a `headroom bench` run saved since the caller last loaded is kept.
 */
export async function appendBenchResult(path: string, result: BenchResult): Promise<BenchResult[]> {
  const next = addResult(await loadBenchStore(path), result);
  await saveBenchStore(path, next);
  return next;
}
