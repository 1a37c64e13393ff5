// The getting-started walkthrough opens by itself once, on the first activation in a profile; afterwards only
// when asked (Headroom: Get Started, or Help → Welcome).
import * as vscode from 'vscode';
import { WALKTHROUGH_ID } from './command-ids';
const SHOWN_KEY = 'headroom.walkthroughShown';

/** Opens the walkthrough unless it was opened before in this profile; resolves whether it opened it. */
export async function openWalkthroughOnce(state: vscode.Memento): Promise<boolean> {
  if (state.get<boolean>(SHOWN_KEY)) return false;
  // Marked first: a failure to open must not turn into opening it on every start.
  await state.update(SHOWN_KEY, true);
  await vscode.commands.executeCommand('workbench.action.openWalkthrough', WALKTHROUGH_ID, false);
  return true;
}
