// runBench against small real HTTP servers on 127.0.0.1 replaying recorded engine bodies, plus the hostile
// cases (hang, cancel, refused, dropped connection, half a stream). The real llama-server runs are in
// test/real-engine/bench.test.ts.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BenchError, plannedDepths, runBench } from '../../src/providers/bench';
import { DATA } from '../support/data';

const FIX = process.env.HEADROOM_FIXTURES ?? `${DATA}/engines`;
const fixture = (p: string) => readFileSync(join(FIX, p), 'utf8');

type Route = (req: IncomingMessage, res: ServerResponse, body: string) => void;

async function serve(t: TestContext, routes: Record<string, Route>): Promise<{ url: string; bodies: { path: string; body: unknown }[] }> {
  const bodies: { path: string; body: unknown }[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const key = `${req.method} ${req.url}`;
      if (req.method === 'POST') bodies.push({ path: req.url ?? '', body: JSON.parse(raw || 'null') });
      const r = routes[key];
      if (r) r(req, res, raw);
      else res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies };
}

const json = (body: string, status = 200): Route => (_q, res) => res.writeHead(status, { 'content-type': 'application/json' }).end(body);

/** Ollama: recorded /api/ps and a /api/generate NDJSON stream made of the recorded chunk and final objects. */
function ollamaRoutes(generate?: Route): Record<string, Route> {
  const chunk = JSON.stringify(JSON.parse(fixture('ollama/api_generate_stream_chunk.json')));
  const final = JSON.stringify(JSON.parse(fixture('ollama/api_generate_final.json')));
  return {
    'GET /api/version': json(fixture('ollama/api_version.json')),
    'GET /api/ps': json(fixture('ollama/api_ps.json')),
    'POST /api/generate':
      generate ??
      ((_q, res) => {
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        res.write(chunk + '\n');
        res.write(chunk + '\n');
        res.end(final + '\n');
      }),
  };
}

test('plannedDepths caps to the context, drops depths that collapse, and says so', () => {
  const small = plannedDepths([0, 8192, 32768], 2048, 64);
  assert.deepEqual(small.runs, [{ target: 0, tokens: 16 }, { target: 8192, tokens: 2048 - 64 - 8 }]);
  assert.equal(small.notes.length, 2);
  assert.match(small.notes.join('\n'), /8192 capped to 1976/);
  assert.match(small.notes.join('\n'), /32768 skipped/);
  const big = plannedDepths([32768, 0, 8192], 131072, 64);
  assert.deepEqual(big.runs.map((r) => r.tokens), [16, 8192, 32768]);
  assert.deepEqual(big.notes, []);
  const unknown = plannedDepths([0, 8192], undefined, 64);
  assert.deepEqual(unknown.runs.map((r) => r.tokens), [16, 4096]);
  assert.match(unknown.notes[0]!, /did not report its context/);
  assert.throws(() => plannedDepths([0], 40, 64), BenchError);
});

test('Ollama: model, quant and context from /api/ps; rates from eval_count/eval_duration (ns)', async (t) => {
  const s = await serve(t, ollamaRoutes());
  const m = await runBench({ endpoint: s.url, depths: [0, 2048], outputTokens: 32 });
  assert.equal(m.engine, 'ollama');
  assert.equal(m.model, 'gemma4');
  assert.equal(m.quant, 'Q4_K_M');
  assert.equal(m.nCtx, 4096);
  assert.equal(m.runs.length, 2);
  const final = JSON.parse(fixture('ollama/api_generate_final.json')) as Record<string, number>;
  for (const r of m.runs) {
    assert.equal(r.timing, 'engine');
    assert.equal(r.outputTokens, final.eval_count);
    assert.equal(r.promptTokens, final.prompt_eval_count);
    assert.ok(Math.abs(r.decodeTokPerSec! - (final.eval_count! / final.eval_duration!) * 1e9) < 1e-6);
    assert.ok(Math.abs(r.prefillTokPerSec! - (final.prompt_eval_count! / final.prompt_eval_duration!) * 1e9) < 1e-6);
  }
  // Warm-up + two measured runs; each asks for a fixed output, deterministic sampling, the loaded model.
  const gens = s.bodies.filter((b) => b.path === '/api/generate').map((b) => b.body as { model: string; prompt: string; options: { num_predict: number } });
  assert.equal(gens.length, 3);
  assert.deepEqual(gens.map((g) => g.options.num_predict), [4, 32, 32]);
  assert.ok(gens.every((g) => g.model === 'gemma4'));
  // Prompts differ from run to run (no prefix-cache reuse) and grow with depth (~1 token per word).
  assert.equal(new Set(gens.map((g) => g.prompt.split(' ')[0])).size, 3);
  assert.equal(gens[2]!.prompt.split(' ').length, 2048);
});

