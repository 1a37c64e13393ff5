// The response meter on recorded streams: usage, first-token timing and error detection per format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResponseMeter, bodyFormat } from '../../../src/providers/stream/meter';
import { inspectRequest, estimateTokens } from '../../../src/providers/stream/request';
import { cut, fixture } from './split';

function meterBytes(ct: string, buf: Uint8Array, pieces = 7) {
  const m = new ResponseMeter(ct);
  const step = Math.max(1, Math.ceil(buf.length / pieces));
  const offs: number[] = [];
  for (let o = step; o < buf.length; o += step) offs.push(o);
  let t = 1000;
  for (const p of cut(buf, offs)) m.push(p, (t += 10));
  return m.end((t += 10));
}

test('content types map to formats', () => {
  assert.equal(bodyFormat('text/event-stream; charset=utf-8'), 'sse');
  assert.equal(bodyFormat('application/x-ndjson'), 'ndjson');
  assert.equal(bodyFormat('application/json; charset=utf-8'), 'json');
  assert.equal(bodyFormat(undefined), 'other');
});

test('llama.cpp SSE with include_usage: usage, timings, token events', () => {
  const buf = fixture('llama.cpp/v1_chat_completions_stream_include_usage.sse');
  const r = meterBytes('text/event-stream', buf);
  assert.equal(r.usage.promptTokens, 39);
  assert.equal(r.usage.cachedTokens, 25);
  assert.equal(r.usage.outputTokens, 12);
  assert.equal(r.usage.decodeTokPerSec, 21.842775700507744);
  assert.equal(r.usage.finishReason, 'length');
  // Independent count of content-bearing deltas in the recording.
  const contentEvents = buf.toString('utf8').split('\n\n').filter((e) => /"delta":\{"content":"[^"]/.test(e)).length;
  assert.equal(r.tokenEvents, contentEvents);
  assert.ok(r.firstTokenAt! > 1000 && r.lastTokenAt! >= r.firstTokenAt!);
  assert.equal(r.badObjects, 0);
});

test('llama.cpp native SSE (no [DONE]): final stop event', () => {
  const r = meterBytes('text/event-stream', fixture('llama.cpp/completion_stream.sse'));
  assert.equal(r.usage.outputTokens, 8);
  assert.equal(r.usage.promptTokens, 5);
  assert.equal(r.usage.done, true);
  assert.equal(r.usage.truncated, false);
  assert.equal(r.tokenEvents, 8);
});

test('non-streaming JSON and error bodies', () => {
  const ok = meterBytes('application/json', fixture('lmstudio/api_v0_chat_completions.json'));
  assert.equal(ok.usage.outputTokens, 53);
  assert.equal(ok.tokenEvents, 0);
  const err = meterBytes('application/json', fixture('llama.cpp/error_400_v1_chat_completions.json'));
  assert.equal(err.error?.kind, 'engine_error');
  const garbage = meterBytes('application/json', Buffer.from('{"usage": {"prompt_tok'));
  assert.equal(garbage.badObjects, 1);
  assert.deepEqual(garbage.usage, {});
});

test('a JSON body over the cap is not buffered', () => {
  const m = new ResponseMeter('application/json', { maxJsonBytes: 100 });
  m.push(Buffer.from('{"usage":{"prompt_tokens":1},"pad":"' + 'x'.repeat(200) + '"}'), 0);
  assert.deepEqual(m.end(1).usage, {});
});

test('request inspection: Ollama options, OpenAI max_tokens, text-only char count, images skipped', () => {
  const req = {
    model: 'qwen3:8b',
    stream: true,
    options: { num_ctx: 8192, num_predict: 256 },
    messages: [
      { role: 'system', content: 'abcd'.repeat(100) },
      { role: 'user', content: [{ type: 'text', text: 'héllo' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,' + 'A'.repeat(5000) } }], images: ['B'.repeat(9000)] },
    ],
  };
  const buf = Buffer.from(JSON.stringify(req));
  const m = inspectRequest(buf, buf.length);
  assert.equal(m.model, 'qwen3:8b');
  assert.equal(m.numCtx, 8192);
  assert.equal(m.maxTokens, 256);
  assert.equal(m.stream, true);
  assert.equal(m.promptChars, 400 + 'system'.length + 'héllo'.length + 'user'.length);
  assert.equal(estimateTokens(m.promptChars), Math.floor(m.promptChars / 4));
  const o = Buffer.from(JSON.stringify({ model: 'x', max_completion_tokens: 9, max_tokens: 5, prompt: 'hi' }));
  assert.equal(inspectRequest(o, o.length).maxTokens, 9);
});

test('request inspection: truncated capture, garbage, wrong types', () => {
  const b = Buffer.from('{"model":"x","messages":[]}');
  assert.equal(inspectRequest(b.subarray(0, 10), b.length).unparsed, true);
  assert.equal(inspectRequest(Buffer.from('\xff\x00garbage'), 9).unparsed, true);
  const w = Buffer.from(JSON.stringify({ model: 5, options: { num_ctx: 'big' }, max_tokens: 1.5, messages: 'hi' }));
  const m = inspectRequest(w, w.length);
  assert.equal(m.unparsed, false);
  assert.equal(m.model, undefined);
  assert.equal(m.numCtx, undefined);
  assert.equal(m.maxTokens, undefined);
  assert.equal(m.promptChars, 2);
});

test('Python-style spacing (json.dumps ": ") is recognised on the fast path too', () => {
  const ev = (o: unknown) => `data: ${JSON.stringify(o, null, 1).replace(/\n\s*/g, ' ')}\n\n`;
  const body =
    ev({ model: 'mlx-community/Qwen3-4B-4bit', choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] }) +
    ev({ model: 'mlx-community/Qwen3-4B-4bit', choices: [{ index: 0, delta: { content: 'He said \\"usage\\": {' }, finish_reason: null }] }) +
    ev({ model: 'mlx-community/Qwen3-4B-4bit', choices: [{ index: 0, delta: { content: 'llo' }, finish_reason: null }] }) +
    ev({ model: 'mlx-community/Qwen3-4B-4bit', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 9, completion_tokens: 2 } }) +
    'data: [DONE]\n\n';
  assert.match(body, /"content": "llo"/);
  const r = meterBytes('text/event-stream', Buffer.from(body), 11);
  assert.equal(r.tokenEvents, 2);
  assert.equal(r.usage.model, 'mlx-community/Qwen3-4B-4bit');
  assert.equal(r.usage.promptTokens, 9);
  assert.equal(r.usage.outputTokens, 2);
  assert.equal(r.usage.finishReason, 'stop');
  assert.equal(r.badObjects, 0);
});
