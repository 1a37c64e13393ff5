// Data for the quick-picks (pure; quick-picks.ts turns these into vscode.QuickPickItems).
import { formatBytes, formatParams, formatTokens, formatTokPerSec, formatTokPerSecRange } from '../estimator/format';
import { neutralize } from './markdown';

export const CONTEXT_PRESETS = [8192, 16384, 32768, 65536, 131072, 262144] as const;

/** Parses "32k", "32768", "128K", "1m", "64 000" into tokens; validates the range. */
export function parseContextInput(raw: string, max: number): { value: number } | { error: string } {
  const s = raw.trim().toLowerCase().replace(/[\s_,]/g, '');
  const m = /^(\d+(?:\.\d+)?)([km]?)$/.exec(s);
  if (!m) return { error: 'Enter a token count, e.g. 32768 or 32k' };
  const n = Math.round(Number(m[1]) * (m[2] === 'k' ? 1024 : m[2] === 'm' ? 1024 * 1024 : 1));
  if (!Number.isFinite(n) || n < 256) return { error: 'At least 256 tokens' };
  if (n > max) return { error: `At most ${formatTokens(max)} tokens for this model` };
  return { value: n };
}

export type FitMark = 'fits' | 'tight' | 'idle' | 'no';

/**
 * ✓ fits with room, "tight" when less than 10 % of usable memory is left, ✗ does not fit. With `freeNowBytes` (a live
 * reading): "idle" when it fits the machine but not the memory other processes leave free right now.
 */
export function fitMark(totalBytes: number, usableBytes: number, freeNowBytes?: number): FitMark {
  if (totalBytes > usableBytes) return 'no';
  if (freeNowBytes !== undefined && totalBytes > freeNowBytes) return 'idle';
  return usableBytes - totalBytes < 0.1 * usableBytes ? 'tight' : 'fits';
}

const MARK: Record<FitMark, string> = { fits: '$(pass) fits', tight: '$(warning) tight', idle: '$(warning) fits on an idle machine, not now', no: '$(error) does not fit' };
const ASCII: Record<FitMark, string> = { fits: '✓', tight: 'tight', idle: 'idle only', no: '✗' };

export interface ModelCandidate {
  /** Catalog id, engine model name: what the next step resolves. */
  id: string;
  label: string;
  section: 'loaded' | 'available' | 'catalog';
  /** Engine endpoint for loaded/available models. */
  endpoint?: string;
  engine?: string;
  quant?: string;
  params?: number;
  activeParams?: number;
  /** Memory at the evaluated context, bytes; undefined when the shape is unknown. */
  totalBytes?: number;
  ctx?: number;
  decodeTokPerSec?: number;
  /** Band of a predicted decodeTokPerSec (absent when it is a live reading). */
  decodeRange?: { low: number; high: number };
  mark?: FitMark;
  /** The mark counted today's free memory (a live reading): "fits" means fits now. */
  markedNow?: boolean;
  /** Why there are no numbers (e.g. the catalog lacks the shape). */
  note?: string;
}

export interface PickItemData {
  label: string;
  description?: string;
  detail?: string;
  candidate: ModelCandidate;
}

export function describeCandidate(c: ModelCandidate): PickItemData {
  const desc: string[] = [];
  if (c.mark) desc.push(ASCII[c.mark]);
  if (c.quant) desc.push(neutralize(c.quant));
  if (c.params) desc.push(c.activeParams && c.activeParams < c.params * 0.9 ? `${formatParams(c.params)} (${formatParams(c.activeParams)} active)` : formatParams(c.params));
  const detail: string[] = [];
  if (c.mark) detail.push(c.markedNow && c.mark !== 'idle' && c.mark !== 'no' ? `${MARK[c.mark]} now` : MARK[c.mark]);
  if (c.totalBytes !== undefined) detail.push(`${formatBytes(c.totalBytes)}${c.ctx ? ` at ${formatTokens(c.ctx)} context` : ''}`);
  if (c.decodeTokPerSec) detail.push(c.decodeRange ? `${formatTokPerSecRange(c.decodeTokPerSec, c.decodeRange)} decode` : `~${formatTokPerSec(c.decodeTokPerSec)} decode`);
  if (c.engine) detail.push(c.section === 'loaded' ? `loaded in ${c.engine}` : `in ${c.engine}`);
  if (c.note) detail.push(neutralize(c.note));
  return { label: neutralize(c.label), ...(desc.length ? { description: desc.join(' · ') } : {}), ...(detail.length ? { detail: detail.join(' · ') } : {}), candidate: c };
}

export const SECTION_TITLE: Record<ModelCandidate['section'], string> = { loaded: 'Loaded now', available: 'Installed in your engines', catalog: 'Catalog' };

/** Groups candidates by section in the fixed order loaded → available → catalog, keeping order inside. */
export function groupCandidates(cands: readonly ModelCandidate[]): { section: ModelCandidate['section']; items: PickItemData[] }[] {
  return (['loaded', 'available', 'catalog'] as const)
    .map((section) => ({ section, items: cands.filter((c) => c.section === section).map(describeCandidate) }))
    .filter((g) => g.items.length > 0);
}
