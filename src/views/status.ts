// Status bar text, severity and Markdown tooltip from a DashboardState. Pure: the StatusBarItem adapter
// (status-bar.ts) only copies these strings onto the item.
import type { StatusBarFormat } from '../config';
import { formatBytes, formatTokens, formatTokPerSec, formatTokPerSecRange, speedWord } from '../estimator/format';
import type { Provenance } from '../estimator/types';
import { COMMANDS } from './command-ids';
import { escapeMarkdown } from './markdown';
import type { AlertView, DashboardState, ModelView, Sourced } from './model';
import { benchTooltipValue } from './measured';

export type Severity = 'none' | 'warning' | 'error';

/** Models whose memory counts against this machine's budget (remote endpoints have their own). */
export function localModels(state: DashboardState): ModelView[] {
  return state.models.filter((m) => m.hardwareId === state.hardware.id);
}

/** The model whose speed the status bar shows: the chosen one, else the fastest one with a live reading. */
export function focusModel(state: DashboardState): ModelView | undefined {
  const chosen = state.models.find((m) => m.key === state.activeKey);
  if (chosen) return chosen;
  const measured = state.models.filter((m) => m.speed.decode);
  measured.sort((a, b) => b.speed.decode!.value - a.speed.decode!.value);
  return measured[0] ?? state.models[0];
}

/** Total bytes of all local models (weights + KV allocated + buffers). */
export function usedBytes(state: DashboardState): number {
  return localModels(state).reduce((s, m) => s + m.memory.total.value, 0);
}

export function statusSeverity(state: DashboardState): Severity {
  if (state.alerts.some((a) => a.severity === 'error')) return 'error';
  if (state.alerts.length > 0) return 'warning';
  return 'none';
}

function gbPair(used: number, usable: number, others?: number): string {
  // "41.2 / 96 GB": the unit once, at the end; always GB so the label does not jump between units.
  // With a live reading, other processes' share follows the models': "41.2+3.1 / 96 GB".
  const GiB = 1024 ** 3;
  const gb = (b: number) => (b / GiB).toFixed(b >= 100 * GiB ? 0 : 1);
  const plus = others !== undefined && others >= 0.1 * GiB ? `+${gb(others)}` : '';
  return `${gb(used)}${plus} / ${(usable / GiB).toFixed(0)} GB`;
}

/** The status bar label, e.g. `$(server) 41.2 / 96 GB · 38 tok/s`. */
export function statusText(state: DashboardState, format: StatusBarFormat): string {
  if (state.phase === 'detecting') return '$(loading~spin) Headroom';
  const icon = statusSeverity(state) === 'none' ? '$(server)' : '$(warning)';
  if (state.phase === 'idle') return format === 'icon' ? '$(server)' : '$(server) No engine';
  if (format === 'icon') return icon;
  const mem = gbPair(usedBytes(state), state.budget?.usableBytes ?? state.hardware.usableBytes, state.budget?.othersBytes);
  const focus = focusModel(state);
  const speed = focus?.speed.decode ? formatTokPerSec(focus.speed.decode.value) : state.models.length === 0 ? 'idle' : '— tok/s';
  switch (format) {
    case 'memory':
      return `${icon} ${mem}`;
    case 'speed':
      return `${icon} ${speed}`;
    default:
      return `${icon} ${mem} · ${speed}`;
  }
}

/** An accessible, plain-text description of the item for screen readers. */
export function statusAccessibilityLabel(state: DashboardState): string {
  if (state.phase === 'detecting') return 'Headroom: detecting local LLM engines';
  if (state.phase === 'idle') return 'Headroom: no local LLM engine found';
  const focus = focusModel(state);
  const speed = focus?.speed.decode ? `, ${formatTokPerSec(focus.speed.decode.value)} decode` : '';
  const alerts = state.alerts.length ? `, ${state.alerts.length} warning${state.alerts.length > 1 ? 's' : ''}` : '';
  const others = state.budget?.othersBytes !== undefined ? `, ${formatBytes(state.budget.othersBytes)} by other processes` : '';
  return `Headroom: ${formatBytes(usedBytes(state))} of ${formatBytes(state.budget?.usableBytes ?? state.hardware.usableBytes)} usable memory in use by models${others}${speed}${alerts}`;
}

const SOURCE_LABEL: Record<Provenance, string> = {
  engine: 'engine',
  measured: 'measured',
  gguf: 'GGUF header',
  catalog: 'estimated (catalog)',
  estimated: 'estimated',
  user: 'your setting',
};

export function sourceLabel(s: Provenance): string {
  return SOURCE_LABEL[s];
}

function src(s: Sourced | undefined): string {
  return s ? `_${sourceLabel(s.source)}_` : '';
}

function pct(part: number, whole: number): string {
  return whole > 0 ? `${Math.round((part / whole) * 100)} %` : '—';
}

