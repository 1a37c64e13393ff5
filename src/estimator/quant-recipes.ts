// Named quantizations: what each name means, how good it is, and — for GGUF — the per-tensor type mix
// llama-quantize really produces (port of llama.cpp src/llama-quant.cpp `llama_tensor_get_type_impl`,
// without imatrix or user overrides). Non-GGUF formats are bits per weight including group scales.
import type { TensorInfo } from './types';
import { ggmlType, typeId } from './ggml-types';

export type QuantFormat = 'gguf' | 'mlx' | 'gptq' | 'awq' | 'fp8' | 'int8' | 'int4' | 'float';
export type QuantQuality = 'reference' | 'near-lossless' | 'good' | 'default' | 'noticeable-loss' | 'last-resort';

export interface QuantInfo {
  /** Canonical name, e.g. `Q4_K_M`, `MLX-4bit`. */
  name: string;
  format: QuantFormat;
  /** Typical bits per weight over a whole model (GGUF mixes: Llama-3.1-8B as measured by llama.cpp). */
  bitsPerWeight: number;
  quality: QuantQuality;
  note: string;
  /** Sort key: higher keeps more bits. "Lower quant" suggestions walk down this. */
  rank: number;
  /** GGUF: the ggml type most tensors get (llama.cpp `llama_ftype_get_default_type`). */
  baseType?: number;
  /** Non-GGUF: bits per weight of quantized linear layers (incl. group scales / zeros). */
  linearBits?: number;
  /** Non-GGUF: whether the token embedding and LM head are quantized too (MLX yes; GPTQ/AWQ/FP8 keep 16-bit). */
  quantizesEmbeddings?: boolean;
}

type Def = [name: string, format: QuantFormat, bpw: number, quality: QuantQuality, note: string, base?: string, linearBits?: number, qEmb?: boolean];

