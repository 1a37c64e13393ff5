// Status bar text, severity, tooltip and instant alerts, on states built from recorded engine responses
// (test/fixtures/engines): Ollama /api/ps + a final /api/generate chunk, llama.cpp /props + /slots + /v1/models.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { deriveAlerts } from '../../src/views/alerts';
import type { DashboardState, HardwareView, ModelView } from '../../src/views/model';
import { statusAccessibilityLabel, statusSeverity, statusText, statusTooltip, TOOLTIP_COMMANDS } from '../../src/views/status';
import { DATA } from '../support/data';

const FIX = `${DATA}/engines`;
const json = (p: string) => JSON.parse(readFileSync(`${FIX}/${p}`, 'utf8'));
const GiB = 1024 ** 3;

// RTX 4090: 24 GiB VRAM, ~0.8 GiB driver reserve.
const rtx4090: HardwareView = { id: 'rtx-4090', name: 'NVIDIA GeForce RTX 4090 (24 GB)', capacityBytes: 24 * GiB, usableBytes: 23.2 * GiB, bandwidthGBps: 1008, chosenBy: 'setting' };
const thresholds = { contextFraction: 0.85, memoryFraction: 0.9, turnsLeft: 3 };

/** Ollama's recorded /api/ps entry: size = everything resident, size_vram = the GPU share, context_length = num_ctx. */
function ollamaModel(): ModelView {
  const ps = json('ollama/api_ps.json').models[0];
  const gen = json('ollama/api_generate_final.json');
  const total = ps.size as number;
  // Weights/KV/overhead split is Headroom's estimate; the total and the CPU share are the engine's.
  const kv = 0.5 * GiB;
  const overhead = 0.3 * GiB;
  return {
    key: `http://127.0.0.1:11434|${ps.name}`,
    name: ps.name,
    engine: 'ollama',
    endpoint: 'http://127.0.0.1:11434',
    hardwareId: 'rtx-4090',
    quant: ps.details.quantization_level,
    memory: {
      weights: { value: total - kv - overhead, source: 'estimated' },
      kv: { value: kv, source: 'estimated' },
      overhead: { value: overhead, source: 'estimated' },
      total: { value: total, source: 'engine' },
    },
    cpuBytes: { value: ps.size - ps.size_vram, source: 'engine' },
    context: { configured: { value: ps.context_length, source: 'engine' }, parallel: 1 },
    speed: { decode: { value: gen.eval_count / (gen.eval_duration / 1e9), source: 'engine' }, ceiling: 400 },
  };
}

/** llama.cpp's recorded /props + /slots (busy) + /v1/models: 2 slots × 4096, slot 1 holds 67 tokens. */
function llamaModel(): ModelView {
  const props = json('llama.cpp/props.json');
  const slots = json('llama.cpp/slots_busy.json') as { n_ctx: number; n_prompt_tokens?: number }[];
  const meta = json('llama.cpp/v1_models.json').data[0].meta;
  const used = Math.max(...slots.map((s) => s.n_prompt_tokens ?? 0));
  return {
    key: `http://127.0.0.1:8080|${props.model_alias}`,
    name: props.model_alias,
    engine: 'llama.cpp',
    endpoint: 'http://127.0.0.1:8080',
    hardwareId: 'rtx-4090',
    quant: 'Q4_K_M',
    memory: {
      weights: { value: meta.size, source: 'engine' },
      kv: { value: 64 * 1024 * 1024, source: 'estimated' },
      overhead: { value: 300 * 1024 * 1024, source: 'estimated' },
      total: { value: meta.size + 364 * 1024 * 1024, source: 'estimated' },
    },
    context: { configured: { value: props.default_generation_settings.n_ctx, source: 'engine' }, used: { value: used, source: 'engine' }, parallel: props.total_slots, trained: meta.n_ctx_train },
    speed: {},
  };
}

function state(models: ModelView[], over: Partial<DashboardState> = {}): DashboardState {
  const s: DashboardState = { phase: 'ready', hardware: rtx4090, engines: [{ endpoint: 'http://127.0.0.1:11434', engine: 'ollama', version: '0.12.6' }], models, alerts: [], ...over };
  return { ...s, alerts: over.alerts ?? deriveAlerts(s, thresholds) };
}

test('detecting shows a spinner and no numbers', () => {
  const s = state([], { phase: 'detecting' });
  assert.equal(statusText(s, 'memory-and-speed'), '$(loading~spin) Headroom');
  assert.match(statusTooltip(s), /Looking for local LLM engines/);
});