function contextLine(m: ModelView): string | undefined {
  const { configured, used, parallel, trained } = m.context;
  if (!configured && !used) return undefined;
  const parts: string[] = [];
  if (used && configured) parts.push(`${formatTokens(used.value)} used of ${formatTokens(configured.value)} configured (${pct(used.value, configured.value)}) ${src(used)}`);
  else if (configured) parts.push(`${formatTokens(configured.value)} configured ${src(configured)}`);
  else if (used) parts.push(`${formatTokens(used.value)} used ${src(used)}`);
  if (parallel > 1) parts.push(`${parallel} slots`);
  if (trained) parts.push(`trained ${formatTokens(trained)}`);
  return `Context: ${parts.join(' · ')}`;
}

/** The engine reports no token counts and no request for this model went through the proxy: say so, and the fix. */
export function blindLine(m: ModelView): string | undefined {
  if (m.context.used || m.metered) return undefined;
  return `$(eye-closed) Context use not visible — ${escapeMarkdown(m.engine)} reports no token counts and the agent's requests bypass the metering proxy. ${commandLink('$(plug) Connect Agent', COMMANDS.connectAgent.id)}`;
}

function horizonLine(m: ModelView, othersBytes?: number): string | undefined {
  const h = m.horizon;
  if (!h) return undefined;
  if (h.limit === 'memory' && othersBytes !== undefined && othersBytes >= 0.1 * 1024 ** 3) {
    const turns = h.turnsLeft !== undefined ? ` (~${h.turnsLeft} turn${h.turnsLeft === 1 ? '' : 's'})` : '';
    return `${formatBytes(othersBytes)} taken by other processes; the KV cache reaches the limit in ~${formatTokens(Math.max(0, Math.round(h.tokensLeft)))} tokens${turns}`;
  }
  const what = h.limit === 'window' ? 'the window truncates' : 'memory runs out';
  const turns = h.turnsLeft !== undefined ? ` / ~${h.turnsLeft} turn${h.turnsLeft === 1 ? '' : 's'}` : '';
  const growth = h.growthPerTurn ? ` (≈ ${formatTokens(Math.round(h.growthPerTurn))} per turn)` : '';
  return `Left: ~${formatTokens(Math.max(0, Math.round(h.tokensLeft)))} tokens${turns} before ${what}${growth}`;
}

function speedLine(m: ModelView): string | undefined {
  const { decode, predicted, ceiling, bench } = m.speed;
  if (!decode && !predicted && !ceiling && !bench) return undefined;
  const parts: string[] = [];
  if (decode) parts.push(`${formatTokPerSec(decode.value)} (${speedWord(decode.value)}) ${src(decode)}`);
  // No live reading: a measurement of this stack beats the bare speed model.
  else if (bench) parts.push(benchTooltipValue(bench));
  else if (predicted) parts.push(`${formatTokPerSecRange(predicted, m.speed.predictedRange)} predicted (${speedWord(predicted)})`);
  const shown = decode?.value ?? bench?.tokPerSec;
  if (ceiling) parts.push(shown !== undefined ? `${pct(shown, ceiling)} of the ${formatTokPerSec(ceiling)} bandwidth ceiling _estimated_` : `ceiling ${formatTokPerSec(ceiling)} _estimated_`);
  const kernels = m.speed.kernels && !decode && !bench ? `\n\n_Kernels:_ ${escapeMarkdown(m.speed.kernels)}` : '';
  return `Decode (bandwidth-bound): ${parts.join(' — ')}${kernels}`;
}

function modelSection(m: ModelView, remote: boolean, othersBytes?: number, cpuGBps?: number): string[] {
  const head = [`**${escapeMarkdown(m.name)}**`, escapeMarkdown(m.engine), m.quant ? escapeMarkdown(m.quant) : undefined, remote ? `remote: ${escapeMarkdown(m.endpoint)}` : undefined]
    .filter(Boolean)
    .join(' · ');
  const mem = m.memory;
  const lines = [
    head,
    '',
    '| | | |',
    '|---|--:|---|',
    `| Weights | ${formatBytes(mem.weights.value)} | ${src(mem.weights)} |`,
    m.shapeUnknown ? '| KV cache | — | _architecture unknown_ |' : `| KV cache | ${formatBytes(mem.kv.value)} | ${src(mem.kv)} |`,
    m.shapeUnknown ? '| Overhead | — | _architecture unknown_ |' : `| Overhead | ${formatBytes(mem.overhead.value)} | ${src(mem.overhead)} |`,
    `| **Total** | **${formatBytes(mem.total.value)}** | ${src(mem.total)} |`,
    '',
  ];
  for (const l of [contextLine(m), blindLine(m), horizonLine(m, remote ? undefined : othersBytes), speedLine(m)]) if (l) lines.push(l, '');
  if (m.cpuBytes && m.cpuBytes.value > 0) {
    const ram = cpuGBps ? ` (${cpuGBps} GB/s, _measured_)` : '';
    lines.push(`$(warning) ${formatBytes(m.cpuBytes.value)} spilled to system RAM ${src(m.cpuBytes)} — decode runs at CPU memory speed${ram} for that share`, '');
  }
  return lines;
}

