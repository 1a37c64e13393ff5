// `headroom models` and `headroom hardware` as users run them: the bundled CLI in a child process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../support/cli-bundle';

const GiB = 1024 ** 3;

test('models --json: every estimable catalog model ranked for the machine, fitting ones first', async () => {
  const r = await runCli(['models', '--hardware', 'rtx-4090', '--ctx', '16384', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.hardware.id, 'rtx-4090');
  assert.equal(j.ctx, 16384);
  assert.ok(j.models.length >= 30);
  const firstMiss = j.models.findIndex((m: { fits: boolean }) => !m.fits);
  assert.ok(firstMiss > 0 && j.models.slice(firstMiss).every((m: { fits: boolean }) => !m.fits), 'fitting models come first');
  for (const m of j.models) {
    assert.ok(Number.isInteger(m.totalBytes) && Number.isInteger(m.headroomBytes));
    if (m.fits) assert.ok(m.headroomBytes >= 0 && m.totalBytes <= j.hardware.usableBytes, m.id);
  }
  // 70B dense does not fit 24 GB even at Q2_K; an 8B does at Q4_K_M.
  const llama70 = j.models.find((m: { id: string }) => m.id === 'meta-llama/Llama-3.1-70B-Instruct');
  assert.equal(llama70.fits, false);
  const llama8 = j.models.find((m: { id: string }) => m.id === 'meta-llama/Llama-3.1-8B-Instruct');
  assert.equal(llama8.fits, true);
  assert.equal(llama8.quant, 'Q4_K_M');
  // gpt-oss is shown in its native MXFP4.
  assert.equal(j.models.find((m: { id: string }) => m.id === 'openai/gpt-oss-20b').quant, 'MXFP4');
  assert.ok(j.incomplete.some((m: { id: string; missing: string[] }) => m.id === 'google/gemma-4-31b-it' && m.missing.includes('head_dim')));
});

test('models (human): a table with units, decode speed words, and this machine by default', async () => {
  const r = await runCli(['models']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /detected: /);
  assert.match(r.stdout, /model\s+params\s+quant\s+memory\s+fit\s+max ctx\s+decode/);
  assert.match(r.stdout, /\d+(\.\d)? GB/);
  // Predicted decode with its cross-validated band: "≈ 45 tok/s (30–55)  comfortable".
  assert.match(r.stdout, /≈ \d+(\.\d)? tok\/s \([\d.]+–[\d.]+\)\s+(wet cement|very slow|slow|usable|comfortable|fast)/);
  const big = await runCli(['models', '--hardware', 'm3-ultra-512', '--capacity-gb', '512']);
  assert.match(big.stdout, /Kimi K2/);
});

test('models: bad flags are one-line errors', async () => {
  for (const args of [['models', '--hardware', 'nope'], ['models', '--ctx', '0'], ['models', '--wat']]) {
    const r = await runCli(args);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /^headroom: .+\n$/);
  }
});

test('hardware --json: the issue\'s profiles, the default and what was detected here', async () => {
  const r = await runCli(['hardware', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.default, 'm5-max-128');
  const m5 = j.profiles.find((p: { id: string }) => p.id === 'm5-max-128');
  assert.equal(m5.capacityBytes, 128 * GiB);
  assert.equal(m5.usableBytes, 96 * GiB);
  assert.equal(m5.bandwidthGBps, 614);
  assert.ok(j.profiles.length >= 17);
  assert.ok(j.detected.profile.capacityBytes > 0 && typeof j.detected.detail === 'string');
  const human = await runCli(['hardware']);
  assert.match(human.stdout, /this machine: /);
  assert.match(human.stdout, /iogpu\.wired_limit_mb/);
});
