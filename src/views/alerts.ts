// Instant alerts derived from the current state: what colours the status bar right now. Notifications use the
// metering engineer's hysteresis on top of these (one per model per episode), see warnings-presenter.ts.
import type { HeadroomConfig } from '../config';
import { formatBytes, formatTokens } from '../estimator/format';
import type { AlertView, DashboardState } from './model';
import { SWAP_GROWTH_BYTES } from '../estimator/live';

export type AlertThresholds = Pick<HeadroomConfig['warnings'], 'contextFraction' | 'memoryFraction' | 'turnsLeft'>;

export function deriveAlerts(state: Pick<DashboardState, 'models' | 'hardware'> & { budget?: DashboardState['budget'] }, t: AlertThresholds): AlertView[] {
  const out: AlertView[] = [];
  const local = state.models.filter((m) => m.hardwareId === state.hardware.id);
  const total = local.reduce((s, m) => s + m.memory.total.value, 0);
  const b = state.budget;
  const usable = b?.usableBytes ?? state.hardware.usableBytes;
  // With a live reading, what other processes hold now counts too: "used" is everything but what is free.
  const others = b?.othersBytes;
  const used = others !== undefined ? Math.max(total, usable - b!.freeBytes) : total;
  const biggest = [...local].sort((a, c) => c.memory.total.value - a.memory.total.value)[0];
  if (biggest && used > usable * t.memoryFraction) {
    // Attach to the largest model: that is where a change (lower quant, smaller window) helps most.
    const over = total > usable || (others !== undefined && b!.freeBytes <= 0);
    const taken = others !== undefined && others >= 0.1 * 1024 ** 3 ? ` with ${formatBytes(others)} taken by other processes` : '';
    out.push({
      modelKey: biggest.key,
      kind: 'over-capacity',
      severity: over ? 'error' : 'warning',
      message: over
        ? `Loaded models need ${formatBytes(total)}${taken}, more than the ${formatBytes(usable)} usable on ${state.hardware.name}`
        : `Loaded models use ${formatBytes(total)}${taken} of the ${formatBytes(usable)} usable on ${state.hardware.name} (${Math.round((used / usable) * 100)} %): little room for context growth`,
    });
  }
  if (biggest && b?.swapGrowthBytes !== undefined && b.swapGrowthBytes >= SWAP_GROWTH_BYTES) {
    out.push({
      modelKey: biggest.key,
      kind: 'swap',
      severity: 'warning',
      message: `Swap grew by ${formatBytes(b.swapGrowthBytes)} while ${biggest.name} is loaded: the machine is short of memory and decode slows to disk speed (close other apps, or use a smaller quant or context)`,
    });
  }
  for (const m of state.models) {
    if (m.cpuBytes && m.cpuBytes.value > 0) {
      out.push({
        modelKey: m.key,
        kind: 'offload',
        severity: 'warning',
        message: `${m.name}: ${formatBytes(m.cpuBytes.value)} of ${formatBytes(m.memory.total.value)} runs from system RAM (partial offload), so decode is CPU-bandwidth-bound`,
      });
    }
    const { used, configured } = m.context;
    const h = m.horizon;
    const fillNear = used && configured && configured.value > 0 && used.value / configured.value >= t.contextFraction;
    const turnsNear = h?.turnsLeft !== undefined && h.turnsLeft <= t.turnsLeft;
    if (h?.limit === 'memory' && (turnsNear || h.tokensLeft <= 0)) {
      out.push({
        modelKey: m.key,
        kind: 'oom',
        severity: 'error',
        message: `${m.name}: ~${formatTokens(Math.max(0, Math.round(h.tokensLeft)))} tokens${h.turnsLeft !== undefined ? ` (~${h.turnsLeft} turns)` : ''} before the context it needs no longer fits in memory`,
      });
    } else if (fillNear || (h?.limit === 'window' && turnsNear)) {
      const left = h ? `~${formatTokens(Math.max(0, Math.round(h.tokensLeft)))} tokens${h.turnsLeft !== undefined ? ` (~${h.turnsLeft} turns)` : ''} left` : `${formatTokens(used!.value)} of ${formatTokens(configured!.value)} used`;
      out.push({ modelKey: m.key, kind: 'truncation', severity: 'warning', message: `${m.name}: ${left} before the ${configured ? formatTokens(configured.value) : ''} window truncates the prompt`.replace('  ', ' ') });
    }
  }
  return out;
}
