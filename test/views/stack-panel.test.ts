// Plan Agent Stack: the planner's result in the panel's shapes, and stacks read from settings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config';
import { findHardware } from '../../src/estimator/hardware';
import { planStack } from '../../src/estimator/planner';
import { parseHostMessage } from '../../src/views/protocol';
import { EXAMPLE_STACK, loadedStack, stackPanel } from '../../src/views/stack-panel';

const GiB = 1024 ** 3;

test('the seeds stack on a 24 GB card: the orchestrator alone is too big; no change claimed to fix it', () => {
  // Qwen3-32B Q4_K_M is ~19 GB of weights, and its 64k f16 KV another 16 GB (64 layers × 8 KV heads × 128 × 2 × 2 B × 65536).
  const plan = planStack(EXAMPLE_STACK, findHardware('rtx-4090')!);
  assert.equal(plan.fitsResident, false);
  const data = stackPanel(plan, EXAMPLE_STACK);
  assert.equal(data.alternatives[0]!.fits, false);
  assert.ok(data.alternatives[0]!.memoryBytes > 30 * GiB);
  if (!plan.remedies.some((r) => r.fits)) assert.doesNotMatch(data.verdict!.summary, /make it fit/);
});

test('the seeds stack on a 48 GB Mac (36 GB usable): short by a few GB; remedies with copyable settings; valid panel data', () => {
  const plan = planStack(EXAMPLE_STACK, findHardware('m4-pro-48')!);
  assert.equal(plan.fitsResident, false);
  const data = stackPanel(plan, EXAMPLE_STACK);
  assert.equal(parseHostMessage({ type: 'show', data }).ok, true);
  assert.equal(data.verdict!.kind, 'capacity-bound');
  const members = data.alternatives.filter((r) => r.id.startsWith('member-'));
  assert.deepEqual(members.map((r) => r.label.split(':')[0]), ['orchestrator', 'coder', 'embedding', 'reranker']);
  assert.ok(members[0]!.memoryBytes > 30 * GiB, `${members[0]!.memoryBytes / GiB} GiB`);
  assert.equal(members[2]!.cost, 'encoder: no decode');
  // A member that decodes shows its band, empty and with a full window.
  assert.ok(members[0]!.decodeRange && members[0]!.decodeRange.low <= members[0]!.decodeTokPerSec! && members[0]!.decodeTokPerSec! <= members[0]!.decodeRange.high);
  assert.match(members[0]!.cost, /^decodes alone; ≈ [\d.]+ tok\/s \([\d.]+–[\d.]+\) with a full window$/);
  const remedies = data.alternatives.filter((r) => r.id.startsWith('remedy-'));
  assert.ok(remedies.length > 0);
  for (const r of remedies) {
    assert.equal(r.action?.kind, 'copy');
    const pasted = JSON.parse((r.action as { text: string }).text);
    // What the user pastes back into headroom.stacks parses as a valid stack.
    assert.deepEqual(parseConfig({ stacks: [pasted] }).notes, []);
  }
  assert.equal(data.curve.length, 0);
});

test('on a 128 GB Mac the same stack stays resident', () => {
  const plan = planStack(EXAMPLE_STACK, findHardware('m5-max-128')!);
  assert.equal(plan.fitsResident, true);
  const data = stackPanel(plan, EXAMPLE_STACK);
  assert.equal(data.verdict!.kind, 'resident');
  assert.match(data.verdict!.summary, /^All 4 models stay resident with \d+(\.\d)? GB to spare\.$/);
});

test('stacks setting: valid stacks kept, bad ones dropped with a note; loaded models as a stack', () => {
  const { config, notes } = parseConfig({ stacks: [EXAMPLE_STACK, { name: 'bad', members: [{ model: 'x', ctx: 10 }] }, 'nope'] });
  assert.deepEqual(config.stacks, [EXAMPLE_STACK]);
  assert.equal(notes.length, 2);
  assert.match(notes[0]!, /members\.0\.ctx/);
  const state = {
    phase: 'ready' as const,
    hardware: { id: 'rtx-4090', name: 'x', capacityBytes: 1, usableBytes: 1, bandwidthGBps: 1, chosenBy: 'setting' as const },
    engines: [],
    alerts: [],
    models: [
      { key: 'a|qwen3:8b', name: 'qwen3:8b', engine: 'ollama', endpoint: 'a', hardwareId: 'rtx-4090', quant: 'Q4_K_M', memory: { weights: { value: 1, source: 'engine' as const }, kv: { value: 1, source: 'estimated' as const }, overhead: { value: 1, source: 'estimated' as const }, total: { value: 3, source: 'engine' as const } }, context: { configured: { value: 8192, source: 'engine' as const }, parallel: 2 }, speed: {} },
      { key: 'b|far', name: 'far', engine: 'ollama', endpoint: 'b', hardwareId: 'dgx-spark-128', memory: { weights: { value: 1, source: 'engine' as const }, kv: { value: 1, source: 'estimated' as const }, overhead: { value: 1, source: 'estimated' as const }, total: { value: 3, source: 'engine' as const } }, context: { parallel: 1 }, speed: {} },
    ],
  };
  assert.deepEqual(loadedStack(state), { name: 'Loaded now', members: [{ model: 'qwen3:8b', quant: 'Q4_K_M', ctx: 8192, parallel: 2 }] });
  assert.equal(loadedStack({ ...state, models: [] }), undefined);
});

test('the panel offers the stack as llama-swap YAML, an Ollama environment and a script: the same text as plan --emit', async () => {
  const { parse } = await import('yaml');
  const { emitPlan } = await import('../../src/estimator/plan-export');
  const plan = planStack(EXAMPLE_STACK, findHardware('m5-max-128')!);
  const data = stackPanel(plan, EXAMPLE_STACK);
  assert.equal(parseHostMessage({ type: 'show', data }).ok, true);
  const rows = Object.fromEntries(data.alternatives.filter((r) => r.id.startsWith('emit-')).map((r) => [r.id, r]));
  assert.deepEqual(Object.keys(rows).sort(), ['emit-llama-swap', 'emit-ollama-env', 'emit-script']);
  const yaml = (rows['emit-llama-swap']!.action as { kind: string; text: string }).text;
  assert.equal(yaml, emitPlan(plan, 'llama-swap'));
  const y = parse(yaml) as { models: Record<string, unknown>; groups: { resident: { members: string[] } } };
  assert.equal(Object.keys(y.models).length, EXAMPLE_STACK.members.length);
  assert.equal(y.groups.resident.members.length, EXAMPLE_STACK.members.length);
});
