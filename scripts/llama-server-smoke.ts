// Does this llama-server binary really run here? Loads tiny *quantized* models (Q8_0 attention, Q4_0 FFN; then
// all-Q8_0) and decodes a few tokens through the CPU kernels a build with the wrong ISA dies in (an
// `Illegal instruction` on the first quantized matmul). Exit 0 = ok; 1 = crashed or failed (reason on stderr).
//
//   node --import tsx scripts/llama-server-smoke.ts /path/to/llama-server
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { tinyModelPath, TINY_DEFAULTS } from '../test/support/tiny-model';

const TIMEOUT_MS = 90_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function once(binary: string, model: string): Promise<string | undefined> {
  const port = await freePort();
  const child = spawn(binary, ['-m', model, '--host', '127.0.0.1', '--port', String(port), '-c', '512', '-np', '1', '-t', '2', '--no-webui'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d));
  child.stderr.on('data', (d: Buffer) => (log += d));
  let exit: string | undefined;
  child.on('exit', (code, signal) => (exit = signal ? `killed by ${signal}` : `exited with code ${code}`));
  const deadline = Date.now() + TIMEOUT_MS;
  const tail = () => log.split('\n').slice(-8).join('\n');
  try {
    for (;;) {
      if (exit) return `llama-server ${exit} while loading ${model}\n${tail()}`;
      if (Date.now() > deadline) return `llama-server not ready within ${TIMEOUT_MS / 1000}s\n${tail()}`;
      const ok = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) }).then((r) => r.status === 200, () => false);
      if (ok) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const res = await fetch(`http://127.0.0.1:${port}/completion`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'the quick brown fox', n_predict: 8, temperature: 0 }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    }).catch((e: Error) => e);
    // Give a crash a moment to register before blaming the HTTP side.
    await new Promise((r) => setTimeout(r, 100));
    if (exit) return `llama-server ${exit} while decoding with ${model}\n${tail()}`;
    if (res instanceof Error) return `completion failed: ${res.message}`;
    const body = (await res.json().catch(() => ({}))) as { tokens_predicted?: number };
    if (res.status !== 200 || !(body.tokens_predicted! > 0)) return `completion answered ${res.status} with ${JSON.stringify(body).slice(0, 200)}`;
    return undefined;
  } finally {
    child.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  const binary = process.argv[2];
  if (!binary) throw new Error('usage: llama-server-smoke.ts <llama-server>');
  for (const weights of ['mixed', 'Q8_0'] as const) {
    const why = await once(binary, tinyModelPath({ ...TINY_DEFAULTS, weights }));
    if (why) {
      process.stderr.write(`${why}\n`);
      process.exit(1);
    }
  }
  process.stdout.write('llama-server smoke: decoded Q8_0 and Q4_0 tiny models\n');
}

main().catch((e: Error) => {
  process.stderr.write(`${e.message}\n`);
  process.exit(1);
});
