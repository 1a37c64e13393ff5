// Quantisation labels as engines report them, normalised to the llama.cpp names users know.

/** GGUF `general.file_type` (LLAMA_FTYPE_*) → label; numbering from ollama fs/ggml/type.go. */
const FILE_TYPES: Record<number, string> = {
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 7: 'Q8_0', 8: 'Q5_0', 9: 'Q5_1', 10: 'Q2_K', 11: 'Q3_K_S', 12: 'Q3_K_M',
  13: 'Q3_K_L', 14: 'Q4_K_S', 15: 'Q4_K_M', 16: 'Q5_K_S', 17: 'Q5_K_M', 18: 'Q6_K', 19: 'IQ2_XXS', 20: 'IQ2_XS',
  21: 'Q2_K_S', 22: 'IQ3_XS', 23: 'IQ3_XXS', 24: 'IQ1_S', 25: 'IQ4_NL', 26: 'IQ3_S', 27: 'IQ3_M', 28: 'IQ2_S',
  29: 'IQ2_M', 30: 'IQ4_XS', 31: 'IQ1_M', 32: 'BF16', 36: 'TQ1_0', 37: 'TQ2_0', 38: 'MXFP4_MOE', 39: 'NVFP4', 40: 'Q1_0',
};

export function fileTypeName(ft: number): string | undefined {
  return FILE_TYPES[ft];
}

/** llama.cpp `llama_model_ftype_name` style (`Q4_K - Medium`) → `Q4_K_M`. */
export function normalizeQuant(label: string): string {
  const m = /^([A-Za-z0-9_]+)\s*-\s*(Small|Medium|Large|Extra Small|Extra Extra Small)$/i.exec(label.trim());
  if (!m) return label.trim();
  const suffix: Record<string, string> = { small: 'S', medium: 'M', large: 'L', 'extra small': 'XS', 'extra extra small': 'XXS' };
  const base = m[1]!.toUpperCase();
  const s = suffix[m[2]!.toLowerCase()]!;
  // IQ quants spell the size as part of the base name (IQ3_XS), K-quants append it (Q4_K_M).
  return `${base}_${s}`;
}

/** Best-effort quant guess from a model or file name (`...-Q4_K_M.gguf`, `...-4bit`, `...exl2-4.0bpw`). */
export function quantFromName(name: string): string | undefined {
  const gguf = /(?:^|[-_.\/])((?:IQ|Q)\d(?:_[0-9A-Z]+)*|F16|BF16|F32|MXFP4)(?=$|[-_.\/])/i.exec(name);
  if (gguf) return gguf[1]!.toUpperCase();
  const bpw = /(\d+(?:\.\d+)?)bpw/i.exec(name);
  if (bpw) return `${bpw[1]}bpw`;
  const bits = /(?:^|[-_])(\d{1,2})-?bit(?=$|[-_])/i.exec(name);
  if (bits) return `${bits[1]}bit`;
  return undefined;
}

/**
 * vLLM / SGLang: the checkpoint's format, from the repo id (`…-AWQ`, `…-FP8`), else BF16 — what
 * they serve an unquantised checkpoint in. Always an estimate.
 */
export function servedQuantFromRepo(repo: string): string {
  const m = /(?:^|[-_/.])(AWQ|GPTQ|FP8|NVFP4|MXFP4|INT8|INT4|W4A16|W8A8)(?=$|[-_/.])/i.exec(repo);
  return m ? m[1]!.toUpperCase() : 'BF16';
}
