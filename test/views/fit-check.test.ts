// Check Model Fit on real catalog models and published hardware, and the panel data it produces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findCatalogModel } from '../../src/estimator/catalog';
import { findHardware, usableBytes } from '../../src/estimator/hardware';
import { defaultContextOptions } from '../../src/estimator/memory';
import { llamaServerLine, ollamaServeLine, ggufFileName, shellWord } from '../../src/views/command-lines';
import { catalogCandidates, checkFit, defaultFitEngine, engineChoices, memoryCurve, verdictView } from '../../src/views/fit-check';
import { diagnose } from '../../src/estimator/verdict';
import { describeCandidate, fitMark, groupCandidates, parseContextInput } from '../../src/views/pick-items';
import { parseHostMessage } from '../../src/views/protocol';

const GiB = 1024 ** 3;
const llama70 = findCatalogModel('meta-llama/Llama-3.1-70B-Instruct')!;
const qwen30 = findCatalogModel('Qwen/Qwen3-30B-A3B')!;

function target(m = llama70, quant = 'Q4_K_M', ctxPerSeq = 32768, engine?: string) {
  return { modelId: m.id, title: m.name, spec: m.spec!, quant, ctx: defaultContextOptions({ ctxPerSeq }), contextMax: m.contextMax, ...(engine ? { engine } : {}) };
}

test('Llama-3.1-70B Q4_K_M: does not fit a 24 GB card, fits 128 GB; panel data validates', () => {
  // 70.6B params × ~4.8 bits ≈ 40+ GB of weights alone: more than a 4090's 23.2 usable, less than 96 GB (M4 Max, 75 %).
  const small = checkFit(target(), findHardware('rtx-4090')!);
  assert.equal(small.evaluation.fits, false);
  assert.ok(small.evaluation.memory.weightsBytes > 38 * GiB && small.evaluation.memory.weightsBytes < 45 * GiB);
  assert.equal(small.evaluation.maxContext, 0);
  assert.equal(small.data.markers.maxFitCtx, undefined); // nothing fits: the chart says so itself
  const big = checkFit(target(), findHardware('m4-max-128')!);
  assert.equal(big.evaluation.fits, true);
  for (const r of [small, big]) assert.equal(parseHostMessage({ type: 'show', data: r.data }).ok, true);
  // The facts say what is estimated; decode is labelled bandwidth-bound, prefill compute-bound.
  const facts = Object.fromEntries(big.data.facts.map((f) => [f.label, f]));
  assert.equal(facts['KV cache']!.source, 'estimated');
  assert.match(facts['Decode']!.value, /bandwidth-bound/);
  assert.match(facts['Prefill']!.value, /compute-bound/);
  assert.match(facts['Ceiling']!.value, /^\d+(\.\d)? tok\/s = 546 GB\/s ÷ \d+\.\d GB per token$/);
  // The panel and the facts carry the band: "≈ 9.0 tok/s (7.6–10) (slow)" and where it comes from.
  assert.match(facts['Decode']!.value, /^≈ [\d.]+ tok\/s \([\d.]+–[\d.]+\)/);
  assert.match(facts['Decode band']!.value, /central 75 % of the cross-validated error of all \d+ measured runs \(\d+ of them dense on llama\.cpp\/metal\)/);
  const pr = big.data.speed.predictedRange!;
  assert.ok(pr.low <= big.data.speed.predictedTokPerSec! && big.data.speed.predictedTokPerSec! <= pr.high);
  // So does every predicted speed in the alternatives table: each row's band contains its prediction.
  const decoded = big.data.alternatives.filter((r) => r.decodeTokPerSec !== undefined);
  assert.ok(decoded.length >= 3);
  for (const r of decoded) assert.ok(r.decodeRange && r.decodeRange.low <= r.decodeTokPerSec! && r.decodeTokPerSec! <= r.decodeRange.high, JSON.stringify(r));
});

