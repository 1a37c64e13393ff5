// Live memory from recorded tool output (test/fixtures/hardware/, see its README for real vs reconstructed):
// each case asserts the numbers its capture implies. Hostile tools are real scripts (garbage, huge, hanging).
import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLiveMemory, spawnTool, LiveMemoryProbe, type ToolRunner } from '../../src/providers/live-memory';
import { macAvailableBytes, parseMeminfo, parseNvidiaSmiMemory, parseRocmSmiJson, parseSwapUsage, parseVmStat } from '../../src/providers/live-memory-parse';
import { DATA } from '../support/data';

const HW = join(DATA, 'hardware');
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const fx = (p: string) => readFileSync(join(HW, p), 'utf8');
/** A `/proc/meminfo` field of a fixture, in bytes. */
const kb = (file: string, key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(fx(file))![1]) * 1024;
const VM = 'linux/firecracker-24g.meminfo';

/** Answers `file args…` from recorded output; anything else is "not installed". */
function recorded(map: Record<string, string>): ToolRunner {
  return async (file, args) => {
    const out = map[[file, ...args].join(' ')];
    return out !== undefined ? { ok: true, out } : { ok: false, why: 'not installed' };
  };
}
const SMI = 'nvidia-smi --query-gpu=index,name,memory.total,memory.used,memory.free --format=csv,noheader,nounits';

/** A root with only proc/meminfo (no sysfs GPUs). */
function procRoot(meminfo: string): string {
  const root = mkdtempSync(join(tmpdir(), 'headroom-live-'));
  mkdirSync(join(root, 'proc'));
  writeFileSync(join(root, 'proc/meminfo'), meminfo);
  return root;
}

test('one RTX 4090: the pool is its VRAM; 2315 MiB taken by the desktop are "others"', async () => {
  const { live } = await readLiveMemory({ platform: 'linux', root: procRoot(fx('linux/firecracker-24g.meminfo')), run: recorded({ [SMI]: fx('nvidia-smi/rtx4090-1gpu.csv') }) });
  assert.ok(live);
  assert.equal(live.pool, 'gpu');
  assert.equal(live.totalBytes, 24564 * MiB);
  assert.equal(live.availableBytes, 21755 * MiB);
  assert.equal(live.usedByOthersBytes, 2315 * MiB);
  assert.deepEqual(live.gpus?.map((g) => [g.index, g.name, g.totalBytes, g.usedBytes, g.freeBytes]), [[0, 'NVIDIA GeForce RTX 4090', 24564 * MiB, 2315 * MiB, 21755 * MiB]]);
  assert.match(live.source, /^nvidia-smi; \/proc\/meminfo/);
  assert.equal(live.system?.totalBytes, kb(VM, 'MemTotal'), 'system RAM kept alongside (offload lives there)');
});

test('two RTX 3090s: listed and summed', async () => {
  const { live } = await readLiveMemory({ platform: 'linux', root: procRoot(fx('linux/firecracker-24g.meminfo')), run: recorded({ [SMI]: fx('nvidia-smi/rtx3090-2gpu.csv') }) });
  assert.equal(live?.gpus?.length, 2);
  assert.equal(live?.totalBytes, 2 * 24576 * MiB);
  assert.equal(live?.availableBytes, (23220 + 24245) * MiB);
  assert.equal(live?.usedByOthersBytes, (1043 + 18) * MiB);
});

test('GB10 prints [N/A]: the pool falls back to system memory, the GPU is named in the source', async () => {
  assert.deepEqual(parseNvidiaSmiMemory(fx('nvidia-smi/gb10.csv')), [{ index: 0, name: 'NVIDIA GB10' }]);
  const { live } = await readLiveMemory({ platform: 'linux', root: procRoot(fx('linux/firecracker-24g.meminfo')), run: recorded({ [SMI]: fx('nvidia-smi/gb10.csv') }) });
  assert.equal(live?.pool, 'system');
  assert.equal(live?.gpus, undefined);
  assert.equal(live?.totalBytes, kb(VM, 'MemTotal'));
  assert.equal(live?.availableBytes, kb(VM, 'MemAvailable'));
  assert.match(live!.source, /NVIDIA GB10: memory \[N\/A\]/);
});

