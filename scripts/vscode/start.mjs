// `npm start`: builds the .vsix and opens it in a real VS Code. Desktop `code` when it is on PATH;
// otherwise code-server on 127.0.0.1 (URL printed, Ctrl-C stops it). The CLI table is `npm run models`.
// Env: HEADROOM_PORT picks the code-server port (default: 8765, or a free one if taken).
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE, ROOT } from './paths.mjs';
import { packageVsix } from './package.mjs';
import { ensureToolchain, SetupError } from './setup.mjs';
import { freePort, installVsix, startCodeServer } from './code-server.mjs';

function desktopCode() {
  if (process.env.HEADROOM_NO_DESKTOP) return null;
  const r = spawnSync('code', ['--version'], { encoding: 'utf8' });
  return r.status === 0 && !/code-server/i.test(r.stdout) ? 'code' : null;
}

async function portToUse() {
  const wanted = Number(process.env.HEADROOM_PORT ?? 8765);
  const probe = await new Promise((resolve) => {
    import('node:net').then(({ createServer }) => {
      const s = createServer().once('error', () => resolve(false)).listen(wanted, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  });
  return probe ? wanted : freePort();
}

async function main() {
  const { vsix } = packageVsix({ quiet: true });
  console.log(`built ${vsix}`);

  const code = desktopCode();
  if (code) {
    const r = spawnSync(code, ['--install-extension', vsix, '--force'], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`${code} --install-extension failed`);
    spawnSync(code, [ROOT], { stdio: 'inherit' });
    console.log('opened in VS Code; Headroom is in the status bar (bottom right).');
    return;
  }

  console.log('no desktop `code` on PATH: using code-server (VS Code in the browser); first run installs it (~4 min)');
  const tc = await ensureToolchain();
  // A persistent profile so settings and state survive restarts.
  const dir = join(CACHE, 'start');
  for (const sub of ['user/User', 'ext', 'tmp']) mkdirSync(join(dir, sub), { recursive: true });
  const settings = join(dir, 'user/User/settings.json');
  if (!existsSync(settings)) {
    writeFileSync(settings, JSON.stringify({ 'workbench.startupEditor': 'none', 'security.workspace.trust.enabled': false, 'telemetry.telemetryLevel': 'off' }, null, 2));
  }
  installVsix(tc, dir, vsix);
  const server = await startCodeServer(tc, dir, { folder: ROOT, port: await portToUse() });
  console.log(`\nHeadroom is running in VS Code at  ${server.url}/?folder=${encodeURIComponent(ROOT)}\nopen it in a browser; Ctrl-C stops the server.\n`);
  const stop = () => { server.stopSync(); process.exit(0); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  server.child.on('exit', (c) => { console.log(`code-server exited (${c})`); process.exit(c ?? 1); });
}

main().catch((err) => {
  console.error(`npm start failed: ${err instanceof SetupError ? err.message : err?.stack ?? err}`);
  process.exit(1);
});
