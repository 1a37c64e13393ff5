// Runs under xvfb-run: one @vscode/test-electron run with the executable and suite given as arguments.
import { runTests } from '@vscode/test-electron';
import { ROOT } from './paths.mjs';

const [executable, testsIndex, extensionPath = ROOT] = process.argv.slice(2);
runTests({ vscodeExecutablePath: executable, extensionDevelopmentPath: extensionPath, extensionTestsPath: testsIndex,
  launchArgs: ['--disable-extensions', '--disable-workspace-trust', '--skip-welcome'] })
  .then(() => process.exit(0), (err) => { console.error(err?.message ?? err); process.exit(1); });
