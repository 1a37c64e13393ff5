// A real HTTP server on 127.0.0.1 (random port) that replays the recorded engine responses in
// test/fixtures/engines/<engine>/ at the paths the engines serve them, with the recorded status and
// headers where they were captured (llama.cpp's response_headers.txt).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { DATA } from './data';

export const FIXTURES = process.env.HEADROOM_FIXTURES ?? `${DATA}/engines`;

export type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body: string;
}

/** `METHOD /path` → reply or handler. Unlisted paths get `notFound`. */
export type Routes = Record<string, Reply | Handler>;

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** `METHOD /path` of every request received, in order. */
  requests: string[];
  close(): Promise<void>;
}

/** Starts a server for the given routes; closes hard (destroys sockets) so hanging tests never leak. */
export async function startServer(routes: Routes, notFound: Reply | Handler = { status: 404, body: '{"error":"not found"}' }, port = 0): Promise<TestServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0];
      const key = `${req.method} ${path}`;
      requests.push(key);
      const route = routes[key] ?? notFound;
      if (typeof route === 'function') return route(req, res, Buffer.concat(chunks).toString('utf8'));
      res.writeHead(route.status ?? 200, { 'content-type': 'application/json', ...route.headers });
      res.end(route.body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function file(engine: string, name: string): string {
  return readFileSync(join(FIXTURES, engine, name), 'utf8');
}

/** Parses llama.cpp's response_headers.txt: `### <file>` then a status line and headers. */
export function recordedHeaders(engine = 'llama.cpp'): Map<string, { status: number; headers: Record<string, string> }> {
  const out = new Map<string, { status: number; headers: Record<string, string> }>();
  const text = file(engine, 'response_headers.txt');
  for (const section of text.split(/^### /m).slice(1)) {
    const [name, statusLine, ...lines] = section.split('\n').map((l) => l.replace(/\r$/, ''));
    const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(statusLine ?? '')?.[1]);
    const headers: Record<string, string> = {};
    for (const l of lines) {
      const i = l.indexOf(':');
      if (i <= 0) continue;
      const k = l.slice(0, i).trim();
      // Framing headers are re-derived by node for the body we send.
      if (/^(content-length|transfer-encoding|keep-alive|connection)$/i.test(k)) continue;
      headers[k] = l.slice(i + 1).trim();
    }
    out.set(name!.trim(), { status, headers });
  }
  return out;
}

function llamaCppRoutes(variant: string): { routes: Routes; notFound: Reply } {
  const rec = recordedHeaders();
  const reply = (name: string): Reply => {
    const h = rec.get(name);
    if (!h) throw new Error(`no recorded headers for ${name}`);
    return { status: h.status, headers: h.headers, body: file('llama.cpp', name) };
  };
  const defaultFlags = variant === 'default-flags';
  const slots = defaultFlags ? 'slots_disabled_501.json' : variant === 'busy' ? 'slots_busy.json' : variant === 'after' ? 'slots_after.json' : 'slots_idle.json';
  const health = variant === 'loading' ? 'health_loading_503.json' : 'health.json';
  return {
    routes: {
      'GET /health': reply(health),
      'GET /v1/health': reply(health),
      'GET /props': reply(defaultFlags ? 'props_default_flags.json' : 'props.json'),
      'GET /slots': reply(slots),
      'GET /v1/models': reply('v1_models.json'),
      'GET /models': reply('models.json'),
      'GET /metrics': reply(defaultFlags ? 'metrics_disabled_501.json' : variant === 'busy' ? 'metrics_busy.txt' : 'metrics.txt'),
    },
    notFound: reply('error_404.json'),
  };
}

const json = (engine: string, name: string, status = 200, headers: Record<string, string> = {}): Reply => ({ status, headers, body: file(engine, name) });

/**
 * Route tables per engine. Only paths with a fixture file are served; everything else is a 404 in
 * the engine's style. Non-llama.cpp headers were not recorded: JSON content type only, plus the
 * `Server` header API.md documents where it is the fingerprint (MLX-LM's Python BaseHTTP).
 */
export function engineRoutes(engine: string, variant = ''): { routes: Routes; notFound: Reply } {
  const fastapi404: Reply = { status: 404, body: '{"detail":"Not Found"}' };
  switch (engine) {
    case 'llama.cpp':
      return llamaCppRoutes(variant);
    case 'ollama':
      return {
        routes: {
          'GET /': { headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'Ollama is running' },
          'GET /api/version': json('ollama', 'api_version.json'),
          'GET /api/ps': json('ollama', 'api_ps.json'),
          'GET /api/tags': json('ollama', 'api_tags.json'),
          'GET /v1/models': json('ollama', 'v1_models.json'),
          // The openapi example describes gemma4; the docs/api.md example a llama model.
          'POST /api/show': (_req, res, body) => {
            let model = '';
            try {
              model = String((JSON.parse(body) as { model?: unknown }).model ?? '');
            } catch {
              /* fall through to 400 */
            }
            if (!model) {
              res.writeHead(400, { 'content-type': 'application/json' });
              return res.end('{"error":"model is required"}');
            }
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(file('ollama', model.startsWith('gemma4') ? 'api_show.json' : 'api_show_llama.json'));
          },
        },
        notFound: { status: 404, headers: { 'content-type': 'text/plain' }, body: '404 page not found' },
      };
    case 'localai':
      return {
        routes: {
          'GET /api/version': json('localai', 'api_version_ollama_compat.json'),
          'GET /version': json('localai', 'version.json'),
          'GET /system': json('localai', 'system.json'),
          'GET /.well-known/localai.json': json('localai', 'well_known_localai_partial.json'),
        },
        notFound: { status: 404, body: '{"error":{"code":404,"message":"Not Found"}}' },
      };
    case 'tabbyapi':
      return {
        routes: {
          'GET /.well-known/serviceinfo': json('tabbyapi', 'well_known_serviceinfo.json'),
          'GET /health': json('tabbyapi', 'health.json'),
          'GET /v1/model': json('tabbyapi', 'v1_model.json'),
          'GET /props': json('tabbyapi', 'props.json'),
          'GET /api/extra/version': json('tabbyapi', 'api_extra_version.json'),
          'GET /api/v1/model': json('tabbyapi', 'api_v1_model.json'),
        },
        notFound: fastapi404,
      };
    case 'koboldcpp':
      return {
        routes: {
          'GET /api/extra/version': json('koboldcpp', 'api_extra_version.json'),
          'GET /api/extra/perf': json('koboldcpp', 'api_extra_perf.json'),
          'GET /api/extra/true_max_context_length': json('koboldcpp', 'api_extra_true_max_context_length.json'),
          'GET /api/v1/config/max_context_length': json('koboldcpp', 'api_v1_config_max_context_length.json'),
          'GET /api/v1/model': json('koboldcpp', 'api_v1_model.json'),
          'GET /v1/models': json('koboldcpp', 'v1_models.json'),
          'GET /api/tags': json('koboldcpp', 'api_tags.json'),
        },
        notFound: { status: 404, body: '{"detail":"Not Found"}' },
      };
    case 'lmstudio': {
      const v0 = variant === 'v0-loaded' || variant === 'v0-only-loaded' ? 'api_v0_models_loaded.json' : 'api_v0_models.json';
      const routes: Routes = {
        'GET /api/v0/models': json('lmstudio', v0),
        'GET /v1/models': json('lmstudio', 'v1_models.json'),
      };
      if (!variant.startsWith('v0-only')) routes['GET /api/v1/models'] = json('lmstudio', 'api_v1_models.json');
      // Unknown paths: a 200 carrying an error object (third-party reports of LM Studio; unverified).
      // Kept because it is the harshest case for probes: every miss looks like a success.
      return { routes, notFound: { status: 200, body: '{"error":"Unexpected endpoint or method. (GET /x)"}' } };
    }
    case 'vllm':
      return {
        routes: {
          'GET /v1/models': json('vllm', 'v1_models.json'),
          'GET /version': json('vllm', 'version.json'),
          'GET /metrics': { headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }, body: file('vllm', 'metrics.prom') },
          'GET /health': { headers: { 'content-type': 'text/plain' }, body: '' },
        },
        notFound: fastapi404,
      };
    case 'sglang':
      return {
        routes: {
          'GET /get_model_info': json('sglang', 'get_model_info.json'),
          'GET /model_info': json('sglang', 'get_model_info.json'),
          'GET /get_server_info': json('sglang', 'get_server_info.json'),
          'GET /server_info': json('sglang', 'get_server_info.json'),
          'GET /v1/models': json('sglang', 'v1_models.json'),
          'GET /metrics': { headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }, body: file('sglang', 'metrics.prom') },
          'GET /health': { headers: { 'content-type': 'text/plain' }, body: '' },
        },
        notFound: fastapi404,
      };
    case 'mlx-lm': {
      const server = { server: 'BaseHTTP/0.6 Python/3.12.8' };
      return {
        routes: {
          'GET /health': json('mlx-lm', 'health.json', 200, server),
          'GET /v1/models': json('mlx-lm', 'v1_models.json', 200, server),
        },
        notFound: { status: 404, headers: server, body: '' },
      };
    }
    case 'exo':
      return {
        routes: { 'GET /v1/models': json('exo', 'v1_models.json'), 'GET /models': json('exo', 'v1_models.json') },
        notFound: fastapi404,
      };
    case 'jan': {
      const key = variant.startsWith('key=') ? variant.slice(4) : undefined;
      return {
        routes: {
          'GET /v1/models': (req, res) => {
            if (key && req.headers.authorization !== `Bearer ${key}`) {
              res.writeHead(401, { 'content-type': 'application/json' });
              return res.end('{"message":"Unauthorized"}');
            }
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(file('jan', 'v1_models.json'));
          },
        },
        notFound: { status: 404, body: '{"message":"Not Found"}' },
      };
    }
    default:
      throw new Error(`no fixtures for engine '${engine}'`);
  }
}

/** Replays one engine's fixtures. `variant`: llama.cpp `busy`|`after`|`default-flags`|`loading`; lmstudio `v0-only`|`v0-loaded`; jan `key=<k>`. */
export async function startFixtureServer(engine: string, variant = '', port = 0): Promise<TestServer> {
  const { routes, notFound } = engineRoutes(engine, variant);
  return startServer(routes, notFound, port);
}
