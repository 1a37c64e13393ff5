// When each engine first ran each architecture, and how many days into that support a given build is.
// A new architecture's first builds run well below what the same engine reaches weeks later (generic kernels
// before the fused ones land); the speed model carries a fitted launch factor that fades with those days
// (speed-params.json `launch`). Pure data with sources; unknown engines, builds or architectures are "mature".

/** Days after first support during which a build is called a launch build in words. */
export const LAUNCH_WINDOW_DAYS = 42;

export interface FirstSupport {
  engine: 'llama.cpp' | 'mlx-lm';
  /** GGUF `general.architecture` (what the catalog and the engines' model files name; MLX's `qwen3_moe` is `qwen3moe`). */
  arch: string;
  /** Day the support merged (UTC). */
  date: string;
  /** MLX-LM: the first release version that has it, when known (its x.y line is the launch window). */
  version?: string;
  source: string;
}

// Only architectures whose support needed new kernels (ops the engine did not have): an architecture that reuses
// existing ops (Qwen3-MoE in llama.cpp is Qwen2-MoE plus two norms, PR #12828) runs at full speed from day one,
// and the published runs agree (llama.cpp b5215 and MLX-LM 0.24.0 on Qwen3-30B-A3B, 20 days in, fit as mature).
export const FIRST_SUPPORT: FirstSupport[] = [
  { engine: 'llama.cpp', arch: 'gpt-oss', date: '2025-08-05', source: 'ggml-org/llama.cpp PR #15091 "llama : add gpt-oss": MXFP4 type, attention sinks, merged 2025-08-05 (the CUDA FlashAttention kernel with sinks followed 2 days later, PR #15157)' },
  { engine: 'llama.cpp', arch: 'qwen3next', date: '2025-11-28', source: 'ggml-org/llama.cpp PR #16095: Gated DeltaNet ops for qwen3next, merged 2025-11-28 (first tested build 7189 in its thread)' },
  { engine: 'mlx-lm', arch: 'qwen3next', date: '2025-09-13', source: 'ml-explore/mlx-lm PR #454 (2025-09-13) builds on qwen3_next already on main; released by 2025-09-17 (ml-explore/mlx issue #2589)' },
];

// llama.cpp release builds (bNNNN) by date, from the runs in the published speed table that state both: the
// build counter advances ~10 a day, so a build number dates itself to within days between anchors.
const LLAMACPP_BUILD_DATES: [number, string][] = [
  [5215, '2025-04-29'],
  [7189, '2025-11-28'],
  [7938, '2026-02-09'],
];

const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`) / 86_400_000;

/** A llama.cpp build number's approximate release day (days since epoch), interpolated between anchors. */
export function llamaCppBuildDay(build: number): number {
  const a = LLAMACPP_BUILD_DATES;
  // The segment holding the build; before the first or after the last anchor, the nearest segment's rate.
  let i = 0;
  while (i < a.length - 2 && build >= a[i + 1]![0]) i++;
  const [b0, d0] = a[i]!;
  const [b1, d1] = a[i + 1]!;
  return day(d0) + ((build - b0) * (day(d1) - day(d0))) / (b1 - b0);
}

/** The build number in llama.cpp's `build_info` ("b7189-c6f7a423c") or a run's words ("b5215", "(7189)"). */
export function llamaCppBuildOf(text: string): number | undefined {
  const m = /\bb(\d{4,5})\b/.exec(text) ?? /\((\d{4,5})\)/.exec(text) ?? /\bbuild (\d{4,5})\b/.exec(text);
  return m ? Number(m[1]) : undefined;
}

export interface LaunchCheck {
  /** Days since first support (negative: before it merged, i.e. unknown build dating). */
  days: number;
  support: FirstSupport;
}

/**
 * How many days into its support for an architecture an engine build is. `when` is what is known of the build:
 * a llama.cpp build number, an MLX-LM version, or the day the run was made (ISO date). Undefined when the
 * architecture has no recorded first support in that engine or the build cannot be dated.
 */
export function launchWindowOf(engine: string, arch: string, when: { build?: number; version?: string; date?: string }): LaunchCheck | undefined {
  if (engine !== 'llama.cpp' && engine !== 'mlx-lm') return undefined;
  const s = FIRST_SUPPORT.find((f) => f.engine === engine && f.arch === arch);
  if (!s) return undefined;
  if (when.version && s.version) {
    // MLX-LM: the first release's minor line (0.24.x) is the launch window.
    const minor = (v: string) => v.split('.').slice(0, 2).join('.');
    return minor(when.version) === minor(s.version) ? { days: 0, support: s } : { days: LAUNCH_WINDOW_DAYS + 1, support: s };
  }
  let d: number | undefined;
  if (when.build !== undefined && engine === 'llama.cpp' && when.build > 100) d = llamaCppBuildDay(when.build);
  else if (when.date && !Number.isNaN(day(when.date))) d = day(when.date);
  if (d === undefined) return undefined;
  return { days: Math.round(d - day(s.date)), support: s };
}

export function inLaunchWindow(c: LaunchCheck | undefined): boolean {
  return c !== undefined && c.days >= 0 && c.days <= LAUNCH_WINDOW_DAYS;
}
