// Prompt-token estimates for the proxy's truncation guard, and the guard's verdict. Pure.
// A tokenizer count is exact; without one, tokens are estimated from the prompt's text characters, at a ratio
// learned per model from what the engine reported for earlier requests (its own prompt token count against
// the characters sent), starting from a conservative default. Each method carries its error band, and only an
// estimate that exceeds the window even at the low end of its band counts as "clearly" too long.

export type TokenMethod = 'tokenizer' | 'learned' | 'default';

/** Default ratio before anything is learned: 4 chars/token (prose runs ~4.3, code ~3, CJK ~1.5). */
export const DEFAULT_CHARS_PER_TOKEN = 4;
/**
 * Relative error of the default ratio. At its low end (chars ÷ 6.2) only text of long whitespace runs or very
 * long words tokenizes sparser — so a refusal on the default never hits a prompt that would have fit.
 */
export const DEFAULT_ERROR = 0.35;
/** Relative error of an exact count: chat templates and BOS handling differ by a few tokens. */
export const TOKENIZER_ERROR = 0.01;
/** Floor of a learned ratio's error band: a new prompt can mix text kinds unlike the ones learned from. */
export const LEARNED_MIN_ERROR = 0.08;
/** Samples kept per model (the latest ones: a model reloaded under the same name may tokenize differently). */
export const LEARNED_SAMPLES = 16;

export interface TokenSample {
  chars: number;
  tokens: number;
}

export interface TokenEstimate {
  tokens: number;
  method: TokenMethod;
  /** Relative error band (0.1 = ±10 %). */
  error: number;
}

/** Learned chars→tokens ratio of one model. */
export class LearnedRatio {
  private readonly samples: TokenSample[] = [];

  get count(): number {
    return this.samples.length;
  }

  /**
   * Adds what the engine counted for a prompt of `chars` characters. Samples too small to say anything (template
   * overhead dominates) or implausible (a count of only the uncached suffix) are ignored; returns whether kept.
   */
  add(s: TokenSample): boolean {
    if (!(s.chars >= 200 && s.tokens >= 32)) return false;
    const cpt = s.chars / s.tokens;
    if (cpt < 0.5 || cpt > 12) return false;
    this.samples.push({ chars: s.chars, tokens: s.tokens });
    if (this.samples.length > LEARNED_SAMPLES) this.samples.shift();
    return true;
  }

  /** Tokens per character, pooled (big prompts — the ones near a window — weigh most). */
  private ratio(): number {
    let c = 0;
    let t = 0;
    for (const s of this.samples) {
      c += s.chars;
      t += s.tokens;
    }
    return t / c;
  }

  /**
   * Error band: the worst leave-one-out miss over the samples (each predicted from the others), ×1.25, never
   * below LEARNED_MIN_ERROR. With fewer than three samples, half the default band.
   */
  error(): number {
    const n = this.samples.length;
    if (n < 3) return Math.max(LEARNED_MIN_ERROR, DEFAULT_ERROR / 2);
    let c = 0;
    let t = 0;
    for (const s of this.samples) {
      c += s.chars;
      t += s.tokens;
    }
    let worst = 0;
    for (const s of this.samples) {
      const r = (t - s.tokens) / (c - s.chars);
      worst = Math.max(worst, Math.abs(s.chars * r - s.tokens) / s.tokens);
    }
    return Math.min(DEFAULT_ERROR, Math.max(LEARNED_MIN_ERROR, worst * 1.25));
  }

  estimate(chars: number): TokenEstimate {
    if (this.samples.length === 0) return defaultEstimate(chars);
    return { tokens: Math.round(chars * this.ratio()), method: 'learned', error: this.error() };
  }
}

export function defaultEstimate(chars: number): TokenEstimate {
  return { tokens: Math.round(chars / DEFAULT_CHARS_PER_TOKEN), method: 'default', error: DEFAULT_ERROR };
}

export type GuardAction = 'refused' | 'warned' | 'passed';
export type GuardMode = 'off' | 'warn' | 'refuse';

export interface GuardJudgement {
  action: GuardAction;
  /** Prompt + reserve exceeds the window even at the low end of the estimate's band. */
  clearlyOver: boolean;
  /** Tokens the window needs to hold prompt + reserve at the high end of the band. */
  neededTokens: number;
}

/**
 * Output tokens held back for the reply: the request's own cap (at most a quarter of the window), else 256.
 * An engine that gets a prompt filling its window has no room to answer (llama.cpp rejects it, Ollama cuts).
 */
export function reservedOutput(window: number, maxTokens: number | undefined): number {
  const want = maxTokens !== undefined && maxTokens > 0 ? maxTokens : 256;
  return Math.min(want, Math.floor(window / 4));
}

/**
 * Refuse only when it clearly does not fit (low end of the band + reserve > window) and the mode says so;
 * warn when it may not fit (high end over); pass otherwise.
 */
export function judge(est: TokenEstimate, window: number, reserve: number, mode: GuardMode): GuardJudgement {
  const low = Math.floor(est.tokens * (1 - est.error)) + reserve;
  const high = Math.ceil(est.tokens * (1 + est.error)) + (est.method === 'tokenizer' ? 4 : 0) + reserve;
  const clearlyOver = low > window;
  const action: GuardAction = mode === 'off' ? 'passed' : clearlyOver && mode === 'refuse' ? 'refused' : high > window ? 'warned' : 'passed';
  return { action, clearlyOver, neededTokens: high };
}

/** A window size to suggest: the need rounded up to a multiple of 1024. */
export function suggestWindow(needed: number): number {
  return Math.ceil(needed / 1024) * 1024;
}