test('alternatives: current first, quants ordered by memory, KV quantization halves KV, copy actions are valid command lines', () => {
  const r = checkFit(target(qwen30, 'Q4_K_M', 65536), findHardware('rtx-4090')!);
  const rows = r.data.alternatives;
  assert.equal(rows[0]!.kind, 'current');
  const byId = Object.fromEntries(rows.map((x) => [x.id, x]));
  // The estimator's own KV suggestion replaces our what-if row for the same configuration (deduplicated).
  byId['kv-q8_0'] = rows.find((x) => x.kind === 'kv' && x.label.includes('q8_0'))!;
  assert.equal(rows.filter((x) => x.kind === 'kv' && x.label.includes('q8_0')).length, 1);
  assert.ok(byId['q-Q8_0']!.memoryBytes > byId['current']!.memoryBytes);
  assert.ok(byId['q-Q3_K_M']!.memoryBytes < byId['current']!.memoryBytes);
  // KV q8_0 costs 8.5 bits per element vs 16: the KV part shrinks to 8.5/16 (≈ 53 %).
  const kvNow = r.evaluation.memory.kvBytes;
  const saved = byId['current']!.memoryBytes - byId['kv-q8_0']!.memoryBytes;
  assert.ok(Math.abs(saved - kvNow * (1 - 8.5 / 16)) / kvNow < 0.05, `${saved} vs ${kvNow}`);
  assert.equal(byId['kv-q8_0']!.action?.kind, 'copy');
  assert.equal(byId['kv-q8_0']!.action!.kind === 'copy' && byId['kv-q8_0']!.action!.text, 'llama-server -hf unsloth/Qwen3-30B-A3B-GGUF:Q4_K_M -c 65536 -np 1 -fa on -ctk q8_0 -ctv q8_0');
  // Faster when smaller: decode is bandwidth-bound.
  assert.ok(byId['q-Q3_K_M']!.decodeTokPerSec! > byId['q-Q8_0']!.decodeTokPerSec!);
  // Ollama users get server variables for non-quant changes.
  const o = checkFit(target(qwen30, 'Q4_K_M', 65536, 'ollama'), findHardware('rtx-4090')!);
  const kv = o.data.alternatives.find((x) => x.kind === 'kv' && x.label.includes('q8_0'))!;
  assert.equal(kv.action!.kind === 'copy' && kv.action!.text, 'OLLAMA_CONTEXT_LENGTH=65536 OLLAMA_NUM_PARALLEL=1 OLLAMA_FLASH_ATTENTION=1 OLLAMA_KV_CACHE_TYPE=q8_0 ollama serve');
});

test('the panel of an Ollama model offers ollama commands only; a quant comes from a sourced GGUF repo or not at all', () => {
  for (const [model, quant, ctx] of [[qwen30, 'Q4_K_M', 65536], [findCatalogModel('Qwen/Qwen3-32B')!, 'Q4_K_M', 32768], [findCatalogModel('meta-llama/Llama-3.1-70B-Instruct')!, 'Q4_K_M', 32768]] as const) {
    const r = checkFit(target(model, quant, ctx, 'ollama'), findHardware('rtx-4090')!);
    const rows = r.data.alternatives;
    assert.ok(rows.length > 3, model.id);
    for (const x of rows) {
      // No llama.cpp words anywhere in an Ollama user's panel: not in commands, labels or costs.
      assert.doesNotMatch(`${x.label} ${x.cost}`, /llama-server|(^|\s)-(np|fa|ctk|ctv|c)\s|--cache-type/, `${model.id}: ${x.label} / ${x.cost}`);
      if (x.action?.kind === 'copy') {
        assert.match(x.action.text, /^(ollama pull hf\.co\/[\w.-]+\/[\w.-]+:[\w-]+|(OLLAMA_[A-Z_]+=\S+ )+ollama serve)$/, x.action.text);
        assert.equal(x.action.label, 'Copy ollama');
      }
    }
    const quants = rows.filter((x) => x.kind === 'quant' && x.id.startsWith('q-'));
    if (model.repos.gguf) assert.ok(quants.every((x) => x.action?.kind === 'copy' && x.action.text.startsWith(`ollama pull hf.co/${model.repos.gguf!.id}:`)), model.id);
    // No repo on record: no command, and the row says so instead of inventing a file name.
    else assert.ok(quants.every((x) => x.action === undefined && /no GGUF repo .* on record/.test(x.cost)), model.id);
  }
});

