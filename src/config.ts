// Settings, read in ONE typed place. Pure: the extension hands in the raw `headroom.*` values
// (VS Code fills in package.json defaults); this module validates, clamps and returns a frozen snapshot.
// A bad value never throws: it falls back (or is clamped) and a note says what happened, for the log.
import * as z from 'zod';

/** One remote or local engine endpoint, optionally with the hardware it runs on (a LAN box ≠ this laptop). */
export interface EndpointSetting {
  url: string;
  /** Hardware profile id for the machine behind this endpoint. */
  hardwareProfile?: string;
}

/** A resident agent stack (the planner's `Stack`): plain data, saved in settings. */
export interface StackSetting {
  name: string;
  members: { role?: 'orchestrator' | 'coder' | 'tool' | 'embedding' | 'reranker' | 'other'; model: string; quant?: string; ctx: number; parallel?: number; kvType?: 'f16' | 'q8_0' | 'q4_0' | 'bf16' | 'f32' | 'q4_1' | 'q5_0' | 'q5_1' | 'iq4_nl' }[];
}

export type StatusBarFormat = 'memory-and-speed' | 'memory' | 'speed' | 'icon';

export interface HeadroomConfig {
  endpoints: EndpointSetting[];
  autoDetect: boolean;
  /** Profile id, or 'auto' (detect this machine, else the default profile). */
  hardwareProfile: string;
  /** Capacity override in GB; 0 = use the profile's capacity. */
  capacityGB: number;
  pollIntervalSeconds: number;
  warnings: {
    enabled: boolean;
    /** Warn when the prompt has used this share of the configured window. */
    contextFraction: number;
    /** Warn when loaded models (+ the KV the agent will need) reach this share of usable memory. */
    memoryFraction: number;
    /** Warn when fewer turns than this are left before truncation or OOM. */
    turnsLeft: number;
  };
  proxy: { enabled: boolean; port: number; target: string; guard: 'off' | 'warn' | 'refuse' };
  statusBar: { format: StatusBarFormat };
  stacks: StackSetting[];
}

const FORMATS = ['memory-and-speed', 'memory', 'speed', 'icon'] as const;

const stackItem = z.object({
  name: z.string().trim().min(1).max(100),
  members: z
    .array(
      z.object({
        role: z.enum(['orchestrator', 'coder', 'tool', 'embedding', 'reranker', 'other']).optional(),
        model: z.string().trim().min(1).max(300),
        quant: z.string().trim().min(1).max(40).optional(),
        ctx: z.number().int().min(256).max(16 * 1024 * 1024),
        parallel: z.number().int().min(1).max(64).optional(),
        kvType: z.enum(['f16', 'q8_0', 'q4_0', 'bf16', 'f32', 'q4_1', 'q5_0', 'q5_1', 'iq4_nl']).optional(),
      }),
    )
    .min(1)
    .max(16),
});

const httpUrl = z
  .string()
  .trim()
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
    } catch {
      return false;
    }
  }, 'not an http(s) URL');

const endpointItem = z.union([
  httpUrl.transform((url): EndpointSetting => ({ url })),
  z.object({ url: httpUrl, hardwareProfile: z.string().min(1).max(100).optional() }).transform((e): EndpointSetting => e),
]);

/** A numeric setting: its default (must equal package.json's) and the range it is clamped to. */
interface NumSpec {
  default: number;
  min: number;
  max: number;
  integer?: boolean;
}

/**
 * Every `headroom.*` setting, keyed as in package.json minus the prefix. The drift test checks these keys and
 * defaults against `contributes.configuration.properties`, so the two cannot silently disagree.
 */
export const SETTINGS = {
  endpoints: { schema: z.array(z.unknown()).max(64), default: [] as unknown[] },
  autoDetect: { schema: z.boolean(), default: true },
  hardwareProfile: { schema: z.string().trim().min(1).max(100), default: 'auto' },
  capacityGB: { num: { default: 0, min: 0, max: 16384 } satisfies NumSpec },
  pollIntervalSeconds: { num: { default: 5, min: 1, max: 3600 } satisfies NumSpec },
  'warnings.enabled': { schema: z.boolean(), default: true },
  'warnings.contextFraction': { num: { default: 0.85, min: 0.5, max: 0.99 } satisfies NumSpec },
  'warnings.memoryFraction': { num: { default: 0.9, min: 0.5, max: 1 } satisfies NumSpec },
  'warnings.turnsLeft': { num: { default: 3, min: 0, max: 100, integer: true } satisfies NumSpec },
  'proxy.enabled': { schema: z.boolean(), default: false },
  'proxy.port': { num: { default: 11435, min: 1024, max: 65535, integer: true } satisfies NumSpec },
  'proxy.target': { schema: httpUrl, default: 'http://127.0.0.1:11434' },
  'proxy.guard': { schema: z.enum(['off', 'warn', 'refuse']), default: 'warn' as 'off' | 'warn' | 'refuse' },
  'statusBar.format': { schema: z.enum(FORMATS), default: 'memory-and-speed' as StatusBarFormat },
  stacks: { schema: z.array(z.unknown()).max(32), default: [] as unknown[] },
} as const;

export type SettingKey = keyof typeof SETTINGS;
export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

/** The default of a setting as this module knows it (package.json must agree: see test/views/config.test.ts). */
export function settingDefault(key: SettingKey): unknown {
  const s = SETTINGS[key];
  return 'num' in s ? s.num.default : s.default;
}

export interface ParsedConfig {
  config: HeadroomConfig;
  /** Human-readable notes about values that were clamped or ignored (one per problem), for the log. */
  notes: string[];
}

