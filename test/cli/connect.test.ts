// `headroom connect` as a user runs it: the bundled CLI in a child process, a temp HOME holding a real config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATA } from '../support/data';
import { runCliAsync } from '../support/run-cli';

const FIX = join(DATA, 'connect');

async function home(): Promise<{ home: string; env: Record<string, string>; file: string }> {
  const h = await mkdtemp(join(tmpdir(), 'headroom-cli-connect-'));
  await mkdir(join(h, '.continue'));
  const file = join(h, '.continue', 'config.yaml');
  await copyFile(join(FIX, 'continue-config.yaml'), file);
  return { home: h, file, env: { HOME: h, XDG_STATE_HOME: join(h, 'state'), HEADROOM_CONNECT_STATE: '' } };
}

test('connect continue: finds ~/.continue/config.yaml, prints the diff, writes it; --undo restores it byte-identical', async () => {
  const { env, file } = await home();
  const original = await readFile(file);
  const dry = await runCliAsync(['connect', 'continue', '--proxy', 'http://127.0.0.1:11435', '--dry-run'], env);
  assert.equal(dry.code, 0, dry.stderr);
  assert.ok((await readFile(file)).equals(original), 'dry run wrote nothing');
  assert.match(dry.stdout, /^--- .*\.continue\/config\.yaml\n/);
  assert.deepEqual(dry.stdout.split('\n').filter((l) => /^[-+](?![-+])/.test(l)), [
    '+    apiBase: http://127.0.0.1:11435',
    '-    apiBase: "http://127.0.0.1:11434"  # explicit, double-quoted',
    '+    apiBase: "http://127.0.0.1:11435"  # explicit, double-quoted',
  ]);
  assert.match(dry.stderr, /2 value\(s\) would change/);
  assert.match(dry.stderr, /left alone — GPT-4o/);

  const r = await runCliAsync(['connect', 'continue', '--proxy', 'http://127.0.0.1:11435', '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { file: string; changed: { path: string; from: string | null; to: string }[]; backup: string };
  assert.equal(j.file, file);
  assert.deepEqual(j.changed, [
    { path: 'models[0].apiBase', from: null, to: 'http://127.0.0.1:11435' },
    { path: 'models[1].apiBase', from: 'http://127.0.0.1:11434', to: 'http://127.0.0.1:11435' },
  ]);
  assert.ok(j.backup.startsWith(join(env.XDG_STATE_HOME!, 'headroom', 'connect')));
  assert.notDeepEqual(await readFile(file), original);

  // Nothing left to change: exit 0, empty diff.
  const again = await runCliAsync(['connect', 'continue', '--proxy', 'http://127.0.0.1:11435'], env);
  assert.equal(again.code, 0);
  assert.equal(again.stdout, '');
  assert.match(again.stderr, /nothing to change/);

  const undo = await runCliAsync(['connect', 'continue', '--undo'], env);
  assert.equal(undo.code, 0, undo.stderr);
  assert.match(undo.stderr, /restored/);
  assert.ok((await readFile(file)).equals(original), 'byte-identical after undo');
  const twice = await runCliAsync(['connect', 'continue', '--undo'], env);
  assert.equal(twice.code, 2);
  assert.match(twice.stderr, /nothing to undo/);
});

test('connect: undo refuses to overwrite a file changed since (exit 3), --force restores and keeps theirs aside', async () => {
  const { env, file } = await home();
  const original = await readFile(file);
  assert.equal((await runCliAsync(['connect', 'continue', '--proxy', 'http://127.0.0.1:11435'], env)).code, 0);
  const theirs = `${await readFile(file, 'utf8')}# mine\n`;
  await writeFile(file, theirs);
  const r = await runCliAsync(['connect', 'continue', '--undo'], env);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /changed after Headroom connected it; not overwriting/);
  assert.equal(await readFile(file, 'utf8'), theirs);
  const f = await runCliAsync(['connect', 'continue', '--undo', '--force', '--json'], env);
  assert.equal(f.code, 0, f.stderr);
  const j = JSON.parse(f.stdout) as { restored: boolean; keptCurrent: string };
  assert.equal(j.restored, true);
  assert.ok((await readFile(file)).equals(original));
  assert.equal(await readFile(j.keptCurrent, 'utf8'), theirs);
});

test('connect: an unparseable file is a clear error (exit 2) and is not touched; bad flags are clear too', async () => {
  const { env, file } = await home();
  const broken = 'models:\n  - name: [oops\n    provider: ollama\n';
  await writeFile(file, broken);
  const r = await runCliAsync(['connect', 'continue', '--proxy', 'http://127.0.0.1:11435'], env);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^headroom: .*config\.yaml: cannot parse the Continue config\.yaml \(line \d+, column \d+\).*nothing written\n$/);
  assert.equal(await readFile(file, 'utf8'), broken);
  assert.match((await runCliAsync(['connect', 'continue'], env)).stderr, /--proxy URL is required/);
  assert.match((await runCliAsync(['connect', 'cline', '--proxy', 'http://127.0.0.1:1'], env)).stderr, /continue or aider \(got 'cline'\)/);
  assert.match((await runCliAsync(['connect', 'continue', '--proxy', 'ftp://x'], env)).stderr, /--proxy must be an http\(s\) URL/);
  const none = await runCliAsync(['connect', 'aider', '--proxy', 'http://127.0.0.1:11435'], { ...env, HOME: join(env.HOME!, 'nowhere') });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no aider config found/);
});

test('connect aider --config: .aider.conf.yml and .env, --target picks the engine', async () => {
  const { home: h, env } = await home();
  const conf = join(h, '.aider.conf.yml');
  await copyFile(join(FIX, 'aider.conf.yml'), conf);
  const r = await runCliAsync(['connect', 'aider', '--config', conf, '--proxy', 'http://127.0.0.1:11435', '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((JSON.parse(r.stdout) as { changed: unknown[] }).changed, [
    { path: 'openai-api-base', from: 'http://localhost:11434/v1', to: 'http://127.0.0.1:11435/v1' },
    { path: 'set-env[+]', from: null, to: 'http://127.0.0.1:11435' },
  ]);
  const dotenv = join(h, 'project.env');
  await copyFile(join(FIX, 'aider.env'), dotenv);
  const v = await runCliAsync(['connect', 'aider', '--config', dotenv, '--target', 'http://127.0.0.1:8000', '--proxy', 'http://127.0.0.1:9000'], env);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /^\+export OPENAI_API_BASE="http:\/\/127\.0\.0\.1:9000\/v1" # vLLM, not connected$/m);
  assert.match(v.stderr, /left alone — OLLAMA_API_BASE/);
});
