// Published decode runs NOT used for calibration, to check the speed model out of sample:
// XiongjieDai/GPU-Benchmarks-on-LLM-Inference README.md@00dd2bde (llama.cpp, May 2024, Llama 3 8B/70B = Llama 3.1 shapes,
// tg512 column: ~256 tokens of average depth). The calibration set uses only the 4090 tg512 rows and two M2 Ultra rows.
import { findCatalogModel } from '../../src/estimator/catalog';
import { findHardware } from '../../src/estimator/hardware';
import { kvBytesReadAtDepth } from '../../src/estimator/speed';
import { weightsForQuant } from '../../src/estimator/weights';
import type { CalRow } from './speed-calibration';

const L8 = 'meta-llama/Llama-3.1-8B-Instruct';
const L70 = 'meta-llama/Llama-3.1-70B-Instruct';

// [profile, model, quant, tok/s, note]
const ROWS: [string, string, string, number, string][] = [
  ['rtx-3090', L8, 'Q4_K_M', 115.42, ''],
  ['rtx-3090', L8, 'F16', 47.4, ''],
  ['m2-ultra-192', L8, 'F16', 36.9, ''],
  ['m2-ultra-192', L70, 'F16', 4.76, ''],
  ['m3-max-128', L8, 'Q4_K_M', 48.97, 'M3 Max 40-core 64 GB (same 400 GB/s GPU as the 128 GB profile)'],
  ['m3-max-128', L8, 'F16', 22.04, 'M3 Max 40-core 64 GB'],
  ['m3-max-128', L70, 'Q4_K_M', 7.65, 'M3 Max 40-core 64 GB'],
  ['m1-max-64', L8, 'Q4_K_M', 35.73, 'M1 Max 32-core'],
  ['m1-max-64', L8, 'F16', 18.75, 'M1 Max 32-core'],
  ['m1-max-64', L70, 'Q4_K_M', 4.34, 'M1 Max 32-core'],
];

export function validationRows(): (CalRow & { note: string })[] {
  return ROWS.map(([hwId, id, quant, tps, note]) => {
    const spec = findCatalogModel(id)!.spec!;
    const depth = 256;
    return {
      label: `${hwId} ${id.split('/')[1]} ${quant} tg512`,
      hardware: findHardware(hwId)!,
      spec,
      quant,
      depth,
      measured: tps,
      activeBytes: weightsForQuant(spec, quant).activeBytes,
      kvReadBytes: kvBytesReadAtDepth(spec, depth),
      note,
    };
  });
}

// Prompt processing (pp512, tok/s) from the same README: the compute-bound regime.
export const PREFILL_ROWS: [hw: string, model: string, quant: string, tokPerSec: number][] = [
  ['rtx-4090', L8, 'Q4_K_M', 7138.99],
  ['rtx-4090', L8, 'F16', 9382.0],
  ['rtx-3090', L8, 'Q4_K_M', 4030.4],
  ['rtx-3090', L8, 'F16', 4444.65],
  ['m2-ultra-192', L8, 'Q4_K_M', 994.04],
  ['m2-ultra-192', L8, 'F16', 1175.4],
  ['m2-ultra-192', L70, 'Q4_K_M', 118.79],
  ['m3-max-128', L8, 'Q4_K_M', 693.32],
  ['m3-max-128', L8, 'F16', 769.84],
  ['m3-max-128', L70, 'Q4_K_M', 70.19],
  ['m1-max-64', L8, 'Q4_K_M', 408.23],
  ['m1-max-64', L8, 'F16', 517.34],
  ['m1-max-64', L70, 'Q4_K_M', 34.96],
];
