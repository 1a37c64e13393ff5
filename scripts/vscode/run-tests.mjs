// `npm run test:vscode`: runs test/vscode/suite/*.test.ts inside a REAL VS Code extension host.
// 1. @vscode/test-electron (skipped offline), 2. code-server 4.139.1 (VS Code 1.139) driven by headless chromium.
// Prints mocha's spec output and a closing `N passed, N failed` line; exits non-zero on failure.
// By default the suites run against the packaged .vsix as installed (the production bundle users get).
// Env: HEADROOM_VSCODE_DEV=1 tests the source tree's dev build instead; HEADROOM_VSCODE_SKIP_ELECTRON=1 skips
// step 1; HEADROOM_VSCODE_GREP=<text> runs only matching tests; HEADROOM_VSCODE_KEEP=1 keeps the run folders.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { format } from 'node:util';
import { basename, join } from 'node:path';
import { ROOT } from './paths.mjs';
import { ensureToolchain, SetupError } from './setup.mjs';
import { installVsix, startCodeServer, makeRunDir } from './code-server.mjs';
import { packageVsix } from './package.mjs';
import { launchBrowser } from './browser.mjs';
import { startUiProbe } from './ui-probe.mjs';
import { buildTests } from './build-tests.mjs';
import { runUnderElectron, electronAvailable } from './electron.mjs';

const RUN_TIMEOUT_MS = 5 * 60_000;
const say = (s) => process.stdout.write(`${s}\n`);
const WORKBENCH_NOISE = /^(Resolving connection|Resolved connection|Creating a socket|Updating additional|Creation of workbench|\[[A-Za-z -]+(:[a-z]+)?\] |Extension host .*(started|terminated)|Started local extension host|.*(open-vsx|vsda|marketplace|ENOTFOUND|github))/i;

// Settings every test run starts from: nothing is probed unless a test points headroom at an endpoint.
export const TEST_SETTINGS = { 'headroom.autoDetect': false, 'headroom.endpoints': [] };

function buildExtension() {
  const r = spawnSync(process.execPath, [join(ROOT, 'esbuild.mjs')], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('esbuild failed');
}

/**
 * The extension as users get it: `npm run package`'s .vsix installed by code-server into a scratch extensions
 * dir; its folder becomes the development path. HEADROOM_VSCODE_DEV=1 tests the source tree's dev build instead.
 */
function extensionUnderTest(tc) {
  if (process.env.HEADROOM_VSCODE_DEV === '1') {
    buildExtension();
    return { path: ROOT, label: 'dev build of the source tree' };
  }
  const { vsix } = packageVsix({ quiet: true });
  const dir = makeRunDir('vsix');
  installVsix(tc, dir, vsix);
  const { publisher, name, version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const path = join(dir, 'ext', `${publisher}.${name}-${version}`);
  if (!existsSync(join(path, 'package.json'))) throw new Error(`installing ${vsix} did not produce ${path}`);
  return { path, label: `${basename(vsix)} as installed`, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

async function runUnderCodeServer(tc, testsIndex, extensionPath) {
  const dir = makeRunDir('test', TEST_SETTINGS);
  const cleanup = [];
  let server;
  try {
    const browser = await launchBrowser(tc);
    cleanup.push(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const probe = await startUiProbe(page);
    cleanup.push(() => probe.close());
    server = await startCodeServer(tc, dir, {
      smokeDriver: true,
      // Connect Agent's backups in the run dir: a test's Undo must never touch the developer's own connected configs.
      env: { HEADROOM_UI_PROBE: probe.url, HEADROOM_TEST_RUN_DIR: dir, HEADROOM_CONNECT_STATE: join(dir, 'connect-state'), ...(process.env.HEADROOM_VSCODE_GREP ? { HEADROOM_VSCODE_GREP: process.env.HEADROOM_VSCODE_GREP } : {}) },
    });
    cleanup.push(() => server.stop());

    let summary = null;
    const noise = [];
    const done = new Promise((resolve) => {
      void page.exposeFunction('codeAutomationExit', (code) => { resolve(Number(code)); });
    });
    await page.exposeFunction('codeAutomationLog', (type, args) => {
      const line = format(...(Array.isArray(args) ? args : [args]));
      const m = /^(\d+) passed, (\d+) failed/.exec(line);
      if (m) summary = { passed: Number(m[1]), failed: Number(m[2]) };
      // Workbench chatter (connection setup, offline open-vsx/vsda/auth errors) is not ours: keep it for a failure report.
      if (WORKBENCH_NOISE.test(line)) { noise.push(line); return; }
      say(line);
    });
    const remote = (p) => `vscode-remote://${server.host}:${server.port}${p}`;
    const payload = JSON.stringify([['extensionDevelopmentPath', remote(extensionPath)], ['extensionTestsPath', remote(testsIndex)]]);
    const url = `${server.url}/?folder=${encodeURIComponent(join(dir, 'workspace'))}&payload=${encodeURIComponent(payload)}`;
    await page.goto(url);
    const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout'), RUN_TIMEOUT_MS).unref());
    const code = await Promise.race([done, timeout]);
    if (code === 'timeout') {
      say(`code-server runner: no result after ${RUN_TIMEOUT_MS / 1000} s; workbench log tail:\n${noise.slice(-30).join('\n')}\nserver output tail:\n${server.output().slice(-3000)}`);
      return { code: 1, summary };
    }
    return { code, summary };
  } finally {
    for (const fn of cleanup.reverse()) { try { await fn(); } catch { /* best effort */ } }
    if (!process.env.HEADROOM_VSCODE_KEEP) rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const t0 = Date.now();
  let tc;
  try {
    tc = await ensureToolchain();
  } catch (err) {
    if (err instanceof SetupError && process.env.CI && /apt-get is not available|run as root/.test(err.message)) {
      say(`extension-host tests: skipped — ${err.message}`);
      return 0;
    }
    throw err;
  }
  const ext = extensionUnderTest(tc);
  const testsIndex = await buildTests();

  let electron = 'skipped';
  if (!process.env.HEADROOM_VSCODE_SKIP_ELECTRON && electronAvailable()) electron = await runUnderElectron(testsIndex, ext.path, say);

  say(`code-server (VS Code 1.139, real extension host), testing the ${ext.label}:`);
  const { code, summary } = await runUnderCodeServer(tc, testsIndex, ext.path).finally(() => ext.cleanup?.());
  const secs = ((Date.now() - t0) / 1000).toFixed(0);
  const p = summary?.passed ?? 0;
  const f = summary?.failed ?? (code === 0 ? 0 : 1);
  say(`extension host: ${p} passed, ${f} failed (code-server; @vscode/test-electron ${electron}; ${secs} s)`);
  return code === 0 && electron !== 'failed' && summary ? 0 : 1;
}

main().then((code) => process.exit(code), (err) => {
  console.error(`test:vscode failed: ${err instanceof SetupError ? err.message : err?.stack ?? err}`);
  process.exit(1);
});
