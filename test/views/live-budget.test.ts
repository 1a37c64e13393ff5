// The editor's budget from a live reading (issue 12): status bar, tooltip, alerts, horizon, swap growth, the fit
// check's "fits now" vs "fits on an idle machine" and the quick-pick marks. Engines: recorded replays on 127.0.0.1;
// the machine: the recorded nvidia-smi capture (test/fixtures/hardware/nvidia-smi/rtx4090-1gpu.csv).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config';
import { findHardware, usableBytes } from '../../src/estimator/hardware';
import type { LiveMemory } from '../../src/estimator/live';
import { resolveModelName } from '../../src/estimator/model-names';
import { defaultContextOptions, estimateMemory } from '../../src/estimator/memory';
import type { MeterRecord } from '../../src/providers/proxy/record';
import { detect } from '../../src/providers/detect';
import { readLiveMemory, type ToolRunner } from '../../src/providers/live-memory';
import { assemble } from '../../src/views/assemble';
import { deriveAlerts } from '../../src/views/alerts';
import { catalogCandidates, checkFit, freeNowFor, nowFor, type FitTarget } from '../../src/views/fit-check';
import { formatBytes } from '../../src/estimator/format';
import { describeCandidate, fitMark } from '../../src/views/pick-items';
import { Session } from '../../src/views/session';
import { targetForLoaded } from '../../src/views/panel-subject';
import { statusAccessibilityLabel, statusText, statusTooltip } from '../../src/views/status';
import { DATA } from '../support/data';
import { startFixtureServer } from '../support/fixture-server';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const thresholds = { contextFraction: 0.85, memoryFraction: 0.9, turnsLeft: 3 };

/** The recorded RTX 4090 reading (2315 MiB used by the desktop), plus what an engine holds on top. */
async function rtx4090Now(engineBytes = 0): Promise<LiveMemory> {
  const csv = readFileSync(join(DATA, 'hardware/nvidia-smi/rtx4090-1gpu.csv'), 'utf8');
  const run: ToolRunner = async (file) => (file === 'nvidia-smi' ? { ok: true, out: csv } : { ok: false, why: 'not installed' });
  const live = (await readLiveMemory({ platform: 'linux', run, root: '/nonexistent' })).live!;
  return { ...live, usedByOthersBytes: live.usedByOthersBytes! + engineBytes, availableBytes: live.availableBytes - engineBytes };
}

test('Ollama replay on a 4090 with the desktop holding 2.3 GB: budget, status bar and tooltip show models, others, free, limit', async (t) => {
  const server = await startFixtureServer('ollama');
  t.after(() => server.close());
  const detections = await detect([{ url: server.url, source: 'settings' }]);
  const hw = findHardware('rtx-4090')!;
  const idle = assemble({ detections, hardware: hw, chosenBy: 'setting', thresholds });
  const engines = idle.state.budget!.enginesBytes;
  assert.ok(engines > 0);
  assert.equal(idle.state.budget!.othersBytes, undefined, 'no live reading: others unknown');
  const memory = await rtx4090Now(engines);
  const { state } = assemble({ detections, hardware: hw, chosenBy: 'setting', thresholds, memory });
  const b = state.budget!;
  assert.equal(b.enginesBytes, engines);
  assert.equal(b.othersBytes, 2315 * MiB);
  assert.equal(b.freeBytes, Math.min(usableBytes(hw) - engines - 2315 * MiB, memory.availableBytes));
  assert.match(statusText(state, 'memory'), /^\$\([a-z]+\) \d+\.\d\+2\.3 \/ 23 GB$/);
  assert.match(statusAccessibilityLabel(state), /2\.3 GB by other processes/);
  const tip = statusTooltip(state);
  assert.match(tip, /\| Other processes \| 2\.3 GB \| _nvidia\\-smi[^|]*: used − engines_ \|/);
  assert.match(tip, /\| Free \| [\d.]+ GB \| _nvidia\\-smi[^|]*: min\\\(usable − engines − others, available\\\)_ \|/);
  assert.match(tip, /\| Usable limit \| 23\.2 GB \| _profile rtx\\-4090 \\\(97 %\\\)_ \|/);
});