// bpw for GGUF mixes: llama.cpp tools/quantize/README.md (Llama-3.1-8B) where published; others from the recipe.
const DEFS: Def[] = [
  ['F32', 'gguf', 32, 'reference', 'full precision; no reason to run it', 'F32'],
  ['F16', 'gguf', 16, 'reference', 'unquantized half precision', 'F16'],
  ['BF16', 'gguf', 16, 'reference', 'unquantized bfloat16 (the usual release precision)', 'BF16'],
  ['Q8_0', 'gguf', 8.5, 'near-lossless', 'indistinguishable from F16 in practice; twice the memory of Q4', 'Q8_0'],
  ['Q6_K', 'gguf', 6.56, 'near-lossless', 'near-lossless; a safe choice when it fits', 'Q6_K'],
  ['Q5_K_M', 'gguf', 5.7, 'good', 'very small loss; good step up from Q4_K_M', 'Q5_K'],
  ['Q5_K_S', 'gguf', 5.54, 'good', 'very small loss', 'Q5_K'],
  ['Q5_1', 'gguf', 6.0, 'good', 'legacy 5-bit; prefer Q5_K_M', 'Q5_1'],
  ['Q5_0', 'gguf', 5.5, 'good', 'legacy 5-bit; prefer Q5_K_S', 'Q5_0'],
  ['Q4_K_M', 'gguf', 4.89, 'default', "the practitioners' default: best size/quality balance", 'Q4_K'],
  ['Q4_K_S', 'gguf', 4.67, 'default', 'slightly smaller than Q4_K_M, slightly more loss', 'Q4_K'],
  ['Q4_1', 'gguf', 5.0, 'default', 'legacy 4-bit; prefer Q4_K_M', 'Q4_1'],
  ['Q4_0', 'gguf', 4.5, 'default', 'legacy 4-bit; fast on some backends, more loss than Q4_K_M', 'Q4_0'],
  ['IQ4_NL', 'gguf', 4.5, 'default', 'non-linear 4-bit; close to Q4_K_S', 'IQ4_NL'],
  ['IQ4_XS', 'gguf', 4.46, 'default', 'smallest near-Q4_K_M quality (best with an imatrix)', 'IQ4_XS'],
  ['MXFP4', 'gguf', 4.25, 'default', "native 4-bit float of gpt-oss's experts (other tensors Q8_0)", 'MXFP4'],
  ['Q3_K_L', 'gguf', 4.3, 'noticeable-loss', 'noticeable loss: use only if Q4 does not fit', 'Q3_K'],
  ['Q3_K_M', 'gguf', 3.91, 'noticeable-loss', 'noticeable loss: use only if Q4 does not fit', 'Q3_K'],
  ['Q3_K_S', 'gguf', 3.5, 'last-resort', 'clear quality loss: last resort', 'Q3_K'],
  ['IQ3_M', 'gguf', 3.7, 'noticeable-loss', 'best 3-bit (needs an imatrix to shine)', 'IQ3_S'],
  ['IQ3_S', 'gguf', 3.44, 'last-resort', '3-bit: last resort', 'IQ3_S'],
  ['IQ3_XS', 'gguf', 3.3, 'last-resort', '3-bit: last resort', 'IQ3_S'],
  ['IQ3_XXS', 'gguf', 3.06, 'last-resort', '3-bit: last resort', 'IQ3_XXS'],
  ['Q2_K', 'gguf', 2.96, 'last-resort', '2-bit: badly degraded except on very large models', 'Q2_K'],
  ['Q2_K_S', 'gguf', 2.9, 'last-resort', '2-bit: badly degraded except on very large models', 'Q2_K'],
  ['IQ2_M', 'gguf', 2.7, 'last-resort', '2-bit: only for very large models, with an imatrix', 'IQ2_S'],
  ['IQ2_S', 'gguf', 2.5, 'last-resort', '2-bit: only for very large models, with an imatrix', 'IQ2_XS'],
  ['IQ2_XS', 'gguf', 2.31, 'last-resort', '2-bit: only for very large models, with an imatrix', 'IQ2_XS'],
  ['IQ2_XXS', 'gguf', 2.06, 'last-resort', '2-bit: only for very large models, with an imatrix', 'IQ2_XXS'],
  ['TQ2_0', 'gguf', 2.06, 'last-resort', 'ternary: only for models trained ternary (BitNet)', 'TQ2_0'],
  ['IQ1_M', 'gguf', 1.75, 'last-resort', '1-bit: barely usable, huge MoE only', 'IQ1_M'],
  ['TQ1_0', 'gguf', 1.69, 'last-resort', 'ternary: only for models trained ternary (BitNet)', 'TQ1_0'],
  ['IQ1_S', 'gguf', 1.56, 'last-resort', '1-bit: barely usable, huge MoE only', 'IQ1_S'],
  // Non-GGUF: bits of quantized linear layers incl. group scales; embeddings/head per format.
  ['FP8', 'fp8', 8, 'near-lossless', 'FP8 (vLLM/SGLang): near-lossless, 8 bits per weight', undefined, 8, false],
  ['INT8', 'int8', 8, 'near-lossless', 'INT8 weight-only: near-lossless', undefined, 8, false],
  ['MLX-8bit', 'mlx', 8.5, 'near-lossless', 'MLX 8-bit, group 64 (fp16 scale + bias per group: 8.5 bpw)', undefined, 8.5, true],
  ['MLX-6bit', 'mlx', 6.5, 'near-lossless', 'MLX 6-bit, group 64 (6.5 bpw)', undefined, 6.5, true],
  ['MLX-5bit', 'mlx', 5.5, 'good', 'MLX 5-bit, group 64 (5.5 bpw)', undefined, 5.5, true],
  ['MLX-4bit', 'mlx', 4.5, 'default', 'MLX 4-bit, group 64 (fp16 scale + bias per group: 4.5 bpw): the MLX default', undefined, 4.5, true],
  ['MLX-3bit', 'mlx', 3.5, 'last-resort', 'MLX 3-bit: clear loss, last resort', undefined, 3.5, true],
  ['GPTQ', 'gptq', 4.25, 'default', 'GPTQ 4-bit, group 128 (≈4.25 bpw incl. scales/zeros)', undefined, 4.25, false],
  ['AWQ', 'awq', 4.25, 'default', 'AWQ 4-bit, group 128 (≈4.25 bpw incl. scales/zeros)', undefined, 4.25, false],
  ['INT4', 'int4', 4.25, 'default', 'INT4 weight-only, group 128 (≈4.25 bpw)', undefined, 4.25, false],
];