/** Models, other processes, free and the usable limit — each with where it came from (issue 12). */
export function budgetTable(b: NonNullable<DashboardState['budget']>): string[] {
  const s = (t: string) => `_${escapeMarkdown(t)}_`;
  const lines = ['| Memory now | | |', '|---|--:|---|', `| Models (engines) | ${formatBytes(b.enginesBytes)} | ${s(b.sources.engines)} |`];
  if (b.othersBytes !== undefined) lines.push(`| Other processes | ${formatBytes(b.othersBytes)} | ${s(b.sources.others)} |`);
  lines.push(`| Free | ${formatBytes(b.freeBytes)} | ${s(b.sources.free)} |`, `| Usable limit | ${formatBytes(b.usableBytes)} | ${s(b.sources.usable)} |`);
  if (b.swapUsedBytes !== undefined && b.swapUsedBytes > 0) lines.push(`| Swap in use | ${formatBytes(b.swapUsedBytes)} | ${b.swapGrowthBytes ? `+${formatBytes(b.swapGrowthBytes)} since models loaded` : ''} |`);
  lines.push('');
  return lines;
}

function alertLine(a: AlertView): string {
  return `${a.severity === 'error' ? '$(error)' : '$(warning)'} ${escapeMarkdown(a.message)}`;
}

function commandLink(title: string, id: string): string {
  return `[${title}](command:${id})`;
}

/** The Markdown tooltip. Command links only point at our own commands (the adapter trusts exactly those). */
export function statusTooltip(state: DashboardState): string {
  const hw = state.hardware;
  const hwLine = `${escapeMarkdown(hw.name)} — usable ${formatBytes(hw.usableBytes)} of ${formatBytes(hw.capacityBytes)}${hw.capacityOverridden ? ' (your setting)' : ''}, ${hw.bandwidthGBps} GB/s _(profile ${escapeMarkdown(hw.id)}, ${hw.chosenBy})_`;
  const out: string[] = ['**Headroom**', ''];
  if (state.phase === 'detecting') {
    out.push('Looking for local LLM engines…', '', hwLine);
    return out.join('\n');
  }
  if (state.phase === 'idle') {
    const where = state.probed?.length ? ` (probed ${state.probed.length} endpoint${state.probed.length > 1 ? 's' : ''} on ${escapeMarkdown(summarizeHosts(state.probed))})` : '';
    out.push(`No local LLM engine is running${where}.`, '', hwLine, '', `${commandLink('$(pass) Check Model Fit', COMMANDS.checkModelFit.id)} · ${commandLink('$(refresh) Detect Engines', COMMANDS.detectEngines.id)}`);
    return out.join('\n');
  }
  const used = usedBytes(state);
  const usable = state.budget?.usableBytes ?? hw.usableBytes;
  out.push(`${formatBytes(used)} of ${formatBytes(usable)} usable in use (${pct(used, usable)})`, '', hwLine, '');
  if (state.budget) out.push(...budgetTable(state.budget));
  for (const a of state.alerts) out.push(alertLine(a), '');
  if (state.models.length === 0) {
    const engines = state.engines.map((e) => `${escapeMarkdown(e.engine)}${e.version ? ' ' + escapeMarkdown(e.version) : ''}`).join(', ');
    out.push(`No model loaded (${engines || 'no engine'}).`, '');
  }
  for (const m of state.models) {
    const remote = m.hardwareId !== hw.id;
    out.push('---', '', ...modelSection(m, remote, state.budget?.othersBytes, remote ? undefined : state.budget?.cpuBandwidthGBps));
  }
  out.push('---', '', `${commandLink('$(graph) Open Panel', COMMANDS.openPanel.id)} · ${commandLink('$(list-selection) Choose Model', COMMANDS.chooseModel.id)} · ${commandLink('$(pass) Check Model Fit', COMMANDS.checkModelFit.id)}`);
  return out.join('\n');
}

function summarizeHosts(endpoints: string[]): string {
  const hosts = new Set<string>();
  for (const e of endpoints) {
    try {
      hosts.add(new URL(e).hostname);
    } catch {
      hosts.add(e);
    }
  }
  return [...hosts].slice(0, 3).join(', ') + (hosts.size > 3 ? ', …' : '');
}

/** The command ids the tooltip may link to (the adapter sets `isTrusted.enabledCommands` to exactly these). */
export const TOOLTIP_COMMANDS: readonly string[] = [COMMANDS.checkModelFit.id, COMMANDS.detectEngines.id, COMMANDS.openPanel.id, COMMANDS.chooseModel.id, COMMANDS.connectAgent.id];