test('no engine says so plainly and offers Check Model Fit', () => {
  const s = state([], { phase: 'idle', engines: [], probed: ['http://127.0.0.1:11434', 'http://127.0.0.1:8080'] });
  assert.equal(statusText(s, 'memory-and-speed'), '$(server) No engine');
  const tip = statusTooltip(s);
  assert.match(tip, /No local LLM engine is running \(probed 2 endpoints on 127\\\.0\\\.0\\\.1\)/);
  assert.match(tip, /\[\$\(pass\) Check Model Fit\]\(command:headroom\.checkModelFit\)/);
  assert.equal(statusSeverity(s), 'none');
  assert.equal(statusAccessibilityLabel(s), 'Headroom: no local LLM engine found');
});

test('Ollama fixture: memory against usable, live decode speed, partial offload warning', () => {
  const m = ollamaModel();
  const s = state([m]);
  // size 6591830464 B = 6.14 GiB; usable 23.2 GiB → "23 GB"; eval 18 tokens in 52.48 ms = 343 tok/s.
  assert.equal(statusText(s, 'memory-and-speed'), '$(warning) 6.1 / 23 GB · 343 tok/s');
  assert.equal(statusText(s, 'memory'), '$(warning) 6.1 / 23 GB');
  assert.equal(statusText(s, 'speed'), '$(warning) 343 tok/s');
  assert.equal(statusText(s, 'icon'), '$(warning)');
  // size − size_vram = 1258291200 B = 1.17 GiB on the CPU → warning, not error.
  assert.equal(statusSeverity(s), 'warning');
  assert.deepEqual(s.alerts.map((a) => a.kind), ['offload']);
  const tip = statusTooltip(s);
  assert.match(tip, /\*\*gemma4\*\* · ollama · Q4\\_K\\_M/);
  assert.match(tip, /\| \*\*Total\*\* \| \*\*6\.1 GB\*\* \| _engine_ \|/);
  assert.match(tip, /\| KV cache \| 512 MB \| _estimated_ \|/);
  assert.match(tip, /Context: 4k configured _engine_/);
  assert.match(tip, /343 tok\/s \(fast\) _engine_ — 86 % of the 400 tok\/s bandwidth ceiling _estimated_/);
  assert.match(tip, /1\.2 GB spilled to system RAM _engine_/);
  assert.match(tip, /NVIDIA GeForce RTX 4090 \\\(24 GB\\\) — usable 23\.2 GB of 24\.0 GB, 1008 GB\/s _\(profile rtx\\-4090, setting\)_/);
});

test('llama.cpp fixture: used vs configured context per slot, no speed yet', () => {
  const s = state([llamaModel()]);
  assert.equal(statusText(s, 'memory-and-speed'), '$(server) 1.5 / 23 GB · — tok/s');
  assert.equal(statusSeverity(s), 'none');
  const tip = statusTooltip(s);
  // slot 1: n_prompt_tokens 67 of n_ctx 4096 → 2 %; 2 slots; n_ctx_train 131072 = 128k.
  assert.match(tip, /Context: 67 used of 4k configured \(2 %\) _engine_ · 2 slots · trained 128k/);
  assert.match(tip, /\| Weights \| 1\.2 GB \| _engine_ \|/);
});

test('two engines: memory sums, speed comes from the chosen model, remote models do not count', () => {
  const a = ollamaModel();
  const b = llamaModel();
  const remote: ModelView = { ...llamaModel(), key: 'http://10.0.0.5:8080|big', name: 'big', endpoint: 'http://10.0.0.5:8080', hardwareId: 'dgx-spark-128' };
  const s = state([a, b, remote], { activeKey: b.key });
  // 6.14 + 1.52 GiB = 7.66 GiB; the chosen llama.cpp model has no reading yet.
  assert.equal(statusText(s, 'memory-and-speed'), '$(warning) 7.7 / 23 GB · — tok/s');
  assert.match(statusTooltip(s), /\*\*big\*\* · llama\\\.cpp · Q4\\_K\\_M · remote: http:\/\/10\\\.0\\\.0\\\.5:8080/);
});

