// Where the offline VS Code toolchain lives: a git-ignored cache inside the repo, so a clean clone rebuilds it.
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
// Real path: .cache may be a symlink (.ci/run's temp checkout shares the outer one) and npm records install paths.
const DOT_CACHE = existsSync(join(ROOT, '.cache')) ? realpathSync(join(ROOT, '.cache')) : join(ROOT, '.cache');
export const CACHE = process.env.HEADROOM_VSCODE_CACHE ?? join(DOT_CACHE, 'vscode');

// Pinned: code-server 4.139.1 ships VS Code 1.139.1 and wants Node 24 (research/real-vscode.md).
export const CODE_SERVER_VERSION = '4.139.1';
export const NODE_VERSION = '24.9.0';

export const NODE_DIR = join(CACHE, `node-${NODE_VERSION}`);
export const NODE_BIN = join(NODE_DIR, 'bin', 'node');
export const CODE_SERVER_PREFIX = join(CACHE, `code-server-${CODE_SERVER_VERSION}`);
export const CODE_SERVER_ENTRY = join(CODE_SERVER_PREFIX, 'lib', 'node_modules', 'code-server', 'out', 'node', 'entry.js');
export const CHROMIUM = process.env.HEADROOM_CHROMIUM ?? '/usr/bin/chromium';
export const RUNS = join(CACHE, 'runs');