function readNumber(key: SettingKey, spec: NumSpec, raw: unknown, notes: string[]): number {
  if (raw === undefined || raw === null) return spec.default;
  const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof n !== 'number' || Number.isNaN(n)) {
    notes.push(`headroom.${key}: ${JSON.stringify(raw)} is not a number; using ${spec.default}`);
    return spec.default;
  }
  let v = spec.integer && Number.isFinite(n) ? Math.round(n) : n;
  if (v < spec.min || v > spec.max) {
    const clamped = Math.min(spec.max, Math.max(spec.min, v));
    notes.push(`headroom.${key}: ${n} is outside ${spec.min}…${spec.max}; using ${clamped}`);
    v = clamped;
  }
  return v;
}

function readValue<T>(key: SettingKey, schema: z.ZodType<T>, fallback: T, raw: unknown, notes: string[]): T {
  if (raw === undefined) return fallback;
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  notes.push(`headroom.${key}: ${JSON.stringify(raw)?.slice(0, 120)} is invalid (${r.error.issues[0]?.message ?? 'bad value'}); using ${JSON.stringify(fallback)}`);
  return fallback;
}

function readStacks(raw: unknown, notes: string[]): StackSetting[] {
  const list = readValue('stacks', SETTINGS.stacks.schema, [], raw, notes);
  const out: StackSetting[] = [];
  for (const item of list) {
    const r = stackItem.safeParse(item);
    if (r.success) out.push(r.data as StackSetting);
    else notes.push(`headroom.stacks: ignoring ${JSON.stringify(item)?.slice(0, 120)} (${r.error.issues[0]?.path.join('.') || 'stack'}: ${r.error.issues[0]?.message ?? 'invalid'})`);
  }
  return out;
}

function readEndpoints(raw: unknown, notes: string[]): EndpointSetting[] {
  const list = readValue('endpoints', SETTINGS.endpoints.schema, [], raw, notes);
  const out: EndpointSetting[] = [];
  const seen = new Set<string>();
  for (const item of list) {
    const r = endpointItem.safeParse(item);
    if (!r.success) {
      notes.push(`headroom.endpoints: ignoring ${JSON.stringify(item)?.slice(0, 120)} (${r.error.issues[0]?.message ?? 'invalid'})`);
      continue;
    }
    const url = r.data.url.replace(/\/+$/, '');
    if (seen.has(url)) continue;
    seen.add(url);
    out.push({ ...r.data, url });
  }
  return out;
}

/** Validates raw `headroom.*` values (keys without the prefix) into a typed, frozen snapshot. Never throws. */
export function parseConfig(raw: Partial<Record<SettingKey, unknown>>): ParsedConfig {
  const notes: string[] = [];
  const num = (k: SettingKey & keyof typeof SETTINGS): number => {
    const s = SETTINGS[k];
    if (!('num' in s)) throw new Error(`${k} is not numeric`);
    return readNumber(k, s.num, raw[k], notes);
  };
  const config: HeadroomConfig = {
    endpoints: readEndpoints(raw.endpoints, notes),
    autoDetect: readValue('autoDetect', SETTINGS.autoDetect.schema, SETTINGS.autoDetect.default, raw.autoDetect, notes),
    hardwareProfile: readValue('hardwareProfile', SETTINGS.hardwareProfile.schema, SETTINGS.hardwareProfile.default, raw.hardwareProfile, notes),
    capacityGB: num('capacityGB'),
    pollIntervalSeconds: num('pollIntervalSeconds'),
    warnings: {
      enabled: readValue('warnings.enabled', SETTINGS['warnings.enabled'].schema, true, raw['warnings.enabled'], notes),
      contextFraction: num('warnings.contextFraction'),
      memoryFraction: num('warnings.memoryFraction'),
      turnsLeft: num('warnings.turnsLeft'),
    },
    proxy: {
      enabled: readValue('proxy.enabled', SETTINGS['proxy.enabled'].schema, false, raw['proxy.enabled'], notes),
      port: num('proxy.port'),
      target: readValue('proxy.target', SETTINGS['proxy.target'].schema, SETTINGS['proxy.target'].default, raw['proxy.target'], notes).replace(/\/+$/, ''),
      guard: readValue('proxy.guard', SETTINGS['proxy.guard'].schema, SETTINGS['proxy.guard'].default, raw['proxy.guard'], notes),
    },
    statusBar: {
      format: readValue('statusBar.format', SETTINGS['statusBar.format'].schema, SETTINGS['statusBar.format'].default, raw['statusBar.format'], notes),
    },
    stacks: readStacks(raw.stacks, notes),
  };
  return { config: deepFreeze(config), notes };
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/**
 * Holds the current snapshot and re-reads it when told the settings changed. The extension wires
 * `read` to `workspace.getConfiguration('headroom')` and `reload` to `onDidChangeConfiguration`.
 */
export class ConfigStore {
  private current: HeadroomConfig;
  private readonly listeners = new Set<(c: HeadroomConfig) => void>();

  constructor(
    private readonly read: () => Partial<Record<SettingKey, unknown>>,
    private readonly log: (note: string) => void,
  ) {
    this.current = this.load();
  }

  get value(): HeadroomConfig {
    return this.current;
  }

  /** Re-reads the settings and notifies listeners. */
  reload(): void {
    this.current = this.load();
    for (const l of this.listeners) l(this.current);
  }

  onDidChange(listener: (c: HeadroomConfig) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  private load(): HeadroomConfig {
    let raw: Partial<Record<SettingKey, unknown>>;
    try {
      raw = this.read();
    } catch (err) {
      this.log(`could not read settings (${err instanceof Error ? err.message : String(err)}); using defaults`);
      raw = {};
    }
    const { config, notes } = parseConfig(raw);
    for (const n of notes) this.log(n);
    return config;
  }
}
