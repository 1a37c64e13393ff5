// Connect Agent's core on real files: which values it rewrites, that every other byte survives, the backup, the
// byte-exact undo and the refusal to overwrite someone else's edit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, copyFile, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { applyPlan, backupPath, candidateFiles, ConflictError, findConfig, formatFor, inspectUndo, listBackups, planFile, undoFile } from '../../src/connect/files';
import { planContinue } from '../../src/connect/continue';
import { planAiderYaml, planDotEnv } from '../../src/connect/aider';
import { applyEdits, ConfigParseError } from '../../src/connect/text-edit';
import { sameServer, servedBy, throughProxy } from '../../src/connect/urls';
import { unifiedDiff } from '../../src/connect/diff';
import { DATA } from '../support/data';

const FIX = join(DATA, 'connect');
const OLLAMA = { targets: ['http://127.0.0.1:11434'], proxy: 'http://127.0.0.1:11435' };

/** Lines of `a` and `b` that differ (same line count assumed unless insertions are expected). */
function changedLines(a: string, b: string): { removed: string[]; added: string[] } {
  const al = a.split('\n');
  const bl = b.split('\n');
  return { removed: al.filter((l) => !bl.includes(l)), added: bl.filter((l) => !al.includes(l)) };
}

async function tempHome(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'headroom-connect-'));
}

test('URLs: loopback spellings are one machine; the agent keeps its path, the origin moves to the proxy', () => {
  assert.ok(sameServer('http://localhost:11434', 'http://127.0.0.1:11434'));
  assert.ok(sameServer('http://[::1]:11434/', 'http://127.0.0.1:11434'));
  assert.ok(!sameServer('http://127.0.0.1:11435', 'http://127.0.0.1:11434'));
  assert.ok(!sameServer('https://127.0.0.1:11434', 'http://127.0.0.1:11434'));
  assert.ok(!sameServer('http://192.168.1.5:11434', 'http://127.0.0.1:11434'));
  assert.ok(servedBy('http://localhost:1234/v1', 'http://127.0.0.1:1234'));
  assert.ok(!servedBy('http://localhost:1234/other', 'http://127.0.0.1:1234/v1'));
  assert.equal(throughProxy('http://localhost:11434', OLLAMA.targets[0]!, OLLAMA.proxy), 'http://127.0.0.1:11435');
  assert.equal(throughProxy('http://localhost:11434/', OLLAMA.targets[0]!, OLLAMA.proxy), 'http://127.0.0.1:11435/');
  assert.equal(throughProxy('http://localhost:11434/v1', OLLAMA.targets[0]!, OLLAMA.proxy), 'http://127.0.0.1:11435/v1');
  // A target with a base path: the proxy adds it back, so the agent's URL loses it.
  assert.equal(throughProxy('http://localhost:8000/engine/v1', 'http://127.0.0.1:8000/engine', 'http://127.0.0.1:9000'), 'http://127.0.0.1:9000/v1');
});

test('Continue config.yaml: exactly the two Ollama apiBase values change; comments, anchors, the remote model stay', async () => {
  const text = await readFile(join(FIX, 'continue-config.yaml'), 'utf8');
  const plan = planContinue(text, 'yaml', OLLAMA);
  assert.deepEqual(plan.changes, [
    { path: 'models[0].apiBase', from: null, to: 'http://127.0.0.1:11435' },
    { path: 'models[1].apiBase', from: 'http://127.0.0.1:11434', to: 'http://127.0.0.1:11435' },
  ]);
  assert.match(plan.skipped.join('\n'), /GPT-4o: https:\/\/api\.openai\.com\/v1 is not the engine/);
  const after = applyEdits(text, plan.edits);
  const d = changedLines(text, after);
  assert.deepEqual(d.removed, ['    apiBase: "http://127.0.0.1:11434"  # explicit, double-quoted']);
  assert.deepEqual(d.added, ['    apiBase: http://127.0.0.1:11435', '    apiBase: "http://127.0.0.1:11435"  # explicit, double-quoted']);
  assert.equal(after.split('\n').length, text.split('\n').length + 1, 'one line added (the omitted apiBase), none removed');
  // The result is still the same config with only the two URLs different.
  const before = parse(text, { merge: true });
  const now = parse(after, { merge: true });
  before.models[0].apiBase = 'http://127.0.0.1:11435';
  before.models[1].apiBase = 'http://127.0.0.1:11435';
  assert.deepEqual(now, before);
  // The inserted key sits right under `provider: ollama` at the map's indentation.
  assert.match(after, /    provider: ollama\n    apiBase: http:\/\/127\.0\.0\.1:11435\n    model: qwen2\.5-coder:7b/);
  // Idempotent: a second pass finds nothing to do.
  assert.deepEqual(planContinue(after, 'yaml', OLLAMA).changes, []);
});