test('alerts count other processes: a model at 82 % of usable plus 2.3 GB of others crosses the 90 % line', () => {
  const hw = findHardware('rtx-4090')!;
  const usable = usableBytes(hw);
  const model = { key: 'k', name: 'm', engine: 'ollama', endpoint: 'e', hardwareId: hw.id, memory: { weights: { value: 0, source: 'engine' as const }, kv: { value: 0, source: 'estimated' as const }, overhead: { value: 0, source: 'estimated' as const }, total: { value: 0.82 * usable, source: 'engine' as const } }, context: { parallel: 1 }, speed: {} };
  const hardware = { id: hw.id, name: hw.name, capacityBytes: hw.capacityBytes, usableBytes: usable, bandwidthGBps: hw.bandwidthGBps, chosenBy: 'setting' as const };
  assert.deepEqual(deriveAlerts({ models: [model], hardware }, thresholds), [], 'idle machine: 82 % is fine');
  const budget = { enginesBytes: 0.82 * usable, othersBytes: 2315 * MiB, freeBytes: usable - 0.82 * usable - 2315 * MiB, usableBytes: usable, sources: { engines: '', others: 'nvidia-smi', free: '', usable: '' } };
  const a = deriveAlerts({ models: [model], hardware, budget }, thresholds);
  assert.equal(a[0]?.kind, 'over-capacity');
  assert.match(a[0]!.message, /with 2\.3 GB taken by other processes/);
});

test('swap growing while a model is loaded raises a swap warning', async (t) => {
  const server = await startFixtureServer('ollama');
  t.after(() => server.close());
  const readings = [1 * GiB, 1 * GiB, 1.5 * GiB].map((swap) => ({ totalBytes: 32 * GiB, availableBytes: 4 * GiB, usedByOthersBytes: 28 * GiB, swapUsedBytes: swap, swapTotalBytes: 8 * GiB, pool: 'system' as const, source: '/proc/meminfo', at: '2026-01-01T00:00:00Z' }));
  let i = 0;
  const s = new Session({ config: () => parseConfig({ autoDetect: false, hardwareProfile: 'rtx-4090', endpoints: [server.url] }).config, liveMemory: async () => readings[Math.min(i++, readings.length - 1)] });
  await s.refresh();
  await s.refresh();
  assert.equal(s.state.budget?.swapGrowthBytes, 0);
  assert.ok(!s.state.alerts.some((a) => a.kind === 'swap'));
  await s.refresh();
  assert.equal(s.state.budget?.swapGrowthBytes, 0.5 * GiB);
  const swap = s.state.alerts.find((a) => a.kind === 'swap');
  assert.match(swap?.message ?? '', /Swap grew by 512 MB while .* is loaded: .* decode slows to disk speed/);
  assert.match(statusTooltip(s.state), /\| Swap in use \| 1\.5 GB \| \+512 MB since models loaded \|/);
});

