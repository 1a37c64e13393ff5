// Helpers for extension-host suites: the extension under test, its contributed commands, and waiting.
import * as vscode from 'vscode';
import { createServer, type AddressInfo } from 'node:net';

export const EXTENSION_ID = 'headroom-dev.headroom';

export interface ContributedCommand { command: string; title: string; category?: string }

export async function headroom(): Promise<{ ext: vscode.Extension<unknown>; commands: ContributedCommand[] }> {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  if (!ext) throw new Error(`${EXTENSION_ID} is not loaded in this host`);
  await ext.activate();
  const commands = (ext.packageJSON?.contributes?.commands ?? []) as ContributedCommand[];
  return { ext, commands };
}

/** Polls `probe` until it returns a truthy value; fails with the last value seen. */
export async function waitFor<T>(what: string, probe: () => Promise<T> | T, timeoutMs = 20_000, everyMs = 200): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastErr: unknown;
  for (;;) {
    try {
      last = await probe();
      if (last) return last as NonNullable<T>;
    } catch (err) { lastErr = err; }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)}${lastErr ? `; error: ${String(lastErr)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A loopback port free right now (for a proxy or engine a test starts on a port of its choosing). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
