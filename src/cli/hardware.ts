// `headroom hardware`: the built-in profiles and what was detected on this machine.
import { parseFlags } from './args';
import { CliError } from './errors';
import { renderTable } from './table';
import { DEFAULT_HARDWARE_ID, HARDWARE_PROFILES, findHardware, usableBytes, withCapacityOverride, type HardwareSpec } from '../estimator/hardware';
import { formatBytes } from '../estimator/format';
import { detectLiveHardware } from '../providers/local-hardware';
import type { LiveMemory } from '../estimator/live';

const LOCAL = new Set(['local', 'this', 'auto', 'detect']);

/**
 * `--hardware ID` (a profile id, or `local` for this machine) and `--capacity-gb N`.
 * `fallback` is used when no flag is given: a profile id, or 'local'.
 */
export async function resolveHardwareFlag(flag: string | undefined, capacityGb: number | undefined, fallback: string): Promise<{ hw: HardwareSpec; detail?: string; live?: LiveMemory }> {
  const want = (flag ?? fallback).trim().toLowerCase();
  let hw: HardwareSpec | undefined;
  let detail: string | undefined;
  let live: LiveMemory | undefined;
  if (LOCAL.has(want)) {
    const d = await detectLiveHardware({ measureCpu: true, log: (m) => process.stderr.write(`headroom: ${m}\n`) });
    hw = d.profile;
    detail = d.detail;
    live = d.live;
  } else {
    hw = findHardware(want);
    if (!hw) {
      const close = HARDWARE_PROFILES.map((p) => p.id).filter((id) => id.split('-')[0] === want.split('-')[0] || id.includes(want));
      throw new CliError(`unknown hardware '${flag}'${close.length ? ` — did you mean: ${close.join(', ')}?` : ''} (profiles: \`headroom hardware\`, or --hardware local)`);
    }
  }
  if (capacityGb !== undefined) hw = withCapacityOverride(hw, capacityGb);
  return { hw, ...(detail ? { detail } : {}), ...(live ? { live } : {}) };
}

function profileJson(p: HardwareSpec) {
  return {
    id: p.id,
    name: p.name,
    kind: p.kind,
    backend: p.backend,
    capacityBytes: Math.round(p.capacityBytes),
    usableBytes: usableBytes(p),
    usableFraction: Math.round(p.usableFraction * 1000) / 1000,
    bandwidthGBps: p.bandwidthGBps,
    ...(p.measuredBandwidthGBps !== undefined ? { measuredBandwidthGBps: p.measuredBandwidthGBps } : {}),
    fp16Tflops: p.fp16Tflops,
    unifiedMemory: p.unifiedMemory,
    source: p.source ?? '',
  };
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { json: { type: 'boolean' } });
  if (values.help) {
    process.stdout.write('usage: headroom hardware [--json]\n\nLists the hardware profiles and what was detected on this machine.\n');
    return 0;
  }
  const d = await detectLiveHardware({ measureCpu: true, log: (m) => process.stderr.write(`headroom: ${m}\n`) });
  if (values.json) {
    const out = {
      default: DEFAULT_HARDWARE_ID,
      detected: { detail: d.detail, exact: d.exact, profile: profileJson(d.profile), facts: d.facts, live: d.live ?? null },
      profiles: HARDWARE_PROFILES.map(profileJson),
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return 0;
  }
  const rows = HARDWARE_PROFILES.map((p) => [
    p.id + (p.id === DEFAULT_HARDWARE_ID ? ' *' : ''),
    p.name,
    formatBytes(p.capacityBytes, 0),
    `${formatBytes(usableBytes(p))} (${Math.round(p.usableFraction * 100)} %)`,
    `${p.bandwidthGBps}${p.measuredBandwidthGBps ? ` (~${p.measuredBandwidthGBps} measured)` : ''}`,
    String(p.fp16Tflops),
  ]);
  process.stdout.write(
    renderTable(
      [{ header: 'id' }, { header: 'name' }, { header: 'memory', align: 'right' }, { header: 'usable by the model', align: 'right' }, { header: 'GB/s', align: 'right' }, { header: 'FP16 TFLOPS', align: 'right' }],
      rows,
    ) +
      `\n\n* default when nothing is known. Apple GPUs get ~75 % of unified memory by default (sudo sysctl iogpu.wired_limit_mb=N raises it).\n` +
      `this machine: ${d.detail}${d.exact ? '' : ` → custom profile '${d.profile.id}' (${formatBytes(d.profile.capacityBytes)}, ${d.profile.bandwidthGBps} GB/s)`}\n` +
      (d.live ? liveLines(d.live) : 'now: no live memory reading on this machine\n'),
  );
  return 0;
}

/** The live reading for humans: pool, free, others, swap, wired limit, bandwidth — each with its source. */
export function liveLines(l: LiveMemory): string {
  const out = [`now (${l.source}, ${l.at}):`];
  const pool = l.pool === 'gpu' ? 'GPU memory' : l.pool === 'apu' ? 'GPU memory (APU carve-out + GTT)' : 'system memory';
  out.push(`  ${pool}: ${formatBytes(l.availableBytes)} available of ${formatBytes(l.totalBytes)}${l.usedByOthersBytes !== undefined ? `, ${formatBytes(l.usedByOthersBytes)} in use by running processes` : ''}`);
  for (const g of l.gpus ?? []) out.push(`  ${g.name}: ${formatBytes(g.usedBytes)} used, ${formatBytes(g.freeBytes)} free of ${formatBytes(g.totalBytes)} (${g.source})`);
  if (l.system) out.push(`  system memory: ${formatBytes(l.system.availableBytes)} available of ${formatBytes(l.system.totalBytes)}`);
  if (l.swapUsedBytes !== undefined) out.push(`  swap in use: ${formatBytes(l.swapUsedBytes)}${l.swapTotalBytes !== undefined ? ` of ${formatBytes(l.swapTotalBytes)}` : ''}`);
  if (l.wiredLimitBytes !== undefined) out.push(`  GPU wired limit: ${formatBytes(l.wiredLimitBytes)} (${l.wiredLimitSet ? 'iogpu.wired_limit_mb' : 'macOS default; iogpu.wired_limit_mb = 0'})`);
  if (l.cpuBandwidthGBps !== undefined) out.push(`  memory bandwidth: ${l.cpuBandwidthGBps} GB/s measured (${l.cpuBandwidthSource ?? 'streaming read'})`);
  for (const n of l.notes ?? []) out.push(`  note: ${n}`);
  return out.join('\n') + '\n';
}

export { LOCAL as LOCAL_HARDWARE_NAMES };
