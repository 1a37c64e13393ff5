// Poll scheduling: the pure backoff schedule, and the Poller's setTimeout chain (no overlap, pause/resume,
// backoff reset, dispose aborts) driven by a fake timer so the test checks the exact waits it asked for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextPollDelayMs } from '../../src/views/backoff';
import { Poller } from '../../src/views/poller';

test('backoff: base while answered, doubling per miss, capped, never below base', () => {
  const o = { baseMs: 5000, maxMs: 60_000 };
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map((n) => nextPollDelayMs(n, o)), [5000, 10000, 20000, 40000, 60000, 60000, 60000]);
  assert.equal(nextPollDelayMs(1e9, o), 60_000);
  assert.equal(nextPollDelayMs(3, { baseMs: 120_000, maxMs: 60_000 }), 120_000); // cap below base → base
  assert.equal(nextPollDelayMs(0, { baseMs: -1 }), 5000); // absurd base → default
  assert.equal(nextPollDelayMs(Number.NaN, { baseMs: 1000 }), 1000);
  assert.equal(nextPollDelayMs(50, { baseMs: 1000 }), 300_000); // default cap 5 min
});

class FakeTimers {
  pending: { fn: () => void; ms: number; id: number }[] = [];
  private next = 1;
  set = (fn: () => void, ms: number) => {
    const id = this.next++;
    this.pending.push({ fn, ms, id });
    return id;
  };
  clear = (id: unknown) => {
    this.pending = this.pending.filter((p) => p.id !== id);
  };
  /** Fires the only pending timer and returns the delay it was set with. */
  fire(): number {
    assert.equal(this.pending.length, 1, 'exactly one timer pending (a chain, never several)');
    const t = this.pending.shift()!;
    t.fn();
    return t.ms;
  }
}
const tick = () => new Promise((r) => setImmediate(r));

test('poller: first poll deferred, then base interval; misses back off; an answer resets', async () => {
  const timers = new FakeTimers();
  const answers = [true, false, false, false, true];
  let calls = 0;
  const p = new Poller({ task: async () => answers[calls++] ?? true, intervalMs: () => 1000, maxMs: 3000, timers });
  p.start(250);
  const waits: number[] = [];
  for (let i = 0; i < 6; i++) {
    waits.push(timers.fire());
    await tick();
  }
  // 250 first; after answer → 1000; misses → 2000, 4000 capped to 3000; answer → 1000.
  assert.deepEqual(waits, [250, 1000, 2000, 3000, 3000, 1000]);
  assert.equal(calls, 6);
  p.dispose();
  assert.equal(timers.pending.length, 0);
});

test('poller: polls never overlap; pollNow joins the one in flight', async () => {
  let running = 0;
  let maxRunning = 0;
  let release!: () => void;
  const timers = new FakeTimers();
  const p = new Poller({
    task: async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise<void>((r) => (release = r));
      running--;
      return true;
    },
    intervalMs: () => 1000,
    timers,
  });
  const a = p.pollNow();
  const b = p.pollNow();
  assert.equal(a, b);
  await tick();
  release();
  await a;
  assert.equal(maxRunning, 1);
  assert.equal(timers.pending.length, 1);
  p.dispose();
});

test('poller: paused while unfocused — a due poll waits for focus, then runs once', async () => {
  const timers = new FakeTimers();
  let calls = 0;
  const p = new Poller({ task: async () => (calls++, true), intervalMs: () => 1000, timers });
  p.start(0);
  p.pause();
  timers.fire(); // comes due while paused: nothing runs
  await tick();
  assert.equal(calls, 0);
  assert.equal(timers.pending.length, 0, 'no timers while paused and due');
  p.resume();
  await tick();
  assert.equal(calls, 1);
  assert.equal(timers.pending.length, 1);
  p.dispose();
});

test('poller: dispose aborts the in-flight poll and schedules nothing more; errors count as misses', async () => {
  const timers = new FakeTimers();
  let seenSignal: AbortSignal | undefined;
  const errors: unknown[] = [];
  const p = new Poller({
    task: async (signal) => {
      seenSignal = signal;
      throw new Error('unreachable');
    },
    intervalMs: () => 1000,
    timers,
    onError: (e) => errors.push(e),
  });
  await p.pollNow();
  assert.equal(p.missCount, 1);
  assert.equal(errors.length, 1);
  assert.equal(timers.pending[0]!.ms, 2000);
  p.resetBackoff();
  assert.equal(p.missCount, 0);
  p.dispose();
  assert.equal(seenSignal!.aborted, true);
  assert.equal(timers.pending.length, 0);
  await p.pollNow();
  assert.equal(errors.length, 1);
});
