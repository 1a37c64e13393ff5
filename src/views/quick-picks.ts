// The quick-pick flows: model (loaded → installed → catalog, with separators), quant, context, hardware.
// Item content comes from pick-items.ts / fit-check.ts (pure); this file only drives vscode.window.
import * as vscode from 'vscode';
import { catalogModels } from '../estimator/catalog';
import { formatBytes, formatTokens } from '../estimator/format';
import { HARDWARE_PROFILES, usableBytes, type HardwareSpec } from '../estimator/hardware';
import { defaultContextOptions, estimateMemory } from '../estimator/memory';
import { resolveModelName } from '../estimator/model-names';
import { KNOWN_QUANTS, parseQuant } from '../estimator/quant-recipes';
import type { ModelSpec } from '../estimator/types';
import { weightsForQuant } from '../estimator/weights';
import { catalogCandidates, defaultQuantFor, engineChoices, freeNowFor } from './fit-check';
import type { ServingEngine } from '../estimator/engine';
import type { DashboardState } from './model';
import { CONTEXT_PRESETS, fitMark, groupCandidates, parseContextInput, SECTION_TITLE, type ModelCandidate, type PickItemData } from './pick-items';
import type { Detection } from '../providers/detect';
import { engineCandidates } from './fit-check';

type Item = vscode.QuickPickItem & { data?: PickItemData };

function toItems(cands: ModelCandidate[]): Item[] {
  const items: Item[] = [];
  for (const g of groupCandidates(cands)) {
    items.push({ label: SECTION_TITLE[g.section], kind: vscode.QuickPickItemKind.Separator });
    for (const d of g.items) items.push({ label: d.label, ...(d.description ? { description: d.description } : {}), ...(d.detail ? { detail: d.detail } : {}), data: d });
  }
  return items;
}

/**
 * The model picker. Shows the engines' models at once; the catalog (~40 evaluations) fills in right after,
 * with the picker showing progress, so opening it never waits on arithmetic.
 */
export async function pickModel(opts: { title: string; state: DashboardState; detections: readonly Detection[]; hw: HardwareSpec; ctxPerSeq: number; includeCatalog: boolean }): Promise<ModelCandidate | undefined> {
  const qp = vscode.window.createQuickPick<Item>();
  qp.title = opts.title;
  qp.placeholder = `Models on ${opts.hw.name} — fit and decode speed at ${formatTokens(opts.ctxPerSeq)} context`;
  qp.matchOnDescription = true;
  qp.matchOnDetail = true;
  const engine = engineCandidates(opts.state, opts.detections, opts.hw, opts.ctxPerSeq);
  qp.items = toItems(engine);
  qp.busy = opts.includeCatalog;
  const done = new Promise<ModelCandidate | undefined>((resolve) => {
    qp.onDidAccept(() => {
      resolve(qp.selectedItems[0]?.data?.candidate);
      qp.hide();
    });
    qp.onDidHide(() => {
      resolve(undefined);
      qp.dispose();
    });
  });
  qp.show();
  if (opts.includeCatalog) {
    setTimeout(() => {
      try {
        qp.items = toItems([...engine, ...catalogCandidates(opts.hw, opts.ctxPerSeq, freeNowFor(opts.state))]);
      } finally {
        qp.busy = false;
      }
    }, 0);
  }
  return done;
}

/** Spec for a candidate: a loaded model's estimate, else the catalog by id or name. */
export function specForCandidate(c: ModelCandidate): { spec: ModelSpec; contextMax: number; catalogId?: string; quant?: string } | undefined {
  const byId = catalogModels().find((m) => m.id === c.id);
  if (byId?.spec) return { spec: byId.spec, contextMax: byId.contextMax, catalogId: byId.id };
  try {
    const r = resolveModelName(c.label);
    if (r.model.spec) return { spec: r.model.spec, contextMax: r.model.contextMax, catalogId: r.model.id, ...(r.quant ? { quant: r.quant } : {}) };
  } catch {
    return undefined;
  }
  return undefined;
}