test('Continue config.json: rewrites apiBase (keeping path and trailing slash), adds it for a bare ollama model, stays JSON', async () => {
  const text = await readFile(join(FIX, 'continue-config.json'), 'utf8');
  const plan = planContinue(text, 'json', { targets: ['http://127.0.0.1:11434', 'http://127.0.0.1:1234'], proxy: 'http://127.0.0.1:11435' });
  assert.deepEqual(plan.changes.map((c) => [c.path, c.from, c.to]), [
    ['models[0].apiBase', null, 'http://127.0.0.1:11435'],
    ['models[2].apiBase', 'http://localhost:1234/v1/', 'http://127.0.0.1:11435/v1/'],
    ['tabAutocompleteModel.apiBase', 'http://localhost:11434/', 'http://127.0.0.1:11435/'],
  ]);
  const after = applyEdits(text, plan.edits);
  const j = JSON.parse(after);
  assert.equal(j.models[0].apiBase, 'http://127.0.0.1:11435');
  assert.equal(j.models[1].apiBase, undefined);
  assert.match(after, /"provider": "ollama",\n      "apiBase": "http:\/\/127\.0\.0\.1:11435",\n      "model": "llama3\.1:8b"\n/);
});

test('Continue: anchors shared by several models are edited once, where defined; aliases follow', () => {
  const text = 'base: &local http://localhost:11434\nmodels:\n  - &m {name: A, provider: ollama, apiBase: *local}\n  - *m\n  - name: B\n    provider: ollama\n    apiBase: *local\n';
  const plan = planContinue(text, 'yaml', OLLAMA);
  assert.equal(plan.changes.length, 1);
  assert.equal(applyEdits(text, plan.edits), text.replace('&local http://localhost:11434', '&local http://127.0.0.1:11435'));
});

test('Continue: flow maps get `, apiBase: …`; CRLF files get CRLF lines', () => {
  const flow = 'models:\n  - {name: A, provider: ollama, model: x}\n';
  assert.equal(applyEdits(flow, planContinue(flow, 'yaml', OLLAMA).edits), 'models:\n  - {name: A, provider: ollama, apiBase: http://127.0.0.1:11435, model: x}\n');
  const crlf = 'models:\r\n  - name: A\r\n    provider: ollama\r\n';
  assert.equal(applyEdits(crlf, planContinue(crlf, 'yaml', OLLAMA).edits), 'models:\r\n  - name: A\r\n    provider: ollama\r\n    apiBase: http://127.0.0.1:11435\r\n');
});

test('Continue: a model on another engine or a remote box is left alone; an unparseable file is a clear error', () => {
  const text = 'models:\n  - name: R\n    provider: ollama\n    apiBase: http://192.168.1.20:11434\n';
  const plan = planContinue(text, 'yaml', OLLAMA);
  assert.deepEqual(plan.changes, []);
  assert.match(plan.skipped[0]!, /192\.168\.1\.20/);
  assert.throws(() => planContinue('models:\n  - name: [unclosed\n', 'yaml', OLLAMA), (e: unknown) => e instanceof ConfigParseError && /line \d+/.test((e as Error).message));
  assert.throws(() => planContinue('{"models": [', 'json', OLLAMA), ConfigParseError);
});

