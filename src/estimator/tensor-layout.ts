// The tensor table a GGUF conversion (convert_hf_to_gguf, f16) of a model would have, built from its
// architecture alone — so a named quant can be costed exactly like a real file, recipe and all.
// Shapes are ggml order (innermost first). 1-D tensors and the MoE router stay F32, as conversion keeps them.
// Whatever the architecture leaves unexplained (e.g. linear-attention blocks) is filled from totalParams.
import type { ModelSpec, TensorInfo } from './types';
import { tensorElements, typeId } from './ggml-types';
import { isExpertTensor } from './gguf-spec';

const F32 = typeId('F32');
const F16 = typeId('F16');

/** Architectures whose q/k get a per-head RMS norm. */
const QK_NORM = new Set(['qwen3', 'qwen3moe', 'gemma3', 'olmo2', 'qwen3next', 'qwen35', 'qwen35moe', 'minimax-m2', 'glm4moe', 'gemma4']);
/** Architectures with q/k/v biases. */
const QKV_BIAS = new Set(['qwen2', 'qwen2moe', 'gpt-oss', 'glm4moe']);
/** Families that share the embedding with the LM head when nothing says otherwise (Ollama model_info has no tensor list). */
const TIED_BY_DEFAULT = new Set(['gemma', 'gemma2', 'gemma3', 'gemma3n', 'gemma4']);
/** Extra per-layer norms (Gemma 2/3 sandwich norms). */
const POST_NORMS = new Set(['gemma2', 'gemma3', 'gemma3n', 'gemma4']);