test('the context horizon counts what other processes hold now (tooltip says so)', async (t) => {
  const server = await startFixtureServer('ollama');
  t.after(() => server.close());
  const hw = findHardware('rtx-4090')!;
  let others = 0;
  let engines = 0;
  const s = new Session({
    config: () => parseConfig({ autoDetect: false, hardwareProfile: 'rtx-4090', endpoints: [server.url] }).config,
    liveMemory: async () => ({ totalBytes: 24 * GiB, availableBytes: 24 * GiB - engines - others, usedByOthersBytes: engines + others, pool: 'gpu', source: 'nvidia-smi', at: '2026-01-01T00:00:00Z' }),
  });
  await s.refresh();
  engines = s.state.budget!.enginesBytes;
  const key = s.state.models[0]!.key;
  const est = s.details(key)!.estimate!;
  const rec = (promptTokens: number): MeterRecord => ({ endpoint: '/v1/chat/completions', target: server.url, method: 'POST', status: 200, model: s.state.models[0]!.name, promptTokens, outputTokens: 100, durationMs: 1000, truncated: false, at: Date.now() });
  await s.refresh();
  s.ingestProxyRecord(rec(1000));
  assert.equal(s.state.models[0]!.horizon?.limit, 'window', 'idle desktop: the 4k window ends first');
  // Other processes take all but what a 2k context needs: memory now ends first, before the window.
  others = usableBytes(hw) - estimateMemory(est.spec, est.weights, { ...est.ctx, ctxPerSeq: 2048 }).totalBytes - engines + s.state.models[0]!.memory.total.value;
  await s.refresh();
  s.ingestProxyRecord(rec(1000));
  const h = s.state.models[0]!.horizon!;
  assert.equal(h.limit, 'memory');
  assert.ok(h.tokensLeft < 4096 - 1100, String(h.tokensLeft));
  assert.match(statusTooltip(s.state), /[\d.]+ GB taken by other processes; the KV cache reaches the limit in ~[\d.]+k? tokens/);
});

test('a partly offloaded local model: CPU bandwidth measured once in the background, shown and used for the offload verdict', async (t) => {
  const server = await startFixtureServer('ollama'); // /api/ps: 1.2 GB of gemma4 on the CPU
  t.after(() => server.close());
  let measured = 0;
  const s = new Session({
    config: () => parseConfig({ autoDetect: false, hardwareProfile: 'rtx-4090', endpoints: [server.url] }).config,
    liveMemory: async () => ({ totalBytes: 24 * GiB, availableBytes: 16 * GiB, usedByOthersBytes: 8 * GiB, pool: 'gpu', source: 'nvidia-smi', at: '2026-01-01T00:00:00Z' }),
    cpuBandwidth: async () => {
      measured++;
      return 48.2;
    },
  });
  await s.refresh();
  await new Promise((r) => setImmediate(r));
  await s.refresh();
  assert.equal(measured, 1, 'once per session');
  assert.equal(s.state.budget?.cpuBandwidthGBps, 48.2);
  assert.match(statusTooltip(s.state), /spilled to system RAM _engine_ — decode runs at CPU memory speed \(48\.2 GB\/s, _measured_\) for that share/);
  const key = s.state.models[0]!.key;
  const target = targetForLoaded(key, s.state, s.details(key), []);
  assert.ok(!('error' in target));
  const off = target.verdict?.findings.find((f) => f.code === 'cpu-offload');
  assert.equal(off?.numbers?.hostBandwidthGBps, 48.2);
  assert.match(off?.summary ?? '', /streams at ~48\.2 GB\/s/);
  // The panel for the loaded model lists other processes and free memory now, as measured.
  const facts = checkFit(target as FitTarget, findHardware('rtx-4090')!).data.facts;
  assert.deepEqual(facts.find((f) => f.label === 'Other processes'), { label: 'Other processes', value: `${formatBytes(s.state.budget!.othersBytes!)} now`, source: 'measured' });
  assert.deepEqual(facts.find((f) => f.label === 'Free now'), { label: 'Free now', value: formatBytes(s.state.budget!.freeBytes), source: 'measured' });
});

test('a hanging or failing live reading never blocks or breaks the poll', async (t) => {
  const server = await startFixtureServer('ollama');
  t.after(() => server.close());
  const logs: string[] = [];
  const cfg = () => parseConfig({ autoDetect: false, hardwareProfile: 'rtx-4090', endpoints: [server.url] }).config;
  const failing = new Session({ config: cfg, liveMemory: async () => { throw new Error('boom'); }, log: (_l, m) => logs.push(m) });
  assert.equal(await failing.refresh(), true);
  assert.equal(failing.state.budget?.othersBytes, undefined);
  assert.match(logs.join('\n'), /live memory reading failed: boom/);
  // A reading that never settles: the poll finishes at the deadline with the previous reading (here: none).
  const hanging = new Session({ config: cfg, liveMemory: () => new Promise(() => {}), liveMemoryTimeoutMs: 200, log: (_l, m) => logs.push(m) });
  const t0 = performance.now();
  assert.equal(await hanging.refresh(), true);
  assert.ok(performance.now() - t0 < 3000, `${performance.now() - t0} ms`);
  assert.equal(hanging.state.phase, 'ready');
  assert.match(logs.join('\n'), /live memory reading took over 200 ms/);
});

