// The same suite under @vscode/test-electron, where VS Code can be downloaded. Offline it rejects fast
// (getaddrinfo ENOTFOUND); that is reported as a skip, never a failure.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './paths.mjs';

const VSCODE_VERSION = '1.105.1';
const OFFLINE = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENETUNREACH', 'EHOSTUNREACH']);

export function isOfflineError(err) {
  for (let e = err; e; e = e.cause) {
    if (OFFLINE.has(e.code) || /timed? ?out|getaddrinfo|ENOTFOUND|EAI_AGAIN|ECONNREFUSED/i.test(String(e.message ?? ''))) return true;
  }
  return false;
}

/** @returns {Promise<'skipped' | 'passed' | 'failed'>} */
export async function runUnderElectron(testsIndex, extensionPath, log = console.log) {
  const { downloadAndUnzipVSCode, runTests } = await import('@vscode/test-electron');
  let executable;
  try {
    executable = await Promise.race([
      downloadAndUnzipVSCode({ version: VSCODE_VERSION, cachePath: join(ROOT, '.vscode-test') }),
      new Promise((_, reject) => setTimeout(() => reject(Object.assign(new Error('download timed out'), { code: 'ETIMEDOUT' })), 120_000).unref()),
    ]);
  } catch (err) {
    if (isOfflineError(err)) {
      log(`@vscode/test-electron: skipped — offline, VS Code ${VSCODE_VERSION} cannot be downloaded (${err.code ?? err.message}); the code-server runner covers the same suite`);
      return 'skipped';
    }
    throw err;
  }
  // Electron needs a display on Linux; use xvfb-run when there is none.
  const needsX = process.platform === 'linux' && !process.env.DISPLAY;
  if (needsX && spawnSync('xvfb-run', ['--help']).error) {
    log('@vscode/test-electron: skipped — no DISPLAY and no xvfb-run (apt-get install xvfb)');
    return 'skipped';
  }
  try {
    if (needsX) {
      const r = spawnSync('xvfb-run', ['-a', process.execPath, join(ROOT, 'scripts', 'vscode', 'electron-child.mjs'), executable, testsIndex, extensionPath], { stdio: 'inherit' });
      return r.status === 0 ? 'passed' : 'failed';
    }
    await runTests({ vscodeExecutablePath: executable, extensionDevelopmentPath: extensionPath, extensionTestsPath: testsIndex,
      launchArgs: ['--disable-extensions', '--disable-workspace-trust', '--skip-welcome'] });
    return 'passed';
  } catch (err) {
    log(`@vscode/test-electron: failed — ${err.message ?? err}`);
    return 'failed';
  }
}

export const electronAvailable = () => existsSync(join(ROOT, 'node_modules', '@vscode', 'test-electron'));
