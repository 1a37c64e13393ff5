// Settings: parsing, clamping, and drift between src/config.ts and package.json#contributes.configuration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigStore, parseConfig, SETTING_KEYS, settingDefault } from '../../src/config';

const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
  contributes: { configuration: { properties: Record<string, { default: unknown; minimum?: number; maximum?: number; enum?: string[] }> } };
};
const props = pkg.contributes.configuration.properties;

test('drift: every schema key is a contributed setting and vice versa', () => {
  assert.deepEqual(SETTING_KEYS.map((k) => `headroom.${k}`).sort(), Object.keys(props).sort());
});

test('drift: defaults and numeric ranges agree with package.json', () => {
  for (const k of SETTING_KEYS) {
    const p = props[`headroom.${k}`]!;
    assert.deepEqual(settingDefault(k), p.default, `default of headroom.${k}`);
    // package.json's own default must survive parsing unchanged and without notes.
    const { notes } = parseConfig({ [k]: p.default });
    assert.deepEqual(notes, [], `package.json default of ${k} parses cleanly`);
  }
  // The bounds VS Code's settings UI enforces are the bounds we clamp to.
  const clampAtMax = parseConfig({ pollIntervalSeconds: props['headroom.pollIntervalSeconds']!.maximum! + 1 });
  assert.equal(clampAtMax.config.pollIntervalSeconds, props['headroom.pollIntervalSeconds']!.maximum);
  assert.deepEqual(parseConfig({}).config.statusBar.format, props['headroom.statusBar.format']!.default);
});

test('all package.json defaults together give the documented snapshot', () => {
  const raw = Object.fromEntries(SETTING_KEYS.map((k) => [k, props[`headroom.${k}`]!.default]));
  const { config, notes } = parseConfig(raw);
  assert.deepEqual(notes, []);
  assert.equal(config.pollIntervalSeconds, 5);
  assert.equal(config.hardwareProfile, 'auto');
  assert.equal(config.proxy.port, 11435);
  assert.equal(config.proxy.guard, 'warn');
  assert.deepEqual(config.endpoints, []);
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.warnings));
});

test('absurd numbers are clamped with a note, never thrown', () => {
  const { config, notes } = parseConfig({
    pollIntervalSeconds: -5,
    capacityGB: 1e12,
    'proxy.port': 80,
    'warnings.turnsLeft': 2.6,
    'warnings.contextFraction': Number.POSITIVE_INFINITY,
  });
  assert.equal(config.pollIntervalSeconds, 1);
  assert.equal(config.capacityGB, 16384);
  assert.equal(config.proxy.port, 1024);
  assert.equal(config.warnings.turnsLeft, 3); // rounded, in range: no note
  assert.equal(config.warnings.contextFraction, 0.99);
  assert.equal(notes.length, 4);
  assert.ok(notes.includes('headroom.pollIntervalSeconds: -5 is outside 1…3600; using 1'), notes.join('\n'));
});

test('wrong types fall back to the default with a note', () => {
  const { config, notes } = parseConfig({
    pollIntervalSeconds: 'often',
    autoDetect: 'yes',
    'statusBar.format': 'rainbow',
    'proxy.target': 'ftp://x',
    hardwareProfile: '',
  });
  assert.equal(config.pollIntervalSeconds, 5);
  assert.equal(config.autoDetect, true);
  assert.equal(config.statusBar.format, 'memory-and-speed');
  assert.equal(config.proxy.target, 'http://127.0.0.1:11434');
  assert.equal(config.hardwareProfile, 'auto');
  assert.equal(notes.length, 5);
  // A numeric string typed in settings.json is accepted as the number it spells.
  assert.equal(parseConfig({ pollIntervalSeconds: '10' }).config.pollIntervalSeconds, 10);
});

test('endpoints: strings and objects, bad entries dropped, duplicates merged, trailing slash removed', () => {
  const { config, notes } = parseConfig({
    endpoints: [
      'http://127.0.0.1:11434/',
      { url: 'http://192.168.1.20:8080', hardwareProfile: 'dgx-spark-128' },
      'not a url',
      'javascript:alert(1)',
      42,
      { hardwareProfile: 'x' },
      'http://127.0.0.1:11434',
    ],
  });
  assert.deepEqual(config.endpoints, [
    { url: 'http://127.0.0.1:11434' },
    { url: 'http://192.168.1.20:8080', hardwareProfile: 'dgx-spark-128' },
  ]);
  assert.equal(notes.length, 4);
  assert.ok(notes.every((n) => n.startsWith('headroom.endpoints: ignoring')));
  // Not an array at all.
  assert.deepEqual(parseConfig({ endpoints: 'http://x' }).config.endpoints, []);
});

test('ConfigStore reloads on demand and tells listeners; a throwing reader means defaults', () => {
  let raw: Record<string, unknown> = { pollIntervalSeconds: 7 };
  const logged: string[] = [];
  const store = new ConfigStore(() => raw, (n) => logged.push(n));
  assert.equal(store.value.pollIntervalSeconds, 7);
  const seen: number[] = [];
  const sub = store.onDidChange((c) => seen.push(c.pollIntervalSeconds));
  raw = { pollIntervalSeconds: 0 };
  store.reload();
  assert.deepEqual(seen, [1]);
  assert.equal(logged.length, 1);
  sub.dispose();
  raw = { pollIntervalSeconds: 9 };
  store.reload();
  assert.deepEqual(seen, [1]);
  const broken = new ConfigStore(() => {
    throw new Error('boom');
  }, (n) => logged.push(n));
  assert.equal(broken.value.pollIntervalSeconds, 5);
  assert.match(logged.at(-1)!, /could not read settings \(boom\)/);
});

test('proxy.guard: off|warn|refuse, anything else falls back to warn with a note', () => {
  assert.equal(parseConfig({ 'proxy.guard': 'refuse' }).config.proxy.guard, 'refuse');
  const { config, notes } = parseConfig({ 'proxy.guard': 'block' });
  assert.equal(config.proxy.guard, 'warn');
  assert.equal(notes.length, 1);
});
