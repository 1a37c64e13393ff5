// Truncation guard: time it adds before a ~100k-token prompt reaches the engine.
//   learned: the built `headroom proxy` (dist/cli.js) with --guard warn vs --guard off in front of an Ollama-shaped
//            stand-in that answers its first NDJSON line at once: time to first byte through each, interleaved;
//            the difference is what the guard adds (buffering, one JSON parse, the /api/ps window, the estimate).
//   exact:   against a real llama-server (when built): the guard's check (its /apply-template + /tokenize round
//            trips included) vs the same two round trips made directly — the goal is < round trip + 2 ms.
// Goals: learned < 5 ms added; exact < tokenizer round trip + 2 ms.
import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './child-output';
import { request } from 'node:http';
import { resolve } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { TruncationGuard } from '../src/providers/proxy/guard';
import { llamaServerAvailable, startLlamaServer } from '../test/support/llama-server';
import { tinyModelPath } from '../test/support/tiny-model';

const ROOT = resolve(__dirname, '..');

// Ollama-shaped stand-in: /api/ps with a 256k window; /api/chat answers a first line at once, then the final
// line counting the prompt at 3.6 chars/token (so the proxy learns a ratio).
const ENGINE = `
const http = require('node:http');
const srv = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.url === '/api/ps') { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ models: [{ name: 'bench', model: 'bench', context_length: 262144 }] })); return; }
    if (req.url === '/api/chat') {
      const n = Math.round(Buffer.concat(chunks).length / 3.6);
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write(JSON.stringify({ model: 'bench', message: { role: 'assistant', content: 'ok' }, done: false }) + '\\n');
      res.end(JSON.stringify({ model: 'bench', done: true, prompt_eval_count: n, eval_count: 1, eval_duration: 1000000 }) + '\\n');
      return;
    }
    res.writeHead(404); res.end();
  });
});
srv.listen(0, '127.0.0.1', () => process.stdout.write('port ' + srv.address().port + '\\n'));
`;

/** A prompt of agent-like text: code, prose, tool output (~4 chars/token on real tokenizers). */
function prompt(chars: number): string {
  const parts = ['function total(items) { return items.reduce((s, i) => s + i.price * i.qty, 0); }\n', 'The build failed because the config file was missing; add it and run again. ', 'src/index.ts:42:7 - error TS2345: Argument of type string is not assignable.\n'];
  let s = '';
  for (let i = 0; s.length < chars; i++) s += parts[i % parts.length];
  return s.slice(0, chars);
}

/** Time to the first response byte, ms. */
function ttfb(url: string, body: string): Promise<number> {
  return new Promise((ok, fail) => {
    const t0 = performance.now();
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' } }, (res) => {
      res.once('data', () => ok(performance.now() - t0));
      res.resume();
    });
    req.on('error', fail);
    req.end(body);
  });
}

const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)]!;

