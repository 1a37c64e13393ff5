// ggml tensor types: id, name, block size and bytes per block.
// Taken from llama.cpp's ggml (include/ggml.h enum, src/ggml-common.h block structs, commit de3ff815ea7d).
// Weights are exact only if these are: every tensor's bytes = rows × (ne0 / blockSize) × bytesPerBlock.

export interface GgmlType {
  id: number;
  name: string;
  /** Elements per block (1 for plain scalar types). */
  blockSize: number;
  /** Bytes per block, including its scales/mins. */
  bytesPerBlock: number;
}

// [id, name, blockSize, bytesPerBlock]; the comments show how each block is laid out (QK_K = 256).
const TABLE: ReadonlyArray<readonly [number, string, number, number]> = [
  [0, 'F32', 1, 4],
  [1, 'F16', 1, 2],
  [2, 'Q4_0', 32, 18], // f16 d + 16 B nibbles
  [3, 'Q4_1', 32, 20], // f16 d, m + 16 B
  [6, 'Q5_0', 32, 22], // f16 d + 4 B high bits + 16 B
  [7, 'Q5_1', 32, 24],
  [8, 'Q8_0', 32, 34], // f16 d + 32 B
  [9, 'Q8_1', 32, 36],
  [10, 'Q2_K', 256, 84], // 2 f16 + 16 scales + 64 quants
  [11, 'Q3_K', 256, 110],
  [12, 'Q4_K', 256, 144], // 2 f16 + 12 scales + 128
  [13, 'Q5_K', 256, 176],
  [14, 'Q6_K', 256, 210],
  [15, 'Q8_K', 256, 292],
  [16, 'IQ2_XXS', 256, 66],
  [17, 'IQ2_XS', 256, 74],
  [18, 'IQ3_XXS', 256, 98],
  [19, 'IQ1_S', 256, 50],
  [20, 'IQ4_NL', 32, 18],
  [21, 'IQ3_S', 256, 110],
  [22, 'IQ2_S', 256, 82],
  [23, 'IQ4_XS', 256, 136],
  [24, 'I8', 1, 1],
  [25, 'I16', 1, 2],
  [26, 'I32', 1, 4],
  [27, 'I64', 1, 8],
  [28, 'F64', 1, 8],
  [29, 'IQ1_M', 256, 56],
  [30, 'BF16', 1, 2],
  [34, 'TQ1_0', 256, 54],
  [35, 'TQ2_0', 256, 66],
  [39, 'MXFP4', 32, 17], // e8m0 scale + 16 B of e2m1
  [40, 'NVFP4', 64, 36], // 4 e4m3 scales + 32 B
  [41, 'Q1_0', 128, 18],
  [42, 'Q2_0', 64, 18],
];

const BY_ID = new Map<number, GgmlType>();
const BY_NAME = new Map<string, GgmlType>();
for (const [id, name, blockSize, bytesPerBlock] of TABLE) {
  const t: GgmlType = { id, name, blockSize, bytesPerBlock };
  BY_ID.set(id, t);
  BY_NAME.set(name, t);
}

/** All known ggml types, by id order. */
export const GGML_TYPES: readonly GgmlType[] = [...BY_ID.values()];

export function ggmlType(id: number): GgmlType | undefined {
  return BY_ID.get(id);
}

/** Look up by name, case-insensitive (`q4_k`, `Q4_K`). */
export function ggmlTypeByName(name: string): GgmlType | undefined {
  return BY_NAME.get(name.toUpperCase());
}

/** Type id by name; throws for unknown names (a programming error, not user input). */
export function typeId(name: string): number {
  const t = ggmlTypeByName(name);
  if (!t) throw new Error(`unknown ggml type ${name}`);
  return t.id;
}

/** Bits per weight of a type, e.g. Q4_K → 4.5. */
export function bitsPerWeight(id: number): number {
  const t = BY_ID.get(id);
  if (!t) throw new Error(`unknown ggml type id ${id}`);
  return (t.bytesPerBlock * 8) / t.blockSize;
}

/**
 * Bytes of one tensor. ggml stores rows of ne0 elements; a row must hold whole blocks,
 * so the size is rows × (ne0 / blockSize) × bytesPerBlock (ggml_row_size × nrows).
 */
export function tensorBytes(typeIdValue: number, shape: readonly number[]): number {
  const t = BY_ID.get(typeIdValue);
  if (!t) throw new Error(`unknown ggml type id ${typeIdValue}`);
  const ne0 = shape[0] ?? 1;
  let rows = 1;
  for (let i = 1; i < shape.length; i++) rows *= shape[i]!;
  return rows * Math.ceil(ne0 / t.blockSize) * t.bytesPerBlock;
}

/** Elements in a tensor of this shape. */
export function tensorElements(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