test('aider .aider.conf.yml: openai-api-base rewritten, OLLAMA_API_BASE added to set-env for an ollama_chat model', async () => {
  const text = await readFile(join(FIX, 'aider.conf.yml'), 'utf8');
  const plan = planAiderYaml(text, OLLAMA);
  assert.deepEqual(plan.changes, [
    { path: 'openai-api-base', from: 'http://localhost:11434/v1', to: 'http://127.0.0.1:11435/v1' },
    { path: 'set-env[+]', from: null, to: 'http://127.0.0.1:11435' },
  ]);
  const after = applyEdits(text, plan.edits);
  assert.match(after, /set-env:\n  - AIDER_DARK_MODE=true\n  - OLLAMA_API_BASE=http:\/\/127\.0\.0\.1:11435\n/);
  const d = changedLines(text, after);
  assert.deepEqual(d.removed, ['openai-api-base: http://localhost:11434/v1']);
  assert.deepEqual(planAiderYaml(after, OLLAMA).changes, []);
  // No set-env at all: one is appended.
  const bare = 'model: ollama/llama3\n';
  assert.equal(applyEdits(bare, planAiderYaml(bare, OLLAMA).edits), 'model: ollama/llama3\nset-env:\n  - OLLAMA_API_BASE=http://127.0.0.1:11435\n');
  // An existing OLLAMA_API_BASE entry is rewritten in place.
  const env = 'model: ollama/llama3\nset-env:\n  - OLLAMA_API_BASE=http://localhost:11434 \n';
  assert.equal(applyEdits(env, planAiderYaml(env, OLLAMA).edits), 'model: ollama/llama3\nset-env:\n  - OLLAMA_API_BASE=http://127.0.0.1:11435 \n');
});

test('aider .env: only the engine-pointing variables change, quotes and comments kept', async () => {
  const text = await readFile(join(FIX, 'aider.env'), 'utf8');
  const plan = planDotEnv(text, OLLAMA);
  assert.deepEqual(plan.changes, [{ path: 'OLLAMA_API_BASE', from: 'http://127.0.0.1:11434', to: 'http://127.0.0.1:11435' }]);
  const vllm = planDotEnv(text, { targets: ['http://127.0.0.1:8000'], proxy: 'http://127.0.0.1:9000' });
  assert.equal(applyEdits(text, vllm.edits).split('\n')[2], 'export OPENAI_API_BASE="http://127.0.0.1:9000/v1" # vLLM, not connected');
});

test('files: connect writes a backup first, undo restores the exact bytes, a second connect keeps the first original', async () => {
  const home = await tempHome();
  const state = join(home, 'state');
  const file = join(home, '.continue', 'config.yaml');
  await (await import('node:fs/promises')).mkdir(join(home, '.continue'));
  await copyFile(join(FIX, 'continue-config.yaml'), file);
  await chmod(file, 0o640);
  const original = await readFile(file);
  assert.equal(await findConfig('continue', home, home), file);
  assert.equal(formatFor('continue', file), 'continue-yaml');
  assert.deepEqual(candidateFiles('continue', home, home)[1], join(home, '.continue', 'config.json'));

  const plan = await planFile(file, 'continue-yaml', OLLAMA);
  assert.match(plan.diff, /^--- .*config\.yaml\n\+\+\+ /);
  assert.equal(plan.diff.split('\n').filter((l) => /^[-+](?![-+])/.test(l)).length, 3, plan.diff);
  const applied = await applyPlan(plan, state);
  assert.equal(applied.backup, backupPath(state, file));
  assert.equal((await readFile(file, 'utf8')), plan.after);
  assert.equal((await stat(file)).mode & 0o777, 0o640, 'the file keeps its permissions');
  assert.equal((await listBackups(state)).length, 1);

  // Connecting again to another proxy port: the backup still holds the very first original.
  const again = await planFile(file, 'continue-yaml', { targets: ['http://127.0.0.1:11434', 'http://127.0.0.1:11435'], proxy: 'http://127.0.0.1:11500' });
  assert.equal(again.changes.length, 2);
  await applyPlan(again, state);
  const u = await undoFile(file, state);
  assert.equal(u.outcome, 'restored');
  assert.ok((await readFile(file)).equals(original), 'undo is byte-identical');
  assert.deepEqual(await listBackups(state), []);
  await assert.rejects(undoFile(file, state), /nothing to undo/);
});

