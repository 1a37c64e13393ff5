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
