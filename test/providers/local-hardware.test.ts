import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectLocalHardware, execRunner, parseNvidiaSmi, type Runner } from '../../src/providers/local-hardware';

const GiB = 1024 ** 3;

/** A directory with fake `nvidia-smi` / `sysctl` executables, so the real exec path is exercised. */
function fakeTools(scripts: Record<string, string>): Runner {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-hw-'));
  for (const [name, body] of Object.entries(scripts)) {
    const p = join(dir, name);
    writeFileSync(p, `#!/bin/sh\n${body}\n`);
    chmodSync(p, 0o755);
  }
  return (file, args, timeoutMs) => execRunner(join(dir, file), args, timeoutMs);
}

test('nvidia-smi output maps a 24 GB RTX 4090 onto its profile', async () => {
  const run = fakeTools({ 'nvidia-smi': 'echo "NVIDIA GeForce RTX 4090, 24564"' });
  const d = await detectLocalHardware({ run, platform: 'linux', totalMemBytes: 64 * GiB, cpuModel: 'AMD Ryzen 9 7950X' });
  assert.equal(d.profile.id, 'rtx-4090');
  assert.ok(d.exact);
});

test('DGX Spark: GB10 reports no VRAM; capacity comes from system memory', async () => {
  const run = fakeTools({ 'nvidia-smi': 'echo "NVIDIA GB10, [N/A]"' });
  const d = await detectLocalHardware({ run, platform: 'linux', totalMemBytes: 128 * GiB });
  assert.equal(d.profile.id, 'dgx-spark-128');
});

test('Apple chip via sysctl: known size → profile, other size → custom profile with that chip\'s bandwidth', async () => {
  const run = fakeTools({ sysctl: 'echo "Apple M4 Max"' });
  const exact = await detectLocalHardware({ run, platform: 'darwin', totalMemBytes: 128 * GiB });
  assert.equal(exact.profile.id, 'm4-max-128');
  const other = await detectLocalHardware({ run, platform: 'darwin', totalMemBytes: 36 * GiB });
  assert.equal(other.profile.bandwidthGBps, 546);
  assert.equal(other.profile.capacityBytes, 36 * GiB);
  assert.ok(Math.abs(other.profile.usableFraction - 2 / 3) < 1e-9);
});

test('a hanging nvidia-smi is cut off by the timeout and we fall back to a CPU profile', async () => {
  const run = fakeTools({ 'nvidia-smi': 'sleep 30' });
  const t0 = performance.now();
  const d = await detectLocalHardware({ run, platform: 'linux', totalMemBytes: 24 * GiB, cpuModel: 'AMD EPYC', timeoutMs: 300 });
  assert.ok(performance.now() - t0 < 5000);
  assert.equal(d.profile.kind, 'cpu');
  assert.equal(d.profile.capacityBytes, 24 * GiB);
  assert.match(d.detail, /no GPU/);
});

test('missing tools and garbage output do not crash', async () => {
  const missing: Runner = (file, args, t) => execRunner('/nonexistent/' + file, args, t);
  const d = await detectLocalHardware({ run: missing, platform: 'linux', totalMemBytes: 16 * GiB });
  assert.equal(d.profile.kind, 'cpu');
  assert.deepEqual(parseNvidiaSmi('\n\n'), []);
  assert.deepEqual(parseNvidiaSmi('Some GPU, -5'), [{ name: 'Some GPU' }]);
  const run = fakeTools({ 'nvidia-smi': 'head -c 200000 /dev/zero | tr "\\0" x' });
  const big = await detectLocalHardware({ run, platform: 'linux', totalMemBytes: 16 * GiB, timeoutMs: 2000 });
  assert.equal(big.profile.kind, 'cpu'); // output over the cap is refused
});

test('this machine is detected without throwing', async () => {
  const d = await detectLocalHardware();
  assert.ok(d.profile.capacityBytes > 0 && d.profile.bandwidthGBps > 0, d.detail);
});
