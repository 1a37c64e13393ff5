// Measures what Headroom's activation costs in a real VS Code extension host, next to a peer in the same run:
// an empty extension (activate() { }) also activated onStartupFinished. Both are installed from .vsix files, so
// the production bundle is what gets measured. The times are VS Code's own (Developer: Show Running Extensions:
// code loading + activate() call). Also records when the first HTTP request reaches an endpoint Headroom watches,
// relative to the moment the workbench's status bar is painted (goal: no network work before first paint).
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, writeFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE, ROOT } from './paths.mjs';
import { ensureToolchain } from './setup.mjs';
import { packageVsix } from './package.mjs';
import { installVsix, makeRunDir, startCodeServer } from './code-server.mjs';
import { launchBrowser, runFromPalette, waitForWorkbench } from './browser.mjs';

const ROUNDS = Number(process.env.HEADROOM_BENCH_ROUNDS ?? 5);
const PEER = { publisher: 'headroom-bench', name: 'empty-peer', displayName: 'Empty Peer' };

function peerVsix() {
  const dir = join(CACHE, 'bench', PEER.name);
  const vsix = join(dir, `${PEER.name}.vsix`);
  if (existsSync(vsix)) return vsix;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({
    ...PEER, version: '1.0.0', license: 'MIT', engines: { vscode: '^1.100.0' },
    activationEvents: ['onStartupFinished'], main: './extension.js', repository: { type: 'git', url: 'https://example.invalid/x.git' },
  }, null, 2));
  writeFileSync(join(dir, 'extension.js'), "'use strict';\nexports.activate = function activate() {};\nexports.deactivate = function deactivate() {};\n");
  writeFileSync(join(dir, 'README.md'), '# Empty peer\nThe activation-cost baseline for Headroom\'s bench.\n');
  writeFileSync(join(dir, 'LICENSE'), 'MIT\n');
  const vsce = join(process.cwd(), 'node_modules', '@vscode', 'vsce', 'vsce');
  const r = spawnSync(process.execPath, [vsce, 'package', '--no-dependencies', '--out', vsix], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`packaging the peer failed:\n${r.stdout}${r.stderr}`);
  return vsix;
}

// Rows of the Running Extensions editor: "<name>\n<version>\n<host>\n[Startup ]Activation: 25ms".
async function activationTimes(page) {
  await runFromPalette(page, 'Show Running Extensions');
  const editor = page.locator('.runtime-extensions-editor');
  const want = ['Headroom', PEER.displayName];
  for (let i = 0; i < 100; i++) {
    const text = await editor.innerText().catch(() => '');
    const found = {};
    for (const name of want) {
      const m = new RegExp(`^${name}\\n[^\\n]*\\n[^\\n]*\\n(?:Startup )?Activation: (\\d+)ms`, 'm').exec(text);
      if (m) found[name] = Number(m[1]);
    }
    if (want.every((n) => n in found)) return { headroom: found.Headroom, peer: found[PEER.displayName] };
    await page.waitForTimeout(200);
  }
  throw new Error('Running Extensions never listed both Headroom and the peer as activated');
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

export async function runActivationBench(say = console.log) {
  const tc = await ensureToolchain();
  const { vsix, files } = packageVsix({ quiet: true });
  const peer = peerVsix();
  // What activation has to load vs what loads lazily on first use (production bundles, as shipped).
  const kib = (f) => `${(statSync(join(ROOT, f)).size / 1024).toFixed(1)} KiB`;
  say(`shipped bundles: ${files.filter((f) => f.startsWith('dist/')).map((f) => `${f} ${kib(f)}`).join(', ')}`);

  // An endpoint for Headroom to poll, so we see when its first network request happens.
  const hits = [];
  const engine = createServer((req, res) => { hits.push({ at: Date.now(), url: req.url }); res.writeHead(404).end(); });
  await new Promise((r) => engine.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${engine.address().port}`;

  const dir = makeRunDir('bench', { 'headroom.autoDetect': false, 'headroom.endpoints': [endpoint], 'chat.disableAIFeatures': true });
  installVsix(tc, dir, vsix);
  installVsix(tc, dir, peer);
  const browser = await launchBrowser(tc);
  const rounds = [];
  try {
    // A fresh server per round: a reloaded page leaves its old extension host running (and polling) for the
    // reconnection grace period, which would blur whose request arrived first.
    for (let i = 0; i < ROUNDS; i++) {
      const server = await startCodeServer(tc, dir);
      // Tall viewport: the Running Extensions list is virtualised and our two rows sit at the bottom (fastest).
      const page = await browser.newPage({ viewport: { width: 1400, height: 4000 } });
      try {
        hits.length = 0;
        const t0 = Date.now();
        await page.goto(`${server.url}/?folder=${encodeURIComponent(join(dir, 'workspace'))}`);
        await waitForWorkbench(page);
        const painted = Date.now();
        const times = await activationTimes(page);
        for (let waited = 0; hits.length === 0 && waited < 15_000; waited += 250) await page.waitForTimeout(250);
        const firstHit = hits[0]?.at;
        rounds.push({ ...times, paintMs: painted - t0, firstRequestAfterPaintMs: firstHit === undefined ? null : firstHit - painted });
      } finally {
        await page.close().catch(() => {});
        server.stopSync();
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } finally {
    await browser.close().catch(() => {});
    engine.close();
    if (!process.env.HEADROOM_VSCODE_KEEP) rmSync(dir, { recursive: true, force: true });
  }

  for (const [i, r] of rounds.entries()) {
    say(`round ${i + 1}: Headroom ${r.headroom} ms, empty peer ${r.peer} ms, added ${r.headroom - r.peer} ms; ` +
      `first request ${r.firstRequestAfterPaintMs === null ? 'none within 15 s' : `${r.firstRequestAfterPaintMs} ms after the status bar painted`}`);
  }
  const h = median(rounds.map((r) => r.headroom));
  const p = median(rounds.map((r) => r.peer));
  const added = median(rounds.map((r) => r.headroom - r.peer));
  const early = rounds.filter((r) => r.firstRequestAfterPaintMs !== null && r.firstRequestAfterPaintMs < 0).length;
  say(`activation (median of ${rounds.length}, VS Code's own timing: code load + activate()): Headroom ${h} ms vs empty extension ${p} ms` +
    ` → ratio ${(h / Math.max(1, p)).toFixed(2)}×, added ${added} ms (goal < 20 ms: ${added < 20 ? 'met' : 'NOT met'})`);
  say(`network before first paint: ${early === 0 ? 'none' : `${early}/${rounds.length} rounds had a request before the status bar painted`}`);
  return { rounds, headroom: h, peer: p, added, early };
}
