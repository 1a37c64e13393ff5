// Activation cost in a real VS Code (code-server's extension host) against an empty extension in the same run,
// and whether any network request precedes the first paint. Needs the toolchain from scripts/vscode/setup.mjs.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export async function run(): Promise<void> {
  // A computed specifier: the harness is plain .mjs outside the TypeScript program.
  const href = pathToFileURL(join(__dirname, '..', 'scripts', 'vscode', 'activation-bench.mjs')).href;
  const bench = (await import(href)) as { runActivationBench: (say: (s: string) => void) => Promise<unknown> };
  await bench.runActivationBench((s) => process.stdout.write(`${s}\n`));
}
