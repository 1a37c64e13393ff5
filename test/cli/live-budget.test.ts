// The CLI contract for live memory (issue 12): `headroom fit --json` adds fitsNow next to fits, and the Apple
// wired-limit advice; `headroom status --json` has a per-endpoint budget (this machine: with other processes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machineFingerprint } from '../../src/providers/cpu-bandwidth';
import { startFixtureServer } from '../support/fixture-server';
import { runCliAsync } from '../support/run-cli';
import type { StatusJson } from '../../src/cli/status';

/** A state dir with this machine's CPU bandwidth cached, so the CLI does not measure in tests. */
function stateEnv(): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-state-'));
  writeFileSync(join(dir, 'cpu-bandwidth.json'), JSON.stringify({ gbps: 40, threads: 2, bufferBytes: 1, measuredAt: '2026-01-01T00:00:00.000Z', fingerprint: machineFingerprint() }));
  return { HEADROOM_BENCH_STORE: join(dir, 'bench-results.json') };
}

test('fit --hardware local: fitsNow with today\'s free memory; a profile elsewhere: fitsNow null', async () => {
  const r = await runCliAsync(['fit', '--model', 'qwen3', '--ctx', '4096', '--hardware', 'local', '--json'], stateEnv());
  assert.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(r.stdout);
  assert.equal(rep.fits, true);
  assert.equal(typeof rep.fitsNow, 'boolean');
  assert.ok(rep.now.freeBytes > 0 && rep.now.freeBytes <= rep.hardware.usableBytes);
  assert.equal(rep.fitsNow, rep.memory.totalBytes <= rep.now.freeBytes);
  assert.ok(rep.now.othersBytes > 0, 'this process and the OS hold something');
  const other = JSON.parse((await runCliAsync(['fit', '--model', 'qwen3', '--hardware', 'rtx-4090', '--json'])).stdout);
  assert.equal(other.fitsNow, null);
  assert.equal(other.now, null);
});

test('fit on a 128 GB Mac profile: a model above the default GPU limit gets the exact sysctl command', async () => {
  const r = await runCliAsync(['fit', '--model', 'llama3.3:70b', '--quant', 'Q8_0', '--ctx', '131072', '--hardware', 'm4-max-128', '--json']);
  const rep = JSON.parse(r.stdout);
  assert.equal(rep.fits, false, `${rep.memory.totalBytes} vs ${rep.hardware.usableBytes}`);
  assert.equal(rep.wiredLimit.command, 'sudo sysctl iogpu.wired_limit_mb=118784');
  const text = await runCliAsync(['fit', '--model', 'llama3.3:70b', '--quant', 'Q8_0', '--ctx', '131072', '--hardware', 'm4-max-128']);
  assert.match(text.stdout, /GPU limit: needs [\d.]+ GB, above the default GPU limit of 96\.0 GB; it fits if you raise the limit: `sudo sysctl iogpu\.wired_limit_mb=118784` \(leaves 12\.0 GB for macOS; resets on reboot\)/);
  // --capacity-gb stays an override: no advice about a limit the user already set by hand.
  const over = JSON.parse((await runCliAsync(['fit', '--model', 'llama3.3:70b', '--quant', 'Q8_0', '--ctx', '131072', '--hardware', 'm4-max-128', '--capacity-gb', '160', '--json'])).stdout);
  assert.equal(over.wiredLimit, null);
  assert.equal(over.hardware.usableBytes, Math.floor(160 * 1024 ** 3 * 0.75));
});

test('status --json: per-endpoint budget; this machine has others from the live reading, a forced profile does not', async (t) => {
  const server = await startFixtureServer('ollama');
  t.after(() => server.close());
  const store = join(mkdtempSync(join(tmpdir(), 'headroom-store-')), 'b.json');
  const r = await runCliAsync(['status', '--endpoint', server.url, '--no-defaults', '--json', '--store', store], stateEnv());
  assert.equal(r.code, 0, r.stderr);
  const e = (JSON.parse(r.stdout) as StatusJson[])[0]!;
  const b = e.budget!;
  assert.equal(b.enginesBytes, e.models.reduce((s, m) => s + m.figures.total.value, 0));
  assert.equal(typeof b.othersBytes, 'number');
  assert.equal(b.usableBytes, e.hardware!.usableBytes);
  assert.ok(b.freeBytes >= 0 && b.freeBytes <= Math.max(0, b.usableBytes - b.enginesBytes));
  assert.match(b.sources.others, /\/proc\/meminfo|vm_stat|nvidia-smi|os\.totalmem/);
  const m = e.models[0]!;
  if (m.memory) assert.ok(m.limitNow && m.limitNow.otherResidentBytes >= b.othersBytes!);
  const forced = (JSON.parse((await runCliAsync(['status', '--endpoint', server.url, '--no-defaults', '--json', '--hardware', 'rtx-4090', '--store', store])).stdout) as StatusJson[])[0]!;
  assert.equal(forced.budget!.othersBytes, undefined);
  assert.equal(forced.budget!.freeBytes, Math.max(0, forced.budget!.usableBytes - forced.budget!.enginesBytes));
});
