// Context tracker on an agent-shaped growth series: a system prompt of ~18k tokens, turns that add tool
// output of varying size, one huge file read, a side request (title generation) and a new task.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contextTokens, growthPerTurn, newTrack, observeTurn, type ContextTrack } from '../../src/estimator/context-tracker';

// Prompt tokens per request, as an agent (Cline-like) produces them: each turn resends everything.
const SERIES = [18_200, 19_050, 19_900, 20_700, 21_650, 33_900 /* read a big file */, 34_800, 35_600, 36_500, 37_300];

function feed(series: number[], t: ContextTrack = newTrack()): ContextTrack {
  series.forEach((p, i) => (t = observeTurn(t, { at: i * 30_000, promptTokens: p, outputTokens: 300 })));
  return t;
}

test('growth per turn is the median step: one huge file read does not dominate it', () => {
  const t = feed(SERIES);
  const steps = SERIES.slice(1).map((v, i) => v - SERIES[i]!);
  const mean = steps.reduce((a, b) => a + b, 0) / steps.length;
  const g = growthPerTurn(t)!;
  assert.ok(g >= 800 && g <= 950, `median ${g}`);
  assert.ok(mean > 2000, `the mean (${mean}) would have been skewed by the file read`);
  assert.equal(contextTokens(t), 37_300 + 300);
  assert.equal(t.resets, 0);
});

test('growth is undefined with one turn; a shrinking conversation gives ≤ 0 growth', () => {
  assert.equal(growthPerTurn(feed([5000])), undefined);
  assert.equal(growthPerTurn(newTrack()), undefined);
  assert.ok(growthPerTurn(feed([9000, 8900, 8800]))! <= 0);
});

test('a small side request between turns is ignored', () => {
  let t = feed(SERIES.slice(0, 5));
  t = observeTurn(t, { at: 1, promptTokens: 350 }); // e.g. "generate a title"
  t = observeTurn(t, { at: 2, promptTokens: 22_500 });
  assert.equal(t.sideRequests, 1);
  assert.equal(t.resets, 0);
  assert.equal(t.points.length, 6);
  assert.equal(t.pending, undefined);
});

test('two small prompts in a row start a new episode (new task or compaction)', () => {
  let t = feed(SERIES);
  t = observeTurn(t, { at: 1, promptTokens: 18_300 });
  t = observeTurn(t, { at: 2, promptTokens: 19_100 });
  assert.equal(t.resets, 1);
  assert.deepEqual(
    t.points.map((p) => p.promptTokens),
    [18_300, 19_100],
  );
  assert.equal(growthPerTurn(t), 800);
});

test('garbage observations are ignored; history is bounded', () => {
  let t = feed([1000, 2000]);
  t = observeTurn(t, { at: 0, promptTokens: NaN });
  t = observeTurn(t, { at: 0, promptTokens: -5 });
  assert.equal(t.points.length, 2);
  const long = feed(Array.from({ length: 500 }, (_, i) => 1000 + i * 10));
  assert.equal(long.points.length, 64);
  assert.equal(growthPerTurn(long), 10);
});