test('an engine that reports no timings is timed client-side from the stream', async (t) => {
  // OpenAI-compatible SSE with usage but no timings: rates come from our clock.
  const sent: number[] = [];
  const s = await serve(t, {
    'GET /v1/models': json('{"object":"list","data":[{"id":"m1","object":"model"}]}'),
    'POST /v1/completions': (_q, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let i = 0;
      const tick = setInterval(() => {
        if (i < 5) {
          res.write(`data: {"choices":[{"index":0,"text":"t${i}","finish_reason":null}]}\n\n`);
          sent.push(performance.now());
        }
        else {
          clearInterval(tick);
          res.write('data: {"choices":[{"index":0,"text":"","finish_reason":"length"}]}\n\n');
          res.end('data: {"choices":[],"usage":{"prompt_tokens":20,"completion_tokens":5}}\n\ndata: [DONE]\n\n');
        }
        i++;
      }, 40);
    },
  });
  const m = await runBench({ endpoint: s.url, engine: 'openai-compatible', depths: [0], outputTokens: 5 });
  assert.equal(m.model, 'm1');
  const r = m.runs[0]!;
  assert.equal(r.timing, 'client');
  assert.equal(r.outputTokens, 5);
  assert.equal(r.promptTokens, 20);
  // The server's own send times (same clock, same process) give the true rate of the last run; receipt jitter aside, we match it.
  const lastRun = sent.slice(-5);
  const truth = (4 / (lastRun[4]! - lastRun[0]!)) * 1000;
  assert.ok(Math.abs(r.decodeTokPerSec! / truth - 1) < 0.35, `decode ${r.decodeTokPerSec} vs sent at ${truth}`);
  assert.ok(r.ttftMs! >= 0 && r.ttftMs! < r.wallMs);
  assert.match(m.notes.join('\n'), /did not report its context/);
});

test('cancel aborts the in-flight request promptly and yields no result', async (t) => {
  let closed = false;
  const s = await serve(t, ollamaRoutes((req, res) => {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.write(fixture('ollama/api_generate_stream_chunk.json').replace(/\s+/g, ' ') + '\n');
    req.socket.on('close', () => (closed = true)); // never finishes on its own
  }));
  const ctl = new AbortController();
  const started = performance.now();
  setTimeout(() => ctl.abort(), 150);
  await assert.rejects(runBench({ endpoint: s.url, signal: ctl.signal }), (e: unknown) => e instanceof BenchError && e.kind === 'aborted');
  assert.ok(performance.now() - started < 1500, 'rejected promptly');
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(closed, 'the HTTP request was actually aborted (server saw the socket close)');
});

test('a hanging engine hits the time budget', async (t) => {
  const s = await serve(t, ollamaRoutes(() => undefined));
  const started = performance.now();
  await assert.rejects(runBench({ endpoint: s.url, timeoutMs: 400 }), (e: unknown) => e instanceof BenchError && e.kind === 'timeout');
  assert.ok(performance.now() - started < 2000);
});

