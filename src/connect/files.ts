// The file side of Connect Agent: find an agent's config, plan the rewrite, write it with a backup, undo it
// byte for byte. Nothing is written unless the file still holds exactly the bytes the plan was made from, and an
// undo never overwrites a file someone changed after us (it reports a conflict; `force` keeps their version in a
// side file first). No `vscode`: the CLI and the extension share this.
import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, readdir, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { planAiderYaml, planDotEnv } from './aider';
import { planContinue, type ConnectTargets, type Plan } from './continue';
import { unifiedDiff } from './diff';
import { applyEdits, ConfigParseError, type Change } from './text-edit';

export type Agent = 'continue' | 'aider';
export type ConfigFormat = 'continue-yaml' | 'continue-json' | 'aider-yaml' | 'dotenv';

/** Agent configs are a few KB; anything past this is not one. */
const MAX_CONFIG_BYTES = 2 << 20;

export class ConnectError extends Error {
  override readonly name: string = 'ConnectError';
}

/** The file changed between planning and writing, or after we wrote it. */
export class ConflictError extends ConnectError {
  override readonly name = 'ConflictError';
}

export interface FilePlan extends Plan {
  file: string;
  format: ConfigFormat;
  before: string;
  after: string;
  diff: string;
  /** sha256 of the bytes the plan was made from. */
  sha: string;
}

