// The one status bar item. Copies the pure status.ts strings onto a StatusBarItem; nothing else lives here.
import * as vscode from 'vscode';
import type { StatusBarFormat } from '../config';
import { COMMANDS } from './command-ids';
import type { DashboardState } from './model';
import { statusAccessibilityLabel, statusSeverity, statusText, statusTooltip, TOOLTIP_COMMANDS } from './status';

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;

  constructor() {
    this.item = vscode.window.createStatusBarItem('headroom.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'Headroom';
    this.item.command = COMMANDS.openPanel.id;
    this.item.text = '$(loading~spin) Headroom';
    this.item.accessibilityInformation = { label: 'Headroom: detecting local LLM engines', role: 'button' };
    this.item.show();
  }

  update(state: DashboardState, format: StatusBarFormat): void {
    this.item.text = statusText(state, format);
    this.item.accessibilityInformation = { label: statusAccessibilityLabel(state), role: 'button' };
    const md = new vscode.MarkdownString(statusTooltip(state), true);
    // Links may run our own commands and nothing else; engine strings are escaped in status.ts.
    md.isTrusted = { enabledCommands: [...TOOLTIP_COMMANDS] };
    md.supportHtml = false;
    this.item.tooltip = md;
    const sev = statusSeverity(state);
    this.item.backgroundColor = sev === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : sev === 'warning' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
