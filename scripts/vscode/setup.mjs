// Idempotent install of everything needed to run the extension in a real VS Code offline:
// Node 24 and code-server from the npm registry, Debian's chromium via apt. Cold ~4–5 min, warm: milliseconds.
// Usage: node scripts/vscode/setup.mjs   (also imported by the other scripts as ensureToolchain()).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, renameSync, readdirSync } from 'node:fs';
import { join, delimiter } from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { CACHE, NODE_DIR, NODE_BIN, NODE_VERSION, CODE_SERVER_PREFIX, CODE_SERVER_ENTRY, CODE_SERVER_VERSION, CHROMIUM } from './paths.mjs';

export class SetupError extends Error {}

const log = (msg) => process.stderr.write(`[vscode-setup] ${msg}\n`);

function run(cmd, args, opts = {}) {
  // Nothing here may hang CI: apt and npm get 20 minutes each, far above their cold times (~25 s, ~3–6 min).
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 64 << 20, timeout: 20 * 60_000, killSignal: 'SIGKILL', ...opts });
  if (r.error) throw new SetupError(`${cmd} ${args.join(' ')} failed: ${r.error.message}`);
  if (r.status !== 0) {
    const tail = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-25).join('\n');
    throw new SetupError(`${cmd} ${args.join(' ')} exited ${r.status}:\n${tail}`);
  }
  return r.stdout;
}

// A directory lock: mkdir is atomic. A lock whose owner pid is gone is stale and taken over.
async function withLock(fn) {
  mkdirSync(CACHE, { recursive: true });
  const lock = join(CACHE, '.lock');
  const deadline = Date.now() + 15 * 60_000;
  for (let waited = false; ; waited = true) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      let owner = NaN;
      try { owner = Number(readFileSync(join(lock, 'pid'), 'utf8')); } catch { /* being written */ }
      if (Number.isInteger(owner) && !alive(owner)) { rmSync(lock, { recursive: true, force: true }); continue; }
      if (Date.now() > deadline) throw new SetupError(`timed out waiting for the setup lock ${lock} (held by pid ${owner})`);
      if (!waited) log(`another setup (pid ${owner}) is running; waiting`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try { return await fn(); } finally { rmSync(lock, { recursive: true, force: true }); }
}

function alive(pid) {
  try { process.kill(pid, 0); return true; } catch (err) { return err.code === 'EPERM'; }
}

function dpkgInstalled(pkg) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

function ensureAptPackages() {
  // libkrb5-dev: code-server's `kerberos` dependency compiles from source (its prebuilt download fails offline).
  const missing = [];
  if (!existsSync(CHROMIUM)) missing.push('chromium');
  if (!dpkgInstalled('libkrb5-dev')) missing.push('libkrb5-dev');
  if (missing.length === 0) return;
  if (spawnSync('apt-get', ['--version']).status !== 0) throw new SetupError(`need Debian packages ${missing.join(', ')} but apt-get is not available`);
  if (process.getuid?.() !== 0) throw new SetupError(`need Debian packages ${missing.join(', ')}: run as root or install them: apt-get install ${missing.join(' ')}`);
  log(`apt-get install ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-qq'], { env });
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
  if (!existsSync(CHROMIUM)) throw new SetupError(`apt installed chromium but ${CHROMIUM} is missing`);
}

function ensureNode() {
  if (existsSync(NODE_BIN) && run(NODE_BIN, ['--version']).trim() === `v${NODE_VERSION}`) return;
  // The npm registry carries official Node builds as node-<platform>-<arch> packages (bin/node + include/ headers).
  const pkg = `node-${process.platform}-${process.arch}@${NODE_VERSION}`;
  log(`npm pack ${pkg}`);
  const tmp = `${NODE_DIR}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  run('npm', ['pack', pkg, '--pack-destination', tmp, '--silent'], { cwd: tmp });
  const tgz = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
  if (!tgz) throw new SetupError(`npm pack ${pkg} produced no tarball`);
  run('tar', ['xzf', tgz, '--strip-components=1'], { cwd: tmp });
  rmSync(join(tmp, tgz));
  rmSync(NODE_DIR, { recursive: true, force: true });
  renameSync(tmp, NODE_DIR);
  const v = run(NODE_BIN, ['--version']).trim();
  if (v !== `v${NODE_VERSION}`) throw new SetupError(`Node from ${pkg} reports ${v}`);
}

function ensureCodeServer() {
  const marker = join(CODE_SERVER_PREFIX, '.headroom-complete');
  if (existsSync(marker) && existsSync(CODE_SERVER_ENTRY)) return;
  log(`npm install -g code-server@${CODE_SERVER_VERSION} (cold: ~3 min on 2 cores)`);
  const scratch = join(CACHE, 'scratch-config');
  mkdirSync(scratch, { recursive: true });
  rmSync(CODE_SERVER_PREFIX, { recursive: true, force: true });
  // Drop what an outer `npm test` exported (npm_config_user_agent names Node 20, and code-server's postinstall
  // reads the Node version from it); the inner npm then describes itself on Node 24.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  const env = {
    ...inherited,
    PATH: `${join(NODE_DIR, 'bin')}${delimiter}${process.env.PATH}`,
    // The machine's npmrc points native builds at Node 20 headers; code-server's modules must build for Node 24.
    npm_config_nodedir: NODE_DIR,
    // Otherwise code-server's postinstall writes a password-auth config into the real ~/.config.
    XDG_CONFIG_HOME: scratch,
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  };
  run('npm', ['install', '-g', '--prefix', CODE_SERVER_PREFIX, '--no-save', `code-server@${CODE_SERVER_VERSION}`], { env, cwd: CACHE });
  if (!existsSync(CODE_SERVER_ENTRY)) throw new SetupError(`code-server installed but ${CODE_SERVER_ENTRY} is missing`);
  writeFileSync(marker, `${new Date().toISOString()}\n`);
}

/** Installs what is missing (under a lock) and returns the paths the other scripts need. */
export async function ensureToolchain() {
  const t0 = Date.now();
  await withLock(async () => {
    ensureAptPackages();
    ensureNode();
    ensureCodeServer();
  });
  const secs = (Date.now() - t0) / 1000;
  if (secs > 2) log(`toolchain ready in ${secs.toFixed(0)} s`);
  return { node: NODE_BIN, codeServerEntry: CODE_SERVER_ENTRY, chromium: CHROMIUM, cache: CACHE };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  ensureToolchain().then(
    (t) => { console.log(JSON.stringify(t, null, 2)); },
    (err) => { console.error(`setup failed: ${err instanceof SetupError ? err.message : err.stack}`); process.exit(1); },
  );
}
