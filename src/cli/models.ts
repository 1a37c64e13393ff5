// `headroom models`: the catalog ranked for one machine — which models fit at the context you want, with the
// best quant that fits, the memory it takes, the longest context it allows and the decode speed to expect.
import { intFlag, numFlag, parseFlags } from './args';
import { renderTable } from './table';
import { resolveHardwareFlag } from './hardware';
import { defaultQuantFor } from './fit';
import { catalogModels, type CatalogModel } from '../estimator/catalog';
import { evaluate, type Evaluation } from '../estimator/fit';
import { formatBytes, formatParams, formatTokens, formatTokPerSecRange, speedWord } from '../estimator/format';
import { usableBytes, type HardwareSpec } from '../estimator/hardware';
import { defaultContextOptions } from '../estimator/memory';
import { weightsForQuant } from '../estimator/weights';
import { parseQuant } from '../estimator/quant-recipes';

// Per model: the practitioners' default Q4_K_M, stepping down to Q3/Q2 (last resort) only when it does not fit.
// Higher quants are an upgrade to check with `headroom fit` — they cost decode speed as well as memory.
const LADDER = ['Q4_K_M', 'Q3_K_M', 'Q2_K'];

export interface ModelRow {
  id: string;
  name: string;
  totalParams: number;
  activeParams: number;
  quant: string;
  fits: boolean;
  totalBytes: number;
  headroomBytes: number;
  ctxPerSeq: number;
  maxContext: number;
  decodeTokPerSec: number;
  /** Cross-validated band of the predicted decode (speed-band.ts). */
  decodeRange?: { low: number; high: number; basis: string };
  ceilingTokPerSec: number;
  confidence: string;
}

/**
 * For one model: the first quant on the ladder that fits at `ctx` (native MXFP4 first for gpt-oss) — or, when
 * none fits, the default quant to show how far off it is.
 */
export function bestFit(m: CatalogModel, hw: HardwareSpec, ctxTokens: number): { quant: string; e: Evaluation } {
  const spec = m.spec!;
  const ctx = defaultContextOptions({ ctxPerSeq: Math.min(ctxTokens, m.contextMax) });
  const native = defaultQuantFor(spec);
  const ladder = native === 'MXFP4' ? ['MXFP4', 'Q3_K_M', 'Q2_K'] : LADDER;
  let fallback: { quant: string; e: Evaluation } | undefined;
  for (const q of ladder) {
    const e = evaluate(spec, weightsForQuant(spec, q), hw, ctx, { contextMax: m.contextMax });
    if (q === native) fallback = { quant: q, e };
    if (e.fits) return { quant: q, e };
  }
  return fallback ?? { quant: native, e: evaluate(spec, weightsForQuant(spec, native), hw, ctx, { contextMax: m.contextMax }) };
}