test('a model that does not fit gets the estimator suggestions, including an MoE alternative with a Check fit action', () => {
  const r = checkFit(target(findCatalogModel('Qwen/Qwen3-32B')!, 'Q4_K_M', 32768), findHardware('rtx-4090')!);
  assert.equal(r.evaluation.fits, false);
  assert.ok(r.suggestions.length > 0);
  const moe = r.data.alternatives.find((x) => x.kind === 'moe');
  assert.ok(moe, 'an MoE alternative is offered');
  assert.equal(moe!.action?.kind, 'checkFit');
  assert.ok(r.data.alternatives.some((x) => x.fits));
});

test('memory curve: monotone in context, includes the configured size, log-doubling points', () => {
  const m = qwen30;
  const t = target(m, 'Q4_K_M', 40000);
  const c = memoryCurve(t.spec, checkFit(t, findHardware('m5-max-128')!).evaluation.weights, t.ctx, m.contextMax);
  assert.ok(c.some((p) => p.ctx === 40000));
  assert.equal(c[0]!.ctx, 1024);
  for (let i = 1; i < c.length; i++) {
    assert.ok(c[i]!.ctx > c[i - 1]!.ctx);
    assert.ok(c[i]!.kv >= c[i - 1]!.kv);
    assert.equal(c[i]!.weights, c[0]!.weights);
  }
});

test('catalog candidates: marks by usable memory, incomplete entries listed with the reason, grouped sections', () => {
  const hw = findHardware('rtx-4090')!;
  const c = catalogCandidates(hw, 32768);
  const l70 = c.find((x) => x.id === llama70.id)!;
  assert.equal(l70.mark, 'no');
  const small = c.find((x) => x.id === 'Qwen/Qwen3-4B')!;
  assert.equal(small.mark, 'fits');
  assert.ok(c.findIndex((x) => x.mark === 'no') > c.findIndex((x) => x.mark === 'fits'));
  for (const x of c) if (x.mark) assert.equal(x.mark, fitMark(x.totalBytes!, usableBytes(hw)));
  const incomplete = c.find((x) => !x.mark);
  if (incomplete) assert.match(describeCandidate(incomplete).detail!, /not enough published data/);
  const item = describeCandidate(l70);
  assert.match(item.description!, /^✗ · Q4_K_M · 70\.6B$/);
  // A predicted decode always shows its cross-validated band (issue 11).
  assert.match(item.detail!, /^\$\(error\) does not fit · \d+\.\d GB at 32k context · ≈ \d+(\.\d)? tok\/s \(\d+(\.\d)?–\d+(\.\d)?\) decode$/);
  assert.ok(l70.decodeRange && l70.decodeRange.low <= l70.decodeTokPerSec! && l70.decodeTokPerSec! <= l70.decodeRange.high);
  const groups = groupCandidates([{ id: 'a', label: 'a', section: 'catalog' }, { id: 'b', label: 'b', section: 'loaded', engine: 'ollama' }]);
  assert.deepEqual(groups.map((g) => g.section), ['loaded', 'catalog']);
  assert.equal(groups[0]!.items[0]!.detail, 'loaded in ollama');
});

test('fit marks and context input', () => {
  assert.equal(fitMark(50, 100), 'fits');
  assert.equal(fitMark(95, 100), 'tight');
  assert.equal(fitMark(101, 100), 'no');
  assert.deepEqual(parseContextInput('32k', 131072), { value: 32768 });
  assert.deepEqual(parseContextInput(' 40,000 ', 131072), { value: 40000 });
  assert.deepEqual(parseContextInput('1m', 2 ** 21), { value: 2 ** 20 });
  assert.match((parseContextInput('lots', 1e6) as { error: string }).error, /token count/);
  assert.match((parseContextInput('100', 1e6) as { error: string }).error, /At least 256/);
  assert.match((parseContextInput('512k', 131072) as { error: string }).error, /At most 128k/);
  assert.match((parseContextInput('-5', 1e6) as { error: string }).error, /token count/);
});

