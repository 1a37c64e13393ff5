// Which requests get a record, and the truncation verdicts buildRecord derives from meter results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRecord, isGenerationPath, TRUNC_MIN_GAP, TRUNC_RATIO } from '../../../src/providers/proxy/record';
import type { MeterResult } from '../../../src/providers/stream/meter';
import type { RequestMeta } from '../../../src/providers/stream/request';

test('generation paths of every engine, and the ones that are not', () => {
  for (const p of ['/api/generate', '/api/chat', '/v1/chat/completions', '/v1/completions', '/completion', '/infill', '/api/v0/chat/completions', '/api/v1/chat', '/v1/messages', '/v1/responses', '/api/v1/generate', '/api/extra/generate/stream', '/generate', '/generate_stream', '/ollama/api/chat', '/v1/chat/completions/'])
    assert.equal(isGenerationPath(p), true, p);
  for (const p of ['/api/tags', '/api/ps', '/api/show', '/v1/models', '/metrics', '/slots', '/props', '/health', '/api/embed', '/v1/embeddings', '/tokenize'])
    assert.equal(isGenerationPath(p), false, p);
});

const base = { endpoint: '/api/chat', target: 'http://127.0.0.1:11434', method: 'POST', status: 200, at: 0 };
const meter = (usage: MeterResult['usage']): MeterResult => ({ format: 'ndjson', usage, tokenEvents: 0, badObjects: 0 });
const req = (promptChars: number, numCtx?: number): RequestMeta => ({ promptChars, bodyBytes: promptChars + 50, unparsed: false, ...(numCtx ? { numCtx } : {}) });

test('truncation verdict thresholds: ratio and minimum gap', () => {
  const kept = 2000;
  // Just above both thresholds.
  const chars = Math.ceil((kept * TRUNC_RATIO + TRUNC_MIN_GAP) * 4) + 8;
  assert.equal(buildRecord(base, req(chars), meter({ promptTokens: kept }), { startedAt: 0, endedAt: 1 }).truncated, true);
  // Within the ratio: a tokenizer that packs more characters per token, not a cut.
  assert.equal(buildRecord(base, req(kept * 4 * 1.4), meter({ promptTokens: kept }), { startedAt: 0, endedAt: 1 }).truncated, false);
  // Large ratio but a small absolute gap (tiny prompts).
  assert.equal(buildRecord(base, req(200 * 4), meter({ promptTokens: 20 }), { startedAt: 0, endedAt: 1 }).truncated, false);
  // Unparsed request bodies never produce a verdict from counts.
  assert.equal(buildRecord(base, { promptChars: 0, bodyBytes: 1e8, unparsed: true }, meter({ promptTokens: 10 }), { startedAt: 0, endedAt: 1 }).truncated, false);
  // llama.cpp native `truncated: true` is taken at its word.
  const flag = buildRecord(base, req(10), meter({ promptTokens: 4000, truncated: true }), { startedAt: 0, endedAt: 1 });
  assert.deepEqual(flag.truncation, { reason: 'engine-flag', keptTokens: 4000 });
});

test('proxy-timed speeds: first token ends prefill, the rest is decode', () => {
  const m: MeterResult = { format: 'sse', usage: { outputTokens: 21 }, tokenEvents: 21, badObjects: 0, firstTokenAt: 1500, lastTokenAt: 2500 };
  const r = buildRecord(base, req(10), m, { startedAt: 1000, endedAt: 2600 });
  assert.equal(r.ttftMs, 500);
  assert.equal(r.decodeTokPerSec, 20);
  assert.equal(r.speedSource, 'proxy');
  assert.equal(r.durationMs, 1600);
});
