// Property tests: whatever JSON (or non-JSON) an engine sends at any path, probes resolve (to a result
// or undefined) and snapshots either succeed or reject with a ProviderError — never a TypeError or a hang.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PROVIDERS } from '../../src/providers/detect';
import { ProviderError } from '../../src/providers/errors';
import { parseEndpoint, EndpointSyntaxError } from '../../src/providers/endpoints';
import { parsePrometheus } from '../../src/providers/prometheus';
import type { RawResponse } from '../../src/providers/http';
import type { ProviderContext } from '../../src/providers/types';

/** A context whose every GET/POST answers from `pick(path)`; no network involved. */
function fakeContext(pick: (path: string) => RawResponse): ProviderContext {
  return {
    http: { timeoutMs: 1000, maxBytes: 1 << 20 },
    get: async (_e, path) => pick(path),
    post: async (_e, path) => pick(path),
  };
}

const body = fc.oneof(
  fc.json(),
  fc.jsonValue().map((v) => JSON.stringify({ models: [v], data: [v], default_generation_settings: v, total_slots: v, version: v, result: 'KoboldCpp', software: v, value: v })),
  fc.string(),
);
const response = fc.record({
  status: fc.constantFrom(200, 200, 200, 401, 404, 500, 501),
  server: fc.constantFrom(undefined, 'llama.cpp', 'BaseHTTP/0.6 Python/3.12'),
  body,
});

test('providers never throw anything but ProviderError on arbitrary answers', async () => {
  await fc.assert(
    fc.asyncProperty(fc.dictionary(fc.constantFrom('/v1/models', '/api/version', '/api/ps', '/props', '/slots', '/api/extra/version', '/.well-known/serviceinfo', '/get_model_info', '/api/v1/models', '/api/v0/models', '/health', '/metrics', '/api/show', '/v1/model', '/api/v1/model', '/.well-known/localai.json', '/version'), response), response, async (routes, fallback) => {
      const ctx = fakeContext((path) => {
        const r = (routes as Record<string, typeof fallback>)[path] ?? fallback;
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (r.server) headers['server'] = r.server;
        return { status: r.status, headers, body: r.body };
      });
      for (const p of PROVIDERS) {
        await p.probe('http://127.0.0.1:1337', ctx); // resolves, never rejects
        try {
          const snap = await p.snapshot('http://127.0.0.1:1337', ctx);
          assert.ok(Array.isArray(snap.models) && Array.isArray(snap.loaded));
          JSON.stringify(snap);
        } catch (err) {
          assert.ok(err instanceof ProviderError, `${p.kind}: ${(err as Error)?.stack}`);
        }
      }
    }),
    { numRuns: 150 },
  );
});

test('parseEndpoint: a config or a typed EndpointSyntaxError, for any string', () => {
  fc.assert(
    fc.property(fc.string(), (s) => {
      try {
        const e = parseEndpoint(s, 'option');
        assert.match(e.url, /^https?:\/\/[^/]/);
      } catch (err) {
        assert.ok(err instanceof EndpointSyntaxError);
      }
    }),
    { numRuns: 2000 },
  );
});

test('parsePrometheus never throws and only yields named samples', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 400 }), (s) => {
      const p = parsePrometheus(s);
      for (const x of p.samples) assert.match(x.name, /^[A-Za-z_:][A-Za-z0-9_:]*$/);
    }),
    { numRuns: 2000 },
  );
});
