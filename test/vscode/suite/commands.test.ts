// Every contributed command is registered and runs to completion with no engine around, leaving a clear state.
import * as assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import * as vscode from 'vscode';
import { headroom } from '../support/host';
import { quickPickRows, runAndDismiss } from '../support/commands';
import { PROBE_URL, probe, waitForStatus } from '../support/probe';

describe('commands (no engine answering)', () => {
  it('registers every command in package.json#contributes.commands, all in category Headroom', async () => {
    const { commands } = await headroom();
    assert.ok(commands.length >= 6, `expected the Headroom commands, found ${commands.length}`);
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = commands.filter((c) => !registered.has(c.command)).map((c) => c.command);
    assert.deepEqual(missing, [], `contributed but not registered: ${missing.join(', ')}`);
    for (const c of commands) {
      assert.match(c.command, /^headroom\.[a-z][A-Za-z]+$/);
      assert.equal(c.category, 'Headroom', `${c.command} has category ${c.category}`);
    }
  });

  it('runs every contributed command without throwing', async () => {
    const { commands } = await headroom();
    for (const c of commands) {
      await assert.doesNotReject(runAndDismiss(c.command), `${c.command} threw`);
    }
  });

  it('says plainly that no engine was found and offers Check Model Fit', async function () {
    if (!PROBE_URL) this.skip();
    await runAndDismiss('headroom.detectEngines');
    const item = await waitForStatus('saying no engine', (i) => /no engine/i.test(i.text) || /no .*engine/i.test(i.ariaLabel));
    assert.match(item.ariaLabel, /^Headroom/);
    const { text } = await probe<{ text: string }>('hoverStatus', { idContains: item.id || 'headroom' });
    assert.match(text, /Check Model Fit/, `tooltip: ${text}`);
  });

  it('Check Model Fit offers catalog models even with no engine', async function () {
    if (!PROBE_URL) this.skip();
    void vscode.commands.executeCommand('headroom.checkModelFit');
    try {
      const rows = await quickPickRows();
      assert.ok(rows.length >= 3, `quick pick rows: ${JSON.stringify(rows)}`);
    } finally {
      await runAndDismiss('workbench.action.closeQuickOpen');
    }
  });
});
