// Metering proxy overhead: proxied vs direct, measured in one run against a local streaming server.
// Three processes, as in real use: the engine stand-in, the proxy (the built `headroom proxy` CLI, dist/cli.js) and the
// client (this process). Each chunk carries the engine's send time (CLOCK_MONOTONIC, shared by processes),
// so the client sees per-chunk latency; the proxy's added latency is proxied minus direct.
//   paced:    every stream gets a token every 5 ms (200 tok/s, faster than local engines decode) for 2 s —
//             the goal: ≥ 99 % of direct throughput and < 1 ms added p99 latency.
//   flat-out: the engine writes as fast as the socket takes it (a stress figure: CPU-bound on 2 cores).
// Wall-clock figures swing with other load on a shared machine; the CPU time per forwarded chunk of the proxy
// process against a bare TCP relay's, interleaved in the same run, is the steadier comparison.
import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './child-output';
import { Agent, request } from 'node:http';
import { resolve } from 'node:path';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg, setPriority } from 'node:os';

const ROOT = resolve(__dirname, '..');

// The stand-in engine (plain JS in a child process): SSE streams of ~180-byte chunks.
const SERVER = `
const http = require('node:http');
const pad = 'x'.repeat(96);
const chunk = (i) => 'data: {"choices":[{"index":0,"delta":{"content":"tok' + i + '"}}],"pad":"' + pad + '","t":' + process.hrtime.bigint() + '}\\n\\n';
const paced = new Set();
setInterval(() => {
  for (const s of paced) {
    s.res.write(chunk(s.i++));
    if (s.i >= s.n) { paced.delete(s); s.res.end('data: [DONE]\\n\\n'); }
  }
}, 5).unref();
const srv = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  const n = Number(u.searchParams.get('n'));
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    if (u.searchParams.get('mode') === 'paced') { paced.add({ res, i: 0, n }); return; }
    let i = 0;
    const pump = () => { while (i < n) { if (!res.write(chunk(i++))) { res.once('drain', pump); return; } } res.end('data: [DONE]\\n\\n'); };
    pump();
  });
});
srv.listen(0, '127.0.0.1', () => process.stdout.write('port ' + srv.address().port + '\\n'));
`;

// Peer for "what does any extra process hop cost here": a bare TCP relay (no HTTP parsing, no metering).
const RELAY = `
const net = require('node:net');
const [host, port] = process.argv[1].split(':');
const srv = net.createServer((c) => { const u = net.connect(Number(port), host); c.setNoDelay(true); u.setNoDelay(true); c.pipe(u); u.pipe(c); c.on('error', () => u.destroy()); u.on('error', () => c.destroy()); });
srv.listen(0, '127.0.0.1', () => process.stdout.write('port ' + srv.address().port + '\\n'));
`;

interface StreamResult {
  bytes: number;
  chunks: number;
  latenciesMs: number[];
}

function stream(base: string, agent: Agent, mode: string, n: number): Promise<StreamResult> {
  return new Promise((ok, fail) => {
    const body = JSON.stringify({ model: 'bench', stream: true, messages: [{ role: 'user', content: 'go' }] });
    const req = request(`${base}/v1/chat/completions?mode=${mode}&n=${n}`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const r: StreamResult = { bytes: 0, chunks: 0, latenciesMs: [] };
      let tail = '';
      res.on('data', (b: Buffer) => {
        const now = process.hrtime.bigint();
        r.bytes += b.length;
        const text = tail + b.toString('latin1');
        const events = text.split('\n\n');
        tail = events.pop()!;
        for (const e of events) {
          const m = /"t":(\d+)/.exec(e);
          if (!m) continue;
          r.chunks++;
          r.latenciesMs.push(Number(now - BigInt(m[1]!)) / 1e6);
        }
      });
      res.on('end', () => ok(r));
      res.on('error', fail);
    });
    req.on('error', fail);
    req.end(body);
  });
}

