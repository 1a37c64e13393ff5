// The live-session reducer fed with real proxy records (from the recorded llama.cpp and Ollama responses).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { liveKey, observeRequest, type SessionState } from '../../src/estimator/live-session';
import { buildRecord } from '../../src/providers/proxy/record';
import { ResponseMeter } from '../../src/providers/stream/meter';
import { inspectRequest } from '../../src/providers/stream/request';
import { growthPerTurn } from '../../src/estimator/context-tracker';

const FIX = '/work/shared/fixtures';

function record(ct: string, body: Buffer, req: unknown, status = 200, at = 0) {
  const m = new ResponseMeter(ct);
  m.push(body, 10);
  const rb = Buffer.from(JSON.stringify(req));
  return buildRecord({ endpoint: '/v1/chat/completions', target: 'http://127.0.0.1:8080', method: 'POST', status, at }, inspectRequest(rb, rb.length), m.end(20), { startedAt: 0, endedAt: 20 });
}

test('records update speed, context track and window per model key', () => {
  const sse = readFileSync(`${FIX}/llama.cpp/v1_chat_completions_stream_include_usage.sse`);
  const r1 = record('text/event-stream', sse, { model: 'x', stream: true, messages: [{ role: 'user', content: 'hi' }] }, 200, 1000);
  const key = liveKey(r1.target, r1.model);
  assert.equal(key, 'http://127.0.0.1:8080|llama31-8b-shape-4L-Q4_K_M.gguf');
  let s: SessionState = observeRequest({}, key, r1);
  assert.equal(s[key]!.speed!.decodeTokPerSec, 21.842775700507744);
  assert.equal(s[key]!.speed!.source, 'timings');
  assert.equal(s[key]!.track.points[0]!.promptTokens, 39);
  // A second turn (the recorded non-streaming response) extends the same conversation.
  const r2 = record('application/json', readFileSync(`${FIX}/llama.cpp/v1_chat_completions.json`), { model: 'x', messages: [] }, 200, 2000);
  s = observeRequest(s, key, r2);
  assert.equal(s[key]!.requests, 2);
  assert.equal(growthPerTurn(s[key]!.track), 47 - 39);
  assert.ok(s[key]!.speed!.decodeTokPerSec! > 21.84 && s[key]!.speed!.decodeTokPerSec! < 22.1);
});

test('a rejected over-long prompt sets the truncation verdict and the window, not the speed', () => {
  const body = Buffer.from(JSON.stringify({ error: { code: 400, message: 'request (4476 tokens) exceeds the available context size (4096 tokens)', type: 'exceed_context_size_error', n_prompt_tokens: 4476, n_ctx: 4096 } }));
  const r = record('application/json', body, { model: 'm', messages: [] }, 400);
  const s = observeRequest({}, 'k', r);
  assert.deepEqual(s.k!.truncation, { truncated: true, reason: 'rejected', sentTokens: 4476, limit: 4096 });
  assert.equal(s.k!.window, 4096);
  assert.equal(s.k!.speed, undefined);
});

test('aborted and unreachable requests leave the state untouched', () => {
  const st: SessionState = {};
  assert.equal(observeRequest(st, 'k', { status: 0, truncated: false, at: 0, error: { kind: 'upstream_unreachable' } }), st);
  assert.equal(observeRequest(st, 'k', { status: 200, truncated: false, at: 0, error: { kind: 'client_abort' } }), st);
});
