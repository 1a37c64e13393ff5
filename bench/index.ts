// `npm run bench`: runs every bench/*.bench.ts in order (or those whose name contains an argument).
// Each bench reports ratios against a peer measured in the same run, never absolute timings alone.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

async function main(): Promise<void> {
  const filters = process.argv.slice(2);
  const files = readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
    .sort();
  for (const f of files) {
    process.stdout.write(`\n=== ${f.replace(/\.bench\.ts$/, '')} ===\n`);
    const mod = (await import(join(__dirname, f))) as { run?: () => Promise<void> };
    if (typeof mod.run !== 'function') throw new Error(`${f} exports no run()`);
    await mod.run();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
