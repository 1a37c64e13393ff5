// The budget on top of a live reading (issue 12): others, free now, "fits now" vs "fits on an idle machine",
// and the Apple wired limit both ways. Numbers from the recorded captures in test/fixtures/hardware/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findHardware, usableBytes } from '../../src/estimator/hardware';
import { budgetNow, defaultWiredLimitBytes, freeForNewModel, profileWithLive, safeWiredLimitMb, usableNow, wiredLimitAdvice, type LiveMemory } from '../../src/estimator/live';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

// nvidia-smi/rtx4090-1gpu.csv: 24564 MiB total, 2315 used, 21755 free.
const rtx4090: LiveMemory = { totalBytes: 24564 * MiB, availableBytes: 21755 * MiB, usedByOthersBytes: 2315 * MiB, pool: 'gpu', source: 'nvidia-smi', at: '2026-01-01T00:00:00Z' };

test('RTX 4090 with 2.3 GB taken by the desktop: a 22 GB model fits an idle card but not now', () => {
  const hw = findHardware('rtx-4090')!;
  const free = freeForNewModel(hw, rtx4090);
  assert.equal(free, Math.min(usableBytes(hw) - 2315 * MiB, 21755 * MiB));
  const need = 22 * GiB;
  assert.ok(need <= usableBytes(hw), 'fits on an idle machine');
  assert.ok(need > free, 'does not fit now');
});

test('budget with an engine loaded: its bytes are not counted twice as "others"', () => {
  const hw = findHardware('rtx-4090')!;
  // An engine holding 15 GiB: nvidia-smi would show 15 GiB + the desktop's 2315 MiB used.
  const live = { ...rtx4090, usedByOthersBytes: 15 * GiB + 2315 * MiB, availableBytes: 21755 * MiB - 15 * GiB };
  const b = budgetNow(hw, 15 * GiB, live);
  assert.equal(b.enginesBytes, 15 * GiB);
  assert.equal(b.othersBytes, 2315 * MiB);
  assert.equal(b.freeBytes, Math.min(usableBytes(hw) - 15 * GiB - 2315 * MiB, live.availableBytes));
  assert.match(b.sources.others, /nvidia-smi/);
  // Engines that report more than the OS counts (mmap'd weights as cache): others clamp at 0, never negative.
  assert.equal(budgetNow(hw, 40 * GiB, live).othersBytes, 0);
  // No live reading: others unknown (absent), free = usable − engines.
  const idle = budgetNow(hw, 15 * GiB);
  assert.equal(idle.othersBytes, undefined);
  assert.equal(idle.freeBytes, usableBytes(hw) - 15 * GiB);
});

test('Apple wired limit: default 75 % on 128 GB; the safe raise leaves 8 / 12 / 16 GB; the command is exact', () => {
  assert.equal(defaultWiredLimitBytes(128 * GiB), 96 * GiB);
  assert.equal(safeWiredLimitMb(64 * GiB), (64 - 8) * 1024);
  assert.equal(safeWiredLimitMb(128 * GiB), (128 - 12) * 1024);
  assert.equal(safeWiredLimitMb(192 * GiB), (192 - 16) * 1024);
  const a = wiredLimitAdvice(128 * GiB, 100 * GiB);
  assert.equal(a?.command, 'sudo sysctl iogpu.wired_limit_mb=118784');
  assert.equal(a?.currentIsDefault, true);
  assert.match(a!.message, /resets on reboot/);
  assert.match(a!.message, /leaves 12\.0 GB for macOS/);
  assert.equal(wiredLimitAdvice(128 * GiB, 90 * GiB), undefined, 'fits under the default');
  assert.equal(wiredLimitAdvice(128 * GiB, 120 * GiB), undefined, 'would not fit even with the limit raised safely');
  assert.equal(wiredLimitAdvice(128 * GiB, 100 * GiB, 118784 * MiB), undefined, 'already raised');
});

test('a raised wired limit read live becomes the usable share; the default leaves the profile alone', () => {
  const hw = findHardware('m4-max-128')!;
  const raised: LiveMemory = { totalBytes: 128 * GiB, availableBytes: 36 * GiB, usedByOthersBytes: 92 * GiB, wiredLimitBytes: 118784 * MiB, wiredLimitSet: true, pool: 'system', source: 'vm_stat; iogpu.wired_limit_mb', at: 'x' };
  assert.equal(usableBytes(profileWithLive(hw, raised)), 118784 * MiB);
  assert.equal(usableNow(hw, raised).source, 'iogpu.wired_limit_mb');
  const dflt = { ...raised, wiredLimitBytes: 96 * GiB, wiredLimitSet: false };
  assert.equal(usableBytes(profileWithLive(hw, dflt)), usableBytes(hw));
  // The heavy Mac: 92 GiB used by others leaves 36 GiB now, though the GPU limit is 116 GiB.
  assert.equal(freeForNewModel(profileWithLive(hw, raised), raised), 36 * GiB);
  // --capacity-gb / headroom.capacityGB override: the profile's rule, not the live limit.
  assert.equal(usableNow(hw, raised, true).source, 'your capacity setting');
});

test('a measured CPU bandwidth replaces the assumed one on CPU profiles only', () => {
  const cpu = { ...findHardware('cpu-ddr5')!, id: 'local-cpu', name: 'CPU only: AMD EPYC (24 GB)', capacityBytes: 24 * GiB };
  const live: LiveMemory = { totalBytes: 24 * GiB, availableBytes: 20 * GiB, cpuBandwidthGBps: 48.2, pool: 'system', source: '/proc/meminfo', at: 'x' };
  const p = profileWithLive(cpu, live);
  assert.equal(p.bandwidthGBps, 48.2);
  assert.equal(p.measuredBandwidthGBps, 48.2);
  assert.match(p.name, /48\.2 GB\/s measured/);
  assert.equal(profileWithLive(findHardware('rtx-4090')!, live).bandwidthGBps, 1008);
});

test('Strix Halo: carve-out + GTT is the usable limit (not the profile\'s 75 %); GTT in use by others counts', () => {
  const hw = findHardware('strix-halo-128')!;
  // strix-halo/ capture: 512 MiB carve-out (118 MiB used) + 112 GiB GTT (40 GiB used).
  const vramT = 536870912, vramU = 123731968, gttT = 120259084288, gttU = 42949672960;
  const live: LiveMemory = { totalBytes: vramT + gttT, availableBytes: vramT - vramU + (gttT - gttU), usedByOthersBytes: vramU + gttU, pool: 'apu', source: 'amdgpu sysfs; /proc/meminfo', at: 'x' };
  const u = usableNow(hw, live);
  assert.deepEqual(u, { bytes: vramT + gttT, source: 'amdgpu VRAM carve-out + GTT' });
  assert.equal(freeForNewModel(hw, live), vramT + gttT - (vramU + gttU));
  assert.equal(usableNow(hw, live, true).source, 'your capacity setting');
});
