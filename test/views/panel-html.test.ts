// The panel shell: strict CSP, nonce on every script, nothing remote, attribute values escaped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { buildPanelHtml, contentSecurityPolicy, escapeHtml } from '../../src/views/panel-html';

const input = () => ({
  cspSource: 'https://file+.vscode-resource.vscode-cdn.net',
  nonce: randomBytes(16).toString('base64'),
  scriptUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/media/build/panel.js',
  styleUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/media/panel.css',
});

test('CSP meta: default-src none, scripts only by nonce, no unsafe-*', () => {
  const i = input();
  const html = buildPanelHtml(i);
  const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html);
  assert.ok(meta, 'CSP meta present');
  const csp = meta[1]!.replace(/&#39;/g, "'");
  assert.equal(csp, contentSecurityPolicy(i.cspSource, i.nonce));
  const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k!, v]));
  assert.deepEqual(directives['default-src'], ["'none'"]);
  assert.deepEqual(directives['script-src'], [`'nonce-${i.nonce}'`]);
  assert.deepEqual(directives['style-src'], [i.cspSource]);
  assert.ok(!csp.includes('unsafe'), 'no unsafe-inline / unsafe-eval');
  // The CSP must come before anything that loads.
  assert.ok(html.indexOf('Content-Security-Policy') < html.indexOf('<link'));
});

test('every script carries the nonce; no inline script or handler; no remote source', () => {
  const i = input();
  const html = buildPanelHtml(i);
  const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
  assert.equal(scripts.length, 1);
  for (const [, attrs, body] of scripts) {
    assert.match(attrs!, new RegExp(`nonce="${i.nonce.replace(/[+/=]/g, (c) => '\\' + c)}"`));
    assert.equal(body!.trim(), '', 'no inline script body');
  }
  assert.ok(!/\son[a-z]+=/i.test(html), 'no inline event handlers');
  for (const [, url] of html.matchAll(/(?:src|href)="([^"]+)"/g)) assert.ok(url!.startsWith(i.cspSource + '/'), url);
  assert.ok(!/https?:\/\/(?!file\+\.vscode-resource)/.test(html), 'nothing from the network');
});

test('a fresh nonce per render; short or odd nonces are refused', () => {
  assert.notEqual(buildPanelHtml(input()), buildPanelHtml(input()));
  assert.throws(() => buildPanelHtml({ ...input(), nonce: 'abc' }), /nonce/);
  assert.throws(() => buildPanelHtml({ ...input(), nonce: '"><script>alert(1)</script>' }), /nonce/);
});

test('URIs are attribute-escaped', () => {
  const html = buildPanelHtml({ ...input(), styleUri: 'x" onload="alert(1)' });
  assert.ok(html.includes('href="x&quot; onload=&quot;alert(1)"'));
  assert.equal(escapeHtml(`<a href='x'>&</a>`), '&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;');
});
