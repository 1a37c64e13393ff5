// Shared test data for the panel: a PanelData for Qwen3-30B-A3B-like numbers on a 24 GB card, built from
// published shapes (48 layers, 4 KV heads × 128 dims, f16 KV → 96 KiB per token) so the chart has a real crossing.
import type { PanelData } from '../../src/views/protocol';

const GiB = 1024 ** 3;
export const KV_PER_TOKEN = 48 * 2 * 4 * 128 * 2; // layers × (K+V) × kv heads × head dim × 2 bytes = 98304

export function samplePanelData(over: Partial<PanelData> = {}): PanelData {
  const weights = 17.3 * GiB;
  const overhead = 0.6 * GiB;
  const curve = [4096, 8192, 16384, 32768, 65536, 131072].map((ctx) => ({ ctx, weights, kv: ctx * KV_PER_TOKEN, overhead }));
  return {
    title: 'qwen3:30b-a3b',
    subtitle: 'ollama · Q4_K_M · NVIDIA GeForce RTX 4090 (24 GB)',
    hardware: { name: 'NVIDIA GeForce RTX 4090 (24 GB)', usableBytes: 23.2 * GiB, capacityBytes: 24 * GiB, bandwidthGBps: 1008 },
    curve,
    markers: { currentCtx: 12000, configuredCtx: 32768 },
    facts: [
      { label: 'Weights', value: '17.3 GB', source: 'engine' },
      { label: 'KV cache', value: '3.0 GB', source: 'estimated' },
    ],
    alternatives: [
      { id: 'current', kind: 'current', label: 'Q4_K_M, 32k (now)', memoryBytes: 21 * GiB, fits: true, decodeTokPerSec: 120, cost: '—' },
      { id: 'q3', kind: 'quant', label: 'Q3_K_M', memoryBytes: 17 * GiB, fits: true, decodeTokPerSec: 140, decodeRange: { low: 112, high: 161 }, cost: 'noticeable quality loss', action: { kind: 'copy', label: 'Copy command', text: 'ollama run qwen3:30b-a3b-q3_K_M' } },
      { id: 'q8', kind: 'quant', label: 'Q8_0', memoryBytes: 33 * GiB, fits: false, cost: 'near-lossless' },
      { id: 'kvq8', kind: 'kv', label: 'KV cache q8_0', memoryBytes: 19.5 * GiB, fits: true, decodeTokPerSec: 122, cost: 'needs flash attention; tiny quality cost', action: { kind: 'copy', label: 'Copy command', text: 'OLLAMA_KV_CACHE_TYPE=q8_0 OLLAMA_FLASH_ATTENTION=1 ollama serve' } },
    ],
    speed: { history: [{ t: 1000, tokPerSec: 110 }, { t: 2000, tokPerSec: 118 }, { t: 3000, tokPerSec: 121 }], ceilingTokPerSec: 190, predictedTokPerSec: 125 },
    notes: [],
    ...over,
  };
}
