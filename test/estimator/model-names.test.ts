import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveModelName, UnknownModelError, extractQuant } from '../../src/estimator/model-names';

const cases: [string, string, string | undefined][] = [
  // HF ids, any case
  ['Qwen/Qwen3-30B-A3B', 'Qwen/Qwen3-30B-A3B', undefined],
  ['qwen/qwen3-coder-30b-a3b-instruct', 'Qwen/Qwen3-Coder-30B-A3B-Instruct', undefined],
  // Ollama tags, with and without quant suffixes
  ['qwen3:30b-a3b', 'Qwen/Qwen3-30B-A3B', undefined],
  ['llama3.1:8b', 'meta-llama/Llama-3.1-8B-Instruct', undefined],
  ['llama3.1:8b-instruct-q8_0', 'meta-llama/Llama-3.1-8B-Instruct', 'Q8_0'],
  ['gpt-oss:20b', 'openai/gpt-oss-20b', undefined],
  ['qwen2.5-coder:32b', 'Qwen/Qwen2.5-Coder-32B-Instruct', undefined],
  ['qwen2.5-coder:32b-instruct-q4_K_M', 'Qwen/Qwen2.5-Coder-32B-Instruct', 'Q4_K_M'],
  ['gemma3:12b', 'google/gemma-3-12b-it', undefined],
  ['deepseek-r1:70b', 'deepseek-ai/DeepSeek-R1-Distill-Llama-70B', undefined],
  ['devstral', 'mistralai/Devstral-Small-2507', undefined],
  ['qwen3:30b-a3b-q4_K_M', 'Qwen/Qwen3-30B-A3B', 'Q4_K_M'],
  // LM Studio / GGUF file names and repo names
  ['Qwen3-30B-A3B-Q4_K_M.gguf', 'Qwen/Qwen3-30B-A3B', 'Q4_K_M'],
  ['/models/lmstudio-community/Meta-Llama-3.1-8B-Instruct-GGUF/Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf', 'meta-llama/Llama-3.1-8B-Instruct', 'Q4_K_M'],
  ['gemma-3-27b-it-IQ4_XS.gguf', 'google/gemma-3-27b-it', 'IQ4_XS'],
  ['gpt-oss-120b-mxfp4-00001-of-00003.gguf', 'openai/gpt-oss-120b', 'MXFP4'],
  ['unsloth/Qwen3-Coder-30B-A3B-Instruct-GGUF', 'Qwen/Qwen3-Coder-30B-A3B-Instruct', undefined],
  ['Qwen3-Coder-30B-A3B-Instruct-UD-Q4_K_XL.gguf', 'Qwen/Qwen3-Coder-30B-A3B-Instruct', 'Q4_K_XL'],
  ['mlx-community/Qwen3-30B-A3B-4bit', 'Qwen/Qwen3-30B-A3B', 'MLX-4bit'],
  ['qwen3-30b-a3b', 'Qwen/Qwen3-30B-A3B', undefined],
  ['deepseek-v4-flash', 'deepseek-ai/DeepSeek-V4-Flash', undefined],
  // Same-architecture re-releases and LM Studio / hf.co keys
  ['qwen/qwen3-30b-a3b-2507', 'Qwen/Qwen3-30B-A3B', undefined],
  ['Qwen3-30B-A3B-Thinking-2507-Q8_0.gguf', 'Qwen/Qwen3-30B-A3B', 'Q8_0'],
  ['hf.co/unsloth/Qwen3-30B-A3B-GGUF:Q4_K_M', 'Qwen/Qwen3-30B-A3B', 'Q4_K_M'],
  ['mistralai/Devstral-Small-2507', 'mistralai/Devstral-Small-2507', undefined],
  ['Mistral-Small-24B-Instruct-2501-Q6_K.gguf', 'mistralai/Mistral-Small-24B-Instruct-2501', 'Q6_K'],
];

test('resolves ids, Ollama tags, file names and short names', () => {
  for (const [input, id, quant] of cases) {
    const r = resolveModelName(input);
    assert.equal(r.model.id, id, input);
    assert.equal(r.quant, quant, `quant of ${input}`);
  }
});

test('unknown names give a typed error with close matches', () => {
  assert.throws(() => resolveModelName('qwen3:31b-a3b'), (e: unknown) => {
    assert.ok(e instanceof UnknownModelError);
    assert.ok(e.suggestions.some((s) => s.includes('Qwen3-30B-A3B')), e.message);
    return true;
  });
  assert.throws(() => resolveModelName('llama-3.1-8'), (e: unknown) => e instanceof UnknownModelError && /Llama-3\.1-8B/.test(e.message));
  assert.throws(() => resolveModelName('totally-not-a-model-xyz'), UnknownModelError);
  assert.throws(() => resolveModelName('   '), UnknownModelError);
});

test('extractQuant does not mistake model names for quants', () => {
  assert.equal(extractQuant('qwen3-8b').quant, undefined);
  assert.equal(extractQuant('Qwen2.5-Coder-7B-Instruct-Q5_K_S').quant, 'Q5_K_S');
  assert.equal(extractQuant('llama-3.1-8b-f16').quant, 'F16');
});
