// Records which ggml type the real llama-quantize (same llama.cpp commit) gives every tensor, for every
// quant type, on the real-shape headers (shared groundtruth + fixtures/*.header.gguf.gz). Uses
// `--dry-run` on sparse copies extended to the full file size, so nothing is actually quantized.
// Run: node --import tsx test/support/measure-quant-recipes.ts   (needs build/bin/llama-quantize next to
// the llama-server that scripts/build-llama-server.mjs built: cmake --build <build> --target llama-quantize)
// Writes test/estimator/fixtures/quant-recipes.json, checked by test/estimator/quant-recipes.test.ts.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { llamaServerAvailable } from './llama-server';
import { HEADERS, loadGroundtruth } from './llamacpp-groundtruth';

const ROOT = resolve(__dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'estimator', 'fixtures');

export const RECIPE_FTYPES = [
  'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q8_0', 'Q2_K', 'Q2_K_S', 'Q3_K_S', 'Q3_K_M', 'Q3_K_L', 'Q4_K_S', 'Q4_K_M', 'Q5_K_S',
  'Q5_K_M', 'Q6_K', 'IQ2_XXS', 'IQ2_XS', 'IQ2_S', 'IQ2_M', 'IQ1_S', 'IQ1_M', 'IQ3_XXS', 'IQ3_XS', 'IQ3_S', 'IQ3_M',
  'IQ4_NL', 'IQ4_XS', 'TQ1_0', 'TQ2_0', 'MXFP4_MOE', 'F16', 'BF16',
];

export interface RecipeRecord {
  /** Header file, relative to the repo (or the shared groundtruth path). */
  header: string;
  ftype: string;
  /** [tensor name, ggml type name (upper case)] in file order; absent when llama-quantize refused. */
  types?: [string, string][];
  refused?: string;
}

function main(): void {
  const server = llamaServerAvailable();
  if (!server.ok) throw new Error(server.reason);
  const quantize = join(dirname(server.binary), 'llama-quantize');
  if (!existsSync(quantize)) throw new Error(`${quantize} not built`);
  const rows = loadGroundtruth();
  const sizeOf = (gz: string): number => {
    const row = rows.find((r) => (r.quant === 'Q4_K_M' && HEADERS[r.arch]?.q4km === gz) || (r.quant === 'F16' && HEADERS[r.arch]?.f16 === gz));
    if (row) return row.fileBytes;
    const load = (JSON.parse(readFileSync(join(FIXTURES, 'measured-archs.json'), 'utf8')) as { loads: { model: string; tensorDataBytes: number }[] }).loads.find((l) => gz.endsWith(`${l.model}.header.gguf.gz`));
    if (!load) throw new Error(`no file size for ${gz}`);
    return load.tensorDataBytes + gunzipSync(readFileSync(gz)).length;
  };
  const headers = [
    HEADERS.llama!.f16!, HEADERS.llama!.q4km, HEADERS.qwen3moe!.q4km, HEADERS.gemma3!.q4km,
    join(FIXTURES, 'deepseek2-lite-3L.header.gguf.gz'), join(FIXTURES, 'gpt-oss-20b-2L.header.gguf.gz'), join(FIXTURES, 'qwen3next-80b-4L.header.gguf.gz'),
  ];
  const dir = mkdtempSync(join(tmpdir(), 'headroom-quant-'));
  const out: RecipeRecord[] = [];
  for (const gz of headers) {
    // Sparse copy at the real size: llama.cpp checks tensor bounds, --dry-run never reads the data.
    const sparse = join(dir, basename(gz).replace(/\.gz$/, ''));
    writeFileSync(sparse, gunzipSync(readFileSync(gz)));
    const fd = openSync(sparse, 'r+');
    ftruncateSync(fd, sizeOf(gz));
    closeSync(fd);
    const rel = gz.startsWith(ROOT) ? gz.slice(ROOT.length + 1) : gz;
    for (const ftype of RECIPE_FTYPES) {
      const r = spawnSync(quantize, ['--dry-run', '--allow-requantize', sparse, ftype, '2'], { encoding: 'utf8', timeout: 120_000 });
      const log = `${r.stdout}\n${r.stderr}`;
      const types = [...log.matchAll(/\]\s+(\S+)\s+- \[[^\]]*\], type =\s+(\w+), size =[^\n]*?(?:\((\w+)\))?\s*$/gm)].map(
        (m) => [m[1]!, (m[3] ?? m[2]!).toUpperCase()] as [string, string],
      );
      if (r.status !== 0 || types.length === 0) {
        out.push({ header: rel, ftype, refused: (/(error|failed)[^\n]*/i.exec(log)?.[0] ?? `exit ${r.status}`).slice(0, 200) });
      } else out.push({ header: rel, ftype, types });
      process.stdout.write(`${basename(gz)} ${ftype}: ${types.length ? `${types.length} tensors` : 'refused'}\n`);
    }
  }
  writeFileSync(join(FIXTURES, 'quant-recipes.json'), JSON.stringify({ llamaCpp: 'v0.5.0 de3ff815ea7d llama-quantize --dry-run --allow-requantize', records: out }) + '\n');
}

if (require.main === module) main();