test('Strix Halo sysfs tree: carve-out + GTT is the GPU pool; GTT free is capped by what the OS has available', async () => {
  const root = mkdtempSync(join(tmpdir(), 'headroom-strix-'));
  cpSync(join(HW, 'strix-halo'), root, { recursive: true });
  const { live } = await readLiveMemory({ platform: 'linux', root, run: recorded({}) });
  assert.equal(live?.pool, 'apu');
  const vramT = 536870912, vramU = 123731968, gttT = 120259084288, gttU = 42949672960;
  assert.equal(live?.totalBytes, vramT + gttT);
  assert.equal(live?.usedByOthersBytes, vramU + gttU);
  assert.equal(live?.availableBytes, vramT - vramU + (gttT - gttU), 'GTT free (72 GiB) < MemAvailable (81 GiB)');
  assert.equal(live?.gpus?.[0]?.vramBytes, vramT);
  assert.equal(live?.gpus?.[0]?.gttBytes, gttT);
  assert.equal(live?.swapUsedBytes, 0);
  assert.match(live!.source, /^amdgpu sysfs; \/proc\/meminfo/);
  // Other processes eat system RAM: 50 GiB available leaves GTT only 50 GiB, whatever its size.
  writeFileSync(join(root, 'proc/meminfo'), fx('strix-halo/proc/meminfo').replace('85000000', String(50 * 1024 * 1024)));
  const tight = (await readLiveMemory({ platform: 'linux', root, run: recorded({}) })).live;
  assert.equal(tight?.availableBytes, vramT - vramU + 50 * GiB);
});

test('rocm-smi JSON (when sysfs is not readable) gives the same card', () => {
  const json = JSON.stringify({ card0: { 'VRAM Total Memory (B)': '25753026560', 'VRAM Total Used Memory (B)': '1073741824', 'GTT Total Memory (B)': '33554432000', 'GTT Total Used Memory (B)': '20971520' } });
  assert.deepEqual(parseRocmSmiJson(json), [{ card: 'card0', vramTotalBytes: 25753026560, vramUsedBytes: 1073741824, gttTotalBytes: 33554432000, gttUsedBytes: 20971520 }]);
  assert.deepEqual(parseRocmSmiJson('not json'), []);
  assert.deepEqual(parseRocmSmiJson('{"card0": {"VRAM Total Memory (B)": "-1"}}'), []);
});

const macTools = (wired: string): ToolRunner =>
  recorded({
    'sysctl -n hw.memsize': fx('mac/m4max-128.hw.memsize'),
    'sysctl -n iogpu.wired_limit_mb': fx(wired),
    vm_stat: fx('mac/m4max-128-heavy.vm_stat'),
    'sysctl -n vm.swapusage': fx('mac/vm.swapusage'),
  });

test('Mac, 128 GB, heavy vm_stat, default wired limit: 92.2 GiB used by apps + wired + compressed; limit = 75 %', async () => {
  const { live } = await readLiveMemory({ platform: 'darwin', run: macTools('mac/wired_limit_mb-default') });
  const pages = 4072224 - 45012 + 1203456 + 812345; // anonymous − purgeable + wired + compressor
  assert.equal(live?.totalBytes, 128 * GiB);
  assert.equal(live?.usedByOthersBytes, pages * 16384);
  assert.equal(live?.availableBytes, 128 * GiB - pages * 16384);
  assert.equal(live?.wiredLimitBytes, 96 * GiB);
  assert.equal(live?.wiredLimitSet, false);
  assert.equal(live?.swapUsedBytes, 2871.5 * MiB);
  assert.equal(live?.swapTotalBytes, 4096 * MiB);
  assert.match(live!.source, /sysctl hw\.memsize \+ vm_stat; vm\.swapusage; iogpu\.wired_limit_mb/);
});

test('Mac with the wired limit raised to 118784 MB: that is the limit', async () => {
  const { live } = await readLiveMemory({ platform: 'darwin', run: macTools('mac/wired_limit_mb-raised') });
  assert.equal(live?.wiredLimitBytes, 118784 * MiB);
  assert.equal(live?.wiredLimitSet, true);
});

