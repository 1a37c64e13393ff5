// The ONE table of command ids and titles. Pure (no `vscode`), so a plain-Node test can check it
// against package.json#contributes.commands and the harness can read the same ids.

export const COMMANDS = {
  checkModelFit: { id: 'headroom.checkModelFit', title: 'Check Model Fit' },
  chooseModel: { id: 'headroom.chooseModel', title: 'Choose Model' },
  openPanel: { id: 'headroom.openPanel', title: 'Open Panel' },
  selectHardwareProfile: { id: 'headroom.selectHardwareProfile', title: 'Select Hardware Profile' },
  detectEngines: { id: 'headroom.detectEngines', title: 'Detect Engines' },
  measureSpeed: { id: 'headroom.measureSpeed', title: 'Measure Speed' },
  planStack: { id: 'headroom.planStack', title: 'Plan Agent Stack' },
  snoozeWarnings: { id: 'headroom.snoozeWarnings', title: 'Snooze Warnings' },
  showLog: { id: 'headroom.showLog', title: 'Show Log' },
  connectAgent: { id: 'headroom.connectAgent', title: 'Connect Agent…' },
  undoConnectAgent: { id: 'headroom.undoConnectAgent', title: 'Undo Connect Agent' },
  getStarted: { id: 'headroom.getStarted', title: 'Get Started' },
  confirmHardware: { id: 'headroom.confirmHardware', title: 'Confirm Hardware Profile' },
} as const;

export type CommandKey = keyof typeof COMMANDS;
export type CommandId = (typeof COMMANDS)[CommandKey]['id'];
export const COMMAND_CATEGORY = 'Headroom';
/** `<publisher>.<name>#<walkthrough id>` of package.json#contributes.walkthroughs. */
export const WALKTHROUGH_ID = 'headroom-dev.headroom#gettingStarted';