test('window nearly full → truncation warning; memory horizon → error background', () => {
  const m = llamaModel();
  m.context.used = { value: 3900, source: 'engine' };
  m.horizon = { limit: 'window', tokensLeft: 196, turnsLeft: 1, growthPerTurn: 150 };
  let s = state([m]);
  assert.deepEqual(s.alerts.map((a) => [a.kind, a.severity]), [['truncation', 'warning']]);
  assert.match(s.alerts[0]!.message, /~196 tokens \(~1 turns\) left before the 4k window truncates the prompt/);
  assert.match(statusTooltip(s), /Left: ~196 tokens \/ ~1 turn before the window truncates \(≈ 150 per turn\)/);
  m.horizon = { limit: 'memory', tokensLeft: 2000, turnsLeft: 2 };
  s = state([m]);
  assert.equal(statusSeverity(s), 'error');
  assert.deepEqual(s.alerts.map((a) => a.kind), ['oom']);
});

test('over capacity is an error attached to the biggest model', () => {
  const big = ollamaModel();
  big.cpuBytes = undefined;
  big.memory.total = { value: 30 * GiB, source: 'estimated' };
  const s = state([big, llamaModel()]);
  assert.equal(statusSeverity(s), 'error');
  assert.equal(s.alerts[0]!.kind, 'over-capacity');
  assert.equal(s.alerts[0]!.modelKey, big.key);
  assert.match(s.alerts[0]!.message, /need 31\.5 GB, more than the 23\.2 GB usable/);
});

test('hostile model names render as literal text in the tooltip', () => {
  const m = llamaModel();
  m.name = '<img src=x onerror=alert(1)> [click](command:workbench.action.terminal.new) **bold**\n# heading';
  m.quant = '`code`';
  const tip = statusTooltip(state([m]));
  assert.ok(!/(^|[^\\])<img/.test(tip), 'raw tag escaped');
  assert.ok(!tip.includes('](command:workbench'), 'no link to a foreign command');
  assert.ok(!/\n# heading/.test(tip), 'no heading injected');
  assert.match(tip, /\\<img src=x onerror=alert\\\(1\\\)\\> \\\[click\\\]\\\(command:workbench\\\.action/);
  // Every command link left in the tooltip is one of ours.
  for (const link of tip.matchAll(/\]\(command:([^)]+)\)/g)) assert.ok(TOOLTIP_COMMANDS.includes(link[1]!), link[1]);
});

test('plain-text UI strings: engine names cannot become links or icons in notifications and quick-picks', async () => {
  const { neutralize } = await import('../../src/views/markdown');
  const { describeCandidate } = await import('../../src/views/pick-items');
  const evil = '[update](command:workbench.action.terminal.new) $(alert)\nsecond line';
  const n = neutralize(evil);
  assert.ok(!n.includes('](') && !n.includes('$(') && !n.includes('\n'), n);
  assert.equal(n.replace(/\u200b/g, ''), '[update](command:workbench.action.terminal.new) $(alert) second line');
  const item = describeCandidate({ id: 'x', label: evil, section: 'available', quant: '$(zap)', note: evil });
  for (const s of [item.label, item.description!, item.detail!]) assert.ok(!s.includes('](') && !/\$\((?!error|warning|pass)/.test(s), s);
});

test('memory near capacity (above headroom.warnings.memoryFraction) is a warning; over it, an error', () => {
  const m = llamaModel();
  m.memory.total = { value: 21.5 * GiB, source: 'estimated' };
  // 21.5 / 23.2 GiB = 93 % ≥ 90 % → warning.
  let s = state([m]);
  assert.deepEqual(s.alerts.map((a) => [a.kind, a.severity]), [['over-capacity', 'warning']]);
  assert.match(s.alerts[0]!.message, /use 21\.5 GB of the 23\.2 GB usable .* \(93 %\)/);
  s = { ...s, alerts: deriveAlerts(s, { ...thresholds, memoryFraction: 0.95 }) };
  assert.deepEqual(s.alerts, []);
});

test('a prediction lowered by immature kernels or a launch build says why in the tooltip; a live reading needs no excuse', () => {
  const m = llamaModel();
  const note = 'launch build: llama.cpp build 7189 is ~3 days into its qwen3next support; an engine\'s first weeks … reach ~66 % of a mature build\'s speed';
  m.speed = { predicted: 30, predictedRange: { low: 22, high: 38, basis: 'cross-validated error of 26 hybrid runs' }, ceiling: 90, kernels: note };
  const tip = statusTooltip(state([m]));
  assert.match(tip, /≈ 30 tok\/s \(22–38\) predicted/);
  // Escaped for markdown (the note is data): compare without the escapes.
  assert.match(tip.replace(/\\/g, ''), /_Kernels:_ launch build: llama\.cpp build 7189 is ~3 days into its qwen3next support/);
  m.speed = { ...m.speed, decode: { value: 29, source: 'engine' } };
  assert.doesNotMatch(statusTooltip(state([m])), /_Kernels:_/);
});
