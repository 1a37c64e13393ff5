// Quant labels: llama.cpp's ftype names, GGUF file_type codes (API.md §12) and names in model ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileTypeName, normalizeQuant, quantFromName } from '../../src/providers/quant';

test('llama.cpp ftype names → short labels', () => {
  assert.equal(normalizeQuant('Q4_K - Medium'), 'Q4_K_M');
  assert.equal(normalizeQuant('Q3_K - Small'), 'Q3_K_S');
  assert.equal(normalizeQuant('Q8_0'), 'Q8_0');
});

test('GGUF general.file_type codes', () => {
  assert.equal(fileTypeName(15), 'Q4_K_M');
  assert.equal(fileTypeName(2), 'Q4_0');
  assert.equal(fileTypeName(38), 'MXFP4_MOE');
  assert.equal(fileTypeName(4), undefined, 'retired code');
});

test('quant from model names', () => {
  assert.equal(quantFromName('Qwen2.5-Coder-14B-Instruct-Q4_K_M'), 'Q4_K_M');
  assert.equal(quantFromName('llama31-8b-shape-4L-Q4_K_M.gguf'), 'Q4_K_M');
  assert.equal(quantFromName('gpt-oss-20b-MXFP4.gguf'), 'MXFP4');
  assert.equal(quantFromName('Qwen2.5-Coder-32B-Instruct-exl2-4.0bpw'), '4.0bpw');
  assert.equal(quantFromName('mlx-community/Qwen3-30B-A3B-4bit'), '4bit');
  assert.equal(quantFromName('meta-llama/Llama-3.1-8B-Instruct'), undefined);
});
