import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HARDWARE_PROFILES, findHardware, usableBytes, withCapacityOverride, DEFAULT_HARDWARE_ID } from '../../src/estimator/hardware';

const GiB = 1024 ** 3;

test('the issue\'s profile ids exist with their capacity and bandwidth', () => {
  const want: [string, number | undefined, number][] = [
    ['m5-max-128', 128, 614], ['m4-max-128', 128, 546], ['m4-pro-48', 48, 273], ['m4-pro-64', 64, 273],
    ['m3-ultra-512', 512, 819], ['m3-max-128', 128, 400], ['m2-ultra-192', 192, 800], ['m1-max-64', 64, 400],
    ['strix-halo-128', 128, 256], ['dgx-spark-128', 128, 273], ['rtx-5090', 32, 1792], ['rtx-pro-6000', 96, 1792],
    ['rtx-4090', 24, 1008], ['rtx-3090', 24, 936], ['h100-sxm-80', 80, 3350], ['h200-141', 141, 4800], ['cpu-ddr5', 64, 85],
    // Machines of the published speed table (issue 11), spec-sheet bandwidth.
    ['m1-ultra-128', 128, 800], ['m2-max-64', 64, 400], ['m3-ultra-60c-256', 256, 819], ['m4-pro-16c-48', 48, 273],
    ['w7800-48', 48, 864], ['b200-180', 180, 8000], ['rtx-4080', 16, 717], ['rtx-4060-8', 8, 272], ['xeon-6138-2s', 384, 128],
  ];
  for (const [id, gb, bw] of want) {
    const hw = findHardware(id);
    assert.ok(hw, id);
    if (gb) assert.equal(hw.capacityBytes, gb * GiB, id);
    assert.equal(hw.bandwidthGBps, bw, id);
    assert.ok(hw.fp16Tflops > 0 && hw.source, id);
  }
  assert.equal(findHardware('strix-halo-128')!.measuredBandwidthGBps, 215);
  assert.equal(HARDWARE_PROFILES.length, want.length);
  assert.equal(DEFAULT_HARDWARE_ID, 'm5-max-128');
});

test('usable memory: Apple ~75 %, NVIDIA minus a driver reserve', () => {
  assert.equal(usableBytes(findHardware('m5-max-128')!), 96 * GiB);
  const r4090 = usableBytes(findHardware('rtx-4090')!);
  assert.ok(r4090 > 23 * GiB && r4090 < 23.5 * GiB, String(r4090 / GiB));
  // Small Macs get ~2/3.
  const mac32 = withCapacityOverride(findHardware('m4-pro-48')!, 32);
  assert.equal(mac32.capacityBytes, 32 * GiB);
  assert.ok(Math.abs(usableBytes(mac32) - (32 * GiB * 2) / 3) < 2);
  const gpu16 = withCapacityOverride(findHardware('rtx-4090')!, 16);
  assert.ok(usableBytes(gpu16) > 15 * GiB && usableBytes(gpu16) < 16 * GiB);
});
