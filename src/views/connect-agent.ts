// "Headroom: Connect Agent…" and "Undo Connect Agent": the VS Code face of src/connect/. Lists the agents it
// can route through the metering proxy, asks before writing (modal, with the diff on request), turns the proxy on,
// keeps a backup, and undoes in one step. Other extensions' storage (Cline, Roo Code, Kilo Code) is never
// touched: those get the exact value to paste.
import * as vscode from 'vscode';
import { homedir } from 'node:os';
import type { HeadroomConfig } from '../config';
import { applyPlan, connectStateDir, ConflictError, findConfig, formatFor, inspectUndo, listBackups, planFile, undoFile, type Agent, type FilePlan } from '../connect/files';
import { checkFrontDoor, frontDoorPlan, type Prober } from '../connect/front-door';
import { PASTE_AGENTS, pasteInstructions, type PasteAgent } from '../connect/paste';
import { isLoopbackAddress } from '../providers/proxy/loopback';
import { neutralize } from './markdown';
import type { DashboardState } from './model';

export interface ConnectDeps {
  state: () => DashboardState;
  config: () => HeadroomConfig;
  /** The running proxy, if any. */
  proxy: () => { url: string; port: number; target: string } | undefined;
  /** Turns the proxy on (settings) for this target/port and resolves with its URL once it listens. */
  ensureProxy: (target: string, port?: number) => Promise<string>;
  log: vscode.LogOutputChannel;
  /** Called after a connect or undo (context keys for menus and the walkthrough). */
  changed: () => void;
  env?: Record<string, string | undefined>;
}

const AGENT_NAME: Record<Agent, string> = { continue: 'Continue', aider: 'aider' };

export function stateDir(env: Record<string, string | undefined> = process.env): string {
  return connectStateDir(env, homedir());
}

/** The engine to meter: the proxy's target when it runs, else the first local engine detected, else the setting. */
export function engineTarget(state: DashboardState, cfg: HeadroomConfig): { url: string; engine: string } {
  const local = state.engines.filter((e) => {
    try {
      const h = new URL(e.endpoint).hostname;
      return h === 'localhost' || isLoopbackAddress(h);
    } catch {
      return false;
    }
  });
  const pick = local.find((e) => e.engine === 'ollama') ?? local[0];
  if (cfg.proxy.enabled) return { url: cfg.proxy.target, engine: state.engines.find((e) => e.endpoint === cfg.proxy.target)?.engine ?? pick?.engine ?? 'ollama' };
  return pick ? { url: pick.endpoint, engine: pick.engine } : { url: cfg.proxy.target, engine: 'ollama' };
}

/** A path as shown: `~/…` under the home folder; `$(`/`](` broken so a file name cannot render as an icon or link. */
function tilde(p: string): string {
  const h = homedir();
  return neutralize(p.startsWith(h) ? `~${p.slice(h.length)}` : p);
}

type Item = vscode.QuickPickItem & { run?: () => Promise<void> };

export async function connectAgent(deps: ConnectDeps): Promise<void> {
  const cfg = deps.config();
  const { url: target, engine } = engineTarget(deps.state(), cfg);
  const proxyUrl = `http://127.0.0.1:${cfg.proxy.port}`;
  const home = homedir();
  const cwd = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? home;
  const items: Item[] = [];

  for (const agent of ['continue', 'aider'] as Agent[]) {
    const file = await findConfig(agent, home, cwd);
    if (!file) {
      items.push({ label: `$(circle-slash) ${AGENT_NAME[agent]}`, description: 'no config file found', detail: agent === 'continue' ? 'Looked for ~/.continue/config.yaml and config.json' : 'Looked for .aider.conf.yml (workspace, home) and .env' });
      continue;
    }
    try {
      const plan = await planFile(file, formatFor(agent, file), { targets: [target], proxy: proxyUrl });
      if (plan.changes.length === 0) {
        const already = plan.before.includes(proxyUrl);
        items.push({ label: `$(${already ? 'check' : 'circle-slash'}) ${AGENT_NAME[agent]}`, description: tilde(file), detail: already ? 'Already goes through the proxy' : `No model in it uses ${target}` });
      } else {
        items.push({ label: `$(plug) ${AGENT_NAME[agent]}`, description: tilde(file), detail: `${plan.changes.length} base URL${plan.changes.length > 1 ? 's' : ''} to route through ${proxyUrl}`, run: () => connectFile(deps, agent, plan, target) });
      }
    } catch (err) {
      items.push({ label: `$(error) ${AGENT_NAME[agent]}`, description: tilde(file), detail: neutralize(`Cannot read it: ${(err as Error).message}`) });
    }
  }
  const installed = PASTE_AGENTS.filter((a) => a.extensionIds.some((id) => vscode.extensions.getExtension(id)));
  for (const a of [...installed, ...PASTE_AGENTS.filter((x) => !installed.includes(x))]) {
    items.push({ label: `$(clippy) ${a.name}`, description: installed.includes(a) ? 'installed — settings live in its own storage' : 'settings live in its own storage', detail: 'Shows the value to paste and where', run: () => showPaste(deps, a, engine, target) });
  }
  items.push({ label: '$(home) Front door: meter every client', detail: `Move the engine off ${target} and let the proxy listen there — no agent config changes`, run: () => frontDoor(deps, engine, target) });
  if ((await listBackups(stateDir(deps.env))).length) items.push({ label: '$(discard) Undo Connect Agent…', run: () => undoConnect(deps) });

  const pick = await vscode.window.showQuickPick(items, { title: 'Headroom: Connect Agent', placeHolder: `Route an agent through the metering proxy (${proxyUrl} → ${target}) so Headroom sees its context` });
  if (!pick?.run) return;
  await pick.run();
}

