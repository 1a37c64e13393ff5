// Records the `load_tensors` buffer lines of our llama-server build loading each tiny model, into
// test/fixtures/llamacpp-buffers/<isa>-tiny-<weights>.log (checked by test/estimator/cpu-buffers.test.ts).
//
//   node --import tsx test/support/record-cpu-buffers.ts avx512
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLlamaServer } from './llama-server';
import { TINY_DEFAULTS, tinyModelPath } from './tiny-model';
import { DATA } from './data';

async function main(): Promise<void> {
  const isa = process.argv[2];
  if (!isa) throw new Error('usage: record-cpu-buffers.ts <isa label, e.g. avx512>');
  for (const weights of ['F16', 'Q8_0', 'Q4_0', 'mixed'] as const) {
    const s = await startLlamaServer({ model: tinyModelPath({ ...TINY_DEFAULTS, weights }), ctx: 2048, parallel: 2 });
    try {
      const log = s.log();
      const keep = log.split('\n').filter((l) => /model buffer size|system_info|AMX|build_info|CPU_REPACK/.test(l)).map((l) => l.replace(/^\S*\s*[IWE]\s+/, ''));
      const head = `# weights=${weights}: test/support/tiny-model.ts TINY_DEFAULTS, -c 2048 -np 2; lines of our llama-server build (scripts/build-llama-server.mjs), verbatim but for the timestamp prefix\n`;
      const file = join(DATA, 'llamacpp-buffers', `${isa}-tiny-${weights}.log`);
      writeFileSync(file, head + [...new Set(keep)].join('\n') + '\n');
      process.stdout.write(`${file}\n`);
    } finally {
      await s.stop();
    }
  }
}

main().catch((e: Error) => {
  process.stderr.write(`${e.message}\n`);
  process.exit(1);
});
