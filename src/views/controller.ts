// Everything behind the commands, loaded lazily after the first paint (extension.ts stays tiny).
// Owns: the settings store, the Session, the poll loop, the metering proxy, the panel subject, warnings.
import * as vscode from 'vscode';
import { ConfigStore, SETTING_KEYS, type HeadroomConfig, type SettingKey, type StackSetting } from '../config';
import { formatBytes, formatTokens } from '../estimator/format';
import { usableBytes } from '../estimator/hardware';
import { defaultContextOptions, estimateMemory } from '../estimator/memory';
import type { MeteringProxy } from '../providers/proxy/server';
import type { GuardEvent } from '../providers/proxy/guard';
import type { Warning } from '../estimator/warnings';
import { DEFAULT_ENGINE, parseServingEngine } from '../estimator/engine';
import { COMMANDS, WALKTHROUGH_ID, type CommandKey } from './command-ids';
import { checkFit, defaultFitEngine, ENGINE_LABEL, nowFor, type FitTarget } from './fit-check';
import { canLoad, loadModel } from './load-model';
import { applyReload, fixContext, reloadPlan, type ReloadPlan } from './reload-fix';
import { evaluate } from '../estimator/fit';
import { HeadroomPanel } from './panel';
import { emptyMessage, targetForLoaded, type PanelSubject } from './panel-subject';
import { pickContext, pickEngine, pickHardware, pickModel, pickQuant, specForCandidate, defaultQuantFor } from './quick-picks';
import { Poller } from './poller';
import type { HostMessage, PanelCommand, RowAction } from './protocol';
import { Session } from './session';
import type { StatusBar } from './status-bar';
import { WarningsPresenter } from './warnings-presenter';

import type { ModelCandidate } from './pick-items';
import { modelKey } from './assemble';
import { neutralize } from './markdown';
import { benchKeyForLoaded, benchRecord } from './measured';

const ACTIVE_KEY = 'headroom.activeModel';

class ContextKeys {
  private readonly values = new Map<string, boolean>();
  set(key: string, value: boolean): void {
    if (this.values.get(key) === value) return;
    this.values.set(key, value);
    void vscode.commands.executeCommand('setContext', key, value);
  }
}
/** First detection waits this long after activation: the window paints before any network work. */
export const FIRST_POLL_DELAY_MS = 1500;

