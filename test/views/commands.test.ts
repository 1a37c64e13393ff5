// The command table in src/views/command-ids.ts is the one source of ids; package.json must match it exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMANDS, COMMAND_CATEGORY } from '../../src/views/command-ids';

const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
  contributes: { commands: { command: string; title: string; category?: string }[] };
};

test('every command in the table is contributed with the same title and category, and nothing else is', () => {
  const contributed = pkg.contributes.commands;
  assert.deepEqual(contributed.map((c) => c.command).sort(), Object.values(COMMANDS).map((c) => c.id).sort());
  for (const c of contributed) {
    const entry = Object.values(COMMANDS).find((e) => e.id === c.command)!;
    assert.equal(c.title, entry.title);
    assert.equal(c.category, COMMAND_CATEGORY);
    assert.match(c.command, /^headroom\.[a-z][A-Za-z]+$/);
  }
});
