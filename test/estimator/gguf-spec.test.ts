// ModelSpec from GGUF metadata: the real headers' architectures, and refusal of hostile values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readGgufHeader } from '../../src/gguf/read';
import { SpecError, specFromGgufMetadata } from '../../src/estimator/gguf-spec';
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