test('command lines: total context for llama.cpp, quoting, file names', () => {
  assert.equal(llamaServerLine({ model: 'Qwen/Qwen3-32B', quant: 'Q4_K_M', ctxPerSeq: 16384, parallel: 4, kvType: 'f16' }), 'llama-server -m Qwen3-32B-Q4_K_M.gguf -c 65536 -np 4 -fa on');
  assert.equal(ggufFileName('unsloth/Qwen3-30B-A3B-GGUF/Qwen3-30B-A3B-Q8_0.gguf', 'Q4_K_M'), 'Qwen3-30B-A3B-Q4_K_M.gguf');
  assert.equal(shellWord("it's; rm -rf /"), `'it'\\''s; rm -rf /'`);
  assert.equal(ollamaServeLine({ ctxPerSeq: 8192, parallel: 2, kvType: 'f16' }), 'OLLAMA_CONTEXT_LENGTH=8192 OLLAMA_NUM_PARALLEL=2 ollama serve');
});

test('verdict: the estimator diagnosis of a partial offload, shown without repeating its kind', () => {
  // Recorded Ollama /api/ps: size 6591830464, size_vram 5333539264 → 1258291200 B (19 %) in system RAM.
  const v = diagnose({ engine: 'ollama', hardware: findHardware('rtx-4090')!, model: { id: 'gemma4' }, offload: { residentBytes: 6591830464, acceleratorBytes: 5333539264, via: 'GET /api/ps' } });
  assert.equal(v.bottleneck, 'capacity');
  const view = verdictView(v);
  assert.equal(view.kind, 'capacity-bound');
  assert.ok(!/^capacity-bound/i.test(view.summary), view.summary);
  assert.match(view.summary, /19 %/);
});

test('engine candidates from a real LM Studio replay: loaded first, installed models evaluated or explained', async (t) => {
  const { startFixtureServer } = await import('../support/fixture-server');
  const { detect } = await import('../../src/providers/detect');
  const { assemble } = await import('../../src/views/assemble');
  const { engineCandidates } = await import('../../src/views/fit-check');
  const server = await startFixtureServer('lmstudio');
  t.after(() => server.close());
  const detections = await detect([{ url: server.url, source: 'settings' }]);
  const hw = findHardware('m5-max-128')!;
  const { state } = assemble({ detections, hardware: hw, chosenBy: 'setting', thresholds: { contextFraction: 0.85, memoryFraction: 0.9, turnsLeft: 3 } });
  const c = engineCandidates(state, detections, hw, 32768);
  // api/v1/models: google/gemma-4-26b-a4b is loaded; deepseek-r1 and the nomic embedding model are installed.
  assert.deepEqual(c.map((x) => [x.section, x.label]), [
    ['loaded', 'google/gemma-4-26b-a4b'],
    ['available', 'deepseek-r1'],
    ['available', 'text-embedding-nomic-embed-text-v1.5-embedding'],
  ]);
  assert.equal(c[0]!.id, `${server.url}|google/gemma-4-26b-a4b`);
  assert.equal(c[0]!.engine, 'lmstudio');
  for (const x of c.slice(1)) assert.ok(x.mark !== undefined || x.note !== undefined, `${x.label} has neither numbers nor a reason`);
});

