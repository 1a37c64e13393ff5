// Warnings with hysteresis: enter at a threshold, leave only after clearing by a margin, one per model and
// kind per episode, escalation re-raises, missing data is not "all clear".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyBook, stepWarnings, type WarningBook } from '../../src/estimator/warnings';
import { contextConditions, slowDecodeCondition, truncationCondition } from '../../src/estimator/warning-rules';
import { computeHorizon } from '../../src/estimator/horizon';
import { growthPerTurn, newTrack, observeTurn } from '../../src/estimator/context-tracker';

const KEY = 'http://127.0.0.1:11434|qwen3:8b';

test('window fill oscillating around the threshold raises once and does not flap', () => {
  let book: WarningBook = emptyBook();
  const raisedAt: number[] = [];
  const clearedAt: number[] = [];
  // Fill share wobbles 0.84 ↔ 0.87 (threshold 0.85, exit 0.80): a naive threshold would flap 10 times.
  const fills = [0.5, 0.84, 0.87, 0.84, 0.86, 0.83, 0.87, 0.84, 0.86, 0.82, 0.79, 0.7];
  fills.forEach((f, i) => {
    const h = computeHorizon({ usedTokens: Math.round(f * 32768), window: 32768 });
    const r = stepWarnings(book, contextConditions(KEY, 'qwen3:8b', h), i);
    book = r.book;
    if (r.raised.length) raisedAt.push(i);
    if (r.cleared.length) clearedAt.push(i);
  });
  assert.deepEqual(raisedAt, [2]);
  assert.deepEqual(clearedAt, [10]);
});

test('escalation to error re-raises within the episode; de-escalation does not', () => {
  let book = emptyBook();
  const step = (used: number, now: number) => {
    const r = stepWarnings(book, contextConditions(KEY, 'm', computeHorizon({ usedTokens: used, window: 10_000 })), now);
    book = r.book;
    return r;
  };
  assert.equal(step(8_600, 0).raised[0]?.severity, 'warning');
  const e = step(10_000, 1);
  assert.equal(e.raised[0]?.severity, 'error');
  assert.match(e.raised[0]!.message, /fills the 10k window/);
  const d = step(9_400, 2);
  assert.equal(d.raised.length, 0);
  assert.equal(d.active[0]?.severity, 'warning');
  assert.equal(d.active[0]?.since, 0, 'same episode');
});

test('few turns left warns before the fill share does, with numbers and actions', () => {
  let t = newTrack();
  [18_000, 19_500, 21_000, 22_400].forEach((p, i) => (t = observeTurn(t, { at: i, promptTokens: p })));
  const h = computeHorizon({ usedTokens: 22_400, growthPerTurn: growthPerTurn(t)!, window: 26_000, maxFittingWindow: 60_000 });
  const r = stepWarnings(emptyBook(), contextConditions(KEY, 'qwen3:8b', h), 0);
  const w = r.raised.find((x) => x.kind === 'truncation')!;
  assert.equal(w.numbers.turnsLeft, 2);
  assert.equal(w.numbers.maxFittingWindow, 60_000);
  assert.match(w.message, /~3,600 tokens \(~2 turns\) left before the 26k window/);
  assert.match(w.suggestedActions[0]!, /up to ~60k tokens fits in memory/);
});

test('oom: the window the conversation needs soon will not fit', () => {
  const h = computeHorizon({ usedTokens: 27_000, growthPerTurn: 1000, window: 65_536, maxFittingWindow: 29_000 });
  const r = stepWarnings(emptyBook(), contextConditions(KEY, 'm', h), 0);
  const w = r.raised.find((x) => x.kind === 'oom')!;
  assert.equal(w.severity, 'warning');
  assert.equal(w.numbers.tokensLeft, 2000);
  assert.equal(w.numbers.turnsLeft, 2);
});

test('an observed truncation needs three clean requests to clear; missing data keeps it', () => {
  let book = emptyBook();
  const obs = [true, false, true, false, false, false];
  const events: string[] = [];
  obs.forEach((tr, i) => {
    const r = stepWarnings(book, [truncationCondition(KEY, 'm', { truncated: tr, reason: 'prompt-count-below-sent', sentTokens: 9000, keptTokens: 2048, limit: 2048 })], i);
    book = r.book;
    events.push(...r.raised.map(() => `raise@${i}`), ...r.cleared.map(() => `clear@${i}`));
  });
  assert.deepEqual(events, ['raise@0', 'clear@5']);
  // No observation for a while is not a clear...
  book = stepWarnings(book, [truncationCondition(KEY, 'm', { truncated: true })], 10).book;
  assert.equal(stepWarnings(book, [], 60_000).active.length, 1);
  // ...until it expires.
  assert.equal(stepWarnings(book, [], 10 + 16 * 60_000).active.length, 0);
});

test('slow decode is info, clears only above 3.75 tok/s; absurd speeds are ignored', () => {
  let book = emptyBook();
  const seq = [2.5, 3.2, 3.6, 3.9];
  const sev: (string | undefined)[] = [];
  for (const [i, v] of seq.entries()) {
    const r = stepWarnings(book, [slowDecodeCondition(KEY, 'm', v, 12)], i);
    book = r.book;
    sev.push(r.active[0]?.severity);
  }
  assert.deepEqual(sev, ['info', 'info', 'info', undefined]);
  assert.equal(stepWarnings(emptyBook(), [slowDecodeCondition(KEY, 'm', 0)], 0).active.length, 0);
});

test('one warning per model: two models are independent', () => {
  const h = computeHorizon({ usedTokens: 9_000, window: 10_000 });
  const r = stepWarnings(emptyBook(), [...contextConditions('a', 'a', h), ...contextConditions('b', 'b', h)], 0);
  assert.deepEqual(r.active.map((w) => w.modelKey).sort(), ['a', 'b']);
});

test('fixes in the engine’s words: raising the window says how for the engine that serves the model', () => {
  const cc = contextConditions;
  const tc = truncationCondition;
  const h = { limit: 'window', tokensLeft: 500, window: { size: 8192, tokensLeft: 500, turnsLeft: 1 }, memory: { maxWindow: 40000, tokensLeft: 30000 }, growthPerTurn: 400 } as never;
  const say = (engine: string | undefined) => cc('k', 'm', h, { engine })[0]!.describe('warning').suggestedActions[0]!;
  assert.match(say('ollama'), /OLLAMA_CONTEXT_LENGTH=40960, or num_ctx 40960 on \/api\/\*/);
  assert.doesNotMatch(say('ollama'), /llama\.cpp|-c /);
  assert.match(say('llama.cpp'), /llama-server with -c 40960 per slot/);
  assert.doesNotMatch(say('llama.cpp'), /OLLAMA/);
  assert.match(say('lmstudio'), /lms load <model> --context-length 40960/);
  assert.match(say('vllm'), /--max-model-len 40960/);
  assert.match(say(undefined), /Ollama num_ctx \/ OLLAMA_CONTEXT_LENGTH, llama\.cpp -c/);
  const t = tc('k', 'm', { truncated: true, reason: 'prompt-count-below-sent', sentTokens: 9000, keptTokens: 2048, limit: 2048 }, 'ollama').describe('error');
  assert.match(t.suggestedActions[0]!, /OLLAMA_CONTEXT_LENGTH=9216/);
});