const QUANTS = new Map<string, QuantInfo>();
for (const [name, format, bpw, quality, note, base, linearBits, qEmb] of DEFS) {
  const info: QuantInfo = { name, format, bitsPerWeight: bpw, quality, note, rank: bpw };
  if (base) info.baseType = typeId(base);
  if (linearBits !== undefined) info.linearBits = linearBits;
  if (qEmb !== undefined) info.quantizesEmbeddings = qEmb;
  QUANTS.set(name.toUpperCase(), info);
}

/** Every accepted quant name, best first. */
export const KNOWN_QUANTS: readonly string[] = [...QUANTS.values()].sort((a, b) => b.rank - a.rank).map((q) => q.name);

const ALIASES: Record<string, string> = {
  FP16: 'F16',
  FP32: 'F32',
  MXFP4_MOE: 'MXFP4',
  'MLX-4BITS': 'MLX-4bit',
  W8A8: 'INT8',
  W4A16: 'INT4',
  'GPTQ-INT4': 'GPTQ',
  'AWQ-INT4': 'AWQ',
};

/** Parse a quant name, case-insensitive and tolerant of `-`/`_`/spaces (`q4_k_m`, `mlx 4bit`, `MLX-4bit`). */
export function parseQuant(name: string): QuantInfo | undefined {
  const raw = name.trim().toUpperCase();
  const direct = QUANTS.get(raw) ?? QUANTS.get(ALIASES[raw]?.toUpperCase() ?? '');
  if (direct) return direct;
  const mlx = /^MLX[-_ ]?([3-8])[-_ ]?BITS?$/.exec(raw) ?? /^([3-8])[-_ ]?BIT[-_ ]?MLX$/.exec(raw);
  if (mlx) return QUANTS.get(`MLX-${mlx[1]}BIT`);
  return QUANTS.get(raw.replace(/[- ]/g, '_'));
}

/** Quants of the same family with fewer bits, best first (for "try a lower quant"). */
export function lowerQuants(name: string): QuantInfo[] {
  const q = parseQuant(name);
  if (!q) return [];
  const sameFamily = (o: QuantInfo): boolean => (q.format === 'gguf' ? o.format === 'gguf' : o.format === q.format);
  return [...QUANTS.values()].filter((o) => sameFamily(o) && o.rank < q.rank).sort((a, b) => b.rank - a.rank);
}

// ---------------------------------------------------------------------------------------------
// GGUF recipe: which ggml type llama-quantize gives each tensor.

export interface RecipeModel {
  arch: string;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  nExperts: number;
}

type Category = 'token_embd' | 'output' | 'attn_q' | 'attn_k' | 'attn_v' | 'attn_qkv' | 'attn_kv_b' | 'attn_output' | 'ffn_up' | 'ffn_gate' | 'ffn_down' | 'other';

function category(name: string): Category {
  if (name === 'output.weight') return 'output';
  if (name === 'token_embd.weight' || name === 'per_layer_token_embd.weight') return 'token_embd';
  if (name.includes('attn_qkv.weight')) return 'attn_qkv';
  if (name.includes('attn_kv_b.weight')) return 'attn_kv_b';
  if (name.includes('attn_v.weight')) return 'attn_v';
  if (name.includes('attn_k.weight')) return 'attn_k';
  if (name.includes('attn_q.weight')) return 'attn_q';
  if (name.includes('attn_output.weight')) return 'attn_output';
  if (name.includes('ffn_up')) return 'ffn_up';
  if (name.includes('ffn_gate')) return 'ffn_gate';
  if (name.includes('ffn_down')) return 'ffn_down';
  return 'other';
}