test('files: a symlinked config (dotfiles repo) stays a symlink; the target gets the change and the undo', async () => {
  const { symlink, lstat, mkdir } = await import('node:fs/promises');
  const home = await tempHome();
  const state = join(home, 'state');
  await mkdir(join(home, 'dotfiles'));
  const real = join(home, 'dotfiles', 'config.yaml');
  await copyFile(join(FIX, 'continue-config.yaml'), real);
  await chmod(real, 0o666);
  const link = join(home, 'config.yaml');
  await symlink(real, link);
  const original = await readFile(real);
  await applyPlan(await planFile(link, 'continue-yaml', OLLAMA), state);
  assert.ok((await lstat(link)).isSymbolicLink());
  assert.match(await readFile(real, 'utf8'), /apiBase: "http:\/\/127\.0\.0\.1:11435"/);
  assert.equal((await stat(real)).mode & 0o777, 0o666, 'exact permission bits, not umasked');
  await undoFile(link, state);
  assert.ok((await lstat(link)).isSymbolicLink());
  assert.ok((await readFile(real)).equals(original));
});

test('files: someone else edited the file → connect refuses to write, undo refuses unless forced (their version kept)', async () => {
  const home = await tempHome();
  const state = join(home, 'state');
  const file = join(home, 'config.yaml');
  await copyFile(join(FIX, 'continue-config.yaml'), file);
  const original = await readFile(file);
  const plan = await planFile(file, 'continue-yaml', OLLAMA);
  await writeFile(file, original.toString() + '# edited meanwhile\n');
  await assert.rejects(applyPlan(plan, state), ConflictError);
  assert.equal((await readFile(file, 'utf8')).endsWith('# edited meanwhile\n'), true);
  await writeFile(file, original);

  await applyPlan(await planFile(file, 'continue-yaml', OLLAMA), state);
  const theirs = (await readFile(file, 'utf8')) + '# theirs\n';
  await writeFile(file, theirs);
  const inspected = await inspectUndo(file, state);
  assert.equal(inspected.ours, false);
  await assert.rejects(undoFile(file, state), ConflictError);
  assert.equal(await readFile(file, 'utf8'), theirs, 'not overwritten');
  const forced = await undoFile(file, state, { force: true });
  assert.ok((await readFile(file)).equals(original));
  assert.equal(await readFile(forced.keptCurrent!, 'utf8'), theirs);
});

test('files: an unparseable or non-UTF-8 file is an error and nothing is written', async () => {
  const home = await tempHome();
  const file = join(home, 'config.yaml');
  await writeFile(file, 'models:\n  - name: "unterminated\n');
  await assert.rejects(planFile(file, 'continue-yaml', OLLAMA), (e: unknown) => e instanceof ConfigParseError && (e as Error).message.includes(file));
  await writeFile(file, Buffer.from([0x6d, 0x3a, 0x20, 0xff, 0xfe, 0x0a]));
  await assert.rejects(planFile(file, 'continue-yaml', OLLAMA), /not valid UTF-8/);
});

test('unified diff: hunks with context and correct line numbers', () => {
  const a = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';
  const b = a.replace('line 5\n', 'line five\n').replace('line 18\n', 'line 18\nline 18b\n');
  assert.equal(unifiedDiff(a, b, 'f'), ['--- f', '+++ f (through the Headroom proxy)', '@@ -2,7 +2,7 @@', ' line 2', ' line 3', ' line 4', '-line 5', '+line five', ' line 6', ' line 7', ' line 8', '@@ -16,5 +16,6 @@', ' line 16', ' line 17', ' line 18', '+line 18b', ' line 19', ' line 20', ''].join('\n'));
  assert.equal(unifiedDiff(a, a, 'f'), '');
});
