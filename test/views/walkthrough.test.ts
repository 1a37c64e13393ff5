// The getting-started walkthrough as contributed: every step has its markdown, links only commands Headroom
// contributes, and completes on a context key the extension really sets (from events, not from a click).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WALKTHROUGH_ID } from '../../src/views/command-ids';

const ROOT = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  publisher: string;
  name: string;
  contributes: {
    commands: { command: string; category?: string }[];
    walkthroughs: { id: string; steps: { id: string; description: string; media: { markdown?: string }; completionEvents: string[] }[] }[];
    menus: Record<string, { command: string; when?: string }[]>;
  };
};

test('walkthrough: id matches what the extension opens; steps complete on context keys the controller sets', () => {
  const [w] = pkg.contributes.walkthroughs;
  assert.equal(WALKTHROUGH_ID, `${pkg.publisher}.${pkg.name}#${w!.id}`);
  assert.deepEqual(w!.steps.map((s) => s.id), ['engine', 'hardware', 'agent', 'fit']);
  const controller = readFileSync(join(ROOT, 'src/views/controller.ts'), 'utf8');
  const commands = new Set(pkg.contributes.commands.map((c) => c.command));
  for (const s of w!.steps) {
    assert.ok(s.media.markdown && existsSync(join(ROOT, s.media.markdown)), `${s.id}: markdown ${s.media.markdown}`);
    assert.ok(s.completionEvents.length > 0, `${s.id} completes by itself`);
    for (const e of s.completionEvents) {
      const key = /^onContext:(.+)$/.exec(e)?.[1];
      assert.ok(key, `${s.id}: ${e} is an onContext event`);
      assert.match(controller, new RegExp(`contextKeys\\.set\\('${key.replace(/\./g, '\\.')}', `), `${key} is set by the controller`);
    }
    for (const m of s.description.matchAll(/\(command:([^)]+)\)/g)) assert.ok(commands.has(m[1]!), `${s.id} links ${m[1]}`);
  }
});

test('menus: every command in a menu is contributed; palette `when` keys are ones the controller sets', () => {
  const commands = new Set(pkg.contributes.commands.map((c) => c.command));
  const controller = readFileSync(join(ROOT, 'src/views/controller.ts'), 'utf8');
  for (const [menu, items] of Object.entries(pkg.contributes.menus)) {
    for (const i of items) {
      assert.ok(commands.has(i.command), `${menu}: ${i.command}`);
      for (const key of (i.when ?? '').match(/headroom\.[A-Za-z]+/g) ?? []) {
        if (key === 'headroom.panel') continue;
        assert.match(controller, new RegExp(`contextKeys\\.set\\('${key.replace(/\./g, '\\.')}', `), `${menu}: ${key}`);
      }
    }
  }
});
