// Against a real llama-server (built from node-llama-cpp's llama.cpp source by test/support/llama-server.ts,
// serving the tiny generated model): the Session reads the model file's header, sees the slot fill up from
// /slots, and raises the context warning once; live decode tok/s comes from /metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config';
import type { Warning } from '../../src/estimator/warnings';
import { Session } from '../../src/views/session';
import { statusSeverity, statusTooltip } from '../../src/views/status';
import { llamaServerAvailable, startLlamaServer } from '../support/llama-server';
import { tinyModelPath } from '../support/tiny-model';

test('real llama-server, 512-token window filled to 467: one truncation warning, engine-reported context', async (t) => {
  const avail = llamaServerAvailable();
  if (!avail.ok) {
    t.skip(`llama-server not built here (${avail.reason})`);
    return;
  }
  const srv = await startLlamaServer({ model: tinyModelPath(), ctx: 512, parallel: 1, extraArgs: ['--metrics', '--slots'] });
  t.after(() => srv.stop());
  let now = Date.now();
  const raised: Warning[] = [];
  const s = new Session({ config: () => parseConfig({ autoDetect: false, endpoints: [srv.url] }).config, now: () => now });
  s.onWarnings((w) => raised.push(...w));
  await s.refresh();
  const m0 = s.state.models[0]!;
  assert.match(m0.name, /^tiny-llama-.*\.gguf$/, 'the file name, not the whole path');
  assert.equal(s.details(m0.key)!.estimate!.specSource, 'gguf');
  assert.equal(raised.length, 0);
  // Exactly 460 prompt tokens (+ 8 generated, the server keeps one more in the slot) of the 512 window.
  const tok = (await (await fetch(`${srv.url}/tokenize`, { method: 'POST', body: JSON.stringify({ content: 'Headroom keeps an eye on the context window while your agent works. '.repeat(60) }) })).json()) as { tokens: number[] };
  const res = await fetch(`${srv.url}/completion`, { method: 'POST', body: JSON.stringify({ prompt: tok.tokens.slice(0, 460), n_predict: 8, temperature: 0 }) });
  assert.equal(res.status, 200);
  now += 5000;
  await s.refresh();
  const m = s.state.models[0]!;
  assert.equal(m.context.used!.source, 'engine');
  assert.ok(m.context.used!.value >= 460 && m.context.used!.value <= 469, String(m.context.used!.value));
  assert.equal(m.horizon!.tokensLeft, 512 - m.context.used!.value);
  assert.equal(raised.length, 1, JSON.stringify(raised.map((w) => [w.kind, w.message])));
  assert.equal(raised[0]!.kind, 'truncation');
  assert.match(raised[0]!.message, /tokens left before the 512 window truncates the prompt/);
  assert.equal(statusSeverity(s.state), 'warning');
  // Live decode from the /metrics counters moved by that request.
  assert.ok(m.speed.decode && m.speed.decode.value > 0, 'decode tok/s from /metrics');
  assert.match(statusTooltip(s.state), /Decode \(bandwidth-bound\): \d+/);
  // Another poll in the same episode: no second notification.
  now += 5000;
  await s.refresh();
  assert.equal(raised.length, 1, JSON.stringify(raised.map((w) => [w.kind, w.message])));
});