/** Fitting models first; among them comfortable decode (≥ 10 tok/s) before slow, Q4+ before Q3/Q2, then bigger models first. */
export function rankModels(hw: HardwareSpec, ctxTokens: number): { rows: ModelRow[]; incomplete: CatalogModel[] } {
  const rows: ModelRow[] = [];
  const incomplete: CatalogModel[] = [];
  for (const m of catalogModels()) {
    if (!m.spec) {
      incomplete.push(m);
      continue;
    }
    const { quant, e } = bestFit(m, hw, ctxTokens);
    rows.push({
      id: m.id,
      name: m.name,
      totalParams: m.spec.totalParams,
      activeParams: m.spec.activeParams,
      quant,
      fits: e.fits,
      totalBytes: Math.round(e.memory.totalBytes),
      headroomBytes: Math.round(e.headroomBytes),
      ctxPerSeq: e.ctx.ctxPerSeq,
      maxContext: e.maxContext,
      decodeTokPerSec: Math.round(e.speed.decodeTokPerSec * 100) / 100,
      ...(e.speed.decodeRange ? { decodeRange: { low: Math.round(e.speed.decodeRange.low * 100) / 100, high: Math.round(e.speed.decodeRange.high * 100) / 100, basis: e.speed.decodeRange.basis } } : {}),
      ceilingTokPerSec: Math.round(e.speed.ceilingTokPerSec * 100) / 100,
      confidence: m.confidence,
    });
  }
  // Within a tier, a model that only fits at Q3/Q2 (last-resort quality) ranks after those at Q4 or better.
  const tier = (r: ModelRow) => (!r.fits ? 4 : (r.decodeTokPerSec >= 10 ? 0 : 2) + ((parseQuant(r.quant)?.bitsPerWeight ?? 16) < 4.4 ? 1 : 0));
  rows.sort((a, b) => tier(a) - tier(b) || (a.fits ? b.totalParams - a.totalParams : a.totalBytes - b.totalBytes) || a.id.localeCompare(b.id));
  return { rows, incomplete };
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    hardware: { type: 'string' },
    ctx: { type: 'string', short: 'c' },
    'capacity-gb': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(
      'usage: headroom models [--hardware ID] [--ctx N] [--capacity-gb N] [--json]\n\n' +
        'The catalog ranked for a machine (default: this one, detected): best quant that fits at --ctx tokens\n' +
        '(default 32768), memory, max context and predicted decode tok/s.\n',
    );
    return 0;
  }
  const ctxTokens = intFlag('ctx', values.ctx, 32768, 256, 16 * 1024 * 1024);
  const capacityGb = numFlag('capacity-gb', values['capacity-gb'], 0.5, 65536);
  const { hw, detail } = await resolveHardwareFlag(values.hardware, capacityGb, 'local');
  const { rows, incomplete } = rankModels(hw, ctxTokens);

  if (values.json) {
    const out = {
      hardware: { id: hw.id, name: hw.name, capacityBytes: Math.round(hw.capacityBytes), usableBytes: usableBytes(hw), bandwidthGBps: hw.bandwidthGBps, ...(detail ? { detected: detail } : {}) },
      ctx: ctxTokens,
      models: rows,
      incomplete: incomplete.map((m) => ({ id: m.id, missing: m.missing })),
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return 0;
  }

  const fitting = rows.filter((r) => r.fits).length;
  const head = [
    `${hw.name}${detail ? ` (detected: ${detail})` : ''}`,
    `${formatBytes(usableBytes(hw))} usable of ${formatBytes(hw.capacityBytes)}, ${hw.bandwidthGBps} GB/s · context ${formatTokens(ctxTokens)} tokens, 1 slot, f16 KV · ${fitting} of ${rows.length} models fit`,
    '',
  ];
  const table = renderTable(
    [
      { header: 'model' },
      { header: 'params', align: 'right' },
      { header: 'quant' },
      { header: 'memory', align: 'right' },
      { header: 'fit' },
      { header: 'max ctx', align: 'right' },
      { header: 'decode', align: 'right' },
      { header: '' },
    ],
    rows.map((r) => [
      r.name,
      r.activeParams < r.totalParams ? `${formatParams(r.totalParams)}/${formatParams(r.activeParams)}` : formatParams(r.totalParams),
      r.quant,
      formatBytes(r.totalBytes),
      r.fits ? `yes, ${formatBytes(r.headroomBytes)} free` : `no, ${formatBytes(-r.headroomBytes)} over`,
      r.maxContext > 0 ? formatTokens(r.maxContext) : '—',
      formatTokPerSecRange(r.decodeTokPerSec, r.decodeRange),
      speedWord(r.decodeTokPerSec),
    ]),
  );
  const foot = [
    '',
    'params: total/active for MoE (memory holds all experts; decode reads only the active ones).',
    'decode: predicted single-stream tok/s at an empty context (bandwidth-bound; it falls as the context fills), with its cross-validated band.',
    'quant: Q4_K_M, or Q3_K_M / Q2_K when Q4_K_M does not fit at this context. Details and upgrades: headroom fit --model <name> --quant Q8_0',
  ];
  if (incomplete.length) foot.push(`not estimable (catalog lacks data): ${incomplete.map((m) => `${m.id} (${m.missing.join(', ')})`).join('; ')}`);
  process.stdout.write([...head, table, ...foot].join('\n') + '\n');
  return 0;
}