test('nothing listening → unreachable, with the endpoint in the message', async () => {
  // Bind a port, release it: nothing listens there any more.
  const srv = createServer();
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const port = (srv.address() as AddressInfo).port;
  await new Promise((ok) => srv.close(ok));
  await assert.rejects(
    runBench({ endpoint: `http://127.0.0.1:${port}`, engine: 'ollama', timeoutMs: 3000 }),
    (e: unknown) => e instanceof BenchError && e.kind === 'unreachable' && e.message.includes(`127.0.0.1:${port}`),
  );
});

test('the engine dropping the connection mid-stream is an engine error, not a result', async (t) => {
  let calls = 0;
  const s = await serve(t, ollamaRoutes((req, res) => {
    calls++;
    if (calls === 1) return ollamaRoutes()['POST /api/generate']!(req, res, ''); // warm-up succeeds
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.write(fixture('ollama/api_generate_stream_chunk.json').replace(/\s+/g, ' ') + '\n');
    setTimeout(() => req.socket.destroy(), 50);
  }));
  await assert.rejects(runBench({ endpoint: s.url, timeoutMs: 5000 }), (e: unknown) => e instanceof BenchError && e.kind === 'engine' && /closed the connection|ended before/.test(e.message));
});

test('a stream that ends without the final object is rejected (no half-measured run)', async (t) => {
  const s = await serve(t, ollamaRoutes((_q, res) => {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.end(fixture('ollama/api_generate_stream_chunk.json').replace(/\s+/g, ' ') + '\n');
  }));
  await assert.rejects(runBench({ endpoint: s.url }), (e: unknown) => e instanceof BenchError && e.kind === 'engine' && /ended before the engine finished/.test(e.message));
});

test('a context-exceeded error body is reported in numbers, without echoing the engine text', async (t) => {
  const body = '{"error":{"code":400,"message":"request (40000 tokens) exceeds the available context size (4096 tokens), try increasing it","type":"exceed_context_size_error","n_prompt_tokens":40000,"n_ctx":4096}}';
  const s = await serve(t, { 'GET /v1/models': json('{"data":[{"id":"x"}]}'), 'POST /v1/completions': json(body, 400) });
  await assert.rejects(runBench({ endpoint: s.url, engine: 'openai-compatible' }), (e: unknown) => e instanceof BenchError && e.kind === 'engine' && /40000 tokens exceeds the 4096-token context/.test(e.message));
});

test('no model loaded and none named → a clear no-model error', async (t) => {
  const s = await serve(t, { 'GET /api/ps': json('{"models":[]}') });
  await assert.rejects(runBench({ endpoint: s.url }), (e: unknown) => e instanceof BenchError && e.kind === 'no-model' && /--model/.test(e.message));
});

/** llama.cpp as recorded (/props, /v1/models and a /completion SSE stream from the real server). */
function llamaRoutes(tokenize: Route = json('{"tokens":[791,1887,16181,1855,1052]}')): Record<string, Route> {
  const llama = (status: number, ct: string, body: string): Route => (_q, res) => res.writeHead(status, { server: 'llama.cpp', 'content-type': ct }).end(body);
  return {
    'GET /props': llama(200, 'application/json; charset=utf-8', fixture('llama.cpp/props.json')),
    'GET /v1/models': llama(200, 'application/json; charset=utf-8', fixture('llama.cpp/v1_models.json')),
    'POST /tokenize': tokenize,
    'POST /completion': llama(200, 'text/event-stream', fixture('llama.cpp/completion_stream.sse')),
  };
}

