// `headroom plan` as users run it: the bundled CLI in a child process (async, so an exo API served from
// this process on 127.0.0.1 can answer it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { parse as parseYaml } from 'yaml';
import { cliBundle } from '../support/cli-bundle';
import { startServer } from '../support/fixture-server';

const GiB = 1024 ** 3;

async function cli(args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = await cliBundle();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

test('stack JSON: per-model memory, resident or not, KV-quantization remedy, swap warning', async () => {
  const r = await cli(['plan', '--model', 'orchestrator=Qwen/Qwen3-32B:Q4_K_M@32k', '--model', 'qwen2.5-coder:14b@96k', '--model', 'nomic-embed-text', '--model', 'bge-reranker-v2-m3', '--hardware', 'm4-pro-64', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.hardware.id, 'm4-pro-64');
  assert.equal(j.hardware.usableBytes, 48 * GiB);
  assert.deepEqual(j.members.map((m: { role: string }) => m.role), ['orchestrator', 'coder', 'embedding', 'reranker']);
  // Encoders default to an 8k window and keep no KV; the 96k coder: 196,608 B/token × 98,304 = 19,327,352,832.
  assert.equal(j.members[2].ctx, 8192);
  assert.equal(j.members[1].memory.kvBytes, 19_327_352_832);
  assert.equal(j.fitsResident, false);
  assert.equal(j.totalBytes, j.members.reduce((a: number, m: { memory: { totalBytes: number } }) => a + m.memory.totalBytes, 0));
  assert.equal(j.remedies[0].kind, 'kv-q8_0');
  assert.ok(j.remedies[0].fits);
  assert.deepEqual(j.swap.secondsPerSwap, [30, 90]);
  // Every decode speed has its cross-validated band (issue 11); encoders do not decode.
  for (const m of j.members.slice(0, 2)) {
    const d = m.decode;
    assert.ok(d.decodeRange.low <= d.emptyTokPerSec && d.emptyTokPerSec <= d.decodeRange.high, JSON.stringify(d));
    assert.ok(d.decodeRangeFull.low <= d.fullTokPerSec && d.fullTokPerSec <= d.decodeRangeFull.high);
    assert.match(d.decodeRange.basis, /of them dense on /);
  }
  assert.equal(j.members[2].decode, undefined);
  // The human table says the same in words.
  const h = await cli(['plan', '--model', 'orchestrator=Qwen/Qwen3-32B:Q4_K_M@32k', '--model', 'qwen2.5-coder:14b@96k', '--hardware', 'm4-pro-64', '--kv-type', 'q8_0']);
  assert.equal(h.code, 0, h.stderr);
  assert.match(h.stdout, /all resident: .* headroom/);
  assert.match(h.stdout, /decode alone/);
  assert.match(h.stdout, /≈ \d+(\.\d)? tok\/s \([\d.]+–[\d.]+\) → ≈ /);
  assert.match(h.stdout, /bandwidth-bound/);
});

test('RPC cluster JSON: per-node layers, and the interconnect bounding decode', async () => {
  const r = await cli(['plan', '--model', 'qwen3:30b-a3b@32k', '--cluster', 'rtx-5090*4', '--link', '1gbe', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.plan.engine, 'llama.cpp-rpc');
  assert.deepEqual(j.plan.shards.map((s: { layers: number }) => s.layers), [12, 12, 12, 12]);
  assert.equal(j.plan.decode.hops, 6);
  assert.equal(j.plan.decode.bound, 'interconnect');
  assert.equal(j.plan.singleNode.nodeId, 'host:rtx-5090');
  // Every cluster speed has a band: the host stack's, and the link terms are said to be outside it.
  const d = j.plan.decode;
  assert.ok(d.range.low <= d.tokPerSec && d.tokPerSec <= d.range.high && d.range.high <= d.ceilingTokPerSec, JSON.stringify(d.range));
  assert.match(d.range.basis, /of them moe on llama\.cpp\/cuda\).*link and RPC terms have no published multi-node runs/);
  const one = j.plan.singleNode;
  assert.ok(one.range.low <= one.tokPerSec && one.tokPerSec <= one.range.high);
  assert.doesNotMatch(one.range.basis, /multi-node/);
  const text = await cli(['plan', '--model', 'qwen3:30b-a3b@32k', '--cluster', 'rtx-5090*4', '--link', '1gbe']);
  assert.match(text.stdout, /decode\s+≈ [\d.]+ tok\/s \([\d.]+–[\d.]+\)/);
  assert.match(text.stdout, /one node alone: host:rtx-5090 holds the whole model at ≈ [\d.]+ tok\/s \([\d.]+–[\d.]+\)/);
  // Llama-3.1-70B over three 24 GB cards: fits only pooled, memory-bound on 10 GbE.
  const big = JSON.parse((await cli(['plan', '--model', 'meta-llama/Llama-3.1-70B-Instruct@32k', '--cluster', 'rtx-4090*3', '--json'])).stdout);
  assert.equal(big.plan.fits, true);
  assert.equal(big.plan.singleNode, undefined);
  assert.equal(big.plan.decode.bound, 'memory-bandwidth');
  assert.equal(big.plan.pooledCapacityBytes, 72 * GiB);
});

test('exo cluster read from its API on 127.0.0.1', async (t) => {
  const M = (gib: number) => ({ inBytes: gib * GiB });
  const state = {
    topology: { nodes: ['n-a', 'n-b'], connections: [['n-a', 'n-b', { sinkMultiaddr: { address: '/ip4/169.254.3.2/tcp/52415' } }]] },
    nodeIdentities: { 'n-a': { chipId: 'Apple M4 Max', friendlyName: 'mbp' }, 'n-b': { chipId: 'Apple M4 Pro', friendlyName: 'mini' } },
    nodeMemory: { 'n-a': { ramTotal: M(128), ramAvailable: M(110) }, 'n-b': { ramTotal: M(64), ramAvailable: M(60) } },
  };
  const srv = await startServer({ 'GET /state': { body: JSON.stringify(state) } });
  t.after(() => srv.close());
  const r = await cli(['plan', '--model', 'meta-llama/Llama-3.1-70B-Instruct@16k', '--exo', srv.url, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.source, 'exo');
  assert.equal(j.model.quant, 'MLX-4bit');
  assert.deepEqual(j.plan.shards.map((s: { hardwareId: string }) => s.hardwareId), ['m4-max-128', 'm4-pro-64']);
  // Offered: min(usable, free) = min(96, 110) and min(48, 60) GiB → 80 layers split 96 : 48 → 53.3 / 26.7 → 53 / 27.
  assert.deepEqual(j.plan.shards.map((s: { layers: number }) => s.layers), [53, 27]);
  assert.equal(j.plan.link.kind, 'tb-bridge');
  assert.deepEqual(srv.requests, ['GET /state']);
  // Tensor mode: every node holds a slice of all 80 layers; 80 × 2 all-reduces × 2 ring steps = 320 hops.
  const tp = await cli(['plan', '--model', 'meta-llama/Llama-3.1-70B-Instruct@16k', '--exo', srv.url, '--sharding', 'tensor', '--json']);
  assert.equal(tp.code, 0, tp.stderr);
  const tj = JSON.parse(tp.stdout);
  assert.equal(tj.plan.sharding, 'tensor');
  assert.equal(tj.plan.decode.hops, 320);
});

test('bad input: one clear line on stderr, non-zero exit', async () => {
  const cases: [string[], RegExp][] = [
    [['plan'], /--model is required/],
    [['plan', '--model', 'no-such-model-xyz'], /unknown model/],
    [['plan', '--model', 'qwen3-8b@lots'], /not a context/],
    [['plan', '--model', 'qwen3-8b', '--kv-type', 'q3'], /--kv-type must be/],
    [['plan', '--model', 'qwen3-8b', '--cluster', 'rtx-9999*2'], /unknown hardware 'rtx-9999'/],
    [['plan', '--model', 'qwen3-8b', '--cluster', 'rtx-4090*500'], /between 1 and 64/],
    [['plan', '--model', 'qwen3-8b', '--model', 'qwen3-4b', '--cluster', 'rtx-4090*2'], /exactly one --model/],
    [['plan', '--model', 'qwen3-8b', '--cluster', 'rtx-4090', '--link', 'carrier-pigeon'], /--link must be one of/],
    [['plan', '--model', 'qwen3-8b', '--exo', 'not a url'], /--exo expects an http/],
    [['plan', '--model', 'qwen3-8b', '--link', '10gbe'], /apply to cluster plans/],
    [['plan', '--model', 'qwen3-8b', '--cluster', 'rtx-4090*2', '--sharding', 'tensor'], /exo \(MLX\) mode/],
    [['plan', '--model', 'qwen3-8b', '--bogus'], /bogus/],
  ];
  for (const [args, re] of cases) {
    const r = await cli(args);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, re, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
  // A dead exo endpoint: a clear error naming it, promptly.
  const dead = await startServer({});
  const url = dead.url;
  await dead.close();
  const r = await cli(['plan', '--model', 'qwen3-8b', '--exo', url]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /cannot read the exo cluster: .*\/state/);
  const help = await cli(['plan', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--cluster NODES/);
});

// ---- --emit: configuration to run the stack, validated by parsing it back (YAML) and by `sh -n` (scripts).

const STACK = ['--model', 'orchestrator=Qwen/Qwen3-32B:Q4_K_M@64k', '--model', 'coder=qwen3:30b-a3b@32kx2', '--model', 'nomic-embed-text', '--model', 'bge-reranker-v2-m3'];

interface SwapConfig {
  models: Record<string, { cmd: string; ttl: number }>;
  groups: Record<string, { swap: boolean; exclusive: boolean; persistent?: boolean; members: string[] }>;
  hooks?: { on_startup: { preload: string[] } };
}

test('--emit llama-swap round-trips through a YAML parser: resident members in one persistent group, cmd/ttl/memory per member', async () => {
  for (const hw of ['m5-max-128', 'rtx-4090']) {
    const plan = JSON.parse((await cli(['plan', ...STACK, '--hardware', hw, '--json'])).stdout) as { fitsResident: boolean; members: { memory: { totalBytes: number } }[]; hardware: { usableBytes: number } };
    const r = await cli(['plan', ...STACK, '--hardware', hw, '--emit', 'llama-swap']);
    assert.equal(r.code, 0, r.stderr);
    const y = parseYaml(r.stdout) as SwapConfig;
    const ids = Object.keys(y.models);
    assert.equal(ids.length, 4, hw);
    for (const id of ids) {
      const m = y.models[id]!;
      assert.match(m.cmd, /^llama-server --port \$\{PORT\} (-hf [\w.-]+\/[\w.-]+:[\w]+|-m \$\{env\.[A-Z0-9_]+\}) /, m.cmd);
      assert.equal(typeof m.ttl, 'number');
      // The planned memory is a comment right above the model's key.
      assert.match(r.stdout, new RegExp(`# [a-z]+: .*memory [\\d.]+ [GM]B \\(weights .*\\n(  # .*\\n)?  "${id.replace(/[.]/g, '\\.')}":`), id);
    }
    // Every model in exactly one group; the resident group never swaps and is preloaded.
    const grouped = Object.values(y.groups).flatMap((g) => g.members);
    assert.deepEqual([...grouped].sort(), [...ids].sort());
    const resident = y.groups.resident!;
    assert.deepEqual({ swap: resident.swap, exclusive: resident.exclusive, persistent: resident.persistent }, { swap: false, exclusive: false, persistent: true });
    assert.deepEqual(y.hooks?.on_startup.preload, resident.members);
    for (const id of resident.members) assert.equal(y.models[id]!.ttl, 0);
    if (plan.fitsResident) {
      assert.equal(resident.members.length, 4, hw);
      assert.equal(y.groups.swapping, undefined);
    } else {
      assert.ok(y.groups.swapping!.swap, hw);
      for (const id of y.groups.swapping!.members) assert.ok(y.models[id]!.ttl > 0);
    }
  }
});

test('--emit script and ollama-env are valid sh; bad --emit values are refused', async () => {
  for (const f of ['script', 'ollama-env']) {
    const r = await cli(['plan', ...STACK, '--hardware', 'm5-max-128', '--emit', f]);
    assert.equal(r.code, 0, r.stderr);
    const check = spawnSync('sh', ['-n'], { input: r.stdout });
    assert.equal(check.status, 0, `${f}: ${check.stderr.toString()}`);
    if (f === 'script') {
      assert.equal((r.stdout.match(/^llama-server --host 127\.0\.0\.1 --port (\d+) /gm) ?? []).length, 4);
      const ports = [...r.stdout.matchAll(/--port (\d+)/g)].map((m) => m[1]);
      assert.equal(new Set(ports).size, 4, 'one port per member');
    } else {
      const env = spawnSync('sh', ['-c', `${r.stdout}\necho "$OLLAMA_MAX_LOADED_MODELS $OLLAMA_NUM_PARALLEL $OLLAMA_KEEP_ALIVE"`]);
      assert.equal(env.stdout.toString().trim(), '4 2 -1');
      assert.match(r.stdout, /PARAMETER num_ctx 65536/);
      assert.doesNotMatch(r.stdout, /llama-server/);
    }
  }
  const bad = await cli(['plan', ...STACK, '--emit', 'k8s']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--emit must be one of llama-swap, ollama-env, script/);
});
