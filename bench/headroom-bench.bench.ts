// What `headroom bench` costs on top of the engine's own work, against the engine's own timings in the
// same run: a real llama-server (tiny model) measured at two depths. Ratio = client wall ÷ engine time;
// ~1 means the bench adds nothing but an HTTP round trip. Skips, saying why, when llama-server is not built.
import { runBench } from '../src/providers/bench';
import { llamaServerAvailable, startLlamaServer } from '../test/support/llama-server';
import { tinyModelPath } from '../test/support/tiny-model';

export async function run(): Promise<void> {
  const avail = llamaServerAvailable();
  if (!avail.ok) {
    process.stdout.write(`skipped: ${avail.reason}\n`);
    return;
  }
  const s = await startLlamaServer({ model: tinyModelPath({ nLayers: 4, hidden: 512, nHeads: 8, nKvHeads: 4, ffn: 1536 }), ctx: 4096, extraArgs: ['-t', '2'] });
  try {
    const m = await runBench({ endpoint: s.url, depths: [0, 2048], outputTokens: 128 });
    for (const r of m.runs) {
      const engineMs = (1000 * (r.promptTokens - r.cachedTokens)) / r.prefillTokPerSec! + (1000 * (r.outputTokens - 1)) / r.decodeTokPerSec!;
      process.stdout.write(
        `depth ${String(r.promptTokens).padStart(5)}: prefill ${r.prefillTokPerSec!.toFixed(0)} tok/s, decode ${r.decodeTokPerSec!.toFixed(1)} tok/s, ` +
          `engine ${engineMs.toFixed(0)} ms vs bench wall ${r.wallMs.toFixed(0)} ms → ratio ${(r.wallMs / engineMs).toFixed(3)}\n`,
      );
    }
  } finally {
    await s.stop();
  }
}