export function synthesizeTensors(spec: ModelSpec): TensorInfo[] {
  // Unknown expert width: parameters are linear in it, so measure two widths and solve.
  if (spec.moe && !spec.moe.expertFfnSize && spec.totalParams > 0) {
    const at = (f: number): number => count(synthesizeTensors({ ...spec, totalParams: 0, moe: { ...spec.moe!, expertFfnSize: f } }));
    const p256 = at(256);
    const slope = (at(512) - p256) / 256;
    const f = Math.max(64, Math.round((256 + (spec.totalParams - p256) / slope) / 64) * 64);
    return synthesizeTensors({ ...spec, moe: { ...spec.moe, expertFfnSize: f } });
  }
  const out: TensorInfo[] = [];
  const add = (name: string, shape: number[], type = shape.length === 1 ? F32 : F16): void => {
    if (shape.every((d) => d > 0)) out.push({ name, type, shape });
  };
  const e = spec.hiddenSize;
  const V = spec.vocabSize;
  const tied = spec.tiedEmbeddings ?? TIED_BY_DEFAULT.has(spec.arch);

  add('token_embd.weight', [e, V]);
  add('output_norm.weight', [e]);
  if (!tied) add('output.weight', [e, V]);

  const moe = spec.moe;
  const denseLeading = moe ? moe.nDenseLeadingLayers : spec.nLayers;
  const expertFfn = moe?.expertFfnSize ?? 0;
  const sharedFfn = moe ? (moe.sharedExpertFfnSize ?? (moe.nSharedExperts > 0 ? expertFfn * moe.nSharedExperts : 0)) : 0;
  let ffn = spec.ffnSize ?? 0;

  const layers: TensorInfo[][] = [];
  for (let il = 0; il < spec.nLayers; il++) {
    const L: TensorInfo[] = [];
    const p = `blk.${il}.`;
    const addL = (name: string, shape: number[], type = shape.length === 1 ? F32 : F16): void => {
      if (shape.every((d) => d > 0)) L.push({ name: p + name, type, shape });
    };
    const kvHeads = spec.nKvHeadsPerLayer[il] ?? 0;
    addL('attn_norm.weight', [e]);
    if (spec.mla) {
      const m = spec.mla;
      const nope = m.qkNopeHeadDim ?? 128;
      const vDim = m.vHeadDim ?? 128;
      const qHead = nope + m.ropeDim;
      if (m.qLoraRank) {
        addL('attn_q_a.weight', [e, m.qLoraRank]);
        addL('attn_q_a_norm.weight', [m.qLoraRank]);
        addL('attn_q_b.weight', [m.qLoraRank, spec.nHeads * qHead]);
      } else addL('attn_q.weight', [e, spec.nHeads * qHead]);
      addL('attn_kv_a_mqa.weight', [e, m.kvLoraRank + m.ropeDim]);
      addL('attn_kv_a_norm.weight', [m.kvLoraRank]);
      addL('attn_k_b.weight', [nope, m.kvLoraRank, spec.nHeads]);
      addL('attn_v_b.weight', [m.kvLoraRank, vDim, spec.nHeads]);
      addL('attn_output.weight', [spec.nHeads * vDim, e]);
    } else if (kvHeads > 0) {
      const q = spec.nHeads * spec.headDimK;
      addL('attn_q.weight', [e, q]);
      addL('attn_k.weight', [e, kvHeads * spec.headDimK]);
      addL('attn_v.weight', [e, kvHeads * spec.headDimV]);
      addL('attn_output.weight', [spec.nHeads * spec.headDimV, e]);
      if (QKV_BIAS.has(spec.arch)) {
        addL('attn_q.bias', [q]);
        addL('attn_k.bias', [kvHeads * spec.headDimK]);
        addL('attn_v.bias', [kvHeads * spec.headDimV]);
      }
      if (QK_NORM.has(spec.arch)) {
        addL('attn_q_norm.weight', [spec.headDimK]);
        addL('attn_k_norm.weight', [spec.headDimK]);
      }
    }
    if (POST_NORMS.has(spec.arch)) addL('post_attention_norm.weight', [e]);
    addL('ffn_norm.weight', [e]);
    if (POST_NORMS.has(spec.arch)) addL('post_ffw_norm.weight', [e]);
    if (moe && il >= denseLeading) {
      addL('ffn_gate_inp.weight', [e, moe.nExperts], F32);
      addL('ffn_gate_exps.weight', [e, expertFfn, moe.nExperts]);
      addL('ffn_up_exps.weight', [e, expertFfn, moe.nExperts]);
      addL('ffn_down_exps.weight', [expertFfn, e, moe.nExperts]);
      if (sharedFfn > 0) {
        addL('ffn_gate_shexp.weight', [e, sharedFfn]);
        addL('ffn_up_shexp.weight', [e, sharedFfn]);
        addL('ffn_down_shexp.weight', [sharedFfn, e]);
      }
    } else {
      L.push({ name: p + 'ffn_gate.weight', type: F16, shape: [e, ffn] });
      L.push({ name: p + 'ffn_up.weight', type: F16, shape: [e, ffn] });
      L.push({ name: p + 'ffn_down.weight', type: F16, shape: [ffn, e] });
    }
    layers.push(L);
  }

  // Unknown dense FFN width: solve it from the parameter count.
  const known = (): number => [...out, ...layers.flat()].reduce((s, t) => s + tensorElements(t.shape), 0);
  const nDense = moe ? denseLeading : spec.nLayers;
  if (ffn === 0 && nDense > 0 && spec.totalParams > 0) {
    const rest = spec.totalParams - known();
    ffn = Math.max(256, Math.round(rest / (3 * e * nDense) / 256) * 256);
  }
  for (const L of layers) for (const t of L) if (/\.ffn_(gate|up|down)\.weight$/.test(t.name)) {
    t.shape = t.name.endsWith('ffn_down.weight') ? [ffn, e] : [e, ffn];
  }
  for (const L of layers) out.push(...L.filter((t) => t.shape.every((d) => d > 0)));

  // Blocks the spec can't describe (linear attention, vision adapters...): spread the missing parameters
  // over the layers as 2-D weights so they are quantized like the rest.
  if (spec.totalParams > 0) {
    const missing = spec.totalParams - out.reduce((s, t) => s + tensorElements(t.shape), 0);
    if (missing > 0.01 * spec.totalParams) {
      const perLayer = Math.round(missing / spec.nLayers / e / 256) * 256;
      if (perLayer > 0) for (let il = 0; il < spec.nLayers; il++) out.push({ name: `blk.${il}.ssm_in.weight`, type: F16, shape: [e, perLayer] });
    }
  }
  return out;
}

function count(tensors: readonly TensorInfo[]): number {
  return tensors.reduce((s, t) => s + tensorElements(t.shape), 0);
}

/** Share of expert parameters that are routed (not shared, not dense). */
export function expertParamShare(tensors: readonly TensorInfo[]): number {
  let total = 0;
  let expert = 0;
  for (const t of tensors) {
    const n = tensorElements(t.shape);
    total += n;
    if (isExpertTensor(t.name)) expert += n;
  }
  return total > 0 ? expert / total : 0;
}
