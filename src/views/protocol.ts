// Messages between the panel webview and the extension host: one zod discriminated union per direction,
// validated on BOTH sides (the webview bundle imports this file). Unknown or malformed messages are dropped
// and logged, never acted on.
//
// Host → webview
//   { type: 'show', data: PanelData }      full state for the chart, tables and sparkline
//   { type: 'speed', point: SpeedPoint }   one live decode reading, appended to the sparkline
//   { type: 'empty', message, actions }    nothing to show yet (no model chosen / no engine)
// Webview → host
//   { type: 'ready' }                      the script is up; the host answers with the latest state
//   { type: 'rowAction', rowId }           the action of an alternatives row (copy a command line, set active)
//   { type: 'command', command }           one of our own commands (buttons in the empty state)
//
// The webview only ever names a row id or one of a fixed set of commands: the host looks the action up in
// the data IT sent, so a compromised webview cannot make it copy or run anything else.
import * as z from 'zod';

const finite = z.number().finite();
const bytes = finite.nonnegative();
const text = (max = 500) => z.string().max(max);

export const SpeedPoint = z.object({
  /** ms since epoch */
  t: finite,
  tokPerSec: finite.nonnegative(),
});
export type SpeedPoint = z.infer<typeof SpeedPoint>;

/** Memory at one context size (per slot), for the stacked chart. */
export const CurvePoint = z.object({ ctx: finite.positive(), weights: bytes, kv: bytes, overhead: bytes });
export type CurvePoint = z.infer<typeof CurvePoint>;

export const ROW_KINDS = ['current', 'quant', 'kv', 'moe', 'slots', 'context', 'model'] as const;

export const RowAction = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('copy'), label: text(60), text: text(20000) }),
  z.object({ kind: z.literal('setActive'), label: text(60), modelKey: text(1000) }),
  z.object({ kind: z.literal('checkFit'), label: text(60), model: text(300), quant: text(40).optional(), ctx: finite.positive().optional() }),
  /** Reload a loaded model with this context through the engine's API (Ollama, LM Studio), after confirmation. */
  z.object({ kind: z.literal('reload'), label: text(60), modelKey: text(1000), ctx: z.number().int().positive() }),
]);
export type RowAction = z.infer<typeof RowAction>;

export const AlternativeRow = z.object({
  id: text(100),
  kind: z.enum(ROW_KINDS),
  label: text(300),
  /** Total memory with this change, bytes. */
  memoryBytes: bytes,
  fits: z.boolean(),
  decodeTokPerSec: finite.nonnegative().optional(),
  /** The predicted speed's cross-validated band (absent for a measured speed). */
  decodeRange: z.object({ low: finite.nonnegative(), high: finite.nonnegative() }).optional(),
  /** What it costs: quality, context, throughput. */
  cost: text(500),
  action: RowAction.optional(),
});
export type AlternativeRow = z.infer<typeof AlternativeRow>;

export const Fact = z.object({ label: text(80), value: text(200), source: text(40).optional() });
export type Fact = z.infer<typeof Fact>;

export const PanelData = z.object({
  title: text(300),
  subtitle: text(500),
  hardware: z.object({ name: text(200), usableBytes: bytes, capacityBytes: bytes, bandwidthGBps: finite.nonnegative() }),
  curve: z.array(CurvePoint).max(400),
  markers: z.object({
    currentCtx: finite.nonnegative().optional(),
    configuredCtx: finite.positive().optional(),
    /** Largest per-slot context that still fits; absent when everything charted fits. */
    maxFitCtx: finite.nonnegative().optional(),
  }),
  /** Key numbers with their provenance (engine / estimated / measured). */
  facts: z.array(Fact).max(40),
  alternatives: z.array(AlternativeRow).max(200),
  speed: z.object({
    history: z.array(SpeedPoint).max(600),
    ceilingTokPerSec: finite.nonnegative().optional(),
    predictedTokPerSec: finite.nonnegative().optional(),
    /** Cross-validated band of the prediction and its basis (speed-band.ts). */
    predictedRange: z.object({ low: finite.nonnegative(), high: finite.nonnegative(), basis: text(500) }).optional(),
  }),
  /** A one-paragraph diagnosis (bottleneck verdict), when available. */
  verdict: z.object({ kind: text(40), summary: text(1000), confidence: text(40).optional() }).optional(),
  notes: z.array(text(500)).max(20),
});
export type PanelData = z.infer<typeof PanelData>;

export const PANEL_COMMANDS = ['checkModelFit', 'chooseModel', 'detectEngines', 'selectHardwareProfile'] as const;
export type PanelCommand = (typeof PANEL_COMMANDS)[number];

export const HostMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('show'), data: PanelData }),
  z.object({ type: z.literal('speed'), point: SpeedPoint }),
  z.object({ type: z.literal('empty'), message: text(1000), actions: z.array(z.enum(PANEL_COMMANDS)).max(4) }),
]);
export type HostMessage = z.infer<typeof HostMessage>;

export const WebviewMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('rowAction'), rowId: text(100) }),
  z.object({ type: z.literal('command'), command: z.enum(PANEL_COMMANDS) }),
]);
export type WebviewMessage = z.infer<typeof WebviewMessage>;

export type Parsed<T> = { ok: true; message: T } | { ok: false; error: string };

function parseWith<T>(schema: z.ZodType<T>, raw: unknown): Parsed<T> {
  const r = schema.safeParse(raw);
  if (r.success) return { ok: true, message: r.data };
  const issue = r.error.issues[0];
  return { ok: false, error: `${issue?.path.join('.') || 'message'}: ${issue?.message ?? 'invalid'}` };
}

export const parseHostMessage = (raw: unknown): Parsed<HostMessage> => parseWith(HostMessage, raw);
export const parseWebviewMessage = (raw: unknown): Parsed<WebviewMessage> => parseWith(WebviewMessage, raw);
