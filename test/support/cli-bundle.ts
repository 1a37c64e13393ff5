// Builds the `headroom` CLI exactly as esbuild.mjs does (same entry, same options) into a private temp dir,
// so CLI tests run the real bundle without racing other suites that rebuild dist/.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';

let built: string | undefined;

export async function cliBundle(): Promise<string> {
  if (built) return built;
  const out = join(mkdtempSync(join(tmpdir(), 'headroom-cli-')), 'cli.js');
  await esbuild.build({
    entryPoints: ['src/cli/main.ts'],
    outfile: out,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'silent',
    external: ['vscode', 'node-llama-cpp'],
    banner: { js: '#!/usr/bin/env node' },
  });
  built = out;
  return out;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the bundled CLI as a child process (Node, no tsx) and collects its output. */
export async function runCli(args: string[], timeoutMs = 60_000): Promise<CliResult> {
  const bin = await cliBundle();
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