const NOT_QUANTIZED = ['_norm.weight', 'ffn_gate_inp.weight', 'ffn_gate_tid2eid.weight', 'altup', 'laurel', 'per_layer_model_proj', 'ssm_conv1d', 'shortconv.conv.weight', 'attn_rel_b.weight', 'position_embd', 'token_types'];

/** llama.cpp `tensor_allows_quantization` (default params). */
function quantizable(t: TensorInfo): boolean {
  if (t.shape.length < 2) return false;
  if (!t.name.endsWith('weight')) return false;
  return !NOT_QUANTIZED.some((s) => t.name.includes(s));
}

const T = (n: string): number => typeId(n);

/**
 * Apply a GGUF quant recipe to a tensor table (the F16/BF16 source, in file order) and return the
 * quantized table. Follows llama.cpp's per-tensor rules: output/token_embd, attn_v and ffn_down bumps
 * (use_more_bits), 8-expert special cases, and the block-size fallbacks.
 */
export function applyGgufRecipe(tensors: readonly TensorInfo[], quant: QuantInfo, model: RecipeModel): TensorInfo[] {
  if (quant.format !== 'gguf' || quant.baseType === undefined) throw new Error(`${quant.name} is not a GGUF quant`);
  const ftype = quant.name;
  const base = quant.baseType;
  const isQuantizedBase = ggmlType(base)!.blockSize > 1;
  const nGqa = model.nKvHeads > 0 ? model.nHeads / model.nKvHeads : 1;
  const nExpert = model.nExperts;
  const tied = !tensors.some((t) => t.name === 'output.weight');
  const nAttnV = tensors.filter((t) => ['attn_v', 'attn_qkv', 'attn_kv_b'].includes(category(t.name))).length;
  const nLayer = model.nLayers;
  const is70B = model.arch === 'llama' && model.nLayers === 80;
  const counters = { attnV: 0, ffnDown: 0, ffnGate: 0, ffnUp: 0 };
  const moreBits = (i: number, n: number): boolean => i < Math.floor(n / 8) || i >= Math.floor((7 * n) / 8) || (i - Math.floor(n / 8)) % 3 === 2;
  const layerOf = (name: string, counter: number): number => {
    if (nExpert > 1) {
      const m = /^blk\.(\d+)\./.exec(name);
      if (m) return Number(m[1]);
    }
    return counter;
  };
  const any = (...names: string[]): boolean => names.includes(ftype);
  const IQ12 = ['IQ2_XXS', 'IQ2_XS', 'IQ1_S', 'IQ2_S', 'IQ2_M', 'IQ1_M'];

  const pick = (t: TensorInfo, cat: Category): number => {
    let nt = base;
    const ne0 = t.shape[0] ?? 0;
    if (cat === 'output' || (tied && cat === 'token_embd')) {
      if (ftype === 'MXFP4') nt = T('Q8_0');
      else if (ne0 % ggmlType(nt)!.blockSize !== 0) nt = T('Q8_0');
      else if (any('IQ2_XXS', 'IQ2_XS', 'IQ3_XXS', 'IQ1_S', 'IQ2_S', 'IQ2_M', 'IQ1_M')) nt = T('Q5_K');
      else if (nt !== T('Q8_0')) nt = T('Q6_K');
    } else if (ftype === 'MXFP4') {
      nt = (t.shape[2] ?? 1) > 1 ? T('MXFP4') : T('Q8_0');
    } else if (cat === 'token_embd') {
      if (any('IQ2_XXS', 'IQ2_XS', 'IQ1_S', 'IQ1_M')) nt = T('Q2_K');
      else if (any('IQ2_S', 'IQ2_M', 'IQ3_XXS')) nt = T('IQ3_S');
      else if (any('TQ1_0', 'TQ2_0')) nt = T('Q4_K');
    } else if (IQ12.includes(ftype)) {
      if (cat === 'attn_v' || cat === 'attn_qkv' || cat === 'attn_kv_b') {
        if (nGqa >= 4 || nExpert >= 4) nt = T('Q4_K');
        else nt = any('IQ2_S', 'IQ2_M') ? T('IQ3_S') : T('Q2_K');
        counters.attnV++;
      } else if (nExpert === 8 && cat === 'attn_k') nt = T('Q4_K');
      else if (cat === 'ffn_down') {
        if (counters.ffnDown < Math.floor(nLayer / 8)) nt = any('IQ2_S', 'IQ2_M') ? T('IQ3_S') : T('Q2_K');
        counters.ffnDown++;
      } else if (cat === 'attn_output') {
        if (nExpert === 8) nt = T('Q5_K');
        else if (any('IQ1_S', 'IQ1_M')) nt = T('IQ2_XXS');
        else if (any('IQ2_S', 'IQ2_M')) nt = T('IQ3_S');
      }
    } else if (cat === 'attn_v' || cat === 'attn_qkv' || cat === 'attn_kv_b') {
      const i = counters.attnV;
      if (cat === 'attn_qkv') {
        // llama.cpp checks attn_v-like categories first, so fused QKV follows the attn_v rules here.
      }
      if (ftype === 'Q2_K') nt = nGqa >= 4 ? T('Q4_K') : T('Q3_K');
      else if (ftype === 'Q2_K_S' && nGqa >= 4) nt = T('Q4_K');
      else if (ftype === 'IQ3_XXS') nt = nGqa >= 4 ? T('Q4_K') : T('IQ3_S');
      else if (any('IQ3_XS', 'IQ3_S') && nGqa >= 4) nt = T('Q4_K');
      else if (ftype === 'IQ3_M') nt = T('Q4_K');
      else if (ftype === 'Q3_K_M') nt = i < 2 ? T('Q5_K') : T('Q4_K');
      else if (ftype === 'Q3_K_L') nt = T('Q5_K');
      else if (any('IQ4_NL', 'IQ4_XS') && nGqa >= 4) nt = T('Q5_K');
      else if (any('Q4_K_M', 'Q5_K_M') && moreBits(i, nAttnV)) nt = T('Q6_K');
      else if (ftype === 'Q4_K_S' && i < 4) nt = T('Q5_K');
      if (is70B && (nt === T('Q3_K') || nt === T('Q4_K'))) nt = T('Q5_K');
      if (nExpert === 8) nt = T('Q8_0');
      counters.attnV++;
    } else if (cat === 'attn_k') {
      if (nExpert === 8) nt = T('Q8_0');
      else if (ftype === 'IQ3_XS') nt = T('IQ3_XXS');
      else if (ftype === 'IQ3_XXS') nt = T('IQ2_S');
    } else if (cat === 'attn_q') {
      if (ftype === 'IQ3_XS') nt = T('IQ3_XXS');
      else if (ftype === 'IQ3_XXS') nt = T('IQ2_S');
    } else if (cat === 'ffn_down') {
      const il = layerOf(t.name, counters.ffnDown);
      const falcon = model.arch === 'falcon';
      if (ftype === 'Q2_K') nt = T('Q3_K');
      else if (ftype === 'Q2_K_S') {
        if (il < Math.floor(nLayer / 8)) nt = T('Q4_K');
      } else if (ftype === 'IQ3_XXS') nt = il < Math.floor(nLayer / 8) ? T('Q4_K') : T('Q3_K');
      else if (ftype === 'Q3_K_M') nt = il < Math.floor(nLayer / 16) ? T('Q5_K') : !falcon || moreBits(il, nLayer) ? T('Q4_K') : T('Q3_K');
      else if (ftype === 'IQ3_M' && (il < Math.floor(nLayer / 8) || (nExpert === 8 && moreBits(il, nLayer)))) nt = T('Q4_K');
      else if (ftype === 'Q3_K_L') nt = falcon ? T('Q4_K') : T('Q5_K');
      else if (ftype === 'Q4_K_M') {
        if (falcon) nt = il < Math.floor(nLayer / 16) ? T('Q6_K') : moreBits(il, nLayer) ? T('Q5_K') : T('Q4_K');
        else if (moreBits(il, nLayer)) nt = T('Q6_K');
      } else if (il < Math.floor(nLayer / 8) && any('IQ4_NL', 'IQ4_XS')) nt = T('Q5_K');
      else if (ftype === 'Q5_K_M' && moreBits(il, nLayer)) nt = T('Q6_K');
      else if (ftype === 'Q4_K_S' && !falcon && il < Math.floor(nLayer / 8)) nt = T('Q5_K');
      counters.ffnDown++;
    } else if (cat === 'attn_output') {
      if (model.arch !== 'falcon') {
        if (nExpert === 8) {
          if (any('Q2_K', 'IQ3_XS', 'IQ3_XXS', 'Q3_K_S', 'Q3_K_M', 'IQ4_NL', 'Q4_K_S', 'Q4_K_M', 'IQ3_S', 'IQ3_M', 'IQ4_XS')) nt = T('Q5_K');
        } else if (ftype === 'Q2_K') nt = T('Q3_K');
        else if (ftype === 'IQ3_XXS') nt = T('IQ3_S');
        else if (ftype === 'Q3_K_M') nt = T('Q4_K');
        else if (ftype === 'Q3_K_L') nt = T('Q5_K');
        else if (ftype === 'IQ3_M') nt = T('Q4_K');
      } else if (ftype === 'Q3_K_L') nt = T('Q4_K');
    } else if (cat === 'ffn_gate' || cat === 'ffn_up') {
      const key = cat === 'ffn_gate' ? 'ffnGate' : 'ffnUp';
      const il = layerOf(t.name, counters[key]);
      if (ftype === 'IQ3_XS' && il >= Math.floor(nLayer / 8) && il < Math.floor((7 * nLayer) / 8)) nt = T('IQ3_XXS');
      counters[key]++;
    }
    return fallback(nt, ne0);
  };

  return tensors.map((t) => {
    if (!quantizable(t)) return { ...t };
    if (!isQuantizedBase) {
      // F16/BF16/F32 "quants" are conversions: every quantizable weight takes the base type.
      return { ...t, type: base };
    }
    return { ...t, type: pick(t, category(t.name)) };
  });
}