export interface BackupRecord {
  version: 1;
  file: string;
  createdAt: string;
  /** The file's bytes before the first connect, base64. */
  original: string;
  /** sha256 of the bytes Headroom wrote (undo only restores over exactly these). */
  written: string;
  changes: Change[];
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Where connect keeps its backups: $XDG_STATE_HOME/headroom/connect, like the bench store. */
export function connectStateDir(env: Record<string, string | undefined>, home: string): string {
  if (env.HEADROOM_CONNECT_STATE?.trim()) return env.HEADROOM_CONNECT_STATE.trim();
  return join(env.XDG_STATE_HOME?.trim() || join(home, '.local', 'state'), 'headroom', 'connect');
}

export function backupPath(stateDir: string, file: string): string {
  return join(stateDir, `${basename(file).replace(/[^A-Za-z0-9._-]/g, '_')}-${sha256(resolve(file)).slice(0, 16)}.json`);
}

/** Config files an agent reads, most specific first (the first that exists is the one to connect). */
export function candidateFiles(agent: Agent, home: string, cwd: string): string[] {
  if (agent === 'continue') return [join(home, '.continue', 'config.yaml'), join(home, '.continue', 'config.json')];
  return [join(cwd, '.aider.conf.yml'), join(home, '.aider.conf.yml'), join(cwd, '.env')];
}

export async function findConfig(agent: Agent, home: string, cwd: string): Promise<string | undefined> {
  for (const f of candidateFiles(agent, home, cwd)) {
    try {
      if ((await stat(f)).isFile()) return f;
    } catch {
      // not there
    }
  }
  return undefined;
}

export function formatFor(agent: Agent, file: string): ConfigFormat {
  const name = basename(file).toLowerCase();
  if (agent === 'continue') return name.endsWith('.json') ? 'continue-json' : 'continue-yaml';
  return name === '.env' || name.endsWith('.env') ? 'dotenv' : 'aider-yaml';
}

async function readText(file: string): Promise<{ bytes: Buffer; text: string }> {
  let bytes: Buffer;
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new ConnectError(`${file} is not a file`);
    if (s.size > MAX_CONFIG_BYTES) throw new ConnectError(`${file} is ${s.size} bytes; an agent config is far smaller — not touching it`);
    bytes = await readFile(file);
  } catch (err) {
    if (err instanceof ConnectError) throw err;
    throw new ConnectError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const text = bytes.toString('utf8');
  // Edits are made on text: a file that does not round-trip through UTF-8 could not be written back exactly.
  if (!Buffer.from(text, 'utf8').equals(bytes)) throw new ConnectError(`${file} is not valid UTF-8; not touching it`);
  return { bytes, text };
}

export function planText(text: string, format: ConfigFormat, to: ConnectTargets): Plan {
  switch (format) {
    case 'continue-yaml':
      return planContinue(text, 'yaml', to);
    case 'continue-json':
      return planContinue(text, 'json', to);
    case 'aider-yaml':
      return planAiderYaml(text, to);
    case 'dotenv':
      return planDotEnv(text, to);
  }
}

/** Reads the file and works out the rewrite (no write). A file that does not parse is a ConfigParseError. */
export async function planFile(file: string, format: ConfigFormat, to: ConnectTargets): Promise<FilePlan> {
  const { bytes, text } = await readText(file);
  let plan: Plan;
  try {
    plan = planText(text, format, to);
  } catch (err) {
    if (err instanceof ConfigParseError) throw new ConfigParseError(`${file}: ${err.message}`);
    throw new ConnectError(`${file}: ${(err as Error).message}`);
  }
  const after = applyEdits(text, plan.edits);
  return { ...plan, file, format, before: text, after, diff: unifiedDiff(text, after, file), sha: sha256(bytes) };
}

/**
 * Replaces the file's content all at once: a temp file next to the real one (a symlinked config stays a symlink),
 * same permission bits, then rename — a crash leaves the old or the new content, never half of one.
 */
async function writeExact(file: string, data: Buffer | string): Promise<void> {
  const real = await realpath(file).catch(() => file);
  const mode = (await stat(real).catch(() => undefined))?.mode;
  const tmp = `${real}.headroom-${process.pid}-${Date.now()}.tmp`;
  try {
    await writeFile(tmp, data, { mode: 0o600 });
    if (mode !== undefined) await chmod(tmp, mode & 0o7777); // exact bits, whatever the umask
    await rename(tmp, real);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

async function readBackup(path: string): Promise<BackupRecord | undefined> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const r = JSON.parse(raw) as BackupRecord;
    if (r.version !== 1 || typeof r.file !== 'string' || typeof r.original !== 'string' || typeof r.written !== 'string') throw new Error('unknown shape');
    return r;
  } catch (err) {
    throw new ConnectError(`backup ${path} is damaged (${(err as Error).message}); the original is not recoverable from it`);
  }
}

export interface Applied {
  file: string;
  backup: string;
  changes: Change[];
}

/**
 * Writes the plan. The backup goes first (a crash leaves a backup, never a rewritten file without one); a file
 * already connected keeps its first original, so undo goes all the way back. Throws ConflictError when the
 * file no longer holds the bytes the plan was made from.
 */
export async function applyPlan(plan: FilePlan, stateDir: string, now = new Date()): Promise<Applied> {
  const { bytes } = await readText(plan.file);
  if (sha256(bytes) !== plan.sha) throw new ConflictError(`${plan.file} changed since it was read; nothing written — run connect again`);
  const bpath = backupPath(stateDir, plan.file);
  const prior = await readBackup(bpath).catch(() => undefined);
  const keepPrior = prior && prior.written === plan.sha;
  const record: BackupRecord = {
    version: 1,
    file: resolve(plan.file),
    createdAt: keepPrior ? prior.createdAt : now.toISOString(),
    original: keepPrior ? prior.original : bytes.toString('base64'),
    written: sha256(Buffer.from(plan.after, 'utf8')),
    changes: keepPrior ? [...prior.changes, ...plan.changes] : plan.changes,
  };
  await mkdir(stateDir, { recursive: true });
  await writeFile(bpath, JSON.stringify(record, null, 2) + '\n', { mode: 0o600 });
  await writeExact(plan.file, plan.after);
  return { file: plan.file, backup: bpath, changes: plan.changes };
}

export interface UndoResult {
  file: string;
  backup: string;
  /** `restored`: written back; `unchanged`: the file already held the original. */
  outcome: 'restored' | 'unchanged';
  /** With `force` over someone else's edit: where their version was kept. */
  keptCurrent?: string;
  diff: string;
}

/** What undo would do, without writing: the backup, whether the file is as Headroom left it, and the diff back. */
export async function inspectUndo(file: string, stateDir: string): Promise<{ record: BackupRecord; backup: string; current: Buffer; original: Buffer; ours: boolean; diff: string }> {
  const bpath = backupPath(stateDir, file);
  const record = await readBackup(bpath);
  if (!record) throw new ConnectError(`no Headroom backup for ${file} (nothing to undo)`);
  const current = (await readText(file).catch(() => ({ bytes: Buffer.alloc(0) }))).bytes;
  const original = Buffer.from(record.original, 'base64');
  return { record, backup: bpath, current, original, ours: sha256(current) === record.written, diff: unifiedDiff(current.toString('utf8'), original.toString('utf8'), file) };
}

/** Restores the original bytes. Someone else's later edit is a ConflictError unless `force` (then kept aside). */
export async function undoFile(file: string, stateDir: string, opts: { force?: boolean } = {}): Promise<UndoResult> {
  const u = await inspectUndo(file, stateDir);
  if (u.current.equals(u.original)) {
    await rm(u.backup, { force: true });
    return { file, backup: u.backup, outcome: 'unchanged', diff: '' };
  }
  let keptCurrent: string | undefined;
  if (!u.ours) {
    if (!opts.force) throw new ConflictError(`${file} was changed after Headroom connected it; not overwriting (undo with force to restore the original anyway — the current file is kept aside)`);
    keptCurrent = `${u.backup.replace(/\.json$/, '')}.current-${Date.now()}`;
    await writeFile(keptCurrent, u.current, { mode: 0o600 });
  }
  await writeExact(file, u.original);
  await rm(u.backup, { force: true });
  return { file, backup: u.backup, outcome: 'restored', ...(keptCurrent ? { keptCurrent } : {}), diff: u.diff };
}

/** Every file connect has a backup for (for "Undo Connect Agent"). Damaged records are skipped. */
export async function listBackups(stateDir: string): Promise<BackupRecord[]> {
  let names: string[];
  try {
    names = await readdir(stateDir);
  } catch {
    return [];
  }
  const out: BackupRecord[] = [];
  for (const n of names.filter((x) => x.endsWith('.json')).sort()) {
    const r = await readBackup(join(stateDir, n)).catch(() => undefined);
    if (r) out.push(r);
  }
  return out;
}
