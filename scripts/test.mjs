// Runs every test/**/*.test.ts with node's built-in runner (TypeScript via tsx).
// Usage: node scripts/test.mjs [filter-substring ...]
import { readFileSync, readdirSync, statSync } from 'node:fs';
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
// test/vscode holds extension-host suites; they run inside a real VS Code (scripts/vscode/run-tests.mjs), not here:
// with no filter (unless HEADROOM_SKIP_VSCODE=1), or when a filter matches the path test/vscode.
const hostSuite = filters.length === 0
  ? process.env.HEADROOM_SKIP_VSCODE !== '1'
  : filters.some((s) => join('test', 'vscode').includes(s));
const files = find('test')
  .filter((f) => !f.startsWith(join('test', 'vscode') + '/'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0 && !hostSuite) {
  console.error('no test files matched');
  process.exit(1);
}
// Suites that use test/support/llama-server talk to a real llama-server built from source: build it first
// (instant when cached; prints "skipped" and those suites skip when no compiler is available).
if (files.some((f) => readFileSync(f, 'utf8').includes('support/llama-server'))) {
  const b = spawnSync(process.execPath, ['scripts/build-llama-server.mjs'], { stdio: 'inherit' });
  if (b.status !== 0) process.exit(b.status ?? 1);
}
const r = files.length === 0 ? { status: 0 }
  : spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], { stdio: 'inherit' });
const host = hostSuite ? spawnSync(process.execPath, [join('scripts', 'vscode', 'run-tests.mjs')], { stdio: 'inherit' }) : { status: 0 };
process.exit(r.status === 0 && host.status === 0 ? 0 : 1);