test('vm_stat without the anonymous count (older macOS): free + inactive + speculative', () => {
  const old = fx('mac/m4max-128-heavy.vm_stat').split('\n').filter((l) => !/Anonymous/.test(l)).join('\n');
  const vm = parseVmStat(old)!;
  assert.equal(macAvailableBytes(vm, 128 * GiB), (81234 + 2810345 + 12001) * 16384);
  assert.equal(parseVmStat('Pages free: 12.'), undefined, 'no page size line');
  assert.deepEqual(parseSwapUsage('total = 0.00M  used = 0.00M  free = 0.00M'), { totalBytes: 0, usedBytes: 0 });
});

test('Linux box with swap in use: 5 GiB of 8 GiB swapped, 2 GiB available', async () => {
  const { live } = await readLiveMemory({ platform: 'linux', root: procRoot(fx('linux/swap-in-use.meminfo')), run: recorded({}) });
  assert.equal(live?.pool, 'system');
  assert.equal(live?.totalBytes, 32803412 * 1024);
  assert.equal(live?.availableBytes, 2101344 * 1024);
  assert.equal(live?.usedByOthersBytes, (32803412 - 2101344) * 1024);
  assert.equal(live?.swapUsedBytes, 5 * GiB);
  assert.equal(live?.swapTotalBytes, 8388604 * 1024);
});

test('no swap configured: swap fields absent (not 0)', async () => {
  const { live } = await readLiveMemory({ platform: 'linux', root: procRoot(fx('linux/firecracker-24g.meminfo')), run: recorded({}) });
  assert.equal(live?.swapUsedBytes, undefined);
  assert.ok(!('swapUsedBytes' in live!));
});

/** Real executables in a temp dir, run through the real spawn path. */
function scripts(bodies: Record<string, string>): ToolRunner {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-tools-'));
  for (const [name, body] of Object.entries(bodies)) {
    writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  }
  return (file, args, t) => spawnTool(join(dir, file), args, t);
}

for (const [what, body, why] of [
  ['garbage', 'echo "NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver"', /unrecognised output/],
  ['huge', 'head -c 2000000 /dev/zero | tr "\\0" "9"', /output over/],
  ['hanging', 'sleep 30; echo "0, NVIDIA GeForce RTX 4090, 24564, 1, 2"', /no answer in 400 ms/],
  ['failing', 'echo "0, NVIDIA GeForce RTX 4090, 24564, 1, 2"; exit 9', /exit code 9/],
] as const) {
  test(`a ${what} nvidia-smi ends as "not found" with a log line, fast, and system memory still reads`, async () => {
    const logs: string[] = [];
    const t0 = performance.now();
    const { live } = await readLiveMemory({ platform: 'linux', root: procRoot(fx('linux/swap-in-use.meminfo')), run: scripts({ 'nvidia-smi': body }), timeoutMs: 400, log: (m) => logs.push(m) });
    assert.ok(performance.now() - t0 < 3000, `took ${performance.now() - t0} ms`);
    assert.equal(live?.pool, 'system');
    assert.equal(live?.gpus, undefined);
    assert.equal(logs.length, 1, logs.join('\n'));
    assert.match(logs[0]!, why);
    assert.deepEqual(live?.notes, logs);
  });
}

test('the hanging tool\'s whole process group is killed (no orphan sleep holds the pipe)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-hang-'));
  const pidFile = join(dir, 'pid');
  const run = scripts({ hang: `sleep 30 & echo $! > ${pidFile}; wait` });
  const r = await run('hang', [], 300);
  assert.equal(r.ok, false);
  await new Promise((res) => setTimeout(res, 200));
  const pid = Number(readFileSync(pidFile, 'utf8'));
  // Gone, or a zombie waiting for init to reap it (state Z): either way no longer running.
  let state = 'gone';
  try {
    state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0]!;
  } catch {
    /* gone */
  }
  assert.ok(state === 'gone' || state === 'Z', `grandchild sleep state ${state}`);
});

