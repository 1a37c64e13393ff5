// Runs every test/**/*.test.ts with node's built-in runner (TypeScript via tsx).
// Usage: node scripts/test.mjs [filter-substring ...]
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
// test/vscode holds extension-host suites; they run inside VS Code (scripts/vscode-test.mjs), not here.
const files = find('test')
  .filter((f) => !f.startsWith(join('test', 'vscode') + '/'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// Suites under test/real-engine/ talk to a real llama-server built from source: build it first (instant when
// cached; prints "skipped" and the suites skip when no compiler is available).
if (files.some((f) => f.startsWith(join('test', 'real-engine') + '/'))) {
  const b = spawnSync(process.execPath, ['scripts/build-llama-server.mjs'], { stdio: 'inherit' });
  if (b.status !== 0) process.exit(b.status ?? 1);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