export async function run(): Promise<void> {
  const rows: string[] = [];
  const engine = spawn(process.execPath, ['-e', ENGINE], { stdio: ['ignore', 'pipe', 'inherit'] });
  const proxies: ChildProcess[] = [];
  try {
    const target = `http://127.0.0.1:${(await waitFor(engine, 'stdout', /port (\d+)/))[1]}`;
    const start = async (mode: string) => {
      const p = spawn(process.execPath, ['dist/cli.js', 'proxy', '--listen', '127.0.0.1:0', '--target', target, '--guard', mode, '--json-log'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
      proxies.push(p);
      return (await waitFor(p, 'stderr', /listening on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    };
    const off = await start('off');
    const warn = await start('warn');
    // 100k tokens at ~4 chars/token.
    const body = JSON.stringify({ model: 'bench', stream: true, messages: [{ role: 'system', content: prompt(400_000) }, { role: 'user', content: 'go' }] });
    // Warm-up: JIT, and five requests so the guard has a learned ratio for `bench`.
    for (let i = 0; i < 6; i++) {
      await ttfb(`${off}/api/chat`, body);
      await ttfb(`${warn}/api/chat`, body);
    }
    const d: number[] = [];
    const o: number[] = [];
    const w: number[] = [];
    for (let i = 0; i < 25; i++) {
      d.push(await ttfb(`${target}/api/chat`, body));
      o.push(await ttfb(`${off}/api/chat`, body));
      w.push(await ttfb(`${warn}/api/chat`, body));
    }
    rows.push(`learned path, ${(Buffer.byteLength(body) / 1024).toFixed(0)} KB body (~100k tokens), 25 interleaved rounds, time to first byte (median / p90):`);
    rows.push(`  direct ${med(d).toFixed(2)} / ${p90(d).toFixed(2)} ms · proxy --guard off ${med(o).toFixed(2)} / ${p90(o).toFixed(2)} ms · --guard warn ${med(w).toFixed(2)} / ${p90(w).toFixed(2)} ms`);
    rows.push(`  added by the guard (warn − off): median ${(med(w) - med(o)).toFixed(2)} ms, p90 ${(p90(w) - p90(o)).toFixed(2)} ms — goal < 5 ms`);
    // Wall time swings with other load on a shared machine; the guard's own CPU time per check does not.
    const guard = new TruncationGuard({ mode: 'warn', target });
    for (let i = 0; i < 5; i++) guard.ratio('bench').add({ chars: 400_000, tokens: 100_000 + i * 1000 });
    const raw = Buffer.from(body);
    const wall: number[] = [];
    const cpu: number[] = [];
    let method: string | undefined;
    for (let i = 0; i < 30; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const d = await guard.check('/api/chat', raw);
      wall.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
      method = d?.info.method;
    }
    rows.push(`  the check alone, in process (${method}, 30 runs): wall median ${med(wall.slice(5)).toFixed(2)} ms, CPU median ${med(cpu.slice(5)).toFixed(2)} ms`);
  } finally {
    for (const p of proxies) p.kill('SIGTERM');
    engine.kill('SIGTERM');
  }

  const avail = llamaServerAvailable();
  if (!avail.ok) {
    rows.push(`exact path: skipped (${avail.reason})`);
  } else {
    const srv = await startLlamaServer({ model: tinyModelPath(), ctx: 131072, parallel: 1 });
    try {
      const guard = new TruncationGuard({ mode: 'warn', target: srv.url, tokenizeTimeoutMs: 10_000 });
      // The tiny test model's 512-piece vocabulary tokenizes ~1.3 chars/token: 130k chars ≈ 100k tokens.
      const chat = { model: 'tiny', messages: [{ role: 'system', content: prompt(130_000) }, { role: 'user', content: 'go' }] };
      const raw = Buffer.from(JSON.stringify(chat));
      const direct = async () => {
        const t0 = performance.now();
        const tpl = (await (await fetch(`${srv.url}/apply-template`, { method: 'POST', body: JSON.stringify(chat) })).json()) as { prompt: string };
        const tok = (await (await fetch(`${srv.url}/tokenize`, { method: 'POST', body: JSON.stringify({ content: tpl.prompt, add_special: true, parse_special: true }) })).json()) as { tokens: unknown[] };
        return { ms: performance.now() - t0, tokens: tok.tokens.length };
      };
      const viaGuard = async () => {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const d = await guard.check('/v1/chat/completions', raw);
        const c = process.cpuUsage(c0);
        return { ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000, tokens: d?.info.promptTokens ?? 0, method: d?.info.method };
      };
      for (let i = 0; i < 3; i++) await direct(), await viaGuard();
      const rt: number[] = [];
      const gc: number[] = [];
      const gcpu: number[] = [];
      let tokens = 0;
      let method: string | undefined;
      for (let i = 0; i < 15; i++) {
        rt.push((await direct()).ms);
        const g = await viaGuard();
        gc.push(g.ms);
        gcpu.push(g.cpuMs);
        tokens = g.tokens;
        method = g.method;
      }
      rows.push(`exact path (real llama-server, ${tokens.toLocaleString('en-US')} tokens by ${method}), 15 interleaved rounds (median / p90):`);
      rows.push(`  /apply-template + /tokenize directly ${med(rt).toFixed(2)} / ${p90(rt).toFixed(2)} ms · guard check ${med(gc).toFixed(2)} / ${p90(gc).toFixed(2)} ms`);
      rows.push(`  added beyond the tokenizer round trip: median ${(med(gc) - med(rt)).toFixed(2)} ms — goal < 2 ms (the guard's own CPU per check, parsing and counting included: median ${med(gcpu).toFixed(2)} ms)`);
    } finally {
      await srv.stop();
    }
  }
  process.stdout.write(rows.join('\n') + '\n');
  process.stdout.write(`load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${cpus().length} cores\n`);
}