/**
 * CPU seconds a process has used, all threads (Linux /proc; undefined elsewhere). Unlike wall time, other load
 * doesn't inflate it. schedstat counts nanoseconds; stat's utime + stime only 10 ms ticks (the fallback).
 */
function cpuSeconds(pid: number): number | undefined {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    if (Number.isFinite(ns)) return ns / 1e9;
  } catch {
    // Kernels without schedstat, or a thread that ended while being read: fall back to the tick count.
  }
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks (USER_HZ = 100)
  } catch {
    return undefined;
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

async function measure(base: string, mode: string, streams: number, n: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const t0 = process.hrtime.bigint();
  const rs = await Promise.all(Array.from({ length: streams }, () => stream(base, agent, mode, n)));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  agent.destroy();
  const lat = rs.flatMap((r) => r.latenciesMs);
  const bytes = rs.reduce((s, r) => s + r.bytes, 0);
  const chunks = rs.reduce((s, r) => s + r.chunks, 0);
  if (chunks !== streams * n) throw new Error(`lost chunks: ${chunks} of ${streams * n}`);
  return { chunksPerSec: chunks / secs, mbPerSec: bytes / secs / 1e6, p50: pct(lat, 50), p99: pct(lat, 99) };
}

export async function run(): Promise<void> {
  const server = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  let proxy: ChildProcess | undefined;
  let proxyOff: ChildProcess | undefined;
  let relay: ChildProcess | undefined;
  try {
    const port = Number((await waitFor(server, 'stdout', /port (\d+)/))[1]);
    const direct = `http://127.0.0.1:${port}`;
    relay = spawn(process.execPath, ['-e', RELAY, `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const relayed = `http://127.0.0.1:${(await waitFor(relay, 'stdout', /port (\d+)/))[1]}`;
    proxy = spawn(process.execPath, ['dist/cli.js', 'proxy', '--listen', '127.0.0.1:0', '--target', direct, '--json-log'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    const proxied = (await waitFor(proxy, 'stderr', /listening on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    // The same proxy with the truncation guard off: the guard works per request, never per chunk — this shows it.
    proxyOff = spawn(process.execPath, ['dist/cli.js', 'proxy', '--listen', '127.0.0.1:0', '--target', direct, '--guard', 'off', '--json-log'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    const proxiedOff = (await waitFor(proxyOff, 'stderr', /listening on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    // Optional: on a shared, busy machine, raise all three processes' priority equally (root only) so other
    // load disturbs the comparison less. BENCH_PRIORITY=-10 npm run bench proxy
    const prio = Number(process.env.BENCH_PRIORITY ?? 0);
    if (prio !== 0) for (const pid of [process.pid, server.pid!, proxy.pid!, relay.pid!]) setPriority(pid, prio);
    // Warm up both paths (JIT, keep-alive sockets).
    await measure(direct, 'flat', 4, 200);
    await measure(proxied, 'flat', 4, 200);

    const rows: string[] = [];
    const fmt = (x: number, d = 2) => x.toFixed(d);
    rows.push('(medians of 5 (paced) or 3 (flat) interleaved rounds; "relay" = bare TCP pipe in its own process, the floor for any extra hop)');
    rows.push('mode      streams  direct chunks/s  proxied/direct  relay/direct  p50 ms direct/relay/proxied  p99 ms direct/relay/proxied  added p99 vs direct / vs relay');
    for (const [mode, n] of [['paced', 400], ['flat', 3000]] as const) {
      for (const streams of [1, 8, 32]) {
        const count = mode === 'flat' ? Math.max(200, Math.floor(n / Math.sqrt(streams))) : n;
        // Interleaved rounds (direct, relay, proxied, ...); medians damp scheduler noise from other load. Five for
        // the paced rows, whose p99 is the goal; three for the flat-out stress rows.
        const runs: Record<'d' | 'r' | 'p', Awaited<ReturnType<typeof measure>>[]> = { d: [], r: [], p: [] };
        for (let round = 0; round < (mode === 'paced' ? 5 : 3); round++) {
          runs.d.push(await measure(direct, mode, streams, count));
          runs.r.push(await measure(relayed, mode, streams, count));
          runs.p.push(await measure(proxied, mode, streams, count));
        }
        const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
        const m = (k: 'd' | 'r' | 'p', f: 'chunksPerSec' | 'p50' | 'p99') => med(runs[k].map((x) => x[f]));
        const pct = (a: number, b: number) => `${fmt((100 * a) / b, 1)} %`;
        rows.push(
          `${mode.padEnd(8)}  ${String(streams).padStart(7)}  ${fmt(m('d', 'chunksPerSec'), 0).padStart(15)}  ${pct(m('p', 'chunksPerSec'), m('d', 'chunksPerSec')).padStart(14)}  ${pct(m('r', 'chunksPerSec'), m('d', 'chunksPerSec')).padStart(12)}  ${`${fmt(m('d', 'p50'))} / ${fmt(m('r', 'p50'))} / ${fmt(m('p', 'p50'))}`.padStart(27)}  ${`${fmt(m('d', 'p99'))} / ${fmt(m('r', 'p99'))} / ${fmt(m('p', 'p99'))}`.padStart(27)}  ${`${fmt(m('p', 'p99') - m('d', 'p99'))} / ${fmt(m('p', 'p99') - m('r', 'p99'))}`.padStart(30)}`,
        );
      }
    }
    // CPU cost per forwarded chunk, measured as process CPU time (robust to other load on the machine): five
    // interleaved rounds of proxy and bare relay, medians. The relay is the floor for one extra process hop
    // (a read and a write per chunk), so "proxy − relay" is what HTTP framing and metering cost.
    const cpuPer = async (base: string, pid: number, mode: 'flat' | 'paced', streams: number, n: number) => {
      const c0 = cpuSeconds(pid);
      await measure(base, mode, streams, n);
      const c1 = cpuSeconds(pid);
      return c0 === undefined || c1 === undefined ? undefined : ((c1 - c0) / (streams * n)) * 1e6;
    };
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    for (const [mode, streams, n, what] of [['paced', 32, 400, 'one write per chunk'], ['paced', 1, 400, 'each chunk wakes an idle process'], ['flat', 8, 4000, 'chunks coalesced by TCP']] as const) {
      const cp: number[] = [];
      const co: number[] = [];
      const cr: number[] = [];
      for (let round = 0; round < 5; round++) {
        const p = await cpuPer(proxied, proxy.pid!, mode, streams, n);
        const o = await cpuPer(proxiedOff, proxyOff.pid!, mode, streams, n);
        const r = await cpuPer(relayed, relay.pid!, mode, streams, n);
        if (p !== undefined && o !== undefined && r !== undefined) cp.push(p), co.push(o), cr.push(r);
      }
      if (cp.length === 0) continue;
      const [p, o, r] = [med(cp), med(co), med(cr)];
      rows.push(`CPU per chunk, ${mode} ${streams} streams (${what}), median of 5: proxy ${fmt(p, 1)} µs (guard off ${fmt(o, 1)} µs), bare relay ${fmt(r, 1)} µs → proxy/relay ${fmt(p / r)}×, +${fmt(p - r, 1)} µs`);
    }
    process.stdout.write(rows.join('\n') + '\n');
    process.stdout.write(`load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${cpus().length} cores${prio ? `, priority ${prio}` : ''}\n`);
    process.stdout.write('goal (paced rows): throughput ratio ≥ 99 %, added p99 < 1 ms. flat-out rows are a CPU stress figure (client, proxy and engine share 2 cores).\n');
  } finally {
    proxy?.kill('SIGTERM');
    proxyOff?.kill('SIGTERM');
    relay?.kill('SIGTERM');
    server.kill('SIGTERM');
  }
}
