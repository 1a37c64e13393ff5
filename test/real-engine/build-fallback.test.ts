// scripts/build-llama-server.mjs: the smoke test that decides whether a build runs here, and the builds it falls
// back to when one doesn't (a native build using AMX the kernel doesn't grant dies with SIGILL).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { llamaServerAvailable } from '../support/llama-server';

const script = import('../../scripts/build-llama-server.mjs');

test('fallback builds: native first, then the CPU\'s own extensions without AMX, then none', async () => {
  const { buildVariants } = await script;
  const amxVm = ['sse4_2', 'avx', 'avx2', 'fma', 'f16c', 'bmi2', 'avx512f', 'avx512_vnni', 'avx512_bf16', 'amx_tile', 'amx_int8', 'amx_bf16'];
  const v = buildVariants(amxVm, 'x64');
  assert.deepEqual(v.map((x) => x.name), ['native', 'no-amx', 'baseline']);
  assert.deepEqual(v[0]!.flags, ['-DGGML_NATIVE=ON']);
  for (const f of ['-DGGML_NATIVE=OFF', '-DGGML_AVX2=ON', '-DGGML_AVX512=ON', '-DGGML_AVX512_VNNI=ON', '-DGGML_AMX_TILE=OFF', '-DGGML_AMX_INT8=OFF']) assert.ok(v[1]!.flags.includes(f), f);
  assert.ok(v[1]!.flags.includes('-DGGML_AVX512_VBMI=OFF'), 'only what the CPU lists is turned on');
  assert.ok(v[2]!.flags.every((f) => f === '-DGGML_NATIVE=OFF' || f.endsWith('=OFF')));
  // Only x86 has ISA flags to name; ARM falls back to a non-native build directly.
  assert.deepEqual(buildVariants(['fp', 'asimd', 'i8mm'], 'arm64').map((x) => x.name), ['native', 'baseline']);
});

test('smoke test: a binary that dies with SIGILL on load fails it, with the signal in the reason', async () => {
  const { smokeTest } = await script;
  const dir = mkdtempSync(join(tmpdir(), 'headroom-smoke-'));
  const crasher = join(dir, 'llama-server');
  writeFileSync(crasher, '#!/bin/sh\nkill -ILL $$\n');
  chmodSync(crasher, 0o755);
  const r = smokeTest(crasher);
  assert.equal(r.ok, false);
  assert.ok(!r.ok && /SIGILL/.test(r.reason), r.ok ? 'ok' : r.reason);
});

test('smoke test: the llama-server the suite uses decodes quantized (Q8_0 + Q4_0) models here', async (t) => {
  const avail = llamaServerAvailable();
  if (!avail.ok) return t.skip(avail.reason);
  const { smokeTest } = await script;
  const r = smokeTest(avail.binary);
  assert.ok(r.ok, r.ok ? '' : r.reason);
});
