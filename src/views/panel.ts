// The webview panel: one instance, strict CSP, media/ as the only resource root, state kept by the webview
// itself across hide/show (retainContextWhenHidden off). Messages are validated both ways (protocol.ts).
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { buildPanelHtml } from './panel-html';
import { parseHostMessage, parseWebviewMessage, type HostMessage, type PanelCommand, type RowAction } from './protocol';

export interface PanelHandlers {
  onCommand(command: PanelCommand): void;
  onRowAction(action: RowAction): void;
  /** The webview (re)started and wants the current state. */
  onReady(): void;
  log(message: string): void;
}

export class HeadroomPanel implements vscode.Disposable {
  static readonly viewType = 'headroom.panel';
  private static current: HeadroomPanel | undefined;
  private last: HostMessage | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  static get instance(): HeadroomPanel | undefined {
    return HeadroomPanel.current;
  }

  /** Reveals the panel, creating it if needed. */
  static show(extensionUri: vscode.Uri, handlers: PanelHandlers): HeadroomPanel {
    if (HeadroomPanel.current) {
      HeadroomPanel.current.panel.reveal(undefined, false);
      return HeadroomPanel.current;
    }
    const media = vscode.Uri.joinPath(extensionUri, 'media');
    const panel = vscode.window.createWebviewPanel(HeadroomPanel.viewType, 'Headroom', vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [media],
      retainContextWhenHidden: false,
      enableFindWidget: true,
    });
    panel.iconPath = vscode.Uri.joinPath(media, 'icon.png');
    HeadroomPanel.current = new HeadroomPanel(panel, media, handlers);
    return HeadroomPanel.current;
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    media: vscode.Uri,
    private readonly handlers: PanelHandlers,
  ) {
    const webview = panel.webview;
    webview.html = buildPanelHtml({
      cspSource: webview.cspSource,
      nonce: randomBytes(18).toString('base64'),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'build', 'panel.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'panel.css')).toString(),
    });
    panel.onDidDispose(() => this.dispose(), null, this.disposables);
    webview.onDidReceiveMessage((raw: unknown) => this.receive(raw), null, this.disposables);
  }

  get visible(): boolean {
    return this.panel.visible;
  }

  /** Sends a message (validated first: a bug here must not reach the webview as half-formed data). */
  post(msg: HostMessage): void {
    const checked = parseHostMessage(msg);
    if (!checked.ok) {
      this.handlers.log(`panel: not sending an invalid ${msg.type} message (${checked.error})`);
      return;
    }
    if (msg.type !== 'speed') this.last = checked.message;
    else if (this.last?.type === 'show') {
      const d = this.last.data;
      this.last = { type: 'show', data: { ...d, speed: { ...d.speed, history: [...d.speed.history, msg.point].slice(-600) } } };
    }
    void this.panel.webview.postMessage(checked.message);
  }

  /** The action of a row in the data last sent: the webview only ever names a row id. */
  private rowAction(rowId: string): RowAction | undefined {
    if (this.last?.type !== 'show') return undefined;
    return this.last.data.alternatives.find((r) => r.id === rowId)?.action;
  }

  private receive(raw: unknown): void {
    const parsed = parseWebviewMessage(raw);
    if (!parsed.ok) {
      this.handlers.log(`panel: ignored an invalid message from the webview (${parsed.error})`);
      return;
    }
    const m = parsed.message;
    switch (m.type) {
      case 'ready':
        if (this.last) void this.panel.webview.postMessage(this.last);
        this.handlers.onReady();
        return;
      case 'command':
        this.handlers.onCommand(m.command);
        return;
      case 'rowAction': {
        const action = this.rowAction(m.rowId);
        if (action) this.handlers.onRowAction(action);
        else this.handlers.log(`panel: no action for row ${m.rowId}`);
        return;
      }
    }
  }

  dispose(): void {
    if (HeadroomPanel.current === this) HeadroomPanel.current = undefined;
    this.panel.dispose();
    while (this.disposables.length) this.disposables.pop()?.dispose();
  }
}