test('an Ollama / LM Studio model that its engine can reload: context rows reload it; other engines keep the command', () => {
  const hw = findHardware('rtx-4090')!;
  // Too big a window for the card: the context-cap suggestion becomes "Reload with N" for the loaded model.
  const over = { ...target(qwen30, 'Q4_K_M', 131072, 'ollama'), reloadKey: 'http://127.0.0.1:11434|qwen3:30b-a3b' };
  const r = checkFit(over, hw);
  const cap = r.data.alternatives.find((x) => x.kind === 'context' && x.action?.kind === 'reload');
  assert.ok(cap, JSON.stringify(r.data.alternatives.map((x) => [x.kind, x.label, x.action?.kind])));
  assert.equal(cap!.action!.kind === 'reload' && cap!.action!.modelKey, over.reloadKey);
  const ctx = cap!.action!.kind === 'reload' ? cap!.action!.ctx : 0;
  assert.ok(ctx < 131072 && ctx > 0 && ctx <= r.evaluation.maxContext, `${ctx} vs max ${r.evaluation.maxContext}`);
  assert.equal(ctx % 1024, 0);
  assert.equal(cap!.action!.label, `Reload with ${ctx / 1024}k`);
  // Room to grow: a small window gets a "Raise context" row up to the estimator's max that fits.
  const small = { ...target(qwen30, 'Q4_K_M', 8192, 'lmstudio'), reloadKey: 'http://127.0.0.1:1234|qwen/qwen3-30b' };
  const s = checkFit(small, hw);
  const raise = s.data.alternatives.find((x) => x.id === 'ctx-raise');
  assert.ok(raise && raise.action?.kind === 'reload', JSON.stringify(s.data.alternatives.map((x) => x.id)));
  assert.ok(raise!.action!.kind === 'reload' && raise!.action!.ctx > 8192 && raise!.action!.ctx <= s.evaluation.maxContext);
  assert.equal(raise!.fits, true);
  for (const x of [...r.data.alternatives, ...s.data.alternatives]) assert.ok(parseHostMessage({ type: 'show', data: { ...r.data, alternatives: [x] } }).ok, x.id);
  // The same model without a reloadable engine (llama.cpp, or a catalog fit): commands, never a reload.
  for (const t of [target(qwen30, 'Q4_K_M', 131072, 'llama.cpp'), target(qwen30, 'Q4_K_M', 8192, 'ollama')]) {
    const rows = checkFit(t, hw).data.alternatives;
    assert.ok(rows.every((x) => x.action?.kind !== 'reload' && x.id !== 'ctx-raise'));
  }
});

test("Check Model Fit engine: the model's engine, else the detected one, else llama.cpp; choices list detected engines first", () => {
  const detections = [
    { endpoint: 'http://127.0.0.1:8000', engine: 'sglang' as const },
    { endpoint: 'http://127.0.0.1:1234', engine: 'lmstudio' as const },
    { endpoint: 'http://127.0.0.1:11434', engine: 'ollama' as const },
    { endpoint: 'http://127.0.0.1:9999' },
  ];
  assert.deepEqual(defaultFitEngine('ollama', detections), { engine: 'ollama', why: 'serves this model' });
  // A catalog model: the first detected engine Headroom has commands for (SGLang has none of its own).
  assert.deepEqual(defaultFitEngine(undefined, detections), { engine: 'lmstudio', why: 'detected at http://127.0.0.1:1234' });
  assert.deepEqual(defaultFitEngine(undefined, []), { engine: 'llama.cpp', why: 'no engine detected — the default' });
  const choices = engineChoices('ollama', detections);
  assert.deepEqual(choices.map((c) => c.engine), ['lmstudio', 'ollama', 'llama.cpp', 'vllm', 'mlx-lm']);
  assert.equal(choices[1]!.description, 'detected at http://127.0.0.1:11434 · current');
  assert.equal(choices[2]!.description, '');
  assert.equal(new Set(choices.map((c) => c.engine)).size, choices.length);
});

test('the engine picked in Check Model Fit drives the speed model and every command in the panel', () => {
  const hw = findHardware('rtx-4090')!;
  const words = { ollama: /^(ollama |(OLLAMA_[A-Z_]+=\S+ )+ollama serve)/, vllm: /^vllm serve /, 'llama.cpp': /^llama-server /, lmstudio: /^lms (get|load) / } as const;
  const speeds = new Map<string, number>();
  for (const [engine, re] of Object.entries(words)) {
    const r = checkFit(target(qwen30, 'Q4_K_M', 32768, engine), hw);
    assert.match(r.data.subtitle, new RegExp(`^${engine.replace('.', '\\.')} · `));
    const copies = r.data.alternatives.flatMap((x) => (x.action?.kind === 'copy' ? [x.action.text] : []));
    assert.ok(copies.length > 0, engine);
    for (const c of copies) assert.match(c, re, `${engine}: ${c}`);
    speeds.set(engine, r.evaluation.speed.decodeTokPerSec);
  }
  // vLLM's step loop is modelled apart from the llama.cpp family on CUDA: the pick changes the prediction.
  assert.notEqual(speeds.get('vllm'), speeds.get('llama.cpp'));
});
