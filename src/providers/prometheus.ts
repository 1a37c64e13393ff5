// Parser for a complete Prometheus text exposition body (`GET /metrics` of llama.cpp, vLLM, SGLang).
// Pure: text in, samples out. Lines it cannot read are skipped and counted, never thrown.

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PromParse {
  samples: PromSample[];
  /** `# TYPE` declarations by metric family name. */
  types: Record<string, string>;
  /** Lines that were neither comments nor valid samples. */
  skipped: number;
}

const NAME = /^[A-Za-z_:][A-Za-z0-9_:]*/;

function parseValue(raw: string): number | undefined {
  switch (raw) {
    case '+Inf':
    case 'Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
    case 'NaN':
      return NaN;
  }
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw)) return undefined;
  return Number(raw);
}

/** Parses `{a="x",b="y\"z"}` starting at `i` (the `{`); returns labels and the index after `}`. */
function parseLabels(line: string, i: number): { labels: Record<string, string>; end: number } | undefined {
  const labels: Record<string, string> = {};
  i++;
  for (;;) {
    while (line[i] === ' ' || line[i] === ',') i++;
    if (line[i] === '}') return { labels, end: i + 1 };
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(line.slice(i));
    if (!m) return undefined;
    const key = m[0];
    i += key.length;
    while (line[i] === ' ') i++;
    if (line[i] !== '=' || line[i + 1] !== '"') return undefined;
    i += 2;
    let val = '';
    for (;;) {
      const c = line[i];
      if (c === undefined) return undefined;
      if (c === '"') break;
      if (c === '\\') {
        const n = line[i + 1];
        val += n === 'n' ? '\n' : (n ?? '');
        i += 2;
      } else {
        val += c;
        i++;
      }
    }
    labels[key] = val;
    i++;
  }
}

export function parsePrometheus(text: string): PromParse {
  const samples: PromSample[] = [];
  const types: Record<string, string> = {};
  let skipped = 0;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const t = /^#\s*TYPE\s+(\S+)\s+(\S+)/.exec(line);
      if (t) types[t[1]!] = t[2]!;
      continue;
    }
    const m = NAME.exec(line);
    if (!m) {
      skipped++;
      continue;
    }
    let i = m[0].length;
    let labels: Record<string, string> = {};
    if (line[i] === '{') {
      const parsed = parseLabels(line, i);
      if (!parsed) {
        skipped++;
        continue;
      }
      labels = parsed.labels;
      i = parsed.end;
    }
    // Value, then an optional timestamp we ignore.
    const value = parseValue(line.slice(i).trim().split(/\s+/)[0] ?? '');
    if (value === undefined) {
      skipped++;
      continue;
    }
    samples.push({ name: m[0], labels, value });
  }
  return { samples, types, skipped };
}

/** First sample of `name` whose labels include `match`; undefined when absent or not finite. */
export function metricValue(samples: PromSample[], name: string, match: Record<string, string> = {}): number | undefined {
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) return Number.isFinite(s.value) ? s.value : undefined;
  }
  return undefined;
}

/** Labels of the first sample of `name` (for info-style gauges such as vLLM `cache_config_info`). */
export function metricLabels(samples: PromSample[], name: string): Record<string, string> | undefined {
  return samples.find((s) => s.name === name)?.labels;
}