test('llama.cpp (recorded): context from /props, quant from meta.ftype, rates = the stream’s own timings', async (t) => {
  const s = await serve(t, llamaRoutes());
  const m = await runBench({ endpoint: s.url, depths: [0, 8192], outputTokens: 8 });
  assert.equal(m.engine, 'llama.cpp');
  assert.equal(m.model, 'llama31-8b-shape-4L-Q4_K_M.gguf');
  assert.equal(m.quant, 'Q4_K_M');
  assert.equal(m.nCtx, 4096, 'per-slot n_ctx from default_generation_settings');
  assert.equal(m.weightsBytes, 1249763584);
  assert.equal(m.modelPath, 'llama31-8b-shape-4L-Q4_K_M.gguf');
  const last = fixture('llama.cpp/completion_stream.sse').trim().split('\n').filter((l) => l.startsWith('data: ')).at(-1)!;
  const tm = (JSON.parse(last.slice(6)) as { timings: Record<string, number> }).timings;
  for (const r of m.runs) {
    assert.equal(r.decodeTokPerSec, tm.predicted_per_second);
    assert.equal(r.prefillTokPerSec, tm.prompt_per_second);
    assert.equal(r.ttftMs, tm.prompt_ms);
    assert.equal(r.outputTokens, tm.predicted_n);
    assert.equal(r.promptTokens, tm.prompt_n! + tm.cache_n!);
    assert.equal(r.cachedTokens, tm.cache_n);
  }
  // Prompts are token arrays tiled from /tokenize, exactly as long as the (capped) depth; caching off, EOS ignored.
  const comps = s.bodies.filter((b) => b.path === '/completion').map((b) => b.body as { prompt: number[]; n_predict: number; cache_prompt: boolean; ignore_eos: boolean });
  assert.deepEqual(comps.map((c) => c.prompt.length), [16, 16, 4096 - 8 - 8]);
  assert.deepEqual(comps[1]!.prompt.slice(0, 6), [791, 1887, 16181, 1855, 1052, 791]);
  assert.ok(comps.every((c) => c.cache_prompt === false && c.ignore_eos === true));
});

test('llama.cpp: a garbled /tokenize answer is a protocol error, not a crash', async (t) => {
  for (const body of ['{"tokens":"abc"}', 'not json', '{"tokens":[]}']) {
    const s = await serve(t, llamaRoutes(json(body)));
    await assert.rejects(runBench({ endpoint: s.url }), (e: unknown) => e instanceof BenchError && e.kind === 'protocol' && /tokenize gave no tokens/.test(e.message));
  }
});

test('LM Studio (recorded REST v0): loaded model, quant and context from /api/v0/models; rates from `stats`', async (t) => {
  const s = await serve(t, {
    'GET /api/v0/models': json(fixture('lmstudio/api_v0_models_loaded.json')),
    'POST /api/v0/completions': json(fixture('lmstudio/api_v0_completions.json')),
  });
  const m = await runBench({ endpoint: s.url, depths: [0, 8192], outputTokens: 9 });
  assert.equal(m.engine, 'lmstudio');
  assert.equal(m.model, 'gemma-3-4b-it');
  assert.equal(m.quant, 'Q4_K_M');
  assert.equal(m.nCtx, 4096, 'loaded_context_length, not max_context_length');
  const rec = JSON.parse(fixture('lmstudio/api_v0_completions.json')) as { usage: { prompt_tokens: number; completion_tokens: number }; stats: { tokens_per_second: number; time_to_first_token: number } };
  for (const r of m.runs) {
    assert.equal(r.timing, 'engine');
    assert.equal(r.decodeTokPerSec, rec.stats.tokens_per_second);
    assert.equal(r.ttftMs, rec.stats.time_to_first_token * 1000);
    assert.equal(r.outputTokens, rec.usage.completion_tokens);
    assert.ok(Math.abs(r.prefillTokPerSec! - rec.usage.prompt_tokens / rec.stats.time_to_first_token) < 1e-9);
  }
  assert.deepEqual(m.runs.map((r) => r.targetDepth), [0, 8192]);
  assert.match(m.notes.join('\n'), /8192 capped to 4079/);
  const bodies = s.bodies.filter((b) => b.path === '/api/v0/completions').map((b) => b.body as { model: string; max_tokens: number });
  assert.deepEqual(bodies.map((b) => b.max_tokens), [4, 9, 9]);
});