/** llama.cpp `tensor_type_fallback`: rows must hold whole blocks; otherwise step to a smaller block. */
function fallback(type: number, ne0: number): number {
  const bs = ggmlType(type)!.blockSize;
  if (ne0 % bs === 0) return type;
  const name = ggmlType(type)!.name;
  let ret = type;
  if (['IQ1_S', 'IQ1_M', 'IQ2_XXS', 'IQ2_XS', 'IQ2_S', 'IQ3_XXS', 'IQ3_S', 'IQ4_XS'].includes(name)) ret = T('IQ4_NL');
  else if (['Q2_0', 'Q2_K', 'Q3_K', 'TQ1_0', 'TQ2_0'].includes(name)) ret = T('Q4_0');
  else if (name === 'Q4_K') ret = T('Q5_0');
  else if (name === 'Q5_K') ret = T('Q5_1');
  else if (name === 'Q6_K') ret = T('Q8_0');
  if (ne0 % ggmlType(ret)!.blockSize !== 0) ret = T('F16');
  return ret;
}

/** Default quant for a model: the practitioners' Q4_K_M, except models released natively in MXFP4 (gpt-oss). */
export function defaultQuantFor(spec: { arch: string }): string {
  return spec.arch === 'gpt-oss' ? 'MXFP4' : 'Q4_K_M';
}
