// Starts code-server on a free 127.0.0.1 port in its own process group, with its own TMPDIR and
// user-data dir (it leaves sockets behind), and stops the whole group: children outlive a killed parent.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, delimiter, dirname } from 'node:path';
import { RUNS } from './paths.mjs';

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A fresh run directory: user-data, extensions, tmp and a workspace folder. */
export function makeRunDir(label, extraSettings = {}) {
  mkdirSync(RUNS, { recursive: true });
  // Runs interrupted by Ctrl-C leave their folder behind; sweep those older than a day.
  for (const name of readdirSync(RUNS)) {
    const p = join(RUNS, name);
    try { if (Date.now() - statSync(p).mtimeMs > 86_400_000) rmSync(p, { recursive: true, force: true }); } catch { /* raced */ }
  }
  const dir = mkdtempSync(join(RUNS, `${label}-`));
  for (const sub of ['user/User', 'ext', 'tmp', 'workspace']) mkdirSync(join(dir, sub), { recursive: true });
  // Quiet, deterministic workbench: no welcome page, no trust prompt, no update/telemetry chatter.
  writeFileSync(join(dir, 'user/User/settings.json'), JSON.stringify({
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'security.workspace.trust.enabled': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'workbench.colorTheme': 'Default Dark Modern',
    'window.commandCenter': false,
    'chat.disableAIFeatures': true,
    // Run folders live inside this repo: don't let Git offer to open the parent repository.
    'git.openRepositoryInParentFolders': 'never',
    ...extraSettings,
  }, null, 2));
  return dir;
}

function codeServerArgs(tc, dir) {
  return [tc.codeServerEntry, '--user-data-dir', join(dir, 'user'), '--extensions-dir', join(dir, 'ext')];
}

function envFor(tc, dir, extra) {
  return {
    ...process.env,
    PATH: `${dirname(tc.node)}${delimiter}${process.env.PATH}`,
    TMPDIR: join(dir, 'tmp'),
    XDG_CONFIG_HOME: join(dir, 'tmp'),
    XDG_DATA_HOME: join(dir, 'tmp'),
    ...extra,
  };
}

/** `code-server --install-extension X.vsix` into the run's extensions dir. */
export function installVsix(tc, dir, vsix) {
  const r = spawnSync(tc.node, [...codeServerArgs(tc, dir), '--install-extension', vsix], {
    env: envFor(tc, dir), encoding: 'utf8', timeout: 120_000,
  });
  if (r.status !== 0) throw new Error(`installing ${vsix} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  return r.stdout.trim();
}

/**
 * Starts code-server and resolves once /healthz answers.
 * @param {{ smokeDriver?: boolean, folder?: string, env?: Record<string,string>, host?: string, port?: number, onOutput?: (s: string) => void }} opts
 */
export async function startCodeServer(tc, dir, opts = {}) {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? (await freePort());
  const args = [
    ...codeServerArgs(tc, dir),
    '--bind-addr', `${host}:${port}`, '--auth', 'none',
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override',
    // Without the smoke-test driver the workbench ignores development payloads (extension tests hang).
    ...(opts.smokeDriver ? ['--vscode-option', 'enable-smoke-test-driver'] : []),
    opts.folder ?? join(dir, 'workspace'),
  ];
  const child = spawn(tc.node, args, { env: envFor(tc, dir, opts.env), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (b) => { const s = b.toString(); output += s; if (output.length > 200_000) output = output.slice(-100_000); opts.onOutput?.(s); };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let exited = null;
  child.on('exit', (code, signal) => { exited = { code, signal }; });

  const stop = () => {
    try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
    // Give it a moment, then make sure nothing of the group survives.
    setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 1500).unref();
  };
  const stopSync = () => {
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
  };
  process.once('exit', stopSync);
  // The server is in its own process group, so Ctrl-C in the terminal does not reach it: forward the stop.
  const onSignal = (sig) => { stopSync(); process.exit(sig === 'SIGINT' ? 130 : 143); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const url = `http://${host}:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`code-server exited (${JSON.stringify(exited)}) before answering:\n${output.slice(-4000)}`);
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) { stopSync(); throw new Error(`code-server did not answer /healthz within 60 s:\n${output.slice(-4000)}`); }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, host, port, child, stop, stopSync, output: () => output };
}
