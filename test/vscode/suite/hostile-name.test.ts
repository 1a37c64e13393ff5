// An engine that names its model `<img src=x onerror=alert(1)>`: every place Headroom shows the name must
// show it as text. Checked in the rendered DOM (webview, hover) and by watching for script dialogs.
import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'mocha';
import { engineRoutes, startServer, type Reply, type TestServer } from '../../support/fixture-server';
import { headroom } from '../support/host';
import { chooseModel, runAndDismiss, releaseEngine, useEngine } from '../support/commands';
import { PROBE_URL, probe, waitForStatus, type WebviewInfo } from '../support/probe';

const HOSTILE = '<img src=x onerror=alert(1)>';

/** Ollama's recorded responses with every model name replaced by the hostile one. */
function hostileOllama(): Promise<TestServer> {
  const { routes, notFound } = engineRoutes('ollama');
  const rename = (r: Reply): Reply => {
    const body = JSON.parse(r.body) as { models?: Array<Record<string, unknown>>; data?: Array<Record<string, unknown>> };
    for (const m of body.models ?? []) { m.name = HOSTILE; m.model = HOSTILE; }
    for (const m of body.data ?? []) m.id = HOSTILE;
    return { ...r, body: JSON.stringify(body) };
  };
  for (const k of ['GET /api/ps', 'GET /api/tags', 'GET /v1/models']) routes[k] = rename(routes[k] as Reply);
  return startServer(routes, notFound);
}

describe('hostile model name', function () {
  let engine: TestServer;

  before(async function () {
    if (!PROBE_URL) this.skip();
    await headroom();
    engine = await hostileOllama();
    await useEngine(engine.url);
    await waitForStatus('showing the engine', (i) => /GB/.test(i.text));
  });

  after(async () => {
    await releaseEngine(engine);
  });

  it('stays text in the Choose Model quick pick and, once chosen, in the panel: no <img>, no handler attributes', async () => {
    await runAndDismiss('headroom.openPanel');
    const rows = await chooseModel(HOSTILE);
    assert.ok(rows.some((r) => r.includes(HOSTILE)), `rows: ${JSON.stringify(rows)}`);
    const view = await probe<WebviewInfo>('webview', { waitForText: HOSTILE });
    assert.ok(view.text.includes(HOSTILE), `the name is not shown literally; panel text: ${view.text.slice(0, 500)}`);
    assert.deepEqual(view.imgs, [], `img elements in the panel: ${JSON.stringify(view.imgs)}`);
    assert.equal(view.inlineHandlers, 0, 'an element carries an on* attribute');
  });

  it('stays text in the status bar tooltip', async () => {
    const item = await waitForStatus('present', () => true);
    const { text } = await probe<{ text: string }>('hoverStatus', { idContains: item.id || 'headroom' });
    assert.ok(text.includes(HOSTILE), `tooltip: ${text}`);
  });

  it('never ran: no alert dialog was opened anywhere', async () => {
    const { dialogs } = await probe<{ dialogs: unknown[] }>('dialogs');
    assert.deepEqual(dialogs, []);
  });
});