test('hostile files: garbage meminfo and sysfs fall back to the OS totals / are ignored, never throw', async () => {
  const logs: string[] = [];
  const root = procRoot('MemTotal: lots\n\0\0\0');
  const dev = join(root, 'sys/class/drm/card0/device');
  mkdirSync(dev, { recursive: true });
  writeFileSync(join(dev, 'mem_info_vram_total'), 'garbage');
  writeFileSync(join(dev, 'mem_info_vram_used'), '99999999999999999999999');
  const { live } = await readLiveMemory({ platform: 'linux', root, run: recorded({}), log: (m) => logs.push(m) });
  assert.equal(live?.pool, 'system');
  assert.match(live!.source, /os\.totalmem/);
  assert.match(logs.join(' '), /proc\/meminfo: unrecognised content/);
  // A FIFO where a sysfs file should be (nothing ever writes to it): read as "absent", at once.
  if (process.platform !== 'win32') {
    const fifoRoot = procRoot(fx('linux/swap-in-use.meminfo'));
    const fdev = join(fifoRoot, 'sys/class/drm/card0/device');
    mkdirSync(fdev, { recursive: true });
    execFileSync('mkfifo', [join(fdev, 'mem_info_vram_total')]);
    writeFileSync(join(fdev, 'mem_info_vram_used'), '1\n');
    const t0 = performance.now();
    const f = (await readLiveMemory({ platform: 'linux', root: fifoRoot, run: recorded({}) })).live;
    assert.ok(performance.now() - t0 < 2000);
    assert.equal(f?.pool, 'system');
  }
  const big = procRoot('MemTotal: 1 kB\n'.repeat(10_000));
  assert.match((await readLiveMemory({ platform: 'linux', root: big, run: recorded({}) })).live!.source, /os\.totalmem/);
  assert.equal(parseMeminfo('MemTotal: 100 kB\nMemAvailable: 200 kB\n'), undefined, 'available > total is garbage');
  assert.deepEqual(parseNvidiaSmiMemory('0, GPU, 99999999999999999999, 1, 1\nx, y\n'), [{ index: 0, name: 'GPU', usedBytes: MiB, freeBytes: MiB }]);
});

test('the probe runs slow tools at most every slowMs and answers from the cache meanwhile', async () => {
  let calls = 0;
  const run: ToolRunner = async (file, args) => {
    calls++;
    return recorded({ [SMI]: fx('nvidia-smi/rtx4090-1gpu.csv') })(file, args, 0);
  };
  const probe = new LiveMemoryProbe({ platform: 'linux', root: procRoot(fx('linux/firecracker-24g.meminfo')), run, slowMs: 60_000 });
  const a = await probe.read();
  const b = await probe.read();
  assert.equal(a?.totalBytes, 24564 * MiB);
  assert.equal(b?.totalBytes, 24564 * MiB);
  assert.equal(calls, 2, 'nvidia-smi + rocm-smi once, not per read');
});

test('Windows: nvidia-smi per GPU plus total/available RAM from the OS (no /proc, no rocm-smi)', async () => {
  const asked: string[] = [];
  const run: ToolRunner = async (file, args) => {
    asked.push(file);
    return recorded({ [SMI]: fx('nvidia-smi/rtx4090-1gpu.csv') })(file, args, 0);
  };
  const { live } = await readLiveMemory({ platform: 'win32', run });
  assert.deepEqual(asked, ['nvidia-smi']);
  assert.equal(live?.pool, 'gpu');
  assert.equal(live?.totalBytes, 24564 * MiB);
  assert.ok(live!.system!.totalBytes > 0);
  assert.match(live!.source, /^nvidia-smi; os\.totalmem\/os\.freemem$/);
});

test('the probe never holds a poll for a hanging tool: the first reading comes without it, fast', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-probe-'));
  writeFileSync(join(dir, 'nvidia-smi'), '#!/bin/sh\nsleep 30\n');
  chmodSync(join(dir, 'nvidia-smi'), 0o755);
  const logs: string[] = [];
  const probe = new LiveMemoryProbe({ platform: 'linux', root: procRoot(fx('linux/swap-in-use.meminfo')), run: (f, a, t) => spawnTool(join(dir, f), a, t), timeoutMs: 1500, firstWaitMs: 200, log: (m) => logs.push(m) });
  const t0 = performance.now();
  const live = await probe.read();
  assert.ok(performance.now() - t0 < 1000, `${performance.now() - t0} ms`);
  assert.equal(live?.pool, 'system');
  assert.equal(live?.availableBytes, 2101344 * 1024);
  // The hung tool is killed at its own deadline and logged; later reads use the (empty) result without waiting.
  await new Promise((r) => setTimeout(r, 1700));
  assert.match(logs.join('\n'), /nvidia-smi: no answer in 1500 ms \(killed\)/);
  const t1 = performance.now();
  await probe.read();
  assert.ok(performance.now() - t1 < 500);
});
