// Client of the harness's UI probe (scripts/vscode/ui-probe.mjs): asks the browser that renders the
// workbench what the user sees. Only the code-server runner provides it (HEADROOM_UI_PROBE);
// under @vscode/test-electron the tests that need it skip.
import { waitFor } from './host';

export const PROBE_URL = process.env.HEADROOM_UI_PROBE;

export interface StatusItem { id: string; text: string; ariaLabel: string; classes: string; background: string }
export interface WebviewInfo {
  text: string; title: string; csp: string | null; imgs: (string | null)[];
  scripts: { src: string | null; nonce: boolean; inline: string }[]; inlineHandlers: number; svgCount: number;
}

/** Scripts the extension put in the page: VS Code injects its own `acquireVsCodeApi` bootstrap into every webview. */
export function ownScripts(view: WebviewInfo): WebviewInfo['scripts'] {
  return view.scripts.filter((s) => !(s.src === null && /acquireVsCodeApi/.test(s.inline)));
}

export async function probe<T>(action: string, args: Record<string, unknown> = {}): Promise<T> {
  if (!PROBE_URL) throw new Error('no UI probe in this runner');
  const res = await fetch(PROBE_URL, { method: 'POST', body: JSON.stringify({ action, ...args }), signal: AbortSignal.timeout(60_000) });
  const body = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new Error(`probe ${action}: ${body.error ?? res.status}`);
  return body;
}

const isHeadroom = (i: StatusItem) => /^Headroom/.test(i.ariaLabel) || /headroom/i.test(i.id);

/** The rendered Headroom status bar item, or undefined while it is not shown. */
export async function headroomItem(): Promise<StatusItem | undefined> {
  return (await probe<StatusItem[]>('statusbar')).find(isHeadroom);
}

/** Waits until the Headroom item's rendered text satisfies `ok`. */
export function waitForStatus(what: string, ok: (item: StatusItem) => boolean, timeoutMs = 30_000): Promise<StatusItem> {
  return waitFor(`status bar ${what}`, async () => {
    const item = await headroomItem();
    return item && ok(item) ? item : undefined;
  }, timeoutMs, 300);
}
