// This machine, for real (Linux): `headroom hardware --json` agrees with /proc/meminfo read at the same moment,
// and a process holding 1 GiB of touched memory shows up as ≈ 1 GiB more "used by others".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLiveMemory } from '../../src/providers/live-memory';
import { cpuBandwidth, machineFingerprint, measureCpuBandwidth } from '../../src/providers/cpu-bandwidth';
import { runCliAsync } from '../support/run-cli';

const linux = process.platform === 'linux';
const GiB = 1024 ** 3;

const memAvailable = () => Number(/^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024;

test('headroom hardware --json: MemAvailable within 2 % of /proc/meminfo read at the same moment', { skip: !linux && 'Linux only' }, async (t) => {
  const store = mkdtempSync(join(tmpdir(), 'headroom-state-'));
  // A cached bandwidth for this machine's fingerprint: the CLI must reuse it, not measure again.
  writeFileSync(join(store, 'cpu-bandwidth.json'), JSON.stringify({ gbps: 12.3, threads: 2, bufferBytes: 1, measuredAt: '2026-01-01T00:00:00.000Z', fingerprint: machineFingerprint() }));
  const before = memAvailable();
  const r = await runCliAsync(['hardware', '--json'], { HEADROOM_BENCH_STORE: join(store, 'bench-results.json') });
  const after = memAvailable();
  assert.equal(r.code, 0, r.stderr);
  const live = JSON.parse(r.stdout).detected.live;
  const truth = (before + after) / 2;
  t.diagnostic(`availableBytes ${live.availableBytes} vs /proc/meminfo ${before}..${after} (${(((live.availableBytes - truth) / truth) * 100).toFixed(2)} %)`);
  assert.ok(Math.abs(live.availableBytes - truth) / truth < 0.02, `${live.availableBytes} vs ${before}..${after}`);
  assert.equal(live.source.split(';')[0], '/proc/meminfo');
  assert.equal(live.usedByOthersBytes, live.totalBytes - live.availableBytes);
  assert.ok(!Number.isNaN(Date.parse(live.at)));
  if (JSON.parse(r.stdout).detected.profile.kind === 'cpu') assert.equal(live.cpuBandwidthGBps, 12.3, 'cached measurement reused');
});

/**
 * A child that starts, says "started", and on a line on stdin allocates and touches `bytes`, says "ready", then
 * waits to be killed. The reading before is taken after its runtime is up, so only the 1 GiB lies between them.
 */
async function memoryHolder(bytes: number): Promise<{ hold(): Promise<void>; stop(): Promise<void> }> {
  const src = `process.stdout.write('started\\n'); process.stdin.once('data', () => { const b = Buffer.alloc(${bytes}); b.fill(1); process.stdout.write('ready\\n'); setInterval(() => b[0]++, 1000); });`;
  const child = spawn(process.execPath, ['-e', src], { stdio: ['pipe', 'pipe', 'inherit'] });
  const said = (word: string) =>
    new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        if (d.toString().includes(word)) {
          child.stdout!.off('data', onData);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.once('exit', (code) => reject(new Error(`memory holder exited (${code})`)));
    });
  await said('started');
  return {
    hold: async () => {
      const ready = said('ready');
      child.stdin!.write('go\n');
      await ready;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        child.removeAllListeners('exit');
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

const othersNow = async () => (await readLiveMemory({ platform: 'linux' })).live!.usedByOthersBytes!;

test('usedByOthersBytes grows by ≈ 1 GiB (± 10 %) while a process holds 1 GiB of touched memory', { skip: !linux && 'Linux only' }, async (t) => {
  // Other work on a shared machine moves memory too. Nine fixed cycles, each read right before the child
  // allocates and right after it holds the memory (well under a second apart); the median of the nine deltas is
  // judged — a fixed procedure, not retries until a pass. A wrong reading (a constant, a stale cache, the wrong
  // field) is off in every cycle. On this CI VM, with nothing else running, /proc/meminfo itself shows 0.70–0.85 GiB
  // instead of 1 in about one cycle in six (MemTotal unchanged: memory freed elsewhere lands in the window), and in
  // three of five while a busy process churns its heap beside it: nine cycles keep the median on the true value.
  //
  // Settle first: memory a killed holder freed is not counted as available at once on every kernel (this CI VM's
  // free-page reporting takes freed blocks off the free lists for a few seconds while it hands them to the host),
  // so each cycle starts 6 s after the last one freed its memory (past the reporting delay, 2 s by default) and once
  // MemAvailable has stopped moving (two readings 250 ms apart within 16 MiB, ≤ 10 s more).
  let freedAt = 0;
  const settle = async () => {
    await new Promise((r) => setTimeout(r, Math.max(0, freedAt + 6000 - Date.now())));
    let prev = await othersNow();
    for (const end = Date.now() + 10_000; Date.now() < end; ) {
      await new Promise((r) => setTimeout(r, 250));
      const now = await othersNow();
      if (Math.abs(now - prev) <= 16 * 1024 * 1024) return;
      prev = now;
    }
  };
  const deltas: number[] = [];
  for (let cycle = 0; cycle < 9; cycle++) {
    const holder = await memoryHolder(GiB);
    await settle();
    const before = await othersNow();
    await holder.hold();
    const during = await othersNow();
    await holder.stop();
    freedAt = Date.now();
    deltas.push(during - before);
  }
  const median = [...deltas].sort((a, b) => a - b)[4]!;
  t.diagnostic(`usedByOthersBytes deltas: ${deltas.map((d) => (d / GiB).toFixed(3)).join(', ')} GiB; median ${(median / GiB).toFixed(3)}`);
  assert.ok(Math.abs(median - GiB) <= 0.1 * GiB, `median ${(median / GiB).toFixed(3)} GiB of ${deltas.map((d) => (d / GiB).toFixed(3)).join(', ')}`);
});

test('CPU bandwidth: measured once (well under a second of scanning), cached by fingerprint, reused', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'headroom-bw-')), 'cpu-bandwidth.json');
  let measured = 0;
  const measure = async () => {
    measured++;
    return measureCpuBandwidth({ windowMs: 100, bufferBytes: 64 << 20 });
  };
  const a = await cpuBandwidth({ path, measure });
  assert.ok(a && a.gbps > 0.5 && a.gbps < 2000, String(a?.gbps));
  const b = await cpuBandwidth({ path, measure });
  assert.equal(measured, 1);
  assert.deepEqual(b, a);
  // Another machine's cache (different fingerprint) is not trusted.
  writeFileSync(path, JSON.stringify({ ...a, fingerprint: 'someone-else', gbps: 999 }));
  const c = await cpuBandwidth({ path, measure: async () => ({ ...a!, gbps: 7 }) });
  assert.equal(c?.gbps, 7);
});
