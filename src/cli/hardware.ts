// `headroom hardware`: the built-in profiles and what was detected on this machine.
import { parseFlags } from './args';
import { CliError } from './errors';
import { renderTable } from './table';
import { DEFAULT_HARDWARE_ID, HARDWARE_PROFILES, findHardware, usableBytes, withCapacityOverride, type HardwareSpec } from '../estimator/hardware';
import { formatBytes } from '../estimator/format';
import { detectLocalHardware } from '../providers/local-hardware';

const LOCAL = new Set(['local', 'this', 'auto', 'detect']);

/**
 * `--hardware ID` (a profile id, or `local` for this machine) and `--capacity-gb N`.
 * `fallback` is used when no flag is given: a profile id, or 'local'.
 */
export async function resolveHardwareFlag(flag: string | undefined, capacityGb: number | undefined, fallback: string): Promise<{ hw: HardwareSpec; detail?: string }> {
  const want = (flag ?? fallback).trim().toLowerCase();
  let hw: HardwareSpec | undefined;
  let detail: string | undefined;
  if (LOCAL.has(want)) {
    const d = await detectLocalHardware();
    hw = d.profile;
    detail = d.detail;
  } else {
    hw = findHardware(want);
    if (!hw) {
      const close = HARDWARE_PROFILES.map((p) => p.id).filter((id) => id.split('-')[0] === want.split('-')[0] || id.includes(want));
      throw new CliError(`unknown hardware '${flag}'${close.length ? ` — did you mean: ${close.join(', ')}?` : ''} (profiles: \`headroom hardware\`, or --hardware local)`);
    }
  }
  if (capacityGb !== undefined) hw = withCapacityOverride(hw, capacityGb);
  return { hw, ...(detail ? { detail } : {}) };
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
  const d = await detectLocalHardware();
  if (values.json) {
    const out = {
      default: DEFAULT_HARDWARE_ID,
      detected: { detail: d.detail, exact: d.exact, profile: profileJson(d.profile), facts: d.facts },
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
      `this machine: ${d.detail}${d.exact ? '' : ` → custom profile '${d.profile.id}' (${formatBytes(d.profile.capacityBytes)}, ${d.profile.bandwidthGBps} GB/s)`}\n`,
  );
  return 0;
}

export { LOCAL as LOCAL_HARDWARE_NAMES };
