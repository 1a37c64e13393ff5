// Launch builds (engine-builds.ts): an engine's first weeks on an architecture that needed new kernels, dated from
// the engine's own version string, and what the speed estimate does with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FIRST_SUPPORT, LAUNCH_WINDOW_DAYS, inLaunchWindow, launchWindowOf, llamaCppBuildDay, llamaCppBuildOf } from '../../src/estimator/engine-builds';
import { estimateSpeed, launchBuild } from '../../src/estimator/speed';
import { SPEED_MODEL_PARAMS, launchFactor } from '../../src/estimator/speed-model';
import { findCatalogModel } from '../../src/estimator/catalog';
import { findHardware } from '../../src/estimator/hardware';
import { weightsForQuant } from '../../src/estimator/weights';

const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`) / 86_400_000;

test('llama.cpp build numbers: read from build_info and from run notes, dated between cited anchors', () => {
  assert.equal(llamaCppBuildOf('b7189-c6f7a423c'), 7189);
  assert.equal(llamaCppBuildOf('first qwen3next support build c6f7a423c (7189)'), 7189);
  assert.equal(llamaCppBuildOf('build 7938 fa=1'), 7938);
  // A source build (node-llama-cpp's bundle reports b1) or no number: nothing to date.
  assert.equal(llamaCppBuildOf('v0.5.0'), undefined);
  assert.equal(launchWindowOf('llama.cpp', 'qwen3next', { build: 1 }), undefined);
  // Anchors come back exactly; between them the day moves monotonically; beyond them it extrapolates.
  assert.equal(llamaCppBuildDay(7189), day('2025-11-28'));
  assert.ok(llamaCppBuildDay(7500) > day('2025-11-28') && llamaCppBuildDay(7500) < day('2026-02-09'));
  assert.ok(llamaCppBuildDay(10269) > day('2026-02-09'));
  assert.ok(llamaCppBuildDay(5000) < day('2025-04-29'));
});

test('launch window: the first six weeks after first support, only where an engine needed new kernels', () => {
  assert.ok(inLaunchWindow(launchWindowOf('llama.cpp', 'gpt-oss', { date: '2025-08-07' })));
  assert.equal(LAUNCH_WINDOW_DAYS, 42);
  for (const f of FIRST_SUPPORT) assert.ok(f.source.length > 30 && /\d{4}-\d\d-\d\d/.test(f.date), f.arch);
  assert.ok(inLaunchWindow(launchWindowOf('llama.cpp', 'qwen3next', { build: 7189 })));
  assert.ok(inLaunchWindow(launchWindowOf('llama.cpp', 'qwen3next', { date: '2025-12-20' })));
  assert.ok(!inLaunchWindow(launchWindowOf('llama.cpp', 'qwen3next', { build: 7938 })));
  // An architecture that reused existing ops (Qwen3-MoE) has no launch window at all.
  assert.equal(launchWindowOf('llama.cpp', 'qwen3moe', { build: 5215 }), undefined);
  // MLX-LM: dated by the run's day; its release versions are not dated (no cited first release), so a bare version says nothing.
  assert.ok(inLaunchWindow(launchWindowOf('mlx-lm', 'qwen3next', { date: '2025-09-13' })));
  assert.equal(launchWindowOf('mlx-lm', 'qwen3next', { version: '0.28.0' }), undefined);
});

test('a launch build lowers the prediction by the fitted factor and says so; a mature build, Ollama and LM Studio do not', () => {
  const spec = findCatalogModel('Qwen/Qwen3-Next-80B-A3B-Instruct')!.spec!;
  const w = weightsForQuant(spec, 'Q4_K_M');
  const strix = findHardware('strix-halo-128')!;
  const launch = SPEED_MODEL_PARAMS.launch!;
  assert.ok(launch.factor > 0.3 && launch.factor < 0.9 && launch.halfLifeDays > 1 && /runs of launch builds/.test(launch.source), JSON.stringify(launch));
  // The gap halves every half-life: day 0 is the factor, later days close in on 1, monotonically.
  assert.equal(launchFactor(0), launch.factor);
  assert.ok(Math.abs(1 - launchFactor(launch.halfLifeDays) - (1 - launch.factor) / 2) < 1e-12);
  assert.ok(launchFactor(3) < launchFactor(10) && launchFactor(10) < launchFactor(40) && launchFactor(40) <= 1);
  assert.equal(launchFactor(-5), 1);
  const mature = estimateSpeed(spec, w, strix, { engine: 'llama.cpp', engineVersion: 'b7938-1a2b3c4d5' });
  const early = estimateSpeed(spec, w, strix, { engine: 'llama.cpp', engineVersion: 'b7189-c6f7a423c' });
  assert.ok(Math.abs(early.decodeTokPerSec / mature.decodeTokPerSec - launch.factor) < 1e-9);
  assert.match(early.maturityNote!, /launch build: llama\.cpp build 7189 is ~0 days into its qwen3next support; .* ~\d+ % of a mature build's speed, the gap halving every ~\d+ days: ~\d+ % here .* a newer build should be faster/);
  // The band reaches up to the mature build's speed: some launch builds already have the fast kernels.
  assert.ok(early.decodeRange!.high >= Math.min(mature.decodeTokPerSec, mature.ceilingTokPerSec) - 1e-9 && /launch build/.test(early.decodeRange!.basis));
  assert.doesNotMatch(mature.maturityNote ?? '', /launch build/);
  assert.equal(estimateSpeed(spec, w, strix).decodeTokPerSec, mature.decodeTokPerSec);
  assert.ok(early.decodeRange!.low < mature.decodeRange!.low && early.decodeRange!.high <= early.ceilingTokPerSec);
  // Ollama 0.12.3 and LM Studio 0.3.x version their apps, not llama.cpp: no dating, no factor.
  assert.equal(launchBuild('ollama', 'qwen3next', '0.12.3'), undefined);
  assert.equal(estimateSpeed(spec, w, strix, { engine: 'ollama', engineVersion: '7189' }).decodeTokPerSec, estimateSpeed(spec, w, strix, { engine: 'ollama' }).decodeTokPerSec);
  // An override of the maturity factor replaces both.
  assert.ok(Math.abs(estimateSpeed(spec, w, strix, { engine: 'llama.cpp', engineVersion: 'b7189', maturity: 1 }).decodeTokPerSec / mature.decodeTokPerSec - 1 / (SPEED_MODEL_PARAMS.maturity['llama.cpp/vulkan|hybrid']?.factor ?? 1)) < 1e-9);
});
