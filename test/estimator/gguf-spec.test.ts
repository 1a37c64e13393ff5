// ModelSpec from GGUF metadata: the real headers' architectures, and refusal of hostile values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readGgufHeader } from '../../src/gguf/read';
import { SpecError, specFromGgufMetadata } from '../../src/estimator/gguf-spec';
import { kvBytesPerToken } from '../../src/estimator/kv';
import { HEADERS } from '../support/llamacpp-groundtruth';

test('real headers: GQA, MoE and Gemma-3 sliding-window layouts as llama.cpp loads them', async () => {
  const load = async (p: string) => {
    const h = await readGgufHeader(p);
    return specFromGgufMetadata(h.metadata, h.tensors, p);
  };
  const llama = await load(HEADERS.llama!.q4km);
  assert.deepEqual([llama.arch, llama.nLayers, llama.nHeads, llama.headDimK, llama.vocabSize], ['llama', 4, 32, 128, 128256]);
  assert.deepEqual(llama.nKvHeadsPerLayer, [8, 8, 8, 8]);
  assert.equal(llama.tiedEmbeddings, false);
  const moe = await load(HEADERS.qwen3moe!.q4km);
  assert.deepEqual(moe.moe, { nExperts: 128, nExpertsUsed: 8, nSharedExperts: 0, nDenseLeadingLayers: 0, expertFfnSize: 768, sharedExpertFfnSize: undefined });
  assert.ok(moe.activeParams < moe.totalParams / 3); // 4-layer cut: the embeddings weigh more than in the real model
  const gemma = await load(HEADERS.gemma3!.q4km);
  assert.equal(gemma.slidingWindow, 1024);
  // llama.cpp gemma3: pattern 6, the last layer of each group of six is global.
  assert.deepEqual(gemma.swaLayers, [true, true, true, true, true, false]);
  assert.equal(gemma.tiedEmbeddings, true);
});

test('missing or absurd hyperparameters are refused with SpecError, not used', () => {
  const base = { 'general.architecture': 'llama', 'llama.block_count': 2, 'llama.embedding_length': 64, 'llama.attention.head_count': 4 };
  assert.ok(specFromGgufMetadata(base, undefined, 'ok'));
  assert.throws(() => specFromGgufMetadata({}, undefined, 'x'), SpecError);
  assert.throws(() => specFromGgufMetadata({ ...base, 'llama.block_count': 4_000_000_000 }, undefined, 'x'), SpecError);
  assert.throws(() => specFromGgufMetadata({ ...base, 'llama.embedding_length': 2 ** 40 }, undefined, 'x'), SpecError);
  assert.throws(() => specFromGgufMetadata({ ...base, 'llama.attention.head_count': 0 }, undefined, 'x'), SpecError);
  assert.throws(() => specFromGgufMetadata({ ...base, 'llama.block_count': 'four' }, undefined, 'x'), SpecError);
});

test('DeepSeek MLA: latent cache only when the file declares key_length_mla; old files are plain MHA', () => {
  const common = {
    'general.architecture': 'deepseek2', 'deepseek2.block_count': 61, 'deepseek2.embedding_length': 7168,
    'deepseek2.attention.head_count': 128, 'deepseek2.attention.kv_lora_rank': 512, 'deepseek2.attention.q_lora_rank': 1536,
    'deepseek2.rope.dimension_count': 64, 'deepseek2.expert_count': 256, 'deepseek2.expert_used_count': 8,
    'deepseek2.expert_shared_count': 1, 'deepseek2.leading_dense_block_count': 3, 'deepseek2.vocab_size': 129280,
  };
  // Current conversion: key_length 576 / value_length 512 with one KV head; per token K = 576 × 2 B per layer, V = 0.
  const latent = specFromGgufMetadata({ ...common, 'deepseek2.attention.head_count_kv': 1, 'deepseek2.attention.key_length': 576,
    'deepseek2.attention.value_length': 512, 'deepseek2.attention.key_length_mla': 192, 'deepseek2.attention.value_length_mla': 128 }, undefined, 'v3');
  assert.deepEqual(latent.mla, { kvLoraRank: 512, ropeDim: 64, qLoraRank: 1536, qkNopeHeadDim: 128, vHeadDim: 128 });
  assert.equal(kvBytesPerToken(latent, 'f16', 'f16'), 61 * 576 * 2);
  // Old conversion: 128 KV heads of 192 (K) and 128 (V) — the decompressed MHA cache llama.cpp then allocates.
  const mha = specFromGgufMetadata({ ...common, 'deepseek2.attention.head_count_kv': 128, 'deepseek2.attention.key_length': 192,
    'deepseek2.attention.value_length': 128 }, undefined, 'v3-old');
  assert.equal(mha.mla, undefined);
  assert.equal(kvBytesPerToken(mha, 'f16', 'f16'), 61 * 128 * (192 + 128) * 2);
});
