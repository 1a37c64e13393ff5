// Bundles the extension-host suites (test/vscode/suite/*.ts) to out/vscode-tests/: one CommonJS file per
// suite, `vscode` and `mocha` left external (the host provides vscode; mocha resolves from node_modules).
import * as esbuild from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './paths.mjs';

export const TESTS_OUT = join(ROOT, 'out', 'vscode-tests');

export async function buildTests() {
  const dir = join(ROOT, 'test', 'vscode', 'suite');
  const entries = readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => join(dir, f));
  rmSync(TESTS_OUT, { recursive: true, force: true });
  await esbuild.build({
    entryPoints: entries, outdir: TESTS_OUT, bundle: true, platform: 'node', target: 'node20', format: 'cjs',
    sourcemap: 'inline', sourcesContent: false, external: ['vscode', 'mocha'], logLevel: 'warning',
  });
  return join(TESTS_OUT, 'index.js');
}
