// Notifications for warnings the hysteresis book RAISED (new episode or escalation) — never from a poll tick
// directly, never twice per model per episode, never for a snoozed model. Actions: Show Alternatives, Snooze,
// and "Reload with N context" where the engine can apply it (asked again before anything happens).
import * as vscode from 'vscode';
import type { Warning } from '../estimator/warnings';
import { neutralize } from './markdown';
import { isSnoozed, prune, snooze, SNOOZE_MS, type SnoozeMap } from './snooze';

const STATE_KEY = 'headroom.snoozed';
const SEVERITY_RANK = { info: 0, warning: 1, error: 2 } as const;

export class WarningsPresenter {
  constructor(
    private readonly memento: vscode.Memento,
    private readonly showAlternatives: (modelKey: string) => void,
    private readonly log: (msg: string) => void,
    private readonly now: () => number = Date.now,
    /** A fix the engine's API can apply for this warning (Ollama / LM Studio reload), offered as a third action. */
    private readonly fixFor: (w: Warning) => { label: string; run: () => Promise<void> } | undefined = () => undefined,
  ) {}

  private get snoozed(): SnoozeMap {
    return prune(this.memento.get<SnoozeMap>(STATE_KEY, {}), this.now());
  }

  snoozeModel(modelKey: string, ms = SNOOZE_MS): Thenable<void> {
    return this.memento.update(STATE_KEY, snooze(this.snoozed, modelKey, this.now(), ms));
  }

  resumeAll(): Thenable<void> {
    return this.memento.update(STATE_KEY, {});
  }

  /** Models snoozed right now, with when they wake (for the Snooze Warnings command). */
  snoozedNow(): SnoozeMap {
    return this.snoozed;
  }

  present(raised: Warning[]): void {
    // One toast per model per step: the most severe of what was raised for it.
    const byModel = new Map<string, Warning>();
    for (const w of raised) {
      const prev = byModel.get(w.modelKey);
      if (!prev || SEVERITY_RANK[w.severity] > SEVERITY_RANK[prev.severity]) byModel.set(w.modelKey, w);
    }
    const map = this.snoozed;
    for (const w of byModel.values()) {
      this.log(`warning (${w.severity}, ${w.kind}): ${w.message}`);
      if (isSnoozed(map, w.modelKey, this.now())) continue;
      void this.show(w);
    }
  }

  private async show(w: Warning): Promise<void> {
    const fix = this.fixFor(w);
    const actions = ['Show Alternatives', 'Snooze for this model', ...(fix ? [fix.label] : [])];
    const detail = w.suggestedActions.length ? ` — ${w.suggestedActions[0]}` : '';
    // Model names come from the engine: no links or icons may sneak in through them.
    const text = neutralize(`${w.message}${detail}`);
    const pick =
      w.severity === 'error'
        ? await vscode.window.showErrorMessage(text, ...actions)
        : w.severity === 'warning'
          ? await vscode.window.showWarningMessage(text, ...actions)
          : await vscode.window.showInformationMessage(text, ...actions);
    if (pick === actions[0]) this.showAlternatives(w.modelKey);
    else if (pick === actions[1]) await this.snoozeModel(w.modelKey);
    else if (fix && pick === fix.label) await fix.run();
  }
}
