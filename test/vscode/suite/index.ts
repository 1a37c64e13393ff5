// Mocha runner loaded by VS Code's extension host (the `extensionTestsPath` contract shared by
// code-server's test payload and @vscode/test-electron): runs every bundled *.test.js next to it.
import Mocha from 'mocha';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

export function run(): Promise<void> {
  const grep = process.env.HEADROOM_VSCODE_GREP;
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 60_000, reporter: 'spec', ...(grep ? { grep } : {}) });
  const files = readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort();
  for (const f of files) mocha.addFile(join(__dirname, f));
  return new Promise((resolve, reject) => {
    try {
      const runner = mocha.run((failures) => {
        const s = runner.stats;
        // The harness looks for this exact closing line.
        console.log(`${s?.passes ?? 0} passed, ${failures} failed, ${s?.pending ?? 0} skipped`);
        if (failures > 0) reject(new Error(`${failures} extension-host test(s) failed`));
        else resolve();
      });
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
}
