// Runs a command the way a user would, then walks away: anything it opens that waits for an answer
// (quick pick, input box, modal, a toast with buttons) is dismissed, like pressing Escape.
import * as vscode from 'vscode';
import { PROBE_URL, probe } from './probe';
import { sleep } from './host';

export async function runAndDismiss(id: string, timeoutMs = 30_000, ...args: unknown[]): Promise<unknown> {
  let done = false;
  let failure: unknown;
  let result: unknown;
  void Promise.resolve(vscode.commands.executeCommand(id, ...args)).then(
    (r) => { done = true; result = r; },
    (e: unknown) => { done = true; failure = e; },
  );
  const deadline = Date.now() + timeoutMs;
  while (!done) {
    await sleep(500);
    if (done) break;
    if (Date.now() > deadline) throw new Error(`${id} still running after ${timeoutMs} ms despite dismissing its UI`);
    if (PROBE_URL) await probe('press', { key: 'Escape' }).catch(() => undefined);
    await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
    await vscode.commands.executeCommand('notifications.clearAll');
  }
  if (failure) throw failure;
  return result;
}

/** Waits for the open quick pick to show rows; returns their text. */
export async function quickPickRows(minRows = 1, timeoutMs = 20_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const q = await probe<{ visible: boolean; rows: string[] }>('quickInput');
    if (q.visible && q.rows.length >= minRows) return q.rows;
    if (Date.now() > deadline) throw new Error(`no quick pick rows appeared: ${JSON.stringify(q)}`);
    await sleep(300);
  }
}

/**
 * Headroom: Choose Model, picking the row that shows `name` (as a user clicks it); declines any offer to
 * load it. Returns the rows the pick showed.
 */
export async function chooseModel(name: string): Promise<string[]> {
  let done = false;
  let failure: unknown;
  void Promise.resolve(vscode.commands.executeCommand('headroom.chooseModel')).then(() => { done = true; }, (e: unknown) => { done = true; failure = e; });
  const rows = await quickPickRows();
  if (!rows.some((r) => r.includes(name))) throw new Error(`Choose Model does not list ${name}: ${JSON.stringify(rows)}`);
  await probe('pickRow', { contains: name });
  const deadline = Date.now() + 20_000;
  while (!done) {
    await sleep(400);
    if (done) break;
    if (Date.now() > deadline) throw new Error('Choose Model did not finish after picking');
    // A follow-up (e.g. "load it with this context?") is declined.
    await probe('press', { key: 'Escape' }).catch(() => undefined);
    await vscode.commands.executeCommand('notifications.clearAll');
  }
  if (failure) throw failure;
  return rows;
}

/** Points Headroom at one engine (the only configured endpoint) and waits for Detect Engines to finish. */
export async function useEngine(url: string): Promise<void> {
  await vscode.workspace.getConfiguration('headroom').update('endpoints', [url], vscode.ConfigurationTarget.Global);
  await runAndDismiss('headroom.detectEngines');
}

/** Leaves the workbench as a suite found it: no editors or panel, no endpoint, the engine stopped. */
export async function releaseEngine(engine: { close(): Promise<void> } | undefined): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  await vscode.workspace.getConfiguration('headroom').update('endpoints', undefined, vscode.ConfigurationTarget.Global);
  await engine?.close();
}