export async function pickQuant(spec: ModelSpec, current: string, title: string): Promise<string | undefined> {
  const ggufish = parseQuant(current)?.format ?? 'gguf';
  const quants = KNOWN_QUANTS.filter((q) => parseQuant(q)?.format === ggufish || (ggufish === 'gguf' && parseQuant(q)?.format === 'float'));
  const items: (vscode.QuickPickItem & { quant: string })[] = [];
  for (const q of quants) {
    const info = parseQuant(q)!;
    let size = '';
    try {
      size = formatBytes(weightsForQuant(spec, q).totalBytes);
    } catch {
      continue; // not applicable to this architecture
    }
    items.push({ label: q, description: `${size} weights · ${info.bitsPerWeight} bpw${q === current ? ' · current' : ''}`, detail: info.note, quant: q, picked: q === current });
  }
  const pick = await vscode.window.showQuickPick(items, { title, placeHolder: `Quantization (now ${current})`, matchOnDescription: true });
  return pick?.quant;
}

/**
 * Context step. `extra`: one more row after the sizes (Check Model Fit's "Commands for: <engine> (change…)"),
 * answered as 'extra' — last, so accepting the first row stays the zero-friction path.
 */
export async function pickContext(spec: ModelSpec, quant: string, hw: HardwareSpec, contextMax: number, title: string, configured?: number, extra?: { label: string; description: string }): Promise<number | 'extra' | undefined> {
  const usable = usableBytes(hw);
  const w = weightsForQuant(spec, quant);
  const presets = [...new Set([...CONTEXT_PRESETS.filter((c) => c <= contextMax), ...(configured && configured <= contextMax ? [configured] : [])])].sort((a, b) => a - b);
  type CtxItem = vscode.QuickPickItem & { ctx?: number };
  const items: CtxItem[] = presets.map((c) => {
    const total = estimateMemory(spec, w, defaultContextOptions({ ctxPerSeq: c })).totalBytes;
    const mark = fitMark(total, usable);
    return { label: formatTokens(c), description: `${mark === 'fits' ? '✓' : mark === 'tight' ? 'tight' : '✗'} ${formatBytes(total)}${c === configured ? ' · configured now' : ''}`, ctx: c };
  });
  items.push({ label: 'Custom…', description: `any size up to ${formatTokens(contextMax)}` });
  const extraRow: CtxItem | undefined = extra ? { label: extra.label, description: extra.description } : undefined;
  if (extraRow) items.push({ label: '', kind: vscode.QuickPickItemKind.Separator }, extraRow);
  const pick = await vscode.window.showQuickPick(items, { title, placeHolder: `Context per sequence (${quant}, usable ${formatBytes(usable)})` });
  if (!pick) return undefined;
  if (pick === extraRow) return 'extra';
  if (pick.ctx) return pick.ctx;
  const raw = await vscode.window.showInputBox({
    title,
    prompt: `Context tokens per sequence (256 – ${formatTokens(contextMax)}), e.g. 48k`,
    validateInput: (v) => {
      const r = parseContextInput(v, contextMax);
      return 'error' in r ? r.error : undefined;
    },
  });
  if (raw === undefined) return undefined;
  const r = parseContextInput(raw, contextMax);
  return 'value' in r ? r.value : undefined;
}

/** Which engine's speed and commands Check Model Fit shows. */
export async function pickEngine(current: ServingEngine, detections: readonly Detection[], title: string): Promise<ServingEngine | undefined> {
  const items = engineChoices(current, detections).map((c) => ({ ...c, picked: c.engine === current }));
  const pick = await vscode.window.showQuickPick(items, { title, placeHolder: 'Speed and commands for this engine' });
  return pick?.engine;
}

export async function pickHardware(current: string): Promise<string | undefined> {
  const items: (vscode.QuickPickItem & { id: string })[] = [
    { label: 'auto', description: 'detect this machine', id: 'auto', picked: current === 'auto' },
    ...HARDWARE_PROFILES.map((p) => ({ label: p.name, description: `${p.id} · ${formatBytes(usableBytes(p))} usable of ${formatBytes(p.capacityBytes)} · ${p.bandwidthGBps} GB/s${p.id === current ? ' · current' : ''}`, detail: p.source, id: p.id })),
  ];
  const pick = await vscode.window.showQuickPick(items, { title: 'Headroom: Select Hardware Profile', placeHolder: 'Capacity and bandwidth used for every estimate', matchOnDescription: true });
  return pick?.id;
}

export { defaultQuantFor };
