// `headroom detect`: which local engines are running, their version and loaded models.
// Probes every engine's default loopback port plus --endpoint / HEADROOM_ENDPOINTS / OLLAMA_HOST.
import { parseFlags, intFlag } from './args';
import { CliError } from './errors';
import { renderTable } from './table';
import { detect, type Detection } from '../providers/detect';
import { defaultEndpoints, endpointsFromEnv, EndpointSyntaxError, mergeEndpoints, parseEndpoint, type EndpointConfig } from '../providers/endpoints';
import { formatTokens } from '../estimator/format';

export const DETECT_USAGE = `usage: headroom detect [--endpoint URL ...] [--json]

  --endpoint URL    also probe this endpoint (repeatable); URL#hardware-id names the machine it runs on
  --no-defaults     probe only the given endpoints, not every engine's default port
  --timeout MS      per-request probe deadline (default 1200)
  --json            machine-readable: [{endpoint, engine, version, models: [{name, loaded, contextLength, quant}]}]

Also read: HEADROOM_ENDPOINTS (comma-separated), OLLAMA_HOST, LLAMA_ARG_HOST/LLAMA_ARG_PORT, HEADROOM_API_KEY.`;

/** Endpoints to probe: defaults (unless disabled), environment, then flags (most explicit wins). */
export function gatherEndpoints(flagValues: string[], env: Record<string, string | undefined>, includeDefaults: boolean): { endpoints: EndpointConfig[]; warnings: string[] } {
  const fromEnv = endpointsFromEnv(env);
  const key = env.HEADROOM_API_KEY?.trim();
  const fromFlags = flagValues.map((raw) => {
    try {
      return { ...parseEndpoint(raw, 'option'), ...(key ? { apiKey: key } : {}) };
    } catch (err) {
      if (err instanceof EndpointSyntaxError) throw new CliError(`--endpoint: ${err.message}`);
      throw err;
    }
  });
  const endpoints = mergeEndpoints(includeDefaults ? defaultEndpoints() : [], fromEnv.endpoints, fromFlags);
  return { endpoints, warnings: fromEnv.errors };
}

export interface DetectJson {
  endpoint: string;
  engine: string;
  version: string | null;
  models: { name: string; loaded: boolean; contextLength: number | null; quant: string | null }[];
}

export function toJson(d: Detection): DetectJson {
  const models = d.snapshot?.models ?? [];
  return {
    endpoint: d.endpoint,
    engine: d.engine!,
    version: d.version ?? null,
    models: models.map((m) => ({ name: m.name, loaded: m.loaded, contextLength: m.contextLength ?? null, quant: m.quant ?? null })),
  };
}

/** Found engines, plus the endpoints the user named explicitly that did not answer as one. */
export function reportable(found: Detection[]): { hits: Detection[]; misses: Detection[] } {
  return {
    hits: found.filter((d) => d.engine),
    misses: found.filter((d) => !d.engine && d.source !== 'default'),
  };
}

function describeMiss(d: Detection): string {
  return `${d.endpoint}: ${d.error ? `${d.error.kind}${d.error.path ? ` ${d.error.path}` : ''}: ${d.error.message}` : 'no engine found'}`;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    endpoint: { type: 'string', multiple: true },
    'no-defaults': { type: 'boolean' },
    timeout: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(DETECT_USAGE + '\n');
    return 0;
  }
  const timeout = intFlag('timeout', values.timeout, 1200, 50, 60_000);
  const { endpoints, warnings } = gatherEndpoints(values.endpoint ?? [], process.env, !values['no-defaults']);
  for (const w of warnings) process.stderr.write(`headroom: ${w}\n`);
  if (endpoints.length === 0) throw new CliError('nothing to probe: give --endpoint or drop --no-defaults');
  const found = await detect(endpoints, { probeTimeoutMs: timeout, snapshotTimeoutMs: Math.max(timeout, 4000) });
  const { hits, misses } = reportable(found);
  for (const m of misses) process.stderr.write(`headroom: ${describeMiss(m)}\n`);

  if (values.json) {
    process.stdout.write(JSON.stringify(hits.map(toJson), null, 2) + '\n');
    return misses.length ? 1 : 0;
  }
  if (hits.length === 0) {
    process.stdout.write(`No engine found on ${endpoints.length} endpoint(s) (${endpoints.map((e) => new URL(e.url).port || e.url).join(', ')}).\n`);
    return misses.length ? 1 : 0;
  }
  const rows = hits.map((d) => {
    const loaded = d.snapshot?.loaded ?? [];
    const desc = loaded.length
      ? loaded.map((m) => [m.name, m.quant && (m.quant.source === 'engine' ? m.quant.value : `${m.quant.value} (est.)`), m.contextPerSlot ? `${formatTokens(m.contextPerSlot.value)} ctx${m.parallel && m.parallel.value > 1 ? ` × ${m.parallel.value}` : ''}` : undefined].filter(Boolean).join(' ')).join('; ')
      : d.snapshot
        ? `none loaded (${d.snapshot.models.length} available)`
        : `error: ${d.error?.message ?? 'no snapshot'}`;
    return [d.endpoint, d.engine!, d.version ?? '—', desc];
  });
  process.stdout.write(renderTable([{ header: 'endpoint' }, { header: 'engine' }, { header: 'version' }, { header: 'loaded' }], rows) + '\n');
  for (const d of hits) for (const n of d.snapshot?.notes ?? []) process.stdout.write(`  note (${d.endpoint}): ${n}\n`);
  return misses.length ? 1 : 0;
}