/**
 * Asks before writing. A quick pick that stays open until answered (focus elsewhere does not dismiss it) and
 * lists every change as a row: VS Code refuses modal dialogs in extension tests, and this consent must be tested
 * end to end. Picking a change row (or Show Diff) opens the diff and asks again.
 */
async function consent<T extends string>(title: string, placeHolder: string, go: { label: string; description: string; value: T }, rows: { label: string; description: string }[], diff: string): Promise<T | undefined> {
  type Row = vscode.QuickPickItem & { value?: T | 'diff' };
  for (;;) {
    const items: Row[] = [
      { label: go.label, description: go.description, value: go.value },
      { label: 'Changes', kind: vscode.QuickPickItemKind.Separator },
      ...rows.map((r) => ({ ...r, value: 'diff' as const })),
      { label: '', kind: vscode.QuickPickItemKind.Separator },
      { label: '$(diff) Show Diff', value: 'diff' },
      { label: '$(close) Cancel' },
    ];
    const pick = await vscode.window.showQuickPick(items, { title, placeHolder, ignoreFocusOut: true, matchOnDescription: true });
    if (pick?.value !== 'diff') return pick?.value as T | undefined;
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument({ language: 'diff', content: diff }), { preview: true });
  }
}

async function connectFile(deps: ConnectDeps, agent: Agent, plan: FilePlan, target: string): Promise<void> {
  const rows = plan.changes.map((c) => ({ label: `$(arrow-right) ${neutralize(c.path)}`, description: neutralize(`${c.from ?? '(default)'} → ${c.to}`) }));
  const turnOn = deps.config().proxy.enabled ? '' : '; turns the metering proxy on';
  const ok = await consent(
    `Route ${AGENT_NAME[agent]} through the Headroom proxy? (${tilde(plan.file)})`,
    'Only these values change — comments and everything else stay. A backup is kept: Undo Connect Agent restores the file byte for byte.',
    { label: '$(plug) Connect', description: `rewrite ${plan.changes.length} value${plan.changes.length > 1 ? 's' : ''}${turnOn}`, value: 'connect' },
    rows,
    plan.diff,
  );
  if (ok !== 'connect') return;
  const proxyUrl = await deps.ensureProxy(target);
  // The proxy's real address decides: if it differs from what the plan assumed (a port changed meanwhile), re-plan.
  const final = plan.changes.every((c) => new URL(c.to).origin === new URL(proxyUrl).origin) ? plan : await planFile(plan.file, plan.format, { targets: [target], proxy: proxyUrl });
  const applied = await applyPlan(final, stateDir(deps.env));
  deps.log.info(`connect: ${final.file}: ${final.changes.map((c) => `${c.path} ${c.from ?? '(default)'} → ${c.to}`).join('; ')} (backup ${applied.backup}; proxy ${proxyUrl})`);
  deps.changed();
  const next = await vscode.window.showInformationMessage(
    neutralize(`${AGENT_NAME[agent]} now goes through the Headroom proxy (${final.changes.length} change${final.changes.length > 1 ? 's' : ''} in ${tilde(final.file)}). Its next request shows its context use.`),
    'Undo',
  );
  if (next === 'Undo') await undoOne(deps, final.file);
}

