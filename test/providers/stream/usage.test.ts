// Usage/timing extraction from recorded engine responses (one per engine shape) and engine error bodies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractUsage } from '../../../src/providers/stream/usage';
import { extractEngineError } from '../../../src/providers/stream/engine-error';
import { fixture } from './split';

const json = (rel: string): unknown => JSON.parse(fixture(rel).toString('utf8'));
const close = (a: number | undefined, b: number, tol = 1e-9) => assert.ok(a !== undefined && Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} ≈ ${b}`);

test('Ollama final chunk: counts and ns durations → tok/s', () => {
  const u = extractUsage(json('ollama/api_chat_final.json'))!;
  assert.equal(u.model, 'gemma4');
  assert.equal(u.promptTokens, 11);
  assert.equal(u.outputTokens, 18);
  assert.equal(u.done, true);
  assert.equal(u.finishReason, 'stop');
  close(u.decodeTokPerSec, 18 / 0.052479709);
  close(u.prefillTokPerSec, 11 / 0.013074791);
  const mid = extractUsage(json('ollama/api_generate_stream_chunk.json'))!;
  assert.equal(mid.done, false);
  assert.equal(mid.outputTokens, undefined);
});

test('llama.cpp OpenAI response: usage + timings (engine rates kept as reported)', () => {
  const u = extractUsage(json('llama.cpp/v1_chat_completions.json'))!;
  assert.equal(u.promptTokens, 47);
  assert.equal(u.outputTokens, 16);
  assert.equal(u.cachedTokens, 0);
  assert.equal(u.finishReason, 'length');
  close(u.decodeTokPerSec, 22.095964245783723);
  close(u.prefillTokPerSec, 105.01127195461726);
  close(u.ttftMs, 447.571);
  // The reported rate is (n-1)/ms: the first token comes out of prompt processing.
  close(u.decodeTokPerSec, (15 / 678.857) * 1000, 1e-6);
});

test('llama.cpp native /completion: tokens_evaluated, truncated flag', () => {
  const u = extractUsage(json('llama.cpp/completion.json'))!;
  const raw = json('llama.cpp/completion.json') as { tokens_evaluated: number; tokens_predicted: number; truncated: boolean; timings: { predicted_per_second: number; cache_n: number; prompt_n: number } };
  assert.equal(u.outputTokens, raw.tokens_predicted);
  assert.equal(u.promptTokens, raw.timings.prompt_n + raw.timings.cache_n);
  assert.equal(u.promptTokens, raw.tokens_evaluated);
  assert.equal(u.truncated, false);
  close(u.decodeTokPerSec, raw.timings.predicted_per_second);
});

test('LM Studio v0 stats (seconds → ms) and reported context length', () => {
  const u = extractUsage(json('lmstudio/api_v0_chat_completions.json'))!;
  assert.equal(u.promptTokens, 24);
  assert.equal(u.outputTokens, 53);
  close(u.decodeTokPerSec, 51.43709529007664);
  close(u.ttftMs, 111);
  assert.equal(u.engineCtx, 4096);
  assert.equal(u.finishReason, 'stop');
});

test('TabbyAPI usage timing extras and exo generation_stats', () => {
  const t = extractUsage(json('tabbyapi/v1_chat_completions_usage.json'))!;
  assert.equal(t.promptTokens, 1234);
  assert.equal(t.outputTokens, 256);
  close(t.decodeTokPerSec, 37.59);
  close(t.prefillTokPerSec, 2995.1);
  close(t.ttftMs, 412);
  const e = extractUsage(json('exo/bench_chat_completions.json'))!;
  close(e.decodeTokPerSec, 141.7);
  close(e.prefillTokPerSec, 812.4);
  assert.equal(e.outputTokens, 8);
});

test('hostile shapes: wrong types, negatives, NaN-ish values, primitives → nothing or partial, never throw', () => {
  assert.equal(extractUsage(null), undefined);
  assert.equal(extractUsage('x'), undefined);
  assert.equal(extractUsage([1, 2]), undefined);
  assert.equal(extractUsage({}), undefined);
  assert.equal(extractUsage({ usage: { prompt_tokens: -5, completion_tokens: 'many' } }), undefined);
  assert.equal(extractUsage({ eval_count: 1e400, eval_duration: 0 }), undefined);
  assert.deepEqual(extractUsage({ eval_count: 10, eval_duration: 0 }), { outputTokens: 10 });
  assert.equal(extractUsage({ timings: 'fast', choices: 'x', model_info: 7 }), undefined);
});

test('llama.cpp 400 body is an engine error, not a context error', () => {
  assert.deepEqual(extractEngineError(json('llama.cpp/error_400_v1_chat_completions.json')), { kind: 'engine_error', type: 'invalid_request_error' });
});

test('context-exceeded errors: llama.cpp, vLLM, Ollama', () => {
  // llama.cpp body shape from tools/server (PR #15780), as quoted by users.
  const llama = { error: { code: 400, message: 'request (4476 tokens) exceeds the available context size (4096 tokens)', type: 'exceed_context_size_error', n_prompt_tokens: 4476, n_ctx: 4096 } };
  assert.deepEqual(extractEngineError(llama), { kind: 'context_exceeded', type: 'exceed_context_size_error', promptTokens: 4476, contextLimit: 4096 });
  // vLLM (vllm-project/vllm#20409).
  const vllm = {
    object: 'error',
    message: "This model's maximum context length is 16384 tokens. However, you requested 122946 tokens (112946 in the messages, 10000 in the completion). Please reduce the length of the messages or completion.",
    type: 'BadRequestError',
    param: null,
    code: 400,
  };
  assert.deepEqual(extractEngineError(vllm), { kind: 'context_exceeded', type: 'BadRequestError', promptTokens: 112946, contextLimit: 16384 });
  assert.deepEqual(extractEngineError({ error: 'the input length exceeds the context length' }), { kind: 'context_exceeded' });
  assert.equal(extractEngineError({ choices: [] }), undefined);
  assert.equal(extractEngineError({ error: 42 }), undefined);
});
