// Endpoint parsing and the env/option merge that decides what detection probes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PORTS, EndpointSyntaxError, defaultEndpoints, endpointsFromEnv, mergeEndpoints, parseEndpoint } from '../../src/providers/endpoints';

test('parseEndpoint normalises the forms users paste', () => {
  assert.equal(parseEndpoint('127.0.0.1:8080', 'option').url, 'http://127.0.0.1:8080');
  assert.equal(parseEndpoint(':9931', 'option').url, 'http://127.0.0.1:9931');
  assert.equal(parseEndpoint('http://localhost:1234/v1/', 'option').url, 'http://localhost:1234');
  assert.equal(parseEndpoint('https://box.lan/ollama', 'option').url, 'https://box.lan/ollama');
  assert.equal(parseEndpoint('0.0.0.0', 'env', 11434).url, 'http://127.0.0.1:11434');
  assert.equal(parseEndpoint('http://[::1]:8080', 'option').url, 'http://[::1]:8080');
  assert.equal(parseEndpoint('http://host:80', 'env', 11434).url, 'http://host', 'an explicit :80 is kept, not replaced by the default port');
  assert.deepEqual(parseEndpoint('http://10.0.0.5:11434#mac-studio-m2-ultra-192', 'option'), {
    url: 'http://10.0.0.5:11434',
    source: 'option',
    hardware: 'mac-studio-m2-ultra-192',
  });
});

test('parseEndpoint rejects what it cannot probe, with the input in the message', () => {
  for (const bad of ['', 'ftp://x:21', 'http://user:pw@x:1', 'http://exa mple:80', 'http://x:99999']) {
    assert.throws(() => parseEndpoint(bad, 'option'), (e: unknown) => e instanceof EndpointSyntaxError && e.message.includes(bad === '' ? 'empty' : bad));
  }
});

test('environment: HEADROOM_ENDPOINTS list, OLLAMA_HOST with its default port, llama-server vars, API key', () => {
  const { endpoints, errors } = endpointsFromEnv({
    HEADROOM_ENDPOINTS: 'http://10.0.0.7:8080#dgx-spark, :9000,,bad url',
    OLLAMA_HOST: '0.0.0.0',
    LLAMA_ARG_PORT: '8181',
    HEADROOM_API_KEY: 'k',
  });
  assert.deepEqual(
    endpoints.map((e) => [e.url, e.hardware, e.apiKey]),
    [
      ['http://10.0.0.7:8080', 'dgx-spark', 'k'],
      ['http://127.0.0.1:9000', undefined, 'k'],
      ['http://127.0.0.1:11434', undefined, 'k'],
      ['http://127.0.0.1:8181', undefined, 'k'],
    ],
  );
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /HEADROOM_ENDPOINTS: invalid endpoint 'bad url'/);
});

test('defaults cover every engine port once; merge de-duplicates and keeps the most explicit source', () => {
  const ports = defaultEndpoints().map((e) => Number(new URL(e.url).port));
  assert.deepEqual(ports.sort((a, b) => a - b), [1234, 1337, 5000, 5001, 8000, 8080, 9931, 11434, 30000, 52415]);
  assert.equal(DEFAULT_PORTS.find((p) => p.port === 8080)?.engines.length, 3);
  const merged = mergeEndpoints(defaultEndpoints(), [parseEndpoint('127.0.0.1:11434#rtx-4090', 'option')]);
  assert.equal(merged.length, 10);
  assert.deepEqual(merged.find((e) => e.url.endsWith(':11434')), { url: 'http://127.0.0.1:11434', source: 'option', hardware: 'rtx-4090', apiKey: undefined });
});
