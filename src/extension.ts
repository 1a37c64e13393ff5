// Composition root: wires providers → estimator → views and registers every disposable.
// Activation stays cheap: only the log, the status bar item and the command registrations happen here. The
// controller (zod, undici, the estimator, the catalog) loads lazily — on the first command, or after the first
// paint when the deferred first detection starts.
import * as vscode from 'vscode';
import { COMMANDS, type CommandKey } from './views/command-ids';
import { StatusBar } from './views/status-bar';
import { openWalkthroughOnce } from './views/first-run';

type ControllerModule = typeof import('./views/controller.js');

export interface HeadroomApi {
  /** Milliseconds activate() took (the activation bench reads VS Code's own timing; this is for the log). */
  activationMs: number;
  /** Opens the getting-started walkthrough unless this profile has seen it (what activation does; for tests). */
  walkthroughOnce: () => Promise<boolean>;
}

const FIRST_DETECTION_DELAY_MS = 1500;

export function activate(context: vscode.ExtensionContext): HeadroomApi {
  const t0 = performance.now();
  const log = vscode.window.createOutputChannel('Headroom', { log: true });
  const status = new StatusBar();
  context.subscriptions.push(log, status);

  let controller: Promise<InstanceType<ControllerModule['Controller']>> | undefined;
  let started = false;
  const load = () =>
    (controller ??= import('./views/controller.js').then((m) => {
      const c = new m.Controller(context, log, status);
      context.subscriptions.push(c);
      return c;
    }));
  const start = async () => {
    const c = await load();
    if (!started) {
      started = true;
      c.start(0);
    }
    return c;
  };

  for (const [key, cmd] of Object.entries(COMMANDS) as [CommandKey, (typeof COMMANDS)[CommandKey]][]) {
    context.subscriptions.push(vscode.commands.registerCommand(cmd.id, async () => (await start()).run(key)));
  }

  // No network work before the first paint: detection starts a moment after activation.
  const timer = setTimeout(() => void start().catch((err: unknown) => log.error(`Headroom failed to start: ${err instanceof Error ? err.stack : String(err)}`)), FIRST_DETECTION_DELAY_MS);
  context.subscriptions.push({ dispose: () => clearTimeout(timer) });

  const walkthroughOnce = () => openWalkthroughOnce(context.globalState);
  void walkthroughOnce().catch((err: unknown) => log.warn(`walkthrough not opened: ${err instanceof Error ? err.message : String(err)}`));

  const activationMs = performance.now() - t0;
  log.info(`Headroom activated in ${activationMs.toFixed(1)} ms (no telemetry; engines are polled on loopback and configured endpoints only)`);
  return { activationMs, walkthroughOnce };
}

export function deactivate(): void {}
