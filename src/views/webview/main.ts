// The panel's script (runs inside the webview, bundled to media/build/panel.js). It renders validated
// PanelData with DOM APIs only — textContent for every string, setAttribute from a fixed list — so an
// engine-supplied name like `<img src=x onerror=...>` is just text. State survives hide/show via setState.
import * as z from 'zod';
import { formatBytes, formatTokPerSec, formatTokPerSecRange, speedWord } from '../../estimator/format';
import { memoryChart, sparkline } from '../chart';
import { parseHostMessage, type AlternativeRow, type HostMessage, type PanelCommand, type PanelData, type SpeedPoint, type WebviewMessage } from '../protocol';
import type { SvgNode } from '../svg';
import { nextSort, sortRows, type SortKey, type SortState } from '../table';

// The CSP has no 'unsafe-eval': tell zod not to even try its Function()-based fast path.
z.config({ jitless: true });

interface VsCodeApi {
  postMessage(msg: WebviewMessage): void;
  getState(): unknown;
  setState(s: PersistedState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

interface PersistedState {
  last?: HostMessage;
  sort: SortState;
}

const vscode = acquireVsCodeApi();
const app = document.getElementById('app')!;
const SVG_NS = 'http://www.w3.org/2000/svg';
const MAX_HISTORY = 600;

function restore(): PersistedState {
  const s = vscode.getState() as Partial<PersistedState> | undefined;
  const last = s?.last !== undefined ? parseHostMessage(s.last) : undefined;
  return { last: last?.ok ? last.message : undefined, sort: s?.sort ?? { key: 'memoryBytes', dir: 'asc' } };
}
let state = restore();

const ATTRS = new Set(['class', 'id', 'type', 'scope', 'title', 'role', 'tabindex', 'colspan', 'aria-sort', 'aria-label', 'aria-live', 'aria-busy', 'aria-describedby']);

/** Creates an HTML element. Strings become text nodes, never markup. */
function h(tag: string, attrs: Record<string, string> = {}, ...children: (Node | string | undefined)[]): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (ATTRS.has(k)) e.setAttribute(k, v);
  for (const c of children) if (c !== undefined) e.append(typeof c === 'string' ? document.createTextNode(c) : c);
  return e;
}

function svg(node: SvgNode): SVGElement {
  const e = document.createElementNS(SVG_NS, node.tag);
  for (const [k, v] of Object.entries(node.attrs ?? {})) e.setAttribute(k, String(v));
  if (node.text !== undefined) e.textContent = node.text;
  for (const c of node.children ?? []) e.append(svg(c));
  return e;
}

function post(msg: WebviewMessage): void {
  vscode.postMessage(msg);
}

function save(): void {
  vscode.setState(state);
}

const COMMAND_LABEL: Record<PanelCommand, string> = {
  checkModelFit: 'Check Model Fit',
  chooseModel: 'Choose Model',
  detectEngines: 'Detect Engines',
  selectHardwareProfile: 'Select Hardware Profile',
};

function renderEmpty(message: string, actions: PanelCommand[]): void {
  const buttons = actions.map((a) => {
    const b = h('button', { type: 'button' }, COMMAND_LABEL[a]);
    b.addEventListener('click', () => post({ type: 'command', command: a }));
    return b;
  });
  app.replaceChildren(h('section', { class: 'empty' }, h('p', {}, message), h('div', { class: 'actions' }, ...buttons)));
  app.setAttribute('aria-busy', 'false');
}

function factsList(data: PanelData): HTMLElement {
  const dl = h('dl', { class: 'facts' });
  for (const f of data.facts) {
    dl.append(h('dt', {}, f.label), h('dd', {}, f.value, f.source ? h('span', { class: 'source' }, ` ${f.source}`) : undefined));
  }
  return dl;
}

const COLUMNS: { key: SortKey; label: string; numeric?: boolean }[] = [
  { key: 'label', label: 'Option' },
  { key: 'memoryBytes', label: 'Memory', numeric: true },
  { key: 'decodeTokPerSec', label: 'Decode', numeric: true },
  { key: 'fits', label: 'Fits' },
];

function alternativesTable(rows: AlternativeRow[]): HTMLElement {
  const table = h('table', { class: 'alternatives' }, h('caption', {}, 'Alternatives — click a column to sort'));
  const head = h('tr');
  for (const c of COLUMNS) {
    const sorted = state.sort.key === c.key;
    const th = h('th', { scope: 'col', 'aria-sort': sorted ? (state.sort.dir === 'asc' ? 'ascending' : 'descending') : 'none', class: c.numeric ? 'num' : '' });
    const btn = h('button', { type: 'button', class: 'sort', id: `sort-${c.key}` }, c.label, sorted ? (state.sort.dir === 'asc' ? ' ▲' : ' ▼') : '');
    btn.addEventListener('click', () => {
      state = { ...state, sort: nextSort(state.sort, c.key) };
      save();
      render();
      // Re-rendering replaced the button: keep keyboard focus where the user was.
      document.getElementById(`sort-${c.key}`)?.focus();
    });
    th.append(btn);
    head.append(th);
  }
  head.append(h('th', { scope: 'col' }, 'What it costs'), h('th', { scope: 'col' }, 'Action'));
  table.append(h('thead', {}, head));
  const body = h('tbody');
  for (const r of sortRows(rows, state.sort)) {
    const action = r.action ? h('button', { type: 'button', class: 'action', title: r.action.kind === 'copy' ? r.action.text : r.action.label }, r.action.label) : undefined;
    action?.addEventListener('click', () => post({ type: 'rowAction', rowId: r.id }));
    body.append(
      h(
        'tr',
        { class: `${r.kind}${r.fits ? '' : ' nofit'}` },
        h('th', { scope: 'row' }, r.label),
        h('td', { class: 'num' }, formatBytes(r.memoryBytes)),
        h('td', { class: 'num' }, r.decodeTokPerSec !== undefined ? formatTokPerSecRange(r.decodeTokPerSec, r.decodeRange) : '—'),
        h('td', { class: r.fits ? 'fits' : 'nofits' }, r.fits ? '✓ fits' : '✗ no'),
        h('td', {}, r.cost),
        h('td', {}, action),
      ),
    );
  }
  table.append(body);
  return table;
}

function speedSection(data: PanelData): HTMLElement {
  const hist = data.speed.history;
  const last = hist.at(-1);
  const ceiling = data.speed.ceilingTokPerSec;
  const line = last
    ? `${formatTokPerSec(last.tokPerSec)} (${speedWord(last.tokPerSec)})${ceiling ? ` — ${Math.round((last.tokPerSec / ceiling) * 100)} % of the ${formatTokPerSec(ceiling)} bandwidth ceiling` : ''}`
    : data.speed.predictedTokPerSec
      ? `No live reading yet; predicted ${formatTokPerSecRange(data.speed.predictedTokPerSec, data.speed.predictedRange)} (${speedWord(data.speed.predictedTokPerSec)})${data.speed.predictedRange ? ` — ${data.speed.predictedRange.basis}` : ''}`
      : 'No live reading yet';
  return h('section', { class: 'speed', 'aria-live': 'polite' }, h('h2', {}, 'Live decode speed'), h('p', {}, line), svg(sparkline(hist, ceiling, { width: 320, height: 48 })));
}

function renderData(data: PanelData): void {
  // New data replaces the DOM: keep keyboard focus on the same control when it still exists.
  const focused = document.activeElement?.id;
  const legend = h(
    'ul',
    { class: 'legend' },
    h('li', { class: 'weights' }, 'weights'),
    h('li', { class: 'kv' }, 'KV cache'),
    h('li', { class: 'overhead' }, 'buffers'),
    h('li', { class: 'usable' }, 'usable'),
    h('li', { class: 'total' }, 'total'),
  );
  const parts: (HTMLElement | undefined)[] = [
    h('header', {}, h('h1', {}, data.title), h('p', { class: 'muted' }, data.subtitle)),
    data.verdict ? h('section', { class: `verdict ${data.verdict.kind}` }, h('strong', {}, data.verdict.kind.replace(/-/g, ' ')), ' — ', data.verdict.summary, data.verdict.confidence ? h('span', { class: 'muted' }, ` (confidence: ${data.verdict.confidence})`) : undefined) : undefined,
    h('div', { class: 'columns' }, factsList(data), data.speed.history.length || data.speed.predictedTokPerSec ? speedSection(data) : undefined),
    data.curve.length ? h('section', { class: 'memory' }, h('h2', {}, 'Memory vs context'), svg(memoryChart(data, { width: 640, height: 260 })), legend) : undefined,
    data.alternatives.length ? alternativesTable(data.alternatives) : h('p', { class: 'muted' }, 'No alternatives computed.'),
    ...data.notes.map((n) => h('p', { class: 'note muted' }, n)),
  ];
  app.replaceChildren(...parts.filter((p): p is HTMLElement => p !== undefined));
  app.setAttribute('aria-busy', 'false');
  if (focused) document.getElementById(focused)?.focus();
}

function render(): void {
  const m = state.last;
  if (!m) return;
  if (m.type === 'empty') renderEmpty(m.message, m.actions);
  else if (m.type === 'show') renderData(m.data);
}

function appendSpeed(point: SpeedPoint): void {
  if (state.last?.type !== 'show') return;
  const data = state.last.data;
  const history = [...data.speed.history, point].slice(-MAX_HISTORY);
  const next: PanelData = { ...data, speed: { ...data.speed, history } };
  state = { ...state, last: { type: 'show', data: next } };
  document.querySelector('section.speed')?.replaceWith(speedSection(next));
}

window.addEventListener('message', (e: MessageEvent) => {
  const parsed = parseHostMessage(e.data);
  if (!parsed.ok) {
    console.warn(`Headroom panel: ignored an invalid message (${parsed.error})`);
    return;
  }
  const m = parsed.message;
  if (m.type === 'speed') appendSpeed(m.point);
  else {
    state = { ...state, last: m };
    render();
  }
  save();
});

render();
post({ type: 'ready' });
