// Commands in each engine's words, and the catalog's repo ids behind them: every repo a command names is one a
// recorded source names (test/fixtures/research/speed-published.csv), never one derived from a pattern.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { catalogModels } from '../../src/estimator/catalog';
import { engineCommand } from '../../src/estimator/engine-commands';
import { DATA } from '../support/data';

const published = readFileSync(join(DATA, 'research', 'speed-published.csv'), 'utf8');

test('every GGUF/MLX repo in the catalog appears in the recorded source it cites', () => {
  let n = 0;
  for (const m of catalogModels()) {
    for (const r of [m.repos.gguf, m.repos.mlx]) {
      if (!r) continue;
      n++;
      assert.ok(published.includes(`,${r.id},`), `${m.id}: ${r.id} not in speed-published.csv`);
      assert.match(r.source, /speed-published\.csv/);
    }
  }
  assert.ok(n >= 15, `only ${n} repos`);
});

test('same weights vs new weights, per engine', () => {
  const c = { modelId: 'Qwen/Qwen3-30B-A3B', quant: 'Q4_K_M', ctxPerSeq: 32768, parallel: 2, kvType: 'q8_0' as const };
  assert.equal(engineCommand(c, { engine: 'llama.cpp', sameWeights: true, served: '/models/Qwen3-30B-A3B-Q4_K_M.gguf' }).command, 'llama-server -m /models/Qwen3-30B-A3B-Q4_K_M.gguf -c 65536 -np 2 -fa on -ctk q8_0 -ctv q8_0');
  assert.equal(engineCommand(c, { engine: 'ollama', sameWeights: true, served: 'qwen3:30b-a3b' }).command, 'OLLAMA_CONTEXT_LENGTH=32768 OLLAMA_NUM_PARALLEL=2 OLLAMA_FLASH_ATTENTION=1 OLLAMA_KV_CACHE_TYPE=q8_0 ollama serve');
  assert.match(engineCommand(c, { engine: 'ollama', sameWeights: true }).commandNote, /PARAMETER num_ctx 32768/);
  assert.equal(engineCommand({ ...c, quant: 'Q3_K_M' }, { engine: 'ollama', sameWeights: false }).command, 'ollama pull hf.co/unsloth/Qwen3-30B-A3B-GGUF:Q3_K_M');
  assert.match(engineCommand({ ...c, quant: 'Q3_K_M' }, { engine: 'ollama', sameWeights: false }).commandNote, /check it publishes Q3_K_M/);
  assert.equal(engineCommand({ ...c, kvType: 'f16' }, { engine: 'lmstudio', sameWeights: true, served: 'qwen3-30b-a3b' }, 'context-cap').command, 'lms load qwen3-30b-a3b --context-length 32768');
  assert.equal(engineCommand(c, { engine: 'vllm', sameWeights: true }).command, 'vllm serve Qwen/Qwen3-30B-A3B --max-model-len 32768 --max-num-seqs 2 --kv-cache-dtype fp8 --gpu-memory-utilization 0.90');
  assert.equal(engineCommand({ ...c, quant: 'MLX-4bit' }, { engine: 'mlx-lm', sameWeights: false }).command, 'mlx_lm.server --model mlx-community/Qwen3-30B-A3B-4bit');
  assert.match(engineCommand({ ...c, quant: 'MLX-8bit' }, { engine: 'mlx-lm', sameWeights: false }).commandNote, /only MLX conversion on record — not MLX-8bit/);
  // Unknown model: no invented file name.
  const none = engineCommand({ ...c, modelId: 'someone/Unknown-7B' }, { engine: 'llama.cpp', sameWeights: false });
  assert.equal(none.command, null);
  assert.match(none.commandNote, /no GGUF repo for someone\/Unknown-7B is on record/);
  // Ollama has no q5_0 KV cache; an Ollama tag resolves to its catalog entry.
  assert.equal(engineCommand({ ...c, kvType: 'q5_0' }, { engine: 'ollama', sameWeights: true }).command, null);
  assert.equal(engineCommand({ ...c, modelId: 'qwen3:30b-a3b', quant: 'Q8_0' }, { engine: 'llama.cpp', sameWeights: false }).command, 'llama-server -hf unsloth/Qwen3-30B-A3B-GGUF:Q8_0 -c 65536 -np 2 -fa on -ctk q8_0 -ctv q8_0');
});