async function showPaste(deps: ConnectDeps, agent: PasteAgent, engine: string, target: string): Promise<void> {
  const proxyUrl = `http://127.0.0.1:${deps.config().proxy.port}`;
  const p = pasteInstructions(agent, engine, proxyUrl);
  const enabled = deps.config().proxy.enabled;
  type Row = vscode.QuickPickItem & { copy?: true };
  const pick = await vscode.window.showQuickPick<Row>(
    [
      { label: `$(copy) Copy ${p.value}`, description: enabled ? 'then paste it as the Base URL' : 'and turn the metering proxy on', detail: neutralize(`Where: ${p.where}`), copy: true },
      { label: '$(close) Cancel' },
    ],
    { title: `${agent.name}: set its Base URL to ${p.value}`, placeHolder: `Headroom does not edit ${agent.name}'s settings (they live in its own storage)`, ignoreFocusOut: true },
  );
  if (!pick?.copy) return;
  await vscode.env.clipboard.writeText(p.value);
  if (!enabled) await deps.ensureProxy(target);
  void vscode.window.showInformationMessage(neutralize(`Copied ${p.value}. Paste it into ${agent.name}'s Base URL (${p.where}); its next request shows up in Headroom.`));
}

/** Real GET with a timeout, for the front-door check. */
const probeHttp: Prober = async (url) => {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return { status: res.status, body: await res.text() };
  } catch {
    return undefined;
  }
};

async function frontDoor(deps: ConnectDeps, engine: string, target: string): Promise<void> {
  const plan = frontDoorPlan(engine, target, process.platform);
  type Row = vscode.QuickPickItem & { act?: 'copy' | 'check' };
  for (;;) {
    const items: Row[] = [
      { label: '$(check) Check now', description: `once the engine answers on ${plan.moved}, the proxy takes ${plan.usual}`, act: 'check' },
      { label: `$(copy) Copy ${plan.copy}`, act: 'copy' },
      { label: 'Steps', kind: vscode.QuickPickItemKind.Separator },
      ...plan.steps.map((s, i) => ({ label: `${i + 1}.`, detail: neutralize(s) })),
    ];
    const pick = await vscode.window.showQuickPick(items, {
      title: `Front door: move ${engine} to ${plan.moved}; Headroom's proxy takes ${plan.usual}`,
      placeHolder: `Every client of ${plan.usual} (agents, scripts, other editors) is then metered with no config change`,
      ignoreFocusOut: true,
    });
    if (!pick) return;
    if (pick.act === 'copy') {
      await vscode.env.clipboard.writeText(plan.copy);
      void vscode.window.showInformationMessage(neutralize(`Copied ${plan.copy}`));
      continue;
    }
    if (pick.act !== 'check') continue;
    const running = deps.proxy();
    const usualPort = Number(new URL(plan.usual).port);
    let s = await checkFrontDoor(plan, engine, probeHttp, running?.port === usualPort);
    if (s.state === 'ready') {
      await deps.ensureProxy(plan.moved, usualPort);
      s = await checkFrontDoor(plan, engine, probeHttp, true);
    }
    deps.log.info(`front door: ${s.state}: ${s.message}`);
    if (s.state === 'working') {
      deps.changed();
      void vscode.window.showInformationMessage(neutralize(s.message));
      return;
    }
    void vscode.window.showWarningMessage(neutralize(s.message));
  }
}

export async function undoConnect(deps: ConnectDeps): Promise<void> {
  const backups = await listBackups(stateDir(deps.env));
  if (backups.length === 0) {
    void vscode.window.showInformationMessage('Headroom: nothing to undo — no agent config was changed by Connect Agent.');
    return;
  }
  const file = backups.length === 1 ? backups[0]!.file : (await vscode.window.showQuickPick(backups.map((b) => ({ label: tilde(b.file), description: `connected ${new Date(b.createdAt).toLocaleString()}`, file: b.file })), { title: 'Headroom: Undo Connect Agent' }))?.file;
  if (file) await undoOne(deps, file);
}

async function undoOne(deps: ConnectDeps, file: string): Promise<void> {
  const dir = stateDir(deps.env);
  const u = await inspectUndo(file, dir);
  let force = false;
  if (!u.ours && !u.current.equals(u.original)) {
    const pick = await consent(
      `${tilde(file)} was changed after Headroom connected it — restore the original anyway?`,
      'Restoring drops those later changes; your current version is kept next to the backup.',
      { label: '$(discard) Restore Original', description: 'your current version is kept aside', value: 'restore' },
      [{ label: '$(diff) Changes since', description: 'what restoring would undo' }],
      u.diff,
    );
    if (pick !== 'restore') return;
    force = true;
  }
  try {
    const r = await undoFile(file, dir, { force });
    deps.log.info(`connect undo: ${file} ${r.outcome}${r.keptCurrent ? ` (current kept in ${r.keptCurrent})` : ''}`);
    deps.changed();
    void vscode.window.showInformationMessage(neutralize(r.outcome === 'restored' ? `Restored ${tilde(file)} as it was before Connect Agent.` : `${tilde(file)} already held the original.`));
  } catch (err) {
    if (err instanceof ConflictError) void vscode.window.showWarningMessage(neutralize(err.message));
    else throw err;
  }
}
