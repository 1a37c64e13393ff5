// Published measurements of stack-level slowdowns: the only place the verdict may quote a number like
// "Ollama decoded 37 % slower than llama.cpp". Each claim keeps its citation and says where it applies;
// a claim is shown only when the user's setup matches its conditions. Sources: research/anchors.md P4.
import type { HardwareProfile } from './types';

export interface EvidenceContext {
  engine: string;
  hardware: HardwareProfile;
  /** Active ÷ total parameters (1 for dense). */
  activeRatio?: number;
  powerMode?: 'low' | 'automatic' | 'high';
}

export interface StackEvidence {
  id: string;
  /** What was measured, in one sentence with its numbers. */
  claim: string;
  /** The change it suggests. */
  fix: string;
  numbers: Record<string, number>;
  citation: string;
  applies: (c: EvidenceContext) => boolean;
}

const isSmallActiveMoe = (c: EvidenceContext) => c.activeRatio !== undefined && c.activeRatio < 0.25;

export const STACK_EVIDENCE: readonly StackEvidence[] = [
  {
    id: 'ollama-vs-llamacpp-moe-apple',
    claim: 'On an M1 Max, Ollama decoded Qwen3-30B-A3B at 26.0 tok/s vs 41.4 with llama.cpp: 37 % slower (llama.cpp 1.6× faster).',
    fix: 'run llama-server (llama.cpp) directly for this MoE model instead of Ollama',
    numbers: { ollamaTokPerSec: 26.0, llamaCppTokPerSec: 41.4, ollamaSlowerPct: 37 },
    citation: 'famstack.dev "MLX vs GGUF" part 2 (Qwen3-30B-A3B, M1 Max), via research/anchors.md P4',
    applies: (c) => c.engine === 'ollama' && c.hardware.kind === 'apple' && isSmallActiveMoe(c),
  },
  {
    id: 'macos-low-power',
    claim: 'macOS Low Power mode cut decode speed 1.4×–3.8× on an M4 Max compared with High Power mode.',
    fix: 'set Energy Mode to High Power (System Settings → Battery/Energy) and stay on the charger',
    numbers: { slowdownMin: 1.4, slowdownMax: 3.8 },
    citation: 'myblog-6mw.pages.dev M4 Max benchmark, via research/anchors.md P4',
    applies: (c) => c.hardware.kind === 'apple' && c.powerMode !== 'high',
  },
  {
    id: 'rtx5090-windows-regression',
    claim: 'A 27B (qwen35) decoded at 28 % of its bandwidth bound on an RTX 5090 under Windows, vs ~86 % on an RTX 4090.',
    fix: 'update the llama.cpp / driver build, or compare under Linux; the card itself is not the limit',
    numbers: { shareOfBound5090: 0.28, shareOfBound4090: 0.86 },
    citation: 'ggml-org/llama.cpp#28196',
    applies: (c) => c.hardware.id === 'rtx-5090',
  },
  {
    id: 'ollama-dgx-spark',
    claim: 'Ollama on a DGX Spark was reported 2.5× slower than on an M3 Ultra, while llama.cpp\'s own DGX Spark runs sit near the bandwidth bound.',
    fix: 'try llama-server (llama.cpp CUDA build) on the Spark',
    numbers: { slowdown: 2.5 },
    citation: 'ollama/ollama#12725; ggml-org/llama.cpp:benches/dgx-spark.md',
    applies: (c) => c.engine === 'ollama' && c.hardware.id === 'dgx-spark-128',
  },
  {
    id: 'vllm-enforce-eager-spark',
    claim: 'vLLM with --enforce-eager (no CUDA graphs) halved decode speed on a DGX Spark.',
    fix: 'drop --enforce-eager so vLLM captures CUDA graphs',
    numbers: { slowdown: 2 },
    citation: 'conselara.dev DGX Spark notes, via research/anchors.md P4',
    applies: (c) => c.engine === 'vllm' && c.hardware.kind === 'nvidia',
  },
];

export function matchingEvidence(c: EvidenceContext): StackEvidence[] {
  return STACK_EVIDENCE.filter((e) => e.applies(c));
}