export class Controller implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private readonly config: ConfigStore;
  readonly session: Session;
  private readonly poller: Poller;
  private liveProbe: import('../providers/live-memory.js').LiveMemoryProbe | undefined;
  private readonly warnings: WarningsPresenter;
  private subject: PanelSubject | undefined;
  /** A planned stack on display (static: live polls do not replace it). */
  private stackView: import('./protocol').PanelData | undefined;
  private panelMemo: { sig: string; data: import('./protocol').PanelData } | undefined;
  /** What the panel shows now, to skip re-sending the same content. */
  private panelSig: string | undefined;
  private proxy: MeteringProxy | undefined;
  private proxyKey = '';
  /** Context keys for `when` clauses and the walkthrough's completion events (set only on change). */
  private readonly contextKeys = new ContextKeys();
  private readonly guardToasts = new Map<string, number>();

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
    private readonly status: StatusBar,
  ) {
    this.config = new ConfigStore(readSettings, (note) => log.warn(note));
    this.session = new Session({
      config: () => this.config.value,
      env: process.env,
      log: (level, msg) => (level === 'warn' ? log.warn(msg) : level === 'info' ? log.info(msg) : log.debug(msg)),
      // The profile adjusted by the live reading: a raised Apple wired limit, a measured CPU bandwidth (once, cached).
      localHardware: async () => (await import('../providers/local-hardware.js')).detectLiveHardware({ measureCpu: true, log: (m) => log.info(m) }),
      // Polled with the engines (so only while the window is focused); nvidia-smi & co. at most every 30 s.
      cpuBandwidth: async () => (await (await import('../providers/cpu-bandwidth.js')).cpuBandwidth({ log: (m) => log.info(m) }))?.gbps,
      liveMemory: async () => {
        this.liveProbe ??= new (await import('../providers/live-memory.js')).LiveMemoryProbe({ log: (m) => log.info(m) });
        return this.liveProbe.read();
      },
    });
    const stored = context.globalState.get<string>(ACTIVE_KEY);
    if (typeof stored === 'string') this.session.setActive(stored);
    this.warnings = new WarningsPresenter(context.globalState, (key) => this.showLoaded(key), (m) => log.info(m), Date.now, (w) => {
      const plan = this.reloadFixFor(w.modelKey, w.kind, w.numbers.promptTokens ?? w.numbers.sentTokens);
      return plan ? { label: plan.label, run: () => this.confirmReload(plan) } : undefined;
    });
    this.poller = new Poller({
      task: (signal) => this.session.refresh(signal),
      intervalMs: () => this.config.value.pollIntervalSeconds * 1000,
      onError: (err) => log.warn(`poll failed: ${err instanceof Error ? err.message : String(err)}`),
    });
    this.disposables.push(
      { dispose: () => this.poller.dispose() },
      this.session.onState((s) => {
        this.status.update(s, this.config.value.statusBar.format);
        this.contextKeys.set('headroom.engineDetected', s.engines.length > 0);
        this.contextKeys.set('headroom.modelLoaded', s.models.length > 0);
        this.refreshPanel();
      }),
      this.session.onSpeed((key, point) => {
        if (this.subject?.kind === 'loaded' && this.subject.key === key) HeadroomPanel.instance?.post({ type: 'speed', point });
      }),
      this.session.onWarnings((w) => this.warnings.present(w)),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!e.affectsConfiguration('headroom')) return;
        this.config.reload();
        this.session.configChanged();
        this.poller.resetBackoff();
        void this.syncProxy();
        void this.poller.pollNow();
      }),
      // Zero cost in the background: no polling while the window is unfocused.
      vscode.window.onDidChangeWindowState((w) => {
        if (w.focused === !this.poller.isPaused) return;
        if (w.focused) this.poller.resume();
        else this.poller.pause();
        log.info(w.focused ? 'window focused: polling resumed' : 'window unfocused: polling paused');
      }),
    );
    // Started unfocused: still run the first detection (the status bar must not spin forever), then rest.
    if (!vscode.window.state.focused) {
      const once = this.session.onState(() => {
        once.dispose();
        if (!vscode.window.state.focused) {
          this.poller.pause();
          log.info('window unfocused: polling paused after the first detection');
        }
      });
      this.disposables.push(once);
    }
  }

  /** Starts polling (first detection deferred) and the metering proxy if enabled. */
  start(firstDelayMs = FIRST_POLL_DELAY_MS): void {
    this.poller.start(firstDelayMs);
    void this.syncProxy();
    void this.refreshBackupKey().catch(() => undefined);
    void this.loadBenchStore();
  }

  /**
   * The bench store is the CLI's file ($HEADROOM_BENCH_STORE, else ~/.local/state/headroom/bench-results.json),
   * not the extension's private storage: a `headroom bench` in the terminal calibrates the editor and a
   * Measure Speed run shows up in `headroom status`, because both describe the same engine on the same box.
   */
  private async benchStorePath(): Promise<string> {
    const [{ defaultBenchStorePath }, { homedir }] = await Promise.all([import('../providers/bench-store.js'), import('node:os')]);
    return defaultBenchStorePath(process.env, homedir());
  }

  /** Past measurements → calibrated decode in the tooltip and panel. A damaged file is logged, never fatal. */
  private async loadBenchStore(): Promise<void> {
    const { loadBenchStore } = await import('../providers/bench-store.js');
    const path = await this.benchStorePath();
    try {
      this.session.setBenchResults(await loadBenchStore(path));
    } catch (err) {
      this.log.warn(`bench store not used: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  async run(key: CommandKey): Promise<void> {
    try {
      switch (key) {
        case 'checkModelFit':
          return await this.checkModelFit();
        case 'chooseModel':
          return await this.chooseModel();
        case 'openPanel':
          return this.openPanel();
        case 'selectHardwareProfile':
          return await this.selectHardware();
        case 'detectEngines':
          return await this.detectEngines();
        case 'measureSpeed':
          return await this.measureSpeed();
        case 'planStack':
          return await this.planStack();
        case 'snoozeWarnings':
          return await this.snoozeWarnings();
        case 'showLog':
          return this.log.show();
        case 'connectAgent':
          this.config.reload(); // a settings change may not have reached us yet: plan with what is set now
          return await (await import('./connect-agent.js')).connectAgent(this.connectDeps());
        case 'undoConnectAgent':
          return await (await import('./connect-agent.js')).undoConnect(this.connectDeps());
        case 'getStarted':
          return void (await vscode.commands.executeCommand('workbench.action.openWalkthrough', WALKTHROUGH_ID, false));
        case 'confirmHardware':
          return await this.confirmHardware();
      }
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      this.log.error(`${COMMANDS[key].id}: ${msg}`);
      const pick = await vscode.window.showErrorMessage(neutralize(`Headroom: ${COMMANDS[key].title} failed: ${msg}`), 'Show Log');
      if (pick) this.log.show();
    }
  }

  // ──── Commands ────────────────────────────────────────────────────────────

  private async detectEngines(): Promise<void> {
    this.poller.resetBackoff();
    // Picks up a `headroom bench` run from the terminal without restarting the editor.
    await this.loadBenchStore();
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Headroom: detecting engines' }, () => this.poller.pollNow());
    const s = this.session.state;
    this.log.info(s.engines.length ? `found ${s.engines.map((e) => `${e.engine} at ${e.endpoint}`).join(', ')}` : `no engine answered on ${s.probed?.length ?? 0} endpoints`);
  }

  /** Pickers list the engines' models: when detection has not settled yet, wait for it (it is bounded by timeouts). */
  private async settled(): Promise<void> {
    if (this.session.state.phase !== 'detecting') return;
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Headroom: detecting engines' }, () => this.poller.pollNow());
  }

  private ctxDefault(): number {
    const active = this.session.state.models.find((m) => m.key === this.session.activeKey) ?? this.session.state.models[0];
    // Agents' system prompts alone are 15–25k tokens: judge fit at no less than 32k.
    return Math.max(active?.context.configured?.value ?? 0, 32768);
  }

  private async checkModelFit(): Promise<void> {
    await this.settled();
    const hw = this.session.hardwareSpec();
    const c = await pickModel({ title: 'Headroom: Check Model Fit (1/3) — model', state: this.session.state, detections: this.session.detections, hw, ctxPerSeq: this.ctxDefault(), includeCatalog: true });
    if (!c) return;
    const target = await this.targetFor(c, 'Headroom: Check Model Fit');
    if (!target) return;
    this.showSubject({ kind: 'fit', target });
  }

  /** Quant and context steps for a picked model; undefined when cancelled or the shape is unknown. */
  private async targetFor(c: ModelCandidate, title: string): Promise<FitTarget | undefined> {
    const hw = this.session.hardwareSpec();
    const loaded = c.section === 'loaded' ? this.session.details(c.id) : undefined;
    const found = loaded?.estimate ? { spec: loaded.estimate.spec, contextMax: loaded.estimate.contextMax, quant: loaded.estimate.quant } : specForCandidate(c);
    if (!found) {
      void vscode.window.showInformationMessage(neutralize(`Headroom has no architecture data for ${c.label} (not in the catalog, and the engine gave none), so it cannot estimate its memory.`));
      return undefined;
    }
    const quant = await pickQuant(found.spec, c.quant ?? found.quant ?? defaultQuantFor(c.id), `${title} (2/3) — quantization`);
    if (!quant) return undefined;
    // A loaded model speaks for the engine serving it. Otherwise commands and the speed model follow the detected
    // engine, changeable from a row at the end of the context step (no extra step on the default path).
    let engine: string | undefined = loaded ? c.engine : undefined;
    let why = '';
    if (!loaded) ({ engine, why } = defaultFitEngine(c.engine, this.session.detections));
    let ctx: number | undefined;
    for (;;) {
      const serving = engine ? parseServingEngine(engine) : undefined;
      const extra = !loaded && serving ? { label: `$(terminal) Commands for: ${ENGINE_LABEL[serving]} (change…)`, description: why } : undefined;
      const r = await pickContext(found.spec, quant, hw, found.contextMax, `${title} (3/3) — context`, loaded?.estimate?.ctx.ctxPerSeq, extra);
      if (r === undefined) return undefined;
      if (r !== 'extra') {
        ctx = r;
        break;
      }
      const picked = await pickEngine(serving ?? DEFAULT_ENGINE, this.session.detections, `${title} — engine`);
      if (picked && picked !== engine) ({ engine, why } = { engine: picked, why: 'your choice' });
    }
    return {
      modelId: 'catalogId' in found && found.catalogId ? found.catalogId : c.label,
      title: c.label,
      spec: found.spec,
      quant,
      ...(loaded?.estimate && quant === loaded.estimate.quant ? { weights: loaded.estimate.weights } : {}),
      ctx: defaultContextOptions({ ...(loaded?.estimate?.ctx ?? {}), ctxPerSeq: ctx }),
      contextMax: found.contextMax,
      ...(engine ? { engine } : {}),
      ...(hw.id === this.session.state.hardware.id && nowFor(this.session.state, !!loaded) ? { now: nowFor(this.session.state, !!loaded)! } : {}),
    };
  }

  private async chooseModel(): Promise<void> {
    await this.settled();
    const hw = this.session.hardwareSpec();
    const c = await pickModel({ title: 'Headroom: Choose Model', state: this.session.state, detections: this.session.detections, hw, ctxPerSeq: this.ctxDefault(), includeCatalog: true });
    if (!c) return;
    if (c.section === 'loaded') {
      this.setActive(c.id);
      void vscode.window.showInformationMessage(neutralize(`Headroom now follows ${c.label}.`));
      if (HeadroomPanel.instance) this.showLoaded(c.id);
      return;
    }
    if (c.section === 'available' && canLoad(c.engine) && c.endpoint) return this.offerLoad(c);
    // A catalog model (or an engine that cannot load on request): show how it would fit.
    const target = await this.targetFor(c, 'Headroom: Choose Model');
    if (target) this.showSubject({ kind: 'fit', target });
  }

  private async offerLoad(c: ModelCandidate): Promise<void> {
    const hw = this.session.hardwareSpec();
    const found = specForCandidate(c);
    const ctx = found ? await pickContext(found.spec, c.quant ?? found.quant ?? 'Q4_K_M', hw, found.contextMax, `Headroom: load ${c.label} — context`) : 32768;
    if (!ctx || ctx === 'extra') return; // no extra row is offered here
    let estimate = '';
    if (found) {
      try {
        const q = c.quant ?? found.quant ?? 'Q4_K_M';
        const total = estimateMemory(found.spec, (await import('../estimator/weights.js')).weightsForQuant(found.spec, q), defaultContextOptions({ ctxPerSeq: ctx })).totalBytes;
        const usable = usableBytes(hw);
        estimate = ` Headroom estimates ${formatBytes(total)} of ${formatBytes(usable)} usable${total > usable ? ' — it does NOT fit and will spill to CPU or fail' : ''}.`;
      } catch {
        estimate = '';
      }
    }
    const engineName = c.engine === 'ollama' ? 'Ollama' : 'LM Studio';
    const ok = await vscode.window.showWarningMessage(neutralize(`Load ${c.label} in ${engineName} with a ${formatTokens(ctx)} context?`), { modal: true, detail: neutralize(`This asks ${c.endpoint} to load the model now.${estimate}`) }, 'Load');
    if (ok !== 'Load') return;
    const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Loading ${c.label} in ${engineName}…`, cancellable: true }, (_p, token) => {
      const ac = new AbortController();
      token.onCancellationRequested(() => ac.abort());
      return loadModel({ engine: c.engine as 'ollama' | 'lmstudio', endpoint: c.endpoint!, model: c.id, ctxPerSeq: ctx, signal: ac.signal });
    });
    this.log.info(`load: ${result.detail}`);
    await this.poller.pollNow();
    const key = modelKey(c.endpoint!, c.id);
    this.setActive(key);
    void vscode.window.showInformationMessage(neutralize(`${c.label} is loaded${result.loadSeconds ? ` (${result.loadSeconds.toFixed(1)} s)` : ''}; Headroom now follows it.`));
  }

  /**
   * The reload that fixes a warning for a loaded model (or applies a panel row's context), when its engine has a
   * load API: the estimator's max context that fits, capped by the model's max and by what the warning asks.
   */
  private reloadFixFor(key: string, kind: string, want?: number, exact?: number): ReloadPlan | undefined {
    const m = this.session.state.models.find((x) => x.key === key);
    const d = this.session.details(key);
    const e = d?.estimate;
    if (!m || !d || !e || !canLoad(m.engine)) return undefined;
    let ctx = exact;
    if (ctx === undefined) {
      try {
        const maxFit = evaluate(e.spec, e.weights, d.hardware, e.ctx, { contextMax: e.contextMax }).maxContext;
        ctx = fixContext({ kind, ...(m.context.configured ? { configured: m.context.configured.value } : {}), maxFit, contextMax: e.contextMax, ...(want !== undefined ? { want } : {}) });
      } catch (err) {
        this.log.warn(`reload fix for ${m.name}: ${err instanceof Error ? err.message : String(err)}`);
        return undefined;
      }
    }
    if (!ctx) return undefined;
    return reloadPlan({ engine: m.engine, endpoint: m.endpoint, model: d.loaded.name, ctxPerSeq: ctx, modelId: m.name, quant: e.quant, parallel: e.ctx.parallel, kvType: e.ctx.kvTypeK });
  }

  /** Asks (a quick pick with explicit Yes / No: modal dialogs are refused in extension tests), then reloads. */
  private async confirmReload(plan: ReloadPlan): Promise<void> {
    type Row = vscode.QuickPickItem & { act?: 'yes' | 'copy' };
    const rows: Row[] = [
      { label: `$(debug-restart) Yes, ${plan.label.charAt(0).toLowerCase()}${plan.label.slice(1)}`, detail: neutralize(plan.does), act: 'yes' },
      ...(plan.persistent.command ? [{ label: '$(copy) Copy the lasting fix instead', description: neutralize(plan.persistent.command), detail: neutralize(plan.persistent.note), act: 'copy' as const }] : []),
      { label: '$(close) No' },
      { label: 'Note', kind: vscode.QuickPickItemKind.Separator },
      { label: '$(info) How long it holds', detail: neutralize(plan.caveat) },
    ];
    const pick = await vscode.window.showQuickPick(rows, { title: neutralize(`${plan.action}?`), placeHolder: neutralize(plan.caveat), ignoreFocusOut: true });
    if (pick?.act === 'copy') {
      await vscode.env.clipboard.writeText(plan.persistent.command!);
      void vscode.window.showInformationMessage(neutralize(`Copied: ${plan.persistent.command}`));
      return;
    }
    if (pick?.act !== 'yes') return;
    this.log.info(`reload: ${plan.detail}`);
    let result: Awaited<ReturnType<typeof applyReload>>;
    try {
      result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: neutralize(`${plan.action}…`), cancellable: true }, (_p, token) => {
        const ac = new AbortController();
        token.onCancellationRequested(() => ac.abort());
        return applyReload(plan, { signal: ac.signal });
      });
    } catch (err) {
      // Called from a toast or a panel row (not through run()): report here, never an unhandled rejection.
      const msg = err instanceof Error ? err.message : String(err);
      this.log.error(`reload of ${plan.model} failed: ${msg}`);
      void this.poller.pollNow();
      const pick = await vscode.window.showErrorMessage(neutralize(`Headroom: ${plan.action} failed: ${msg}`), 'Show Log');
      if (pick) this.log.show();
      return;
    }
    this.log.info(`reload: ${result.detail}`);
    await this.poller.pollNow();
    const lasting = plan.persistent.command ? 'Copy the lasting fix' : undefined;
    const next = await vscode.window.showInformationMessage(neutralize(`${plan.model} reloaded with a ${formatTokens(plan.ctxPerSeq)} context${result.loadSeconds ? ` (${result.loadSeconds.toFixed(1)} s)` : ''}. ${plan.caveat}`), ...(lasting ? [lasting] : []));
    if (lasting && next === lasting) await vscode.env.clipboard.writeText(plan.persistent.command!);
  }

  private async measureSpeed(): Promise<void> {
    await this.settled();
    const models = this.session.state.models;
    if (models.length === 0) {
      const pick = await vscode.window.showInformationMessage('Headroom: no loaded model to measure. Load a model in your engine (or Choose Model), then try again.', 'Detect Engines');
      if (pick) await this.detectEngines();
      return;
    }
    type Item = vscode.QuickPickItem & { key: string };
    const items: Item[] = models.map((m) => ({ label: neutralize(m.name), description: `${m.engine} · ${m.endpoint}`, key: m.key }));
    const pick = models.length === 1 ? items[0] : await vscode.window.showQuickPick(items, { title: 'Headroom: Measure Speed — which model?' });
    if (!pick) return;
    const m = models.find((x) => x.key === pick.key)!;
    const ok = await vscode.window.showInformationMessage(
      neutralize(`Measure ${m.name}'s decode and prefill speed?`),
      { modal: true, detail: `Runs a few fixed-length generations on ${m.endpoint} at growing prompt depths (near-empty, 8k, 32k, capped by the context). It keeps the engine busy for up to a few minutes; prompts are synthetic.` },
      'Measure',
    );
    if (ok !== 'Measure') return;
    const { runBench } = await import('../providers/bench.js');
    const engine = m.engine === 'llama.cpp' || m.engine === 'ollama' ? m.engine : 'openai-compatible';
    const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Measuring ${m.name}`, cancellable: true }, (progress, token) => {
      const ac = new AbortController();
      token.onCancellationRequested(() => ac.abort());
      return runBench({
        endpoint: m.endpoint,
        model: m.name,
        engine,
        ...(m.context.configured ? { nCtx: m.context.configured.value } : {}),
        signal: ac.signal,
        onRun: ({ index, total, targetDepth }) => progress.report({ message: `run ${index + 1} of ${total} (prompt ≈ ${formatTokens(targetDepth)} tokens)`, increment: 100 / total }),
      });
    });
    const { benchLines, benchSentence, benchTable } = await import('./bench-summary.js');
    const d = this.session.details(m.key);
    const { speedAt } = await import('../providers/estimate.js');
    const lines = benchLines(result.runs, d?.estimate ? (depth) => speedAt(d.estimate!, d.hardware, depth).ceilingTokPerSec : undefined);
    this.log.info(`measured ${m.name} on ${m.endpoint}:`);
    for (const l of benchTable(lines)) this.log.info(`  ${l}`);
    for (const n of result.notes) this.log.info(`  note: ${n}`);
    this.session.ingestBench(m.key, result.runs);
    if (d) await this.saveBench(benchKeyForLoaded(m.endpoint, d.loaded, d.hardware.id), result);
    const next = await vscode.window.showInformationMessage(neutralize(benchSentence(m.name, lines)), 'Open Panel', 'Show Log');
    if (next === 'Open Panel') this.showLoaded(m.key);
    else if (next === 'Show Log') this.log.show();
  }

  /** Keeps a complete run for later calibration (runBench rejects on cancel, timeout or a dead engine, so only complete runs get here). */
  private async saveBench(key: import('../estimator/bench-result').BenchKey, m: { engine: string; runs: import('../estimator/bench-result').BenchRun[]; nCtx?: number }): Promise<void> {
    const { appendBenchResult } = await import('../providers/bench-store.js');
    const path = await this.benchStorePath();
    try {
      this.session.setBenchResults(await appendBenchResult(path, benchRecord(key, m, new Date().toISOString())));
      this.log.info(`  saved to ${path}`);
    } catch (err) {
      this.log.warn(`measurement not saved: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private async planStack(): Promise<void> {
    await this.settled();
    const { EXAMPLE_STACK, loadedStack, stackPanel } = await import('./stack-panel.js');
    const { planStack } = await import('../estimator/planner.js');
    const loaded = loadedStack(this.session.state);
    type Item = vscode.QuickPickItem & { stack?: StackSetting; edit?: true };
    const describe = (st: { members: { model: string; ctx: number }[] }) => neutralize(st.members.map((m) => `${m.model} @${formatTokens(m.ctx)}`).join(' + '));
    const items: Item[] = [
      ...(loaded ? [{ label: '$(server) Loaded now', description: describe(loaded), stack: loaded }] : []),
      ...this.config.value.stacks.map((st) => ({ label: `$(layers) ${neutralize(st.name)}`, description: describe(st), stack: st })),
      { label: `$(lightbulb) ${EXAMPLE_STACK.name}`, description: describe(EXAMPLE_STACK), stack: EXAMPLE_STACK },
      { label: '$(gear) Edit stacks in settings…', description: 'headroom.stacks', edit: true },
    ];
    const pick = await vscode.window.showQuickPick(items, { title: 'Headroom: Plan Agent Stack', placeHolder: `Models that stay resident together on ${this.session.hardwareSpec().name}`, matchOnDescription: true });
    if (!pick) return;
    if (pick.edit) {
      await vscode.commands.executeCommand('workbench.action.openSettingsJson', { revealSetting: { key: 'headroom.stacks', edit: true } });
      return;
    }
    const stack = pick.stack!;
    try {
      const plan = planStack(stack, this.session.hardwareSpec());
      this.subject = undefined;
      this.stackView = stackPanel(plan, stack);
      this.ensurePanel();
      this.refreshPanel(true);
    } catch (err) {
      void vscode.window.showErrorMessage(neutralize(`Headroom: cannot plan "${stack.name}": ${err instanceof Error ? err.message : String(err)}`));
    }
  }

  private setActive(key: string): void {
    this.session.setActive(key);
    void this.context.globalState.update(ACTIVE_KEY, key);
  }

  private async selectHardware(): Promise<void> {
    const id = await pickHardware(this.config.value.hardwareProfile);
    if (!id) return;
    await vscode.workspace.getConfiguration('headroom').update('hardwareProfile', id, vscode.ConfigurationTarget.Global);
    this.contextKeys.set('headroom.hardwareConfirmed', true);
  }

  /** The walkthrough's hardware step: say which profile is in use and how it was chosen; confirm or pick another. */
  private async confirmHardware(): Promise<void> {
    await this.settled();
    const hw = this.session.state.hardware;
    const how = hw.chosenBy === 'detected' ? 'detected on this machine' : hw.chosenBy === 'setting' ? 'your setting' : hw.chosenBy === 'endpoint' ? "an endpoint's setting" : 'the default — this machine was not recognised';
    const apple = hw.id.startsWith('apple') || /apple|m\d/i.test(hw.name);
    type Row = vscode.QuickPickItem & { act: 'ok' | 'choose' };
    const pick = await vscode.window.showQuickPick<Row>(
      [
        { label: '$(check) That is right', description: how, act: 'ok' },
        { label: '$(list-selection) Choose another profile…', detail: apple ? 'On Apple silicon the GPU may use about 75 % of unified memory by default (the wired limit); if you raised iogpu.wired_limit_mb, set headroom.capacityGB to match.' : 'Every memory and speed figure depends on the profile.', act: 'choose' },
      ],
      { title: neutralize(`Headroom budgets for ${hw.name}: ${formatBytes(hw.usableBytes)} usable of ${formatBytes(hw.capacityBytes)}, ${hw.bandwidthGBps} GB/s`), placeHolder: `Profile ${hw.id} (${how})`, ignoreFocusOut: true },
    );
    if (pick?.act === 'choose') return this.selectHardware();
    if (pick?.act === 'ok') this.contextKeys.set('headroom.hardwareConfirmed', true);
  }

  private connectDeps(): import('./connect-agent').ConnectDeps {
    return {
      state: () => this.session.state,
      config: () => this.config.value,
      proxy: () => (this.proxy ? { url: this.proxy.url, port: this.proxy.port, target: this.config.value.proxy.target } : undefined),
      ensureProxy: (target, port) => this.ensureProxy(target, port),
      log: this.log,
      changed: () => void this.refreshBackupKey(),
    };
  }

  /** Turns the metering proxy on for `target` (and `port`) through the settings, and waits until it listens. */
  private async ensureProxy(target: string, port?: number): Promise<string> {
    const p = this.config.value.proxy;
    const cfg = vscode.workspace.getConfiguration('headroom');
    if (port !== undefined && p.port !== port) await cfg.update('proxy.port', port, vscode.ConfigurationTarget.Global);
    if (p.target !== target.replace(/\/+$/, '')) await cfg.update('proxy.target', target, vscode.ConfigurationTarget.Global);
    if (!p.enabled) await cfg.update('proxy.enabled', true, vscode.ConfigurationTarget.Global);
    // The settings write and the host's view of it are not one step: re-read until the proxy runs as asked.
    const wantKey = `${port ?? p.port}|${target.replace(/\/+$/, '')}`;
    this.proxyFailed = '';
    for (let i = 0; i < 25; i++) {
      this.config.reload();
      await this.syncProxy();
      // The running proxy's key also names its guard mode, which Connect Agent leaves as the user set it.
      const running = this.proxyKey.split('|').slice(0, 2).join('|');
      if (this.proxy && running === wantKey) return this.proxy.url;
      if (this.proxyFailed.split('|').slice(0, 2).join('|') === wantKey) break; // already reported (port in use, …): do not retry into more errors
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`the metering proxy did not start on 127.0.0.1:${port ?? p.port} → ${target} (see the log)`);
  }

  private async refreshBackupKey(): Promise<void> {
    const [{ listBackups }, { stateDir }] = await Promise.all([import('../connect/files.js'), import('./connect-agent.js')]);
    this.contextKeys.set('headroom.hasConnectBackup', (await listBackups(stateDir())).length > 0);
  }

  private async snoozeWarnings(): Promise<void> {
    const models = this.session.state.models;
    const snoozed = this.warnings.snoozedNow();
    type Item = vscode.QuickPickItem & { run: () => Thenable<void> };
    const items: Item[] = [
      { label: '$(bell-slash) Snooze all warnings for 1 hour', run: () => this.warnings.snoozeModel('*') },
      ...models.map((m) => ({ label: `$(bell-slash) ${neutralize(m.name)}`, description: snoozed[m.key] ? `snoozed until ${new Date(snoozed[m.key]!).toLocaleTimeString()}` : `${m.engine} · for 1 hour`, run: () => this.warnings.snoozeModel(m.key) })),
      { label: '$(bell) Resume all warnings', run: () => this.warnings.resumeAll() },
    ];
    const pick = await vscode.window.showQuickPick(items, { title: 'Headroom: Snooze Warnings' });
    if (pick) await pick.run();
  }

  // ──── Panel ───────────────────────────────────────────────────────────────

  private openPanel(): void {
    this.stackView = undefined;
    // Open Panel shows the followed model as loaded *now*: an earlier subject may have been unloaded or swapped
    // by the engine since. A Check Model Fit result is kept only while no model is loaded to follow.
    const s = this.session.state;
    const key = s.models.find((m) => m.key === this.session.activeKey)?.key ?? s.models[0]?.key;
    if (key) this.subject = { kind: 'loaded', key };
    else if (this.subject?.kind === 'loaded') this.subject = undefined;
    this.ensurePanel();
    this.refreshPanel(true);
  }

  private showLoaded(key: string): void {
    this.showSubject({ kind: 'loaded', key });
  }

  private showSubject(subject: PanelSubject): void {
    this.subject = subject;
    if (subject.kind === 'fit') this.contextKeys.set('headroom.fitChecked', true);
    this.stackView = undefined;
    this.ensurePanel();
    this.refreshPanel(true);
  }

  private ensurePanel(): HeadroomPanel {
    return HeadroomPanel.show(this.context.extensionUri, {
      onCommand: (c: PanelCommand) => void vscode.commands.executeCommand(COMMANDS[c].id),
      onRowAction: (a) => void this.rowAction(a),
      onReady: () => this.refreshPanel(true),
      log: (m) => this.log.warn(m),
    });
  }

  private async rowAction(a: RowAction): Promise<void> {
    switch (a.kind) {
      case 'copy':
        await vscode.env.clipboard.writeText(a.text);
        void vscode.window.showInformationMessage(neutralize(`Copied: ${a.text}`));
        return;
      case 'setActive':
        this.setActive(a.modelKey);
        this.showLoaded(a.modelKey);
        return;
      case 'reload': {
        const plan = this.reloadFixFor(a.modelKey, 'context-cap', undefined, a.ctx);
        if (plan) await this.confirmReload(plan);
        else void vscode.window.showInformationMessage('Headroom: that model is no longer loaded in an engine that can reload it.');
        return;
      }
      case 'checkFit': {
        const c: ModelCandidate = { id: a.model, label: a.model, section: 'catalog', ...(a.quant ? { quant: a.quant } : {}) };
        const found = specForCandidate(c);
        if (!found) return;
        const target: FitTarget = { modelId: found.catalogId ?? a.model, title: a.model, spec: found.spec, quant: a.quant ?? defaultQuantFor(a.model), ctx: defaultContextOptions({ ctxPerSeq: a.ctx ?? 32768 }), contextMax: found.contextMax };
        this.showSubject({ kind: 'fit', target });
        return;
      }
    }
  }

  /**
   * Recomputes and posts the panel's content when the panel is visible and something it shows changed.
   * Unchanged content is not re-sent: a re-render would reset the reader's scroll and keyboard focus every poll
   * (live speed travels separately as 'speed' messages). `force`: a fresh webview or a new subject.
   */
  private refreshPanel(force = false): void {
    const panel = HeadroomPanel.instance;
    // A hidden webview is destroyed (retainContextWhenHidden off); it asks again with 'ready' when shown.
    if (!panel || !panel.visible) return;
    const post = (sig: string, msg: () => HostMessage) => {
      if (sig === this.panelSig && !force) return;
      this.panelSig = sig;
      panel.post(msg());
    };
    if (this.stackView) return post(`stack:${this.stackView.title}:${this.stackView.subtitle}`, () => ({ type: 'show', data: this.stackView! }));
    const state = this.session.state;
    const shown = this.subject;
    if (shown?.kind === 'loaded' && !state.models.some((m) => m.key === shown.key)) {
      // The engine unloaded or swapped the model while the panel is open: follow what is loaded now.
      const next = state.models.find((m) => m.key === this.session.activeKey) ?? state.models[0];
      this.subject = next ? { kind: 'loaded', key: next.key } : undefined;
    }
    const subject = this.subject ?? (state.models[0] ? ({ kind: 'loaded', key: state.models[0].key } as const) : undefined);
    const hw = this.session.hardwareSpec();
    if (!subject) {
      const message = emptyMessage(state);
      const actions: PanelCommand[] = state.phase === 'idle' ? ['checkModelFit', 'detectEngines', 'selectHardwareProfile'] : ['checkModelFit', 'chooseModel'];
      return post(`empty:${message}`, () => ({ type: 'empty', message, actions }));
    }
    const target = subject.kind === 'fit' ? subject.target : targetForLoaded(subject.key, state, this.session.details(subject.key), this.session.history(subject.key));
    if ('error' in target) return post(`error:${target.error}`, () => ({ type: 'empty', message: target.error, actions: ['checkModelFit', 'chooseModel'] }));
    const details = subject.kind === 'loaded' ? this.session.details(subject.key) : undefined;
    const onHw = details?.hardware ?? hw;
    // checkFit costs 35–75 ms (alternatives, max-context searches): redo it only when an input changed.
    const sig = JSON.stringify([subject.kind === 'loaded' ? subject.key : target.title, target.quant, target.ctx, target.weights?.totalBytes, target.depth, target.engineFacts, target.others?.map((o) => o.key), target.verdict?.headline, onHw.id, onHw.capacityBytes, onHw.usableFraction]);
    try {
      if (this.panelMemo?.sig !== sig) this.panelMemo = { sig, data: checkFit(target, onHw).data };
      const data = this.panelMemo.data;
      post(`show:${sig}`, () => ({ type: 'show', data }));
    } catch (err) {
      const message = `Could not estimate ${target.title}: ${err instanceof Error ? err.message : String(err)}`;
      this.log.error(`panel: ${message}`);
      post(`error:${message}`, () => ({ type: 'empty', message, actions: ['checkModelFit'] }));
    }
  }

  // ──── Metering proxy ──────────────────────────────────────────────────────

  /** Serialised: a settings change and Connect Agent may both ask at once; each sees the previous one finished. */
  private syncProxy(): Promise<void> {
    this.proxySync = this.proxySync.then(() => this.doSyncProxy()).catch(() => undefined);
    return this.proxySync;
  }
  private proxySync: Promise<void> = Promise.resolve();
  /** The `port|target` whose start failed last (reported once). */
  private proxyFailed = '';

  private async doSyncProxy(): Promise<void> {
    const p = this.config.value.proxy;
    const key = p.enabled ? `${p.port}|${p.target}|${p.guard}` : '';
    if (key === this.proxyKey) return;
    this.proxyKey = key;
    if (this.proxy) {
      this.contextKeys.set('headroom.proxyRunning', false);
      await this.proxy.close().catch(() => undefined);
      this.log.info('metering proxy stopped');
      this.proxy = undefined;
    }
    if (!p.enabled) return;
    try {
      const { startMeteringProxy } = await import('../providers/proxy/server.js');
      const proxy = await startMeteringProxy({
        listen: { host: '127.0.0.1', port: p.port },
        target: p.target,
        onRecord: (r) => {
          if (r.guard) this.log.info(`proxy ${r.endpoint} ${r.model ?? '?'}: guard ${r.guard.action} (prompt ≈ ${r.guard.promptTokens} tokens by ${r.guard.method}${r.guard.window !== undefined ? `, window ${r.guard.window}` : ''}${r.guard.checkMs !== undefined ? `, checked in ${r.guard.checkMs.toFixed(1)} ms` : ''})`);
          this.session.ingestProxyRecord(r, proxy.url);
          this.contextKeys.set('headroom.proxyTrafficSeen', true);
        },
        guard: { mode: p.guard, onEvent: (e) => this.onGuardEvent(e) },
      });
      this.proxy = proxy;
      this.contextKeys.set('headroom.proxyRunning', true);
      this.log.info(`metering proxy on ${this.proxy.url} → ${p.target}, truncation guard ${p.guard} (point your agent at it; prompts are never logged)`);
    } catch (err) {
      this.proxyKey = '';
      this.proxyFailed = key;
      const msg = err instanceof Error ? err.message : String(err);
      this.log.error(`metering proxy could not start on 127.0.0.1:${p.port}: ${msg}`);
      void vscode.window.showErrorMessage(`Headroom: the metering proxy could not start on 127.0.0.1:${p.port} (${msg}).`, 'Show Log').then((x) => x && this.log.show());
    }
  }

  /** A guard warning or refusal: said now, before the engine's reply (the record comes when the request ends). */
  private onGuardEvent(e: GuardEvent): void {
    if (!this.config.value.warnings.enabled) {
      this.log.info(`truncation guard ${e.info.action}: ${e.message}`);
      return;
    }
    const now = Date.now();
    // An agent retries: one toast per model, action and window a minute; every event is logged.
    const key = `${e.target}|${e.model ?? ''}|${e.info.action}|${e.info.window ?? ''}`;
    const last = this.guardToasts.get(key);
    if (last !== undefined && now - last < 60_000) {
      this.log.info(`truncation guard ${e.info.action}: ${e.message}`);
      return;
    }
    this.guardToasts.set(key, now);
    const w: Warning = {
      modelKey: this.session.modelKeyFor(e.target, e.model ?? ''),
      kind: 'truncated',
      severity: e.info.action === 'refused' ? 'error' : 'warning',
      message: e.info.action === 'refused' ? `Refused before it reached the engine — ${e.message}` : `This prompt may be cut silently — ${e.message}`,
      numbers: { promptTokens: e.info.promptTokens, ...(e.info.window !== undefined ? { window: e.info.window } : {}) },
      suggestedActions: [],
      since: now,
      updatedAt: now,
    };
    this.warnings.present([w]);
  }

  get currentConfig(): HeadroomConfig {
    return this.config.value;
  }

  dispose(): void {
    while (this.disposables.length) this.disposables.pop()?.dispose();
    void this.proxy?.close();
    HeadroomPanel.instance?.dispose();
  }
}

/** Raw `headroom.*` values; VS Code fills in package.json defaults for unset keys. */
function readSettings(): Partial<Record<SettingKey, unknown>> {
  const c = vscode.workspace.getConfiguration('headroom');
  return Object.fromEntries(SETTING_KEYS.map((k) => [k, c.get(k)]));
}
