// Resolving what users type — HF repo ids, Ollama tags, LM Studio / GGUF file names — to a catalog model (+ quant).
import { catalogModels, type CatalogModel } from './catalog';

export interface ResolvedName {
  model: CatalogModel;
  /** Quant named inside the input (`...-Q4_K_M.gguf`, `qwen3:30b-a3b-q8_0`), normalised, if any. */
  quant?: string;
  /** How it matched: useful in messages ("matched Ollama tag"). */
  via: 'id' | 'alias' | 'name';
}

export class UnknownModelError extends Error {
  constructor(
    readonly input: string,
    readonly suggestions: string[],
  ) {
    super(`unknown model '${input}'${suggestions.length ? ` — did you mean: ${suggestions.join(', ')}?` : ' (try `headroom models` for the catalog)'}`);
    this.name = 'UnknownModelError';
  }
}

// Quant tokens as they appear in file names and tags: GGUF types (Q4_K_M, IQ4_XS, Q8_0, TQ1_0, F16, BF16, MXFP4),
// Unsloth's UD- prefixed dynamic quants, and MLX / GPTQ / AWQ / FP8 labels.
const QUANT_RE =
  /(?:^|[-_.: /])((?:ud-)?(?:i?q[1-8](?:_[a-z0-9]{1,2}){0,2}|tq[12]_0|mxfp4(?:_moe)?|bf16|fp16|f16|f32|fp8|int8|int4|awq|gptq|[3-8]-?bit))(?=$|[-_.: /])/i;

/** Pull a quant label out of a name; returns the label (upper-cased GGUF style) and the name without it. */
export function extractQuant(name: string): { quant?: string; rest: string } {
  const m = QUANT_RE.exec(name);
  if (!m) return { rest: name };
  let q = m[1]!.toUpperCase().replace(/^UD-/, '');
  const rest = (name.slice(0, m.index) + name.slice(m.index + m[0].length)).replace(/[-_.: ]+$/, '');
  if (/^[3-8]-?BIT$/.test(q)) q = `MLX-${q.replace('-', '').replace('BIT', 'bit')}`;
  if (q === 'FP16') q = 'F16';
  if (q === 'MXFP4_MOE') q = 'MXFP4';
  return { quant: q, rest };
}

// Tokens that say nothing about which model it is.
const NOISE = new Set(['meta', 'instruct', 'it', 'gguf', 'chat', 'hf', 'latest', 'mlx', 'community', 'lmstudio', 'unsloth', 'bartowski', 'ggml', 'org', 'models']);

/** Canonical key: lower-case alphanumerics of the meaningful tokens, org prefix dropped. */
export function nameKey(name: string): string {
  const base = name.trim().toLowerCase().replace(/\\/g, '/').split('/').pop() ?? '';
  return base
    .replace(/\.gguf$/, '')
    .replace(/-\d{5}-of-\d{5}$/, '') // split GGUF shards
    .split(/[^a-z0-9]+/)
    .filter((t) => t && !NOISE.has(t))
    .join('');
}

function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

interface Index {
  byId: Map<string, CatalogModel>;
  byAlias: Map<string, CatalogModel>;
  byKey: Map<string, CatalogModel[]>;
}

let index: Index | undefined;
function getIndex(): Index {
  if (index) return index;
  const byId = new Map<string, CatalogModel>();
  const byAlias = new Map<string, CatalogModel>();
  const byKey = new Map<string, CatalogModel[]>();
  const addKey = (k: string, m: CatalogModel) => {
    if (!k) return;
    const list = byKey.get(k) ?? [];
    if (!list.includes(m)) list.push(m);
    byKey.set(k, list);
  };
  for (const m of catalogModels()) {
    byId.set(m.id.toLowerCase(), m);
    addKey(nameKey(m.id), m);
    for (const a of m.aliases) {
      byAlias.set(a.toLowerCase(), m);
      addKey(nameKey(a), m);
    }
  }
  index = { byId, byAlias, byKey };
  return index;
}

/** Close matches for an unknown name: by edit distance on the canonical key, ids and aliases. */
export function suggestNames(input: string, limit = 3): string[] {
  const key = nameKey(input);
  const scored: { label: string; d: number }[] = [];
  for (const m of catalogModels()) {
    const labels = [m.id, ...m.aliases];
    let best = Infinity;
    for (const l of labels) {
      const k = nameKey(l);
      const d = k.includes(key) || key.includes(k) ? Math.abs(k.length - key.length) * 0.25 : levenshtein(key, k);
      best = Math.min(best, d);
    }
    scored.push({ label: m.aliases[0] ? `${m.id} (${m.aliases[0]})` : m.id, d: best });
  }
  const cutoff = Math.max(3, Math.ceil(key.length / 3));
  return scored
    .filter((s) => s.d <= cutoff)
    .sort((a, b) => a.d - b.d || a.label.localeCompare(b.label))
    .slice(0, limit)
    .map((s) => s.label);
}

/**
 * Resolve a model name. Order: exact HF id → alias / Ollama tag → canonical key (file names, spelling variants),
 * each tried with and without a quant token. Throws UnknownModelError with close matches.
 */
export function resolveModelName(input: string): ResolvedName {
  const raw = input.trim();
  if (!raw) throw new UnknownModelError(input, []);
  const idx = getIndex();
  const lower = raw.toLowerCase();
  const byId = idx.byId.get(lower);
  if (byId) return { model: byId, via: 'id' };
  const alias = idx.byAlias.get(lower);
  if (alias) return { model: alias, via: 'alias' };

  const base = lower.replace(/\\/g, '/').split('/').pop()!.replace(/\.gguf$/, '').replace(/-\d{5}-of-\d{5}$/, '');
  const { quant, rest } = extractQuant(base);
  const q = quant ? { quant } : {};
  for (const candidate of [rest, base]) {
    const a = idx.byAlias.get(candidate);
    if (a) return { model: a, via: 'alias', ...q };
    // Ollama tags like `qwen2.5-coder:32b-instruct`: drop noise after the size.
    const tag = /^([^:]+):([^-]+)/.exec(candidate);
    if (tag) {
      const short = idx.byAlias.get(`${tag[1]}:${tag[2]}`);
      if (short) return { model: short, via: 'alias', ...q };
    }
    const hits = idx.byKey.get(nameKey(candidate));
    if (hits && hits.length === 1) return { model: hits[0]!, via: 'name', ...q };
  }
  // Re-releases with the same architecture: `Qwen3-30B-A3B-Instruct-2507`, `-Thinking-2507`, `-0528`.
  const stripped = rest.replace(/([-_. ](thinking|\d{4}))+$/, '');
  if (stripped !== rest) {
    const hits = idx.byKey.get(nameKey(stripped));
    if (hits && hits.length === 1) return { model: hits[0]!, via: 'name', ...q };
  }
  throw new UnknownModelError(raw, suggestNames(rest || base));
}
