// Detection of every engine's default loopback port on this machine (median of N runs), next to peers
// measured in the same run: plain undici GETs to the same ports in parallel (the floor: what the
// refused connections alone cost), one plain GET to a closed port, and the same detection done one
// endpoint after another (what parallel probing saves).
import { request } from 'undici';
import { detect, detectEndpoint } from '../src/providers/detect';
import { defaultEndpoints } from '../src/providers/endpoints';
import { createServer } from 'node:net';

const N = 25;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** A port nothing listens on: bind, note it, close. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export async function run(): Promise<void> {
  const endpoints = defaultEndpoints();
  const port = await closedPort();
  const single = async (): Promise<void> => {
    try {
      const res = await request(`http://127.0.0.1:${port}/v1/models`, { headersTimeout: 1000, bodyTimeout: 1000 });
      await res.body.dump();
    } catch {
      /* refused, as intended */
    }
  };
  const parallel = () => detect(endpoints);
  const plainAll = () =>
    Promise.all(
      endpoints.map(async (e) => {
        try {
          const res = await request(`${e.url}/v1/models`, { headersTimeout: 1200, bodyTimeout: 1200 });
          await res.body.dump();
        } catch {
          /* refused on an idle machine */
        }
      }),
    );
  const sequential = async (): Promise<void> => {
    for (const e of endpoints) await detectEndpoint(e);
  };
  // Warm-up (module init, first sockets), then interleave so drift hits all three alike.
  await parallel();
  await sequential();
  await single();
  await plainAll();
  const t = { parallel: [] as number[], sequential: [] as number[], single: [] as number[], plain: [] as number[] };
  for (let i = 0; i < N; i++) {
    t.parallel.push(await time(parallel));
    t.plain.push(await time(plainAll));
    t.sequential.push(await time(sequential));
    t.single.push(await time(single));
  }
  const found = (await detect(endpoints)).filter((d) => d.engine).map((d) => `${d.endpoint} ${d.engine}`);
  const p = median(t.parallel);
  const s = median(t.sequential);
  const g = median(t.single);
  const f = median(t.plain);
  const say = (l: string): boolean => process.stdout.write(`${l}\n`);
  say(`default endpoints probed: ${endpoints.length}; engines found: ${found.length ? found.join(', ') : 'none (idle machine)'}`);
  say(`full default-port detection (parallel), median of ${N}: ${p.toFixed(2)} ms`);
  say(`peer: ${endpoints.length} plain undici GETs to the same ports, parallel: ${f.toFixed(2)} ms  → detection = ${(p / f).toFixed(2)}× the bare connections`);
  say(`peer: one undici GET to a closed port:             ${g.toFixed(2)} ms`);
  say(`peer: same probes, one endpoint after another:     ${s.toFixed(2)} ms  → parallel is ${(s / p).toFixed(1)}× faster`);
  say(`goal "well under a second" on an idle machine: ${p < 1000 ? 'met' : 'NOT met'} (${p.toFixed(1)} ms)`);
}
