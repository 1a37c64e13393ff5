// Runs the bundled `headroom` CLI (built by cli-bundle.ts) in a child process WITHOUT blocking this
// process, so HTTP servers the test runs in-process can answer it. Engine env vars start cleared.
import { spawn } from 'node:child_process';
import { cliBundle, type CliResult } from './cli-bundle';

export async function runCliAsync(args: string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<CliResult & { ms: number }> {
  const bin = await cliBundle();
  const t0 = performance.now();
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { ...process.env, HEADROOM_ENDPOINTS: '', OLLAMA_HOST: '', LLAMA_ARG_HOST: '', LLAMA_ARG_PORT: '', HEADROOM_API_KEY: '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`headroom ${args.join(' ')} did not finish in ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code: code ?? -1, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}
