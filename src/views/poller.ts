// A polling loop as a Disposable: a setTimeout chain (the next poll is scheduled only after the current one
// settles, so polls never overlap), exponential backoff while nothing answers, paused while the window is
// unfocused (zero cost in the background). No `vscode` import: timers are injectable for tests.
import { nextPollDelayMs } from './backoff';

export interface PollerOptions {
  /** One poll. Resolves true when something answered (resets the backoff). Aborted on dispose. */
  task: (signal: AbortSignal) => Promise<boolean>;
  /** Configured interval, ms (read on every scheduling, so a settings change applies to the next wait). */
  intervalMs: () => number;
  maxMs?: number;
  onError?: (err: unknown) => void;
  timers?: { set: (fn: () => void, ms: number) => unknown; clear: (handle: unknown) => void };
}

export class Poller {
  private handle: unknown;
  private inFlight: Promise<void> | undefined;
  private misses = 0;
  private paused = false;
  private disposed = false;
  /** A poll came due while paused: run it as soon as we resume. */
  private dueWhilePaused = false;
  private readonly abort = new AbortController();
  private readonly timers: NonNullable<PollerOptions['timers']>;

  constructor(private readonly opts: PollerOptions) {
    this.timers = opts.timers ?? {
      set: (fn, ms) => {
        const h = setTimeout(fn, ms);
        h.unref?.();
        return h;
      },
      clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
    };
  }

  /** Starts the loop; the first poll runs after `firstDelayMs` (deferred so activation paints first). */
  start(firstDelayMs = 0): void {
    this.schedule(firstDelayMs);
  }

  /** Consecutive polls where nothing answered. */
  get missCount(): number {
    return this.misses;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Runs a poll now (or joins the one in flight) and restarts the schedule from it. */
  pollNow(): Promise<void> {
    if (this.disposed) return Promise.resolve();
    this.clearTimer();
    return this.run();
  }

  /** Stop polling (window lost focus). An in-flight poll finishes; nothing new starts. */
  pause(): void {
    if (this.paused || this.disposed) return;
    this.paused = true;
  }

  /** Resume: poll at once if one came due meanwhile, else keep the pending schedule. */
  resume(): void {
    if (!this.paused || this.disposed) return;
    this.paused = false;
    if (this.dueWhilePaused) {
      this.dueWhilePaused = false;
      void this.run();
    }
  }

  /** Forget the backoff (settings changed, the user asked to detect): the next wait is the base interval. */
  resetBackoff(): void {
    this.misses = 0;
  }

  dispose(): void {
    this.disposed = true;
    this.clearTimer();
    this.abort.abort();
  }

  private clearTimer(): void {
    if (this.handle !== undefined) this.timers.clear(this.handle);
    this.handle = undefined;
  }

  private schedule(ms: number): void {
    if (this.disposed) return;
    this.clearTimer();
    this.handle = this.timers.set(() => {
      this.handle = undefined;
      if (this.paused) this.dueWhilePaused = true;
      else void this.run();
    }, ms);
  }

  private run(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    const p = (async () => {
      try {
        const answered = await this.opts.task(this.abort.signal);
        this.misses = answered ? 0 : this.misses + 1;
      } catch (err) {
        this.misses += 1;
        if (!this.disposed) this.opts.onError?.(err);
      } finally {
        this.inFlight = undefined;
      }
      this.schedule(nextPollDelayMs(this.misses, { baseMs: this.opts.intervalMs(), maxMs: this.opts.maxMs }));
    })();
    this.inFlight = p;
    return p;
  }
}
