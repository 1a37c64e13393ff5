// "Plan Agent Stack": the planner's result (src/estimator/planner.ts) laid out in the panel's shapes —
// members and the changes that make the stack fit as table rows, totals as facts. Pure.
import { formatBytes, formatTokens, formatTokPerSecRange } from '../estimator/format';
import type { Remedy, Stack, StackPlan } from '../estimator/planner';
import type { StackSetting } from '../config';
import type { DashboardState } from './model';
import type { AlternativeRow, PanelData } from './protocol';
import { EMIT_FORMATS, emitPlan, type EmitFormat } from '../estimator/plan-export';

const EXPORTS: Record<EmitFormat, { label: string; cost: string }> = {
  'llama-swap': { label: 'Export: llama-swap config (YAML)', cost: 'members that fit together in one resident group; cmd, ttl and planned memory per member' },
  'ollama-env': { label: 'Export: Ollama server environment', cost: 'OLLAMA_MAX_LOADED_MODELS / NUM_PARALLEL / KEEP_ALIVE, num_ctx per model' },
  script: { label: 'Export: shell script, one llama-server per member', cost: 'each resident member on its own port' },
};

/** The seeds' resident agentic stack: orchestrator + coding model + embedder + reranker with long contexts. */
export const EXAMPLE_STACK: StackSetting = {
  name: 'Example: orchestrator + coder + embedder + reranker',
  members: [
    { role: 'orchestrator', model: 'Qwen/Qwen3-32B', quant: 'Q4_K_M', ctx: 65536 },
    { role: 'coder', model: 'Qwen/Qwen2.5-Coder-7B-Instruct', quant: 'Q4_K_M', ctx: 32768 },
    { role: 'embedding', model: 'nomic-embed-text', ctx: 2048 },
    { role: 'reranker', model: 'bge-reranker-v2-m3', ctx: 8192 },
  ],
};

/** The models loaded right now as a stack (local hardware only: a LAN box is its own budget). */
export function loadedStack(state: DashboardState): StackSetting | undefined {
  const local = state.models.filter((m) => m.hardwareId === state.hardware.id);
  if (local.length === 0) return undefined;
  return {
    name: 'Loaded now',
    members: local.map((m) => ({ model: m.name, ...(m.quant ? { quant: m.quant } : {}), ctx: m.context.configured?.value ?? 4096, ...(m.context.parallel > 1 ? { parallel: m.context.parallel } : {}) })),
  };
}

const REMEDY_KIND: Record<Remedy['kind'], AlternativeRow['kind']> = { 'kv-q8_0': 'kv', 'kv-q4_0': 'kv', 'single-slot': 'slots', 'lower-quant': 'quant', 'cap-context': 'context', combined: 'quant' };

export function stackPanel(plan: StackPlan, stack: Stack): PanelData {
  const hw = plan.hardware;
  const rows: AlternativeRow[] = plan.members.map((m, i) => ({
    id: `member-${i}`,
    kind: 'model',
    label: `${m.role}: ${m.name} ${m.quant}, ${formatTokens(m.ctx)}${m.parallel > 1 ? ` × ${m.parallel}` : ''}${m.kvType !== 'f16' ? `, KV ${m.kvType}` : ''}`,
    memoryBytes: m.memory.totalBytes,
    fits: m.memory.totalBytes <= hw.usableBytes,
    ...(m.decode ? { decodeTokPerSec: m.decode.emptyTokPerSec, ...(m.decode.decodeRange ? { decodeRange: { low: m.decode.decodeRange.low, high: m.decode.decodeRange.high } } : {}) } : {}),
    cost: m.decode ? `decodes alone; ${formatTokPerSecRange(m.decode.fullTokPerSec, m.decode.decodeRangeFull)} with a full window` : 'encoder: no decode',
  }));
  plan.remedies.forEach((r, i) =>
    rows.push({
      id: `remedy-${i}`,
      kind: REMEDY_KIND[r.kind],
      label: r.change,
      memoryBytes: r.totalBytes,
      fits: r.fits,
      cost: `${r.cost} (saves ${formatBytes(r.savedBytes)})`,
      action: { kind: 'copy', label: 'Copy as setting', text: JSON.stringify({ name: `${stack.name} (${r.kind})`, members: r.members }).slice(0, 2000) },
    }),
  );
  // The same text `headroom plan --emit` prints, one copy button per format.
  for (const f of EMIT_FORMATS) {
    rows.push({ id: `emit-${f}`, kind: 'model', label: EXPORTS[f].label, memoryBytes: plan.totalBytes, fits: plan.fitsResident, cost: EXPORTS[f].cost, action: { kind: 'copy', label: 'Copy', text: emitPlan(plan, f).slice(0, 20000) } });
  }
  const summary = plan.fitsResident
    ? `All ${plan.members.length} models stay resident with ${formatBytes(plan.headroomBytes)} to spare.`
    : `The stack needs ${formatBytes(plan.totalBytes)}, ${formatBytes(-plan.headroomBytes)} more than the ${formatBytes(hw.usableBytes)} usable${plan.remedies.some((r) => r.fits) ? ' — the changes below make it fit' : ''}.`;
  return {
    title: stack.name,
    subtitle: `${plan.members.length} resident models · ${hw.name}`,
    hardware: { name: hw.name, usableBytes: hw.usableBytes, capacityBytes: hw.capacityBytes, bandwidthGBps: hw.bandwidthGBps },
    curve: [],
    markers: {},
    facts: [
      { label: 'Resident total', value: formatBytes(plan.totalBytes), source: 'estimated' },
      { label: 'Usable', value: `${formatBytes(hw.usableBytes)} of ${formatBytes(hw.capacityBytes)}` },
      { label: plan.fitsResident ? 'Headroom' : 'Short by', value: formatBytes(Math.abs(plan.headroomBytes)), source: 'estimated' },
      ...(plan.swap ? [{ label: 'If swapping', value: `${plan.swap.secondsPerSwap[0]}–${plan.swap.secondsPerSwap[1]} s per swap`, source: plan.swap.source.slice(0, 40) }] : []),
    ],
    alternatives: rows.slice(0, 200),
    speed: { history: [] },
    verdict: { kind: plan.fitsResident ? 'resident' : 'capacity-bound', summary },
    notes: [...plan.notes, ...(plan.swap ? [plan.swap.note] : [])].slice(0, 20).map((n) => n.slice(0, 500)),
  };
}
