// `npm run package`: production esbuild bundle → `vsce package` → headroom-<version>.vsix in the repo root,
// then `vsce ls` must list only dist/*.js, media/, README, LICENSE and package.json.
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './paths.mjs';

const VSCE = join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
const ALLOWED = [/^dist\/[^/]+\.js$/, /^media\//, /^README\.md$/, /^LICENSE$/, /^package\.json$/];

function sh(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${[cmd, ...args].join(' ')} exited ${r.status}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Builds and packages; returns the absolute .vsix path and the shipped file list. */
export function packageVsix({ quiet = false } = {}) {
  const { name, version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const vsix = join(ROOT, `${name}-${version}.vsix`);
  sh(process.execPath, ['esbuild.mjs', '--production']);
  // Bundled by esbuild, so no node_modules ship (--no-dependencies).
  const files = sh(process.execPath, [VSCE, 'ls', '--no-dependencies']).split('\n').map((s) => s.trim()).filter(Boolean);
  const stray = files.filter((f) => !ALLOWED.some((re) => re.test(f)));
  if (stray.length > 0) throw new Error(`the .vsix would ship files outside dist/, media/, README, LICENSE, package.json:\n  ${stray.join('\n  ')}\n(fix .vscodeignore)`);
  if (!files.includes('dist/extension.js')) throw new Error('dist/extension.js is not in the package');
  // The README's screenshots are repo-relative and the repository URL is a placeholder: leave links as written.
  sh(process.execPath, [VSCE, 'package', '--no-dependencies', '--no-rewrite-relative-links', '--out', vsix]);
  if (!quiet) {
    console.log(`${vsix} (${(statSync(vsix).size / 1024).toFixed(0)} KiB), ${files.length} files:`);
    for (const f of files) console.log(`  ${f}`);
  }
  return { vsix, files };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try { packageVsix(); } catch (err) { console.error(`package failed: ${err.message}`); process.exit(1); }
}
