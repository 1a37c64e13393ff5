// The panel's HTML shell. Pure: the adapter passes webview-specific URIs and a fresh nonce. Everything the
// panel shows is built later by the nonce'd script from validated data (textContent only), so this shell
// carries no engine-supplied string at all.

export interface PanelHtmlInput {
  /** `webview.cspSource` */
  cspSource: string;
  /** Random, base64, fresh per render (crypto). */
  nonce: string;
  /** `asWebviewUri` of media/build/panel.js and media/panel.css. */
  scriptUri: string;
  styleUri: string;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** Deny by default; styles, images and fonts only from our media folder; scripts only with the nonce. */
export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `style-src ${cspSource}`,
    `img-src ${cspSource} data:`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

export function buildPanelHtml(i: PanelHtmlInput): string {
  if (!/^[A-Za-z0-9+/=_-]{16,}$/.test(i.nonce)) throw new Error('nonce must be ≥16 base64 characters');
  const csp = escapeHtml(contentSecurityPolicy(i.cspSource, i.nonce));
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeHtml(i.styleUri)}">
<title>Headroom</title>
</head>
<body>
<main id="app" aria-busy="true"><p class="muted">Loading…</p></main>
<script nonce="${escapeHtml(i.nonce)}" src="${escapeHtml(i.scriptUri)}"></script>
</body>
</html>
`;
}
