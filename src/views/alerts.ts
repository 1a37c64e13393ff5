// Instant alerts derived from the current state: what colours the status bar right now. Notifications use the
// metering engineer's hysteresis on top of these (one per model per episode), see warnings-presenter.ts.
import type { HeadroomConfig } from '../config';
import { formatBytes, formatTokens } from '../estimator/format';
import type { AlertView, DashboardState } from './model';

export type AlertThresholds = Pick<HeadroomConfig['warnings'], 'contextFraction' | 'memoryFraction' | 'turnsLeft'>;

export function deriveAlerts(state: Pick<DashboardState, 'models' | 'hardware'>, t: AlertThresholds): AlertView[] {
  const out: AlertView[] = [];
  const local = state.models.filter((m) => m.hardwareId === state.hardware.id);
  const total = local.reduce((s, m) => s + m.memory.total.value, 0);
  const usable = state.hardware.usableBytes;
  if (local.length > 0 && total > usable * t.memoryFraction) {
    // Attach to the largest model: that is where a change (lower quant, smaller window) helps most.
    const biggest = [...local].sort((a, b) => b.memory.total.value - a.memory.total.value)[0]!;
    const over = total > usable;
    out.push({
      modelKey: biggest.key,
      kind: 'over-capacity',
      severity: over ? 'error' : 'warning',
      message: over
        ? `Loaded models need ${formatBytes(total)}, more than the ${formatBytes(usable)} usable on ${state.hardware.name}`
        : `Loaded models use ${formatBytes(total)} of the ${formatBytes(usable)} usable on ${state.hardware.name} (${Math.round((total / usable) * 100)} %): little room for context growth`,
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