test('fit check and quick-pick: "fits now" vs "fits on an idle machine"', async () => {
  const hw = findHardware('rtx-4090')!;
  const r = resolveModelName('Qwen/Qwen3-30B-A3B');
  const spec = r.model.spec!;
  // Q4_K_M at 16k on a 4090: ~19 GB — fits the idle card (23.2 GB usable), not next to a 5 GB engine + 2.3 GB desktop.
  const target = { modelId: r.model.id, title: r.model.name, spec, quant: 'Q4_K_M', ctx: defaultContextOptions({ ctxPerSeq: 16384 }), contextMax: r.model.contextMax };
  const freeNow = usableBytes(hw) - 5 * GiB - 2315 * MiB;
  const budget = { enginesBytes: 5 * GiB, othersBytes: 2315 * MiB, freeBytes: freeNow, usableBytes: usableBytes(hw), sources: { engines: '', others: 'nvidia-smi: used − engines', free: '', usable: '' } };
  const fit = checkFit({ ...target, now: nowFor({ budget }, false)! }, hw);
  assert.equal(fit.evaluation.fits, true);
  assert.ok(fit.evaluation.memory.totalBytes > freeNow, `${fit.evaluation.memory.totalBytes} vs ${freeNow}`);
  const now = fit.data.facts.find((f) => f.label === 'Now');
  assert.match(now?.value ?? '', /^does not fit now \([\d.]+ GB free\) — fits on an idle machine$/);
  assert.equal(now?.source, 'measured');
  const small = checkFit({ ...target, ctx: defaultContextOptions({ ctxPerSeq: 16384 }), spec: resolveModelName('Qwen/Qwen3-8B').model.spec!, now: nowFor({ budget }, false)! }, hw);
  assert.match(small.data.facts.find((f) => f.label === 'Now')!.value, /^fits now — /);
  // Quick-pick marks.
  assert.equal(fitMark(19 * GiB, usableBytes(hw), freeNow), 'idle');
  assert.equal(fitMark(19 * GiB, usableBytes(hw)), 'fits');
  assert.equal(freeNowFor({ budget }), freeNow);
  const cands = catalogCandidates(hw, 16384, freeNowFor({ budget }));
  const qwen = cands.find((c) => c.id === r.model.id)!;
  if (qwen.totalBytes! <= usableBytes(hw) && qwen.totalBytes! > freeNow) {
    assert.equal(qwen.mark, 'idle');
    assert.match(describeCandidate(qwen).detail ?? '', /fits on an idle machine, not now/);
  }
  const fitsNow = cands.find((c) => c.mark === 'fits')!;
  assert.match(describeCandidate(fitsNow).detail ?? '', /\$\(pass\) fits now/);
});

test('Apple: the fit check names the wired-limit command when the model fits only above the default limit', () => {
  const hw = findHardware('m4-max-128')!;
  const r = resolveModelName('meta-llama/Llama-3.3-70B-Instruct');
  const fit = checkFit({ modelId: r.model.id, title: r.model.name, spec: r.model.spec!, quant: 'Q8_0', ctx: defaultContextOptions({ ctxPerSeq: 131072 }), contextMax: r.model.contextMax }, hw);
  assert.equal(fit.evaluation.fits, false);
  assert.ok(fit.data.notes.some((n) => n.includes('`sudo sysctl iogpu.wired_limit_mb=118784`') && n.includes('resets on reboot')), fit.data.notes.join('\n'));
});
